//! Kicks and votes to kick: who may, the room told, the player removed and kept out a while.

use super::*;

/// A player is to be removed from their room (the host's kick, or a vote that passed).
#[derive(Message, Debug, Clone)]
pub(super) struct KickPlayer {
    pub(super) client: ClientId,
    pub(super) by: KickedBy,
}

/// The host's kicks and the members' votes: checked, tallied and told; a kick that stands is
/// carried out by [`carry_out_kicks`].
pub(super) fn moderate(
    time: Res<Time<Real>>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    mut rooms: Query<(&Room, &mut Moderation)>,
    mut requests: MessageReader<FromClient<ModerationRequest>>,
    mut refusals: MessageWriter<ToClients<ModerationRefusal>>,
    mut updates: MessageWriter<ToClients<RoomUpdate>>,
    mut kicks: MessageWriter<KickPlayer>,
) {
    for FromClient { client, msg } in requests.read() {
        let Some(asker) = index.player(*client).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let Ok((room, mut moderation)) = rooms.get_mut(asker.room) else {
            continue;
        };
        let target = match msg {
            ModerationRequest::Kick { target, .. } | ModerationRequest::VoteKick { target } => *target,
        };
        let target_player = index.player(target).and_then(|e| players.get(e).ok());
        let outcome = match (msg, target_player) {
            (_, None) => Err(ModerationRefusal::NoSuchPlayer),
            (_, Some(t)) if t.room != asker.room => Err(ModerationRefusal::NoSuchPlayer),
            (ModerationRequest::Kick { reason, .. }, Some(t)) => {
                may_kick(room.host(), *client, target, t.operator).map(|()| {
                    Some(KickedBy::Host {
                        name: asker.name.clone(),
                        reason: *reason,
                    })
                })
            }
            (ModerationRequest::VoteKick { .. }, Some(t)) if t.operator => Err(ModerationRefusal::Operator),
            (ModerationRequest::VoteKick { .. }, Some(_)) if room.is_spectator(*client) => {
                Err(ModerationRefusal::Spectator)
            }
            (ModerationRequest::VoteKick { .. }, Some(_)) => {
                // The players vote: spectators neither vote nor count.
                let others = room.players().filter(|&id| id != target).count();
                moderation
                    .vote(*client, target, others, time.elapsed())
                    .map(|tally| {
                        let present: Vec<ClientId> = room.present().collect();
                        let vote = RoomUpdate::KickVote {
                            target,
                            voter: *client,
                            votes: tally.votes,
                            needed: tally.needed,
                        };
                        updates.write(ToClients::many(present, vote));
                        tally.passed().then_some(KickedBy::Vote {
                            votes: tally.votes,
                            of: tally.needed,
                        })
                    })
            }
        };
        match outcome {
            Ok(Some(by)) => {
                metrics::counter!("catchmind_kicks_total").increment(1);
                kicks.write(KickPlayer { client: target, by });
            }
            Ok(None) => {}
            Err(why) => {
                metrics::counter!("catchmind_requests_refused_total", "kind" => "moderation").increment(1);
                refusals.write(ToClients::one(*client, why));
            }
        }
    }
}

/// Removes kicked players: told why, closed, announced to the room, their name and address
/// kept out for a while.
pub(super) fn carry_out_kicks(
    time: Res<Time<Real>>,
    mut kicks: MessageReader<KickPlayer>,
    mut departures: Departures,
    mut rejections: MessageWriter<ToClients<Rejection>>,
    mut disconnects: MessageWriter<DisconnectClient>,
) {
    for KickPlayer { client, by } in kicks.read() {
        let Some(player) = departures
            .index
            .player(*client)
            .and_then(|e| departures.players.get(e).ok())
        else {
            continue;
        };
        let (room_entity, key, addr) = (player.room, name_key(&player.name), address_key(player.addr.ip()));
        let name = player.name.clone();
        info!("{name} kicked {by}");
        if let Ok(mut moderation) = departures.moderation.get_mut(room_entity) {
            moderation.ban(&key, addr, time.elapsed());
        }
        if let Ok(room) = departures.rooms.get(room_entity) {
            let everyone: Vec<ClientId> = room.present().collect();
            let update = RoomUpdate::Kicked {
                id: *client,
                name,
                by: by.clone(),
            };
            departures.updates.write(ToClients::many(everyone, update));
        }
        rejections.write(ToClients::one(*client, Rejection::Kicked(by.clone())));
        let reason = CloseReason::Kicked;
        disconnects.write(DisconnectClient {
            client: *client,
            reason: reason.clone(),
        });
        departures.remove(*client, &LeaveReason::from(&reason), true);
    }
}
