//! Running the server as a service does: stopped the way systemd, Docker and Kubernetes stop
//! a process (SIGTERM), it tells every player why and exits cleanly.

mod common;

use std::time::{Duration, Instant};

use catchmind::plugins::net::CloseReason;
use common::{RawPeer, child_server};

#[cfg(unix)]
#[test]
fn sigterm_tells_every_player_the_server_stopped_and_exits_0() {
    let (mut child, addr) = child_server("true", &[], "");
    let mut players: Vec<RawPeer> = (0..3)
        .map(|i| {
            let mut peer = RawPeer::connect(addr);
            peer.join(&format!("p{i}"), None).expect("joins");
            peer
        })
        .collect();
    let pid = child.0.id() as libc::pid_t;
    // SAFETY: a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    for player in &mut players {
        // Before: the process ended without a word (the default action of SIGTERM).
        assert_eq!(player.closing_reason(), Some(CloseReason::ServerShutdown));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}
