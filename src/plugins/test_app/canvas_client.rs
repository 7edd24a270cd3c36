//! The canvas over the in-memory network: a pen holder draws, viewers see every batch exactly
//! once and in order, a player who joins mid-drawing receives the same picture, fills and
//! their races.

use std::time::Duration;

use super::{TestClient, TestNet};
use crate::plugins::canvas::fill::FillMask;
use crate::plugins::canvas::model::decode_deltas;
use crate::plugins::canvas::{
    BoardPoint, CanvasError, CanvasState, CanvasToClient, CanvasToServer, DrawInput, Drawing, FillComputed,
    Stroke,
};

const LIMIT: Duration = Duration::from_secs(2);

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

fn canvas(client: &TestClient) -> &CanvasState {
    client.resource::<CanvasState>()
}

fn strokes(client: &TestClient) -> Vec<Stroke> {
    canvas(client).drawing.strokes().to_vec()
}

fn count(client: &TestClient, what: impl Fn(&CanvasToClient) -> bool) -> usize {
    client
        .received::<CanvasToClient>()
        .iter()
        .filter(|m| what(m))
        .count()
}

/// Players joined in the lobby, each recording what the canvas sends it; the first holds the pen.
fn painter_and(names: &[&str]) -> TestNet {
    let mut net = TestNet::new(|_| {});
    for name in names {
        let i = net.connect(name, None);
        net[i].record::<CanvasToClient>();
    }
    net.join_all();
    net[0].write(DrawInput::TakePen);
    net.step_until(LIMIT, "pen taken", |net| {
        net.clients
            .iter()
            .all(|c| canvas(c).pen.is_some() && canvas(c).pen == net[0].roster().me)
    });
    net
}

/// Draws a wavy line of `n` points, a few per step so that it goes out in many batches.
fn draw_line(net: &mut TestNet, from: (i16, i16), n: i16) {
    net[0].write(DrawInput::Begin(BoardPoint::new(from.0, from.1)));
    for i in 1..=n {
        let x = from.0 + i * 5;
        let y = from.1 + ((i % 8) - 4) * 3;
        net[0].write(DrawInput::MoveTo(BoardPoint::new(x, y)));
        if i % 3 == 0 {
            net.step();
        }
    }
    net[0].write(DrawInput::End);
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

#[test]
fn viewers_see_every_batch_once_in_order_and_late_joiners_get_the_log() {
    let mut net = painter_and(&["Painter", "Viewer1", "Viewer2"]);
    draw_line(&mut net, (100, 200), 120);
    draw_line(&mut net, (100, 500), 90);
    // A stroke still open when the late joiner arrives.
    net[0].write(DrawInput::Begin(BoardPoint::new(900, 700)));
    net[0].write(DrawInput::MoveTo(BoardPoint::new(950, 720)));
    net.step_until(LIMIT, "viewers caught up", |net| {
        net.clients[1..].iter().all(|c| strokes(c) == strokes(&net[0]))
    });
    assert_eq!(strokes(&net[0]).len(), 3);
    assert_eq!(strokes(&net[0])[0].points.len(), 121);

    let late = net.connect("Late", None);
    net[late].record::<CanvasToClient>();
    net.step_until(LIMIT, "late joiner has the log", |net| {
        net[late].joined() && strokes(&net[late]) == strokes(&net[0])
    });
    net[0].write(DrawInput::MoveTo(BoardPoint::new(1000, 740)));
    net[0].write(DrawInput::End);
    draw_line(&mut net, (300, 100), 30);
    net.step_until(LIMIT, "everyone has the last stroke", |net| {
        strokes(&net[0]).len() == 4 && net.clients[1..].iter().all(|c| strokes(c) == strokes(&net[0]))
    });
    net.run_for(Duration::from_millis(200));

    for viewer in &net.clients[1..] {
        let received = viewer.received::<CanvasToClient>();
        assert_eq!(
            replay(received).strokes(),
            strokes(&net[0]),
            "{}: each batch once, in order",
            viewer.name
        );
        let batches = count(viewer, |m| matches!(m, CanvasToClient::Points { .. }));
        let least = if viewer.name == "Late" { 2 } else { 10 };
        assert!(
            batches >= least,
            "{}: the strokes came in many live batches ({batches})",
            viewer.name
        );
    }
    let logs = count(&net[late], |m| matches!(m, CanvasToClient::Log { .. }));
    assert_eq!(logs, 1, "the late joiner got the log once");
    let echoes = count(&net[0], |m| matches!(m, CanvasToClient::Points { .. }));
    assert_eq!(echoes, 0, "no echo to the drawer");

    // Undo and clear reach everyone.
    net[0].write(DrawInput::Undo);
    net.step_until(LIMIT, "undo", |net| {
        net.clients
            .iter()
            .all(|c| strokes(c).len() == 3 && strokes(c) == strokes(&net[0]))
    });
    net[0].write(DrawInput::Clear);
    net.step_until(LIMIT, "clear", |net| {
        net.clients.iter().all(|c| strokes(c).is_empty())
    });
}

#[test]
fn players_without_the_pen_are_refused_and_resynced() {
    let mut net = painter_and(&["Painter", "Sneaky"]);
    draw_line(&mut net, (10, 10), 10);
    net.step_until(LIMIT, "stroke", |net| strokes(&net[1]).len() == 1);

    // The UI would not let it, so send the requests directly.
    let brush = canvas(&net[0]).current_brush();
    for request in [
        CanvasToServer::Start {
            brush,
            at: BoardPoint::new(5, 5),
        },
        CanvasToServer::Undo,
        CanvasToServer::Clear,
        CanvasToServer::TakePen,
    ] {
        net[1].send(request);
    }
    net.step_until(LIMIT, "refusals", |net| {
        count(&net[1], |m| matches!(m, CanvasToClient::Refused(_))) == 4
    });
    net.run_for(Duration::from_millis(200));
    assert_eq!(strokes(&net[0]).len(), 1);
    assert_eq!(
        strokes(&net[1]),
        strokes(&net[0]),
        "the refused player still shows the true picture"
    );
    let logs = count(&net[1], |m| matches!(m, CanvasToClient::Log { .. }));
    assert_eq!(
        logs, 1,
        "four refusals in a row resend the picture once, not four times"
    );
    assert_eq!(canvas(&net[1]).refused, Some(CanvasError::PenBusy));

    // Leaving releases the pen.
    net[0].leave();
    net.step_until(LIMIT, "pen released", |net| canvas(&net[1]).pen.is_none());
}

/// A fill (the region as the filler's renderer worked it out) reaches every viewer and a late
/// joiner as the same log entry, and an undo takes it away everywhere.
#[test]
fn a_fill_reaches_every_client_and_a_late_joiner_identically() {
    let mut net = painter_and(&["Painter", "Viewer"]);
    draw_line(&mut net, (100, 200), 60);
    let mask = disc(400, 300, 100);
    let at = BoardPoint::new(400, 300);
    net[0].write(FillComputed {
        at,
        colour: [240, 200, 40],
        mask: mask.clone(),
    });
    net.step_until(LIMIT, "the fill", |net| {
        strokes(&net[1]).iter().any(|s| s.fill.is_some())
    });
    assert_eq!(strokes(&net[1]), strokes(&net[0]));
    let fill = strokes(&net[0]).last().unwrap().clone();
    assert_eq!(fill.fill.as_deref(), Some(&mask));
    assert_eq!(
        (fill.points.as_slice(), fill.brush.colour),
        (&[at][..], [240, 200, 40])
    );
    assert_eq!(replay(net[1].received()), canvas(&net[1]).drawing);
    let bytes = crate::codec::encode(&CanvasToServer::Fill {
        at,
        colour: [240, 200, 40],
        mask: mask.clone(),
    })
    .unwrap()
    .len();
    assert!(
        bytes < 1_200,
        "a disc of radius 100 filled: {bytes} bytes on the wire"
    );

    let late = net.connect("Late", None);
    net.step_until(LIMIT, "the late joiner's picture", |net| {
        net[late].joined() && strokes(&net[late]).len() == 2
    });
    assert_eq!(strokes(&net[late]), strokes(&net[0]));

    net[0].write(DrawInput::Undo);
    net.step_until(LIMIT, "the undo", |net| {
        net.clients.iter().all(|c| strokes(c).len() == 1)
    });
    assert!(strokes(&net[late]).iter().all(|s| s.fill.is_none()));
    assert_eq!(strokes(&net[1]), strokes(&net[0]));
}

/// The two races of a fill that waits for the board to be read back: a stroke begun meanwhile
/// ends with all its points before the fill, and a fill the server refuses (the pen was let go
/// meanwhile) leaves no phantom on the filler's board.
#[test]
fn a_fill_after_a_stroke_begun_meanwhile_and_a_refused_fill_leave_every_board_the_same() {
    let mut net = painter_and(&["Painter", "Viewer"]);
    // A stroke whose points are still waiting to go out when the fill comes back.
    net[0].write(DrawInput::Begin(BoardPoint::new(100, 100)));
    for i in 1..10 {
        net[0].write(DrawInput::MoveTo(BoardPoint::new(100 + i * 10, 100)));
    }
    net[0].write(FillComputed {
        at: BoardPoint::new(400, 300),
        colour: [1, 2, 3],
        mask: disc(400, 300, 50),
    });
    net.step_until(LIMIT, "the stroke and the fill", |net| {
        strokes(&net[1]).len() == 2
    });
    net.run_for(Duration::from_millis(200));
    assert_eq!(canvas(&net[0]).refused, None, "nothing refused");
    assert_eq!(strokes(&net[1]), strokes(&net[0]));
    assert_eq!(strokes(&net[1])[0].points.len(), 10, "every point of the stroke");

    // The pen is let go and a fill comes back in the same frame: the server refuses it, and
    // the painter's board is put right.
    net[0].write(DrawInput::ReleasePen);
    net[0].write(FillComputed {
        at: BoardPoint::new(800, 300),
        colour: [4, 5, 6],
        mask: disc(800, 300, 50),
    });
    net.step_until(LIMIT, "the refusal and the true picture", |net| {
        canvas(&net[0]).refused == Some(CanvasError::NotYourPen) && strokes(&net[0]).len() == 2
    });
    assert_eq!(strokes(&net[1]), strokes(&net[0]));
}
