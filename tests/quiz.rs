//! Whole games over loopback TCP: three raw peers whose received bytes are recorded before
//! any client-side handling (the word must not reach a guesser early), and the game's own
//! client apps (what the UI is fed, the pen locked to the drawer). How each player's view
//! follows a whole game is tested over the in-memory network in `quiz/client_tests.rs`.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use catchmind::app::ServerOptions;
use catchmind::id::ClientId;
use catchmind::plugins::canvas::{
    BoardPoint, CanvasError, CanvasToClient, CanvasToServer, DrawInput, Drawing, ReplayOp,
};
use catchmind::plugins::chat::{ChatConfig, ChatToClient, ChatToServer};
use catchmind::plugins::net::ToServer;
use catchmind::plugins::net::wire::ClientControl;
use catchmind::plugins::quiz::game::QuizError;
use catchmind::plugins::quiz::words::RoomWordsError;
use catchmind::plugins::quiz::{
    Pack, PhaseView, QuizConfig, QuizRefusal, QuizToClient, QuizToServer, QuizView, Settings, Tell, Timing,
};
use catchmind::plugins::rooms::{
    JoinRequest, KickReason, ModerationRefusal, ModerationRequest, Rejection, RoleRefusal, RoleReply,
    RoleRequest, RoomUpdate,
};
use common::{Client, ClientMsg, ServerMsg, hello, start_server, step_for, step_until};
use crossbeam_channel::{Receiver, unbounded};

/// No word is part of another, or of a name, so finding a word's bytes means finding it.
const WORDS: [&str; 30] = [
    "zeppelin",
    "quokka",
    "harmonica",
    "telescope",
    "wombat",
    "trombone",
    "igloo",
    "volcano",
    "kayak",
    "saxophone",
    "lighthouse",
    "pineapple",
    "walrus",
    "chimney",
    "cactus",
    "해바라기",
    "망원경",
    "오토바이",
    "고슴도치",
    "무지개",
    "자전거",
    "엘리베이터",
    "허수아비",
    "눈사람",
    "청진기",
    "소방차",
    "선인장",
    "나침반",
    "피라미드",
    "두더지",
];

fn options(draw: Duration) -> ServerOptions {
    ServerOptions {
        chat: ChatConfig {
            burst: 100,
            window: Duration::from_secs(1),
        },
        quiz: QuizConfig {
            timing: Timing {
                choose: Duration::from_secs(15),
                reveal: Duration::from_millis(300),
                draw: Some(draw),
            },
            custom_words: Some(Arc::new(WORDS.iter().map(|w| w.to_string()).collect())),
        },
        ..ServerOptions::default()
    }
}

fn settings(rounds: u8) -> Settings {
    Settings {
        rounds,
        pack: Pack::Custom,
        ..Settings::default()
    }
}

/// A raw connection: a thread appends every byte received to `raw` and decodes frames for
/// the test to act on.
struct Peer {
    id: ClientId,
    writer: TcpStream,
    raw: Arc<Mutex<Vec<u8>>>,
    rx: Receiver<ServerMsg>,
    /// Every decoded message, in order.
    seen: Vec<ServerMsg>,
    /// How far `wait` has read `seen`: each message is looked at by one wait only, and none
    /// is skipped because it arrived early (with an earlier message, say).
    cursor: usize,
    last_ping: Instant,
}

impl Peer {
    fn join(addr: SocketAddr, name: &str) -> Self {
        Self::join_as(addr, name, false)
    }

    /// Joins the lobby as a player, or as a spectator (`spectate`).
    fn join_as(addr: SocketAddr, name: &str, spectate: bool) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        let mut reader = stream.try_clone().unwrap();
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = unbounded();
        let sink = raw.clone();
        std::thread::spawn(move || {
            loop {
                let mut header = [0u8; 4];
                if reader.read_exact(&mut header).is_err() {
                    return;
                }
                let len = u32::from_be_bytes(header) as usize;
                let mut payload = vec![0u8; len];
                if reader.read_exact(&mut payload).is_err() {
                    return;
                }
                {
                    let mut sink = sink.lock().unwrap();
                    sink.extend_from_slice(&header);
                    sink.extend_from_slice(&payload);
                }
                let msg = ServerMsg::decode(&payload);
                if tx.send(msg).is_err() {
                    return;
                }
            }
        });
        let mut peer = Self {
            id: ClientId(0),
            writer: stream,
            raw,
            rx,
            seen: Vec::new(),
            cursor: 0,
            last_ping: Instant::now(),
        };
        peer.send(ClientMsg::hello());
        peer.send(ClientMsg::Join(JoinRequest {
            spectate,
            ..hello(name, None)
        }));
        let welcome = peer.wait("welcome", |m| matches!(m, ServerMsg::Welcome(_)));
        let ServerMsg::Welcome(welcome) = welcome else {
            unreachable!()
        };
        peer.id = welcome.you;
        peer
    }

    fn send(&mut self, msg: ClientMsg) {
        let payload = msg.encode();
        let mut bytes = (payload.len() as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&payload);
        self.writer.write_all(&bytes).unwrap();
    }

    /// Several messages in one write (so the server handles them in one tick).
    fn send_together(&mut self, msgs: &[ClientMsg]) {
        let mut bytes = Vec::new();
        for msg in msgs {
            let payload = msg.encode();
            bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            bytes.extend_from_slice(&payload);
        }
        self.writer.write_all(&bytes).unwrap();
    }

    fn say(&mut self, text: &str) {
        self.send(ClientMsg::Chat(ChatToServer::Say(text.into())));
    }

    fn quiz(&mut self, msg: QuizToServer) {
        self.send(ClientMsg::Quiz(msg));
    }

    /// Takes what has arrived; answers the heartbeat now and then.
    fn pump(&mut self) {
        while let Ok(msg) = self.rx.try_recv() {
            self.seen.push(msg);
        }
        if self.last_ping.elapsed() > Duration::from_secs(2) {
            self.send(ClientMsg::Control(ClientControl::Ping));
            self.last_ping = Instant::now();
        }
    }

    /// Waits for the next message not yet waited past that `want` accepts; the messages before
    /// it are passed over.
    fn wait(&mut self, what: &str, want: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        let (index, msg) = self.find_from(self.cursor, what, want);
        self.cursor = index + 1;
        msg
    }

    /// Waits for a message received since the `from`th that `want` accepts.
    fn wait_from(&mut self, from: usize, what: &str, want: impl FnMut(&ServerMsg) -> bool) -> ServerMsg {
        self.find_from(from, what, want).1
    }

    fn find_from(
        &mut self,
        from: usize,
        what: &str,
        mut want: impl FnMut(&ServerMsg) -> bool,
    ) -> (usize, ServerMsg) {
        let start = Instant::now();
        loop {
            self.pump();
            if let Some(i) = self.seen[from..].iter().position(&mut want) {
                return (from + i, self.seen[from + i].clone());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn wait_state(&mut self, what: &str, want: impl Fn(&PhaseView) -> bool) -> PhaseView {
        match self.wait(
            what,
            |m| matches!(m, ServerMsg::Quiz(QuizToClient::State(v)) if want(&v.phase)),
        ) {
            ServerMsg::Quiz(QuizToClient::State(view)) => view.phase,
            _ => unreachable!(),
        }
    }

    fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The frames of a recorded stream.
fn frames(raw: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut rest = raw;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        frames.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    frames
}

/// The first frame of `who`'s stream with `word`'s bytes in it (decoded), if any.
fn first_with(raw: &[u8], word: &str) -> Option<ServerMsg> {
    frames(raw)
        .into_iter()
        .find(|f| contains(f, word))
        .map(ServerMsg::decode)
}

#[test]
fn the_word_never_reaches_a_guesser_before_their_guess_or_the_reveal() {
    for (i, a) in WORDS.iter().enumerate() {
        for (j, b) in WORDS.iter().enumerate() {
            assert!(i == j || !a.contains(b), "{b} is part of {a}");
        }
    }
    // Long enough for the round trips of a turn on a loaded machine (about six per turn).
    let server = start_server(options(Duration::from_secs(6)));
    let mut peers = [
        Peer::join(server.addr, "Ann"),
        Peer::join(server.addr, "Ben"),
        Peer::join(server.addr, "Cy"),
    ];
    let ids: Vec<ClientId> = peers.iter().map(|p| p.id).collect();
    let index = |id: ClientId| ids.iter().position(|&x| x == id).unwrap();

    // Only the host (the first to join) may start; two rounds of three turns.
    peers[1].quiz(QuizToServer::Start(settings(2)));
    peers[1].wait("refusal", |m| {
        *m == ServerMsg::Quiz(QuizToClient::Refused(QuizRefusal::NotHost))
    });
    peers[0].quiz(QuizToServer::Start(settings(2)));

    let mut drawers = Vec::new();
    for turn in 0..6 {
        let mut drawer = None;
        for peer in peers.iter_mut() {
            let phase = peer.wait_state("choosing", |p| matches!(p, PhaseView::Choosing { .. }));
            let PhaseView::Choosing {
                drawer: d, options, ..
            } = phase
            else {
                unreachable!()
            };
            if d == peer.id {
                assert_eq!(options.len(), 3, "the drawer gets the options");
            } else {
                assert!(options.is_empty(), "the others only see who chooses");
            }
            drawer = Some(d);
        }
        let d = index(drawer.unwrap());
        drawers.push(d);
        peers[d].quiz(QuizToServer::Choose((turn % 3) as u8));
        let phase = peers[d].wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }));
        let PhaseView::Drawing { word: Some(word), .. } = phase else {
            panic!("the drawer sees the word: {phase:?}")
        };
        let guessers: Vec<usize> = (0..3).filter(|&i| i != d).collect();
        let (g1, g2) = (guessers[0], guessers[1]);
        for &g in &guessers {
            let phase = peers[g].wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }));
            let PhaseView::Drawing { word: None, mask, .. } = phase else {
                panic!("a guesser gets no word: {phase:?}")
            };
            assert_eq!(mask.chars().filter(|&c| c == '_').count(), word.chars().count());
        }

        // The drawer cannot give it away; a message containing it is withheld.
        peers[d].say(&format!("it is {word}!"));
        peers[d].wait("drawer leak", |m| {
            *m == ServerMsg::Quiz(QuizToClient::Told(Tell::DrawerLeak))
        });
        let ordinary = format!("no idea, turn {turn}");
        peers[g1].say(&ordinary);
        if word.is_ascii() {
            peers[g1].say(&word[..word.len() - 1]);
            peers[g1].wait("close", |m| {
                *m == ServerMsg::Quiz(QuizToClient::Told(Tell::Close))
            });
        }
        peers[g1].say(&format!(" {}! ", word.to_uppercase()));
        peers[g1].wait(
            "own correct guess",
            |m| matches!(m, ServerMsg::Quiz(QuizToClient::Guessed { who, .. }) if *who == ids[g1]),
        );
        // Finders talk among themselves: the word may come up, only the insiders see it.
        peers[g1].say(&format!("{word} was easy"));
        peers[d].wait(
            "private line",
            |m| matches!(m, ServerMsg::Chat(ChatToClient::Private(l)) if l.text.contains(word.as_str())),
        );
        let timed_out = turn % 2 == 1;
        let withheld = format!("is it {word}?");
        if timed_out {
            // A message giving the word away is withheld, and its sender (with everyone at its
            // address, all of these peers) cannot score in this turn.
            peers[g2].say(&withheld);
            peers[g2].wait("withheld", |m| {
                *m == ServerMsg::Quiz(QuizToClient::Told(Tell::ContainsWord))
            });
            peers[g2].say(&word);
            peers[g2].wait("barred", |m| {
                *m == ServerMsg::Quiz(QuizToClient::Told(Tell::Barred))
            });
        } else {
            peers[g2].say(&word);
        }
        for peer in peers.iter_mut() {
            let phase = peer.wait_state("reveal", |p| matches!(p, PhaseView::Reveal { .. }));
            let PhaseView::Reveal {
                word: shown, points, ..
            } = phase
            else {
                unreachable!()
            };
            assert_eq!(shown, word);
            let finders = points.iter().filter(|(id, p)| *id != ids[d] && *p > 0).count();
            assert_eq!(finders, if timed_out { 1 } else { 2 }, "{points:?}");
        }

        // The check: in each guesser's recorded bytes the word first appears in the frame
        // telling them they found it, or in the reveal.
        for &g in &guessers {
            let first =
                first_with(&peers[g].raw(), &word).expect("the word arrives at the latest at the reveal");
            let guessed = g == g1 || !timed_out;
            match first {
                ServerMsg::Quiz(QuizToClient::State(view)) => match view.phase {
                    PhaseView::Drawing {
                        guessed: finders,
                        word: Some(_),
                        ..
                    } => {
                        assert!(guessed && finders.contains(&ids[g]), "told before guessing");
                    }
                    PhaseView::Reveal { .. } => assert!(!guessed || g == g2, "{g} saw it only at the reveal"),
                    other => panic!("word leaked in {other:?}"),
                },
                other => panic!("the word reached guesser {g} in {other:?}"),
            }
        }
        // The line with the word that g1 sent after finding it never reached g2 before the
        // reveal; the withheld line never reached anyone.
        for peer in &peers {
            let raw = peer.raw();
            // The control: an ordinary line said before them reached every peer's bytes.
            assert!(contains(&raw, &ordinary), "the ordinary line was relayed");
            assert!(!contains(&raw, &withheld), "withheld line relayed");
            assert!(
                !contains(&raw, &format!("it is {word}!")),
                "drawer's leak relayed"
            );
        }
    }

    // Everyone drew once per round, in the same order both rounds.
    assert_eq!(drawers[..3], drawers[3..]);
    let mut first_round = drawers[..3].to_vec();
    first_round.sort();
    assert_eq!(first_round, [0, 1, 2]);

    let over = peers[2].wait("game over", |m| {
        matches!(m, ServerMsg::Quiz(QuizToClient::Over { .. }))
    });
    let ServerMsg::Quiz(QuizToClient::Over { early, standings }) = over else {
        unreachable!()
    };
    assert!(!early);
    assert_eq!(standings.len(), 3);
    assert!(standings.windows(2).all(|w| w[0].points >= w[1].points));
    assert!(standings.iter().all(|s| s.points > 0 && s.present));

    // Back in the lobby: a new game can start.
    peers[0].quiz(QuizToServer::Start(settings(1)));
    peers[1].wait_state("a second game", |p| matches!(p, PhaseView::Choosing { .. }));
}

fn view(client: &Client) -> &QuizView {
    client.app.world().resource::<QuizView>()
}

fn quiz(client: &mut Client, msg: QuizToServer) {
    client.app.world_mut().write_message(ToServer(msg));
}

#[test]
fn out_of_range_settings_are_clamped_and_bad_requests_refused() {
    let refused =
        |why: QuizRefusal| move |m: &ServerMsg| *m == ServerMsg::Quiz(QuizToClient::Refused(why.clone()));
    // A server without a custom list refuses the custom pack.
    let plain = start_server(ServerOptions::default());
    let mut a = Peer::join(plain.addr, "Ann");
    let _b = Peer::join(plain.addr, "Ben");
    a.quiz(QuizToServer::Start(settings(1)));
    a.wait("refusal", refused(QuizRefusal::NoCustomWords));

    let server = start_server(options(Duration::from_secs(30)));
    let mut peers = [Peer::join(server.addr, "Ann"), Peer::join(server.addr, "Ben")];
    // Two starts in one tick: one game.
    let wild = Settings {
        rounds: 255,
        draw_secs: 1,
        choices: 200,
        hints: false,
        pack: Pack::English,
        cut_secs: 1000,
        room_words: 0,
    };
    peers[0].send_together(&[
        ClientMsg::Quiz(QuizToServer::Start(wild)),
        ClientMsg::Quiz(QuizToServer::Start(settings(1))),
    ]);
    peers[0].wait("the second start refused", refused(QuizRefusal::AlreadyRunning));
    let mut drawer = None;
    for (i, peer) in peers.iter_mut().enumerate() {
        let state = peer.wait_from(0, "state", |m| {
            matches!(m, ServerMsg::Quiz(QuizToClient::State(_)))
        });
        let ServerMsg::Quiz(QuizToClient::State(view)) = state else {
            unreachable!()
        };
        assert_eq!(
            (
                view.settings.rounds,
                view.settings.draw_secs,
                view.settings.choices,
                view.settings.cut_secs
            ),
            (10, 30, 5, 60)
        );
        if let PhaseView::Choosing {
            options, drawer: d, ..
        } = &view.phase
            && *d == peer.id
        {
            assert_eq!(options.len(), 5);
            drawer = Some(i);
        }
    }
    let d = drawer.expect("one of them draws");
    let g = 1 - d;
    peers[g].quiz(QuizToServer::Choose(0));
    peers[g].wait(
        "not your turn",
        refused(QuizRefusal::Game(QuizError::NotChoosing)),
    );
    peers[d].quiz(QuizToServer::Choose(200));
    peers[d].wait(
        "no such word",
        refused(QuizRefusal::Game(QuizError::NoSuchChoice)),
    );
    peers[0].quiz(QuizToServer::Start(settings(1)));
    peers[0].wait("already running", refused(QuizRefusal::AlreadyRunning));
    // Still choosing, and the connection is fine.
    peers[d].quiz(QuizToServer::Choose(4));
    peers[g].wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }));
    let choosing = peers[g]
        .seen
        .iter()
        .filter(|m| matches!(m, ServerMsg::Quiz(QuizToClient::State(v)) if matches!(v.phase, PhaseView::Choosing { .. })))
        .count();
    assert_eq!(choosing, 1, "one game, one first turn");
}

#[test]
fn a_game_on_the_rooms_own_words_deals_only_the_hosts_words() {
    // The server's pack is the 30 test words; the host's list is three others.
    let server = start_server(options(Duration::from_secs(30)));
    let mut ann = Peer::join(server.addr, "Ann");
    let mut ben = Peer::join(server.addr, "Ben");
    let refused =
        |why: QuizRefusal| move |m: &ServerMsg| *m == ServerMsg::Quiz(QuizToClient::Refused(why.clone()));

    // Only the host sets them; bad lists are refused with the reason; duplicates count once.
    ben.quiz(QuizToServer::RoomWords("aardvark".into()));
    ben.wait("not the host", refused(QuizRefusal::NotHost));
    let own = Settings {
        room_words: 100,
        ..settings(1)
    };
    ann.quiz(QuizToServer::Start(own));
    ann.wait("no words yet", refused(QuizRefusal::NoRoomWords));
    ann.quiz(QuizToServer::RoomWords(format!("ok, {}", "y".repeat(40))));
    ann.wait(
        "a word too long",
        refused(QuizRefusal::RoomWords(RoomWordsError::TooLong("y".repeat(32)))),
    );
    ann.quiz(QuizToServer::RoomWords(
        "aardvark, bagpipes\nchandelier,\n\n Aardvark ".into(),
    ));
    for peer in [&mut ann, &mut ben] {
        peer.wait("the count", |m| {
            *m == ServerMsg::Quiz(QuizToClient::RoomWords { count: 3 })
        });
    }
    // Set again at once: refused (a list costs the server a parse), the three words stay.
    ann.quiz(QuizToServer::RoomWords("aardvark".into()));
    ann.wait("too soon", refused(QuizRefusal::RoomWordsTooSoon));

    // Two turns, each drawer offered only the room's words.
    ann.quiz(QuizToServer::Start(own));
    let mine = ["aardvark", "bagpipes", "chandelier"];
    for turn in 0..2 {
        let mut drawer = None;
        for (i, peer) in [&mut ann, &mut ben].into_iter().enumerate() {
            let phase = peer.wait_state("choosing", |p| matches!(p, PhaseView::Choosing { .. }));
            if let PhaseView::Choosing {
                options, drawer: d, ..
            } = phase
                && d == peer.id
            {
                assert!(!options.is_empty());
                assert!(
                    options.iter().all(|w| mine.contains(&w.as_str())),
                    "turn {turn}: {options:?}"
                );
                drawer = Some(i);
            }
        }
        let d = drawer.expect("someone draws");
        let (drawer, guesser) = if d == 0 {
            (&mut ann, &mut ben)
        } else {
            (&mut ben, &mut ann)
        };
        drawer.quiz(QuizToServer::Choose(0));
        let phase = drawer.wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }));
        let PhaseView::Drawing { word: Some(word), .. } = phase else {
            panic!("{phase:?}")
        };
        // Likes: once per guesser per turn, never the drawer's own; everyone sees the count.
        let guesser_id = guesser.id;
        let (drawer_mark, guesser_mark) = (drawer.seen.len(), guesser.seen.len());
        let count_likes = |peer: &Peer| {
            peer.seen
                .iter()
                .filter(|m| matches!(m, ServerMsg::Quiz(QuizToClient::Liked { .. })))
                .count()
        };
        let likes_before = (count_likes(drawer), count_likes(guesser));
        guesser.quiz(QuizToServer::Like);
        guesser.quiz(QuizToServer::Like);
        drawer.quiz(QuizToServer::Like);
        let liked = ServerMsg::Quiz(QuizToClient::Liked {
            by: guesser_id,
            count: 1,
        });
        // (From where each stood: the drawer's refusal may come before the like.)
        drawer.wait_from(drawer_mark, "the like", |m| *m == liked);
        guesser.wait_from(guesser_mark, "the like", |m| *m == liked);
        let twice = refused(QuizRefusal::Game(QuizError::AlreadyLiked));
        guesser.wait_from(guesser_mark, "a second like", twice);
        let own = refused(QuizRefusal::Game(QuizError::OwnDrawing));
        drawer.wait_from(drawer_mark, "a like of one's own", own);
        assert_eq!(
            (
                count_likes(drawer) - likes_before.0,
                count_likes(guesser) - likes_before.1
            ),
            (1, 1),
            "one like counted, not three"
        );
        guesser.say(&word);
        guesser.wait_state("the reveal", |p| matches!(p, PhaseView::Reveal { .. }));
    }
}

/// A spectator of a two-seat room: a third connection that takes no seat, sees the turn as a
/// guesser would without ever getting the word before the reveal, cannot guess (its saying the
/// word neither scores nor reaches the players), like, draw or vote, and does not count for
/// "everyone found it".
#[test]
fn a_spectator_watches_without_the_word_a_seat_a_guess_a_like_a_pen_or_a_vote() {
    let mut options = options(Duration::from_secs(120));
    options.rooms.room_size = 2;
    let server = start_server(options);
    let mut peers = [Peer::join(server.addr, "Ann"), Peer::join(server.addr, "Ben")];
    let mut cy = Peer::join_as(server.addr, "Cy", true);
    // The room's seats are taken: a fourth is refused as a player.
    let mut dan = common::RawPeer::connect(server.addr);
    assert!(dan.join("Dan", None).unwrap_err().contains("is full"));

    peers[0].quiz(QuizToServer::Start(settings(1)));
    let phase = cy.wait_state("choosing", |p| matches!(p, PhaseView::Choosing { .. }));
    let PhaseView::Choosing { drawer, options, .. } = phase else {
        unreachable!()
    };
    assert!(options.is_empty(), "a spectator gets no options");
    assert_ne!(drawer, cy.id, "a spectator never draws");
    let d = usize::from(drawer == peers[1].id);
    let g = 1 - d;
    peers[d].quiz(QuizToServer::Choose(0));
    let PhaseView::Drawing { word: Some(word), .. } =
        peers[d].wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }))
    else {
        panic!("the drawer sees the word")
    };
    let PhaseView::Drawing { word: None, .. } =
        cy.wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }))
    else {
        panic!("a spectator gets no word")
    };

    // Cannot like, draw or vote.
    cy.quiz(QuizToServer::Like);
    cy.wait("like refused", |m| {
        *m == ServerMsg::Quiz(QuizToClient::Refused(QuizRefusal::Spectating))
    });
    cy.send(ClientMsg::Canvas(CanvasToServer::TakePen));
    cy.wait("pen refused", |m| {
        *m == ServerMsg::Canvas(CanvasToClient::Refused(CanvasError::Spectating))
    });
    cy.send(ClientMsg::Moderation(ModerationRequest::VoteKick {
        target: peers[g].id,
    }));
    cy.wait("vote refused", |m| {
        *m == ServerMsg::Moderation(ModerationRefusal::Spectator)
    });
    // Saying the word scores nothing; during a turn only spectators read a spectator.
    let aside = "spectators only: nice lines";
    cy.say(aside);
    cy.wait(
        "own aside",
        |m| matches!(m, ServerMsg::Chat(ChatToClient::Private(l)) if l.text == aside),
    );
    cy.say(&word);
    cy.wait(
        "own line",
        |m| matches!(m, ServerMsg::Chat(ChatToClient::Private(l)) if l.text == word),
    );
    // The one guesser finds it: that is everyone (the 120 s turn ends at once).
    peers[g].say(&word);
    let (cy_id, players) = (cy.id, [peers[0].id, peers[1].id]);
    let [ann, ben] = &mut peers;
    for peer in [ann, ben, &mut cy] {
        let PhaseView::Reveal { points, .. } =
            peer.wait_state("reveal", |p| matches!(p, PhaseView::Reveal { .. }))
        else {
            unreachable!()
        };
        assert!(points.iter().all(|(id, _)| *id != cy_id), "{points:?}");
        assert!(
            points.iter().any(|(id, p)| *id == players[g] && *p > 0),
            "{points:?}"
        );
    }
    assert!(
        !cy.seen
            .iter()
            .any(|m| matches!(m, ServerMsg::Quiz(QuizToClient::Guessed { who, .. }) if *who == cy_id)),
        "the spectator scored"
    );
    // In the spectator's bytes the word first comes in its own line, then in the reveal: no
    // game message carried it before.
    let raw = cy.raw();
    let reveal_at = frames(&raw)
        .iter()
        .position(|f| matches!(ServerMsg::decode(f), ServerMsg::Quiz(QuizToClient::State(v)) if matches!(v.phase, PhaseView::Reveal { .. })))
        .expect("the reveal");
    for frame in frames(&raw)[..reveal_at].iter().filter(|f| contains(f, &word)) {
        match ServerMsg::decode(frame) {
            ServerMsg::Chat(ChatToClient::Private(line)) if line.from == cy_id => {}
            other => panic!("the word reached the spectator in {other:?}"),
        }
    }
    // Neither player read the spectator during the turn.
    for peer in &peers {
        assert!(
            !contains(&peer.raw(), aside),
            "a spectator's aside reached a player"
        );
    }
    // Between turns, everyone reads everyone.
    let after = "spectators and players: good game";
    cy.say(after);
    for peer in peers.iter_mut() {
        peer.wait(
            "the spectator's line",
            |m| matches!(m, ServerMsg::Chat(ChatToClient::Line(l)) if l.text == after),
        );
    }
    // The host can kick a spectator.
    peers[0].send(ClientMsg::Moderation(ModerationRequest::Kick {
        target: cy_id,
        reason: KickReason::Unspecified,
    }));
    cy.wait("kicked", |m| {
        matches!(m, ServerMsg::Rejected(Rejection::Kicked(_)))
    });
}

/// Changing between playing and watching: at once between turns, at the end of the turn
/// during one, refused when the other side is full; a watcher leaves the game's order.
#[test]
fn players_and_spectators_change_places_between_turns() {
    let mut options = options(Duration::from_secs(120));
    options.rooms.room_size = 3;
    let server = start_server(options);
    let mut peers = [
        Peer::join(server.addr, "Ann"),
        Peer::join(server.addr, "Ben"),
        Peer::join(server.addr, "Cy"),
    ];
    let mut dan = Peer::join_as(server.addr, "Dan", true);
    let role = |m: &ServerMsg, id: ClientId, spectator: bool| {
        *m == ServerMsg::Room(RoomUpdate::Role { id, spectator })
    };
    // Full: no seat to play in.
    dan.send(ClientMsg::Role(RoleRequest { spectate: false }));
    dan.wait("refused", |m| {
        *m == ServerMsg::Role(RoleReply::Refused(RoleRefusal::PlayersFull { capacity: 3 }))
    });
    // Between games, at once.
    let cy_id = peers[2].id;
    peers[2].send(ClientMsg::Role(RoleRequest { spectate: true }));
    peers[0].wait("Cy watches", |m| role(m, cy_id, true));
    // One change per member per 2 s: each one tells the room and may reorder a game.
    peers[2].send(ClientMsg::Role(RoleRequest { spectate: false }));
    peers[2].wait("too soon", |m| {
        *m == ServerMsg::Role(RoleReply::Refused(RoleRefusal::TooSoon))
    });
    let dan_id = dan.id;
    dan.send(ClientMsg::Role(RoleRequest { spectate: false }));
    peers[0].wait("Dan plays", |m| role(m, dan_id, false));

    // A game of Ann, Ben and Dan; Ben asks to watch during the first turn.
    peers[0].quiz(QuizToServer::Start(settings(1)));
    let PhaseView::Choosing { drawer, .. } =
        peers[1].wait_state("choosing", |p| matches!(p, PhaseView::Choosing { .. }))
    else {
        unreachable!()
    };
    let ben_id = peers[1].id;
    peers[1].send(ClientMsg::Role(RoleRequest { spectate: true }));
    peers[1].wait("waiting", |m| {
        *m == ServerMsg::Role(RoleReply::Waiting { spectate: true })
    });
    let [ann, ben, _] = &mut peers;
    let mut all = [ann, ben, &mut dan];
    let d = all.iter().position(|p| p.id == drawer).unwrap();
    all[d].quiz(QuizToServer::Choose(0));
    let mut word = String::new();
    for peer in all.iter_mut() {
        if let PhaseView::Drawing { word: Some(w), .. } =
            peer.wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }))
        {
            word = w;
        }
    }
    assert!(
        !all[0].seen.iter().any(|m| role(m, ben_id, true)),
        "the change waits for the turn"
    );
    // The guessers find the word; at the end of the turn Ben watches, and draws no more.
    for (i, peer) in all.iter_mut().enumerate() {
        if i != d {
            peer.say(&word);
        }
    }
    all[0].wait_state("reveal", |p| matches!(p, PhaseView::Reveal { .. }));
    all[0].wait("Ben watches", |m| role(m, ben_id, true));
    // The turns left go to Ann and Dan only, until the game is over.
    loop {
        let next = all[0].wait("a turn or the end", |m| {
            matches!(m, ServerMsg::Quiz(QuizToClient::Over { .. }))
                || matches!(m, ServerMsg::Quiz(QuizToClient::State(v)) if matches!(v.phase, PhaseView::Choosing { .. }))
        });
        let ServerMsg::Quiz(QuizToClient::State(view)) = next else {
            assert!(matches!(
                next,
                ServerMsg::Quiz(QuizToClient::Over { early: false, .. })
            ));
            break;
        };
        let PhaseView::Choosing { drawer, .. } = view.phase else {
            unreachable!()
        };
        assert_ne!(drawer, ben_id, "a spectator never draws");
        let d = all.iter().position(|p| p.id == drawer).unwrap();
        // Views of the last turn (a finder's) are passed over: this turn's come after this.
        all[d].pump();
        all[d].cursor = all[d].seen.len();
        all[d].quiz(QuizToServer::Choose(0));
        let PhaseView::Drawing { word: Some(word), .. } =
            all[d].wait_state("drawing", |p| matches!(p, PhaseView::Drawing { .. }))
        else {
            panic!("the drawer sees the word")
        };
        let g = all.iter().position(|p| p.id != drawer && p.id != ben_id).unwrap();
        all[g].say(&word);
        all[0].wait_state("reveal", |p| matches!(p, PhaseView::Reveal { .. }));
    }
}

/// The game's album: at the end each player gets every turn (word, drawer, finders), and the
/// server sends a turn's drawing with its timing to the one who asks, within the address's
/// picture budget; replayed, it gives the drawing the turn ended with.
#[test]
fn the_album_lists_each_turn_and_replays_its_drawing_on_request() {
    let server = start_server(options(Duration::from_secs(30)));
    let mut ann = Client::connect(server.addr, "Ann", None);
    step_until(&mut [&mut ann], Duration::from_secs(10), "Ann joins", |c| {
        c[0].joined()
    });
    let mut ben = Client::connect(server.addr, "Ben", None);
    common::join_all(&mut [&mut ann, &mut ben]);
    quiz(&mut ann, QuizToServer::Start(settings(1)));
    let mut finals = Vec::new();
    let mut words = Vec::new();
    for turn in 0..2 {
        let mut clients = [&mut ann, &mut ben];
        step_until(&mut clients, Duration::from_secs(10), "choosing", |cs| {
            cs.iter().all(|c| {
                matches!(
                    view(c).game.as_ref().map(|g| &g.phase),
                    Some(PhaseView::Choosing { .. })
                )
            })
        });
        let drawer = view(clients[0]).drawer().unwrap();
        let d = clients
            .iter()
            .position(|c| c.roster().me == Some(drawer))
            .unwrap();
        quiz(clients[d], QuizToServer::Choose(0));
        step_until(&mut clients, Duration::from_secs(10), "drawing", |cs| {
            cs.iter().all(|c| c.canvas().pen == Some(drawer))
        });
        let word = match &view(clients[d]).game.as_ref().unwrap().phase {
            PhaseView::Drawing { word: Some(word), .. } => word.clone(),
            other => panic!("{other:?}"),
        };
        // Two strokes a little apart in time, then an undo of the second and a third.
        for (i, (x, y)) in [(100, 100), (400, 200), (700, 300)].into_iter().enumerate() {
            clients[d].draw(DrawInput::Begin(BoardPoint::new(x, y)));
            for k in 1..20 {
                clients[d].draw(DrawInput::MoveTo(BoardPoint::new(x + k * 10, y + turn * 50)));
            }
            clients[d].draw(DrawInput::End);
            step_for(&mut clients, Duration::from_millis(150));
            if i == 1 {
                clients[d].draw(DrawInput::Undo);
            }
        }
        step_until(&mut clients, Duration::from_secs(10), "the strokes", |cs| {
            cs.iter().all(|c| c.canvas().drawing.strokes().len() == 2)
        });
        finals.push(clients[1 - d].canvas().drawing.clone());
        words.push(word.clone());
        clients[1 - d].say(&word);
        step_until(&mut clients, Duration::from_secs(10), "the reveal", |cs| {
            cs.iter().all(|c| {
                matches!(
                    view(c).game.as_ref().map(|g| &g.phase),
                    Some(PhaseView::Reveal { .. }) | None
                )
            })
        });
    }
    step_until(
        &mut [&mut ann, &mut ben],
        Duration::from_secs(10),
        "the album",
        |cs| cs.iter().all(|c| view(c).album.len() == 2),
    );
    let album = view(&ann).album.clone();
    assert_eq!(album, view(&ben).album);
    assert_eq!(album.iter().map(|e| e.word.clone()).collect::<Vec<_>>(), words);
    for entry in &album {
        assert_eq!(entry.found.len(), 1, "{entry:?}");
        assert_ne!(entry.found[0], entry.drawer);
    }
    // Replays: the first turn's drawing, as drawn.
    for (entry, final_drawing) in album.iter().zip(&finals) {
        ann.app
            .world_mut()
            .write_message(ToServer(CanvasToServer::Replay { key: entry.key }));
        step_until(&mut [&mut ann], Duration::from_secs(10), "the replay", |cs| {
            cs[0].canvas().replays.get(entry.key).is_some()
        });
        let ops = ann.canvas().replays.get(entry.key).unwrap().to_vec();
        assert!(ops.windows(2).all(|w| w[0].ms <= w[1].ms), "in time order");
        assert!(ops.last().unwrap().ms >= 250, "with its timing: {:?}", ops.last());
        assert!(
            ops.iter().any(|op| matches!(op.op, ReplayOp::Undo { .. })),
            "the undo is part of it"
        );
        let mut replayed = Drawing::default();
        for op in &ops {
            op.op.apply(&mut replayed).unwrap();
        }
        assert_eq!(replayed.strokes(), final_drawing.strokes());
    }
    // An unknown drawing is refused (the budget by weight has a unit test).
    ann.app
        .world_mut()
        .write_message(ToServer(CanvasToServer::Replay { key: 999_999 }));
    step_until(&mut [&mut ann], Duration::from_secs(10), "refused", |cs| {
        cs[0].canvas().refused == Some(CanvasError::NoSuchDrawing)
    });
}

#[test]
fn refused_word_lists_count_against_the_rooms_rate() {
    let server = start_server(options(Duration::from_secs(30)));
    let mut ann = Peer::join(server.addr, "Ann");
    // A list of 999 words with a control character at its end, ten times in one write: each
    // would cost the server a parse. Two are read (and refused with the reason), the rest are
    // refused unread.
    let bad: Vec<String> = (0..999).map(|i| format!("word{i}")).collect();
    let bad = format!("{},\u{7}", bad.join(","));
    let lists: Vec<ClientMsg> = (0..10)
        .map(|_| ClientMsg::Quiz(QuizToServer::RoomWords(bad.clone())))
        .collect();
    ann.send_together(&lists);
    let mut answers = Vec::new();
    for i in 0..10 {
        let answer = ann.wait(&format!("answer {i}"), |m| {
            matches!(m, ServerMsg::Quiz(QuizToClient::Refused(_)))
        });
        let ServerMsg::Quiz(QuizToClient::Refused(why)) = answer else {
            unreachable!()
        };
        answers.push(why);
    }
    let parsed = answers
        .iter()
        .filter(|w| **w == QuizRefusal::RoomWords(RoomWordsError::ControlCharacter))
        .count();
    let too_soon = answers
        .iter()
        .filter(|w| **w == QuizRefusal::RoomWordsTooSoon)
        .count();
    assert_eq!((parsed, too_soon), (2, 8), "{answers:?}");
}
