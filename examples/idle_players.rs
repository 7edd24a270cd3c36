//! Players who join and then do nothing, for measuring what an idle server costs:
//! `cargo run --release --example idle_players -- 127.0.0.1:1234 3 30` joins 3 players to the
//! server at that address and keeps them connected (answering heartbeats) for 30 seconds; a
//! fourth argument names the room they join (the server's default room otherwise), and a fifth,
//! `game`, has the first of them start a game with the English words.

use std::time::{Duration, Instant};

use catchmind::app::headless_client_app;
use catchmind::plugins::net::ToServer;
use catchmind::plugins::quiz::{Pack, QuizToServer, Settings};
use catchmind::plugins::rooms::{JoinRequest, JoinServer, Roster};

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:1234".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    let secs: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(30);
    let room = args.next();
    let start_game = args.next().as_deref() == Some("game");
    let mut players: Vec<_> = (0..count)
        .map(|i| {
            let mut app = headless_client_app();
            app.world_mut().write_message(JoinServer {
                addr: addr.clone(),
                join: JoinRequest {
                    name: format!("idle{i}"),
                    room: room.clone(),
                    host_token: None,
                    resume: None,
                    spectate: false,
                },
            });
            app
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while players
        .iter()
        .any(|p| p.world().resource::<Roster>().me.is_none())
    {
        assert!(Instant::now() < deadline, "could not join {addr}");
        players.iter_mut().for_each(|p| p.update());
        std::thread::sleep(Duration::from_millis(10));
    }
    eprintln!("{count} players joined {addr}; idle for {secs} s");
    if start_game {
        let settings = Settings {
            pack: Pack::English,
            ..Settings::default()
        };
        players[0]
            .world_mut()
            .write_message(ToServer(QuizToServer::Start(settings)));
    }
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        players.iter_mut().for_each(|p| p.update());
        std::thread::sleep(Duration::from_millis(100));
    }
}
