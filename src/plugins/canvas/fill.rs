//! The fill bucket as plain Rust: the flood over a read-back board, and the filled region as a
//! compact run-length mask that travels as one entry of the drawing's log.
//!
//! The filler's client reads its board back from the GPU, floods the connected region under
//! the click on the CPU ([`flood`]) and sends the region as a [`FillMask`]; the server checks
//! its size and bounds like any other entry, and every client, late joiners included, draws
//! the same mask, so a fill looks the same on every screen and in a replayed log.

use serde::{Deserialize, Serialize};

use super::model::{BOARD_HEIGHT, BOARD_WIDTH, CanvasError};

/// Runs one fill may have (each a gap and a length, at most six bytes, and a row of runs
/// spans 1,600 pixels, so about 32 KB at worst for a region torn up by thousands of strokes; a
/// few KB for an ordinary shape).
pub const MAX_FILL_RUNS: usize = 8_000;
/// Fills one drawing may hold (undo a fill to fill again).
pub const MAX_FILLS: usize = 32;
/// How far (per channel, 0-255) a pixel's colour may be from the clicked one and still be
/// flooded: the lightest part of an anti-aliased edge is taken in, the rest is covered by
/// [`EDGE_GROWTH`]. Under the 65 that parts the palette's lightest grey from white, so an
/// outline in any swatch holds a fill.
pub const FILL_TOLERANCE: u8 = 48;
/// Pixels the flooded region grows by (into the boundary), so no halo of half-covered edge
/// pixels is left between the fill and the stroke around it.
pub const EDGE_GROWTH: usize = 1;

const WIDTH: usize = BOARD_WIDTH as usize;
const HEIGHT: usize = BOARD_HEIGHT as usize;

/// A rectangle of the board in pixels: left, top, width, height.
pub type Bounds = (usize, usize, usize, usize);

/// A filled region of the board: row `top + i` is `rows[i]`, alternating gaps and lengths in
/// pixels (a gap from the end of the previous run, or from the row's start).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct FillMask {
    pub top: u16,
    pub rows: Vec<Vec<u16>>,
}

impl FillMask {
    /// Checks what a peer sent: within the board, runs of at least one pixel, not too many.
    pub fn validate(&self) -> Result<(), CanvasError> {
        if self.top as usize + self.rows.len() > HEIGHT {
            return Err(CanvasError::OffBoard);
        }
        let mut runs = 0;
        for row in &self.rows {
            // A flooded area is connected: no row of it is empty (and an empty row would cost
            // the server memory for nothing).
            if row.is_empty() || row.len() % 2 != 0 {
                return Err(CanvasError::BadFill);
            }
            let mut x = 0usize;
            for pair in row.chunks(2) {
                let (gap, len) = (pair[0] as usize, pair[1] as usize);
                if len == 0 {
                    return Err(CanvasError::BadFill);
                }
                x += gap + len;
                if x > WIDTH {
                    return Err(CanvasError::OffBoard);
                }
            }
            runs += row.len() / 2;
            if runs > MAX_FILL_RUNS {
                return Err(CanvasError::FillTooDetailed);
            }
        }
        if runs == 0 {
            return Err(CanvasError::BadFill);
        }
        Ok(())
    }

    /// Every run as (row, first column, length).
    pub fn runs(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.rows.iter().enumerate().flat_map(move |(i, row)| {
            let y = self.top as usize + i;
            let mut x = 0usize;
            row.chunks(2).map(move |pair| {
                let start = x + pair[0] as usize;
                x = start + pair[1] as usize;
                (y, start, pair[1] as usize)
            })
        })
    }

    pub fn run_count(&self) -> usize {
        self.rows.iter().map(|row| row.len() / 2).sum()
    }

    pub fn pixel_count(&self) -> usize {
        self.runs().map(|(_, _, len)| len).sum()
    }

    /// The smallest rectangle holding the region.
    pub fn bounds(&self) -> Option<Bounds> {
        let (mut left, mut right) = (usize::MAX, 0);
        let (mut top, mut bottom) = (usize::MAX, 0);
        for (y, x, len) in self.runs() {
            left = left.min(x);
            right = right.max(x + len);
            top = top.min(y);
            bottom = bottom.max(y + 1);
        }
        (left < right).then(|| (left, top, right - left, bottom - top))
    }

    /// The region from a board-sized bitmap (`true`: filled).
    pub fn from_bitmap(bits: &[bool]) -> Self {
        debug_assert_eq!(bits.len(), WIDTH * HEIGHT);
        let rows: Vec<Vec<u16>> = bits
            .chunks(WIDTH)
            .map(|row| {
                let mut values = Vec::new();
                let (mut x, mut end) = (0, 0);
                while x < WIDTH {
                    if !row[x] {
                        x += 1;
                        continue;
                    }
                    let start = x;
                    while x < WIDTH && row[x] {
                        x += 1;
                    }
                    values.push((start - end) as u16);
                    values.push((x - start) as u16);
                    end = x;
                }
                values
            })
            .collect();
        let first = rows.iter().position(|r| !r.is_empty()).unwrap_or(0);
        let last = rows.iter().rposition(|r| !r.is_empty()).map_or(0, |i| i + 1);
        Self {
            top: first as u16,
            rows: rows[first..last.max(first)].to_vec(),
        }
    }

    /// The region as an sRGB RGBA image of its bounds: `colour` where filled, transparent
    /// elsewhere; with the bounds (left, top, width, height).
    pub fn to_rgba(&self, colour: [u8; 3]) -> Option<(Bounds, Vec<u8>)> {
        let (left, top, width, height) = self.bounds()?;
        let mut rgba = vec![0u8; width * height * 4];
        let pixel = [colour[0], colour[1], colour[2], 255];
        for (y, x, len) in self.runs() {
            let start = ((y - top) * width + (x - left)) * 4;
            for px in rgba[start..start + len * 4].chunks_exact_mut(4) {
                px.copy_from_slice(&pixel);
            }
        }
        Some(((left, top, width, height), rgba))
    }
}

/// Floods the region of `rgba` (the board read back: tightly packed RGBA, board-sized) that is
/// connected to `seed` (4-neighbours) and within [`FILL_TOLERANCE`] of its colour, grown by
/// [`EDGE_GROWTH`] pixels. `None` when the seed is off the board or the region is already all
/// `colour` (nothing would change).
pub fn flood(rgba: &[u8], seed: (usize, usize), colour: [u8; 3]) -> Option<FillMask> {
    if rgba.len() != WIDTH * HEIGHT * 4 || seed.0 >= WIDTH || seed.1 >= HEIGHT {
        return None;
    }
    let at = |x: usize, y: usize| {
        let i = (y * WIDTH + x) * 4;
        [rgba[i], rgba[i + 1], rgba[i + 2]]
    };
    let target = at(seed.0, seed.1);
    let near = |c: [u8; 3]| (0..3).all(|k| c[k].abs_diff(target[k]) <= FILL_TOLERANCE);
    let mut filled = vec![false; WIDTH * HEIGHT];
    // Scanline flood: each span is filled whole, and the rows above and below are seeded.
    let mut stack = vec![seed];
    while let Some((x, y)) = stack.pop() {
        if filled[y * WIDTH + x] || !near(at(x, y)) {
            continue;
        }
        let mut left = x;
        while left > 0 && !filled[y * WIDTH + left - 1] && near(at(left - 1, y)) {
            left -= 1;
        }
        let mut right = x;
        while right + 1 < WIDTH && !filled[y * WIDTH + right + 1] && near(at(right + 1, y)) {
            right += 1;
        }
        for fx in left..=right {
            filled[y * WIDTH + fx] = true;
        }
        for ny in [y.wrapping_sub(1), y + 1] {
            if ny >= HEIGHT {
                continue;
            }
            let mut fx = left;
            while fx <= right {
                if !filled[ny * WIDTH + fx] && near(at(fx, ny)) {
                    stack.push((fx, ny));
                    // One seed per span of the next row is enough.
                    while fx <= right && near(at(fx, ny)) {
                        fx += 1;
                    }
                }
                fx += 1;
            }
        }
    }
    // Filling an area already that colour changes nothing (and must not eat into its edge).
    let changes = filled
        .iter()
        .enumerate()
        .any(|(i, &f)| f && at(i % WIDTH, i / WIDTH) != colour);
    changes.then(|| FillMask::from_bitmap(&grow(&filled, EDGE_GROWTH)))
}

/// The region grown by `by` pixels in the 8 directions.
fn grow(bits: &[bool], by: usize) -> Vec<bool> {
    let mut out = bits.to_vec();
    for _ in 0..by {
        let before = out.clone();
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                if before[y * WIDTH + x] {
                    continue;
                }
                let y0 = y.saturating_sub(1);
                let y1 = (y + 1).min(HEIGHT - 1);
                let x0 = x.saturating_sub(1);
                let x1 = (x + 1).min(WIDTH - 1);
                if (y0..=y1).any(|ny| (x0..=x1).any(|nx| before[ny * WIDTH + nx])) {
                    out[y * WIDTH + x] = true;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::canvas::model::PALETTE;

    const WHITE: [u8; 3] = [255, 255, 255];
    const INK: [u8; 3] = [20, 20, 20];
    const RED: [u8; 3] = [220, 30, 30];

    /// A white board with an anti-aliased ring of `ink` (centre, radius, width), each pixel's
    /// coverage from a 4x4 grid of samples, as MSAA renders it.
    fn board_with_ring(centre: (f32, f32), radius: f32, width: f32, gap: bool, ink: [u8; 3]) -> Vec<u8> {
        let mut rgba = vec![255u8; WIDTH * HEIGHT * 4];
        let reach = (radius + width) as usize + 2;
        let (cx, cy) = centre;
        for y in (cy as usize - reach)..(cy as usize + reach) {
            for x in (cx as usize - reach)..(cx as usize + reach) {
                let mut covered = 0;
                for sy in 0..4 {
                    for sx in 0..4 {
                        let px = x as f32 + (sx as f32 + 0.5) / 4.0;
                        let py = y as f32 + (sy as f32 + 0.5) / 4.0;
                        let d = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
                        // A ring left open on the right, for the leak test.
                        let open = gap && px > cx + radius - width && (py - cy).abs() < 6.0;
                        if (d - radius).abs() <= width / 2.0 && !open {
                            covered += 1;
                        }
                    }
                }
                let a = covered as f32 / 16.0;
                let i = (y * WIDTH + x) * 4;
                for k in 0..3 {
                    rgba[i + k] = (WHITE[k] as f32 * (1.0 - a) + ink[k] as f32 * a).round() as u8;
                }
            }
        }
        rgba
    }

    /// Fills inside a ring of `ink`; returns the unfilled halo (pixels inside the ring's
    /// middle left unfilled and still paler than half ink: they would show as a pale ring
    /// between the fill and the ink) and the pixels filled past the ring's middle.
    fn halo_and_leak(
        board: &[u8],
        centre: (f32, f32),
        radius: f32,
        ink: [u8; 3],
    ) -> (usize, usize, FillMask) {
        let seed = (centre.0 as usize, centre.1 as usize);
        let mask = flood(board, seed, RED).expect("a change");
        mask.validate().unwrap();
        let mut filled = vec![false; WIDTH * HEIGHT];
        for (y, x, len) in mask.runs() {
            filled[y * WIDTH + x..y * WIDTH + x + len].fill(true);
        }
        // The channel where ink and white differ most tells how much ink a pixel holds.
        let k = (0..3).max_by_key(|&k| WHITE[k].abs_diff(ink[k])).unwrap();
        let half = WHITE[k].abs_diff(ink[k]) / 2;
        let (mut halo, mut leaked) = (0, 0);
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                let d = ((x as f32 + 0.5 - centre.0).powi(2) + (y as f32 + 0.5 - centre.1).powi(2)).sqrt();
                let f = filled[y * WIDTH + x];
                let pale = board[(y * WIDTH + x) * 4 + k].abs_diff(WHITE[k]) < half;
                if d < radius && pale {
                    halo += usize::from(!f);
                }
                if d > radius {
                    leaked += usize::from(f);
                }
            }
        }
        (halo, leaked, mask)
    }

    #[test]
    fn a_ring_closes_and_its_inside_is_filled_to_the_ink_with_no_halo() {
        // Threshold: no unfilled pixel at all inside the ring's middle that is paler than half
        // ink (the anti-aliased fringe, a blend of ink and white that would show as a pale
        // ring between fill and ink); nothing filled past the ring's middle. For an outline in
        // every swatch but white.
        let (centre, radius, width) = ((400.3, 300.6), 100.0, 6.0);
        for ink in PALETTE.into_iter().filter(|&c| c != WHITE) {
            let board = board_with_ring(centre, radius, width, false, ink);
            let (halo, leaked, mask) = halo_and_leak(&board, centre, radius, ink);
            assert_eq!(halo, 0, "{halo} unfilled pixels inside a ring of {ink:?}");
            assert_eq!(leaked, 0, "the fill leaked out of a ring of {ink:?}");
            assert!(mask.pixel_count() > 29_000);
            // A plain disc: one run per row, a couple of KB on the wire.
            assert_eq!(mask.run_count(), mask.rows.len());
            let bytes = crate::codec::encode(&mask).unwrap().len();
            assert!(bytes < 2_000, "{bytes} bytes");
        }
    }

    #[test]
    fn filling_a_filled_area_again_changes_nothing() {
        let (centre, radius, width) = ((400.0, 300.0), 100.0, 6.0);
        let mut board = board_with_ring(centre, radius, width, false, INK);
        let mask = flood(&board, (400, 300), RED).unwrap();
        for (y, x, len) in mask.runs() {
            for px in board[(y * WIDTH + x) * 4..(y * WIDTH + x + len) * 4].chunks_exact_mut(4) {
                px[..3].copy_from_slice(&RED);
            }
        }
        assert_eq!(
            flood(&board, (400, 300), RED),
            None,
            "no second fill eating the outline"
        );
        assert!(
            flood(&board, (400, 300), INK).is_some(),
            "another colour still fills"
        );
    }

    #[test]
    fn an_open_ring_leaks_to_the_whole_board() {
        let board = board_with_ring((400.0, 300.0), 100.0, 6.0, true, INK);
        let mask = flood(&board, (400, 300), RED).unwrap();
        assert!(mask.pixel_count() > WIDTH * HEIGHT * 9 / 10);
        assert_eq!(mask.bounds(), Some((0, 0, WIDTH, HEIGHT)));
    }

    #[test]
    fn filling_with_the_colour_already_there_changes_nothing() {
        let board = vec![255u8; WIDTH * HEIGHT * 4];
        assert_eq!(flood(&board, (10, 10), WHITE), None);
        assert_eq!(flood(&board, (WIDTH, 10), RED), None, "off the board");
        assert_eq!(flood(&board[4..], (10, 10), RED), None, "not a board");
    }

    #[test]
    fn masks_round_trip_and_bad_ones_are_refused() {
        let mut bits = vec![false; WIDTH * HEIGHT];
        for (y, x0, x1) in [(5, 0, 3), (5, 10, 20), (6, 1599, 1600), (8, 100, 101)] {
            bits[y * WIDTH + x0..y * WIDTH + x1].fill(true);
        }
        let mask = FillMask::from_bitmap(&bits);
        assert_eq!(mask.top, 5);
        assert_eq!(
            mask.rows,
            vec![vec![0, 3, 7, 10], vec![1599, 1], vec![], vec![100, 1]]
        );
        assert_eq!(
            mask.validate(),
            Err(CanvasError::BadFill),
            "an empty row: not one area"
        );
        let connected = FillMask {
            top: 5,
            rows: mask.rows[..2].to_vec(),
        };
        connected.validate().unwrap();
        let runs: Vec<_> = mask.runs().collect();
        assert_eq!(runs, [(5, 0, 3), (5, 10, 10), (6, 1599, 1), (8, 100, 1)]);
        assert_eq!(mask.bounds(), Some((0, 5, 1600, 4)));
        let bytes = crate::codec::encode(&mask).unwrap();
        assert_eq!(crate::codec::decode::<FillMask>(&bytes).unwrap(), mask);
        let ((_, _, w, h), rgba) = mask.to_rgba(RED).unwrap();
        assert_eq!(rgba.len(), w * h * 4);
        assert_eq!(&rgba[..4], &[220, 30, 30, 255]);
        assert_eq!(rgba[3 * 4 + 3], 0, "a gap is transparent");

        let bad = |top, rows: Vec<Vec<u16>>| FillMask { top, rows }.validate();
        assert_eq!(bad(0, vec![]), Err(CanvasError::BadFill), "empty");
        assert_eq!(bad(0, vec![vec![1]]), Err(CanvasError::BadFill), "odd");
        assert_eq!(
            bad(0, vec![vec![1, 0]]),
            Err(CanvasError::BadFill),
            "an empty run"
        );
        assert_eq!(bad(0, vec![vec![1599, 2]]), Err(CanvasError::OffBoard));
        assert_eq!(bad(0, vec![vec![0, 1, 65535, 1]]), Err(CanvasError::OffBoard));
        assert_eq!(bad(900, vec![vec![0, 1]]), Err(CanvasError::OffBoard));
        let many = vec![[0u16, 1].repeat(800); 11];
        assert_eq!(bad(0, many), Err(CanvasError::FillTooDetailed));
        // The most detailed fill allowed fits a log chunk.
        let detailed = FillMask {
            top: 0,
            rows: (0..HEIGHT)
                .map(|_| [1u16, 1].repeat(MAX_FILL_RUNS / HEIGHT))
                .collect(),
        };
        detailed.validate().unwrap();
        let bytes = crate::codec::encode(&detailed).unwrap().len();
        assert!(bytes < 48 * 1024, "{bytes} bytes");
    }
}
