//! The game in a browser: the page served by `game --server` runs the same window, plugins and
//! screens; the server is the page's own, and the page's address may carry an invite
//! (`?room=NAME`, `&name=NICK`, `&spectate`). A browser only joins: hosting is the desktop
//! game's.

use web_sys::{Storage, UrlSearchParams};

use super::invite::Invite;
use super::{Launch, WindowOptions};
use crate::app::ServerOptions;
use crate::plugins::canvas::render::GallerySettings;

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

/// Hands `bytes` to the browser as a download named `name`.
pub(crate) fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let failed = |e: wasm_bindgen::JsValue| format!("the browser refused the download: {e:?}");
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no page to download from")?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(failed)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(failed)?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| "no link element".to_owned())?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    // The click has started the download; the browser keeps what it needs.
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}
