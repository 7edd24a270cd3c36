//! Departures: players leaving their rooms (and rooms that empty), seats held for dropped
//! connections and released when their hold runs out.

use super::*;

/// Removing players from their rooms (and rooms that empty), and telling the others.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct Departures<'w, 's> {
    pub(super) commands: Commands<'w, 's>,
    pub(super) index: ResMut<'w, RoomIndex>,
    pub(super) rooms: Query<'w, 's, &'static mut Room>,
    pub(super) players: Query<'w, 's, &'static Player>,
    pub(super) updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    pub(super) left: MessageWriter<'w, PlayerLeft>,
    pub(super) moderation: Query<'w, 's, &'static mut Moderation>,
}

impl Departures<'_, '_> {
    /// Removes a player from their room; `announced`: the others were told why already.
    pub(super) fn remove(&mut self, client: ClientId, reason: &LeaveReason, announced: bool) {
        let Some(entity) = self.index.players.remove(&client) else {
            return;
        };
        let Ok(player) = self.players.get(entity) else {
            return;
        };
        self.index.held.remove(&client);
        self.index.sessions.remove(&player.session);
        self.commands.entity(entity).despawn();
        let Ok(mut room) = self.rooms.get_mut(player.room) else {
            return;
        };
        let new_host = room.remove(client);
        if let Ok(mut kicks) = self.moderation.get_mut(player.room) {
            kicks.forget(client);
        }
        let remaining: Vec<ClientId> = room.members().collect();
        info!("{} left room {}: {reason}", player.name, room.name);
        if !remaining.is_empty() && !announced {
            let update = RoomUpdate::Left {
                id: client,
                name: player.name.clone(),
                reason: reason.clone(),
            };
            self.updates.write(ToClients::many(remaining.clone(), update));
        }
        if let (Some(host), false) = (new_host, remaining.is_empty()) {
            self.updates
                .write(ToClients::many(remaining.clone(), RoomUpdate::HostChanged(host)));
        }
        if remaining.is_empty() && !room.is_default {
            let key = name_key(&room.name);
            self.index.rooms.remove(&key);
            self.index.makers.remove(&key);
            self.commands.entity(player.room).despawn();
        }
        self.left.write(PlayerLeft {
            client,
            name: player.name.clone(),
            room: player.room,
            reason: reason.clone(),
            remaining,
        });
    }

    /// Holds a dropped player's seat until `until`; returns whether they had one.
    pub(super) fn hold(&mut self, client: ClientId, reason: &LeaveReason, until: Duration) -> Option<Entity> {
        let player = self.players.get(*self.index.players.get(&client)?).ok()?;
        let mut room = self.rooms.get_mut(player.room).ok()?;
        room.hold_seat(client, until);
        self.index.held.insert(client, (until, reason.clone()));
        info!(
            "{} dropped from room {} ({reason}); seat held",
            player.name, room.name
        );
        let others: Vec<ClientId> = room.present().collect();
        if !others.is_empty() {
            self.updates
                .write(ToClients::many(others, RoomUpdate::Away(client)));
        }
        Some(player.room)
    }
}

pub(super) fn remove_leavers(
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    mut arrivals: ResMut<Arrivals>,
    mut disconnected: MessageReader<ClientDisconnected>,
    mut departures: Departures,
    mut away: MessageWriter<PlayerAway>,
) {
    for ClientDisconnected { client, reason } in disconnected.read() {
        arrivals.0.remove(client);
        if keeps_seat(reason) && !config.seat_hold.is_zero() {
            let until = time.elapsed() + config.seat_hold;
            if let Some(room) = departures.hold(*client, reason, until) {
                away.write(PlayerAway {
                    client: *client,
                    room,
                });
                continue;
            }
        }
        departures.remove(*client, reason, false);
    }
}

/// Seats held past [`RoomConfig::seat_hold`] are given up: the player leaves, for the reason
/// their connection dropped.
pub(super) fn release_seats(time: Res<Time<Real>>, mut wake: ResMut<ServerWake>, mut departures: Departures) {
    let now = time.elapsed();
    let due: Vec<(ClientId, LeaveReason)> = departures
        .index
        .held
        .iter()
        .filter(|(_, (until, _))| *until <= now)
        .map(|(&id, (_, reason))| (id, reason.clone()))
        .collect();
    if let Some(next) = departures
        .index
        .held
        .values()
        .map(|(until, _)| *until)
        .filter(|&u| u > now)
        .min()
    {
        wake.at(next);
    }
    for (client, reason) in due {
        departures.give_up(client, &reason, now);
    }
}

impl Departures<'_, '_> {
    /// Gives up a held seat: its token expires and the player leaves, for the reason their
    /// connection dropped.
    fn give_up(&mut self, client: ClientId, reason: &LeaveReason, now: Duration) {
        if let Some(player) = self
            .index
            .players
            .get(&client)
            .and_then(|&e| self.players.get(e).ok())
        {
            let session = player.session;
            self.index.spend(session, Spent::Expired, now);
        }
        self.remove(client, reason, false);
    }
}

/// Held seats give way to joins: a room full of them admits a newcomer in place of the seat
/// held longest, or else an address with its [`RoomConfig::seats_per_address`] (held ones
/// included) gives up its own seat held longest; one seat per join at most. Only for a join
/// the rules would then take (looked at without spending its rate), so a join refused for
/// anything else frees nothing. The update's joins are looked at in the order they will be
/// seated, each counting the places those ahead of it will take; a connection's second join
/// (a protocol violation) frees nothing, and neither does a seat whose player comes back in
/// the same update.
pub(super) fn yield_held_seats(
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    arrivals: Res<Arrivals>,
    mut requests: MessageReader<FromClient<JoinRequest>>,
    mut departures: Departures,
) {
    let now = time.elapsed();
    let requests: Vec<&FromClient<JoinRequest>> = requests.read().collect();
    if requests.is_empty() {
        return;
    }
    let mut ahead = super::admission::Ahead {
        coming_back: requests
            .iter()
            .filter_map(|r| r.msg.resume.as_ref())
            .filter_map(|token| departures.index.sessions.get(token).copied())
            .collect(),
        ..Default::default()
    };
    let made = HashMap::new();
    let mut seen = HashSet::new();
    for FromClient { client, msg } in requests {
        if !seen.insert(*client) || msg.resume.is_some() {
            continue;
        }
        let Some(arrival) = arrivals.0.get(client) else {
            continue;
        };
        let mut facts = super::admission::Facts {
            index: &mut departures.index,
            rooms: &departures.rooms,
            moderation: &departures.moderation,
            made: &made,
            config: &config,
            addr: arrival.addr,
            now: (now, time.startup() + now),
            ahead: Some(&ahead),
        };
        let join = (msg.name.as_str(), msg.room.as_deref(), msg.spectate);
        let Ok(plan) = plan_join(&config, join, &mut facts, now, true) else {
            continue;
        };
        *ahead.rooms.entry((plan.room_key, msg.spectate)).or_default() += 1;
        *ahead.addresses.entry(address_key(arrival.addr.ip())).or_default() += 1;
        let reason = plan
            .yields
            .and_then(|held| Some((held, departures.index.held.get(&held)?.1.clone())));
        if let Some((held, reason)) = reason {
            info!("a held seat gives way to a join from {}", arrival.addr);
            departures.give_up(held, &reason, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::test_app::TestServer;

    fn updates_to(server: &mut TestServer, client: ClientId) -> Vec<RoomUpdate> {
        let sent = server.sent::<RoomUpdate>();
        sent.into_iter()
            .filter(|u| u.recipients().contains(&client))
            .map(|u| u.msg)
            .collect()
    }

    /// Two rooms of two, each with a player and a held seat (b1 in r1, b2 in r2); b2's token.
    fn two_full_rooms_with_held_seats(server: &mut TestServer) -> (ClientId, ClientId, SessionToken) {
        server.app.insert_resource(RoomConfig {
            room_size: 2,
            ..RoomConfig::default()
        });
        server.join_from(1, [10, 0, 0, 1], "a1", Some("r1"));
        let b1 = server.join_from(2, [10, 0, 0, 2], "b1", Some("r1"));
        server.join_from(3, [10, 0, 0, 3], "a2", Some("r2"));
        let b2 = server.connect_from(4, [10, 0, 0, 4]);
        let token = server
            .ask_to_join(b2, JoinRequest::new("b2", Some("r2")))
            .expect("b2 joins")
            .session;
        server.disconnect(b1, LeaveReason::ConnectionLost);
        server.disconnect(b2, LeaveReason::ConnectionLost);
        server.update();
        server.read::<PlayerLeft>();
        (b1, b2, token)
    }

    #[test]
    fn one_connection_frees_one_held_seat_whatever_it_sends_in_one_update() {
        let mut server = TestServer::with(());
        let (b1, _, _) = two_full_rooms_with_held_seats(&mut server);
        // Joins to both full rooms on one connection, in one update: only the first counts
        // (the second breaks the protocol), so only one held seat gives way.
        let c = server.connect_from(5, [10, 0, 0, 5]);
        server.send(c, JoinRequest::new("c", Some("r1")));
        server.send(c, JoinRequest::new("c2", Some("r2")));
        server.update();
        let left: Vec<PlayerLeft> = server.read();
        assert_eq!(left.iter().map(|l| l.client).collect::<Vec<_>>(), [b1]);
    }

    #[test]
    fn a_seat_whose_player_comes_back_in_the_same_update_does_not_give_way() {
        let mut server = TestServer::with(());
        let (_, b2, token) = two_full_rooms_with_held_seats(&mut server);
        let newcomer = server.connect_from(5, [10, 0, 0, 5]);
        let back = server.connect_from(6, [10, 0, 0, 4]);
        server.send(newcomer, JoinRequest::new("n", Some("r2")));
        server.send(
            back,
            JoinRequest {
                resume: Some(token),
                ..JoinRequest::new("b2", Some("r2"))
            },
        );
        server.update();
        let left: Vec<PlayerLeft> = server.read();
        assert!(left.iter().all(|l| l.client != b2), "{left:?}");
        let welcomes = server.sent::<Welcome>();
        assert!(welcomes.iter().any(|w| w.msg.resumed), "b2 is back");
    }

    /// Two newcomers for one full room with two held seats, in one update: both get in.
    #[test]
    fn each_join_in_one_update_counts_the_places_taken_ahead_of_it() {
        let mut server = TestServer::with(());
        server.app.insert_resource(RoomConfig {
            room_size: 2,
            ..RoomConfig::default()
        });
        let b1 = server.join_from(1, [10, 0, 0, 1], "b1", Some("r"));
        let b2 = server.join_from(2, [10, 0, 0, 2], "b2", Some("r"));
        server.disconnect(b1, LeaveReason::ConnectionLost);
        server.disconnect(b2, LeaveReason::ConnectionLost);
        server.update();
        let (n1, n2) = (
            server.connect_from(3, [10, 0, 0, 3]),
            server.connect_from(4, [10, 0, 0, 4]),
        );
        server.send(n1, JoinRequest::new("n1", Some("r")));
        server.send(n2, JoinRequest::new("n2", Some("r")));
        server.update();
        let welcomed: Vec<ClientId> = server
            .sent::<Welcome>()
            .iter()
            .filter_map(|w| w.to_one())
            .collect();
        assert_eq!(welcomed, [n1, n2]);
    }

    #[test]
    fn a_dropped_player_is_away_while_the_seat_is_held_then_leaves() {
        let mut server = TestServer::with(());
        let hold = RoomConfig::default().seat_hold;
        let ann = server.join(1, "Ann", Some("den"));
        let ben = server.join(2, "Ben", Some("den"));
        server.sent::<RoomUpdate>();
        server.disconnect(ben, LeaveReason::ConnectionLost);
        server.update();
        assert_eq!(updates_to(&mut server, ann), [RoomUpdate::Away(ben)]);
        let away: Vec<PlayerAway> = server.read();
        assert_eq!(away.iter().map(|a| a.client).collect::<Vec<_>>(), [ben]);

        let left: Vec<PlayerLeft> = server.run_reading(hold - Duration::from_millis(100));
        assert!(left.is_empty(), "held for {hold:?}");
        let (mut left, mut told) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            server.update();
            left.extend(server.read::<PlayerLeft>());
            told.extend(updates_to(&mut server, ann));
        }
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].client, &left[0].reason),
            (ben, &LeaveReason::ConnectionLost)
        );
        assert!(
            told.contains(&RoomUpdate::Left {
                id: ben,
                name: "Ben".into(),
                reason: LeaveReason::ConnectionLost
            }),
            "{told:?}"
        );
    }

    #[test]
    fn a_player_who_leaves_is_not_held_and_the_last_one_out_closes_the_room() {
        let mut server = TestServer::with(());
        let ann = server.join(1, "Ann", Some("den"));
        let ben = server.join(2, "Ben", Some("den"));
        let den = server.app.world().resource::<RoomIndex>().rooms[&name_key("den")];
        server.sent::<RoomUpdate>();
        // The host leaves on purpose: no seat held, the host passes on.
        server.disconnect(ann, LeaveReason::Left);
        server.update();
        let told = updates_to(&mut server, ben);
        assert_eq!(
            told,
            [
                RoomUpdate::Left {
                    id: ann,
                    name: "Ann".into(),
                    reason: LeaveReason::Left
                },
                RoomUpdate::HostChanged(ben)
            ]
        );
        server.disconnect(ben, LeaveReason::Left);
        server.update();
        assert!(server.app.world().get_entity(den).is_err(), "the room is gone");
        assert!(
            !server
                .app
                .world()
                .resource::<RoomIndex>()
                .rooms
                .contains_key("den")
        );
        // The default room stays, empty.
        let carl = server.join(3, "Carl", None);
        server.disconnect(carl, LeaveReason::Left);
        server.update();
        let lobby = server.app.world().resource::<RoomIndex>().rooms[&name_key("lobby")];
        assert!(
            server
                .app
                .world()
                .get::<Room>(lobby)
                .is_some_and(|r| r.members().count() == 0)
        );
    }
}
