//! The game's one binary: natively the command line (`game --server`, `game --client ADDR`);
//! in a browser, the page's game (`catchmind::ui::browser`).

#[cfg(not(target_arch = "wasm32"))]
#[path = "main_native.rs"]
mod native;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    native::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {
    catchmind::ui::browser::run();
}
