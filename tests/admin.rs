//! The admin endpoint: `/metrics` follows what happens on a real server process, `/healthz`
//! turns 503 when the game loop stalls, `/readyz` when the server is full (and while it drains:
//! `tests/operate.rs`); probes are answered at once whatever idle connections hold.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use catchmind::app::{ServerOptions, server_app};
use catchmind::plugins::net::admin::AdminConfig;
use catchmind::plugins::net::{ClientState, CloseReason, NetConfig, NetServer, ShutdownSignal};
use common::{Client, RawPeer, child_server, free_port, http_get, join_all, step_until};

/// The figures of a `/metrics` page by series (name and labels, as written).
fn scrape(admin: SocketAddr) -> HashMap<String, f64> {
    let (status, body) = http_get(admin, "/metrics");
    assert_eq!(status, 200);
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// Scrapes until `want` holds (figures are taken at the end of the server's update).
fn wait_for(
    admin: SocketAddr,
    what: &str,
    want: impl Fn(&HashMap<String, f64>) -> bool,
) -> HashMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let figures = scrape(admin);
        if want(&figures) {
            return figures;
        }
        assert!(Instant::now() < deadline, "{what}: {figures:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get(figures: &HashMap<String, f64>, series: &str) -> f64 {
    figures.get(series).copied().unwrap_or(0.0)
}

#[test]
fn metrics_follow_joins_chats_and_disconnects() {
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (_child, addr) = child_server("true", &[], &format!("--admin {admin}"));
    // child_server's probe for the port is accepted first; on a busy machine the count may
    // come a moment after the probe connected.
    let accepted = "catchmind_connections_accepted_total";
    let before = wait_for(admin, "the probe counted", |f| get(f, accepted) >= 1.0);
    assert_eq!(get(&before, "catchmind_players"), 0.0);

    let mut ann = Client::connect(addr, "Ann", None);
    let mut bob = Client::connect(addr, "Bob", Some("two"));
    let mut cat = Client::connect(addr, "Cat", Some("two"));
    step_until(&mut [&mut ann], Duration::from_secs(10), "Ann joins", |c| {
        c[0].joined()
    });
    join_all(&mut [&mut bob, &mut cat]);
    bob.say("hello");
    bob.say("world");
    step_until(
        &mut [&mut bob, &mut cat],
        Duration::from_secs(10),
        "the lines",
        |c| c[1].lines().len() == 2,
    );
    let figures = wait_for(admin, "three players in two rooms", |f| {
        get(f, "catchmind_players") == 3.0 && get(f, "catchmind_rooms") == 2.0
    });
    assert_eq!(get(&figures, "catchmind_connections"), 3.0);
    assert_eq!(get(&figures, "catchmind_chat_lines_total"), 2.0);
    assert_eq!(get(&figures, accepted) - get(&before, accepted), 3.0);
    // Each client's handshake, join and the two lines, at least.
    assert!(
        get(&figures, "catchmind_frames_received_total") >= 8.0,
        "{figures:?}"
    );
    assert!(get(&figures, "catchmind_bytes_sent_total") > get(&figures, "catchmind_frames_sent_total") * 4.0);
    assert!(get(&figures, "catchmind_tick_seconds_count") > 0.0);

    // One leaves, one is refused (a flood of frames), one drops without a word.
    ann.leave();
    step_until(&mut [&mut ann], Duration::from_secs(10), "Ann leaves", |c| {
        c[0].state() == ClientState::Disconnected
    });
    let mut flooder = RawPeer::connect(addr);
    flooder.hello("Flood");
    for _ in 0..2000 {
        flooder.send_raw(&[0, 0, 0, 1, 1]);
    }
    assert_eq!(flooder.closing_reason(), Some(CloseReason::Flooding));
    let figures = wait_for(admin, "the leaver, the flooder", |f| {
        get(f, "catchmind_disconnects_total{reason=\"left\"}") == 1.0
            && get(f, "catchmind_disconnects_total{reason=\"flooding\"}") == 1.0
            && get(f, "catchmind_players") == 2.0
    });
    assert_eq!(
        get(&figures, "catchmind_rooms"),
        2.0,
        "the lobby stays when empty"
    );

    // A chat line too long is a refused request.
    bob.say(&"x".repeat(2000));
    step_until(&mut [&mut bob], Duration::from_secs(10), "the refusal", |c| {
        c[0].notices().iter().any(|n| n.contains("too long"))
    });
    wait_for(admin, "a refused chat line", |f| {
        get(f, "catchmind_requests_refused_total{kind=\"chat\"}") == 1.0
    });
    let text = http_get(admin, "/metrics").1;
    for private in ["Ann", "Bob", "Cat", "two", "127.0.0.1"] {
        assert!(!text.contains(private), "{private} in /metrics");
    }
}

#[test]
fn readyz_is_503_when_the_server_is_full() {
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (_child, addr) = child_server("true", &[], &format!("--admin {admin} --max-connections 2"));
    assert_eq!(http_get(admin, "/readyz"), (200, "ready\n".into()));
    let mut one = RawPeer::connect(addr);
    one.join("one", None).expect("joins");
    let mut two = RawPeer::connect(addr);
    two.join("two", None).expect("joins");
    assert_eq!(http_get(admin, "/readyz"), (503, "full\n".into()));
    two.leave();
    let deadline = Instant::now() + Duration::from_secs(10);
    while http_get(admin, "/readyz").0 != 200 {
        assert!(Instant::now() < deadline, "still not ready after a leave");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(http_get(admin, "/healthz").0, 200);
    assert_eq!(http_get(admin, "/nothing").0, 404);
}

#[test]
fn healthz_is_503_while_the_game_loop_stalls() {
    let listener = NetServer::bind("127.0.0.1:0").unwrap();
    let options = ServerOptions {
        net: NetConfig {
            admin: Some(AdminConfig {
                addr: "127.0.0.1:0".into(),
                public: false,
            }),
            ..NetConfig::default()
        },
        ..ServerOptions::default()
    };
    // The test is the loop: it updates the app, then stops updating it.
    let mut app = server_app(listener, options, ShutdownSignal::default(), None, false).unwrap();
    catchmind::startup::finish_plugins(&mut app);
    let admin = app.world().resource::<NetServer>().admin_addr().unwrap();
    app.update();
    assert_eq!(http_get(admin, "/healthz"), (200, "ok\n".into()));
    let stalled = Instant::now();
    let mut last = http_get(admin, "/healthz");
    while last.0 == 200 {
        assert!(stalled.elapsed() < Duration::from_secs(5), "still healthy");
        std::thread::sleep(Duration::from_millis(100));
        last = http_get(admin, "/healthz");
    }
    assert_eq!(last.0, 503);
    assert!(
        last.1.starts_with("the game loop has not ticked for"),
        "{}",
        last.1
    );
    assert!(
        stalled.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        stalled.elapsed()
    );
    app.update();
    assert_eq!(http_get(admin, "/healthz").0, 200, "ticking again");
}

#[test]
fn probes_answer_at_once_whatever_idle_connections_hold() {
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (_child, _addr) = child_server("true", &[], &format!("--admin {admin}"));
    assert_eq!(http_get(admin, "/healthz").0, 200);
    // A local process holds idle connections open, more than the endpoint keeps, and opens
    // more while the probes run.
    let mut idle: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(admin).expect("an idle connection"))
        .collect();
    for probe in 0..5 {
        let asked = Instant::now();
        assert_eq!(http_get(admin, "/healthz"), (200, "ok\n".into()), "probe {probe}");
        assert_eq!(http_get(admin, "/readyz").0, 200, "probe {probe}");
        let took = asked.elapsed();
        assert!(took < Duration::from_secs(1), "probe {probe} took {took:?}");
        idle.extend((0..20).filter_map(|_| std::net::TcpStream::connect(admin).ok()));
    }
    // The figures still come, a few renders at a time.
    assert_eq!(http_get(admin, "/metrics").0, 200);
}
