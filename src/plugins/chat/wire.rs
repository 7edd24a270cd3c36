//! What the chat plugin puts on the wire.

use serde::{Deserialize, Serialize};

use super::rules::ChatRefusal;
use crate::id::ClientId;
use crate::plugins::net::{NetApp, WireMessage};

pub(super) fn plugin(app: &mut bevy::prelude::App) {
    app.add_client_message::<ChatToServer>()
        .add_server_message::<ChatToClient>();
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChatToServer {
    Say(String),
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    pub from: ClientId,
    pub name: String,
    pub text: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ChatToClient {
    Line(ChatLine),
    /// The room's recent lines, sent once after the welcome.
    History(Vec<ChatLine>),
    /// A line only some of the room sees (in a game: the drawer and those who found the word).
    Private(ChatLine),
    /// Your message was not sent, and why.
    Refused(ChatRefusal),
}

impl WireMessage for ChatToServer {
    const NAME: &'static str = "chat.to_server";
    const VERSION: u16 = 1;
}

impl WireMessage for ChatToClient {
    const NAME: &'static str = "chat.to_client";
    /// 2: no `Joined` and `Left` (the room's updates tell them).
    const VERSION: u16 = 2;
}
