//! The game in a browser: the page served by `game --server` runs the same window, plugins and
//! screens; the server is the page's own, and the page's address may carry an invite
//! (`?room=NAME`, `&name=NICK`, `&spectate`). A browser only joins: hosting is the desktop
//! game's.

use bevy::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Storage, UrlSearchParams};

use super::invite::Invite;
use super::{Launch, WindowOptions};
use crate::app::ServerOptions;
use crate::plugins::canvas::render::GallerySettings;
use crate::plugins::chat::{ChatEntry, ChatLog};

/// What the page adds to the window: its console follows the game (the first frame's time
/// since the page was opened; each chat line), for a person looking and for the browser tests.
pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        Last,
        (note_first_frame, log_chat.run_if(resource_changed::<ChatLog>)),
    );
}

/// Where the page's canvas is (`index.html`).
pub const CANVAS: &str = "#game";

/// Runs the game on the page's canvas.
pub fn run() {
    console_error_panic_hook::set_once();
    let window = WindowOptions {
        position: None,
        size: crate::cli::DEFAULT_WINDOW_SIZE,
        gallery: GallerySettings::default(),
        lang: None,
    };
    super::run(launch(), window, ServerOptions::default());
}

/// The page's local storage, if the browser lets the page keep any.
pub(crate) fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// What the page's address asks for: the page's server, and an invite's room and name.
fn launch() -> Launch {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return Launch::Menu;
    };
    let host = location.host().unwrap_or_default();
    let search = location.search().unwrap_or_default();
    let params = UrlSearchParams::new_with_str(&search).ok();
    let param = |key: &str| params.as_ref().and_then(|p| p.get(key));
    let invite = Invite {
        room: param("room"),
        name: param("name"),
        spectate: params.as_ref().is_some_and(|p| p.has("spectate")),
    };
    let secure = location.protocol().is_ok_and(|p| p == "https:");
    invite.launch(&host, secure)
}

/// Copies `text` as the room's Copy button means it. The Clipboard API is only for secure
/// pages (https, or localhost), and a LAN server's page is plain http: there the text goes
/// through a selected, hidden text area and the editing command, which the click's user
/// activation allows. Whether it was copied.
pub(crate) fn copy_text(ctx: &bevy_egui::egui::Context, text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    if window.is_secure_context() {
        ctx.copy_text(text.to_owned());
        return true;
    }
    let copied = (|| {
        let document: web_sys::HtmlDocument = window.document()?.dyn_into().ok()?;
        // The keyboard goes back where it was (the game's canvas) once the text is copied.
        let had_focus = document
            .active_element()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        let area: web_sys::HtmlTextAreaElement = document.create_element("textarea").ok()?.dyn_into().ok()?;
        area.set_value(text);
        let _ = area.set_attribute("readonly", "");
        let _ = area.style().set_property("position", "fixed");
        let _ = area.style().set_property("opacity", "0");
        document.body()?.append_child(&area).ok()?;
        area.select();
        let done = document.exec_command("copy").unwrap_or(false);
        area.remove();
        if let Some(element) = had_focus {
            let _ = element.focus();
        }
        Some(done)
    })()
    .unwrap_or(false);
    if !copied {
        warn!("the browser did not let the page copy the invite link: {text}");
    }
    copied
}

/// Once the window has drawn its first screen: how long since the page was opened.
fn note_first_frame(mut updates: Local<u32>) {
    // The first update lays the screen out; the second comes after it was drawn. Later ones
    // have nothing to do.
    if *updates >= 2 {
        return;
    }
    *updates += 1;
    if *updates == 2 {
        let since_open = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w, &"performance".into()).ok())
            .and_then(|p| {
                let now = js_sys::Reflect::get(&p, &"now".into()).ok()?;
                now.dyn_ref::<js_sys::Function>()?.call0(&p).ok()?.as_f64()
            })
            .unwrap_or(f64::NAN);
        info!("first frame drawn {since_open:.0} ms after the page was opened");
    }
}

/// Each new chat entry on the console.
fn log_chat(log: Res<ChatLog>, mut logged: Local<u64>) {
    let new = (log.added - *logged).min(log.entries.len() as u64) as usize;
    *logged = log.added;
    for entry in log.entries.iter().skip(log.entries.len() - new) {
        match entry {
            ChatEntry::Line { name, text, .. } | ChatEntry::Private { name, text, .. } => {
                info!("chat: {name}: {text}")
            }
            ChatEntry::Notice(text) | ChatEntry::Highlight(text) | ChatEntry::Refused(text) => {
                info!("chat: {text}")
            }
        }
    }
}
