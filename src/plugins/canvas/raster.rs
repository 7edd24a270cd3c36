//! Drawings on the CPU, for the game's album: a turn's drawing replayed change by change
//! ([`Replayer`]) into a small image, for its thumbnail, its replay at any speed and its
//! time-lapse ([`timelapse_apng`]). The live board stays on the GPU (`render.rs`); this is
//! plain Rust so the album works the same on every machine and in tests.

use super::fill::FillMask;
use super::model::{BOARD_HEIGHT, BOARD_WIDTH, BoardPoint, Brush, Drawing};
use super::render::BACKGROUND;
use super::wire::TimedOp;

/// An RGBA image of the board at `width` pixels across (the board's aspect ratio kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
}

impl Raster {
    pub fn new(width: usize) -> Self {
        let width = width.clamp(16, BOARD_WIDTH as usize);
        let height = (width * BOARD_HEIGHT as usize).div_ceil(BOARD_WIDTH as usize);
        let mut raster = Self {
            width,
            height,
            rgba: vec![0; width * height * 4],
        };
        raster.clear();
        raster
    }

    /// Board units per pixel's reciprocal.
    fn scale(&self) -> f32 {
        self.width as f32 / BOARD_WIDTH as f32
    }

    pub fn clear(&mut self) {
        for px in self.rgba.chunks_exact_mut(4) {
            px.copy_from_slice(&[BACKGROUND[0], BACKGROUND[1], BACKGROUND[2], 255]);
        }
    }

    /// The whole drawing, from a blank board.
    pub fn paint(&mut self, drawing: &Drawing) {
        self.clear();
        for stroke in drawing.strokes() {
            match &stroke.fill {
                Some(mask) => self.fill(stroke.brush.colour, mask),
                None => self.polyline(stroke.brush, &stroke.points),
            }
        }
    }

    /// A stroke's points (a single point is a dot), round caps and joins, anti-aliased.
    pub fn polyline(&mut self, brush: Brush, points: &[BoardPoint]) {
        let colour = if brush.eraser { BACKGROUND } else { brush.colour };
        let radius = (brush.clamped().size as f32 / 2.0 * self.scale()).max(0.5);
        let scale = self.scale();
        let to_px = |p: &BoardPoint| (p.x as f32 * scale, p.y as f32 * scale);
        match points {
            [] => {}
            [only] => self.capsule(to_px(only), to_px(only), radius, colour),
            _ => {
                for pair in points.windows(2) {
                    self.capsule(to_px(&pair[0]), to_px(&pair[1]), radius, colour);
                }
            }
        }
    }

    /// A segment with round ends, each pixel blended by how much of it is covered.
    fn capsule(&mut self, a: (f32, f32), b: (f32, f32), radius: f32, colour: [u8; 3]) {
        let reach = radius + 1.0;
        let x0 = (a.0.min(b.0) - reach).floor().max(0.0) as usize;
        let y0 = (a.1.min(b.1) - reach).floor().max(0.0) as usize;
        let x1 = ((a.0.max(b.0) + reach).ceil() as usize).min(self.width);
        let y1 = ((a.1.max(b.1) + reach).ceil() as usize).min(self.height);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let length2 = dx * dx + dy * dy;
        for y in y0..y1 {
            for x in x0..x1 {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = if length2 > 0.0 {
                    (((px - a.0) * dx + (py - a.1) * dy) / length2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
                let distance = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
                let cover = (radius + 0.5 - distance).clamp(0.0, 1.0);
                if cover > 0.0 {
                    self.blend(x, y, colour, cover);
                }
            }
        }
    }

    fn blend(&mut self, x: usize, y: usize, colour: [u8; 3], cover: f32) {
        let i = (y * self.width + x) * 4;
        for (channel, &target) in self.rgba[i..i + 3].iter_mut().zip(&colour) {
            let old = *channel as f32;
            *channel = (old + (target as f32 - old) * cover).round() as u8;
        }
    }

    /// A fill: each pixel takes the colour if the board point at its centre is in the region.
    pub fn fill(&mut self, colour: [u8; 3], mask: &FillMask) {
        let scale = self.scale();
        for y in 0..self.height {
            let board_y = ((y as f32 + 0.5) / scale) as usize;
            let Some(row) = board_y
                .checked_sub(mask.top as usize)
                .and_then(|i| mask.rows.get(i))
            else {
                continue;
            };
            let mut board_x = 0usize;
            for pair in row.chunks(2) {
                let [gap, len] = [pair[0] as usize, *pair.get(1).unwrap_or(&0) as usize];
                let start = board_x + gap;
                board_x = start + len;
                // Pixels whose centre falls in [start, start + len).
                let first = ((start as f32 * scale) - 0.5).ceil().max(0.0) as usize;
                let end = ((board_x as f32 * scale) - 0.5).ceil().max(0.0) as usize;
                for x in first..end.min(self.width) {
                    let i = (y * self.width + x) * 4;
                    self.rgba[i..i + 3].copy_from_slice(&colour);
                }
            }
        }
    }
}

/// A turn's changes played back onto a [`Raster`]: as far as any moment, painting only what is
/// new (a whole repaint after an undo or a clear).
#[derive(Debug, Clone)]
pub struct Replayer {
    ops: Vec<TimedOp>,
    next: usize,
    pub drawing: Drawing,
    pub raster: Raster,
}

impl Replayer {
    pub fn new(ops: Vec<TimedOp>, width: usize) -> Self {
        Self {
            ops,
            next: 0,
            drawing: Drawing::default(),
            raster: Raster::new(width),
        }
    }

    /// The turn's changes.
    pub fn ops(&self) -> &[TimedOp] {
        &self.ops
    }

    /// How long the turn's drawing took, in milliseconds (its latest change's time).
    pub fn length_ms(&self) -> u32 {
        self.ops.iter().map(|op| op.ms).max().unwrap_or(0)
    }

    /// Where the replay stands, in milliseconds of the turn.
    pub fn position_ms(&self) -> u32 {
        self.next.checked_sub(1).map_or(0, |i| self.ops[i].ms)
    }

    pub fn done(&self) -> bool {
        self.next >= self.ops.len()
    }

    /// Back to the blank board.
    pub fn rewind(&mut self) {
        self.next = 0;
        self.drawing = Drawing::default();
        self.raster.clear();
    }

    /// Plays every change up to `ms` into the drawing and the image (a change that does not
    /// apply, which a faithful recording never holds, is passed over).
    pub fn advance_to(&mut self, ms: u32) {
        if ms < self.position_ms() {
            self.rewind();
        }
        let mut repaint = false;
        while let Some(timed) = self.ops.get(self.next) {
            if timed.ms > ms {
                break;
            }
            self.next += 1;
            use super::wire::ReplayOp;
            // Where the author's open stroke stood, and its brush, before this change.
            let before = match &timed.op {
                ReplayOp::Points { author, .. } => self.drawing.open_tail(*author).zip(
                    self.drawing
                        .strokes()
                        .iter()
                        .rev()
                        .find(|s| s.author == *author)
                        .map(|s| s.brush),
                ),
                _ => None,
            };
            if timed.op.apply(&mut self.drawing).is_err() {
                continue;
            }
            match &timed.op {
                ReplayOp::Start { brush, at, .. } => self.raster.polyline(*brush, &[*at]),
                ReplayOp::Points { deltas, .. } => {
                    if let Some((from, brush)) = before
                        && let Ok(new) = super::model::decode_deltas(from, deltas)
                    {
                        let mut line = vec![from];
                        line.extend(new);
                        self.raster.polyline(brush, &line);
                    }
                }
                ReplayOp::Fill { colour, mask, .. } => self.raster.fill(*colour, mask),
                ReplayOp::Undo { .. } | ReplayOp::Clear => repaint = true,
                ReplayOp::End { .. } => {}
            }
        }
        if repaint {
            self.raster.paint(&self.drawing);
        }
    }
}

/// The most frames a time-lapse has; a longer turn takes bigger steps.
pub const MAX_TIMELAPSE_FRAMES: usize = 150;

/// A turn's time-lapse as an animated PNG at `width` pixels: one frame per `step_ms` of the
/// turn's drawing (larger steps past [`MAX_TIMELAPSE_FRAMES`]), each shown `frame_ms`, and the
/// finished drawing shown two seconds at the end. Returns the file and how many frames it has.
pub fn timelapse_apng(
    ops: &[TimedOp],
    width: usize,
    step_ms: u32,
    frame_ms: u16,
) -> Result<(Vec<u8>, usize), png::EncodingError> {
    let mut replay = Replayer::new(ops.to_vec(), width);
    let length = replay.length_ms();
    // Frames at 0, step, 2 step... up to the first at or past the end: known up front, so
    // each is encoded as it is painted (never all of them in memory).
    let mut step = step_ms.max(1);
    if length.div_ceil(step) as usize + 1 > MAX_TIMELAPSE_FRAMES {
        step = length.div_ceil(MAX_TIMELAPSE_FRAMES as u32 - 1).max(1);
    }
    let frames = (length.div_ceil(step) as usize + 1).min(MAX_TIMELAPSE_FRAMES);
    let (w, h) = (replay.raster.width as u32, replay.raster.height as u32);
    let mut file = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut file, w, h);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_animated(frames as u32, 0)?;
        let mut writer = encoder.write_header()?;
        for i in 0..frames {
            let last = i + 1 == frames;
            // The last frame is the finished drawing, held two seconds.
            let at = if last {
                u32::MAX
            } else {
                (i as u32).saturating_mul(step)
            };
            replay.advance_to(at);
            writer.set_frame_delay(if last { 2_000 } else { frame_ms }, 1_000)?;
            writer.write_image_data(&replay.raster.rgba)?;
        }
        writer.finish()?;
    }
    Ok((file, frames))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ClientId;
    use crate::plugins::canvas::fill::FillMask;
    use crate::plugins::canvas::model::fixtures::{A, INK, p};
    use crate::plugins::canvas::wire::ReplayOp;

    fn at(raster: &Raster, x: usize, y: usize) -> [u8; 3] {
        let i = (y * raster.width + x) * 4;
        [raster.rgba[i], raster.rgba[i + 1], raster.rgba[i + 2]]
    }

    fn timed(ms: u32, op: ReplayOp) -> TimedOp {
        TimedOp { ms, op }
    }

    /// A turn: a stroke across (two batches), an undone dot, a fill of the top left.
    fn turn() -> Vec<TimedOp> {
        let mut bits = vec![false; 1600 * 900];
        for y in 0..200 {
            bits[y * 1600..y * 1600 + 300].fill(true);
        }
        vec![
            timed(
                0,
                ReplayOp::Start {
                    author: A,
                    brush: INK,
                    at: p(400, 450),
                },
            ),
            timed(
                500,
                ReplayOp::Points {
                    author: A,
                    deltas: vec![[200, 0], [200, 0]],
                },
            ),
            timed(
                1_000,
                ReplayOp::Points {
                    author: A,
                    deltas: vec![[200, 0]],
                },
            ),
            timed(1_100, ReplayOp::End { author: A }),
            timed(
                1_500,
                ReplayOp::Start {
                    author: A,
                    brush: INK,
                    at: p(100, 800),
                },
            ),
            timed(1_600, ReplayOp::End { author: A }),
            timed(2_000, ReplayOp::Undo { author: A }),
            timed(
                3_000,
                ReplayOp::Fill {
                    author: A,
                    at: p(10, 10),
                    colour: [0, 0, 255],
                    mask: std::sync::Arc::new(FillMask::from_bitmap(&bits)),
                },
            ),
        ]
    }

    #[test]
    fn a_replay_step_by_step_ends_as_the_drawing_painted_at_once() {
        let mut replay = Replayer::new(turn(), 400);
        assert_eq!((replay.raster.width, replay.raster.height), (400, 225));
        replay.advance_to(600);
        // Half-way: the first batch (400 to 800 on the board: 100 to 200 here) and not the second.
        assert_eq!(at(&replay.raster, 150, 112), INK.colour);
        assert_eq!(at(&replay.raster, 230, 112), BACKGROUND);
        replay.advance_to(1_700);
        assert_eq!(at(&replay.raster, 25, 200), INK.colour, "the dot");
        replay.advance_to(u32::MAX);
        assert!(replay.done());
        assert_eq!(at(&replay.raster, 25, 200), BACKGROUND, "undone");
        assert_eq!(at(&replay.raster, 10, 10), [0, 0, 255], "filled");
        assert_eq!(at(&replay.raster, 80, 10), BACKGROUND, "past the fill");
        let mut whole = Raster::new(400);
        whole.paint(&replay.drawing);
        let differing = whole
            .rgba
            .iter()
            .zip(&replay.raster.rgba)
            .filter(|(a, b)| a.abs_diff(**b) > 2)
            .count();
        assert!(differing < whole.rgba.len() / 500, "{differing} channels differ");
        // Going back plays again from the start.
        replay.advance_to(600);
        assert_eq!(at(&replay.raster, 230, 112), BACKGROUND);
        assert_eq!(replay.length_ms(), 3_000);
    }

    #[test]
    fn a_replay_survives_changes_that_do_not_fit_together() {
        // Another author's fill between a stroke's start and its points, points for a stroke
        // never started, an undo of nothing: played without a panic, the rest drawn.
        let mut ops = turn();
        ops.insert(
            1,
            timed(
                100,
                ReplayOp::Fill {
                    author: crate::plugins::canvas::model::fixtures::B,
                    at: p(10, 10),
                    colour: [0, 255, 0],
                    mask: std::sync::Arc::new(FillMask {
                        top: 0,
                        rows: vec![vec![0, 5]],
                    }),
                },
            ),
        );
        ops.push(timed(
            3_100,
            ReplayOp::Points {
                author: crate::plugins::canvas::model::fixtures::B,
                deltas: vec![[1, 1]; 3],
            },
        ));
        ops.push(timed(3_200, ReplayOp::Undo { author: ClientId(77) }));
        let mut replay = Replayer::new(ops, 200);
        replay.advance_to(u32::MAX);
        assert!(replay.done());
        assert_eq!(replay.drawing.strokes().len(), 3, "the stroke and both fills");
    }

    #[test]
    fn a_timelapse_is_an_apng_with_a_frame_per_step_that_decodes() {
        let (file, frames) = timelapse_apng(&turn(), 320, 500, 100).unwrap();
        // 0, 500, ..., 3000: seven steps.
        assert_eq!(frames, 7);
        let mut reader = png::Decoder::new(std::io::Cursor::new(&file))
            .read_info()
            .unwrap();
        let control = reader.info().animation_control().copied().expect("animated");
        assert_eq!(control.num_frames, 7);
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let mut last = Vec::new();
        for _ in 0..frames {
            let info = reader.next_frame(&mut buffer).unwrap();
            assert_eq!((info.width, info.height), (320, 180));
            last = buffer[..info.buffer_size()].to_vec();
        }
        let mut finished = Replayer::new(turn(), 320);
        finished.advance_to(u32::MAX);
        assert_eq!(
            last, finished.raster.rgba,
            "the last frame is the finished drawing"
        );
        // A long turn is cut into at most MAX_TIMELAPSE_FRAMES frames.
        let mut long = turn();
        long.last_mut().unwrap().ms = 10 * 60 * 1000;
        let (_, frames) = timelapse_apng(&long, 160, 100, 50).unwrap();
        assert!(frames <= MAX_TIMELAPSE_FRAMES, "{frames}");
        // Times out of order (a hostile recording) or none at all stay bounded too.
        let mut shuffled = turn();
        shuffled[1].ms = u32::MAX;
        let (_, frames) = timelapse_apng(&shuffled, 160, 500, 50).unwrap();
        assert!(frames <= MAX_TIMELAPSE_FRAMES, "{frames}");
        assert_eq!(timelapse_apng(&[], 160, 500, 50).unwrap().1, 1);
    }
}
