//! The windowed game: launcher, room screen and their wiring. egui is used only here and in
//! the plugins' `ui.rs` widget files (canvas, chat, quiz), which only the windowed game uses;
//! the logic plugins run the same without it.

mod fonts;
mod game;
mod launcher;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::window::WindowResolution;
use bevy::winit::{EventLoopProxyWrapper, UpdateMode, WinitSettings, WinitUserEvent};
use bevy_egui::{
    EguiContexts, EguiGlobalSettings, EguiPlugin, EguiPostUpdateSet, EguiPrimaryContextPass,
    EguiTextureHandle, PrimaryEguiContext,
};

use crate::app::{HostedServer, ServerOptions};
use crate::cli::DEFAULT_PORT;
use crate::plugins::canvas::render::{CanvasImage, GallerySettings, SaveCanvas};
use crate::plugins::canvas::{self, CanvasSystems};
use crate::plugins::canvas::{CanvasState, gallery};
use crate::plugins::net::{NetWaker, with_default_port};
use crate::plugins::quiz::ui::{BANNER_TIME, banner_text};
use crate::plugins::quiz::{QuizView, Settings, TurnEnded};
use crate::plugins::rooms::Roster;
use crate::plugins::rooms::{JoinRequest, JoinServer, SessionEnded};
use crate::plugins::{self, AppMode, LogicSystems};

/// What the window does first.
pub enum Launch {
    Menu,
    /// Join the server this process is hosting.
    Host {
        hosted: HostedServer,
        name: String,
    },
    Join {
        addr: String,
        name: String,
        room: Option<String>,
    },
}

pub struct WindowOptions {
    pub position: Option<(i32, i32)>,
    pub size: (u32, u32),
    pub gallery: GallerySettings,
}

const TITLE: &str = "캐치마인드 Catch Mind";

/// A window in the background redraws when something arrives, or once a second (the timer).
const UNFOCUSED_MODE: UpdateMode = UpdateMode::Reactive {
    wait: Duration::from_secs(1),
    react_to_device_events: false,
    react_to_user_events: true,
    react_to_window_events: true,
};

pub fn run(launch: Launch, window: WindowOptions, host_options: ServerOptions) -> AppExit {
    let primary = primary_window(&window);
    let ui_state = initial_ui_state(&launch);
    App::new()
        .add_plugins(
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: Some(primary),
                    ..default()
                })
                // Compile pipelines when first needed, so the first stroke is never skipped.
                .set(RenderPlugin {
                    synchronous_pipeline_compilation: true,
                    ..default()
                }),
        )
        // Sleep between input events; the network thread wakes the loop (`NetWaker`), so
        // remote messages show at once without spinning.
        .insert_resource(WinitSettings {
            focused_mode: UpdateMode::reactive(Duration::from_millis(250)),
            unfocused_mode: UNFOCUSED_MODE,
        })
        .insert_resource(ClearColor(crate::theme::BACKGROUND))
        .add_plugins(EguiPlugin::default())
        .insert_resource(EguiGlobalSettings {
            auto_create_primary_context: false,
            ..default()
        })
        .init_state::<AppMode>()
        .add_plugins((plugins::logic, canvas::render::plugin))
        .configure_sets(
            PostUpdate,
            CanvasSystems::LocalInput.after(EguiPostUpdateSet::EndPass),
        )
        .insert_resource(ui_state)
        .insert_resource(HostOptions(host_options))
        .insert_resource(window.gallery)
        .insert_resource(PendingLaunch(Mutex::new(Some(launch))))
        .add_systems(Startup, (spawn_camera, install_waker, apply_launch).chain())
        .add_systems(
            EguiPrimaryContextPass,
            (
                install_fonts,
                register_canvas_texture,
                launcher::show.run_if(in_state(AppMode::Menu)),
                game::show.run_if(not(in_state(AppMode::Menu))),
            )
                .chain(),
        )
        .add_systems(
            Update,
            (
                note_connection_end,
                update_title,
                // Sees the pen change hands before the game's news of the same frame, so a free
                // drawing is saved when a game takes the pen.
                save_finished_drawings
                    .after(LogicSystems::Canvas)
                    .before(LogicSystems::Quiz),
                save_finished_turns,
            ),
        )
        .add_systems(Last, stop_hosting_on_exit)
        .run()
}

fn primary_window(window: &WindowOptions) -> Window {
    Window {
        title: TITLE.into(),
        resolution: WindowResolution::from(window.size),
        position: match window.position {
            Some((x, y)) => WindowPosition::At(IVec2::new(x, y)),
            None => WindowPosition::Automatic,
        },
        ..default()
    }
}

/// The launcher's fields, filled in from the command line.
fn initial_ui_state(launch: &Launch) -> UiState {
    let mut ui_state = UiState::default();
    match launch {
        Launch::Menu => {}
        Launch::Host { name, .. } => ui_state.name = name.clone(),
        Launch::Join { addr, name, room } => {
            ui_state.name = name.clone();
            ui_state.address = addr.clone();
            ui_state.room = room.clone().unwrap_or_default();
        }
    }
    ui_state
}

/// What the screens remember between frames.
#[derive(Resource, Default)]
pub(crate) struct UiState {
    pub name: String,
    pub address: String,
    pub port: String,
    pub room: String,
    pub host_port: String,
    /// A launcher error (bad name, port in use, ...).
    pub error: Option<String>,
    /// Why the connection failed or ended (title, reason), shown until the player goes back
    /// to the launcher.
    pub ended: Option<(&'static str, String)>,
    pub chat_input: String,
    /// Where the server we joined is, as typed.
    pub server_addr: String,
    pub reachable: Vec<String>,
    /// The canvas image as egui knows it.
    pub canvas_texture: Option<bevy_egui::egui::TextureId>,
    /// The host's game settings, kept between games.
    pub quiz_settings: Settings,
    /// The player closed the last game's leaderboard.
    pub podium_closed: bool,
}

#[derive(Resource)]
struct HostOptions(ServerOptions);

#[derive(Resource)]
struct PendingLaunch(Mutex<Option<Launch>>);

/// The window's camera carries the UI. Named explicitly: left to itself, bevy_egui would
/// pick whichever camera came first, and that may be the canvas camera.
fn spawn_camera(mut commands: Commands) {
    commands.spawn((Name::new("window camera"), Camera2d, PrimaryEguiContext));
}

fn install_waker(mut commands: Commands, proxy: Res<EventLoopProxyWrapper>) {
    let proxy = Mutex::new((**proxy).clone());
    commands.insert_resource(NetWaker(Arc::new(move || {
        if let Ok(proxy) = proxy.lock() {
            let _ = proxy.send_event(WinitUserEvent::WakeUp);
        }
    })));
}

fn apply_launch(
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
        Launch::Join { addr, name, room } => {
            start_joining(&mut state, &mut next, &mut connect, &addr, name, room);
        }
    }
}

pub(crate) fn join_request(name: String, room: Option<String>, host_token: Option<[u8; 16]>) -> JoinRequest {
    JoinRequest {
        name,
        room,
        host_token,
    }
}

fn start_hosting(
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
        join: join_request(name, None, Some(hosted.token)),
    });
    commands.insert_resource(hosted);
    next.set(AppMode::Server);
}

fn start_joining(
    state: &mut UiState,
    next: &mut NextState<AppMode>,
    connect: &mut MessageWriter<JoinServer>,
    addr: &str,
    name: String,
    room: Option<String>,
) {
    state.server_addr = with_default_port(addr, DEFAULT_PORT);
    state.reachable.clear();
    state.ended = None;
    connect.write(JoinServer {
        addr: state.server_addr.clone(),
        join: join_request(name, room, None),
    });
    next.set(AppMode::Client);
}

fn install_fonts(mut contexts: EguiContexts, mut done: Local<bool>) -> Result {
    if !*done {
        fonts::install(contexts.ctx_mut()?);
        *done = true;
    }
    Ok(())
}

fn register_canvas_texture(
    mut contexts: EguiContexts,
    image: Option<Res<CanvasImage>>,
    mut state: ResMut<UiState>,
) {
    if state.canvas_texture.is_none()
        && let Some(image) = image
    {
        state.canvas_texture = Some(contexts.add_image(EguiTextureHandle::Strong(image.0.clone())));
    }
}

/// In a free-draw room a drawing is finished when the pen changes hands: save it to the
/// gallery (unless turned off). Games save at the end of each turn instead.
fn save_finished_drawings(
    state: Res<CanvasState>,
    roster: Res<Roster>,
    quiz: Res<QuizView>,
    settings: Res<GallerySettings>,
    mut previous: Local<Option<crate::id::ClientId>>,
    mut save: MessageWriter<SaveCanvas>,
) {
    if state.pen == *previous {
        return;
    }
    if let Some(drawer) = previous.take()
        && quiz.game.is_none()
        && settings.auto_save
        && state.drawing.strokes().iter().any(|s| s.author == drawer)
    {
        let name = roster.display_name(drawer);
        save.write(SaveCanvas {
            name: gallery::file_name(&roster.room, None, name, game::unix_now()),
        });
    }
    *previous = state.pen;
}

/// A game's turn is over: save the picture with its word (unless turned off).
fn save_finished_turns(
    state: Res<CanvasState>,
    roster: Res<Roster>,
    settings: Res<GallerySettings>,
    mut ended: MessageReader<TurnEnded>,
    mut save: MessageWriter<SaveCanvas>,
) {
    for TurnEnded { word, drawer } in ended.read() {
        if settings.auto_save && !state.drawing.strokes().is_empty() {
            let name = roster.display_name(*drawer);
            save.write(SaveCanvas {
                name: gallery::file_name(&roster.room, Some(word.as_str()), name, game::unix_now()),
            });
        }
    }
}

fn note_connection_end(mut ended: MessageReader<SessionEnded>, mut state: ResMut<UiState>) {
    if let Some(error) = ended.read().last() {
        eprintln!("game: {error}");
        let title = if error.is_join_failure() {
            "Could not join"
        } else {
            "Disconnected"
        };
        state.ended = Some((title, error.to_string()));
    }
}

/// The window title names the player and room; it flashes a game's news (there is no
/// sound), so "your turn" shows even on a window in the background.
fn update_title(
    time: Res<Time<Real>>,
    roster: Res<Roster>,
    quiz: Res<QuizView>,
    mode: Res<State<AppMode>>,
    mut winit: ResMut<WinitSettings>,
    mut windows: Query<&mut Window>,
    mut was_flashing: Local<bool>,
) {
    let now = time.elapsed();
    let news = quiz
        .banners
        .back()
        .filter(|(at, _)| now.saturating_sub(*at) < BANNER_TIME * 2);
    // A window in the background wakes every second; while it flashes, four times a second.
    let unfocused = if news.is_some() {
        UpdateMode::reactive_low_power(Duration::from_millis(250))
    } else {
        UNFOCUSED_MODE
    };
    if winit.unfocused_mode != unfocused {
        winit.unfocused_mode = unfocused;
    }
    let flashing = news.is_some();
    if !flashing && !*was_flashing && !roster.is_changed() && !mode.is_changed() {
        return;
    }
    *was_flashing = flashing;
    let flash = news.filter(|(at, _)| (now.saturating_sub(*at).as_millis() / 500).is_multiple_of(2));
    let title = match (roster.me.and_then(|me| roster.name_of(me)), *mode.get()) {
        (_, AppMode::Menu) | (None, _) => TITLE.to_owned(),
        (_, _) if flash.is_some() => {
            let (text, _) = banner_text(&flash.expect("checked").1);
            format!("★ {text} ★")
        }
        (Some(name), _) => format!("{TITLE} — {name} @ {}", roster.room),
    };
    for mut window in &mut windows {
        if window.title != title {
            window.title = title.clone();
        }
    }
}

fn stop_hosting_on_exit(mut exit: MessageReader<AppExit>, hosted: Option<ResMut<HostedServer>>) {
    if exit.read().last().is_some()
        && let Some(mut hosted) = hosted
    {
        hosted.stop();
    }
}

/// A full-window `Ui` for panels to be shown in (egui 0.36 panels live inside a `Ui`).
fn root_ui(ctx: &bevy_egui::egui::Context) -> bevy_egui::egui::Ui {
    use bevy_egui::egui;
    egui::Ui::new(
        ctx.clone(),
        "root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    )
}
