//! The windowed game: launcher, room screen and their wiring. egui is used only here and in
//! the plugins' `ui.rs` widget files (canvas, chat, quiz), which only the windowed game uses;
//! the logic plugins run the same without it.

mod album;
mod autosave;
#[cfg(target_arch = "wasm32")]
pub mod browser;
mod fonts;
#[cfg(not(target_arch = "wasm32"))]
mod hosting;
mod invite;
mod launcher;
mod lifecycle;
mod memory;
mod room;
mod rooms_list;
mod text_input;
mod window;

use std::sync::Mutex;
use std::time::Duration;

use bevy::prelude::*;
use bevy::render::RenderPlugin;
use bevy::winit::{UpdateMode, WinitSettings};
use bevy_egui::{EguiGlobalSettings, EguiPlugin, EguiPostUpdateSet, EguiPrimaryContextPass};

#[cfg(not(target_arch = "wasm32"))]
use crate::app::HostedServer;
use crate::app::ServerOptions;
use crate::plugins::canvas::render::GallerySettings;
use crate::plugins::canvas::{self, CanvasSystems};
use crate::plugins::quiz::Settings;
use crate::plugins::{self, LogicSystems};
#[cfg(not(target_arch = "wasm32"))]
use lifecycle::HostOptions;
use lifecycle::{PendingLaunch, start_joining};

/// The screen the window shows.
#[derive(States, Default, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Screen {
    /// Host or join.
    #[default]
    Launcher,
    /// In a game this window's process hosts (its server runs in another app, on a thread).
    Hosting,
    /// In a game on another process's server.
    Joined,
}

/// What the window does first.
pub enum Launch {
    Menu,
    /// Join the server this process is hosting.
    #[cfg(not(target_arch = "wasm32"))]
    Host {
        hosted: HostedServer,
        name: String,
    },
    Join {
        addr: String,
        name: String,
        room: Option<String>,
        spectate: bool,
    },
    /// The launcher, its fields filled in by an invite link (the nickname left to type, or
    /// remembered).
    Invited {
        address: String,
        port: String,
        room: Option<String>,
        name: Option<String>,
        spectate: bool,
    },
}

pub struct WindowOptions {
    pub position: Option<(i32, i32)>,
    pub size: (u32, u32),
    pub gallery: GallerySettings,
    /// `--lang`, if given.
    pub lang: Option<crate::i18n::Lang>,
}

const TITLE: &str = "캐치마인드 Catch Mind";

/// A window in the background redraws when something arrives, or once a second (the timer).
const UNFOCUSED_MODE: UpdateMode = UpdateMode::Reactive {
    wait: Duration::from_secs(1),
    react_to_device_events: false,
    react_to_user_events: true,
    react_to_window_events: true,
};

/// Opens the window and runs the game until it closes.
pub fn run(launch: Launch, window: WindowOptions, host_options: ServerOptions) -> AppExit {
    let primary = primary_window(&window);
    let memory = memory::LauncherMemory::load_default();
    // `--lang`, else the launcher's last choice, else the system's language.
    let lang = window
        .lang
        .or_else(|| {
            memory
                .remembered
                .language
                .as_deref()
                .and_then(crate::i18n::Lang::parse)
        })
        .unwrap_or_else(crate::i18n::Lang::from_system);
    crate::i18n::set(lang);
    let ui_state = initial_ui_state(&launch, &memory.remembered);
    let mut app = App::new();
    #[cfg(not(target_arch = "wasm32"))]
    app.insert_resource(HostOptions(host_options));
    #[cfg(target_arch = "wasm32")]
    let _ = host_options;
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(primary),
                // A hosting window stops its server before it closes (hosting::close_requested).
                close_when_requested: false,
                ..default()
            })
            // Compile pipelines when first needed, so the first stroke is never skipped.
            .set(RenderPlugin {
                synchronous_pipeline_compilation: true,
                ..default()
            }),
    );
    crate::app::match_log_crate_to_tracing();
    app.init_state::<Screen>()
        .add_plugins((plugins::client_logic, canvas::render::plugin, plugin))
        .insert_resource(ui_state)
        .insert_resource(memory)
        .insert_resource(window.gallery)
        .insert_resource(PendingLaunch(Mutex::new(Some(launch))))
        .run()
}

/// The windowed game's screens and their wiring, on top of the logic and render plugins.
pub fn plugin(app: &mut App) {
    // Sleep between input events; the network thread wakes the loop (`NetWaker`), so
    // remote messages show at once without spinning.
    app.insert_resource(WinitSettings {
        focused_mode: UpdateMode::reactive(Duration::from_millis(250)),
        unfocused_mode: UNFOCUSED_MODE,
    })
    .insert_resource(ClearColor(crate::theme::BACKGROUND))
    .add_plugins(EguiPlugin::default())
    .insert_resource(EguiGlobalSettings {
        auto_create_primary_context: false,
        input_system_settings: text_input::input_settings(),
        ..default()
    })
    .add_plugins(text_input::plugin)
    .init_resource::<UiState>()
    .init_resource::<album::AlbumState>()
    .configure_sets(
        PostUpdate,
        CanvasSystems::LocalInput.after(EguiPostUpdateSet::EndPass),
    )
    .add_systems(
        Startup,
        (
            window::spawn_camera,
            window::install_waker,
            lifecycle::apply_launch,
        )
            .chain(),
    )
    .add_systems(
        EguiPrimaryContextPass,
        (
            window::install_fonts,
            window::register_canvas_texture,
            launcher::show.run_if(in_state(Screen::Launcher)),
            room::show.run_if(not(in_state(Screen::Launcher))),
            album::show.run_if(not(in_state(Screen::Launcher))),
        )
            .chain(),
    )
    .add_systems(
        Update,
        (
            lifecycle::note_connection_end,
            lifecycle::remember_joined,
            window::update_title,
            // Sees the pen change hands before the game's news of the same frame, so a free
            // drawing is saved when a game takes the pen.
            autosave::save_finished_drawings
                .after(LogicSystems::Canvas)
                .before(LogicSystems::Quiz),
            autosave::save_finished_turns,
        ),
    );
    #[cfg(not(target_arch = "wasm32"))]
    app.add_plugins(hosting::plugin);
    #[cfg(target_arch = "wasm32")]
    app.add_plugins(browser::plugin);
}

/// In a browser the page's canvas is the window: it fills the page, whatever its size, and
/// the page's own scrolling, zooming and shortcuts stay off it.
#[cfg(target_arch = "wasm32")]
fn primary_window(_: &WindowOptions) -> Window {
    Window {
        title: TITLE.into(),
        canvas: Some(browser::CANVAS.into()),
        fit_canvas_to_parent: true,
        prevent_default_event_handling: true,
        ..default()
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn primary_window(window: &WindowOptions) -> Window {
    use bevy::window::WindowResolution;
    Window {
        title: TITLE.into(),
        resolution: WindowResolution::from(window.size),
        resize_constraints: bevy::window::WindowResizeConstraints {
            min_width: crate::cli::MIN_WINDOW_SIZE.0 as f32,
            min_height: crate::cli::MIN_WINDOW_SIZE.1 as f32,
            ..default()
        },
        position: match window.position {
            Some((x, y)) => WindowPosition::At(IVec2::new(x, y)),
            None => WindowPosition::Automatic,
        },
        ..default()
    }
}

/// The launcher's fields, filled in from the command line.
fn initial_ui_state(launch: &Launch, remembered: &memory::Remembered) -> UiState {
    let mut ui_state = UiState::default();
    match launch {
        Launch::Menu => {
            // Where the player went last time, ready to go again.
            ui_state.name.clone_from(&remembered.name);
            if let Some(last) = remembered.servers.first() {
                ui_state.address.clone_from(&last.address);
                ui_state.port.clone_from(&last.port);
                ui_state.room.clone_from(&last.room);
            }
        }
        Launch::Invited {
            address,
            port,
            room,
            name,
            spectate,
        } => {
            ui_state.name = name.clone().unwrap_or_else(|| remembered.name.clone());
            ui_state.address.clone_from(address);
            ui_state.port.clone_from(port);
            ui_state.room = room.clone().unwrap_or_default();
            ui_state.spectate = *spectate;
            ui_state.focus_name = true;
        }
        #[cfg(not(target_arch = "wasm32"))]
        Launch::Host { name, .. } => ui_state.name = name.clone(),
        Launch::Join {
            addr,
            name,
            room,
            spectate,
        } => {
            ui_state.spectate = *spectate;
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
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    pub host_port: String,
    /// Join as a spectator (the launcher's checkbox).
    pub spectate: bool,
    /// The nickname field takes the keyboard when the launcher next shows (an invite link).
    pub focus_name: bool,
    /// What a narrow page shows under the board, and whether this player held the pen last
    /// frame (the tools come up when the pen comes).
    pub tab: room::Tab,
    pub was_holding: bool,
    /// A launcher error (bad name, port in use, ...).
    pub error: Option<String>,
    /// Why the connection failed or ended (title, reason), shown until the player goes back
    /// to the launcher.
    pub ended: Option<(lifecycle::Ended, String)>,
    /// The room turned the name away: the dialog offers this one to edit before trying again.
    pub rename: Option<String>,
    /// Why the edited name cannot be used.
    pub rename_error: Option<String>,
    pub chat_input: String,
    /// Where the server we joined is, as typed.
    pub server_addr: String,
    /// The hosted server's addresses others can reach.
    pub reachable: Vec<std::net::SocketAddr>,
    /// The server serves the browser's page, so invite links lead somewhere.
    pub page_served: bool,
    /// When an invite link was last copied (the button says so for a moment).
    pub copied_at: Option<Duration>,
    /// The canvas image as egui knows it.
    pub canvas_texture: Option<bevy_egui::egui::TextureId>,
    /// The host's game settings, kept between games.
    pub quiz_settings: Settings,
    /// The server the launcher is joining, to remember among the recent ones once joined.
    pub joining: Option<memory::RecentServer>,
    /// The host picked the word pack (until then it follows the interface language).
    pub pack_picked: bool,
    /// The host's list of the room's own words, as typed.
    pub room_words_text: String,
    /// The player closed the last game's leaderboard.
    pub podium_closed: bool,
    /// The last game's leaderboard is on screen (windows that would cover it wait).
    pub podium_shown: bool,
    /// The room screen's middle column (the board) this frame: the album stays over it.
    pub middle: Option<bevy_egui::egui::Rect>,
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
