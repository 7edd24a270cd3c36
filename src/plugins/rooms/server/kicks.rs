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
                // The players vote: spectators neither vote nor count; an address counts once.
                let others: Vec<IpAddr> = room
                    .players()
                    .filter(|&id| id != target)
                    .filter_map(|id| index.player(id).and_then(|e| players.get(e).ok()))
                    .map(|p| address_key(p.addr.ip()))
                    .collect();
                moderation
                    .vote(
                        *client,
                        address_key(asker.addr.ip()),
                        target,
                        &others,
                        time.elapsed(),
                    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::rooms::KickReason;
    use crate::plugins::test_app::TestServer;

    fn kick(target: ClientId) -> ModerationRequest {
        ModerationRequest::Kick {
            target,
            reason: KickReason::Spamming,
        }
    }

    #[test]
    fn the_host_kicks_the_player_is_told_closed_and_kept_out_and_others_may_only_vote() {
        let mut server = TestServer::with(());
        let ann = server.join(1, "Ann", Some("den"));
        let ben = server.join(2, "Ben", Some("den"));
        let cat = server.join(3, "Cat", Some("den"));
        // Not the host: refused.
        server.send(ben, kick(cat));
        server.update();
        let refused = server.sent::<ModerationRefusal>();
        assert_eq!(
            refused.iter().map(|r| (r.to_one(), r.msg)).collect::<Vec<_>>(),
            [(Some(ben), ModerationRefusal::NotHost)]
        );

        server.sent::<RoomUpdate>();
        server.send(ann, kick(cat));
        server.update();
        let by = KickedBy::Host {
            name: "Ann".into(),
            reason: KickReason::Spamming,
        };
        let rejections = server.sent::<Rejection>();
        assert_eq!(rejections.len(), 1);
        assert_eq!(
            (rejections[0].to_one(), &rejections[0].msg),
            (Some(cat), &Rejection::Kicked(by.clone()))
        );
        let closed: Vec<DisconnectClient> = server.read();
        assert_eq!(
            closed
                .iter()
                .map(|d| (d.client, d.reason.clone()))
                .collect::<Vec<_>>(),
            [(cat, CloseReason::Kicked)]
        );
        let updates = server.sent::<RoomUpdate>();
        let kicked = RoomUpdate::Kicked {
            id: cat,
            name: "Cat".into(),
            by,
        };
        assert_eq!(
            updates.iter().map(|u| &u.msg).collect::<Vec<_>>(),
            [&kicked],
            "told once, no Left after it"
        );
        assert_eq!(updates[0].recipients().len(), 3, "Cat too, before the close");

        // The name is kept out of the room for a while.
        let again = server.connect(4);
        let answer = server.ask_to_join(again, JoinRequest::new("Cat", Some("den")));
        assert!(matches!(answer, Err(Rejection::Banned { .. })), "{answer:?}");
    }

    #[test]
    fn a_vote_passes_with_a_majority_of_the_other_players() {
        let mut server = TestServer::with(());
        // Each at an address of their own: an address votes once.
        let ann = server.join_from(1, [10, 0, 0, 1], "Ann", Some("den"));
        let ben = server.join_from(2, [10, 0, 0, 2], "Ben", Some("den"));
        let cat = server.join_from(3, [10, 0, 0, 3], "Cat", Some("den"));
        let dan = server.join_from(4, [10, 0, 0, 4], "Dan", Some("den"));
        server.sent::<RoomUpdate>();
        for voter in [ben, cat] {
            server.send(voter, ModerationRequest::VoteKick { target: dan });
            server.update();
        }
        let tallies: Vec<(u16, u16)> = server
            .sent::<RoomUpdate>()
            .into_iter()
            .filter_map(|u| match u.msg {
                RoomUpdate::KickVote { votes, needed, .. } => Some((votes, needed)),
                _ => None,
            })
            .collect();
        assert_eq!(tallies, [(1, 2), (2, 2)]);
        let closed: Vec<DisconnectClient> = server.read();
        assert_eq!(closed.iter().map(|d| d.client).collect::<Vec<_>>(), [dan]);
        let _ = ann;
    }
}
