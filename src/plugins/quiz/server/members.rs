//! Who is in a room's game: joiners offered it and joining, members who start watching or
//! playing, players who leave, and those whose connection dropped (their seat held).

use super::*;

/// A joiner is told what the server and the room offer (the custom pack, the room's words),
/// and joins the game that runs: as a player, or, a spectator, only to watch it.
pub(super) fn offer_joiners(
    time: Res<Time<Real>>,
    config: Res<QuizConfig>,
    mut joined: MessageReader<PlayerJoined>,
    mut rooms: Query<(&Room, &mut RoomGame, &RoomWords)>,
    mut out: MessageWriter<ToClients<QuizToClient>>,
) {
    let custom_words = config.custom_words.as_ref().map_or(0, |w| w.len() as u32);
    for PlayerJoined {
        client,
        name,
        room,
        resumed,
    } in joined.read()
    {
        out.write(ToClients::one(*client, QuizToClient::Offer { custom_words }));
        let Ok((room_data, mut slot, room_words)) = rooms.get_mut(*room) else {
            continue;
        };
        if !room_words.words.is_empty() {
            let count = room_words.words.len() as u32;
            out.write(ToClients::one(*client, QuizToClient::RoomWords { count }));
        }
        let Some(session) = slot.0.as_mut() else {
            continue;
        };
        if *resumed {
            session.game.back(*client);
        }
        // A spectator watches: never in the game's order or scores.
        if !room_data.is_spectator(*client) {
            session.game.join(*client);
            session.names.insert(*client, name.clone());
        }
        if let Some(view) = view_for(&session.game, *client, time.elapsed()) {
            out.write(ToClients::one(*client, QuizToClient::State(view)));
        }
    }
}

/// A member who starts watching leaves the game (keeping the points they scored on the board);
/// one who starts playing joins it, as a joiner would. Both happen between turns.
pub(super) fn change_roles_in_games(
    time: Res<Time<Real>>,
    mut changed: MessageReader<RoleChanged>,
    mut rooms: Query<(&Room, &mut RoomGame)>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for RoleChanged {
        client,
        room,
        spectator,
    } in changed.read()
    {
        let Ok((room_data, mut slot)) = rooms.get_mut(*room) else {
            continue;
        };
        let Some(session) = slot.0.as_mut() else {
            continue;
        };
        let at = At {
            entity: *room,
            room: room_data,
            now,
        };
        if *spectator {
            let events = session.game.leave(*client, now, &mut session.rng);
            dispatch(events, &at, &mut slot, &mut out);
            continue;
        }
        session.game.join(*client);
        if let Some(name) = room_data.name_of(*client) {
            session.names.insert(*client, name.to_owned());
        }
        if let Some(view) = view_for(&session.game, *client, now) {
            out.one(*client, QuizToClient::State(view));
        }
    }
}

/// A player who left the room leaves its game; their name stays while their points do.
pub(super) fn leave_games(
    time: Res<Time<Real>>,
    mut left: MessageReader<PlayerLeft>,
    mut rooms: Query<(&Room, &mut RoomGame)>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for PlayerLeft { client, room, .. } in left.read() {
        let Ok((room_data, mut slot)) = rooms.get_mut(*room) else {
            continue;
        };
        let Some(session) = slot.0.as_mut() else {
            continue;
        };
        let events = session.game.leave(*client, now, &mut session.rng);
        if !session.game.scores.contains_key(client) {
            session.names.remove(client);
        }
        let at = At {
            entity: *room,
            room: room_data,
            now,
        };
        dispatch(events, &at, &mut slot, &mut out);
    }
}

/// A player whose connection dropped keeps their place; the game stops waiting for them.
pub(super) fn hold_for_the_away(
    time: Res<Time<Real>>,
    mut away: MessageReader<PlayerAway>,
    mut rooms: Query<(&Room, &mut RoomGame)>,
    mut out: QuizOut,
) {
    let now = time.elapsed();
    for PlayerAway { client, room } in away.read() {
        let Ok((room_data, mut slot)) = rooms.get_mut(*room) else {
            continue;
        };
        let Some(session) = slot.0.as_mut() else {
            continue;
        };
        let events = session.game.away(*client, now);
        let at = At {
            entity: *room,
            room: room_data,
            now,
        };
        dispatch(events, &at, &mut slot, &mut out);
    }
}
