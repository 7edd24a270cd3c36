//! The canvas on the server: each room's [`RoomCanvas`], checking and relaying requests,
//! the log for joiners, and the pen locks other plugins ask for.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use bevy::platform::time::Instant;
use bevy::prelude::*;

use super::album::{Shelf, Timeline};
use super::fill::FillMask;
use super::model::{self, BoardPoint, CanvasError, Drawing, Pen, decode_deltas};
use super::wire::{CanvasToClient, CanvasToServer, ReplayOp, log_chunks, replay_chunks};
use crate::id::ClientId;
use crate::plugins::net::{
    Encoded, FromClient, Recipients, ServerWake, ToClients, WireRegistry, address_key,
};
use crate::plugins::rooms::{Player, PlayerJoined, PlayerLeft, RoleChanged, Room, RoomIndex};
use crate::plugins::{LogicSystems, Side};
use crate::rate::TokenBucket;

mod pictures;

use pictures::{PictureBudget, instant, prepare_joiners, send_owed_pictures, send_picture, send_replay};

pub(super) fn plugin(app: &mut App) {
    app.add_message::<LockPen>()
        // Every room has a canvas, from the moment it is made.
        .register_required_components::<Room, RoomCanvas>()
        .init_resource::<PictureBudget>()
        .add_systems(
            Update,
            (
                prepare_joiners.run_if(on_message::<PlayerJoined>),
                send_owed_pictures,
                release_leavers.run_if(on_message::<PlayerLeft>),
                release_spectators.run_if(on_message::<RoleChanged>),
                apply_requests.run_if(on_message::<FromClient<CanvasToServer>>),
            )
                .chain()
                .in_set(LogicSystems::Canvas)
                .in_set(Side::Server),
        )
        .add_message::<ArchiveDrawing>()
        .add_systems(
            Update,
            (
                archive_drawings.run_if(on_message::<ArchiveDrawing>),
                apply_pen_locks.run_if(on_message::<LockPen>),
            )
                .chain()
                .in_set(LogicSystems::Effects)
                .in_set(Side::Server),
        );
}

/// Asks the canvas to keep the room's drawing as it stands, with its timeline, under `key`
/// (a game's album: the quiz asks at the end of each turn).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct ArchiveDrawing {
    pub room: Entity,
    pub key: u32,
}

/// Asks the canvas to lock a room's pen (a game's turns) or free it again.
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct LockPen {
    pub room: Entity,
    pub lock: PenLock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PenLock {
    /// Only `drawer` may draw (nobody, for `None`); `clear` starts a fresh board.
    To { drawer: Option<ClientId>, clear: bool },
    /// Free drawing again, the last picture kept.
    Unlock,
}

/// A room's canvas (server side).
#[derive(Component, Debug, Default)]
pub struct RoomCanvas {
    pub drawing: Drawing,
    pub pen: Pen,
    /// When each player was last resent the picture after a refusal: at most once per
    /// [`RESYNC_INTERVAL`], so refused requests cannot make the server re-send the log in a loop.
    resynced: HashMap<ClientId, Duration>,
    /// The picture's log chunks, encoded, and the drawing's revision they were made at: shared
    /// by every joiner until the drawing changes.
    picture: Option<(u64, Vec<PictureChunk>)>,
    /// The board's changes since the turn began (a game's lock with a fresh board), with when.
    pub timeline: Timeline,
    /// The drawings a game asked to keep for its album.
    pub shelf: Shelf,
}

/// One chunk of a picture's log and its encoding.
type PictureChunk = (CanvasToClient, Encoded<CanvasToClient>);

impl RoomCanvas {
    /// A game hands the pen to `drawer` (or to nobody between turns) and locks it; `clear`
    /// starts a fresh board. Returns what everyone in the room must be told.
    pub fn lock_to(&mut self, drawer: Option<ClientId>, clear: bool, now: Duration) -> Vec<CanvasToClient> {
        let mut msgs = Vec::new();
        if let Some(author) = self.drawing.open_author() {
            self.drawing.finish(author);
            msgs.push(CanvasToClient::End { author });
        }
        if clear && !self.drawing.strokes().is_empty() {
            self.drawing.clear();
            msgs.push(CanvasToClient::Clear);
        }
        if clear {
            // A new turn: its own timeline.
            self.timeline = Timeline::default();
        } else if let Some(end) = msgs.first().and_then(ReplayOp::from_relayed) {
            self.timeline.record(now, end);
        }
        let changed = self.pen.holder() != drawer || !self.pen.locked();
        self.pen.lock_to(drawer, now);
        if changed {
            msgs.push(CanvasToClient::Pen(drawer));
        }
        msgs
    }

    /// The game is over: free drawing again, the last picture kept.
    pub fn unlock(&mut self) -> Vec<CanvasToClient> {
        let mut msgs = Vec::new();
        if let Some(author) = self.drawing.open_author() {
            self.drawing.finish(author);
            msgs.push(CanvasToClient::End { author });
        }
        let had = self.pen.holder().is_some();
        self.pen.unlock();
        if had {
            msgs.push(CanvasToClient::Pen(None));
        }
        msgs
    }
}

/// The shortest time between two full-picture resends to one player after refused strokes
/// (a picture grows with the drawing: refusals must not become a way to pull it again and again).
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(10);

fn release_leavers(
    mut left: MessageReader<PlayerLeft>,
    mut rooms: Query<&mut RoomCanvas>,
    mut out: MessageWriter<ToClients<CanvasToClient>>,
) {
    for PlayerLeft {
        client,
        room,
        remaining,
        ..
    } in left.read()
    {
        let Ok(mut canvas) = rooms.get_mut(*room) else {
            continue;
        };
        canvas.resynced.remove(client);
        let to = Recipients::Many(remaining.clone());
        if canvas.drawing.finish(*client) {
            out.write(ToClients::new(
                to.clone(),
                CanvasToClient::End { author: *client },
            ));
        }
        if canvas.pen.holder_left(*client) {
            out.write(ToClients::new(to, CanvasToClient::Pen(None)));
        }
    }
}

/// A member who starts watching lets go of the pen and of a stroke they were drawing.
fn release_spectators(
    mut changed: MessageReader<RoleChanged>,
    mut rooms: Query<(&Room, &mut RoomCanvas)>,
    mut out: MessageWriter<ToClients<CanvasToClient>>,
) {
    for RoleChanged {
        client,
        room,
        spectator,
    } in changed.read()
    {
        let Ok((room, mut canvas)) = rooms.get_mut(*room) else {
            continue;
        };
        if !*spectator {
            continue;
        }
        let everyone = || Recipients::Many(room.members().collect());
        if canvas.drawing.finish(*client) {
            out.write(ToClients::new(
                everyone(),
                CanvasToClient::End { author: *client },
            ));
        }
        if canvas.pen.holder_left(*client) {
            out.write(ToClients::new(everyone(), CanvasToClient::Pen(None)));
        }
    }
}

fn apply_requests(
    time: Res<Time<Real>>,
    mut budget: ResMut<PictureBudget>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
    registry: Res<WireRegistry>,
    mut rooms: Query<(&Room, &mut RoomCanvas)>,
    mut requests: MessageReader<FromClient<CanvasToServer>>,
    mut out: MessageWriter<ToClients<CanvasToClient>>,
) {
    let now = time.elapsed();
    for FromClient { client, msg } in requests.read() {
        let Some(player) = index.player(*client).and_then(|e| players.get(e).ok()) else {
            continue;
        };
        let Ok((room, mut canvas)) = rooms.get_mut(player.room) else {
            continue;
        };
        let everyone = || Recipients::Many(room.members().collect());
        let others = || {
            // Sized at once: a filter's collect grows its vector three times for a room of 12.
            let mut to = Vec::with_capacity(room.members().size_hint().0);
            to.extend(room.members().filter(|id| id != client));
            Recipients::Many(to)
        };
        if let CanvasToServer::Replay { key } = msg {
            // Drawings of the album have their own budget per address, by weight.
            let weight = canvas.shelf.get(*key).map(|t| t.points());
            let allowed = weight.is_some_and(|w| budget.take_replay(player.addr.ip(), instant(&time), w));
            if let Err(why) = send_replay(&canvas, *key, *client, allowed, &mut out) {
                out.write(ToClients::one(*client, CanvasToClient::Refused(why)));
            }
            continue;
        }
        // Spectators watch: they never hold the pen.
        let result = match room.is_spectator(*client) {
            true => Err(CanvasError::Spectating),
            false => apply_request(&mut canvas, *client, msg, now),
        };
        // A game's turns are recorded for its album (free drawing is not).
        if let Ok(Relay::ToOthers(msgs)) = &result
            && canvas.pen.locked()
        {
            for op in msgs.iter().filter_map(ReplayOp::from_relayed) {
                canvas.timeline.record(now, op);
            }
        }
        match result {
            Ok(Relay::None) => {}
            Ok(Relay::ToEveryone(msg)) => {
                out.write(ToClients::new(everyone(), msg));
            }
            Ok(Relay::ToOthers(msgs)) => {
                for msg in msgs {
                    out.write(ToClients::new(others(), msg));
                }
            }
            Err(why) => {
                metrics::counter!("catchmind_requests_refused_total", "kind" => "canvas").increment(1);
                let to = Recipients::One(*client);
                out.write(ToClients::new(to.clone(), CanvasToClient::Refused(why)));
                // A refused stroke was drawn locally already: the sender needs the true
                // picture. Nothing else can leave it out of step (its client undoes and clears
                // only what it holds), so nothing else brings the picture back.
                let drew_locally = drawn_locally(msg);
                let recent = !drew_locally
                    || canvas
                        .resynced
                        .get(client)
                        .is_some_and(|&t| now.saturating_sub(t) < RESYNC_INTERVAL);
                if recent {
                    continue;
                }
                canvas.resynced.insert(*client, now);
                if budget.take(player.addr.ip(), instant(&time)) {
                    send_picture(&mut canvas, &registry, *client, &mut out);
                }
            }
        }
    }
}

/// Whether a request's sender already shows it (it drew it before sending): refused, it leaves
/// the sender's board out of step, which the true picture puts right.
pub fn drawn_locally(request: &CanvasToServer) -> bool {
    matches!(
        request,
        CanvasToServer::Start { .. } | CanvasToServer::Points(_) | CanvasToServer::Fill { .. }
    )
}

/// What the server sends after applying a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Relay {
    None,
    ToEveryone(CanvasToClient),
    /// The sender already shows it (it drew locally).
    ToOthers(Vec<CanvasToClient>),
}

/// The server's canvas rules for one request.
pub fn apply_request(
    canvas: &mut RoomCanvas,
    who: ClientId,
    request: &CanvasToServer,
    now: Duration,
) -> Result<Relay, CanvasError> {
    let RoomCanvas { drawing, pen, .. } = canvas;
    match request {
        CanvasToServer::TakePen => take_pen(canvas, who, now),
        CanvasToServer::ReleasePen => release_pen(canvas, who),
        CanvasToServer::Start { brush, at } => {
            pen.may_draw(who)?;
            drawing.start(who, *brush, *at)?;
            pen.inked(now);
            Ok(Relay::ToOthers(vec![CanvasToClient::Start {
                author: who,
                brush: brush.clamped(),
                at: *at,
            }]))
        }
        CanvasToServer::Points(deltas) => {
            pen.may_draw(who)?;
            let tail = drawing.open_tail(who).ok_or(CanvasError::NoStroke)?;
            if deltas.len() > model::MAX_BATCH_POINTS {
                return Err(CanvasError::BatchTooLarge);
            }
            let points = decode_deltas(tail, deltas)?;
            drawing.extend(who, &points)?;
            pen.inked(now);
            Ok(Relay::ToOthers(vec![CanvasToClient::Points {
                author: who,
                deltas: deltas.clone(),
            }]))
        }
        CanvasToServer::End => {
            if !drawing.finish(who) {
                return Ok(Relay::None);
            }
            Ok(Relay::ToOthers(vec![CanvasToClient::End { author: who }]))
        }
        // Neither counts as activity, and one that changes nothing is refused, not relayed.
        CanvasToServer::Undo => {
            pen.may_draw(who)?;
            if !drawing.undo(who) {
                return Err(CanvasError::NothingToUndo);
            }
            Ok(Relay::ToOthers(vec![CanvasToClient::Undo { author: who }]))
        }
        CanvasToServer::Clear => {
            pen.may_draw(who)?;
            if drawing.strokes().is_empty() {
                return Err(CanvasError::AlreadyClear);
            }
            drawing.clear();
            Ok(Relay::ToOthers(vec![CanvasToClient::Clear]))
        }
        // Answered with the album's drawing by the system (it needs the address's budget).
        CanvasToServer::Replay { .. } => Ok(Relay::None),
        CanvasToServer::Fill { at, colour, mask } => fill(canvas, who, (*at, *colour, mask), now),
    }
}

fn take_pen(canvas: &mut RoomCanvas, who: ClientId, now: Duration) -> Result<Relay, CanvasError> {
    let RoomCanvas { drawing, pen, .. } = canvas;
    let previous = pen.holder();
    if previous == Some(who) {
        return Ok(Relay::None);
    }
    pen.take(who, now)?;
    // An idle holder's open stroke ends with the handover (clients do the same).
    if let Some(previous) = previous {
        drawing.finish(previous);
    }
    Ok(Relay::ToEveryone(CanvasToClient::Pen(Some(who))))
}

fn release_pen(canvas: &mut RoomCanvas, who: ClientId) -> Result<Relay, CanvasError> {
    if !canvas.pen.release(who)? {
        return Err(CanvasError::NotYourPen);
    }
    canvas.drawing.finish(who);
    Ok(Relay::ToEveryone(CanvasToClient::Pen(None)))
}

/// A fill at `at` in `colour` over `mask`; it ends the filler's open stroke first.
fn fill(
    canvas: &mut RoomCanvas,
    who: ClientId,
    (at, colour, mask): (BoardPoint, [u8; 3], &FillMask),
    now: Duration,
) -> Result<Relay, CanvasError> {
    let RoomCanvas { drawing, pen, .. } = canvas;
    pen.may_draw(who)?;
    let ended = drawing.open_author() == Some(who);
    drawing.fill(who, at, colour, mask.clone())?;
    pen.inked(now);
    let mask = drawing
        .strokes()
        .last()
        .and_then(|s| s.fill.clone())
        .expect("the fill was just added");
    let mut relay = Vec::new();
    if ended {
        relay.push(CanvasToClient::End { author: who });
    }
    relay.push(CanvasToClient::Fill {
        author: who,
        at,
        colour,
        mask,
    });
    Ok(Relay::ToOthers(relay))
}

fn archive_drawings(mut requests: MessageReader<ArchiveDrawing>, mut rooms: Query<&mut RoomCanvas>) {
    for ArchiveDrawing { room, key } in requests.read() {
        if let Ok(mut canvas) = rooms.get_mut(*room) {
            let timeline = canvas.timeline.clone();
            canvas.shelf.keep(*key, timeline);
        }
    }
}

fn apply_pen_locks(
    time: Res<Time<Real>>,
    mut requests: MessageReader<LockPen>,
    mut rooms: Query<(&Room, &mut RoomCanvas)>,
    mut out: MessageWriter<ToClients<CanvasToClient>>,
) {
    for LockPen { room, lock } in requests.read() {
        let Ok((room, mut canvas)) = rooms.get_mut(*room) else {
            continue;
        };
        let msgs = match *lock {
            PenLock::To { drawer, clear } => canvas.lock_to(drawer, clear, time.elapsed()),
            PenLock::Unlock => canvas.unlock(),
        };
        for msg in msgs {
            out.write(ToClients::many(room.members().collect(), msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::canvas::fill::{FillMask, MAX_FILLS};
    use crate::plugins::canvas::model::fixtures::{A, B, INK, p};

    /// A small square region at (x, y).
    fn square(x: u16, y: u16) -> FillMask {
        FillMask {
            top: y,
            rows: vec![vec![x, 10]; 10],
        }
    }

    #[test]
    fn an_address_gets_a_whole_album_at_once_then_a_few_recordings_a_minute() {
        use crate::plugins::canvas::album::MAX_SHELF_POINTS;
        let mut budget = PictureBudget::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let start = Instant::now();
        // A room's whole album at once, by weight.
        assert!(budget.take_replay(ip, start, MAX_SHELF_POINTS - 1_000));
        assert!(budget.take_replay(ip, start, 1_000));
        assert!(!budget.take_replay(ip, start, 1), "spent");
        assert!(
            budget.take_replay("10.0.0.2".parse().unwrap(), start, 50_000),
            "another address"
        );
        // Then REPLAY_POINTS_PER_MINUTE: a 150,000-point turn after 45 s, not before.
        assert!(!budget.take_replay(ip, start + Duration::from_secs(40), 150_000));
        assert!(budget.take_replay(ip, start + Duration::from_secs(46), 150_000));
    }

    #[test]
    fn fills_are_the_pen_holders_checked_capped_relayed_and_undone_like_strokes() {
        let mut canvas = RoomCanvas::default();
        let t = Duration::from_secs(1);
        let fill = |mask: FillMask| CanvasToServer::Fill {
            at: p(5, 5),
            colour: [1, 2, 3],
            mask,
        };
        assert_eq!(
            apply_request(&mut canvas, A, &fill(square(0, 0)), t),
            Err(CanvasError::NotYourPen)
        );
        apply_request(&mut canvas, A, &CanvasToServer::TakePen, t).unwrap();
        assert_eq!(
            apply_request(&mut canvas, B, &fill(square(0, 0)), t),
            Err(CanvasError::NotYourPen)
        );
        // A fill ends the holder's open stroke, and both are relayed.
        let start = CanvasToServer::Start {
            brush: INK,
            at: p(10, 10),
        };
        apply_request(&mut canvas, A, &start, t).unwrap();
        let Ok(Relay::ToOthers(relayed)) = apply_request(&mut canvas, A, &fill(square(0, 0)), t) else {
            panic!("relayed to the others")
        };
        assert_eq!(relayed[0], CanvasToClient::End { author: A });
        assert!(
            matches!(&relayed[1], CanvasToClient::Fill { author, colour: [1, 2, 3], mask, .. }
            if *author == A && **mask == square(0, 0))
        );
        assert_eq!(canvas.drawing.open_author(), None);
        // Bad masks are refused and change nothing.
        let strokes = canvas.drawing.strokes().len();
        for (mask, why) in [
            (FillMask::default(), CanvasError::BadFill),
            (square(1595, 0), CanvasError::OffBoard),
            (square(0, 895), CanvasError::OffBoard),
        ] {
            assert_eq!(apply_request(&mut canvas, A, &fill(mask), t), Err(why));
        }
        let off = CanvasToServer::Fill {
            at: p(-1, 5),
            colour: [0; 3],
            mask: square(0, 0),
        };
        assert_eq!(apply_request(&mut canvas, A, &off, t), Err(CanvasError::OffBoard));
        assert_eq!(canvas.drawing.strokes().len(), strokes);
        // At most MAX_FILLS in a drawing; an undo makes room.
        for i in 1..MAX_FILLS {
            apply_request(&mut canvas, A, &fill(square(i as u16 * 20, 0)), t).unwrap();
        }
        assert_eq!(
            apply_request(&mut canvas, A, &fill(square(0, 100)), t),
            Err(CanvasError::TooManyFills)
        );
        assert_eq!(
            apply_request(&mut canvas, A, &CanvasToServer::Undo, t),
            Ok(Relay::ToOthers(vec![CanvasToClient::Undo { author: A }]))
        );
        assert!(apply_request(&mut canvas, A, &fill(square(0, 100)), t).is_ok());
        // Fills travel in the late joiner's log and replay to the same drawing.
        let mut replayed = Drawing::default();
        for chunk in log_chunks(&canvas.drawing) {
            let CanvasToClient::Log {
                strokes,
                replace,
                open,
            } = chunk
            else {
                unreachable!()
            };
            replayed.apply_log(&strokes, replace, open);
        }
        assert_eq!(replayed, canvas.drawing);
        assert_eq!(
            replayed.strokes().iter().filter(|s| s.fill.is_some()).count(),
            MAX_FILLS
        );
    }

    #[test]
    fn only_the_pen_holder_draws_undoes_or_clears() {
        let mut canvas = RoomCanvas::default();
        let t = Duration::from_secs(1);
        assert_eq!(
            apply_request(&mut canvas, A, &CanvasToServer::TakePen, t),
            Ok(Relay::ToEveryone(CanvasToClient::Pen(Some(A))))
        );
        let start = CanvasToServer::Start {
            brush: INK,
            at: p(10, 10),
        };
        assert_eq!(
            apply_request(&mut canvas, B, &start, t),
            Err(CanvasError::NotYourPen)
        );
        assert_eq!(
            apply_request(&mut canvas, B, &CanvasToServer::Clear, t),
            Err(CanvasError::NotYourPen)
        );
        assert_eq!(
            apply_request(&mut canvas, B, &CanvasToServer::Undo, t),
            Err(CanvasError::NotYourPen)
        );
        assert_eq!(
            apply_request(&mut canvas, B, &CanvasToServer::TakePen, t),
            Err(CanvasError::PenBusy)
        );
        let relayed_start = Ok(Relay::ToOthers(vec![CanvasToClient::Start {
            author: A,
            brush: INK,
            at: p(10, 10),
        }]));
        assert_eq!(apply_request(&mut canvas, A, &start, t), relayed_start);
        let points = CanvasToServer::Points(vec![[3, 4], [-2, 1]]);
        assert_eq!(
            apply_request(&mut canvas, A, &points, t),
            Ok(Relay::ToOthers(vec![CanvasToClient::Points {
                author: A,
                deltas: vec![[3, 4], [-2, 1]]
            }]))
        );
        assert_eq!(
            canvas.drawing.strokes()[0].points,
            [p(10, 10), p(13, 14), p(11, 15)]
        );
        let off = CanvasToServer::Points(vec![[-100, 0]]);
        assert_eq!(apply_request(&mut canvas, A, &off, t), Err(CanvasError::OffBoard));
        assert_eq!(canvas.drawing.point_count(), 3, "a refused batch changes nothing");
    }

    #[test]
    fn during_a_game_the_pen_is_the_drawers_alone() {
        let mut canvas = RoomCanvas::default();
        let t = Duration::from_secs(1);
        apply_request(&mut canvas, B, &CanvasToServer::TakePen, t).unwrap();
        let start = CanvasToServer::Start {
            brush: INK,
            at: p(10, 10),
        };
        apply_request(&mut canvas, B, &start, t).unwrap();
        // A turn begins: B's open stroke ends, the board is cleared, A holds the pen.
        assert_eq!(
            canvas.lock_to(Some(A), true, t),
            [
                CanvasToClient::End { author: B },
                CanvasToClient::Clear,
                CanvasToClient::Pen(Some(A))
            ]
        );
        let much_later = t + Duration::from_secs(60);
        for request in [CanvasToServer::TakePen, start.clone(), CanvasToServer::Clear] {
            assert_eq!(
                apply_request(&mut canvas, B, &request, much_later),
                Err(CanvasError::NotYourTurn),
                "no idle takeover either: {request:?}"
            );
        }
        assert_eq!(
            apply_request(&mut canvas, A, &CanvasToServer::ReleasePen, t),
            Err(CanvasError::NotYourTurn),
            "the drawer keeps the pen for the turn"
        );
        assert_eq!(
            apply_request(&mut canvas, A, &start, much_later),
            Ok(Relay::ToOthers(vec![CanvasToClient::Start {
                author: A,
                brush: INK,
                at: p(10, 10),
            }])),
            "the drawer's strokes reach the others"
        );
        // Between turns nobody draws; after the game the pen is free again.
        canvas.lock_to(None, false, much_later);
        assert_eq!(
            apply_request(&mut canvas, A, &start, much_later),
            Err(CanvasError::NotYourTurn)
        );
        assert_eq!(
            canvas.drawing.strokes().len(),
            1,
            "the picture stays for the reveal"
        );
        assert!(canvas.unlock().is_empty(), "nobody held it");
        assert_eq!(
            apply_request(&mut canvas, B, &CanvasToServer::TakePen, much_later),
            Ok(Relay::ToEveryone(CanvasToClient::Pen(Some(B))))
        );
    }

    #[test]
    fn an_idle_holder_loses_the_pen_and_their_open_stroke_ends() {
        let mut canvas = RoomCanvas::default();
        let s = Duration::from_secs;
        apply_request(&mut canvas, A, &CanvasToServer::TakePen, s(0)).unwrap();
        apply_request(
            &mut canvas,
            A,
            &CanvasToServer::Start {
                brush: INK,
                at: p(1, 1),
            },
            s(1),
        )
        .unwrap();
        assert_eq!(
            apply_request(&mut canvas, B, &CanvasToServer::TakePen, s(5)),
            Err(CanvasError::PenBusy)
        );
        assert_eq!(
            apply_request(&mut canvas, B, &CanvasToServer::TakePen, s(11)),
            Ok(Relay::ToEveryone(CanvasToClient::Pen(Some(B)))),
            "an idle takeover is announced to everyone"
        );
        assert_eq!(canvas.drawing.open_tail(A), None);
        assert_eq!(
            apply_request(&mut canvas, A, &CanvasToServer::Points(vec![[1, 1]]), s(12)),
            Err(CanvasError::NotYourPen)
        );
    }

    mod any_requests {
        use proptest::prelude::*;

        use super::*;
        use crate::plugins::canvas::model::{BOARD_HEIGHT, BOARD_WIDTH, Brush, MAX_DRAWING_POINTS};

        fn request() -> impl Strategy<Value = CanvasToServer> {
            let point = (any::<i16>(), any::<i16>()).prop_map(|(x, y)| model::BoardPoint::new(x, y));
            let near =
                (0i16..BOARD_WIDTH, 0i16..BOARD_HEIGHT).prop_map(|(x, y)| model::BoardPoint::new(x, y));
            let brush = (any::<[u8; 3]>(), any::<u8>(), any::<bool>())
                .prop_map(|(colour, size, eraser)| Brush { colour, size, eraser });
            prop_oneof![
                Just(CanvasToServer::TakePen),
                Just(CanvasToServer::ReleasePen),
                (brush.clone(), prop_oneof![point, near.clone()])
                    .prop_map(|(brush, at)| CanvasToServer::Start { brush, at }),
                prop::collection::vec((-40i16..40, -40i16..40).prop_map(|(x, y)| [x, y]), 0..700)
                    .prop_map(CanvasToServer::Points),
                prop::collection::vec(any::<[i16; 2]>(), 0..20).prop_map(CanvasToServer::Points),
                Just(CanvasToServer::End),
                Just(CanvasToServer::Undo),
                Just(CanvasToServer::Clear),
                (
                    near,
                    any::<[u8; 3]>(),
                    0u16..1000,
                    prop::collection::vec(prop::collection::vec(0u16..2000, 0..8), 0..40),
                )
                    .prop_map(|(at, colour, top, rows)| CanvasToServer::Fill {
                        at,
                        colour,
                        mask: crate::plugins::canvas::fill::FillMask { top, rows },
                    }),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]

            /// Three members sending anything in any order: no panic, the drawing stays within
            /// its caps and on the board, the pen is a member's or nobody's, and only the
            /// holder's requests are relayed.
            #[test]
            fn a_room_applies_any_requests_within_its_rules(
                requests in prop::collection::vec((1u32..=3, request(), 0u64..15_000), 0..120)
            ) {
                let mut canvas = RoomCanvas::default();
                let mut now = Duration::ZERO;
                for (who, request, wait) in requests {
                    now += Duration::from_millis(wait);
                    let who = ClientId(who);
                    let holder = canvas.pen.holder();
                    let relay = apply_request(&mut canvas, who, &request, now);
                    if let Ok(Relay::ToOthers(_)) = relay {
                        prop_assert!(holder == Some(who) || canvas.pen.holder() == Some(who));
                    }
                    prop_assert!(canvas.drawing.point_count() <= MAX_DRAWING_POINTS);
                    prop_assert!(canvas.drawing.strokes().iter().all(|s| s.points.iter().all(|p| p.on_board())));
                    let fills: Vec<_> = canvas.drawing.strokes().iter().filter_map(|s| s.fill.as_ref()).collect();
                    prop_assert!(fills.len() <= crate::plugins::canvas::fill::MAX_FILLS);
                    prop_assert!(fills.iter().all(|m| m.validate().is_ok()));
                    prop_assert!(matches!(canvas.pen.holder(), None | Some(ClientId(1..=3))));
                }
            }
        }
    }

    /// The canvas plugin in an app, with messages written in and read out (no sockets).
    mod in_an_app {
        use super::*;
        use crate::plugins::test_app::{STEP, TestServer};

        fn server() -> (TestServer, ClientId, ClientId) {
            let mut server = TestServer::with(crate::plugins::canvas::plugin);
            let a = server.join(1, "Ann", None);
            let b = server.join(2, "Ben", None);
            server.sent::<CanvasToClient>();
            (server, a, b)
        }

        fn sent(server: &mut TestServer) -> Vec<(Vec<ClientId>, CanvasToClient)> {
            server
                .sent::<CanvasToClient>()
                .into_iter()
                .map(|m| (m.recipients(), m.msg))
                .collect()
        }

        fn a_holds_the_pen_and_starts_a_stroke(server: &mut TestServer, a: ClientId) {
            server.send(a, CanvasToServer::TakePen);
            server.send(
                a,
                CanvasToServer::Start {
                    brush: INK,
                    at: p(5, 5),
                },
            );
            server.update();
        }

        #[test]
        fn a_picture_is_encoded_once_per_change_and_its_bytes_shared_by_its_joiners() {
            let (mut server, a, _) = server();
            a_holds_the_pen_and_starts_a_stroke(&mut server, a);
            server.sent::<CanvasToClient>();
            // The payload of each joiner's picture chunk, where its bytes live.
            let picture_for = |server: &mut TestServer, id: u32| -> Vec<(usize, usize)> {
                server.join(id, &format!("j{id}"), None);
                server.update();
                let sent = server.sent::<CanvasToClient>();
                let logs: Vec<_> = sent
                    .iter()
                    .filter(|m| matches!(m.msg, CanvasToClient::Log { .. }))
                    .map(|m| {
                        m.encoding()
                            .map(|e| (e.as_bytes().as_ptr() as usize, e.len()))
                            .expect("pre-encoded")
                    })
                    .collect();
                assert!(!logs.is_empty());
                logs
            };
            let first = picture_for(&mut server, 10);
            assert_eq!(
                picture_for(&mut server, 11),
                first,
                "the same bytes, not encoded again"
            );
            server.send(a, CanvasToServer::Points(vec![[1, 1]]));
            server.update();
            let changed = picture_for(&mut server, 12);
            assert_ne!(changed, first, "a change of the drawing makes it anew");
            assert!(changed[0].1 > first[0].1);
        }

        #[test]
        fn strokes_go_to_the_others_and_a_refusal_brings_the_picture_at_most_once_per_interval() {
            let (mut server, a, b) = server();
            a_holds_the_pen_and_starts_a_stroke(&mut server, a);
            let start = CanvasToClient::Start {
                author: a,
                brush: INK,
                at: p(5, 5),
            };
            assert_eq!(
                sent(&mut server),
                [(vec![a, b], CanvasToClient::Pen(Some(a))), (vec![b], start)]
            );
            let sneaky = CanvasToServer::Start {
                brush: INK,
                at: p(9, 9),
            };
            server.send(b, sneaky.clone());
            server.update();
            let refused = sent(&mut server);
            assert_eq!(
                refused[0],
                (vec![b], CanvasToClient::Refused(CanvasError::NotYourPen))
            );
            assert!(
                matches!(&refused[1], (to, CanvasToClient::Log { strokes, .. }) if *to == [b] && strokes.len() == 1)
            );
            assert_eq!(refused[2], (vec![b], CanvasToClient::Pen(Some(a))));
            server.send(b, sneaky.clone());
            server.update();
            assert_eq!(
                sent(&mut server),
                [(vec![b], CanvasToClient::Refused(CanvasError::NotYourPen))],
                "no second picture within the second"
            );
            server.run_for(RESYNC_INTERVAL);
            server.sent::<CanvasToClient>();
            server.send(b, sneaky);
            server.update();
            assert_eq!(sent(&mut server).len(), 3, "the picture again after the interval");
        }

        #[test]
        fn an_address_gets_six_pictures_a_minute_and_later_joiners_theirs_when_due() {
            let (mut server, a, _) = server();
            a_holds_the_pen_and_starts_a_stroke(&mut server, a);
            server.sent::<CanvasToClient>();
            let pictures = |server: &mut TestServer| {
                server
                    .sent::<CanvasToClient>()
                    .into_iter()
                    .filter(|m| matches!(m.msg, CanvasToClient::Log { replace: true, .. }))
                    .map(|m| m.recipients())
                    .collect::<Vec<_>>()
            };
            // The test harness gives every player an address on 127.0.0.1.
            let mut joiners = Vec::new();
            let mut first = Vec::new();
            for id in 10..18 {
                joiners.push(server.join(id, &format!("j{id}"), None));
                first.extend(pictures(&mut server));
            }
            assert_eq!(first.len(), 6, "six pictures at once");
            server.join(99, "late", None);
            let pen_to_owed = server
                .sent::<CanvasToClient>()
                .into_iter()
                .any(|m| m.recipients() == [ClientId(99)] && m.msg == CanvasToClient::Pen(Some(a)));
            assert!(
                pen_to_owed,
                "an owed joiner still learns who holds the pen at once"
            );
            // Time passes an update at a time, each update's messages read as they come.
            let run = |server: &mut TestServer, time: Duration| {
                let mut got = Vec::new();
                for _ in 0..time.div_duration_f64(STEP).ceil() as u32 {
                    server.update();
                    got.extend(pictures(server));
                }
                got
            };
            assert_eq!(
                run(&mut server, Duration::from_secs(9)).len(),
                0,
                "none before ten seconds"
            );
            let next = run(&mut server, Duration::from_secs(2));
            assert_eq!(next, [vec![joiners[6]]], "the oldest owed first");
            assert_eq!(run(&mut server, Duration::from_secs(10)), [vec![joiners[7]]]);
        }

        #[test]
        fn no_op_and_pen_requests_are_refused_alone_and_do_not_keep_the_pen() {
            let (mut server, a, b) = server();
            server.send(a, CanvasToServer::TakePen);
            server.update();
            server.sent::<CanvasToClient>();
            // The holder's requests that change nothing: refused, nothing relayed.
            for (request, why) in [
                (CanvasToServer::Undo, CanvasError::NothingToUndo),
                (CanvasToServer::Clear, CanvasError::AlreadyClear),
            ] {
                server.send(a, request);
                server.update();
                assert_eq!(sent(&mut server), [(vec![a], CanvasToClient::Refused(why))]);
            }
            // Another's Undo, Clear, Release: refused, and never the picture.
            for request in [
                CanvasToServer::Undo,
                CanvasToServer::Clear,
                CanvasToServer::ReleasePen,
            ] {
                server.send(b, request);
                server.update();
                assert_eq!(
                    sent(&mut server),
                    [(vec![b], CanvasToClient::Refused(CanvasError::NotYourPen))]
                );
            }
            // Undoing nothing every few seconds does not keep the pen from an idle takeover.
            for _ in 0..4 {
                server.run_for(Duration::from_secs(3));
                server.send(a, CanvasToServer::Undo);
                server.update();
            }
            server.sent::<CanvasToClient>();
            server.send(b, CanvasToServer::TakePen);
            server.update();
            assert_eq!(sent(&mut server), [(vec![a, b], CanvasToClient::Pen(Some(b)))]);
        }

        #[test]
        fn a_pen_lock_applies_in_the_frame_it_is_asked_for() {
            let (mut server, a, b) = server();
            let room = server.find::<Room>();
            a_holds_the_pen_and_starts_a_stroke(&mut server, a);
            server.sent::<CanvasToClient>();
            let lock = PenLock::To {
                drawer: Some(b),
                clear: true,
            };
            server.write(LockPen { room, lock });
            server.update();
            let everyone = vec![a, b];
            assert_eq!(
                sent(&mut server),
                [
                    (everyone.clone(), CanvasToClient::End { author: a }),
                    (everyone.clone(), CanvasToClient::Clear),
                    (everyone.clone(), CanvasToClient::Pen(Some(b))),
                ]
            );
            server.send(a, CanvasToServer::TakePen);
            server.update();
            assert_eq!(
                sent(&mut server),
                [(vec![a], CanvasToClient::Refused(CanvasError::NotYourTurn))],
                "a refused request to take the pen changed nothing on the client: no picture"
            );
            server.write(LockPen {
                room,
                lock: PenLock::Unlock,
            });
            server.update();
            assert_eq!(sent(&mut server), [(everyone, CanvasToClient::Pen(None))]);
        }
    }
}
