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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::test_app::TestServer;

    fn replies_to(server: &mut TestServer, client: ClientId) -> Vec<RoleReply> {
        let sent = server.sent::<RoleReply>();
        sent.into_iter()
            .filter(|r| r.to_one() == Some(client))
            .map(|r| r.msg)
            .collect()
    }

    fn role_updates(server: &mut TestServer) -> Vec<RoomUpdate> {
        let sent = server.sent::<RoomUpdate>();
        sent.into_iter()
            .map(|u| u.msg)
            .filter(|u| matches!(u, RoomUpdate::Role { .. }))
            .collect()
    }

    #[test]
    fn between_turns_a_member_changes_at_once_and_not_again_within_two_seconds() {
        let mut server = TestServer::with(());
        server.join(1, "Ann", Some("den"));
        let ben = server.join(2, "Ben", Some("den"));
        server.send(ben, RoleRequest { spectate: true });
        server.update();
        let changed = RoomUpdate::Role {
            id: ben,
            spectator: true,
        };
        assert_eq!(role_updates(&mut server), [changed]);
        let told: Vec<RoleChanged> = server.read();
        assert_eq!(
            told.iter().map(|c| (c.client, c.spectator)).collect::<Vec<_>>(),
            [(ben, true)]
        );

        server.send(ben, RoleRequest { spectate: false });
        server.update();
        assert_eq!(
            replies_to(&mut server, ben),
            [RoleReply::Refused(RoleRefusal::TooSoon)]
        );
        server.run_for(ROLE_CHANGE_EVERY);
        server.sent::<RoomUpdate>();
        server.send(ben, RoleRequest { spectate: false });
        server.update();
        assert_eq!(role_updates(&mut server).len(), 1, "back to playing");
    }

    #[test]
    fn during_a_turn_a_change_waits_for_its_end() {
        let mut server = TestServer::with(());
        server.join(1, "Ann", Some("den"));
        let ben = server.join(2, "Ben", Some("den"));
        let den = server.app.world().resource::<RoomIndex>().rooms[&name_key("den")];
        let turn = RoomActivity {
            turn: true,
            ..RoomActivity::default()
        };
        server.app.world_mut().entity_mut(den).insert(turn);
        server.send(ben, RoleRequest { spectate: true });
        server.update();
        assert_eq!(
            replies_to(&mut server, ben),
            [RoleReply::Waiting { spectate: true }]
        );
        server.run_for(Duration::from_secs(1));
        assert!(role_updates(&mut server).is_empty(), "not while the turn runs");

        server.app.world_mut().get_mut::<RoomActivity>(den).unwrap().turn = false;
        server.update();
        let changed = RoomUpdate::Role {
            id: ben,
            spectator: true,
        };
        assert_eq!(role_updates(&mut server), [changed]);
        let room = server.app.world().get::<Room>(den).unwrap();
        assert!(room.is_spectator(ben));
    }
}
