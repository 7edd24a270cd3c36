//! Canvas measurements (run with `cargo run --release --example canvas_bench`):
//! 1. bytes per second a drawer sends while drawing continuously along a scripted 60 Hz
//!    mouse path, through a real server over loopback;
//! 2. a typical drawing's log against the same drawing as PNG;
//! 3. frame time with 10,000 segments already on the canvas against an empty canvas
//!    (needs a GPU adapter; lavapipe works).

use std::time::{Duration, Instant};

use catchmind::app::{HostedServer, ServerOptions, headless_client_app};
use catchmind::codec;
use catchmind::id::ClientId;
use catchmind::plugins::canvas::render::{CanvasRenderStats, offscreen};
use catchmind::plugins::canvas::{
    BoardPoint, Brush, CanvasState, DrawInput, PaintCanvas, Stroke, gallery, log_chunks,
};
use catchmind::plugins::net::{NetServer, NetStats};
use catchmind::plugins::rooms::{JoinRequest, JoinServer, Roster};

fn main() {
    let drawing = bandwidth();
    log_against_png(&drawing);
    frame_times();
}

fn client(addr: std::net::SocketAddr, name: &str) -> bevy::app::App {
    let mut app = headless_client_app();
    let join = JoinRequest {
        name: name.into(),
        room: None,
        host_token: None,
        resume: None,
        spectate: false,
    };
    app.world_mut().write_message(JoinServer {
        addr: addr.to_string(),
        join,
    });
    app
}

/// A scripted mouse path: a wobbly spiral, pen lifted every 2 seconds.
fn path_point(frame: usize) -> BoardPoint {
    let t = frame as f32 / 60.0;
    let radius = 120.0 + 25.0 * t;
    let x = 800.0 + radius * (t * 2.1).cos() + 30.0 * (t * 9.0).sin();
    let y = 450.0 + radius * 0.8 * (t * 2.1).sin();
    BoardPoint::from_f32(x.clamp(0.0, 1600.0), y.clamp(0.0, 900.0)).unwrap()
}

fn bandwidth() -> Vec<Stroke> {
    let listener = NetServer::bind("127.0.0.1:0").unwrap();
    let server = HostedServer::spawn(listener, ServerOptions::default()).unwrap();
    let mut drawer = client(server.addr, "drawer");
    let mut viewer = client(server.addr, "viewer");
    let deadline = Instant::now() + Duration::from_secs(10);
    while [&drawer, &viewer]
        .iter()
        .any(|a| a.world().resource::<Roster>().me.is_none())
    {
        drawer.update();
        viewer.update();
        assert!(Instant::now() < deadline, "could not connect");
        std::thread::sleep(Duration::from_millis(5));
    }
    drawer.world_mut().write_message(DrawInput::TakePen);
    let me = drawer.world().resource::<Roster>().me;
    while drawer.world().resource::<CanvasState>().pen != me {
        drawer.update();
        viewer.update();
        std::thread::sleep(Duration::from_millis(5));
    }
    let frames = 600; // 10 s at 60 Hz
    let start_bytes = drawer.world().resource::<NetStats>().bytes_sent;
    let start_frames = drawer.world().resource::<NetStats>().frames_sent;
    let started = Instant::now();
    for frame in 0..frames {
        let point = path_point(frame);
        let input = if frame % 120 == 0 {
            DrawInput::Begin(point)
        } else {
            DrawInput::MoveTo(point)
        };
        if frame % 120 == 0 && frame > 0 {
            drawer.world_mut().write_message(DrawInput::End);
        }
        drawer.world_mut().write_message(input);
        drawer.update();
        viewer.update();
        let next = started + Duration::from_secs_f64((frame + 1) as f64 / 60.0);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    drawer.world_mut().write_message(DrawInput::End);
    drawer.update();
    let seconds = started.elapsed().as_secs_f64();
    let stats = *drawer.world().resource::<NetStats>();
    let bytes = stats.bytes_sent - start_bytes;
    let sent_frames = stats.frames_sent - start_frames;
    let strokes = drawer
        .world()
        .resource::<CanvasState>()
        .drawing
        .strokes()
        .to_vec();
    let points: usize = strokes.iter().map(|s| s.points.len()).sum();
    println!(
        "1. drawing continuously (60 Hz path, {frames} samples in {seconds:.1} s, {points} points kept in {} strokes):",
        strokes.len()
    );
    println!(
        "   {:.0} bytes/s sent by the drawer in {:.1} frames/s ({:.1} bytes per frame, header included)",
        bytes as f64 / seconds,
        sent_frames as f64 / seconds,
        bytes as f64 / sent_frames as f64
    );
    // Let the viewer catch up, to check the picture arrived whole.
    for _ in 0..100 {
        viewer.update();
        std::thread::sleep(Duration::from_millis(5));
    }
    let seen = viewer
        .world()
        .resource::<CanvasState>()
        .drawing
        .strokes()
        .to_vec();
    println!("   the viewer has the same strokes: {}", seen == strokes);
    strokes
}

/// The log's bytes on the wire (frames with headers) against the PNG of the same picture.
fn log_against_png(drawing: &[Stroke]) {
    let sketch = sketch();
    for (what, strokes) in [
        ("the 10 s spiral", drawing.to_vec()),
        ("a 30-stroke sketch", sketch),
    ] {
        let mut model = catchmind::plugins::canvas::Drawing::default();
        strokes.iter().for_each(|s| model.push(s.clone()).unwrap());
        let log: usize = log_chunks(&model)
            .into_iter()
            // Each frame: its length header, the message's tag (one byte) and the chunk.
            .map(|chunk| codec::encode(&chunk).unwrap().len() + 1 + 4)
            .sum();
        let mut app = offscreen::app();
        app.world_mut().resource_mut::<CanvasState>().drawing = model;
        app.world_mut().write_message(PaintCanvas::Repaint);
        let pixels = offscreen::read_back(&mut app);
        let png = gallery::encode_png(&pixels, 1600, 900).unwrap();
        let points: usize = strokes.iter().map(|s| s.points.len()).sum();
        println!(
            "2. {what} ({} strokes, {points} points): log {log} bytes, PNG (1600x900) {} bytes",
            strokes.len(),
            png.len()
        );
    }
}

/// Thirty strokes of a hand-drawn-like sketch: short random walks.
fn sketch() -> Vec<Stroke> {
    let mut seed = 12345u32;
    let mut next = move |range: i32| {
        seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
        (seed >> 16) as i32 % range
    };
    (0..30)
        .map(|i| {
            let mut x = 200 + next(1200);
            let mut y = 150 + next(600);
            let (mut dx, mut dy) = (next(7) - 3, next(7) - 3);
            let points = (0..40 + next(60))
                .map(|_| {
                    dx = (dx + next(3) - 1).clamp(-6, 6);
                    dy = (dy + next(3) - 1).clamp(-6, 6);
                    x = (x + dx).clamp(0, 1600);
                    y = (y + dy).clamp(0, 900);
                    BoardPoint::new(x as i16, y as i16)
                })
                .collect();
            let colour = [[20, 20, 20], [220, 40, 40], [30, 80, 220]][i % 3];
            Stroke {
                author: ClientId(1),
                brush: Brush {
                    colour,
                    size: 4 + (i % 4) as u8 * 3,
                    eraser: false,
                },
                points,
                fill: None,
            }
        })
        .collect()
}

/// Mean frame time while one new segment arrives per frame, on an empty canvas and on one
/// with 10,000 segments already drawn.
fn frame_times() {
    let mut app = offscreen::app();
    let brush = Brush {
        colour: [20, 20, 20],
        size: 6,
        eraser: false,
    };
    let measure = |app: &mut bevy::app::App, label: &str| {
        let mut times = Vec::new();
        for frame in 0..300 {
            let a = path_point(frame);
            let b = path_point(frame + 1);
            app.world_mut().write_message(PaintCanvas::Segments {
                brush,
                points: vec![a, b],
            });
            let started = Instant::now();
            app.update();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let live = app.world().resource::<CanvasRenderStats>().live_dabs;
        println!(
            "3. {label}: mean {mean:.2} ms, median {:.2} ms, p95 {:.2} ms per frame ({live} dab entities alive)",
            times[150], times[285]
        );
    };
    measure(&mut app, "empty canvas");
    // 10,000 segments: 100 strokes of 101 points, drawn as a late-join log would be.
    let mut model = catchmind::plugins::canvas::Drawing::default();
    for s in 0..100 {
        let points = (0..=100).map(|i| path_point(s * 37 + i)).collect();
        model
            .push(Stroke {
                author: ClientId(1),
                brush,
                points,
                fill: None,
            })
            .expect("within the caps");
    }
    app.world_mut().resource_mut::<CanvasState>().drawing = model;
    app.world_mut().write_message(PaintCanvas::Repaint);
    let started = Instant::now();
    app.update();
    println!(
        "   repainting 10,000 segments at once: {:.1} ms (one frame)",
        started.elapsed().as_secs_f64() * 1000.0
    );
    for _ in 0..5 {
        app.update();
    }
    measure(&mut app, "10,000 segments already drawn");
    let started = Instant::now();
    for _ in 0..100 {
        app.update();
    }
    println!(
        "   a frame with nothing new to draw: {:.2} ms",
        started.elapsed().as_secs_f64() * 10.0
    );
    fill_frames(&mut app);
}

/// 4. What a fill costs a client's frames: a whole-board fill and a disc of radius 150 painted
///    (one texture upload and a quad each), against a frame with nothing new.
fn fill_frames(app: &mut bevy::app::App) {
    use catchmind::plugins::canvas::fill::FillMask;
    let (w, h) = (1600usize, 900usize);
    let disc: Vec<bool> = (0..w * h)
        .map(|i| ((i % w) as f32 - 800.0).powi(2) + ((i / w) as f32 - 450.0).powi(2) <= 150.0 * 150.0)
        .collect();
    for (label, bits) in [
        ("a disc of radius 150", disc),
        ("the whole board", vec![true; w * h]),
    ] {
        let mask = std::sync::Arc::new(FillMask::from_bitmap(&bits));
        let mut times = Vec::new();
        for _ in 0..20 {
            app.world_mut().write_message(PaintCanvas::Fill {
                colour: [240, 200, 40],
                mask: mask.clone(),
            });
            let started = Instant::now();
            app.update();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            for _ in 0..3 {
                app.update();
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "4. the frame painting a fill of {label} ({} bytes on the wire): median {:.1} ms, max {:.1} ms",
            codec::encode(&*mask).unwrap().len(),
            times[10],
            times[19]
        );
    }
}
