//! Admission: connections waiting to join, each join decided by [`plan_join`] and applied here
//! (a room made together with its first member), seats given back to their tokens, and
//! connections that never ask to join closed.

use super::*;

/// A short name for a join's refusal, for `/metrics`.
pub(super) fn rejection_label(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::InvalidName(_) => "invalid_name",
        Rejection::NameTaken(_) | Rejection::NameHeld { .. } => "name_taken",
        Rejection::InvalidRoomName(_) => "invalid_room_name",
        Rejection::RoomFull { .. } | Rejection::SpectatorsFull { .. } => "room_full",
        Rejection::TooManyRooms { .. } => "too_many_rooms",
        Rejection::TooManyRoomsFromAddress { .. } => "too_many_rooms_from_address",
        Rejection::UnknownSession
        | Rejection::SeatExpired { .. }
        | Rejection::SessionUsed
        | Rejection::SeatInUse
        | Rejection::SeatElsewhere { .. } => "seat",
        Rejection::Kicked(_) | Rejection::Banned { .. } | Rejection::AddressWaiting { .. } => "banned",
        Rejection::TooManyJoins => "too_many_joins",
    }
}

pub(super) fn note_arrivals(
    time: Res<Time<Real>>,
    mut arrivals: ResMut<Arrivals>,
    mut connected: MessageReader<ClientConnected>,
) {
    for ClientConnected { client, addr } in connected.read() {
        let now = time.elapsed();
        arrivals.0.insert(
            *client,
            Arrival {
                addr: *addr,
                connected: now,
                waiting_since: now,
            },
        );
    }
}

pub(super) fn admit_joiners(
    mut commands: Commands,
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    operator: Option<Res<OperatorToken>>,
    mut arrivals: ResMut<Arrivals>,
    mut requests: MessageReader<FromClient<JoinRequest>>,
    mut seats: Seats,
    mut out: AdmissionOutput,
) {
    // Rooms made this frame, until they are spawned at its end.
    let mut made: HashMap<Entity, Room> = HashMap::new();
    for FromClient { client, msg } in requests.read() {
        let Some(Arrival { addr, .. }) = arrivals.0.remove(client) else {
            // Joined already (or never shook hands): a second join breaks the protocol.
            out.disconnect(*client, CloseReason::ProtocolViolation(Violation::Unexpected));
            continue;
        };
        if let Some(token) = msg.resume {
            let room = msg.room.as_deref().unwrap_or(&config.default_room);
            if let Err(rejection) =
                seats.resume(&config, time.elapsed(), (*client, addr), token, room, &mut out)
            {
                info!("refused {client} from {addr}: {rejection}");
                out.refuse(*client, rejection);
            }
            continue;
        }
        let mut facts = Facts {
            index: &mut seats.index,
            rooms: &seats.rooms,
            moderation: &seats.moderation,
            made: &made,
            config: &config,
            addr,
            now: (time.elapsed(), time.startup() + time.elapsed()),
            ahead: None,
        };
        // Held seats that give way to this join were given up before (`yield_held_seats`).
        let plan = match plan_join(
            &config,
            (&msg.name, msg.room.as_deref(), msg.spectate),
            &mut facts,
            time.elapsed(),
            false,
        ) {
            Ok(plan) => plan,
            Err(rejection) => {
                info!("refused {client} from {addr}: {rejection}");
                out.refuse(*client, rejection);
                continue;
            }
        };
        let operator = operator.as_ref().is_some_and(|t| msg.host_token == Some(t.0));
        let joiner = Joiner {
            client: *client,
            addr,
            operator,
            spectate: msg.spectate,
        };
        seats.seat_newcomer(&mut commands, &mut made, joiner, plan, &config, &mut out);
    }
    // The rooms made this frame, with their members (other plugins' components come with them: required by `Room`).
    for (entity, room) in made {
        commands.entity(entity).insert((
            Name::new(format!("room {}", room.name)),
            room,
            Moderation::default(),
            RoomActivity::default(),
        ));
    }
}

/// A newcomer the rules let in.
pub(super) struct Joiner {
    pub(super) client: ClientId,
    pub(super) addr: SocketAddr,
    pub(super) operator: bool,
    pub(super) spectate: bool,
}

impl Seats<'_, '_> {
    /// Carries out a join [`plan_join`] accepted: the room is made with its first member (in
    /// `made` until the frame ends) or found, and the player spawned, admitted and welcomed.
    pub(super) fn seat_newcomer(
        &mut self,
        commands: &mut Commands,
        made: &mut HashMap<Entity, Room>,
        joiner: Joiner,
        plan: JoinPlan,
        config: &RoomConfig,
        out: &mut AdmissionOutput,
    ) {
        let Joiner {
            client,
            addr,
            operator,
            spectate,
        } = joiner;
        let index = &mut self.index;
        if plan.create {
            // The room is made with its first member, or not at all.
            let is_default = plan.room_key == name_key(&config.default_room);
            let entity = commands.spawn_empty().id();
            if !is_default {
                index.makers.insert(plan.room_key.clone(), address_key(addr.ip()));
            }
            index.rooms.insert(plan.room_key.clone(), entity);
            made.insert(entity, new_room(config, &plan.room_name, is_default));
        }
        let room_entity = index.rooms[&plan.room_key];
        let mut existing = self.rooms.get_mut(room_entity).ok();
        let Some(room) = made.get_mut(&room_entity).or(existing.as_deref_mut()) else {
            return;
        };
        let session = index.new_session(client);
        out.admit(room, client, &plan.name, addr, (operator, spectate));
        out.welcome(room, client, operator, session, false, config);
        let watching = if spectate { " as a spectator" } else { "" };
        info!("{} ({addr}) joined room {}{watching}", plan.name, plan.room_name);
        let player = Player {
            id: client,
            name: plan.name.clone(),
            addr,
            room: room_entity,
            operator,
            session,
        };
        let entity = commands
            .spawn((Name::new(format!("player {}", plan.name)), player))
            .id();
        index.players.insert(client, entity);
        out.joined.write(PlayerJoined {
            client,
            name: plan.name,
            room: room_entity,
            resumed: false,
        });
    }
}

/// The server's side of [`plan_join`]: its rooms (those made this frame first), kick bans and
/// join rates, for one joiner.
pub(super) struct Facts<'a, 'w, 's> {
    pub(super) index: &'a mut RoomIndex,
    pub(super) rooms: &'a Query<'w, 's, &'static mut Room>,
    pub(super) moderation: &'a Query<'w, 's, &'static mut Moderation>,
    pub(super) made: &'a HashMap<Entity, Room>,
    pub(super) config: &'a RoomConfig,
    pub(super) addr: SocketAddr,
    /// Now, on the game's clock and as an instant.
    pub(super) now: (Duration, bevy::platform::time::Instant),
    /// Looking ahead at a batch (a join's rate is read, not spent): the joins ahead of this
    /// one (by room key and role, and from this address), and the seats whose players come
    /// back in it.
    pub(super) ahead: Option<&'a Ahead>,
}

/// A batch of joins looked at before any is seated (see `yield_held_seats`).
#[derive(Default)]
pub(super) struct Ahead {
    pub(super) rooms: HashMap<(String, bool), usize>,
    pub(super) addresses: HashMap<IpAddr, usize>,
    pub(super) coming_back: HashSet<ClientId>,
}

impl JoinFacts for Facts<'_, '_, '_> {
    fn room(&self, key: &str) -> Option<&Room> {
        let entity = *self.index.rooms.get(key)?;
        self.made.get(&entity).or_else(|| self.rooms.get(entity).ok())
    }

    fn counted_rooms(&self) -> usize {
        self.index.counted_rooms(self.config)
    }

    fn made_by_address(&self) -> usize {
        self.index.made_by(self.addr.ip())
    }

    fn kicked(&self, room_key: &str, name_key: &str) -> Result<(), Rejection> {
        let room = self.index.rooms.get(room_key);
        match room.and_then(|&room| self.moderation.get(room).ok()) {
            Some(kicks) => kicks.admission(name_key, address_key(self.addr.ip()), self.now.0),
            None => Ok(()),
        }
    }

    fn may_join_again(&mut self, room_key: &str, name_key: &str) -> bool {
        match self.ahead {
            Some(_) => self.index.could_join_again(room_key, name_key, self.now.1),
            None => self.index.may_join_again(room_key, name_key, self.now.1),
        }
    }

    fn address_seats(&self) -> (usize, Option<ClientId>) {
        let at = address_key(self.addr.ip());
        let mut seats = self
            .ahead
            .and_then(|a| a.addresses.get(&at))
            .copied()
            .unwrap_or(0);
        let mut oldest: Option<(Duration, ClientId)> = None;
        for &entity in self.index.rooms.values() {
            let room = self.made.get(&entity).or_else(|| self.rooms.get(entity).ok());
            let Some((n, held)) = room.map(|r| r.seats_at(at)) else {
                continue;
            };
            seats += n;
            for held in held.into_iter().filter(|&(_, id)| !self.keeps_seat(id)) {
                if oldest.is_none_or(|o| held < o) {
                    oldest = Some(held);
                }
            }
        }
        (seats, oldest.map(|(_, id)| id))
    }

    fn joins_ahead(&self, room_key: &str, spectator: bool) -> usize {
        let key = (room_key.to_owned(), spectator);
        self.ahead.and_then(|a| a.rooms.get(&key)).copied().unwrap_or(0)
    }

    fn keeps_seat(&self, id: ClientId) -> bool {
        self.ahead.is_some_and(|a| a.coming_back.contains(&id))
    }
}

/// Rooms and players, for admitting players and giving seats back.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct Seats<'w, 's> {
    pub(super) index: ResMut<'w, RoomIndex>,
    pub(super) rooms: Query<'w, 's, &'static mut Room>,
    pub(super) players: Query<'w, 's, &'static mut Player>,
    pub(super) moderation: Query<'w, 's, &'static mut Moderation>,
}

impl Seats<'_, '_> {
    /// Gives the seat `token` holds in `room` back to the connection `client` (at `addr`).
    pub(super) fn resume(
        &mut self,
        config: &RoomConfig,
        now: Duration,
        (client, addr): (ClientId, SocketAddr),
        token: SessionToken,
        room: &str,
        out: &mut AdmissionOutput,
    ) -> Result<(), Rejection> {
        let id = self.index.seat_for(&token, config)?;
        let entity = *self.index.players.get(&id).ok_or(Rejection::UnknownSession)?;
        let mut player = self
            .players
            .get_mut(entity)
            .map_err(|_| Rejection::UnknownSession)?;
        let mut seat_room = self
            .rooms
            .get_mut(player.room)
            .map_err(|_| Rejection::UnknownSession)?;
        if name_key(room) != name_key(&seat_room.name) {
            return Err(Rejection::SeatElsewhere {
                room: seat_room.name.clone(),
            });
        }
        self.index.held.remove(&id);
        self.index.spend(player.session, Spent::Used, now);
        player.session = self.index.new_session(id);
        player.addr = addr;
        seat_room.give_seat_back(id, addr);
        out.rebind.write(RebindClient {
            connection: client,
            as_client: id,
        });
        out.welcome(&seat_room, id, player.operator, player.session, true, config);
        let others: Vec<ClientId> = seat_room.present().filter(|&other| other != id).collect();
        out.updates.write(ToClients::many(others, RoomUpdate::Back(id)));
        info!("{} ({addr}) came back to room {}", player.name, seat_room.name);
        out.joined.write(PlayerJoined {
            client: id,
            name: player.name.clone(),
            room: player.room,
            resumed: true,
        });
        Ok(())
    }
}

/// What admitting a player sends.
#[derive(bevy::ecs::system::SystemParam)]
pub(super) struct AdmissionOutput<'w> {
    pub(super) welcomes: MessageWriter<'w, ToClients<Welcome>>,
    pub(super) rejections: MessageWriter<'w, ToClients<Rejection>>,
    pub(super) updates: MessageWriter<'w, ToClients<RoomUpdate>>,
    pub(super) disconnects: MessageWriter<'w, DisconnectClient>,
    pub(super) rebind: MessageWriter<'w, RebindClient>,
    pub(super) joined: MessageWriter<'w, PlayerJoined>,
}

impl AdmissionOutput<'_> {
    pub(super) fn disconnect(&mut self, client: ClientId, reason: CloseReason) {
        self.disconnects.write(DisconnectClient { client, reason });
    }

    pub(super) fn refuse(&mut self, client: ClientId, rejection: Rejection) {
        metrics::counter!("catchmind_joins_refused_total", "reason" => rejection_label(&rejection))
            .increment(1);
        self.rejections.write(ToClients::one(client, rejection));
        self.disconnect(client, CloseReason::Refused(Refusal::ByTheGame));
    }

    pub(super) fn welcome(
        &mut self,
        room: &Room,
        client: ClientId,
        operator: bool,
        session: SessionToken,
        resumed: bool,
        config: &RoomConfig,
    ) {
        let welcome = Welcome {
            you: client,
            room: room.name.clone(),
            capacity: room.capacity,
            players: room.roster_for(operator),
            host: room.host(),
            session,
            resumed,
            seat_hold_secs: hold_secs(config),
        };
        self.welcomes.write(ToClients::one(client, welcome));
    }

    /// Adds the player (or spectator) to the room and tells the others.
    pub(super) fn admit(
        &mut self,
        room: &mut Room,
        client: ClientId,
        name: &str,
        addr: SocketAddr,
        (operator, spectator): (bool, bool),
    ) {
        let previous_host = room.host();
        room.add_member(client, name, addr, operator, spectator);
        let newcomer = room.roster_for(true).pop().expect("just added");
        let (ops, rest) = room.audiences(Some(client));
        if !ops.is_empty() {
            self.updates
                .write(ToClients::many(ops, RoomUpdate::Joined(newcomer.clone())));
        }
        if !rest.is_empty() {
            let public = PlayerInfo {
                addr: None,
                ..newcomer
            };
            self.updates
                .write(ToClients::many(rest, RoomUpdate::Joined(public)));
        }
        if previous_host.is_some() && room.host() != previous_host {
            let others = room.members().filter(|&id| id != client).collect();
            self.updates
                .write(ToClients::many(others, RoomUpdate::HostChanged(client)));
        }
    }
}

/// A connection that shook hands but sends no join within the handshake time (counted from its
/// last request for the room list, if it browses) is dropped; the server's loop is asked back
/// for the next such deadline.
pub(super) fn drop_silent_arrivals(
    time: Res<Time<Real>>,
    config: Res<RoomConfig>,
    mut arrivals: ResMut<Arrivals>,
    mut wake: ResMut<ServerWake>,
    mut disconnects: MessageWriter<DisconnectClient>,
) {
    let now = time.elapsed();
    arrivals.0.retain(
        |&client,
         &mut Arrival {
             waiting_since: since, ..
         }| {
            let waiting = now.saturating_sub(since) < config.join_timeout;
            if waiting {
                wake.at(since + config.join_timeout);
            } else {
                disconnects.write(DisconnectClient {
                    client,
                    reason: CloseReason::TimedOut,
                });
            }
            waiting
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::test_app::{STEP, TestServer};

    fn rooms(server: &mut TestServer) -> Vec<String> {
        let mut query = server.app.world_mut().query::<&Room>();
        let mut names: Vec<String> = query.iter(server.app.world()).map(|r| r.name.clone()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_join_the_rules_refuse_makes_no_room() {
        let mut server = TestServer::with(());
        server.app.insert_resource(RoomConfig {
            spectators: 0,
            ..RoomConfig::default()
        });
        let ann = server.connect(1);
        let watch = JoinRequest {
            spectate: true,
            ..JoinRequest::new("Ann", Some("attic"))
        };
        let answer = server.ask_to_join(ann, watch);
        assert!(
            matches!(answer, Err(Rejection::SpectatorsFull { .. })),
            "{answer:?}"
        );
        assert_eq!(rooms(&mut server), Vec::<String>::new(), "no room left behind");
        // The same join to play makes the room, with Ann in it.
        let ben = server.connect(2);
        server
            .ask_to_join(ben, JoinRequest::new("Ben", Some("attic")))
            .unwrap();
        assert_eq!(rooms(&mut server), ["attic"]);
    }

    #[test]
    fn a_second_join_on_one_connection_breaks_the_protocol() {
        let mut server = TestServer::with(());
        let ann = server.join(1, "Ann", None);
        server.send(ann, JoinRequest::new("Ann2", Some("den")));
        server.update();
        let closed: Vec<DisconnectClient> = server.read();
        assert!(
            closed.iter().any(|d| d.client == ann
                && d.reason == CloseReason::ProtocolViolation(Violation::Unexpected)),
            "{closed:?}"
        );
        assert_eq!(rooms(&mut server), ["lobby"], "no room for the second join");
    }

    #[test]
    fn a_connection_that_never_asks_to_join_is_closed_after_the_join_time_out() {
        let mut server = TestServer::with(());
        let silent = server.connect(1);
        let timeout = RoomConfig::default().join_timeout;
        let mut closed_at = None;
        for step in 1..=(timeout.as_millis() / STEP.as_millis() + 5) {
            server.update();
            let closed: Vec<DisconnectClient> = server.read();
            if let Some(closed) = closed.first() {
                assert_eq!((closed.client, &closed.reason), (silent, &CloseReason::TimedOut));
                closed_at.get_or_insert(STEP * step as u32);
            }
        }
        let closed_at = closed_at.expect("closed");
        assert!(
            closed_at >= timeout && closed_at <= timeout + STEP * 2,
            "{closed_at:?}"
        );
    }

    #[test]
    fn a_held_seat_goes_back_to_its_token_on_a_new_connection_and_only_there() {
        let mut server = TestServer::with(());
        let ann = server.connect(1);
        let welcome = server
            .ask_to_join(ann, JoinRequest::new("Ann", Some("den")))
            .unwrap();
        server.disconnect(ann, LeaveReason::ConnectionLost);
        server.update();
        // A wrong token, then the right one in another room, are refused.
        let stranger = server.connect(2);
        let forged = JoinRequest {
            resume: Some([7; 16]),
            ..JoinRequest::new("Ann", Some("den"))
        };
        assert_eq!(
            server.ask_to_join(stranger, forged),
            Err(Rejection::UnknownSession)
        );
        let elsewhere = server.connect(3);
        let wrong_room = JoinRequest {
            resume: Some(welcome.session),
            ..JoinRequest::new("Ann", Some("attic"))
        };
        let answer = server.ask_to_join(elsewhere, wrong_room);
        assert!(
            matches!(answer, Err(Rejection::SeatElsewhere { .. })),
            "{answer:?}"
        );
        // Back with the token: the same seat, and the connection now speaks as Ann.
        let back = server.connect(4);
        let resume = JoinRequest {
            resume: Some(welcome.session),
            ..JoinRequest::new("anything", Some("den"))
        };
        server.send(back, resume);
        server.update();
        let rebinds: Vec<RebindClient> = server.read();
        assert!(rebinds.iter().any(|r| r.connection == back && r.as_client == ann));
        // The welcome goes to the seat, which the connection speaks as from now on.
        let welcomes = server.sent::<Welcome>();
        let again = &welcomes
            .iter()
            .find(|w| w.to_one() == Some(ann))
            .expect("welcomed")
            .msg;
        assert!(again.resumed);
        assert_eq!(again.you, ann, "the same seat");
    }
}
