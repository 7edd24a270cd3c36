//! What the server sends besides the live strokes: the whole picture to a joiner (now, or once
//! its address's budget allows) and a turn's recording to whoever asks for the album, both
//! under per-address budgets.

use super::*;

/// Full pictures (the whole stroke log, up to 100,000 points) sent to one address a minute, sustained
/// and in a burst: the costly answer to a join or a refused stroke must not become a way to pull
/// the picture again and again. A joiner past it gets the picture once its address has a token
/// again (new strokes reach it meanwhile, and the picture replaces its board when it comes).
pub const PICTURES_PER_MINUTE: f64 = 6.0;

/// Addresses are forgotten once their budget is whole again, when the table grows past this.
const PICTURE_SWEEP_AT: usize = 4096;

#[derive(Resource, Default)]
pub struct PictureBudget {
    by_address: HashMap<IpAddr, TokenBucket>,
    /// The album's recordings sent to each address (see [`REPLAY_POINTS_PER_MINUTE`]).
    replays: HashMap<IpAddr, TokenBucket>,
    /// The table's size that brings the next sweep (after it doubles, so sweeps stay cheap).
    sweep_at: usize,
    /// Joiners still owed the picture, oldest first.
    owed: Vec<(ClientId, IpAddr)>,
}

/// The album's recordings sent to one address, by what they weigh (a change and its points,
/// see `ReplayOp::points`): a whole room's album at once ([`crate::plugins::canvas::album::MAX_SHELF_POINTS`]),
/// then this much a minute (about 1 MB of recordings).
pub const REPLAY_POINTS_PER_MINUTE: f64 = 200_000.0;

impl PictureBudget {
    /// Takes a recording of `points` from `ip`'s budget at `now`, if it has that much.
    pub fn take_replay(&mut self, ip: IpAddr, now: Instant, points: usize) -> bool {
        if self.replays.len() >= PICTURE_SWEEP_AT {
            self.replays.retain(|_, bucket| !bucket.full_at(now));
        }
        let burst = crate::plugins::canvas::album::MAX_SHELF_POINTS as f64;
        self.replays
            .entry(address_key(ip))
            .or_insert_with(|| TokenBucket::starting_at(REPLAY_POINTS_PER_MINUTE / 60.0, burst, now))
            .take_many_at(now, points as f64)
    }

    /// Takes one picture from `ip`'s budget at `now`, if it has one.
    pub fn take(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.by_address.len() >= self.sweep_at.max(PICTURE_SWEEP_AT) {
            self.by_address.retain(|_, bucket| !bucket.full_at(now));
            self.sweep_at = self.by_address.len() * 2;
        }
        self.by_address
            .entry(address_key(ip))
            .or_insert_with(|| TokenBucket::starting_at(PICTURES_PER_MINUTE / 60.0, PICTURES_PER_MINUTE, now))
            .take_at(now)
    }
}

/// The clock pictures are budgeted on (manual in tests).
pub(super) fn instant(time: &Time<Real>) -> Instant {
    time.startup() + time.elapsed()
}

/// Sends the room's picture and pen to a player; the picture's chunks are encoded once per
/// change of the drawing and the bytes shared by everyone it goes to.
pub(super) fn send_picture(
    canvas: &mut RoomCanvas,
    registry: &WireRegistry,
    client: ClientId,
    out: &mut MessageWriter<ToClients<CanvasToClient>>,
) {
    let revision = canvas.drawing.revision();
    if canvas.picture.as_ref().is_none_or(|(made, _)| *made != revision) {
        let chunks = log_chunks(&canvas.drawing)
            .into_iter()
            .filter_map(|chunk| Some((registry.encode(&chunk)?, chunk)))
            .map(|(encoded, chunk)| (chunk, encoded))
            .collect();
        canvas.picture = Some((revision, chunks));
    }
    let to = Recipients::One(client);
    for (chunk, encoded) in canvas.picture.iter().flat_map(|(_, chunks)| chunks) {
        out.write(ToClients::encoded(to.clone(), chunk.clone(), encoded.clone()));
    }
    out.write(ToClients::new(to, CanvasToClient::Pen(canvas.pen.holder())));
}

pub(super) fn prepare_joiners(
    time: Res<Time<Real>>,
    mut budget: ResMut<PictureBudget>,
    mut joined: MessageReader<PlayerJoined>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    registry: Res<WireRegistry>,
    mut rooms: Query<&mut RoomCanvas>,
    mut out: MessageWriter<ToClients<CanvasToClient>>,
) {
    let now = instant(&time);
    for PlayerJoined { client, room, .. } in joined.read() {
        let Ok(mut canvas) = rooms.get_mut(*room) else {
            continue;
        };
        let ip = index
            .player(*client)
            .and_then(|e| players.get(e).ok())
            .map(|p| p.addr.ip());
        match ip {
            Some(ip) if !canvas.drawing.strokes().is_empty() => {
                if budget.take(ip, now) {
                    send_picture(&mut canvas, &registry, *client, &mut out);
                    continue;
                }
                budget.owed.push((*client, ip));
            }
            _ => {}
        }
        // Who holds the pen, at once, picture or not.
        if let Some(holder) = canvas.pen.holder() {
            out.write(ToClients::new(
                Recipients::One(*client),
                CanvasToClient::Pen(Some(holder)),
            ));
        }
    }
}

/// Sends the pictures owed to joiners whose address has a token again; asks the loop to wake
/// for the next while any is owed.
pub(super) fn send_owed_pictures(
    time: Res<Time<Real>>,
    mut budget: ResMut<PictureBudget>,
    mut wake: ResMut<ServerWake>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    registry: Res<WireRegistry>,
    mut rooms: Query<&mut RoomCanvas>,
    mut out: MessageWriter<ToClients<CanvasToClient>>,
) {
    if budget.owed.is_empty() {
        return;
    }
    let now = instant(&time);
    let owed = std::mem::take(&mut budget.owed);
    for (client, ip) in owed {
        let Some(mut canvas) = index
            .player(client)
            .and_then(|e| players.get(e).ok())
            .and_then(|p| rooms.get_mut(p.room).ok())
        else {
            continue; // Gone.
        };
        if canvas.drawing.strokes().is_empty() {
            continue; // Cleared since: the clear reached it.
        }
        if budget.take(ip, now) {
            send_picture(&mut canvas, &registry, client, &mut out);
        } else {
            budget.owed.push((client, ip));
        }
    }
    if !budget.owed.is_empty() {
        wake.at(time.elapsed() + Duration::from_secs_f64(60.0 / PICTURES_PER_MINUTE));
    }
}

/// Sends a kept drawing to one player who asked, within their address's picture budget.
pub(super) fn send_replay(
    canvas: &RoomCanvas,
    key: u32,
    client: ClientId,
    allowed: bool,
    out: &mut MessageWriter<ToClients<CanvasToClient>>,
) -> Result<(), CanvasError> {
    let timeline = canvas.shelf.get(key).ok_or(CanvasError::NoSuchDrawing)?;
    if !allowed {
        return Err(CanvasError::ReplayLater);
    }
    for chunk in replay_chunks(key, &timeline.ops, timeline.cut_short) {
        out.write(ToClients::one(client, chunk));
    }
    Ok(())
}
