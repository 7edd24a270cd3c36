//! The chat on the server: history and notices for joiners and leavers, relaying lines with
//! the cleaning and rate rules, and the requests other plugins make of the chat.

use bevy::prelude::*;

use super::rules::{ChatConfig, ChatHistory, ChatRate, clean_message};
use super::wire::{ChatLine, ChatToClient, ChatToServer};
use crate::id::ClientId;
use crate::plugins::net::{FromClient, ToClients};
use crate::plugins::rooms::{Player, PlayerJoined, Room, RoomIndex};
use crate::plugins::{LogicSystems, Side};

pub(super) fn plugin(app: &mut App) {
    app.add_message::<LineSaid>()
        .add_message::<PublishLine>()
        // Every room has its history, every player their chat rate, from the start.
        .register_required_components::<Room, ChatHistory>()
        .register_required_components::<Player, ChatRate>()
        .add_systems(
            Update,
            (
                greet_joiners.run_if(on_message::<PlayerJoined>),
                relay_chat.run_if(on_message::<FromClient<ChatToServer>>),
            )
                .chain()
                .in_set(LogicSystems::Chat)
                .in_set(Side::Server),
        )
        .add_systems(
            Update,
            publish_lines
                .run_if(on_message::<PublishLine>)
                .in_set(LogicSystems::Effects)
                .in_set(Side::Server),
        );
}

/// While a room has this, its accepted lines are not broadcast: they are handed over as
/// [`LineSaid`] to whoever put the marker there (a game, which decides who sees each line).
#[derive(Component, Debug, Default)]
pub struct HandOverLines;

/// An accepted line (cleaned, within the rate limit) in a room with [`HandOverLines`].
#[derive(Message, Debug, Clone)]
pub struct LineSaid {
    pub room: Entity,
    pub line: ChatLine,
}

/// Asks the chat to publish a line in a room.
#[derive(Message, Debug, Clone)]
pub struct PublishLine {
    pub room: Entity,
    pub line: ChatLine,
    pub audience: Audience,
}

/// Who sees a published line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The whole room, and players who join later (it goes into the history).
    Room,
    /// Only these players (in the room), marked private, never in the history.
    Only(Vec<ClientId>),
}

/// Gives a joiner the room's recent lines (who came is the room's news, `RoomUpdate::Joined`,
/// not the chat's).
fn greet_joiners(
    mut joined: MessageReader<PlayerJoined>,
    rooms: Query<&ChatHistory>,
    mut out: MessageWriter<ToClients<ChatToClient>>,
) {
    for PlayerJoined { client, room, .. } in joined.read() {
        let Ok(history) = rooms.get(*room) else {
            continue;
        };
        if !history.0.is_empty() {
            let lines = history.0.iter().cloned().collect();
            out.write(ToClients::one(*client, ChatToClient::History(lines)));
        }
    }
}

/// Relays a player's line to their room, or hands it over where the room asks for that.
fn relay_chat(
    time: Res<Time<Real>>,
    config: Res<ChatConfig>,
    index: Res<RoomIndex>,
    mut incoming: MessageReader<FromClient<ChatToServer>>,
    mut players: Query<(&Player, &mut ChatRate)>,
    mut rooms: Query<(&Room, &mut ChatHistory, Has<HandOverLines>)>,
    mut out: MessageWriter<ToClients<ChatToClient>>,
    mut said: MessageWriter<LineSaid>,
) {
    let now = time.elapsed();
    for FromClient {
        client,
        msg: ChatToServer::Say(text),
    } in incoming.read()
    {
        let Some(entity) = index.player(*client) else {
            continue;
        };
        let Ok((player, mut rate)) = players.get_mut(entity) else {
            continue;
        };
        let accepted = clean_message(text).and_then(|text| rate.allow(now, &config).map(|()| text));
        let text = match accepted {
            Ok(text) => text,
            Err(why) => {
                metrics::counter!("catchmind_requests_refused_total", "kind" => "chat").increment(1);
                out.write(ToClients::one(*client, ChatToClient::Refused(why)));
                continue;
            }
        };
        metrics::counter!("catchmind_chat_lines_total").increment(1);
        let Ok((room, mut history, handed_over)) = rooms.get_mut(player.room) else {
            continue;
        };
        let line = ChatLine {
            from: *client,
            name: player.name.clone(),
            text,
        };
        if handed_over {
            said.write(LineSaid {
                room: player.room,
                line,
            });
            continue;
        }
        history.push(line.clone());
        out.write(ToClients::many(
            room.members().collect(),
            ChatToClient::Line(line),
        ));
    }
}

fn publish_lines(
    mut requests: MessageReader<PublishLine>,
    mut rooms: Query<(&Room, &mut ChatHistory)>,
    mut out: MessageWriter<ToClients<ChatToClient>>,
) {
    for PublishLine { room, line, audience } in requests.read() {
        let Ok((room, mut history)) = rooms.get_mut(*room) else {
            continue;
        };
        match audience {
            Audience::Room => {
                history.push(line.clone());
                out.write(ToClients::many(
                    room.members().collect(),
                    ChatToClient::Line(line.clone()),
                ));
            }
            Audience::Only(ids) => {
                let to: Vec<ClientId> = ids.iter().copied().filter(|&id| room.contains(id)).collect();
                if !to.is_empty() {
                    out.write(ToClients::many(to, ChatToClient::Private(line.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::chat::ChatRefusal;
    use crate::plugins::test_app::TestServer;

    fn say(text: &str) -> ChatToServer {
        ChatToServer::Say(text.into())
    }

    #[test]
    fn a_line_reaches_the_room_only_and_joiners_get_the_history() {
        let mut server = TestServer::with(crate::plugins::chat::plugin);
        let a = server.join(1, "Ann", None);
        let b = server.join(2, "Ben", None);
        let elsewhere = server.join(3, "Cy", Some("other"));
        server.sent::<ChatToClient>();
        server.send(a, say("  안녕\n하세요 "));
        server.update();
        let sent = server.sent::<ChatToClient>();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].recipients(), [a, b], "not {elsewhere}");
        let line = ChatLine {
            from: a,
            name: "Ann".into(),
            text: "안녕 하세요".into(),
        };
        assert_eq!(sent[0].msg, ChatToClient::Line(line.clone()));
        let d = server.join(4, "Dee", None);
        let to_d: Vec<_> = server
            .sent::<ChatToClient>()
            .into_iter()
            .filter(|m| m.to_one() == Some(d))
            .collect();
        assert_eq!(to_d[0].msg, ChatToClient::History(vec![line]));
    }

    #[test]
    fn refusals_go_to_the_sender_alone_with_a_typed_reason() {
        let mut server = TestServer::with(crate::plugins::chat::plugin);
        let a = server.join(1, "Ann", None);
        server.join(2, "Ben", None);
        server.sent::<ChatToClient>();
        server.send(a, say(&"x".repeat(301)));
        server.send(a, say(" \u{200F} "));
        server.update();
        let sent: Vec<_> = server
            .sent::<ChatToClient>()
            .into_iter()
            .map(|m| (m.to_one(), m.msg))
            .collect();
        assert_eq!(
            sent,
            [
                (Some(a), ChatToClient::Refused(ChatRefusal::TooLong)),
                (Some(a), ChatToClient::Refused(ChatRefusal::Empty)),
            ]
        );
    }

    #[test]
    fn a_room_that_hands_lines_over_publishes_only_what_it_is_asked_to() {
        let mut server = TestServer::with(crate::plugins::chat::plugin);
        let a = server.join(1, "Ann", None);
        let b = server.join(2, "Ben", None);
        let c = server.join(3, "Cy", None);
        let room = server.find::<Room>();
        server.app.world_mut().entity_mut(room).insert(HandOverLines);
        server.sent::<ChatToClient>();
        server.send(a, say("apple?"));
        server.update();
        assert!(server.sent::<ChatToClient>().is_empty(), "not broadcast");
        let said = server.read::<LineSaid>();
        assert_eq!(
            (said.len(), said[0].room, said[0].line.text.as_str()),
            (1, room, "apple?")
        );

        let line = said[0].line.clone();
        let gone = ClientId(99);
        server.write(PublishLine {
            room,
            line: line.clone(),
            audience: Audience::Only(vec![a, c, gone]),
        });
        server.write(PublishLine {
            room,
            line: line.clone(),
            audience: Audience::Room,
        });
        server.update();
        let sent: Vec<_> = server
            .sent::<ChatToClient>()
            .into_iter()
            .map(|m| (m.recipients(), m.msg))
            .collect();
        assert_eq!(
            sent,
            [
                (vec![a, c], ChatToClient::Private(line.clone())),
                (vec![a, b, c], ChatToClient::Line(line.clone())),
            ]
        );
        let history = server.app.world().get::<ChatHistory>(room).unwrap();
        assert_eq!(history.0.len(), 1, "only the public line is kept for joiners");
    }
}
