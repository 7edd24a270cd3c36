//! The canvas renderer on a real GPU adapter (Mesa's lavapipe on CI: no window needed).
//! Strokes are painted through the game's own render plugin, the canvas image is read back
//! from the GPU, and its pixels are checked. Without an adapter these tests fail.

use bevy::prelude::*;
use catchmind::id::ClientId;
use catchmind::plugins::canvas::render;
use catchmind::plugins::canvas::{BOARD_HEIGHT, BOARD_WIDTH, BoardPoint, Brush, CanvasState, PaintCanvas};

const W: usize = BOARD_WIDTH as usize;
const H: usize = BOARD_HEIGHT as usize;
const ME: ClientId = ClientId(1);
const RED: Brush = Brush {
    colour: [220, 30, 30],
    size: 20,
    eraser: false,
};
const BLUE: Brush = Brush {
    colour: [20, 40, 230],
    size: 12,
    eraser: false,
};
const ERASER: Brush = Brush {
    colour: [0, 0, 0],
    size: 30,
    eraser: true,
};

struct Canvas {
    app: App,
}

type Rgba = [u8; 4];

impl Canvas {
    fn new() -> Self {
        Self {
            app: render::offscreen::app(),
        }
    }

    fn frames(&mut self, n: usize) {
        for _ in 0..n {
            self.app.update();
        }
    }

    fn paint(&mut self, request: PaintCanvas) {
        self.app.world_mut().write_message(request);
    }

    fn state(&mut self) -> Mut<'_, CanvasState> {
        self.app.world_mut().resource_mut::<CanvasState>()
    }

    /// Draws a stroke in the model and on screen in one go (as a late-join log would).
    fn stroke(&mut self, brush: Brush, points: &[BoardPoint]) {
        let mut state = self.state();
        state.drawing.start(ME, brush, points[0]).unwrap();
        state.drawing.extend(ME, &points[1..]).unwrap();
        state.drawing.finish(ME);
        self.paint(PaintCanvas::Segments {
            brush,
            points: points.to_vec(),
        });
    }

    /// Reads the canvas image back from the GPU.
    fn pixels(&mut self) -> Vec<u8> {
        let data = render::offscreen::read_back(&mut self.app);
        assert_eq!(data.len(), W * H * 4, "tightly packed RGBA rows");
        data
    }
}

fn at(pixels: &[u8], x: usize, y: usize) -> Rgba {
    let i = (y * W + x) * 4;
    [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]]
}

fn close(actual: Rgba, expected: [u8; 3], tolerance: u8) -> bool {
    (0..3).all(|c| actual[c].abs_diff(expected[c]) <= tolerance)
}

fn line(from: (i16, i16), to: (i16, i16), steps: i16) -> Vec<BoardPoint> {
    (0..=steps)
        .map(|i| {
            let lerp = |a: i16, b: i16| (a as i32 + (b as i32 - a as i32) * i as i32 / steps as i32) as i16;
            BoardPoint::new(lerp(from.0, to.0), lerp(from.1, to.1))
        })
        .collect()
}

#[test]
fn strokes_background_eraser_undo_and_replay_render_as_expected() {
    let mut canvas = Canvas::new();
    let blank = canvas.pixels();
    assert!(
        close(at(&blank, 10, 10), [255, 255, 255], 0),
        "cleared to the background: {:?}",
        at(&blank, 10, 10)
    );
    assert!(close(at(&blank, 800, 450), [255, 255, 255], 0));

    // A red horizontal stroke and a blue diagonal one.
    canvas.stroke(RED, &line((200, 300), (1400, 300), 40));
    canvas.stroke(BLUE, &line((100, 800), (700, 500), 25));
    let drawn = canvas.pixels();
    for x in [200, 500, 800, 1399] {
        assert!(
            close(at(&drawn, x, 300), RED.colour, 2),
            "red on the centre line at x={x}: {:?}",
            at(&drawn, x, 300)
        );
        assert!(
            close(at(&drawn, x, 306), RED.colour, 2),
            "red within the brush at x={x}"
        );
    }
    save("drawn", &drawn);
    assert!(
        close(at(&drawn, 400, 650), BLUE.colour, 2),
        "blue mid-diagonal: {:?}",
        at(&drawn, 400, 650)
    );
    assert!(
        close(at(&drawn, 1405, 300), RED.colour, 2),
        "a round cap past the last point"
    );
    for (x, y) in [(800, 330), (800, 270), (1500, 300), (100, 100), (1000, 700)] {
        assert!(
            close(at(&drawn, x, y), [255, 255, 255], 0),
            "background away from strokes at {x},{y}: {:?}",
            at(&drawn, x, y)
        );
    }
    // Anti-aliased edges on the diagonal: pixels between ink and paper.
    let column: Vec<Rgba> = (630..=670).map(|y| at(&drawn, 400, y)).collect();
    let between = column
        .iter()
        .filter(|p| !close(**p, BLUE.colour, 8) && !close(**p, [255, 255, 255], 8))
        .count();
    assert!((1..=6).contains(&between), "a soft edge, not a blur: {column:?}");

    // Idle frames in between lose nothing: the picture persists until the next stroke.
    canvas.frames(12);
    canvas.stroke(BLUE, &line((1500, 850), (1550, 850), 5));
    let later = canvas.pixels();
    assert!(
        close(at(&later, 800, 300), RED.colour, 2),
        "earlier ink survives idle frames: {:?}",
        at(&later, 800, 300)
    );
    assert!(
        close(at(&later, 1520, 850), BLUE.colour, 2),
        "and the new stroke is there"
    );
    canvas.state().drawing.undo(ME);
    canvas.paint(PaintCanvas::Repaint);
    assert_eq!(
        diff(&canvas.pixels(), &drawn).1,
        0,
        "undo of that stroke restores the picture"
    );

    // The eraser paints the background back.
    canvas.stroke(ERASER, &line((700, 300), (900, 300), 10));
    let erased = canvas.pixels();
    assert!(
        close(at(&erased, 800, 300), [255, 255, 255], 0),
        "erased: {:?}",
        at(&erased, 800, 300)
    );
    assert!(
        close(at(&erased, 500, 300), RED.colour, 2),
        "the rest of the stroke stays"
    );

    // Undo removes the last stroke (the eraser's): the red line is whole again.
    canvas.state().drawing.undo(ME);
    canvas.paint(PaintCanvas::Repaint);
    let undone = canvas.pixels();
    assert!(
        close(at(&undone, 800, 300), RED.colour, 2),
        "undo brings the ink back: {:?}",
        at(&undone, 800, 300)
    );
    assert_eq!(
        diff(&undone, &drawn).1,
        0,
        "undo gives the picture from before the eraser"
    );

    // Live (a few points per frame, as batches arrive) against replay (the whole log at once).
    let mut live = Canvas::new();
    let mut replay = Canvas::new();
    let strokes = [
        (RED, line((150, 150), (1450, 760), 120)),
        (BLUE, line((1500, 100), (120, 840), 90)),
        (ERASER, line((600, 200), (1000, 700), 40)),
        (
            Brush {
                colour: [30, 160, 60],
                size: 6,
                eraser: false,
            },
            line((800, 50), (810, 880), 80),
        ),
    ];
    for (brush, points) in &strokes {
        let mut state = live.state();
        state.drawing.start(ME, *brush, points[0]).unwrap();
        state.drawing.extend(ME, &points[1..]).unwrap();
        state.drawing.finish(ME);
        live.paint(PaintCanvas::Segments {
            brush: *brush,
            points: vec![points[0]],
        });
        for batch in points.windows(2).collect::<Vec<_>>().chunks(3) {
            let mut segment = vec![batch[0][0]];
            segment.extend(batch.iter().map(|pair| pair[1]));
            live.paint(PaintCanvas::Segments {
                brush: *brush,
                points: segment,
            });
            live.frames(1);
        }
        replay
            .state()
            .drawing
            .push(live.state().drawing.strokes().last().unwrap().clone())
            .unwrap();
    }
    replay.paint(PaintCanvas::Repaint);
    let (live, replay) = (live.pixels(), replay.pixels());
    save("live", &live);
    save("replay", &replay);
    let (mean, differing) = diff(&live, &replay);
    assert!(mean < 0.5, "mean channel difference {mean}");
    assert!(
        differing < W * H / 500,
        "{differing} pixels differ by more than 48"
    );
}

/// Mean absolute channel difference, and how many pixels differ by more than 48 in a channel.
fn diff(a: &[u8], b: &[u8]) -> (f64, usize) {
    let total: u64 = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y) as u64).sum();
    let differing = a
        .chunks(4)
        .zip(b.chunks(4))
        .filter(|(p, q)| p.iter().zip(q.iter()).any(|(x, y)| x.abs_diff(*y) > 48))
        .count();
    (total as f64 / a.len() as f64, differing)
}

/// With CANVAS_TEST_DUMP=dir, writes the image as a PPM there, to look at.
fn save(name: &str, pixels: &[u8]) {
    let Some(dir) = std::env::var_os("CANVAS_TEST_DUMP") else {
        return;
    };
    let mut ppm = format!("P6 {W} {H} 255\n").into_bytes();
    ppm.extend(pixels.chunks(4).flat_map(|p| [p[0], p[1], p[2]]));
    std::fs::write(std::path::Path::new(&dir).join(format!("{name}.ppm")), ppm).unwrap();
}
