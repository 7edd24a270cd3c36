//! Starting and ending a session: the launch the command line asked for, hosting (the server
//! on its own thread) or joining, and what the window says when the connection ends.

use std::sync::Mutex;

use bevy::prelude::*;

use super::{Launch, UiState};
use crate::app::{HostedServer, ServerOptions};
use crate::cli::DEFAULT_PORT;
use crate::i18n::Describe;
use crate::plugins::AppMode;
use crate::plugins::net::with_default_port;
use crate::plugins::rooms::{JoinRequest, JoinServer, SessionEnded};

#[derive(Resource)]
pub(super) struct HostOptions(pub(super) ServerOptions);

#[derive(Resource)]
pub(super) struct PendingLaunch(pub(super) Mutex<Option<Launch>>);

pub(super) fn apply_launch(
    mut commands: Commands,
    pending: Res<PendingLaunch>,
    mut state: ResMut<UiState>,
    mut next: ResMut<NextState<AppMode>>,
    mut connect: MessageWriter<JoinServer>,
) {
    let Some(launch) = pending.0.lock().ok().and_then(|mut l| l.take()) else {
        return;
    };
    match launch {
        Launch::Menu => {}
        Launch::Host { hosted, name } => {
            start_hosting(&mut commands, &mut state, &mut next, &mut connect, hosted, name);
        }
        Launch::Join {
            addr,
            name,
            room,
            spectate,
        } => {
            start_joining(&mut state, &mut next, &mut connect, &addr, name, (room, spectate));
        }
    }
}

pub(crate) fn join_request(
    name: String,
    room: Option<String>,
    host_token: Option<[u8; 16]>,
    spectate: bool,
) -> JoinRequest {
    JoinRequest {
        name,
        room,
        host_token,
        resume: None,
        spectate,
    }
}

pub(super) fn start_hosting(
    commands: &mut Commands,
    state: &mut UiState,
    next: &mut NextState<AppMode>,
    connect: &mut MessageWriter<JoinServer>,
    hosted: HostedServer,
    name: String,
) {
    let port = hosted.addr.port();
    state.reachable = crate::plugins::net::reachable_addresses(hosted.addr)
        .iter()
        .map(|a| {
            if a.port() == DEFAULT_PORT {
                a.ip().to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    state.server_addr = format!("127.0.0.1:{port}");
    state.ended = None;
    connect.write(JoinServer {
        addr: state.server_addr.clone(),
        join: join_request(name, None, Some(hosted.token), false),
    });
    commands.insert_resource(hosted);
    next.set(AppMode::Server);
}

pub(super) fn start_joining(
    state: &mut UiState,
    next: &mut NextState<AppMode>,
    connect: &mut MessageWriter<JoinServer>,
    addr: &str,
    name: String,
    (room, spectate): (Option<String>, bool),
) {
    state.server_addr = with_default_port(addr, DEFAULT_PORT);
    state.reachable.clear();
    state.ended = None;
    connect.write(JoinServer {
        addr: state.server_addr.clone(),
        join: join_request(name, room, None, spectate),
    });
    next.set(AppMode::Client);
}

/// The titles of the dialog a session's end shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    Removed,
    NotJoined,
    Disconnected,
}

impl Ended {
    /// The dialog's title.
    pub(crate) fn title(self) -> String {
        match self {
            Ended::Removed => crate::t!("ended-removed"),
            Ended::NotJoined => crate::t!("ended-not-joined"),
            Ended::Disconnected => crate::t!("ended-disconnected"),
        }
    }
}

pub(super) fn note_connection_end(mut ended: MessageReader<SessionEnded>, mut state: ResMut<UiState>) {
    if let Some(error) = ended.read().last() {
        eprintln!("game: {error}");
        let title = if error.was_kicked() {
            Ended::Removed
        } else if error.is_join_failure() {
            Ended::NotJoined
        } else {
            Ended::Disconnected
        };
        state.ended = Some((title, error.describe()));
    }
}

pub(super) fn stop_hosting_on_exit(mut exit: MessageReader<AppExit>, hosted: Option<ResMut<HostedServer>>) {
    if exit.read().last().is_some()
        && let Some(mut hosted) = hosted
    {
        hosted.stop();
    }
}
