//! Hosting from the window: the server on its own thread, joined over loopback like any other
//! client; stopping it (the turns in progress end, every player told) without freezing the
//! window, before the window closes or another game is hosted. Native only: a browser joins.

use bevy::prelude::*;

use super::lifecycle::{HostOptions, join_request};
use super::{Screen, UiState};
use crate::app::{HostedServer, ServerOptions};
use crate::i18n::Describe;
use crate::plugins::net::{LeaveRequested, Listen, NetServer, ServerError};
use crate::plugins::rooms::JoinServer;

/// The window's hosting systems.
pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        bevy_egui::EguiPrimaryContextPass,
        show_stopping.after(super::album::show),
    )
    .add_systems(Update, (close_requested, finish_stopping))
    .add_systems(Last, stop_hosting_on_exit);
}

pub(super) fn start_hosting(
    commands: &mut Commands,
    state: &mut UiState,
    next: &mut NextState<Screen>,
    connect: &mut MessageWriter<JoinServer>,
    hosted: HostedServer,
    name: String,
) {
    let port = hosted.addr.port();
    state.reachable = crate::plugins::net::reachable_addresses(hosted.addr);
    state.page_served = hosted.serves_page;
    state.server_addr = format!("127.0.0.1:{port}");
    state.ended = None;
    state.joining = None;
    connect.write(JoinServer {
        addr: state.server_addr.clone(),
        join: join_request(name, None, Some(hosted.token), false),
    });
    commands.insert_resource(hosted);
    next.set(Screen::Hosting);
}

/// The window exits some other way while hosting (or while a server stops): stop it and wait,
/// so no player is left without a word.
pub(super) fn stop_hosting_on_exit(
    mut exit: MessageReader<AppExit>,
    hosted: Option<ResMut<HostedServer>>,
    stopping: Option<ResMut<Stopping>>,
) {
    if exit.read().last().is_some() {
        if let Some(mut hosted) = hosted {
            hosted.stop();
        }
        if let Some(mut stopping) = stopping {
            stopping.hosted.stop();
        }
    }
}

/// A hosted server asked to stop, draining on its own thread (the turns in progress end, every
/// player is told): the window stays responsive and shows it until it has stopped.
#[derive(Resource)]
pub(super) struct Stopping {
    hosted: HostedServer,
    /// Host again, on this port with this name, once it has stopped (its port is free then).
    pub(super) then_host: Option<(u16, String)>,
    /// Close the window once it has stopped.
    then_close: bool,
}

/// Asks the hosted server, if there is one, to stop, and keeps it as [`Stopping`] until it has.
pub(super) fn stop_hosting(world: &mut World) {
    if let Some(hosted) = world.remove_resource::<HostedServer>() {
        hosted.request_stop();
        world.insert_resource(Stopping {
            hosted,
            then_host: None,
            then_close: false,
        });
    }
}

/// Hosts a game on `port`, every address; the error if it cannot.
pub(super) fn host(
    commands: &mut Commands,
    state: &mut UiState,
    next: &mut NextState<Screen>,
    connect: &mut MessageWriter<JoinServer>,
    (port, name): (u16, String),
    options: &ServerOptions,
) -> Result<(), ServerError> {
    let hosted = NetServer::listen(&Listen::Everywhere(port))
        .and_then(|listener| HostedServer::spawn(listener, options.clone()))?;
    start_hosting(commands, state, next, connect, hosted, name);
    Ok(())
}

/// Closing the window while hosting stops the server first, without freezing the window: it
/// shows the drain and closes once every player was told (a second close stops at once).
pub(super) fn close_requested(
    mut closes: MessageReader<bevy::window::WindowCloseRequested>,
    mut commands: Commands,
    hosted: Option<Res<HostedServer>>,
    stopping: Option<ResMut<Stopping>>,
    mut leave: MessageWriter<LeaveRequested>,
    mut exit: MessageWriter<AppExit>,
) {
    if closes.read().count() == 0 {
        return;
    }
    match (hosted, stopping) {
        (None, None) => {
            exit.write(AppExit::Success);
        }
        (_, Some(stopping)) if stopping.then_close => stopping.hosted.request_stop(),
        (_, Some(mut stopping)) => {
            stopping.then_close = true;
            stopping.then_host = None;
        }
        (Some(_), None) => {
            leave.write(LeaveRequested);
            commands.queue(|world: &mut World| {
                stop_hosting(world);
                if let Some(mut stopping) = world.get_resource_mut::<Stopping>() {
                    stopping.then_close = true;
                }
            });
        }
    }
}

/// Once a stopping server has stopped: close the window, or host again, as asked.
pub(super) fn finish_stopping(
    mut commands: Commands,
    stopping: Option<Res<Stopping>>,
    mut state: ResMut<UiState>,
    mut next: ResMut<NextState<Screen>>,
    mut connect: MessageWriter<JoinServer>,
    options: Res<HostOptions>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(stopping) = stopping.filter(|s| s.hosted.has_stopped()) else {
        return;
    };
    commands.remove_resource::<Stopping>();
    if stopping.then_close {
        exit.write(AppExit::Success);
    } else if let Some(again) = stopping.then_host.clone()
        && let Err(e) = host(
            &mut commands,
            &mut state,
            &mut next,
            &mut connect,
            again,
            &options.0,
        )
    {
        state.error = Some(crate::t!("launcher-error-host", why = e.describe()));
    }
}

/// While a server stops: how many players it is telling, and a button to stop at once.
pub(super) fn show_stopping(
    mut contexts: bevy_egui::EguiContexts,
    stopping: Option<Res<Stopping>>,
) -> Result {
    use bevy_egui::egui;
    let Some(stopping) = stopping else {
        return Ok(());
    };
    let ctx = contexts.ctx_mut()?;
    egui::Window::new(crate::t!("stopping-title"))
        .collapsible(false)
        .resizable(false)
        // At the bottom: over neither the launcher's title nor the room's top bar.
        .anchor(egui::Align2::CENTER_BOTTOM, [0.0, -48.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(crate::t!(
                    "stopping-telling",
                    count = stopping.hosted.connections() as u64
                ));
            });
            if stopping.then_host.is_some() {
                ui.label(crate::t!("stopping-then-host"));
            }
            if ui.button(crate::t!("stopping-now")).clicked() {
                stopping.hosted.request_stop();
            }
        });
    // Redraw while it drains, so the count moves and the end is seen without input.
    ctx.request_repaint_after(std::time::Duration::from_millis(250));
    Ok(())
}

#[cfg(test)]
mod tests {
    use bevy::state::app::StatesPlugin;

    use super::*;

    #[test]
    fn host_again_while_the_last_game_stops_hosts_on_the_same_port_once_it_has() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .init_state::<Screen>()
            .add_message::<JoinServer>()
            .add_message::<AppExit>()
            .init_resource::<UiState>()
            .insert_resource(HostOptions(ServerOptions::default()))
            .add_systems(Update, finish_stopping);
        let first = NetServer::listen(&Listen::Everywhere(0))
            .and_then(|listener| HostedServer::spawn(listener, ServerOptions::default()))
            .unwrap();
        let port = first.addr.port();
        app.insert_resource(first);
        stop_hosting(app.world_mut());
        assert!(app.world().get_resource::<HostedServer>().is_none());
        app.world_mut().resource_mut::<Stopping>().then_host = Some((port, "Ann".into()));
        let started = std::time::Instant::now();
        while app.world().get_resource::<HostedServer>().is_none() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "never hosted again"
            );
            app.update();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(app.world().get_resource::<Stopping>().is_none());
        assert_eq!(
            app.world().resource::<HostedServer>().addr.port(),
            port,
            "the same port"
        );
        assert_eq!(app.world().resource::<UiState>().error, None);
        app.world_mut().resource_mut::<HostedServer>().stop();
    }
}
