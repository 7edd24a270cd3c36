//! The canvas over loopback TCP: a pen holder draws, two viewers see every batch exactly once
//! and in order, and a player who joins mid-drawing receives the same picture.

mod common;

use std::time::Duration;

use catchmind::app::ServerOptions;
use catchmind::plugins::canvas::fill::FillMask;
use catchmind::plugins::canvas::model::decode_deltas;
use catchmind::plugins::canvas::{
    BoardPoint, CanvasError, CanvasToClient, CanvasToServer, DrawInput, Drawing, FillComputed, Stroke,
};
use catchmind::plugins::net::ToServer;
use common::{Client, join_all, start_server, step_for, step_until};

const LIMIT: Duration = Duration::from_secs(10);

/// Rebuilds a drawing from the canvas messages a viewer received, failing on anything out of
/// order (points for a stroke that was not started, a stroke started twice...).
fn replay(received: &[CanvasToClient]) -> Drawing {
    let mut drawing = Drawing::default();
    for msg in received {
        match msg {
            CanvasToClient::Start { author, brush, at } => drawing.start(*author, *brush, *at).unwrap(),
            CanvasToClient::Points { author, deltas } => {
                let tail = drawing.open_tail(*author).expect("points for an open stroke");
                drawing
                    .extend(*author, &decode_deltas(tail, deltas).unwrap())
                    .unwrap();
            }
            CanvasToClient::End { author } => assert!(drawing.finish(*author), "end of an open stroke"),
            CanvasToClient::Log {
                strokes,
                replace,
                open,
            } => drawing.apply_log(strokes, *replace, *open),
            CanvasToClient::Undo { author } => assert!(drawing.undo(*author)),
            CanvasToClient::Clear => drawing.clear(),
            CanvasToClient::Fill {
                author,
                at,
                colour,
                mask,
            } => drawing.fill(*author, *at, *colour, (**mask).clone()).unwrap(),
            CanvasToClient::Pen(_) | CanvasToClient::Refused(_) | CanvasToClient::Replay { .. } => {}
        }
    }
    drawing
}

fn strokes(client: &Client) -> Vec<Stroke> {
    client.canvas().drawing.strokes().to_vec()
}

/// Draws a wavy line of `n` points, a few per step so that it goes out in many batches.
fn draw_line(pen: &mut Client, others: &mut [&mut Client], from: (i16, i16), n: i16) {
    pen.draw(DrawInput::Begin(BoardPoint::new(from.0, from.1)));
    for i in 1..=n {
        let x = from.0 + i * 5;
        let y = from.1 + ((i % 8) - 4) * 3;
        pen.draw(DrawInput::MoveTo(BoardPoint::new(x, y)));
        if i % 3 == 0 {
            pen.step();
            others.iter_mut().for_each(|c| c.step());
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    pen.draw(DrawInput::End);
}

#[test]
fn viewers_see_every_batch_once_in_order_and_late_joiners_get_the_log() {
    let server = start_server(ServerOptions::default());
    let mut pen = Client::connect(server.addr, "Painter", None);
    let mut v1 = Client::connect(server.addr, "Viewer1", None);
    let mut v2 = Client::connect(server.addr, "Viewer2", None);
    join_all(&mut [&mut pen, &mut v1, &mut v2]);

    pen.draw(DrawInput::TakePen);
    let painter = pen.roster().me;
    step_until(&mut [&mut pen, &mut v1, &mut v2], LIMIT, "pen taken", |cs| {
        cs.iter().all(|c| c.canvas().pen == painter)
    });

    draw_line(&mut pen, &mut [&mut v1, &mut v2], (100, 200), 120);
    draw_line(&mut pen, &mut [&mut v1, &mut v2], (100, 500), 90);
    // A stroke still open when the late joiner arrives.
    pen.draw(DrawInput::Begin(BoardPoint::new(900, 700)));
    pen.draw(DrawInput::MoveTo(BoardPoint::new(950, 720)));
    step_until(
        &mut [&mut pen, &mut v1, &mut v2],
        LIMIT,
        "viewers caught up",
        |cs| cs[1..].iter().all(|c| strokes(c) == strokes(cs[0])),
    );
    assert_eq!(strokes(&pen).len(), 3);
    assert_eq!(strokes(&pen)[0].points.len(), 121);

    let mut late = Client::connect(server.addr, "Late", None);
    step_until(
        &mut [&mut pen, &mut v1, &mut v2, &mut late],
        LIMIT,
        "late joiner has the log",
        |cs| strokes(cs[3]) == strokes(cs[0]),
    );
    pen.draw(DrawInput::MoveTo(BoardPoint::new(1000, 740)));
    pen.draw(DrawInput::End);
    draw_line(&mut pen, &mut [&mut v1, &mut v2, &mut late], (300, 100), 30);
    step_until(
        &mut [&mut pen, &mut v1, &mut v2, &mut late],
        LIMIT,
        "everyone has the last stroke",
        |cs| {
            cs[1..]
                .iter()
                .all(|c| strokes(c) == strokes(cs[0]) && !c.canvas().drawing.strokes().is_empty())
                && strokes(cs[0]).len() == 4
        },
    );
    step_for(
        &mut [&mut pen, &mut v1, &mut v2, &mut late],
        Duration::from_millis(200),
    );

    for viewer in [&v1, &v2, &late] {
        assert_eq!(
            replay(&viewer.canvas_received).strokes(),
            strokes(&pen),
            "{}: each batch once, in order",
            viewer.name
        );
        let batches = viewer
            .canvas_received
            .iter()
            .filter(|m| matches!(m, CanvasToClient::Points { .. }))
            .count();
        let least = if viewer.name == "Late" { 2 } else { 10 };
        assert!(
            batches >= least,
            "{}: the strokes came in many live batches ({batches})",
            viewer.name
        );
    }
    let logs = late
        .canvas_received
        .iter()
        .filter(|m| matches!(m, CanvasToClient::Log { .. }))
        .count();
    assert_eq!(logs, 1, "the late joiner got the log once");
    assert!(
        !pen.canvas_received
            .iter()
            .any(|m| matches!(m, CanvasToClient::Points { .. })),
        "no echo to the drawer"
    );

    // Undo and clear reach everyone.
    pen.draw(DrawInput::Undo);
    step_until(
        &mut [&mut pen, &mut v1, &mut v2, &mut late],
        LIMIT,
        "undo",
        |cs| {
            cs.iter()
                .all(|c| strokes(c).len() == 3 && strokes(c) == strokes(cs[0]))
        },
    );
    pen.draw(DrawInput::Clear);
    step_until(
        &mut [&mut pen, &mut v1, &mut v2, &mut late],
        LIMIT,
        "clear",
        |cs| cs.iter().all(|c| strokes(c).is_empty()),
    );
}

#[test]
fn players_without_the_pen_are_refused_and_resynced() {
    let server = start_server(ServerOptions::default());
    let mut pen = Client::connect(server.addr, "Painter", None);
    let mut sneaky = Client::connect(server.addr, "Sneaky", None);
    join_all(&mut [&mut pen, &mut sneaky]);
    pen.draw(DrawInput::TakePen);
    step_until(&mut [&mut pen, &mut sneaky], LIMIT, "pen", |cs| {
        cs[1].canvas().pen.is_some()
    });
    draw_line(&mut pen, &mut [&mut sneaky], (10, 10), 10);
    step_until(&mut [&mut pen, &mut sneaky], LIMIT, "stroke", |cs| {
        strokes(cs[1]).len() == 1
    });

    // The UI would not let it, so send the requests directly.
    for request in [
        CanvasToServer::Start {
            brush: pen.canvas().current_brush(),
            at: BoardPoint::new(5, 5),
        },
        CanvasToServer::Undo,
        CanvasToServer::Clear,
        CanvasToServer::TakePen,
    ] {
        sneaky.app.world_mut().write_message(ToServer(request));
    }
    step_until(&mut [&mut pen, &mut sneaky], LIMIT, "refusals", |cs| {
        cs[1]
            .canvas_received
            .iter()
            .filter(|m| matches!(m, CanvasToClient::Refused(_)))
            .count()
            == 4
    });
    step_for(&mut [&mut pen, &mut sneaky], Duration::from_millis(200));
    assert_eq!(strokes(&pen).len(), 1);
    assert_eq!(
        strokes(&sneaky),
        strokes(&pen),
        "the refused player still shows the true picture"
    );
    let logs = sneaky
        .canvas_received
        .iter()
        .filter(|m| matches!(m, CanvasToClient::Log { .. }))
        .count();
    assert_eq!(
        logs, 1,
        "four refusals in a row resend the picture once, not four times"
    );
    assert_eq!(sneaky.canvas().refused, Some(CanvasError::PenBusy));

    // Leaving releases the pen.
    pen.leave();
    step_until(&mut [&mut pen, &mut sneaky], LIMIT, "pen released", |cs| {
        cs[1].canvas().pen.is_none()
    });
}

/// A fill (the region as the filler's renderer worked it out) reaches every viewer and a late
/// joiner as the same log entry, and an undo takes it away everywhere.
#[test]
fn a_fill_reaches_every_client_and_a_late_joiner_identically() {
    let server = start_server(ServerOptions::default());
    let mut pen = Client::connect(server.addr, "Painter", None);
    let mut viewer = Client::connect(server.addr, "Viewer", None);
    join_all(&mut [&mut pen, &mut viewer]);
    pen.draw(DrawInput::TakePen);
    let painter = pen.roster().me;
    step_until(&mut [&mut pen, &mut viewer], LIMIT, "pen taken", |cs| {
        cs.iter().all(|c| c.canvas().pen == painter)
    });
    draw_line(&mut pen, &mut [&mut viewer], (100, 200), 60);
    // A disc of radius 100 around (400, 300), as the flood would give it.
    let mut bits = vec![false; 1600 * 900];
    for y in 200..=400usize {
        for x in 300..=500usize {
            if (x as i32 - 400).pow(2) + (y as i32 - 300).pow(2) <= 100 * 100 {
                bits[y * 1600 + x] = true;
            }
        }
    }
    let mask = FillMask::from_bitmap(&bits);
    let at = BoardPoint::new(400, 300);
    pen.app.world_mut().write_message(FillComputed {
        at,
        colour: [240, 200, 40],
        mask: mask.clone(),
    });
    pen.step();
    step_until(&mut [&mut pen, &mut viewer], LIMIT, "the fill", |cs| {
        cs[1].canvas().drawing.strokes().iter().any(|s| s.fill.is_some())
    });
    assert_eq!(strokes(&viewer), strokes(&pen));
    let fill = strokes(&pen).last().unwrap().clone();
    assert_eq!(fill.fill.as_deref(), Some(&mask));
    assert_eq!(
        (fill.points.as_slice(), fill.brush.colour),
        (&[at][..], [240, 200, 40])
    );
    assert_eq!(replay(&viewer.canvas_received), viewer.canvas().drawing);
    let bytes = catchmind::codec::encode(&CanvasToServer::Fill {
        at,
        colour: [240, 200, 40],
        mask: mask.clone(),
    })
    .unwrap()
    .len();
    println!("a disc of radius 100 filled: {bytes} bytes on the wire");
    assert!(bytes < 1_200, "{bytes} bytes");

    let mut late = Client::connect(server.addr, "Late", None);
    step_until(
        &mut [&mut late, &mut pen],
        LIMIT,
        "the late joiner's picture",
        |cs| cs[0].joined() && cs[0].canvas().drawing.strokes().len() == 2,
    );
    assert_eq!(strokes(&late), strokes(&pen));

    pen.draw(DrawInput::Undo);
    step_until(&mut [&mut pen, &mut viewer, &mut late], LIMIT, "the undo", |cs| {
        cs.iter().all(|c| c.canvas().drawing.strokes().len() == 1)
    });
    assert!(strokes(&late).iter().all(|s| s.fill.is_none()));
    assert_eq!(strokes(&viewer), strokes(&pen));
}

/// A disc of radius `r` around (`x`, `y`), as the flood would give it.
fn disc(x: usize, y: usize, r: usize) -> FillMask {
    let mut bits = vec![false; 1600 * 900];
    for py in y - r..=y + r {
        for px in x - r..=x + r {
            if (px as i64 - x as i64).pow(2) + (py as i64 - y as i64).pow(2) <= (r * r) as i64 {
                bits[py * 1600 + px] = true;
            }
        }
    }
    FillMask::from_bitmap(&bits)
}

/// The two races of a fill that waits for the board to be read back: a stroke begun meanwhile
/// ends with all its points before the fill, and a fill the server refuses (the pen was let go
/// meanwhile) leaves no phantom on the filler's board.
#[test]
fn a_fill_after_a_stroke_begun_meanwhile_and_a_refused_fill_leave_every_board_the_same() {
    let server = start_server(ServerOptions::default());
    let mut pen = Client::connect(server.addr, "Painter", None);
    let mut viewer = Client::connect(server.addr, "Viewer", None);
    join_all(&mut [&mut pen, &mut viewer]);
    pen.draw(DrawInput::TakePen);
    let painter = pen.roster().me;
    step_until(&mut [&mut pen, &mut viewer], LIMIT, "pen taken", |cs| {
        cs.iter().all(|c| c.canvas().pen == painter)
    });
    // A stroke whose points are still waiting to go out when the fill comes back.
    pen.draw(DrawInput::Begin(BoardPoint::new(100, 100)));
    for i in 1..10 {
        pen.draw(DrawInput::MoveTo(BoardPoint::new(100 + i * 10, 100)));
    }
    pen.app.world_mut().write_message(FillComputed {
        at: BoardPoint::new(400, 300),
        colour: [1, 2, 3],
        mask: disc(400, 300, 50),
    });
    pen.step();
    step_until(
        &mut [&mut pen, &mut viewer],
        LIMIT,
        "the stroke and the fill",
        |cs| cs[1].canvas().drawing.strokes().len() == 2,
    );
    step_for(&mut [&mut pen, &mut viewer], Duration::from_millis(200));
    assert_eq!(pen.canvas().refused, None, "nothing refused");
    assert_eq!(strokes(&viewer), strokes(&pen));
    assert_eq!(strokes(&viewer)[0].points.len(), 10, "every point of the stroke");

    // The pen is let go and a fill comes back in the same frame: the server refuses it, and
    // the painter's board is put right.
    pen.draw(DrawInput::ReleasePen);
    pen.app.world_mut().write_message(FillComputed {
        at: BoardPoint::new(800, 300),
        colour: [4, 5, 6],
        mask: disc(800, 300, 50),
    });
    pen.step();
    step_until(
        &mut [&mut pen, &mut viewer],
        LIMIT,
        "the refusal and the true picture",
        |cs| {
            cs[0].canvas().refused == Some(CanvasError::NotYourPen)
                && cs[0].canvas().drawing.strokes().len() == 2
        },
    );
    assert_eq!(strokes(&viewer), strokes(&pen));
}
