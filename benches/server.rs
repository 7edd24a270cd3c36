//! Timing of the server's hot paths: `cargo bench` (release). Without `--bench` (as
//! `cargo test --all-targets` runs it) each case runs a few times only, as a smoke test.
//!
//! Cases: the codec (a stroke batch, a chat line, a 100,000-point late-join log), guess
//! normalisation and the close-guess check, a room's handling of one stroke batch, the time
//! to sync a 10,000-segment canvas to a late joiner over loopback, and the fill bucket (a
//! client's flood, a room's handling of the fill).

use std::hint::black_box;
use std::time::{Duration, Instant};

use catchmind::app::{HostedServer, ServerOptions, headless_client_app};
use catchmind::codec;
use catchmind::id::ClientId;
use catchmind::plugins::canvas::model::{MAX_BATCH_POINTS, encode_deltas};
use catchmind::plugins::canvas::{
    BoardPoint, Brush, CanvasState, CanvasToClient, CanvasToServer, Drawing, RoomCanvas, apply_request,
    log_chunks,
};
use catchmind::plugins::chat::{ChatLine, ChatToClient};
use catchmind::plugins::net::{NetServer, ToServer};
use catchmind::plugins::quiz::text;
use catchmind::plugins::rooms::{JoinRequest, JoinServer, Roster};

const INK: Brush = Brush {
    colour: [20, 20, 20],
    size: 6,
    eraser: false,
};

/// Runs `op` for about `budget` (a few times in smoke mode) and prints the median of 5 rounds.
fn bench(name: &str, full: bool, mut op: impl FnMut()) {
    let (rounds, budget) = if full {
        (5, Duration::from_millis(400))
    } else {
        (1, Duration::ZERO)
    };
    let mut per_op = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let mut n = 0u64;
        loop {
            op();
            n += 1;
            if start.elapsed() >= budget {
                break;
            }
        }
        per_op.push(start.elapsed().as_nanos() as f64 / n as f64);
    }
    per_op.sort_by(|a, b| a.total_cmp(b));
    let median = per_op[per_op.len() / 2];
    let shown = if median >= 1e6 {
        format!("{:.2} ms", median / 1e6)
    } else if median >= 1e3 {
        format!("{:.2} µs", median / 1e3)
    } else {
        format!("{median:.0} ns")
    };
    println!("{name:<58} {shown:>12}");
}

fn drawing_of(points: usize) -> Drawing {
    let mut drawing = Drawing::default();
    let mut left = points;
    let mut i = 0i16;
    while left > 0 {
        drawing
            .start(ClientId(1), INK, BoardPoint::new(10 + i % 1500, 10))
            .unwrap();
        left -= 1;
        while left > 0 && drawing.strokes().last().unwrap().points.len() < 4000 {
            let room = 4000 - drawing.strokes().last().unwrap().points.len();
            let n = left.min(MAX_BATCH_POINTS).min(room);
            let batch: Vec<BoardPoint> = (0..n)
                .map(|k| BoardPoint::new(10 + (k as i16 * 3) % 1500, 20 + (k as i16) % 800))
                .collect();
            drawing.extend(ClientId(1), &batch).unwrap();
            left -= n;
        }
        drawing.finish(ClientId(1));
        i += 1;
    }
    drawing
}

fn codec_cases(full: bool) {
    let batch = CanvasToServer::Points(vec![[3, 4], [-2, 1]]);
    let bytes = codec::encode(&(9u32, &batch)).unwrap();
    bench("codec: encode a 2-point stroke batch", full, || {
        black_box(codec::encode(&(9u32, black_box(&batch))).unwrap());
    });
    bench("codec: decode a 2-point stroke batch", full, || {
        black_box(codec::decode::<(u32, CanvasToServer)>(black_box(&bytes)).unwrap());
    });
    let line = ChatToClient::Line(ChatLine {
        from: ClientId(7),
        name: "철수".into(),
        text: "이거 사과 아니야? is it an apple".into(),
    });
    let bytes = codec::encode(&(10u32, &line)).unwrap();
    bench("codec: encode a chat line", full, || {
        black_box(codec::encode(&(10u32, black_box(&line))).unwrap());
    });
    bench("codec: decode a chat line", full, || {
        black_box(codec::decode::<(u32, ChatToClient)>(black_box(&bytes)).unwrap());
    });
    let drawing = drawing_of(100_000);
    bench(
        "codec: a 100,000-point late-join log, chunked and encoded",
        full,
        || {
            for chunk in log_chunks(black_box(&drawing)) {
                black_box(codec::encode(&(11u32, chunk)).unwrap());
            }
        },
    );
    // What the server now does for each joiner while the drawing has not changed: the chunks
    // and their bytes were made once, and a joiner gets shared copies.
    let made: Vec<(CanvasToClient, Vec<u8>)> = log_chunks(&drawing)
        .into_iter()
        .map(|chunk| {
            let bytes = codec::encode(&(11u32, &chunk)).unwrap();
            (chunk, bytes)
        })
        .collect();
    let shared: Vec<(CanvasToClient, bytes::Bytes)> = made.into_iter().map(|(c, b)| (c, b.into())).collect();
    bench(
        "codec: the same 100,000-point log for one more joiner (shared)",
        full,
        || {
            for (chunk, bytes) in black_box(&shared) {
                black_box((chunk.clone(), bytes.clone()));
            }
        },
    );
}

fn text_cases(full: bool) {
    bench("guess: normalise a Korean line", full, || {
        black_box(text::normalize(black_box(" 해 바라기 ㅋㅋ ")));
    });
    bench("guess: close check, Korean (jamo)", full, || {
        black_box(text::is_close(black_box("해바리기"), black_box("해바라기")));
    });
    bench("guess: close check, English", full, || {
        black_box(text::is_close(black_box("telescpoe"), black_box("telescope")));
    });
    bench("guess: the drawer's leak guard", full, || {
        black_box(text::leaks(
            black_box("it is a t-e-l-e-s-c-o-p-e!"),
            black_box("telescope"),
        ));
    });
}

fn room_cases(full: bool) {
    let mut canvas = RoomCanvas::default();
    let me = ClientId(1);
    let now = Duration::from_secs(1);
    apply_request(&mut canvas, me, &CanvasToServer::TakePen, now).unwrap();
    let start = CanvasToServer::Start {
        brush: INK,
        at: BoardPoint::new(800, 450),
    };
    apply_request(&mut canvas, me, &start, now).unwrap();
    let mut at = BoardPoint::new(800, 450);
    let mut points = 1;
    bench(
        "room: check, store and encode one 2-point stroke batch",
        full,
        || {
            if points > 4000 {
                apply_request(&mut canvas, me, &CanvasToServer::End, now).unwrap();
                canvas.drawing.clear();
                apply_request(&mut canvas, me, &start, now).unwrap();
                at = BoardPoint::new(800, 450);
                points = 1;
            }
            let next = [BoardPoint::new(at.x + 1, at.y), at];
            let batch = CanvasToServer::Points(encode_deltas(at, &next));
            let relay = apply_request(&mut canvas, me, &batch, now).unwrap();
            black_box(codec::encode(&(12u32, relay_msg(relay))).unwrap());
            points += 2;
        },
    );
}

fn relay_msg(relay: catchmind::plugins::canvas::Relay) -> CanvasToClient {
    match relay {
        catchmind::plugins::canvas::Relay::ToOthers(mut msgs) => msgs.pop().unwrap(),
        other => panic!("{other:?}"),
    }
}

/// A drawer puts 10,000 segments on the board; a late joiner connects: how long until its
/// board has them all.
fn late_join(full: bool) {
    let listener = NetServer::bind("127.0.0.1:0").unwrap();
    let server = HostedServer::spawn(listener, ServerOptions::default()).unwrap();
    let join = |name: &str| {
        let mut app = headless_client_app();
        app.world_mut().write_message(JoinServer {
            addr: server.addr.to_string(),
            join: JoinRequest {
                name: name.into(),
                room: None,
                host_token: None,
                resume: None,
                spectate: false,
            },
        });
        app
    };
    let until = |app: &mut bevy::app::App, what: &str, done: &dyn Fn(&bevy::app::App) -> bool| {
        let start = Instant::now();
        while !done(app) {
            app.update();
            assert!(start.elapsed() < Duration::from_secs(30), "timed out: {what}");
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    let mut drawer = join("drawer");
    until(&mut drawer, "the drawer joins", &|a| {
        a.world().resource::<Roster>().me.is_some()
    });
    let me = drawer.world().resource::<Roster>().me;
    drawer
        .world_mut()
        .write_message(ToServer(CanvasToServer::TakePen));
    until(&mut drawer, "the pen", &|a| {
        a.world().resource::<CanvasState>().pen == me
    });
    // 10,000 segments: 20 strokes of 500 points plus their starts (10,020 points).
    for s in 0..20i16 {
        let at = BoardPoint::new(100 + s * 50, 100);
        drawer
            .world_mut()
            .write_message(ToServer(CanvasToServer::Start { brush: INK, at }));
        let points: Vec<BoardPoint> = (1..=500i16)
            .map(|k| BoardPoint::new(100 + s * 50, 100 + k))
            .collect();
        drawer
            .world_mut()
            .write_message(ToServer(CanvasToServer::Points(encode_deltas(at, &points))));
        drawer.world_mut().write_message(ToServer(CanvasToServer::End));
        drawer.update();
    }
    let rounds = if full { 5 } else { 1 };
    let mut times = Vec::new();
    for round in 0..rounds {
        let start = Instant::now();
        let mut viewer = join(&format!("viewer{round}"));
        until(&mut viewer, "the whole board", &|a| {
            a.world().resource::<CanvasState>().drawing.point_count() == 10_020
        });
        times.push(start.elapsed());
        drop(viewer);
        drawer.update();
    }
    times.sort();
    println!(
        "{:<58} {:>12}",
        "late join: connect and receive a 10,000-segment board",
        format!("{:.2} ms", times[times.len() / 2].as_secs_f64() * 1000.0)
    );
}

/// The fixed cost of one update of the server's schedule when nothing arrived: what every
/// wake-up pays before any work.
fn update_case(full: bool) {
    let listener = NetServer::bind("127.0.0.1:0").unwrap();
    let shutdown = catchmind::plugins::net::ShutdownSignal::default();
    let mut app =
        catchmind::app::server_app(listener, ServerOptions::default(), shutdown, None, false).unwrap();
    catchmind::startup::finish_plugins(&mut app);
    bench("server: one update with nothing to do", full, || app.update());
}

/// The fill bucket: a client's flood of its read-back board (a ring of radius 150 drawn with
/// a soft edge), and a room's handling of the resulting fill on the server.
fn fill_cases(full: bool) {
    use catchmind::plugins::canvas::fill::flood;
    let (w, h) = (1600usize, 900usize);
    let mut board = vec![255u8; w * h * 4];
    for y in 200..600 {
        for x in 300..700 {
            let d = (((x as f32 - 500.0).powi(2) + (y as f32 - 400.0).powi(2)).sqrt() - 150.0).abs();
            let ink = (4.5 - d).clamp(0.0, 1.0);
            let v = (255.0 - 235.0 * ink) as u8;
            board[(y * w + x) * 4..(y * w + x) * 4 + 3].fill(v);
        }
    }
    let mut mask = None;
    bench("fill: flood a ring on a 1600x900 board (client)", full, || {
        mask = black_box(flood(black_box(&board), (500, 400), [240, 200, 40]));
    });
    let mask = mask.expect("a region");
    let request = CanvasToServer::Fill {
        at: BoardPoint::new(500, 400),
        colour: [240, 200, 40],
        mask,
    };
    let bytes = codec::encode(&request).unwrap();
    println!("fill: the ring's fill is {} bytes on the wire", bytes.len() + 4);
    bench("fill: decode, check and apply one fill (server)", full, || {
        let mut room = RoomCanvas::default();
        let now = Duration::from_secs(1);
        apply_request(&mut room, ClientId(1), &CanvasToServer::TakePen, now).unwrap();
        let request: CanvasToServer = codec::decode(black_box(&bytes)).unwrap();
        black_box(apply_request(&mut room, ClientId(1), &request, now).unwrap());
    });
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    fill_cases(full);
    update_case(full);
    codec_cases(full);
    text_cases(full);
    room_cases(full);
    late_join(full);
}
