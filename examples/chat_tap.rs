//! Joins a room and prints every chat line said in it, one per line as `NAME<TAB>TEXT`, for
//! scripts that check what players' typing sent (`scripts/ime-check`):
//! `cargo run --release --example chat_tap -- 127.0.0.1:1234 [ROOM]` runs until killed.

use std::io::Write;
use std::time::Duration;

use bevy::prelude::*;
use catchmind::app::headless_client_app;
use catchmind::plugins::chat::ChatToClient;
use catchmind::plugins::net::FromServer;
use catchmind::plugins::rooms::{JoinRequest, JoinServer, SessionEnded};

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:1234".into());
    let room = args.next();
    let mut app = headless_client_app();
    app.add_systems(Update, (print_lines, stop_when_ended));
    app.world_mut().write_message(JoinServer {
        addr,
        join: JoinRequest {
            name: "tap".into(),
            room,
            host_token: None,
            resume: None,
            spectate: false,
        },
    });
    loop {
        app.update();
        if app.should_exit().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn print_lines(mut lines: MessageReader<FromServer<ChatToClient>>) {
    let mut out = std::io::stdout().lock();
    for FromServer(msg) in lines.read() {
        if let ChatToClient::Line(line) | ChatToClient::Private(line) = msg {
            let _ = writeln!(out, "{}\t{}", line.name, line.text);
        }
    }
    let _ = out.flush();
}

fn stop_when_ended(mut ended: MessageReader<SessionEnded>, mut exit: MessageWriter<AppExit>) {
    for end in ended.read() {
        eprintln!("chat_tap: {end:?}");
        exit.write(AppExit::error());
    }
}
