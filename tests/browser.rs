//! The game in a real browser: headless Chromium (SwiftShader's WebGL2) opens the page a real
//! `game --server --headless` serves over loopback and plays against a raw native peer in the
//! same room. Needs Chromium and the page built (`scripts/web`); `scripts/test` sees to both.
//! `BROWSER_SHOTS=DIR` keeps the screenshots.

#[path = "browser/cdp.rs"]
mod cdp;
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use catchmind::plugins::canvas::{BoardPoint, Brush, CanvasToClient, CanvasToServer};
use catchmind::plugins::chat::{ChatLine, ChatToClient, ChatToServer};
use catchmind::plugins::net::wire::ClientControl;
use catchmind::plugins::quiz::{Pack, PhaseView, QuizToClient, QuizToServer, Settings};
use catchmind::plugins::rooms::RoomUpdate;
use cdp::{Browser, Screenshot};
use common::{ClientMsg, RawPeer, ServerMsg, child_server};

/// The built page (`scripts/web`).
const PAGE: &str = "target/web";
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

/// One browser at a time: two software-rendered pages on two cores make each other's frames
/// slower than a person's clicks.
static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A game server serving the built page, as a child process.
fn server() -> (common::ChildServer, std::net::SocketAddr) {
    assert!(
        Path::new(PAGE).join("index.html").is_file(),
        "the browser tests need the page built: run scripts/web (scripts/test does)"
    );
    child_server("true", &[], &format!("--web {PAGE}"))
}

/// A native peer that answers the heartbeat while the test waits on it.
struct Peer {
    raw: RawPeer,
    last_ping: Instant,
    /// Everything received, in order.
    seen: Vec<ServerMsg>,
}

impl Peer {
    fn join(addr: std::net::SocketAddr, name: &str, room: &str) -> (Self, u32) {
        let mut raw = RawPeer::connect(addr);
        let welcome = raw.join(name, Some(room)).expect("the peer joins");
        let peer = Self {
            raw,
            last_ping: Instant::now(),
            seen: Vec::new(),
        };
        (peer, welcome.you.0)
    }

    fn send(&mut self, msg: ClientMsg) {
        self.raw.send(&msg);
    }

    /// Waits up to `within` for a message `want` accepts (reading and keeping the others).
    fn wait(&mut self, within: Duration, want: impl Fn(&ServerMsg) -> bool) -> Option<ServerMsg> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.last_ping.elapsed() > Duration::from_secs(2) {
                self.send(ClientMsg::Control(ClientControl::Ping));
                self.last_ping = Instant::now();
            }
            match self.raw.recv_within(Duration::from_millis(100)) {
                Ok(Some(msg)) => {
                    self.seen.push(msg.clone());
                    if want(&msg) {
                        return Some(msg);
                    }
                }
                Ok(None) => {}
                Err(()) => panic!("the server closed the peer's connection"),
            }
        }
        None
    }
}

/// Opens the page at `path` and waits for its first frame; the browser and that time in ms.
fn open(addr: std::net::SocketAddr, path: &str, size: (u32, u32), phone: bool) -> (Browser, f64) {
    let mut browser = Browser::open(&format!("http://{addr}{path}"), size, phone);
    let line = browser
        .wait_console("first frame drawn", Duration::from_secs(60))
        .unwrap_or_else(|| panic!("the page never drew: {:?}", browser.console()));
    let ms = line
        .split("drawn ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(f64::NAN);
    (browser, ms)
}

/// What the page's console says went wrong (errors and uncaught exceptions).
fn errors(browser: &mut Browser) -> Vec<String> {
    browser
        .console()
        .into_iter()
        .filter(|line| line.starts_with("error") || line.starts_with("exception") || line.contains("ERROR"))
        .collect()
}

/// The blank board (x, y, width, height): the longest run of white down the page's middle,
/// then the longest along that run's middle row (white text elsewhere is never that long).
fn board(shot: &Screenshot) -> (u32, u32, u32, u32) {
    let white = |x: u32, y: u32| shot.pixel(x, y)[..3] == [255, 255, 255];
    let longest = |len: u32, at: &dyn Fn(u32) -> bool| {
        let (mut best, mut start) = ((0, 0), None);
        for i in 0..=len {
            match (i < len && at(i), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s > best.1 - best.0 {
                        best = (s, i);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        best
    };
    let (y0, y1) = longest(shot.height, &|y| white(shot.width / 2, y));
    let (x0, x1) = longest(shot.width, &|x| white(x, (y0 + y1) / 2));
    assert!(x1 > x0 + 200 && y1 > y0 + 100, "no blank board on the page");
    (x0, y0, x1 - x0, y1 - y0)
}

fn reddish(p: [u8; 4]) -> bool {
    p[0] > 150 && p[1] < 90 && p[2] < 90
}

fn dark(p: [u8; 4]) -> bool {
    p[0] < 80 && p[1] < 80 && p[2] < 80
}

/// Screenshots until `enough` of the area's pixels are `like`, for up to `within`.
fn wait_pixels(
    browser: &mut Browser,
    area: (u32, u32, u32, u32),
    like: fn([u8; 4]) -> bool,
    enough: usize,
    within: Duration,
) -> (usize, Screenshot) {
    let deadline = Instant::now() + within;
    loop {
        let shot = browser.screenshot();
        let found = shot.count(area, like);
        if found >= enough || Instant::now() > deadline {
            return (found, shot);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The page joins the room a native peer is in, both see each other's strokes and chat, and
/// a guess typed in Korean through the browser's input method scores.
#[test]
fn a_browser_plays_a_room_with_a_native_peer() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, addr) = server();
    let (mut peer, _) = Peer::join(addr, "Peer", "den");
    let (mut browser, first_frame_ms) = open(addr, "/?room=den&name=%EC%9B%B9", (WIDTH, HEIGHT), false);
    println!("first frame drawn {first_frame_ms} ms after the page was opened");
    let joined = peer.wait(
        Duration::from_secs(20),
        |m| matches!(m, ServerMsg::Room(RoomUpdate::Joined(player)) if player.name == "웹"),
    );
    let Some(ServerMsg::Room(RoomUpdate::Joined(player))) = joined else {
        panic!("the browser never joined: {:?}", browser.console());
    };
    let browser_id = player.id.0;

    // The peer's red stroke appears on the browser's board.
    std::thread::sleep(Duration::from_secs(1));
    let blank = browser.screenshot();
    let area = board(&blank);
    peer.send(ClientMsg::Canvas(CanvasToServer::TakePen));
    let red = Brush {
        colour: [220, 30, 30],
        size: 12,
        eraser: false,
    };
    peer.send(ClientMsg::Canvas(CanvasToServer::Start {
        brush: red,
        at: BoardPoint::new(200, 500),
    }));
    peer.send(ClientMsg::Canvas(CanvasToServer::Points(vec![[120, 0]; 10])));
    peer.send(ClientMsg::Canvas(CanvasToServer::End));
    peer.send(ClientMsg::Canvas(CanvasToServer::ReleasePen));
    let (found, shot) = wait_pixels(&mut browser, area, reddish, 500, Duration::from_secs(10));
    shot.keep("peer-stroke");
    assert!(
        found >= 500,
        "the peer's stroke is not on the browser's board ({found} red pixels)"
    );

    // The browser takes the pen and draws with the mouse: the peer gets the stroke.
    peer.wait(Duration::from_secs(5), |m| {
        matches!(m, ServerMsg::Canvas(CanvasToClient::Pen(None)))
    });
    browser.click(48.0, 75.0);
    let pen = peer.wait(
        Duration::from_secs(10),
        |m| matches!(m, ServerMsg::Canvas(CanvasToClient::Pen(Some(id))) if id.0 == browser_id),
    );
    assert!(pen.is_some(), "the browser did not take the pen");
    let (x, y, w, h) = area;
    let (x, y, w, h) = (x as f64, y as f64, w as f64, h as f64);
    let path: Vec<(f64, f64)> = (0..=8)
        .map(|i| (x + w * (0.2 + 0.075 * i as f64), y + h * 0.3))
        .collect();
    let drawn_at = Instant::now();
    browser.drag(&path);
    let stroke = peer.wait(
        Duration::from_secs(10),
        |m| matches!(m, ServerMsg::Canvas(CanvasToClient::End { author }) if author.0 == browser_id),
    );
    assert!(stroke.is_some(), "the browser's stroke never reached the peer");
    let points: usize = peer
        .seen
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Canvas(CanvasToClient::Points { author, deltas }) if author.0 == browser_id => {
                Some(deltas.len())
            }
            _ => None,
        })
        .sum();
    assert!(points >= 4, "the stroke came with {points} points");
    println!(
        "a mouse stroke reached the peer {} ms after it began",
        drawn_at.elapsed().as_millis()
    );
    let (ink, shot) = wait_pixels(&mut browser, area, dark, 300, Duration::from_secs(5));
    shot.keep("browser-stroke");
    assert!(
        ink >= 300,
        "the browser's own stroke is not on its board ({ink} dark pixels)"
    );

    // The peer's chat line shows in the browser.
    peer.send(ClientMsg::Chat(ChatToServer::Say("hello from native".into())));
    assert!(
        browser
            .wait_console("chat: Peer: hello from native", Duration::from_secs(10))
            .is_some(),
        "the chat line never reached the page: {:?}",
        browser.console()
    );

    // A game of the room's one word; the guess is typed through the input method.
    peer.send(ClientMsg::Quiz(QuizToServer::RoomWords("사과".into())));
    peer.send(ClientMsg::Quiz(QuizToServer::Start(Settings {
        rounds: 1,
        choices: 1,
        hints: false,
        room_words: 100,
        pack: Pack::Custom,
        ..Settings::default()
    })));
    guess_in_korean(&mut browser, &mut peer, browser_id);
    assert_eq!(errors(&mut browser), Vec::<String>::new());
}

/// Plays the game until the peer draws, then types 사과 in the browser's chat field as a
/// Korean input method would (composing 시, 사, 삭, then 사과 committed) and presses Enter:
/// the server scores the browser's guess.
fn guess_in_korean(browser: &mut Browser, peer: &mut Peer, browser_id: u32) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < deadline, "the peer never got to draw");
        let Some(ServerMsg::Quiz(QuizToClient::State(view))) = peer.wait(Duration::from_secs(30), |m| {
            matches!(m, ServerMsg::Quiz(QuizToClient::State(_)))
        }) else {
            continue;
        };
        match view.phase {
            // The peer draws: choose, then the browser guesses.
            PhaseView::Choosing { drawer, .. } if drawer.0 != browser_id => {
                peer.send(ClientMsg::Quiz(QuizToServer::Choose(0)));
            }
            PhaseView::Drawing { drawer, .. } if drawer.0 != browser_id => break,
            // The browser draws first (its word is chosen for it when its time runs out): the
            // peer, who knows the room's one word, finds it and the turn ends.
            PhaseView::Drawing { .. } => {
                peer.send(ClientMsg::Chat(ChatToServer::Say("사과".into())));
            }
            _ => {}
        }
    }
    // The chat field, at the bottom of the right-hand column; the page's input element takes
    // the keyboard once the game has seen the click (clicked again, as a person would, if a
    // slow software-rendered frame missed it).
    let focused = |browser: &mut Browser| {
        browser.eval("document.activeElement && document.activeElement.id") == "egui_text_agent"
    };
    for _ in 0..3 {
        browser.click(1060.0, HEIGHT as f64 - 17.0);
        let deadline = Instant::now() + Duration::from_secs(4);
        while !focused(browser) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if focused(browser) {
            break;
        }
    }
    if !focused(browser) {
        browser.screenshot().keep("chat-unfocused");
        let quiz: Vec<&ServerMsg> = peer
            .seen
            .iter()
            .filter(|m| matches!(m, ServerMsg::Quiz(_)))
            .collect();
        println!("the peer's quiz messages: {quiz:?}");
        println!("the page's errors: {:?}", errors(browser));
    }
    assert!(
        focused(browser),
        "the chat field never took the keyboard (the page's focus: {})",
        browser
            .eval("document.activeElement && (document.activeElement.id || document.activeElement.tagName)")
    );
    browser.ime_type(&["ㅅ", "사", "삭"], "사과");
    browser.key("Enter", "Enter", 13, Some("\r"));
    let scored = peer.wait(
        Duration::from_secs(10),
        |m| matches!(m, ServerMsg::Quiz(QuizToClient::Guessed { who, .. }) if who.0 == browser_id),
    );
    browser.screenshot().keep("guessed");
    let said: Vec<&ServerMsg> = peer
        .seen
        .iter()
        .filter(|m| matches!(m, ServerMsg::Chat(ChatToClient::Line(ChatLine { .. }))))
        .collect();
    assert!(
        scored.is_some(),
        "the browser's Korean guess did not score; the peer saw {said:?}; console {:?}",
        browser.console()
    );
}

/// An invite link without a name opens the launcher on the page's server and the room, the
/// nickname field ready for typing (Enter joins); on a phone-sized page the board is across
/// the top and the rest in tabs under it.
#[test]
fn an_invite_link_fills_the_launcher_and_a_phone_shows_the_board_on_top() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let (_server, addr) = server();
    let (mut peer, _) = Peer::join(addr, "Peer", "den");
    let (mut browser, _) = open(addr, "/?room=den", (390, 844), true);
    std::thread::sleep(Duration::from_millis(500));
    // Typed at once, with no click: the nickname field has the keyboard; Enter joins.
    browser.call("Input.insertText", serde_json::json!({ "text": "Mina" }));
    browser.key("Enter", "Enter", 13, Some("\r"));
    let joined = peer.wait(
        Duration::from_secs(20),
        |m| matches!(m, ServerMsg::Room(RoomUpdate::Joined(player)) if player.name == "Mina"),
    );
    assert!(
        joined.is_some(),
        "the invite did not join room den as Mina: {:?}",
        browser.console()
    );
    std::thread::sleep(Duration::from_secs(2));
    let shot = browser.screenshot();
    shot.keep("phone-joined");
    let (x, y, w, h) = board(&shot);
    assert!(
        w >= 360 && y < 60 && y + h < 844 / 2,
        "the board is not across the top of the phone: {:?}",
        (x, y, w, h)
    );

    // A finger takes the pen (the Drawing tab, then its button) and draws: the peer gets the
    // stroke and the phone's board shows it.
    let mina = joined_id(&joined);
    let tabs = (y + h) as f64 + 20.0;
    let mut took = None;
    for _ in 0..3 {
        browser.tap(186.0, tabs);
        std::thread::sleep(Duration::from_millis(700));
        browser.tap(48.0, tabs + 66.0);
        took = peer.wait(
            Duration::from_secs(5),
            |m| matches!(m, ServerMsg::Canvas(CanvasToClient::Pen(Some(id))) if id.0 == mina),
        );
        if took.is_some() {
            break;
        }
    }
    if took.is_none() {
        browser.screenshot().keep("phone-no-pen");
    }
    assert!(
        took.is_some(),
        "a tap did not take the pen: {:?}",
        browser.console()
    );
    let (fx, fy, fw, fh) = (x as f64, y as f64, w as f64, h as f64);
    let path: Vec<(f64, f64)> = (0..=8)
        .map(|i| {
            (
                fx + fw * (0.15 + 0.08 * i as f64),
                fy + fh * (0.3 + 0.04 * i as f64),
            )
        })
        .collect();
    browser.touch_drag(&path);
    let stroke = peer.wait(
        Duration::from_secs(10),
        |m| matches!(m, ServerMsg::Canvas(CanvasToClient::End { author }) if author.0 == mina),
    );
    assert!(stroke.is_some(), "the finger's stroke never reached the peer");
    let (ink, shot) = wait_pixels(&mut browser, (x, y, w, h), dark, 150, Duration::from_secs(5));
    shot.keep("phone-drawn");
    assert!(
        ink >= 150,
        "the finger's stroke is not on the phone's board ({ink} dark pixels)"
    );
    assert_eq!(errors(&mut browser), Vec::<String>::new());
}

/// The id of the player a `Joined` announced.
fn joined_id(joined: &Option<ServerMsg>) -> u32 {
    match joined {
        Some(ServerMsg::Room(RoomUpdate::Joined(player))) => player.id.0,
        _ => unreachable!("checked before"),
    }
}
