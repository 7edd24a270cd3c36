//! What the canvas plugin puts on the wire, and how a drawing is cut into frames.

use serde::{Deserialize, Serialize};

use super::fill::FillMask;
use super::model::{BoardPoint, Brush, CanvasError, Delta, Drawing, Stroke};
use crate::id::ClientId;
use crate::plugins::net::{NetApp, WireMessage};

/// Log frames stay well under the 64 KiB frame cap.
const LOG_CHUNK_BYTES: usize = 48 * 1024;

pub(super) fn plugin(app: &mut bevy::prelude::App) {
    app.add_client_message::<CanvasToServer>()
        .add_server_message::<CanvasToClient>();
}

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
    /// Fills the region `mask` with `colour` (the click was at `at`).
    Fill {
        at: BoardPoint,
        colour: [u8; 3],
        mask: FillMask,
    },
    /// Asks for a drawing of the game's album (its key from the quiz's album), to replay it.
    Replay {
        key: u32,
    },
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
    Fill {
        author: ClientId,
        at: BoardPoint,
        colour: [u8; 3],
        mask: std::sync::Arc<FillMask>,
    },
    /// The drawing so far, in chunks under the frame cap; `replace` on the first chunk, and
    /// `open` on the last when its last stroke is still being drawn.
    Log {
        /// Shared: a picture's chunks are made once per change of the drawing.
        strokes: std::sync::Arc<[Stroke]>,
        replace: bool,
        open: bool,
    },
    /// Your last canvas request was refused, and why.
    Refused(CanvasError),
    /// A drawing of the album, as it was drawn, in chunks under the frame cap (`last` on the
    /// last; `cut_short`: the server stopped recording a very long turn).
    Replay {
        key: u32,
        ops: std::sync::Arc<[TimedOp]>,
        last: bool,
        cut_short: bool,
    },
}

/// One change of a drawing, `ms` after the turn's first.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TimedOp {
    pub ms: u32,
    pub op: ReplayOp,
}

/// A change's own weight in a recording: a [`TimedOp`] is at most 12 points' worth of memory
/// (48 bytes; a unit test checks).
pub const CHANGE_WEIGHT: usize = 12;

/// The changes a replay is made of (as the room saw them live).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum ReplayOp {
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
    Fill {
        author: ClientId,
        at: BoardPoint,
        colour: [u8; 3],
        mask: std::sync::Arc<FillMask>,
    },
}

impl ReplayOp {
    /// What the server relayed, as a change to replay (pen changes and the rest are not).
    pub fn from_relayed(msg: &CanvasToClient) -> Option<Self> {
        Some(match msg {
            CanvasToClient::Start { author, brush, at } => Self::Start {
                author: *author,
                brush: *brush,
                at: *at,
            },
            CanvasToClient::Points { author, deltas } => Self::Points {
                author: *author,
                deltas: deltas.clone(),
            },
            CanvasToClient::End { author } => Self::End { author: *author },
            CanvasToClient::Undo { author } => Self::Undo { author: *author },
            CanvasToClient::Clear => Self::Clear,
            CanvasToClient::Fill {
                author,
                at,
                colour,
                mask,
            } => Self::Fill {
                author: *author,
                at: *at,
                colour: *colour,
                mask: mask.clone(),
            },
            _ => return None,
        })
    }

    /// What it weighs in a recording, in units of a point (4 bytes): [`CHANGE_WEIGHT`] for the
    /// change itself (what a [`TimedOp`] takes in memory) and its points (a fill its rows and
    /// runs), so no change is free and a room's recordings stay small in memory.
    pub fn points(&self) -> usize {
        CHANGE_WEIGHT
            + match self {
                Self::Points { deltas, .. } => deltas.len(),
                Self::Fill { mask, .. } => mask.rows.len() + mask.run_count(),
                _ => 0,
            }
    }

    /// A bound on its encoded size.
    fn size_estimate(&self) -> usize {
        match self {
            Self::Fill { mask, .. } => 32 + mask.run_count() * 6 + mask.rows.len() * 3,
            Self::Points { deltas, .. } => 16 + deltas.len() * 6,
            _ => 32,
        }
    }

    /// Applies it to a drawing (a replay, or a test's check of one).
    pub fn apply(&self, drawing: &mut Drawing) -> Result<(), CanvasError> {
        match self {
            Self::Start { author, brush, at } => drawing.start(*author, *brush, *at),
            Self::Points { author, deltas } => {
                let tail = drawing.open_tail(*author).ok_or(CanvasError::NoStroke)?;
                let points = super::model::decode_deltas(tail, deltas)?;
                drawing.extend(*author, &points)
            }
            Self::End { author } => {
                drawing.finish(*author);
                Ok(())
            }
            Self::Undo { author } => match drawing.undo(*author) {
                true => Ok(()),
                false => Err(CanvasError::NothingToUndo),
            },
            Self::Clear => {
                drawing.clear();
                Ok(())
            }
            Self::Fill {
                author,
                at,
                colour,
                mask,
            } => drawing.fill(*author, *at, *colour, (**mask).clone()),
        }
    }
}

/// Splits a replay into messages that each encode under [`LOG_CHUNK_BYTES`].
pub fn replay_chunks(key: u32, ops: &[TimedOp], cut_short: bool) -> Vec<CanvasToClient> {
    let mut chunks: Vec<Vec<TimedOp>> = vec![Vec::new()];
    let mut size = 0;
    for op in ops {
        let estimate = 8 + op.op.size_estimate();
        if size + estimate > LOG_CHUNK_BYTES && !chunks.last().is_some_and(Vec::is_empty) {
            chunks.push(Vec::new());
            size = 0;
        }
        chunks.last_mut().expect("never empty").push(op.clone());
        size += estimate;
    }
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, ops)| CanvasToClient::Replay {
            key,
            ops: ops.into(),
            last: i == last,
            cut_short,
        })
        .collect()
}

impl WireMessage for CanvasToServer {
    const NAME: &'static str = "canvas.to_server";
    /// 2: `Fill`; 3: `Replay`.
    const VERSION: u16 = 3;
}

impl WireMessage for CanvasToClient {
    const NAME: &'static str = "canvas.to_client";
    /// 2: refusals for no-op requests (`NothingToUndo`, `AlreadyClear`); 3: `Spectating`; 4:
    /// `Fill`, fills in the log, their refusals; 5: `Replay`, its refusals; 6: `PictureFull`.
    const VERSION: u16 = 6;
}

/// Splits a drawing into log messages that each encode under [`LOG_CHUNK_BYTES`].
pub fn log_chunks(drawing: &Drawing) -> Vec<CanvasToClient> {
    let mut chunks = vec![Vec::new()];
    let mut size = 0;
    for stroke in drawing.strokes() {
        let estimate = stroke.log_bytes();
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
            strokes: strokes.into(),
            replace: i == 0,
            open: open && i == last,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::canvas::model::{
        self,
        fixtures::{A, INK, p},
    };

    #[test]
    fn replay_chunks_fit_under_the_frame_cap_and_keep_every_change_in_order() {
        use crate::plugins::canvas::fill::{FillMask, MAX_FILL_RUNS};
        // Detailed fills (large gaps: three-byte varints) between full batches of points.
        let detailed = std::sync::Arc::new(FillMask {
            top: 0,
            rows: (0..800)
                .map(|_| [300u16, 300].repeat(MAX_FILL_RUNS / 800))
                .collect(),
        });
        let mut ops = Vec::new();
        for i in 0..20u32 {
            let op = match i % 2 {
                0 => ReplayOp::Fill {
                    author: A,
                    at: p(1, 1),
                    colour: [1, 2, 3],
                    mask: detailed.clone(),
                },
                _ => ReplayOp::Points {
                    author: A,
                    deltas: vec![[-3000, 3000]; model::MAX_BATCH_POINTS],
                },
            };
            ops.push(TimedOp { ms: i * 10, op });
        }
        let chunks = replay_chunks(7, &ops, false);
        assert!(chunks.len() > 1);
        let mut again = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let bytes = crate::codec::encode(&(u32::MAX, chunk.clone())).unwrap();
            assert!(
                bytes.len() <= crate::codec::MAX_FRAME_LEN,
                "{} bytes",
                bytes.len()
            );
            let CanvasToClient::Replay { key, ops, last, .. } = chunk else {
                panic!()
            };
            assert_eq!((*key, *last), (7, i == chunks.len() - 1));
            again.extend(ops.iter().cloned());
        }
        assert_eq!(again, ops);
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
            // The frame also holds the message's tag (at most 5 bytes).
            let bytes = crate::codec::encode(&(u32::MAX, chunk.clone())).unwrap();
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
                strokes: Vec::new().into(),
                replace: true,
                open: false
            }]
        );
    }
}
