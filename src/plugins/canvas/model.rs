//! The drawing as data: strokes on a fixed logical board, who holds the pen, and the rules
//! for changing them. Plain Rust: the server validates with it, clients mirror with it, and
//! the renderer only ever draws what it says.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::fill::{FillMask, MAX_FILLS};
use crate::id::ClientId;

/// The board every client maps to its window (aspect ratio kept); wire coordinates are
/// board units.
pub const BOARD_WIDTH: i16 = 1600;
pub const BOARD_HEIGHT: i16 = 900;
/// Brush diameters, in board units.
pub const MIN_BRUSH: u8 = 2;
pub const MAX_BRUSH: u8 = 80;
/// Points in one stroke, in one batch, and in one drawing (all strokes of a turn).
pub const MAX_STROKE_POINTS: usize = 4096;
pub const MAX_BATCH_POINTS: usize = 512;
pub const MAX_DRAWING_POINTS: usize = 100_000;
/// What a stroke and each of its points weigh in a log on the wire, at most.
const STROKE_LOG_BYTES: usize = 16;
const POINT_LOG_BYTES: usize = 6;
/// The most a drawing's log may weigh on the wire, by [`Stroke::log_bytes`]'s bound: a joiner
/// gets the whole log at once, and it must fit the joiner's send budget (1 MiB) with room for
/// the room's traffic meanwhile. (Without it, a drawing of many one-point strokes or 32 fills of
/// the most runs came to about 1.5 MB, and every joiner was dropped as a slow reader.)
pub const MAX_LOG_BYTES: usize = 768 * 1024;
/// The pen can be taken from a holder idle this long.
pub const PEN_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// 16 colours, Catch Mind style: black, greys, then the rainbow and browns.
pub const PALETTE: [[u8; 3]; 16] = [
    [20, 20, 20],
    [110, 110, 110],
    [190, 190, 190],
    [255, 255, 255],
    [220, 40, 40],
    [255, 140, 0],
    [250, 210, 20],
    [60, 180, 60],
    [20, 120, 60],
    [60, 190, 230],
    [30, 80, 220],
    [120, 60, 200],
    [230, 100, 180],
    [250, 190, 160],
    [140, 80, 40],
    [80, 50, 30],
];

/// A point on the board, in board units.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BoardPoint {
    pub x: i16,
    pub y: i16,
}

impl BoardPoint {
    pub const fn new(x: i16, y: i16) -> Self {
        Self { x, y }
    }

    /// Quantises a position in board units; `None` for NaN, infinities and points off the
    /// board (the wire carries integers, so nothing else can reach a peer).
    pub fn from_f32(x: f32, y: f32) -> Option<Self> {
        let inside = |v: f32, max: i16| v.is_finite() && (0.0..=max as f32).contains(&v);
        (inside(x, BOARD_WIDTH) && inside(y, BOARD_HEIGHT))
            .then(|| Self::new(x.round() as i16, y.round() as i16))
    }

    pub fn on_board(self) -> bool {
        (0..=BOARD_WIDTH).contains(&self.x) && (0..=BOARD_HEIGHT).contains(&self.y)
    }
}

/// How a stroke is drawn; sent once, at the stroke's start.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Brush {
    /// sRGB colour; ignored by the eraser, which paints the background.
    pub colour: [u8; 3],
    /// Diameter in board units.
    pub size: u8,
    pub eraser: bool,
}

impl Brush {
    /// The server's clamp: sizes outside the range are brought into it.
    pub fn clamped(self) -> Self {
        Self {
            size: self.size.clamp(MIN_BRUSH, MAX_BRUSH),
            ..self
        }
    }
}

/// Small steps from one point to the next: with bincode's zig-zag varints a step under 64
/// units in each axis costs two bytes.
pub type Delta = [i16; 2];

pub fn encode_deltas(mut previous: BoardPoint, points: &[BoardPoint]) -> Vec<Delta> {
    points
        .iter()
        .map(|&p| {
            let delta = [p.x - previous.x, p.y - previous.y];
            previous = p;
            delta
        })
        .collect()
}

/// Rebuilds points from deltas; every point must stay on the board.
pub fn decode_deltas(mut previous: BoardPoint, deltas: &[Delta]) -> Result<Vec<BoardPoint>, CanvasError> {
    deltas
        .iter()
        .map(|&[dx, dy]| {
            let x = previous.x.checked_add(dx).ok_or(CanvasError::OffBoard)?;
            let y = previous.y.checked_add(dy).ok_or(CanvasError::OffBoard)?;
            let point = BoardPoint::new(x, y);
            if !point.on_board() {
                return Err(CanvasError::OffBoard);
            }
            previous = point;
            Ok(point)
        })
        .collect()
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum CanvasError {
    #[error("you do not hold the pen")]
    NotYourPen,
    #[error("someone else holds the pen (it frees up after 10 s without drawing)")]
    PenBusy,
    #[error("a point lies off the board")]
    OffBoard,
    #[error("too many points in one stroke (at most {MAX_STROKE_POINTS})")]
    StrokeTooLong,
    #[error("too many points in one message (at most {MAX_BATCH_POINTS})")]
    BatchTooLarge,
    #[error("the drawing is full ({MAX_DRAWING_POINTS} points); clear it to go on")]
    DrawingFull,
    #[error("no stroke in progress")]
    NoStroke,
    #[error("during a game only the player whose turn it is draws")]
    NotYourTurn,
    #[error("nothing of yours to undo")]
    NothingToUndo,
    #[error("the board is already clear")]
    AlreadyClear,
    #[error("spectators watch: they do not draw")]
    Spectating,
    #[error("that fill is not a region of the board")]
    BadFill,
    #[error("that fill has too many edges (at most {} runs)", super::fill::MAX_FILL_RUNS)]
    FillTooDetailed,
    #[error(
        "the drawing has {} fills already; undo one to fill again",
        super::fill::MAX_FILLS
    )]
    TooManyFills,
    #[error("that drawing is no longer kept")]
    NoSuchDrawing,
    #[error("too many drawings asked for; try again in a few seconds")]
    ReplayLater,
    #[error("the drawing is as large as a picture can be to send; undo or clear to go on")]
    PictureFull,
}

/// One entry of the log: a stroke (a brush and the points it passes through) or a fill (the
/// brush's colour over `fill`, clicked at its one point).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Stroke {
    pub author: ClientId,
    pub brush: Brush,
    pub points: Vec<BoardPoint>,
    /// A fill's region (shared: the log's chunks and the renderer hold the same mask).
    pub fill: Option<std::sync::Arc<FillMask>>,
}

impl Stroke {
    /// At most what this stroke weighs in a drawing's log on the wire: per point two 3-byte
    /// varints, the brush and author, and a fill's runs (two 3-byte varints each) and a length
    /// per row.
    pub fn log_bytes(&self) -> usize {
        let fill = self
            .fill
            .as_ref()
            .map_or(0, |m| m.run_count() * 6 + m.rows.len() * 3);
        STROKE_LOG_BYTES + self.points.len() * POINT_LOG_BYTES + fill
    }

    /// A fill of `mask` with `colour`, clicked at `at`.
    pub fn fill(author: ClientId, at: BoardPoint, colour: [u8; 3], mask: FillMask) -> Self {
        Self {
            author,
            brush: Brush {
                colour,
                size: MIN_BRUSH,
                eraser: false,
            },
            points: vec![at],
            fill: Some(std::sync::Arc::new(mask)),
        }
    }
}

/// A room's drawing: the log of strokes, oldest first.
#[derive(Debug, Default, Clone)]
pub struct Drawing {
    strokes: Vec<Stroke>,
    /// The stroke each author is drawing now, by index into `strokes`.
    open: Option<(ClientId, usize)>,
    points: usize,
    /// Entries that are fills (see [`MAX_FILLS`]).
    fills: usize,
    /// The log's weight on the wire, at most (see [`MAX_LOG_BYTES`]).
    log_bytes: usize,
    /// Counts changes, so what is made from the drawing (its log, encoded) can be kept until
    /// the next one.
    revision: u64,
}

/// Two drawings are equal when they hold the same strokes, however they came to.
impl PartialEq for Drawing {
    fn eq(&self, other: &Self) -> bool {
        (&self.strokes, self.open, self.points) == (&other.strokes, other.open, other.points)
    }
}

impl Eq for Drawing {}

impl Drawing {
    /// Changes with every change of the drawing.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn strokes(&self) -> &[Stroke] {
        &self.strokes
    }

    pub fn point_count(&self) -> usize {
        self.points
    }

    /// Starts a stroke at `at` (finishing any stroke still open).
    pub fn start(&mut self, author: ClientId, brush: Brush, at: BoardPoint) -> Result<(), CanvasError> {
        if !at.on_board() {
            return Err(CanvasError::OffBoard);
        }
        if self.points + 1 > MAX_DRAWING_POINTS {
            return Err(CanvasError::DrawingFull);
        }
        self.weigh(STROKE_LOG_BYTES + POINT_LOG_BYTES)?;
        self.strokes.push(Stroke {
            author,
            brush: brush.clamped(),
            points: vec![at],
            fill: None,
        });
        self.open = Some((author, self.strokes.len() - 1));
        self.points += 1;
        self.revision += 1;
        Ok(())
    }

    /// Adds points to `author`'s open stroke.
    pub fn extend(&mut self, author: ClientId, points: &[BoardPoint]) -> Result<(), CanvasError> {
        let index = match self.open {
            Some((who, index)) if who == author => index,
            _ => return Err(CanvasError::NoStroke),
        };
        if points.len() > MAX_BATCH_POINTS {
            return Err(CanvasError::BatchTooLarge);
        }
        if points.iter().any(|p| !p.on_board()) {
            return Err(CanvasError::OffBoard);
        }
        if self.points + points.len() > MAX_DRAWING_POINTS {
            return Err(CanvasError::DrawingFull);
        }
        if self.strokes[index].points.len() + points.len() > MAX_STROKE_POINTS {
            return Err(CanvasError::StrokeTooLong);
        }
        self.weigh(points.len() * POINT_LOG_BYTES)?;
        self.strokes[index].points.extend_from_slice(points);
        self.points += points.len();
        self.revision += 1;
        Ok(())
    }

    /// The last point of `author`'s open stroke (deltas continue from it), and the brush the
    /// stroke began with (its next segments are painted with it, whatever is picked meanwhile).
    pub fn open_end(&self, author: ClientId) -> Option<(BoardPoint, Brush)> {
        match self.open {
            Some((who, index)) if who == author => {
                let stroke = &self.strokes[index];
                Some((*stroke.points.last()?, stroke.brush))
            }
            _ => None,
        }
    }

    /// The last point of `author`'s open stroke (deltas continue from it).
    pub fn open_tail(&self, author: ClientId) -> Option<BoardPoint> {
        self.open_end(author).map(|(tail, _)| tail)
    }

    /// Ends `author`'s open stroke; whether there was one.
    pub fn finish(&mut self, author: ClientId) -> bool {
        let open = matches!(self.open, Some((who, _)) if who == author);
        if open {
            self.open = None;
            self.revision += 1;
        }
        open
    }

    /// Removes `author`'s most recent stroke; whether there was one.
    pub fn undo(&mut self, author: ClientId) -> bool {
        let Some(index) = self.strokes.iter().rposition(|s| s.author == author) else {
            return false;
        };
        if matches!(self.open, Some((_, open)) if open == index) {
            self.open = None;
        } else if let Some((who, open)) = self.open
            && open > index
        {
            self.open = Some((who, open - 1));
        }
        let stroke = self.strokes.remove(index);
        self.points -= stroke.points.len();
        self.fills -= usize::from(stroke.fill.is_some());
        self.log_bytes -= stroke.log_bytes();
        self.revision += 1;
        true
    }

    /// Empties the drawing; cannot be undone.
    pub fn clear(&mut self) {
        self.strokes.clear();
        self.open = None;
        self.points = 0;
        self.fills = 0;
        self.log_bytes = 0;
        self.revision += 1;
    }

    /// Adds `bytes` to the log's weight, if it stays within [`MAX_LOG_BYTES`].
    fn weigh(&mut self, bytes: usize) -> Result<(), CanvasError> {
        if self.log_bytes + bytes > MAX_LOG_BYTES {
            return Err(CanvasError::PictureFull);
        }
        self.log_bytes += bytes;
        Ok(())
    }

    /// Who is drawing the open stroke (always the last one), if any.
    pub fn open_author(&self) -> Option<ClientId> {
        self.open.map(|(who, _)| who)
    }

    /// Marks the last stroke as still being drawn (after a log that ended mid-stroke).
    pub fn reopen_last(&mut self) {
        if let Some(last) = self.strokes.last() {
            self.open = Some((last.author, self.strokes.len() - 1));
            self.revision += 1;
        }
    }

    /// Applies one chunk of the log the server sends: `replace` starts over, `open` means
    /// its last stroke is still being drawn.
    pub fn apply_log(&mut self, strokes: &[Stroke], replace: bool, open: bool) {
        if replace {
            self.clear();
        }
        for stroke in strokes {
            // A valid server never breaks the caps; a hostile one cannot grow the mirror.
            if self.push(stroke.clone()).is_err() {
                break;
            }
        }
        if open {
            self.reopen_last();
        }
    }

    /// A fill by `author` (finishing their open stroke first), under the caps.
    pub fn fill(
        &mut self,
        author: ClientId,
        at: BoardPoint,
        colour: [u8; 3],
        mask: FillMask,
    ) -> Result<(), CanvasError> {
        if !at.on_board() {
            return Err(CanvasError::OffBoard);
        }
        let stroke = Stroke::fill(author, at, colour, mask);
        let was_open = self.open;
        self.finish(author);
        let result = self.push(stroke);
        if result.is_err() {
            self.open = was_open;
        }
        result
    }

    /// Appends a complete stroke received from the server (late-join log, client mirror),
    /// under the same caps as strokes drawn here.
    pub fn push(&mut self, stroke: Stroke) -> Result<(), CanvasError> {
        if stroke.points.is_empty() || stroke.points.iter().any(|p| !p.on_board()) {
            return Err(CanvasError::OffBoard);
        }
        if stroke.points.len() > MAX_STROKE_POINTS {
            return Err(CanvasError::StrokeTooLong);
        }
        if self.points + stroke.points.len() > MAX_DRAWING_POINTS {
            return Err(CanvasError::DrawingFull);
        }
        if let Some(mask) = &stroke.fill {
            if stroke.points.len() != 1 {
                return Err(CanvasError::BadFill);
            }
            mask.validate()?;
            if self.fills >= MAX_FILLS {
                return Err(CanvasError::TooManyFills);
            }
        }
        self.weigh(stroke.log_bytes())?;
        self.fills += usize::from(stroke.fill.is_some());
        self.points += stroke.points.len();
        self.strokes.push(Stroke {
            brush: stroke.brush.clamped(),
            ..stroke
        });
        self.revision += 1;
        Ok(())
    }
}

/// Who may draw: in a room without a game, one player at a time, taken and released at
/// will; during a game, the drawer whose turn it is (the pen is locked to them).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pen {
    holder: Option<ClientId>,
    last_active: Duration,
    locked: bool,
}

impl Pen {
    pub fn holder(&self) -> Option<ClientId> {
        self.holder
    }

    pub fn locked(&self) -> bool {
        self.locked
    }

    /// Locks the pen to `holder` (a game's drawer, or nobody between turns): nobody can take
    /// or release it until [`Pen::unlock`].
    pub fn lock_to(&mut self, holder: Option<ClientId>, now: Duration) {
        self.holder = holder;
        self.locked = true;
        self.last_active = now;
    }

    /// Back to free drawing, with the pen free.
    pub fn unlock(&mut self) {
        self.holder = None;
        self.locked = false;
    }

    /// Takes the pen if it is free, already ours, or its holder has been idle for
    /// [`PEN_IDLE_TIMEOUT`]. `now` is time since any fixed start.
    /// While a game locks it, only its holder "takes" it (and nothing changes).
    pub fn take(&mut self, who: ClientId, now: Duration) -> Result<(), CanvasError> {
        if self.holder == Some(who) {
            return Ok(());
        }
        if self.locked {
            return Err(CanvasError::NotYourTurn);
        }
        let free = match self.holder {
            None => true,
            Some(_) => now.saturating_sub(self.last_active) >= PEN_IDLE_TIMEOUT,
        };
        if !free {
            return Err(CanvasError::PenBusy);
        }
        self.holder = Some(who);
        self.last_active = now;
        Ok(())
    }

    /// Releases the pen if `who` holds it (the button); returns whether it did. A game's
    /// drawer keeps it for the turn.
    pub fn release(&mut self, who: ClientId) -> Result<bool, CanvasError> {
        if self.holder != Some(who) {
            return Ok(false);
        }
        if self.locked {
            return Err(CanvasError::NotYourTurn);
        }
        self.holder = None;
        Ok(true)
    }

    /// The holder left the room: the pen is free (and stays locked during a game).
    pub fn holder_left(&mut self, who: ClientId) -> bool {
        let held = self.holder == Some(who);
        if held {
            self.holder = None;
        }
        held
    }

    /// Checks that `who` may draw now.
    pub fn may_draw(&self, who: ClientId) -> Result<(), CanvasError> {
        if self.holder != Some(who) {
            return Err(if self.locked {
                CanvasError::NotYourTurn
            } else {
                CanvasError::NotYourPen
            });
        }
        Ok(())
    }

    /// The holder's ink was accepted at `now`: only that keeps the pen from an idle takeover
    /// (an undo with nothing to undo, say, does not).
    pub fn inked(&mut self, now: Duration) {
        self.last_active = now;
    }
}

impl crate::i18n::Describe for CanvasError {
    fn describe(&self) -> String {
        use crate::t;
        match self {
            CanvasError::NotYourPen => t!("err-canvas-not-your-pen"),
            CanvasError::PenBusy => t!("err-canvas-pen-busy"),
            CanvasError::OffBoard => t!("err-canvas-off-board"),
            CanvasError::StrokeTooLong => t!("err-canvas-stroke-too-long", max = MAX_STROKE_POINTS as u64),
            CanvasError::BatchTooLarge => t!("err-canvas-batch-too-large", max = MAX_BATCH_POINTS as u64),
            CanvasError::DrawingFull => t!("err-canvas-drawing-full", max = MAX_DRAWING_POINTS as u64),
            CanvasError::NoStroke => t!("err-canvas-no-stroke"),
            CanvasError::NotYourTurn => t!("err-canvas-not-your-turn"),
            CanvasError::NothingToUndo => t!("err-canvas-nothing-to-undo"),
            CanvasError::AlreadyClear => t!("err-canvas-already-clear"),
            CanvasError::Spectating => t!("err-canvas-spectating"),
            CanvasError::BadFill => t!("err-canvas-bad-fill"),
            CanvasError::FillTooDetailed => t!(
                "err-canvas-fill-detailed",
                max = super::fill::MAX_FILL_RUNS as u64
            ),
            CanvasError::TooManyFills => t!("err-canvas-too-many-fills", max = super::fill::MAX_FILLS as u64),
            CanvasError::NoSuchDrawing => t!("err-canvas-no-such-drawing"),
            CanvasError::ReplayLater => t!("err-canvas-replay-later"),
            CanvasError::PictureFull => t!("err-canvas-picture-full"),
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Players, a brush and points the canvas tests share.
    use super::{BoardPoint, Brush};
    use crate::id::ClientId;

    pub const A: ClientId = ClientId(1);
    pub const B: ClientId = ClientId(2);
    pub const INK: Brush = Brush {
        colour: [200, 0, 0],
        size: 10,
        eraser: false,
    };

    pub fn p(x: i16, y: i16) -> BoardPoint {
        BoardPoint::new(x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{A, B, INK, p};
    use super::*;

    #[test]
    fn deltas_round_trip_and_stay_small_on_the_wire() {
        let start = p(800, 450);
        let points = [p(801, 452), p(805, 449), p(900, 300), p(0, 900), p(1600, 0)];
        let deltas = encode_deltas(start, &points);
        assert_eq!(decode_deltas(start, &deltas).unwrap(), points);
        let small = encode_deltas(start, &[p(803, 447), p(806, 445), p(810, 446)]);
        let bytes = crate::codec::encode(&small).unwrap();
        assert_eq!(
            bytes.len(),
            1 + 3 * 2,
            "length byte plus one byte per axis per point"
        );
    }

    #[test]
    fn decoding_rejects_points_off_the_board_and_overflow() {
        assert_eq!(decode_deltas(p(1600, 0), &[[1, 0]]), Err(CanvasError::OffBoard));
        assert_eq!(decode_deltas(p(0, 0), &[[0, -1]]), Err(CanvasError::OffBoard));
        assert_eq!(
            decode_deltas(p(1600, 900), &[[i16::MAX, 0]]),
            Err(CanvasError::OffBoard)
        );
    }

    #[test]
    fn quantising_rejects_nan_infinities_and_off_board_values() {
        assert_eq!(BoardPoint::from_f32(10.4, 20.6), Some(p(10, 21)));
        for (x, y) in [
            (f32::NAN, 1.0),
            (1.0, f32::INFINITY),
            (f32::NEG_INFINITY, 0.0),
            (-0.6, 5.0),
            (1600.6, 5.0),
            (5.0, 1e30),
        ] {
            assert_eq!(BoardPoint::from_f32(x, y), None, "{x}, {y}");
        }
    }

    #[test]
    fn strokes_are_capped() {
        let mut drawing = Drawing::default();
        drawing.start(A, INK, p(0, 0)).unwrap();
        let batch = vec![p(1, 1); MAX_BATCH_POINTS + 1];
        assert_eq!(drawing.extend(A, &batch), Err(CanvasError::BatchTooLarge));
        let batch = vec![p(1, 1); MAX_BATCH_POINTS];
        for _ in 0..(MAX_STROKE_POINTS / MAX_BATCH_POINTS - 1) {
            drawing.extend(A, &batch).unwrap();
        }
        assert_eq!(drawing.extend(A, &batch), Err(CanvasError::StrokeTooLong));
        assert_eq!(drawing.extend(A, &[p(-1, 0)]), Err(CanvasError::OffBoard));
        assert_eq!(drawing.extend(B, &[p(1, 0)]), Err(CanvasError::NoStroke));
        assert_eq!(drawing.start(A, INK, p(1601, 0)), Err(CanvasError::OffBoard));
    }

    #[test]
    fn the_whole_drawing_is_capped() {
        let mut drawing = Drawing::default();
        let batch = vec![p(5, 5); MAX_BATCH_POINTS];
        let mut result = Ok(());
        while result.is_ok() {
            drawing.start(A, INK, p(5, 5)).unwrap_or(());
            result = (0..4).try_for_each(|_| drawing.extend(A, &batch));
        }
        // Strokes of 1 + 4 x 512 = 2,049 points: 48 fit (98,352 points); the 49th stops after
        // its start and three batches (99,889), as the fourth would pass 100,000.
        assert_eq!(result, Err(CanvasError::DrawingFull));
        assert_eq!(drawing.point_count(), 48 * 2049 + 1 + 3 * MAX_BATCH_POINTS);
        // Exactly up to the cap, and not one point more.
        let rest = vec![p(5, 5); MAX_DRAWING_POINTS - drawing.point_count()];
        assert_eq!(drawing.extend(A, &rest), Ok(()));
        assert_eq!(drawing.point_count(), MAX_DRAWING_POINTS);
        assert_eq!(drawing.extend(A, &[p(5, 5)]), Err(CanvasError::DrawingFull));
        assert_eq!(drawing.start(A, INK, p(5, 5)), Err(CanvasError::DrawingFull));
    }

    #[test]
    fn a_drawing_weighs_at_most_what_a_joiner_is_sent_at_once() {
        let sent = |drawing: &Drawing| -> usize {
            let chunks = crate::plugins::canvas::wire::log_chunks(drawing);
            chunks
                .iter()
                .map(|c| crate::codec::encode(c).unwrap().len())
                .sum()
        };
        // One-point strokes: the log's weight stops them long before the point cap.
        let mut drawing = Drawing::default();
        let mut strokes = 0;
        while drawing.start(A, INK, p(1500, 800)).is_ok() {
            strokes += 1;
        }
        assert_eq!(drawing.start(A, INK, p(1, 1)), Err(CanvasError::PictureFull));
        assert_eq!(strokes, MAX_LOG_BYTES / (STROKE_LOG_BYTES + POINT_LOG_BYTES));
        let bytes = sent(&drawing);
        assert!(bytes <= MAX_LOG_BYTES, "{bytes} bytes sent");
        // Undo gives its weight back.
        assert!(drawing.undo(A));
        assert_eq!(drawing.start(A, INK, p(1, 1)), Ok(()));

        // The most detailed fills (8,000 runs): 15 fit, well before the 32 fills allowed.
        let rows: Vec<Vec<u16>> = (0..800).map(|_| [1, 1].repeat(10)).collect();
        let mask = FillMask { top: 0, rows };
        let mut drawing = Drawing::default();
        let mut fills = 0;
        let refused = loop {
            match drawing.fill(A, p(1, 0), [200, 0, 0], mask.clone()) {
                Ok(()) => fills += 1,
                Err(why) => break why,
            }
        };
        assert_eq!((fills, refused), (15, CanvasError::PictureFull));
        // Long strokes up to the point cap fit beside a fill.
        let mut drawing = Drawing::default();
        drawing.fill(A, p(1, 0), [200, 0, 0], mask).unwrap();
        let batch = vec![p(1500, 800); MAX_BATCH_POINTS];
        while drawing.point_count() + 1 + 7 * MAX_BATCH_POINTS <= MAX_DRAWING_POINTS {
            drawing.start(A, INK, p(1500, 800)).unwrap();
            for _ in 0..7 {
                drawing.extend(A, &batch).unwrap();
            }
        }
        let bytes = sent(&drawing);
        assert!(bytes <= MAX_LOG_BYTES, "{bytes} bytes sent");
    }

    #[test]
    fn brush_sizes_are_clamped() {
        let mut drawing = Drawing::default();
        drawing.start(A, Brush { size: 255, ..INK }, p(1, 1)).unwrap();
        drawing.start(A, Brush { size: 0, ..INK }, p(1, 1)).unwrap();
        let sizes: Vec<u8> = drawing.strokes().iter().map(|s| s.brush.size).collect();
        assert_eq!(sizes, [MAX_BRUSH, MIN_BRUSH]);
    }

    #[test]
    fn undo_removes_the_authors_last_stroke_and_clear_removes_all() {
        let mut drawing = Drawing::default();
        drawing.start(A, INK, p(1, 1)).unwrap();
        drawing.extend(A, &[p(2, 2)]).unwrap();
        drawing.finish(A);
        drawing.start(B, INK, p(3, 3)).unwrap();
        drawing.finish(B);
        drawing.start(A, INK, p(4, 4)).unwrap();
        assert!(drawing.undo(A), "undoing the open stroke");
        assert_eq!(drawing.extend(A, &[p(5, 5)]), Err(CanvasError::NoStroke));
        assert!(drawing.undo(A));
        assert_eq!(drawing.strokes().len(), 1);
        assert_eq!(drawing.strokes()[0].author, B);
        assert!(!drawing.undo(A), "nothing of A's left");
        assert_eq!(drawing.point_count(), 1);
        drawing.clear();
        assert!(drawing.strokes().is_empty());
        assert_eq!(drawing.point_count(), 0);
    }

    #[test]
    fn replaying_the_log_gives_the_same_drawing() {
        let mut live = Drawing::default();
        live.start(A, INK, p(10, 10)).unwrap();
        live.extend(A, &[p(11, 12), p(15, 19)]).unwrap();
        live.finish(A);
        live.start(A, Brush { eraser: true, ..INK }, p(12, 12)).unwrap();
        live.extend(A, &[p(13, 13)]).unwrap();
        live.finish(A);
        let mut replayed = Drawing::default();
        for stroke in live.strokes() {
            replayed.push(stroke.clone()).unwrap();
        }
        assert_eq!(replayed, live);
    }

    #[test]
    fn strokes_from_a_log_obey_the_same_caps() {
        let stroke = |n: usize| Stroke {
            author: A,
            brush: INK,
            points: vec![p(1, 1); n],
            fill: None,
        };
        let mut drawing = Drawing::default();
        assert_eq!(drawing.push(stroke(0)), Err(CanvasError::OffBoard));
        assert_eq!(
            drawing.push(Stroke {
                points: vec![p(-5, 1)],
                ..stroke(1)
            }),
            Err(CanvasError::OffBoard)
        );
        assert_eq!(
            drawing.push(stroke(MAX_STROKE_POINTS + 1)),
            Err(CanvasError::StrokeTooLong)
        );
        let mut pushed = 0;
        while drawing.push(stroke(MAX_STROKE_POINTS)).is_ok() {
            pushed += 1;
        }
        assert_eq!(pushed, MAX_DRAWING_POINTS / MAX_STROKE_POINTS);
        assert_eq!(
            drawing.push(stroke(MAX_STROKE_POINTS)),
            Err(CanvasError::DrawingFull)
        );
        assert!(drawing.point_count() <= MAX_DRAWING_POINTS);
    }

    #[test]
    fn the_pen_goes_to_one_player_and_can_be_taken_when_idle() {
        let s = Duration::from_secs;
        let mut pen = Pen::default();
        assert_eq!(pen.take(A, s(0)), Ok(()));
        assert_eq!(pen.take(B, s(5)), Err(CanvasError::PenBusy), "A is still active");
        assert_eq!(pen.may_draw(B), Err(CanvasError::NotYourPen));
        pen.may_draw(A).unwrap();
        pen.inked(s(8));
        assert_eq!(pen.take(B, s(17)), Err(CanvasError::PenBusy), "A drew 9 s ago");
        assert_eq!(pen.take(B, s(18)), Ok(()), "A idle for 10 s");
        assert_eq!(pen.holder(), Some(B));
        assert_eq!(pen.release(A), Ok(false));
        assert_eq!(pen.release(B), Ok(true));
        assert_eq!(pen.holder(), None);
    }
}
