//! Members changing between playing and watching: at once between turns, else when the turn ends.

use super::*;

/// How often one member may ask to change between playing and watching.
pub const ROLE_CHANGE_EVERY: Duration = Duration::from_secs(2);

/// Rooms where a change between playing and watching waits for the turn to end.
#[derive(Resource, Default)]
pub(super) struct RolesWaiting(HashSet<Entity>);

/// What a change between playing and watching sends.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct RoleOutput<'w> {
    pub(super) replies: MessageWriter<'w, ToClients<RoleReply>>,
    pub(super) updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    pub(super) changed: MessageWriter<'w, RoleChanged>,
}

impl RoleOutput<'_> {
    pub(super) fn reply(&mut self, client: ClientId, reply: RoleReply) {
        self.replies.write(ToClients::one(client, reply));
    }

    /// Tells the room, and the other plugins, that `client` now watches or plays.
    pub(super) fn tell(&mut self, room: &Room, entity: Entity, client: ClientId, spectator: bool) {
        let update = RoomUpdate::Role {
            id: client,
            spectator,
        };
        self.updates
            .write(ToClients::many(room.present().collect(), update));
        self.changed.write(RoleChanged {
            client,
            room: entity,
            spectator,
        });
    }
}

/// Members asking to watch or to play: done at once between turns, else when the turn ends
/// (the room's [`RoomActivity::turn`], kept by the quiz).
pub(super) fn change_roles(
    time: Res<Time<Real>>,
    mut changed_at: Local<HashMap<ClientId, Duration>>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    mut rooms: Query<(&mut Room, Option<&RoomActivity>)>,
    mut waiting: ResMut<RolesWaiting>,
    mut requests: MessageReader<FromClient<RoleRequest>>,
    mut out: RoleOutput,
) {
    let now = time.elapsed();
    changed_at.retain(|_, at| now.saturating_sub(*at) < ROLE_CHANGE_EVERY);
    for FromClient { client, msg } in requests.read() {
        let Some(player) = index.player(*client).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let Ok((mut room, activity)) = rooms.get_mut(player.room) else {
            continue;
        };
        // Each change tells the whole room and may reorder a game: one per member per 2 s.
        if changed_at.contains_key(client) {
            out.reply(*client, RoleReply::Refused(RoleRefusal::TooSoon));
            continue;
        }
        let turn = activity.is_some_and(|a| a.turn);
        let asked = room.ask_role(*client, msg.spectate, turn);
        if asked.is_ok() {
            changed_at.insert(*client, now);
        }
        match asked {
            Ok(RoleChange::AtTurnEnd) => {
                waiting.0.insert(player.room);
                let reply = RoleReply::Waiting {
                    spectate: msg.spectate,
                };
                out.reply(*client, reply);
            }
            Ok(RoleChange::Now) => out.tell(&room, player.room, *client, msg.spectate),
            Ok(RoleChange::Cancelled) => out.reply(*client, RoleReply::Cancelled),
            Err(why) => out.reply(*client, RoleReply::Refused(why)),
        }
    }
    waiting.0.retain(|&entity| {
        let Ok((mut room, activity)) = rooms.get_mut(entity) else {
            return false;
        };
        if activity.is_some_and(|a| a.turn) {
            return true;
        }
        for (client, result) in room.settle_roles() {
            match result {
                Ok(spectator) => out.tell(&room, entity, client, spectator),
                Err(why) => out.reply(client, RoleReply::Refused(why)),
            }
        }
        false
    });
}
