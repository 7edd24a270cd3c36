//! The native binary: the command line, then a dedicated server, a hosting window or a player's
//! window.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use catchmind::app::{self, ServerOptions};
use catchmind::cli::{Cli, DEFAULT_PORT};
use catchmind::plugins::chat::ChatConfig;
use catchmind::plugins::net::admin::AdminConfig;
use catchmind::plugins::net::{AddressLimits, NetConfig, NetServer, ShutdownSignal, reachable_addresses};
use catchmind::plugins::quiz::{QuizConfig, words};
use catchmind::plugins::rooms::RoomConfig;

pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let misfits = cli.headless_misfits();
    if !misfits.is_empty() {
        eprintln!(
            "game: {}: a --headless server has no window and plays no part; drop {} or --headless",
            misfits.join(", "),
            if misfits.len() == 1 { "it" } else { "them" }
        );
        return ExitCode::from(2);
    }
    let mut quiz = QuizConfig::default();
    if let Some(path) = &cli.words {
        match words::load(path) {
            Ok(list) => quiz.custom_words = Some(Arc::new(list)),
            Err(e) => {
                eprintln!("game: --words: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if cli.agones && !cfg!(feature = "agones") {
        eprintln!("game: --agones: this build has no Agones support (build with --features agones)");
        return ExitCode::from(2);
    }
    let options = ServerOptions {
        rooms: RoomConfig {
            room_size: cli.room_size,
            max_rooms: cli.max_rooms,
            spectators: cli.spectators,
            seat_hold: std::time::Duration::from_secs(cli.seat_hold.into()),
            rooms_per_address: cli.per_address_rooms,
            seats_per_address: cli.per_address_connections.min(u16::MAX.into()) as u16,
            ..RoomConfig::default()
        },
        chat: ChatConfig::default(),
        net: NetConfig {
            max_connections: cli.max_connections as usize,
            drain_timeout: std::time::Duration::from_secs(cli.drain_timeout.into()),
            web_root: cli
                .web
                .clone()
                .or_else(catchmind::plugins::net::web::default_root),
            per_address: AddressLimits::with(
                cli.per_address_connections as usize,
                cli.per_address_rate as f64,
            ),
            admin: cli.admin.as_ref().map(|addr| AdminConfig {
                addr: addr.clone(),
                public: cli.admin_public,
            }),
            #[cfg(feature = "agones")]
            agones: cli.agones.then(Default::default),
            ..NetConfig::default()
        },
        quiz,
    };
    if cli.server && cli.headless {
        return run_headless(&cli, options);
    }
    run_windowed(&cli, options)
}

/// This build has no window: it is a dedicated server only.
#[cfg(not(feature = "client"))]
fn run_windowed(_: &Cli, _: ServerOptions) -> ExitCode {
    eprintln!(
        "game: this build is a dedicated server only (built without the `client` feature); run: game --server --headless"
    );
    ExitCode::from(2)
}

/// The launcher, a hosting window or a player's window.
#[cfg(feature = "client")]
fn run_windowed(cli: &Cli, options: ServerOptions) -> ExitCode {
    use catchmind::app::HostedServer;
    use catchmind::plugins::canvas::render::GallerySettings;
    use catchmind::ui::{self, Launch, WindowOptions};

    if !has_display() {
        let hint = if cli.server {
            "; for a dedicated server without a window, run: game --server --headless"
        } else {
            ""
        };
        eprintln!("game: no display found (DISPLAY and WAYLAND_DISPLAY are unset){hint}");
        return ExitCode::from(2);
    }
    let launch = if cli.server {
        let hosted = NetServer::listen(&cli.listen())
            .and_then(|listener| HostedServer::spawn(listener, options.clone()));
        match hosted {
            Ok(hosted) => Launch::Host {
                hosted,
                name: cli.name.clone().unwrap_or_else(|| "Host".into()),
            },
            Err(e) => {
                eprintln!("game: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if let Some(addr) = &cli.client {
        Launch::Join {
            addr: addr.clone(),
            name: cli.name.clone().unwrap_or_else(random_name),
            room: cli.room.clone(),
            spectate: cli.spectate,
        }
    } else {
        Launch::Menu
    };
    let mut gallery = GallerySettings::default();
    if let Some(folder) = &cli.gallery {
        gallery.folder = Some(folder.clone());
    }
    gallery.auto_save = !cli.no_autosave;
    let window = WindowOptions {
        position: cli.window_pos,
        size: cli.window_size.unwrap_or(catchmind::cli::DEFAULT_WINDOW_SIZE),
        gallery,
        lang: cli.lang,
    };
    match ui::run(launch, window, options) {
        bevy::app::AppExit::Success => ExitCode::SUCCESS,
        bevy::app::AppExit::Error(code) => ExitCode::from(code.get()),
    }
}

fn run_headless(cli: &Cli, options: ServerOptions) -> ExitCode {
    let listener = match NetServer::listen(&cli.listen()) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("game: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("game: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut app = match app::server_app(listener, options, ShutdownSignal::default(), None, true) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("game: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(admin) = app.world().resource::<NetServer>().admin_addr() {
        eprintln!("admin endpoint: http://{admin}/metrics, /healthz, /readyz");
    }
    eprintln!(
        "Catch Mind server listening on {addr} (Ctrl+C or SIGTERM: finish the turns in progress and stop; twice: stop now). Players join with:"
    );
    let page = app.world().resource::<NetServer>().serves_page();
    for reachable in reachable_addresses(addr) {
        if reachable.port() == DEFAULT_PORT {
            eprintln!("  game --client {}", reachable.ip());
        } else {
            eprintln!("  game --client {reachable}");
        }
        if page {
            eprintln!("  or in a browser: http://{reachable}/");
        }
    }
    app.run();
    eprintln!("server stopped");
    ExitCode::SUCCESS
}

#[cfg(feature = "client")]
fn has_display() -> bool {
    if cfg!(any(target_os = "windows", target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

#[cfg(feature = "client")]
fn random_name() -> String {
    format!("Player{}", rand::random_range(100..1000))
}
