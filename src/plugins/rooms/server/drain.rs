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
