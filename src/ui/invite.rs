//! An invite link: `http://HOST:PORT/?room=NAME`, with `&name=NICK` and `&spectate` if the
//! host likes. The page fills in its own server and the room; with a name too it joins at once.

use super::Launch;
use crate::plugins::rooms::LOBBY;

/// The invite link to `room` on the page at `origin` (`http://HOST:PORT`, no trailing slash):
/// the lobby's is the page itself.
pub(crate) fn link(origin: &str, room: &str) -> String {
    if room == LOBBY || room.is_empty() {
        return format!("{origin}/");
    }
    let mut encoded = String::new();
    for byte in room.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{origin}/?room={encoded}")
}

/// An invite link's fields (`?room=NAME&name=NICK&spectate`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(super) struct Invite {
    pub(super) room: Option<String>,
    pub(super) name: Option<String>,
    pub(super) spectate: bool,
}

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
impl Invite {
    /// What a page at `host` (the address bar's host, its port left out when it is the
    /// scheme's) does: with a room and a name it joins at once; otherwise it shows the
    /// launcher with the page's server (and the invite's room and name) filled in.
    pub(super) fn launch(self, host: &str, secure: bool) -> Launch {
        let nonblank = |text: Option<String>| text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        let (address, port) = split_host(host, secure);
        match (nonblank(self.room), nonblank(self.name)) {
            (Some(room), Some(name)) => Launch::Join {
                addr: format!("{address}:{port}"),
                name,
                room: Some(room),
                spectate: self.spectate,
            },
            (room, name) => Launch::Invited {
                address,
                port,
                room,
                name,
                spectate: self.spectate,
            },
        }
    }
}

/// A page's host as the launcher's address and port fields.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn split_host(host: &str, secure: bool) -> (String, String) {
    let scheme_port = if secure { "443" } else { "80" };
    // An IPv6 address is bracketed; its colons are not the port's.
    let after_brackets = host.rfind(']').map_or(0, |i| i + 1);
    match host[after_brackets..].rfind(':') {
        Some(i) => {
            let at = after_brackets + i;
            (host[..at].to_owned(), host[at + 1..].to_owned())
        }
        None => (host.to_owned(), scheme_port.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(room: Option<&str>, name: Option<&str>, spectate: bool) -> Invite {
        Invite {
            room: room.map(Into::into),
            name: name.map(Into::into),
            spectate,
        }
    }

    #[test]
    fn a_room_and_a_name_join_at_once_on_the_pages_server() {
        match invite(Some("den"), Some(" Ann "), true).launch("192.168.0.7:1234", false) {
            Launch::Join {
                addr,
                name,
                room,
                spectate,
            } => {
                assert_eq!(addr, "192.168.0.7:1234");
                assert_eq!(name, "Ann");
                assert_eq!(room.as_deref(), Some("den"));
                assert!(spectate);
            }
            _ => panic!("not joined at once"),
        }
    }

    #[test]
    fn without_a_name_the_launcher_is_filled_in() {
        match invite(Some("den"), Some("  "), false).launch("[::1]:5", false) {
            Launch::Invited {
                address,
                port,
                room,
                name,
                spectate,
            } => {
                assert_eq!((address.as_str(), port.as_str()), ("[::1]", "5"));
                assert_eq!(room.as_deref(), Some("den"));
                assert_eq!(name, None);
                assert!(!spectate);
            }
            _ => panic!("joined without a name"),
        }
    }

    #[test]
    fn a_link_names_its_room_percent_encoded() {
        assert_eq!(
            link("http://10.0.0.2:1234", "den"),
            "http://10.0.0.2:1234/?room=den"
        );
        assert_eq!(link("http://10.0.0.2:1234", LOBBY), "http://10.0.0.2:1234/");
        assert_eq!(
            link("https://game.example", "우리 방&x"),
            "https://game.example/?room=%EC%9A%B0%EB%A6%AC%20%EB%B0%A9%26x"
        );
    }

    #[test]
    fn a_page_on_the_schemes_port_names_it() {
        assert_eq!(
            split_host("game.example", true),
            ("game.example".into(), "443".into())
        );
        assert_eq!(
            split_host("game.example", false),
            ("game.example".into(), "80".into())
        );
        assert_eq!(split_host("[::1]", false), ("[::1]".into(), "80".into()));
        assert_eq!(
            split_host("127.0.0.1:1234", false),
            ("127.0.0.1".into(), "1234".into())
        );
    }
}
