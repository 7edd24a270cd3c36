//! The canvas renderer on a real GPU adapter (Mesa's lavapipe on CI: no window needed).
//! Strokes are painted through the game's own render plugin, the canvas image is read back
//! from the GPU, and its pixels are checked. Without an adapter these tests fail.

mod common;

use bevy::prelude::*;
use catchmind::id::ClientId;
use catchmind::plugins::canvas::fill::FillMask;
use catchmind::plugins::canvas::render;
use catchmind::plugins::canvas::{
    BOARD_HEIGHT, BOARD_WIDTH, BoardPoint, Brush, CanvasState, FillComputed, FillWanted, PaintCanvas,
};

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

    /// Fills in the model and on screen in one go (as a fill from another player would);
    /// returns the mask as the drawing keeps it.
    fn fill(&mut self, seed: BoardPoint, colour: [u8; 3], mask: FillMask) -> std::sync::Arc<FillMask> {
        let mut state = self.state();
        state.drawing.fill(ME, seed, colour, mask).unwrap();
        let shared = state.drawing.strokes().last().unwrap().fill.clone().unwrap();
        self.paint(PaintCanvas::Fill {
            colour,
            mask: shared.clone(),
        });
        shared
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

/// The fill bucket on the GPU's own board: a ring drawn as strokes, read back, flooded from
/// its middle; the fill covers the inside up to the ink with no pale ring left, stays inside,
/// replays from the log to the same picture, and goes with an undo.
#[test]
fn a_fill_of_a_read_back_ring_reaches_the_ink_replays_the_same_and_undoes() {
    use catchmind::plugins::canvas::fill::flood;
    const INK: Brush = Brush {
        colour: [20, 20, 20],
        size: 8,
        eraser: false,
    };
    const FILL: [u8; 3] = [240, 200, 40];
    let (cx, cy, r) = (500.0f32, 400.0f32, 150.0f32);
    let ring: Vec<BoardPoint> = (0..=72)
        .map(|i| {
            let a = i as f32 / 72.0 * std::f32::consts::TAU;
            BoardPoint::new(
                (cx + r * a.cos()).round() as i16,
                (cy + r * a.sin()).round() as i16,
            )
        })
        .collect();
    let mut live = Canvas::new();
    live.stroke(INK, &ring);
    live.frames(2);
    let board = live.pixels();
    let seed = BoardPoint::new(cx as i16, cy as i16);
    let mask = flood(&board, (seed.x as usize, seed.y as usize), FILL).expect("a region");
    let bytes = catchmind::codec::encode(&mask).unwrap().len();
    println!(
        "fill of a ring of radius {r}: {} pixels, {} runs, {bytes} bytes on the wire",
        mask.pixel_count(),
        mask.run_count()
    );
    // The renderer's own path (a fill asked for, the board read back, flooded) gives the same.
    live.app.world_mut().write_message(FillWanted {
        at: seed,
        colour: FILL,
    });
    let mut cursor = bevy::ecs::message::MessageCursor::<FillComputed>::default();
    let mut computed = None;
    for _ in 0..100 {
        live.app.update();
        let messages = live.app.world().resource::<Messages<FillComputed>>();
        if let Some(found) = cursor.read(messages).next() {
            computed = Some(found.clone());
            break;
        }
    }
    let computed = computed.expect("the renderer answered the fill");
    assert_eq!(
        (computed.at, computed.colour, &computed.mask),
        (seed, FILL, &mask)
    );
    live.fill(seed, FILL, mask);
    let filled = live.pixels();
    save("fill", &filled);
    assert!(
        close(at(&filled, 500, 400), FILL, 2),
        "{:?}",
        at(&filled, 500, 400)
    );
    // Outside the ring's outer edge (and a pixel of anti-aliasing) the board is untouched.
    let outer = r + INK.size as f32 / 2.0 + 1.5;
    let touched = (0..H)
        .flat_map(|y| (0..W).map(move |x| (x, y)))
        .filter(|&(x, y)| ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt() > outer)
        .filter(|&(x, y)| !close(at(&filled, x, y), [255, 255, 255], 0))
        .count();
    assert_eq!(touched, 0, "the fill stays inside the ring");
    // Along 360 rays from the centre: fill, then ink, never a pale pixel between them.
    let inner = r - INK.size as f32 / 2.0;
    for step in 0..360 {
        let a = step as f32 / 360.0 * std::f32::consts::TAU;
        for d in 0..(inner as usize + 2) {
            let (x, y) = (cx + d as f32 * a.cos(), cy + d as f32 * a.sin());
            let p = at(&filled, x as usize, y as usize);
            assert!(
                p.iter().take(3).any(|&c| c < 200),
                "a pale pixel {p:?} at {d} px from the centre, angle {step}"
            );
        }
    }
    // The same log painted at once (a late joiner) gives the same picture.
    let mut replay = Canvas::new();
    for stroke in live.state().drawing.strokes().to_vec() {
        replay.state().drawing.push(stroke).unwrap();
    }
    replay.paint(PaintCanvas::Repaint);
    let replayed = replay.pixels();
    save("fill-replay", &replayed);
    let (mean, differing) = diff(&filled, &replayed);
    assert!(mean < 0.5, "mean channel difference {mean}");
    assert!(differing < W * H / 500, "{differing} pixels differ");
    // Undo takes the fill away.
    assert!(live.state().drawing.undo(ME));
    live.paint(PaintCanvas::Repaint);
    let undone = live.pixels();
    assert!(close(at(&undone, 500, 400), [255, 255, 255], 0));
    let (mean, _) = diff(&undone, &board);
    assert!(mean < 0.5, "back to the ring: {mean}");
}

/// The album's replay (painted on the CPU from a turn's recording) against the live board the
/// GPU drew from the same changes: the same picture but for anti-aliasing at the edges.
#[test]
fn an_album_replay_paints_what_the_live_board_showed() {
    use catchmind::plugins::canvas::fill::flood;
    use catchmind::plugins::canvas::model::encode_deltas;
    use catchmind::plugins::canvas::raster::Replayer;
    use catchmind::plugins::canvas::{ReplayOp, TimedOp};
    let strokes = [
        (RED, line((100, 100), (1500, 800), 60)),
        (BLUE, line((200, 700), (900, 150), 30)),
        (ERASER, line((600, 200), (1000, 700), 40)),
    ];
    let mut live = Canvas::new();
    let mut ops = Vec::new();
    for (i, (brush, points)) in strokes.iter().enumerate() {
        live.stroke(*brush, points);
        let ms = i as u32 * 1000;
        ops.push(TimedOp {
            ms,
            op: ReplayOp::Start {
                author: ME,
                brush: *brush,
                at: points[0],
            },
        });
        ops.push(TimedOp {
            ms: ms + 500,
            op: ReplayOp::Points {
                author: ME,
                deltas: encode_deltas(points[0], &points[1..]),
            },
        });
        ops.push(TimedOp {
            ms: ms + 600,
            op: ReplayOp::End { author: ME },
        });
    }
    live.frames(2);
    // A fill of the area left of the red stroke, from the board as drawn.
    let board = live.pixels();
    let seed = BoardPoint::new(1200, 200);
    let mask = flood(&board, (1200, 200), [240, 200, 40]).expect("a region");
    let shared = live.fill(seed, [240, 200, 40], mask);
    ops.push(TimedOp {
        ms: 4_000,
        op: ReplayOp::Fill {
            author: ME,
            at: seed,
            colour: [240, 200, 40],
            mask: shared,
        },
    });
    let live = live.pixels();
    let mut replay = Replayer::new(ops, W);
    replay.advance_to(u32::MAX);
    save("album-replay", &replay.raster.rgba);
    let (mean, differing) = diff(&live, &replay.raster.rgba);
    println!(
        "CPU replay against the GPU board: mean channel difference {mean:.3}, {differing} pixels differ by more than 48"
    );
    assert!(mean < 1.0, "mean channel difference {mean}");
    assert!(
        differing < W * H / 200,
        "{differing} pixels differ by more than 48"
    );
}

/// The drawer's own board against a viewer's, both the game's client with its renderer and
/// joined to a server over loopback: a black rectangle drawn, the pointer lifted and red picked
/// in the same frame (a swatch clicked as the stroke ends), then a red zigzag with green picked
/// in the frame after its end. The drawer's board shows what the viewer's shows and what its own
/// log repaints to, pixel for pixel: the stroke keeps the brush it began with. (The drawer's
/// last segments took the newly picked colour.)
#[test]
fn a_colour_picked_as_a_stroke_ends_leaves_the_drawers_board_as_everyone_sees_it() {
    use catchmind::app::ServerOptions;
    use catchmind::plugins::canvas::DrawInput;
    use catchmind::plugins::rooms::{JoinServer, Roster};
    use common::{Client, hello, join_all, start_server, step_until};
    use std::time::Duration;
    const LIMIT: Duration = Duration::from_secs(60);
    const BLACK: [u8; 3] = [20, 20, 20];
    const GREEN: [u8; 3] = [30, 160, 60];
    let pick = |client: &mut Client, colour: [u8; 3]| {
        client.app.world_mut().resource_mut::<CanvasState>().brush = Brush {
            colour,
            size: 10,
            eraser: false,
        };
    };

    let server = start_server(ServerOptions::default());
    let connect = |name: &str| {
        let mut app = render::offscreen::client_app();
        app.world_mut().write_message(JoinServer {
            addr: server.addr.to_string(),
            join: hello(name, None),
        });
        Client::from_app(app, name)
    };
    let (mut drawer, mut viewer) = (connect("Drawer"), connect("Viewer"));
    join_all(&mut [&mut drawer, &mut viewer]);
    drawer.draw(DrawInput::TakePen);
    let me = drawer.app.world().resource::<Roster>().me;
    step_until(&mut [&mut drawer, &mut viewer], LIMIT, "pen taken", |cs| {
        cs.iter().all(|c| c.canvas().pen == me)
    });

    // A rectangle, a few points a frame; the last corner, the pointer going up and red picked
    // all in one frame.
    pick(&mut drawer, BLACK);
    let corners = [(300, 200), (900, 200), (900, 600), (300, 600), (300, 210)];
    let mut outline = vec![BoardPoint::new(300, 200)];
    for pair in corners.windows(2) {
        outline.extend(line(pair[0], pair[1], 12).into_iter().skip(1));
    }
    let (last, body) = outline.split_last().unwrap();
    drawer.draw(DrawInput::Begin(body[0]));
    for chunk in body[1..].chunks(4) {
        for &p in chunk {
            drawer.draw(DrawInput::MoveTo(p));
        }
        drawer.step();
    }
    drawer.draw(DrawInput::MoveTo(*last));
    drawer.draw(DrawInput::End);
    pick(&mut drawer, RED.colour);
    drawer.step();

    // A zigzag in red, ended, and green picked in the next frame.
    let zigzag: Vec<BoardPoint> = (0..=16)
        .map(|i| BoardPoint::new(1000 + i * 30, if i % 2 == 0 { 300 } else { 500 }))
        .collect();
    drawer.draw(DrawInput::Begin(zigzag[0]));
    for &p in &zigzag[1..] {
        drawer.draw(DrawInput::MoveTo(p));
    }
    drawer.draw(DrawInput::End);
    drawer.step();
    pick(&mut drawer, GREEN);

    let strokes = |c: &Client| c.canvas().drawing.strokes().to_vec();
    step_until(
        &mut [&mut drawer, &mut viewer],
        LIMIT,
        "the viewer has both strokes",
        |cs| {
            cs[0].canvas().drawing.open_author().is_none()
                && strokes(cs[0]).len() == 2
                && strokes(cs[1]) == strokes(cs[0])
        },
    );
    assert_eq!(strokes(&drawer)[0].brush.colour, BLACK);
    assert_eq!(strokes(&drawer)[1].brush.colour, RED.colour);

    let seen = drawer.pixels();
    let shown = viewer.pixels();
    drawer.app.world_mut().write_message(PaintCanvas::Repaint);
    let repainted = drawer.pixels();
    save("drawer", &seen);
    save("viewer", &shown);
    save("drawer-repainted", &repainted);
    // The last corner of the rectangle, on the drawer's board, is black.
    assert!(
        close(at(&seen, 300, 225), BLACK, 2),
        "the rectangle's last segment: {:?}",
        at(&seen, 300, 225)
    );
    assert!(
        close(at(&seen, 1465, 400), RED.colour, 2),
        "the zigzag's last segment: {:?}",
        at(&seen, 1465, 400)
    );
    for (what, other) in [("the viewer's board", &shown), ("the log repainted", &repainted)] {
        let differing = seen
            .chunks(4)
            .zip(other.chunks(4))
            .filter(|(p, q)| p != q)
            .count();
        assert_eq!(
            differing, 0,
            "pixels differing between the drawer's board and {what}"
        );
    }
}

impl common::Client {
    /// Reads this client's board back from the GPU.
    fn pixels(&mut self) -> Vec<u8> {
        render::offscreen::read_back(&mut self.app)
    }
}
