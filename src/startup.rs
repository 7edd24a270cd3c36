//! Starting an app by hand. Depends on nothing in the crate, so any runner or test can use it.

use bevy::app::{App, PluginsState};

/// Finishes an app's plugins the way `App::run` would, for loops that drive `update` by hand.
pub fn finish_plugins(app: &mut App) {
    while app.plugins_state() == PluginsState::Adding {
        #[cfg(not(target_arch = "wasm32"))]
        bevy::tasks::tick_global_task_pools_on_main_thread();
    }
    app.finish();
    app.cleanup();
}
