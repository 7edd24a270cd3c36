//! Running the server as a service does: stopped the way systemd, Docker and Kubernetes stop
//! a process (SIGTERM), it drains (a game's turn in progress ends first), tells every player
//! why and exits cleanly; a second signal stops it at once.

mod common;

use std::time::{Duration, Instant};

use catchmind::plugins::net::{CloseReason, NetConfig, Refusal, ToServer};
use catchmind::plugins::quiz::{PhaseView, QuizToServer, QuizView, Settings};
use catchmind::plugins::rooms::Reconnecting;
use common::{Client, RawPeer, child_server, step_until};

const RESTARTING: &str = "the server is restarting; join again in a minute";

fn view(client: &Client) -> &QuizView {
    client.app.world().resource::<QuizView>()
}

fn drawing(client: &Client) -> bool {
    matches!(
        view(client).game.as_ref().map(|g| &g.phase),
        Some(PhaseView::Drawing { .. })
    )
}

/// Three of the game's own clients in a game at `addr`, the drawer drawing; returns them, the
/// drawer's index and the word.
fn three_in_a_drawing_turn(addr: std::net::SocketAddr) -> (Vec<Client>, usize, String) {
    let mut clients: Vec<Client> = Vec::new();
    for name in ["Ann", "Bob", "Cat"] {
        clients.push(Client::connect(addr, name, None));
        let n = clients.len();
        let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
        step_until(&mut refs, Duration::from_secs(10), "joins", |cs| {
            cs.iter().all(|c| c.joined() && c.roster().players.len() == n)
        });
    }
    let settings = Settings {
        rounds: 1,
        ..Settings::default()
    };
    clients[0]
        .app
        .world_mut()
        .write_message(ToServer(QuizToServer::Start(settings)));
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(10), "choosing", |cs| {
        cs.iter().all(|c| view(c).game.is_some())
    });
    let drawer = view(&clients[0]).drawer().unwrap();
    let d = clients
        .iter()
        .position(|c| c.roster().me == Some(drawer))
        .unwrap();
    clients[d]
        .app
        .world_mut()
        .write_message(ToServer(QuizToServer::Choose(0)));
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(10), "drawing", |cs| {
        cs.iter().all(|c| drawing(c))
    });
    let word = match &view(&clients[d]).game.as_ref().unwrap().phase {
        PhaseView::Drawing { word: Some(word), .. } => word.clone(),
        other => panic!("{other:?}"),
    };
    (clients, d, word)
}

/// Steps the clients until each has a notice starting with `start`.
fn wait_for_notice(clients: &mut [Client], start: &str) {
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(10), start, |cs| {
        cs.iter()
            .all(|c| c.notices().iter().any(|n| n.starts_with(start)))
    });
}

#[cfg(unix)]
fn signal(child: &common::ChildServer, sig: libc::c_int) {
    // SAFETY: a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.0.id() as libc::pid_t, sig) }, 0);
}

#[cfg(unix)]
fn exit_within(child: &mut common::ChildServer, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "still running {limit:?} after the stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn sigterm_closes_rooms_without_a_game_at_once_and_exits_0() {
    let (mut child, addr) = child_server("true", &[], "");
    let mut players: Vec<RawPeer> = (0..3)
        .map(|i| {
            let mut peer = RawPeer::connect(addr);
            peer.join(&format!("p{i}"), None).expect("joins");
            peer
        })
        .collect();
    signal(&child, libc::SIGTERM);
    for player in &mut players {
        // Before: the process ended without a word (the default action of SIGTERM).
        assert_eq!(player.closing_reason(), Some(CloseReason::ServerRestarting));
    }
    let status = exit_within(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[cfg(unix)]
#[test]
fn sigterm_lets_the_turn_in_progress_end_then_closes_every_player_and_exits_0() {
    let (mut child, addr) = child_server("true", &[], "--drain-timeout 60");
    let (mut clients, d, word) = three_in_a_drawing_turn(addr);
    signal(&child, libc::SIGTERM);
    wait_for_notice(
        &mut clients,
        "The server is restarting: this turn is the last one",
    );
    // Still playing, and newcomers are turned away with the reason.
    assert!(clients.iter().all(|c| drawing(c) && c.ended().is_empty()));
    let mut newcomer = RawPeer::connect(addr);
    assert_eq!(
        newcomer.closing_reason(),
        Some(CloseReason::Refused(Refusal::Draining))
    );

    // The guessers find the word: the turn ends, its reveal, the final scores for 5 s, the close.
    let started = Instant::now();
    for (i, client) in clients.iter_mut().enumerate() {
        if i != d {
            client.say(&word);
        }
    }
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(20), "the final scores", |cs| {
        cs.iter().all(|c| view(c).last_game.is_some())
    });
    let results_shown = Instant::now();
    for client in &clients {
        let (early, standings) = view(client).last_game.clone().unwrap();
        assert!(!early && standings.len() == 3, "{standings:?}");
        assert!(
            client.ended().is_empty(),
            "the scores stay a while before the close"
        );
    }
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(20), "every player closed", |cs| {
        cs.iter().all(|c| !c.ended().is_empty())
    });
    let results_for = results_shown.elapsed();
    assert!(results_for >= Duration::from_secs(4), "{results_for:?}");
    for client in &clients {
        assert_eq!(client.ended(), [RESTARTING], "{}", client.name);
        assert!(
            client.app.world().resource::<Reconnecting>().0.is_none(),
            "no attempt with a token that died with the server"
        );
    }
    let status = exit_within(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    // The reveal and the scores are 5 s each: the drain took that, not the drain timeout.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[cfg(unix)]
#[test]
fn a_second_signal_stops_at_once_still_telling_every_player() {
    let (mut child, addr) = child_server("true", &[], "--drain-timeout 60");
    let (mut clients, _, _) = three_in_a_drawing_turn(addr);
    signal(&child, libc::SIGTERM);
    wait_for_notice(
        &mut clients,
        "The server is restarting: this turn is the last one",
    );
    let stopped = Instant::now();
    signal(&child, libc::SIGINT);
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(5), "every player closed", |cs| {
        cs.iter().all(|c| !c.ended().is_empty())
    });
    assert!(clients.iter().all(|c| c.ended() == [RESTARTING]));
    let status = exit_within(&mut child, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );
}

/// A hosting window's server whose drain lasts at most a second.
fn hosted_with_a_one_second_drain() -> catchmind::app::HostedServer {
    common::start_server(catchmind::app::ServerOptions {
        net: NetConfig {
            drain_timeout: Duration::from_secs(1),
            ..NetConfig::default()
        },
        ..Default::default()
    })
}

#[test]
fn a_closing_hosting_window_waits_for_the_turn_at_most_its_drain_time() {
    let server = hosted_with_a_one_second_drain();
    let (mut clients, _, _) = three_in_a_drawing_turn(server.addr);
    let closing = Instant::now();
    drop(server);
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(10), "every player closed", |cs| {
        cs.iter().all(|c| !c.ended().is_empty())
    });
    let waited = closing.elapsed();
    for client in &clients {
        assert!(
            client
                .notices()
                .iter()
                .any(|n| n.starts_with("The host is closing the game: this turn is the last one")),
            "{:?}",
            client.notices()
        );
        assert_eq!(client.ended(), ["the server was stopped"]);
    }
    // The 80 s turn was cut at the drain time, not waited for.
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn a_stopping_hosted_server_reports_its_drain_without_blocking_and_frees_its_port() {
    use catchmind::plugins::net::{Listen, NetServer};
    let server = hosted_with_a_one_second_drain();
    let port = server.addr.port();
    let (mut clients, _, _) = three_in_a_drawing_turn(server.addr);
    assert_eq!(server.connections(), 3, "the players it would have to tell");
    assert!(!server.stopping());
    server.request_stop();
    assert!(
        server.stopping() && !server.has_stopped(),
        "the turn in progress ends first"
    );
    // While it drains, the port is still its own: a new host waits for it (the launcher does).
    let held = NetServer::listen(&Listen::Addr(format!("127.0.0.1:{port}")));
    assert!(held.is_err(), "the draining server still listens");
    let mut refs: Vec<&mut Client> = clients.iter_mut().collect();
    step_until(&mut refs, Duration::from_secs(10), "every player told", |_| {
        server.has_stopped()
    });
    drop(refs);
    for client in &mut clients {
        let mut one = [client];
        step_until(&mut one, Duration::from_secs(5), "the goodbye", |cs| {
            !cs[0].ended().is_empty()
        });
    }
    // Stopped: its port is free at once, though the connections it closed linger (TIME_WAIT).
    NetServer::listen(&Listen::Addr(format!("127.0.0.1:{port}"))).expect("the port is free again");
}
