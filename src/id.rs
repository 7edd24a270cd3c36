//! The server's handle for one connection. Depends on nothing, so every plugin can name it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Stable for the connection's lifetime; never reused while the server runs (it wraps only
/// after four billion connections).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u32);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}
