//! Binding a server's listening socket (every address of the machine, dual-stack, or one),
//! why a server could not start, and the addresses other machines can reach it at.

use super::*;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Admin(#[from] crate::plugins::net::admin::AdminError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot start the network runtime: {0}")]
    Runtime(std::io::Error),
}

impl crate::i18n::Describe for ServerError {
    fn describe(&self) -> String {
        match self {
            ServerError::Admin(e) => crate::t!("err-server-admin", why = e.to_string()),
            ServerError::Bind { addr, source } if source.kind() == std::io::ErrorKind::AddrInUse => {
                crate::t!("err-server-port-in-use", addr = addr.clone())
            }
            ServerError::Bind { addr, source } => {
                crate::t!("err-server-bind", addr = addr.clone(), why = source.to_string())
            }
            ServerError::Runtime(e) => crate::t!("err-server-runtime", why = e.to_string()),
        }
    }
}

impl NetServer {
    /// Binds a listening socket; separate from [`NetServer::start`] so the caller reports a
    /// bad address or a port in use before opening any window.
    pub fn bind(addr: &str) -> Result<std::net::TcpListener, ServerError> {
        Self::listen(&Listen::Addr(addr.into()))
    }

    /// Binds a listening socket where `listen` says: every address (IPv6 and IPv4 on one
    /// dual-stack socket, IPv4 alone where the machine has no IPv6) or one address. The
    /// address may be reused at once (`SO_REUSEADDR`, not on Windows where it would let
    /// another program take the port): the connections of a server that just stopped do not
    /// hold it.
    pub fn listen(listen: &Listen) -> Result<std::net::TcpListener, ServerError> {
        use std::net::{Ipv4Addr, Ipv6Addr, ToSocketAddrs};
        let bind_err = |addr: String, source| ServerError::Bind { addr, source };
        match listen {
            Listen::Everywhere(port) => {
                let v6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, *port));
                match listen_on(v6, true) {
                    Ok(listener) => Ok(listener),
                    // No IPv6 on this machine: IPv4 alone.
                    Err(e) if e.kind() != std::io::ErrorKind::AddrInUse => {
                        let v4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port));
                        listen_on(v4, false).map_err(|e| bind_err(v4.to_string(), e))
                    }
                    Err(e) => Err(bind_err(port.to_string(), e)),
                }
            }
            Listen::Addr(text) => {
                let addr = text
                    .to_socket_addrs()
                    .and_then(|mut addrs| {
                        addrs.next().ok_or_else(|| {
                            std::io::Error::new(std::io::ErrorKind::NotFound, "no address found")
                        })
                    })
                    .map_err(|e| bind_err(text.clone(), e))?;
                listen_on(addr, false).map_err(|e| bind_err(text.clone(), e))
            }
        }
    }
}

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    /// Every address of the machine, IPv4 and IPv6, on this port.
    Everywhere(u16),
    /// One address (`127.0.0.1:1234`, `[::1]:1234`, `host:port`).
    Addr(String),
}

/// A listening socket on `addr`; `dual_stack` takes IPv4 too on an IPv6 socket.
fn listen_on(addr: SocketAddr, dual_stack: bool) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if dual_stack {
        socket.set_only_v6(false)?;
    }
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// Addresses other machines can reach a server bound to `bound` at: every interface's
/// address when it listens on all of them (IPv4 first, then IPv6 when the socket is IPv6; not
/// IPv6 link-local ones, which need an interface named).
pub fn reachable_addresses(bound: SocketAddr) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let with_v6 = bound.is_ipv6();
    let mut addrs: Vec<SocketAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|iface| !iface.is_loopback())
        .filter(|iface| match iface.ip() {
            std::net::IpAddr::V4(_) => true,
            std::net::IpAddr::V6(v6) => with_v6 && !v6.is_unicast_link_local(),
        })
        .map(|iface| SocketAddr::new(iface.ip(), bound.port()))
        .collect();
    addrs.sort_by_key(|a| (a.is_ipv6(), *a));
    addrs.dedup();
    if addrs.is_empty() {
        addrs.push(SocketAddr::from(([127, 0, 0, 1], bound.port())));
    }
    addrs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everywhere_takes_ipv4_and_ipv6_and_a_stopped_servers_port_is_free_at_once() {
        let listener = NetServer::listen(&Listen::Everywhere(0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let v4 = std::net::TcpStream::connect(("127.0.0.1", port)).expect("IPv4 reaches it");
        let (server_side, _) = listener.accept().unwrap();
        if std::net::TcpStream::connect(("::1", port)).is_ok() {
            listener.accept().unwrap();
        }
        // The server closes first (its side lingers in TIME_WAIT); the port is free again.
        drop(server_side);
        drop(listener);
        drop(v4);
        NetServer::listen(&Listen::Everywhere(port)).expect("the port is reused at once");
        let one = NetServer::listen(&Listen::Addr("127.0.0.1:0".into())).unwrap();
        assert!(one.local_addr().unwrap().ip().is_loopback());
        assert!(NetServer::listen(&Listen::Addr("not an address".into())).is_err());
    }
}
