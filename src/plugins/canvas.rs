//! The drawing board: one player at a time holds the pen and draws; every stroke reaches the
//! rest of the room live, and players who join mid-drawing receive the whole log.
//!
//! The rules live in [`model`] (plain Rust). This file holds the wire types and the systems:
//! the server validates and relays; each client mirrors the drawing and tells the renderer
//! (`render`, windowed only) what to paint through [`PaintCanvas`] messages.

pub mod gallery;
pub mod model;
pub mod render;
pub mod ui;

use std::collections::HashMap;
use std::time::Duration;

use bevy::prelude::*;
use serde::{Deserialize, Serialize};

pub use model::{BOARD_HEIGHT, BOARD_WIDTH, BoardPoint, Brush, Delta, Drawing, Pen, Stroke};

use model::{CanvasError, decode_deltas, encode_deltas};

use crate::plugins::GameSystems;
use crate::plugins::net::{FromClient, FromServer, NetServer, NetSystems, Recipients, ToClients, ToServer};
use crate::plugins::rooms::{Player, PlayerJoined, PlayerLeft, Room, RoomIndex, Roster, Welcome};
use crate::protocol::{ClientId, ClientMsg, ServerMsg};

/// The logical board every client maps to its window, aspect ratio kept.
pub const BOARD_SIZE: Vec2 = Vec2::new(BOARD_WIDTH as f32, BOARD_HEIGHT as f32);
/// How often a drawer's new points go out, whatever the frame rate.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(33);
/// Points closer than this (board units) to the previous one are skipped.
const MIN_STEP: i32 = 2;
/// Log frames stay well under the 64 KiB frame cap.
const LOG_CHUNK_BYTES: usize = 48 * 1024;

pub fn plugin(app: &mut App) {
    app.init_resource::<CanvasState>()
        .add_message::<DrawInput>()
        .add_message::<PaintCanvas>()
        .add_systems(
            Update,
            (
                (prepare_joiners, release_leavers, apply_requests)
                    .chain()
                    .run_if(resource_exists::<NetServer>),
                mirror_server,
            )
                .in_set(GameSystems::Canvas),
        )
        .configure_sets(PostUpdate, CanvasSystems::LocalInput.before(NetSystems::Send))
        .add_systems(
            PostUpdate,
            (apply_local_input, send_batches)
                .chain()
                .in_set(CanvasSystems::LocalInput),
        );
}

/// The local player's drawing runs late in the frame (`PostUpdate`), after the UI has turned
/// this frame's pointer into [`DrawInput`] and before the frame is sent and rendered, so the
/// drawer's own ink shows in the same frame.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum CanvasSystems {
    LocalInput,
}

// ---------------------------------------------------------------------------------------------
// Wire

/// What a client asks of the room's canvas.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CanvasToServer {
    TakePen,
    ReleasePen,
    /// Begins a stroke: the brush is sent once, here.
    Start {
        brush: Brush,
        at: BoardPoint,
    },
    /// More points of the open stroke, each relative to the one before.
    Points(Vec<Delta>),
    End,
    Undo,
    Clear,
}

/// What the server tells clients about the canvas.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum CanvasToClient {
    Pen(Option<ClientId>),
    Start {
        author: ClientId,
        brush: Brush,
        at: BoardPoint,
    },
    Points {
        author: ClientId,
        deltas: Vec<Delta>,
    },
    End {
        author: ClientId,
    },
    Undo {
        author: ClientId,
    },
    Clear,
    /// The drawing so far, in chunks under the frame cap; `replace` on the first chunk, and
    /// `open` on the last when its last stroke is still being drawn.
    Log {
        strokes: Vec<Stroke>,
        replace: bool,
        open: bool,
    },
    /// Your last canvas request was refused, and why.
    Refused(String),
}

impl From<CanvasToClient> for ServerMsg {
    fn from(msg: CanvasToClient) -> Self {
        ServerMsg::Canvas(msg)
    }
}

impl From<CanvasToServer> for ClientMsg {
    fn from(msg: CanvasToServer) -> Self {
        ClientMsg::Canvas(msg)
    }
}

/// Splits a drawing into log messages that each encode under [`LOG_CHUNK_BYTES`].
pub fn log_chunks(drawing: &Drawing) -> Vec<CanvasToClient> {
    let mut chunks = vec![Vec::new()];
    let mut size = 0;
    for stroke in drawing.strokes() {
        // Worst case per point: two 3-byte varints; plus the brush and author.
        let estimate = 16 + stroke.points.len() * 6;
        if size + estimate > LOG_CHUNK_BYTES && !chunks.last().is_some_and(Vec::is_empty) {
            chunks.push(Vec::new());
            size = 0;
        }
        chunks.last_mut().expect("never empty").push(stroke.clone());
        size += estimate;
    }
    let last = chunks.len() - 1;
    let open = drawing.open_author().is_some();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, strokes)| CanvasToClient::Log {
            strokes,
            replace: i == 0,
            open: open && i == last,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Server

/// A room's canvas (server side).
#[derive(Component, Debug, Default)]
pub struct RoomCanvas {
    pub drawing: Drawing,
    pub pen: Pen,
    /// When each player was last resent the picture after a refusal: at most once per
    /// [`RESYNC_INTERVAL`], so refused requests cannot make the server re-send the log in a loop.
    resynced: HashMap<ClientId, Duration>,
}

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

/// The shortest time between two full-picture resends to one player.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(1);

fn prepare_joiners(
    mut commands: Commands,
    mut joined: MessageReader<PlayerJoined>,
    rooms: Query<Option<&RoomCanvas>, With<Room>>,
    mut out: MessageWriter<ToClients<CanvasToClient>>,
) {
    for PlayerJoined { client, room, .. } in joined.read() {
        commands.entity(*room).insert_if_new(RoomCanvas::default());
        let Ok(Some(canvas)) = rooms.get(*room) else {
            continue;
        };
        let to = Recipients::One(*client);
        if !canvas.drawing.strokes().is_empty() {
            for chunk in log_chunks(&canvas.drawing) {
                out.write(ToClients {
                    to: to.clone(),
                    msg: chunk,
                });
            }
        }
        if let Some(holder) = canvas.pen.holder() {
            out.write(ToClients {
                to,
                msg: CanvasToClient::Pen(Some(holder)),
            });
        }
    }
}

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
            out.write(ToClients {
                to: to.clone(),
                msg: CanvasToClient::End { author: *client },
            });
        }
        if canvas.pen.holder_left(*client) {
            out.write(ToClients {
                to,
                msg: CanvasToClient::Pen(None),
            });
        }
    }
}

fn apply_requests(
    time: Res<Time<Real>>,
    index: Res<RoomIndex>,
    players: Query<&Player>,
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
        let others = || Recipients::Many(room.members().filter(|id| id != client).collect());
        match apply_request(&mut canvas, *client, msg, now) {
            Ok(Relay::None) => {}
            Ok(Relay::ToEveryone(msg)) => {
                out.write(ToClients { to: everyone(), msg });
            }
            Ok(Relay::ToOthers(msgs)) => {
                for msg in msgs {
                    out.write(ToClients { to: others(), msg });
                }
            }
            Err(why) => {
                // The sender drew locally already: tell it why and send the true picture.
                let to = Recipients::One(*client);
                out.write(ToClients {
                    to: to.clone(),
                    msg: CanvasToClient::Refused(why.to_string()),
                });
                let recent = canvas
                    .resynced
                    .get(client)
                    .is_some_and(|&t| now.saturating_sub(t) < RESYNC_INTERVAL);
                if recent {
                    continue;
                }
                canvas.resynced.insert(*client, now);
                for chunk in log_chunks(&canvas.drawing) {
                    out.write(ToClients {
                        to: to.clone(),
                        msg: chunk,
                    });
                }
                out.write(ToClients {
                    to,
                    msg: CanvasToClient::Pen(canvas.pen.holder()),
                });
            }
        }
    }
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
        CanvasToServer::TakePen => {
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
        CanvasToServer::ReleasePen => {
            if !pen.release(who)? {
                return Ok(Relay::None);
            }
            drawing.finish(who);
            Ok(Relay::ToEveryone(CanvasToClient::Pen(None)))
        }
        CanvasToServer::Start { brush, at } => {
            pen.use_pen(who, now)?;
            drawing.start(who, *brush, *at)?;
            Ok(Relay::ToOthers(vec![CanvasToClient::Start {
                author: who,
                brush: brush.clamped(),
                at: *at,
            }]))
        }
        CanvasToServer::Points(deltas) => {
            pen.use_pen(who, now)?;
            let tail = drawing.open_tail(who).ok_or(CanvasError::NoStroke)?;
            if deltas.len() > model::MAX_BATCH_POINTS {
                return Err(CanvasError::BatchTooLarge);
            }
            let points = decode_deltas(tail, deltas)?;
            drawing.extend(who, &points)?;
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
        CanvasToServer::Undo => {
            pen.use_pen(who, now)?;
            if !drawing.undo(who) {
                return Ok(Relay::None);
            }
            Ok(Relay::ToOthers(vec![CanvasToClient::Undo { author: who }]))
        }
        CanvasToServer::Clear => {
            pen.use_pen(who, now)?;
            drawing.clear();
            Ok(Relay::ToOthers(vec![CanvasToClient::Clear]))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Client

/// What the local player does on the canvas (from the mouse, the keyboard or a test).
#[derive(Message, Debug, Clone, Copy, PartialEq)]
pub enum DrawInput {
    TakePen,
    ReleasePen,
    /// The pointer went down at a board position.
    Begin(BoardPoint),
    /// The pointer moved (while down).
    MoveTo(BoardPoint),
    /// The pointer went up.
    End,
    Undo,
    Clear,
}

/// What the renderer should do to the canvas image.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum PaintCanvas {
    /// Draw a polyline (a single point is a dot) on top of what is there.
    Segments { brush: Brush, points: Vec<BoardPoint> },
    /// Clear the image and draw the whole drawing again (after undo, clear, a log).
    Repaint,
}

/// This client's view of the room's canvas, and its tool settings.
#[derive(Resource, Debug)]
pub struct CanvasState {
    pub drawing: Drawing,
    pub pen: Option<ClientId>,
    pub brush: Brush,
    /// Why the server refused the last request, for the UI.
    pub refused: Option<String>,
    /// Points drawn locally and not yet sent, and the last point sent.
    pending: Vec<BoardPoint>,
    last_sent: Option<BoardPoint>,
    since_batch: Duration,
}

impl Default for CanvasState {
    fn default() -> Self {
        Self {
            drawing: Drawing::default(),
            pen: None,
            brush: Brush {
                colour: [20, 20, 20],
                size: 8,
                eraser: false,
            },
            refused: None,
            pending: Vec::new(),
            last_sent: None,
            since_batch: Duration::ZERO,
        }
    }
}

impl CanvasState {
    pub fn i_hold_the_pen(&self, me: Option<ClientId>) -> bool {
        me.is_some() && self.pen == me
    }

    /// The brush the next stroke uses.
    pub fn current_brush(&self) -> Brush {
        self.brush.clamped()
    }
}

fn mirror_server(
    mut state: ResMut<CanvasState>,
    roster: Res<Roster>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut incoming: MessageReader<FromServer<CanvasToClient>>,
    mut paint: MessageWriter<PaintCanvas>,
) {
    if welcomes.read().last().is_some() {
        let brush = state.brush;
        *state = CanvasState {
            brush,
            ..CanvasState::default()
        };
        paint.write(PaintCanvas::Repaint);
    }
    for FromServer(msg) in incoming.read() {
        let state = &mut *state;
        match msg {
            CanvasToClient::Pen(holder) => {
                if state.pen != *holder
                    && let Some(previous) = state.pen
                {
                    state.drawing.finish(previous);
                    if Some(previous) == roster.me {
                        state.pending.clear();
                        state.last_sent = None;
                    }
                }
                state.pen = *holder;
            }
            CanvasToClient::Start { author, brush, at } => {
                if state.drawing.start(*author, *brush, *at).is_ok() {
                    paint.write(PaintCanvas::Segments {
                        brush: brush.clamped(),
                        points: vec![*at],
                    });
                }
            }
            CanvasToClient::Points { author, deltas } => {
                let Some(tail) = state.drawing.open_tail(*author) else {
                    continue;
                };
                let Ok(points) = decode_deltas(tail, deltas) else {
                    continue;
                };
                let brush = state.drawing.strokes().last().map(|s| s.brush);
                if state.drawing.extend(*author, &points).is_ok()
                    && let Some(brush) = brush
                {
                    let mut line = Vec::with_capacity(points.len() + 1);
                    line.push(tail);
                    line.extend(points);
                    paint.write(PaintCanvas::Segments { brush, points: line });
                }
            }
            CanvasToClient::End { author } => {
                state.drawing.finish(*author);
            }
            CanvasToClient::Undo { author } => {
                if state.drawing.undo(*author) {
                    paint.write(PaintCanvas::Repaint);
                }
            }
            CanvasToClient::Clear => {
                state.drawing.clear();
                paint.write(PaintCanvas::Repaint);
            }
            CanvasToClient::Log {
                strokes,
                replace,
                open,
            } => {
                state.drawing.apply_log(strokes, *replace, *open);
                paint.write(PaintCanvas::Repaint);
            }
            CanvasToClient::Refused(why) => {
                state.pending.clear();
                state.last_sent = None;
                state.refused = Some(why.clone());
            }
        }
    }
}

/// Applies the local player's input at once (own ink shows in the same frame) and queues
/// what the server must hear.
fn apply_local_input(
    mut state: ResMut<CanvasState>,
    roster: Res<Roster>,
    mut input: MessageReader<DrawInput>,
    mut paint: MessageWriter<PaintCanvas>,
    mut out: MessageWriter<ToServer<CanvasToServer>>,
) {
    let Some(me) = roster.me else {
        input.clear();
        return;
    };
    for event in input.read() {
        let state = &mut *state;
        let holding = state.pen == Some(me);
        match *event {
            DrawInput::TakePen => {
                out.write(ToServer(CanvasToServer::TakePen));
            }
            DrawInput::ReleasePen => {
                flush_pending(state, &mut out);
                out.write(ToServer(CanvasToServer::ReleasePen));
            }
            _ if !holding => {}
            DrawInput::Begin(at) => {
                flush_pending(state, &mut out);
                let brush = state.current_brush();
                if state.drawing.start(me, brush, at).is_ok() {
                    state.refused = None;
                    state.last_sent = Some(at);
                    out.write(ToServer(CanvasToServer::Start { brush, at }));
                    paint.write(PaintCanvas::Segments {
                        brush,
                        points: vec![at],
                    });
                }
            }
            DrawInput::MoveTo(to) => {
                let Some(tail) = state.drawing.open_tail(me) else {
                    continue;
                };
                let (dx, dy) = (to.x as i32 - tail.x as i32, to.y as i32 - tail.y as i32);
                if dx * dx + dy * dy < MIN_STEP * MIN_STEP {
                    continue;
                }
                if state.drawing.extend(me, &[to]).is_ok() {
                    state.pending.push(to);
                    let brush = state.current_brush();
                    paint.write(PaintCanvas::Segments {
                        brush,
                        points: vec![tail, to],
                    });
                }
            }
            DrawInput::End => {
                if state.drawing.finish(me) {
                    flush_pending(state, &mut out);
                    out.write(ToServer(CanvasToServer::End));
                }
            }
            DrawInput::Undo => {
                flush_pending(state, &mut out);
                if state.drawing.undo(me) {
                    out.write(ToServer(CanvasToServer::Undo));
                    paint.write(PaintCanvas::Repaint);
                }
            }
            DrawInput::Clear => {
                flush_pending(state, &mut out);
                state.drawing.clear();
                out.write(ToServer(CanvasToServer::Clear));
                paint.write(PaintCanvas::Repaint);
            }
        }
    }
}

/// Sends the open stroke's new points as one delta-encoded batch.
fn flush_pending(state: &mut CanvasState, out: &mut MessageWriter<ToServer<CanvasToServer>>) {
    state.since_batch = Duration::ZERO;
    let pending = std::mem::take(&mut state.pending);
    let Some(mut from) = state.last_sent else { return };
    for batch in pending.chunks(model::MAX_BATCH_POINTS) {
        out.write(ToServer(CanvasToServer::Points(encode_deltas(from, batch))));
        from = *batch.last().expect("chunks are never empty");
    }
    state.last_sent = Some(from);
}

/// Sends batches at a fixed rate ([`BATCH_INTERVAL`]) whatever the frame rate.
fn send_batches(
    time: Res<Time<Real>>,
    mut state: ResMut<CanvasState>,
    mut out: MessageWriter<ToServer<CanvasToServer>>,
) {
    state.since_batch += time.delta();
    if state.since_batch >= BATCH_INTERVAL && !state.pending.is_empty() {
        flush_pending(&mut state, &mut out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ClientId = ClientId(1);
    const B: ClientId = ClientId(2);
    const INK: Brush = Brush {
        colour: [200, 0, 0],
        size: 10,
        eraser: false,
    };

    fn p(x: i16, y: i16) -> BoardPoint {
        BoardPoint::new(x, y)
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
        assert!(apply_request(&mut canvas, A, &start, t).is_ok());
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
        assert!(apply_request(&mut canvas, A, &start, much_later).is_ok());
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
        assert!(apply_request(&mut canvas, B, &CanvasToServer::TakePen, much_later).is_ok());
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
        assert!(apply_request(&mut canvas, B, &CanvasToServer::TakePen, s(11)).is_ok());
        assert_eq!(canvas.drawing.open_tail(A), None);
        assert_eq!(
            apply_request(&mut canvas, A, &CanvasToServer::Points(vec![[1, 1]]), s(12)),
            Err(CanvasError::NotYourPen)
        );
    }

    #[test]
    fn log_chunks_fit_under_the_frame_cap_and_replay_the_drawing() {
        let mut drawing = Drawing::default();
        for i in 0..60 {
            drawing.start(A, INK, p(i, i)).unwrap();
            let points: Vec<BoardPoint> = (0..model::MAX_BATCH_POINTS as i16)
                .map(|k| p(1000 + k % 500, 800 - k % 700))
                .collect();
            drawing.extend(A, &points).unwrap();
            drawing.finish(A);
        }
        let chunks = log_chunks(&drawing);
        assert!(chunks.len() > 1);
        let mut replayed = Drawing::default();
        for (i, chunk) in chunks.iter().enumerate() {
            let bytes = crate::codec::encode(&ServerMsg::Canvas(chunk.clone())).unwrap();
            assert!(bytes.len() <= crate::codec::MAX_FRAME_LEN);
            let CanvasToClient::Log {
                strokes,
                replace,
                open,
            } = chunk
            else {
                panic!()
            };
            assert_eq!(*replace, i == 0);
            assert!(!open);
            strokes.iter().for_each(|s| replayed.push(s.clone()).unwrap());
        }
        assert_eq!(replayed, drawing);
        assert_eq!(
            log_chunks(&Drawing::default()),
            vec![CanvasToClient::Log {
                strokes: vec![],
                replace: true,
                open: false
            }]
        );
    }
}
