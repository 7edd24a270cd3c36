//! Closing the rooms when the server stops: each room told once, closed when nothing holds it.

use super::*;

/// Another plugin's claim that a room has something to finish before a drain closes it (the
/// quiz's turn in progress). While the server drains ([`Draining`]), each room is closed once
/// nothing holds it; the network layer closes what is left when the drain's time is up.
#[derive(Component, Debug, Default)]
pub struct DrainHold;

/// During a drain: tells each room once that the server is stopping (and whether a turn will
/// end first), closes the rooms nothing holds open and the connections that joined no room.
pub(super) fn close_for_the_drain(
    time: Res<Time<Real>>,
    draining: Res<Draining>,
    mut arrivals: ResMut<Arrivals>,
    rooms: Query<(Entity, &Room, Has<DrainHold>)>,
    mut told: Local<HashSet<Entity>>,
    mut updates: MessageWriter<ToClients<RoomUpdate>>,
    mut out: MessageWriter<DisconnectClient>,
) {
    let restart = draining.reason == CloseReason::ServerRestarting;
    let secs_left = draining.time_left(time.elapsed()).as_secs_f32().ceil() as u16;
    for (entity, room, held) in &rooms {
        let members: Vec<ClientId> = room.members().collect();
        if members.is_empty() {
            continue;
        }
        if told.insert(entity) {
            let notice = RoomUpdate::ServerClosing {
                restart,
                last_turn_secs: held.then_some(secs_left),
            };
            updates.write(ToClients::many(members.clone(), notice));
        }
        if !held {
            // Idempotent: a connection already closing is not closed again.
            out.write_batch(members.into_iter().map(|client| DisconnectClient {
                client,
                reason: draining.reason.clone(),
            }));
        }
    }
    out.write_batch(arrivals.0.drain().map(|(client, _)| DisconnectClient {
        client,
        reason: draining.reason.clone(),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::test_app::TestServer;

    #[test]
    fn a_drain_tells_each_room_once_closes_those_nothing_holds_and_waiting_connections() {
        let mut server = TestServer::with(());
        let ann = server.join(1, "Ann", Some("den"));
        let ben = server.join(2, "Ben", Some("attic"));
        let waiting = server.connect(3);
        server.update();
        let attic = server.app.world().resource::<RoomIndex>().rooms[&name_key("attic")];
        server.app.world_mut().entity_mut(attic).insert(DrainHold);
        server.sent::<RoomUpdate>();
        server.app.insert_resource(Draining {
            until: Duration::from_secs(3600),
            reason: CloseReason::ServerRestarting,
        });
        let mut told = Vec::new();
        let mut closed: Vec<DisconnectClient> = Vec::new();
        for _ in 0..5 {
            server.update();
            told.extend(
                server
                    .sent::<RoomUpdate>()
                    .into_iter()
                    .map(|u| (u.recipients(), u.msg)),
            );
            closed.extend(server.read::<DisconnectClient>());
        }
        assert_eq!(told.len(), 2, "each room once: {told:?}");
        assert!(told.contains(&(
            vec![ann],
            RoomUpdate::ServerClosing {
                restart: true,
                last_turn_secs: None
            }
        )));
        assert!(told.iter().any(|(to, u)| *to == vec![ben]
            && matches!(u, RoomUpdate::ServerClosing { restart: true, last_turn_secs: Some(s) } if *s > 3000)));
        let mut closed: Vec<ClientId> = closed.into_iter().map(|d| d.client).collect();
        closed.sort();
        closed.dedup();
        assert_eq!(closed, [ann, waiting], "Ben's room finishes its turn first");

        server.app.world_mut().entity_mut(attic).remove::<DrainHold>();
        server.update();
        let closed: Vec<DisconnectClient> = server.read();
        assert!(
            closed
                .iter()
                .any(|d| d.client == ben && d.reason == CloseReason::ServerRestarting)
        );
    }
}
