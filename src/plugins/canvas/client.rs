//! The canvas on a client: the mirror of the room's drawing, the local player's input
//! applied at once, batches sent at a fixed rate, and what the renderer should paint.

use std::time::Duration;

use bevy::prelude::*;

use std::sync::Arc;

use super::album::{MAX_SHELF_POINTS, MAX_SHELVED, MAX_TIMELINE_POINTS};
use super::fill::FillMask;
use super::model::{self, BoardPoint, Brush, Delta, Drawing, Stroke, decode_deltas, encode_deltas};
use super::wire::TimedOp;
use super::wire::{CanvasToClient, CanvasToServer};
use super::{BATCH_INTERVAL, CanvasSystems, MIN_STEP};
use crate::id::ClientId;
use crate::plugins::canvas::model::CanvasError;
use crate::plugins::net::{FromServer, NetSystems, ToServer};
use crate::plugins::rooms::{NewSession, Roster, Welcome};
use crate::plugins::{LogicSystems, Side};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<CanvasState>()
        .add_message::<DrawInput>()
        .add_message::<PaintCanvas>()
        .add_message::<FillWanted>()
        .add_message::<FillComputed>()
        .add_systems(
            Update,
            mirror_server.in_set(LogicSystems::Canvas).in_set(Side::Client),
        )
        .configure_sets(PostUpdate, CanvasSystems::LocalInput.before(NetSystems::Send))
        .add_systems(
            PostUpdate,
            (apply_local_input, apply_fills, send_batches)
                .chain()
                .in_set(CanvasSystems::LocalInput)
                .in_set(Side::Client),
        );
}

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
    /// The fill bucket was clicked at a board position.
    Fill(BoardPoint),
}

/// The local player asked to fill at `at` with `colour`: the renderer reads the board back and
/// floods it ([`super::fill::flood`]), answering with [`FillComputed`].
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillWanted {
    pub at: BoardPoint,
    pub colour: [u8; 3],
}

/// The region a fill covers on this client's board (from the renderer, or a test).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
pub struct FillComputed {
    pub at: BoardPoint,
    pub colour: [u8; 3],
    pub mask: FillMask,
}

/// What the renderer should do to the canvas image.
#[derive(Message, Debug, Clone, PartialEq)]
pub enum PaintCanvas {
    /// Draw a polyline (a single point is a dot) on top of what is there.
    Segments { brush: Brush, points: Vec<BoardPoint> },
    /// Cover a region with a colour (a fill) on top of what is there.
    Fill { colour: [u8; 3], mask: Arc<FillMask> },
    /// Clear the image and draw the whole drawing again (after undo, clear, a log).
    Repaint,
}

/// The album's drawings this client asked for, as they arrive.
#[derive(Debug, Default)]
pub struct Replays {
    /// Newest last.
    recordings: Vec<Recording>,
    /// What all of them weigh.
    weight: usize,
}

/// One turn's recording, as it arrives.
#[derive(Debug)]
struct Recording {
    key: u32,
    /// The changes so far.
    ops: Vec<TimedOp>,
    /// All of them came.
    whole: bool,
    /// The server cut the turn's recording short.
    cut_short: bool,
    /// What the changes weigh (points).
    weight: usize,
}

impl Replays {
    /// Keeps a chunk of a recording: never more recordings than an album has, nor more weight
    /// than a room keeps (the oldest go), nor more than a turn records, whatever a server sends.
    fn receive(&mut self, key: u32, ops: &[TimedOp], last: bool, cut_short: bool) {
        let i = match self.recordings.iter().position(|r| r.key == key) {
            Some(i) => i,
            None => {
                if self.recordings.len() >= MAX_SHELVED {
                    self.weight -= self.recordings.remove(0).weight;
                }
                self.recordings.push(Recording {
                    key,
                    ops: Vec::new(),
                    whole: false,
                    cut_short,
                    weight: 0,
                });
                self.recordings.len() - 1
            }
        };
        let weight: usize = ops.iter().map(|op| op.op.points()).sum();
        let recording = &mut self.recordings[i];
        if !recording.whole && recording.weight + weight <= MAX_TIMELINE_POINTS {
            recording.ops.extend_from_slice(ops);
            recording.weight += weight;
            self.weight += weight;
        }
        recording.whole |= last;
        while self.weight > MAX_SHELF_POINTS && self.recordings.len() > 1 {
            self.weight -= self.recordings.remove(0).weight;
        }
    }

    /// Whether the server cut the turn's recording short.
    pub fn cut_short(&self, key: u32) -> bool {
        self.recordings.iter().any(|r| r.key == key && r.cut_short)
    }

    /// A drawing that came whole.
    pub fn get(&self, key: u32) -> Option<&[TimedOp]> {
        self.recordings
            .iter()
            .find(|r| r.key == key && r.whole)
            .map(|r| r.ops.as_slice())
    }
}

/// This client's view of the room's canvas, and its tool settings.
#[derive(Resource, Debug)]
pub struct CanvasState {
    pub drawing: Drawing,
    pub pen: Option<ClientId>,
    pub brush: Brush,
    /// The fill bucket is the tool (rather than the brush or eraser).
    pub fill_tool: bool,
    /// Why the server refused the last request, for the UI.
    pub refused: Option<CanvasError>,
    /// The album's drawings received for replay.
    pub replays: Replays,
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
            fill_tool: false,
            refused: None,
            replays: Replays::default(),
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
    mut new_session: MessageReader<NewSession>,
    mut welcomes: MessageReader<FromServer<Welcome>>,
    mut incoming: MessageReader<FromServer<CanvasToClient>>,
    mut paint: MessageWriter<PaintCanvas>,
) {
    // A new session starts from a blank board; a welcome brings the room's own log. Recordings
    // of another server (or room) mean nothing here; a seat given back keeps them.
    let resumed = match welcomes.read().last() {
        Some(FromServer(welcome)) => Some(welcome.resumed),
        None => new_session.read().last().map(|_| false),
    };
    if let Some(resumed) = resumed {
        let (brush, fill_tool) = (state.brush, state.fill_tool);
        let replays = match resumed {
            true => std::mem::take(&mut state.replays),
            false => Replays::default(),
        };
        *state = CanvasState {
            brush,
            fill_tool,
            replays,
            ..CanvasState::default()
        };
        paint.write(PaintCanvas::Repaint);
    }
    new_session.clear();
    for FromServer(msg) in incoming.read() {
        apply_server_msg(&mut state, msg, roster.me, &mut paint);
    }
}

/// Applies one canvas message from the server to this client's mirror.
fn apply_server_msg(
    state: &mut CanvasState,
    msg: &CanvasToClient,
    me: Option<ClientId>,
    paint: &mut MessageWriter<PaintCanvas>,
) {
    match msg {
        CanvasToClient::Pen(holder) => pen_changed(state, *holder, me),
        CanvasToClient::Start { author, brush, at } => {
            if state.drawing.start(*author, *brush, *at).is_ok() {
                paint.write(PaintCanvas::Segments {
                    brush: brush.clamped(),
                    points: vec![*at],
                });
            }
        }
        CanvasToClient::Points { author, deltas } => points_arrived(state, *author, deltas, paint),
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
        CanvasToClient::Fill {
            author,
            at,
            colour,
            mask,
        } => fill_arrived(state, (*author, *at, *colour), mask, paint),
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
            state.refused = Some(*why);
        }
        CanvasToClient::Replay {
            key,
            ops,
            last,
            cut_short,
        } => state.replays.receive(*key, ops, *last, *cut_short),
    }
}

/// The pen changed hands: the last holder's open stroke ends, and if that was this client,
/// what it had not sent yet is dropped.
fn pen_changed(state: &mut CanvasState, holder: Option<ClientId>, me: Option<ClientId>) {
    if state.pen != holder
        && let Some(previous) = state.pen
    {
        state.drawing.finish(previous);
        if Some(previous) == me {
            state.pending.clear();
            state.last_sent = None;
        }
    }
    state.pen = holder;
}

/// Another player's points, continuing their open stroke with its own brush.
fn points_arrived(
    state: &mut CanvasState,
    author: ClientId,
    deltas: &[Delta],
    paint: &mut MessageWriter<PaintCanvas>,
) {
    let Some((tail, brush)) = state.drawing.open_end(author) else {
        return;
    };
    let Ok(points) = decode_deltas(tail, deltas) else {
        return;
    };
    if state.drawing.extend(author, &points).is_ok() {
        let mut line = Vec::with_capacity(points.len() + 1);
        line.push(tail);
        line.extend(points);
        paint.write(PaintCanvas::Segments { brush, points: line });
    }
}

/// Another player's fill, with the region their renderer worked out.
fn fill_arrived(
    state: &mut CanvasState,
    (author, at, colour): (ClientId, BoardPoint, [u8; 3]),
    mask: &Arc<FillMask>,
    paint: &mut MessageWriter<PaintCanvas>,
) {
    let stroke = Stroke {
        fill: Some(mask.clone()),
        ..Stroke::fill(author, at, colour, FillMask::default())
    };
    state.drawing.finish(author);
    if state.drawing.push(stroke).is_ok() {
        paint.write(PaintCanvas::Fill {
            colour,
            mask: mask.clone(),
        });
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
    mut fills: MessageWriter<FillWanted>,
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
            DrawInput::Begin(at) => begin_stroke(state, me, at, &mut out, &mut paint),
            DrawInput::MoveTo(to) => extend_stroke(state, me, to, &mut paint),
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
            DrawInput::Fill(at) => {
                flush_pending(state, &mut out);
                if state.drawing.finish(me) {
                    out.write(ToServer(CanvasToServer::End));
                }
                let colour = state.current_brush().colour;
                fills.write(FillWanted { at, colour });
            }
            DrawInput::Clear if state.drawing.strokes().is_empty() => {}
            DrawInput::Clear => {
                flush_pending(state, &mut out);
                state.drawing.clear();
                out.write(ToServer(CanvasToServer::Clear));
                paint.write(PaintCanvas::Repaint);
            }
        }
    }
}

/// This player begins a stroke with the brush picked now.
fn begin_stroke(
    state: &mut CanvasState,
    me: ClientId,
    at: BoardPoint,
    out: &mut MessageWriter<ToServer<CanvasToServer>>,
    paint: &mut MessageWriter<PaintCanvas>,
) {
    flush_pending(state, out);
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

/// This player's stroke goes on to `to` (unless it is too near its last point); the point is
/// sent with the next batch.
fn extend_stroke(
    state: &mut CanvasState,
    me: ClientId,
    to: BoardPoint,
    paint: &mut MessageWriter<PaintCanvas>,
) {
    // The stroke keeps the brush it began with, whatever is picked meanwhile (a swatch clicked
    // in the frame the pointer went up).
    let Some((tail, brush)) = state.drawing.open_end(me) else {
        return;
    };
    let (dx, dy) = (to.x as i32 - tail.x as i32, to.y as i32 - tail.y as i32);
    if dx * dx + dy * dy < MIN_STEP * MIN_STEP {
        return;
    }
    if state.drawing.extend(me, &[to]).is_ok() {
        state.pending.push(to);
        paint.write(PaintCanvas::Segments {
            brush,
            points: vec![tail, to],
        });
    }
}

/// Adds the fills the renderer worked out to the drawing, shows them and sends them, if the
/// pen is still this player's.
fn apply_fills(
    mut state: ResMut<CanvasState>,
    roster: Res<Roster>,
    mut computed: MessageReader<FillComputed>,
    mut paint: MessageWriter<PaintCanvas>,
    mut out: MessageWriter<ToServer<CanvasToServer>>,
) {
    for FillComputed { at, colour, mask } in computed.read() {
        let Some(me) = roster.me.filter(|&me| state.pen == Some(me)) else {
            continue;
        };
        // A stroke begun while the board was read back ends first, its points sent.
        flush_pending(&mut state, &mut out);
        if state.drawing.finish(me) {
            out.write(ToServer(CanvasToServer::End));
        }
        match state.drawing.fill(me, *at, *colour, mask.clone()) {
            Ok(()) => {
                state.refused = None;
                let shared = state
                    .drawing
                    .strokes()
                    .last()
                    .and_then(|s| s.fill.clone())
                    .expect("the fill was just added");
                paint.write(PaintCanvas::Fill {
                    colour: *colour,
                    mask: shared,
                });
                out.write(ToServer(CanvasToServer::Fill {
                    at: *at,
                    colour: *colour,
                    mask: mask.clone(),
                }));
            }
            Err(why) => state.refused = Some(why),
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
