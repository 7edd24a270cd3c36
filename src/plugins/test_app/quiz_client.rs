//! The quiz client over the in-memory network: each player's view follows the game (turns,
//! the word for the drawer and finders only, the pen, the time cut, the end), and the game
//! survives players and its host leaving.

use std::sync::Arc;
use std::time::Duration;

use bevy::time::{Real, Time};

use super::{TestClient, TestNet};
use crate::plugins::canvas::{BoardPoint, CanvasError, CanvasState, DrawInput};
use crate::plugins::chat::{ChatConfig, ChatEntry, ChatLog};
use crate::plugins::quiz::{Banner, Pack, PhaseView, QuizConfig, QuizToServer, QuizView, Settings, Timing};

const LIMIT: Duration = Duration::from_secs(5);

const WORDS: [&str; 6] = [
    "zeppelin",
    "quokka",
    "harmonica",
    "해바라기",
    "망원경",
    "오토바이",
];

/// A server with short reveals, `draw` long turns and its own word list.
fn server(draw: Duration, choose: Duration) -> TestNet {
    TestNet::new(|app| {
        app.insert_resource(ChatConfig {
            burst: 100,
            window: Duration::from_secs(1),
        })
        .insert_resource(QuizConfig {
            timing: Timing {
                choose,
                reveal: Duration::from_millis(300),
                draw: Some(draw),
            },
            custom_words: Some(Arc::new(WORDS.iter().map(|w| w.to_string()).collect())),
        });
    })
}

fn settings(rounds: u8) -> Settings {
    Settings {
        rounds,
        pack: Pack::Custom,
        ..Settings::default()
    }
}

fn view(client: &TestClient) -> &QuizView {
    client.resource::<QuizView>()
}

fn phase(client: &TestClient) -> Option<&PhaseView> {
    view(client).game.as_ref().map(|g| &g.phase)
}

fn canvas(client: &TestClient) -> &CanvasState {
    client.resource::<CanvasState>()
}

fn log(client: &TestClient) -> Vec<ChatEntry> {
    client.resource::<ChatLog>().entries.iter().cloned().collect()
}

fn highlighted(client: &TestClient, what: impl Fn(&str) -> bool) -> bool {
    log(client)
        .iter()
        .any(|e| matches!(e, ChatEntry::Highlight(t) if what(t)))
}

/// Host, then Bob, then Cat join the lobby, in that order.
fn host_bob_cat(net: &mut TestNet) -> (usize, usize, usize) {
    let host = net.connect("Host", None);
    net.join_all();
    let bob = net.connect("Bob", None);
    net.join_all();
    let cat = net.connect("Cat", None);
    net.join_all();
    (host, bob, cat)
}

#[test]
fn clients_follow_the_game_and_only_the_drawer_draws() {
    let mut net = server(Duration::from_secs(30), Duration::from_secs(15));
    let (host, ..) = host_bob_cat(&mut net);
    assert_eq!(view(&net[host]).custom_words, WORDS.len() as u32);

    // The host cuts the time to 20 s once the word is found (the turns here are 30 s).
    net[host].send(QuizToServer::Start(Settings {
        cut_secs: 20,
        ..settings(1)
    }));
    net.step_until(LIMIT, "choosing", |net| {
        net.clients.iter().all(|c| view(c).game.is_some())
    });
    let drawer_id = view(&net[host]).drawer().unwrap();
    let d = net
        .clients
        .iter()
        .position(|c| c.roster().me == Some(drawer_id))
        .unwrap();
    let (g, other) = ((d + 1) % 3, (d + 2) % 3);
    // Choosing: the drawer is told it is their turn.
    assert!(view(&net[d]).banners.iter().any(|(_, b)| *b == Banner::YourTurn));
    net[d].send(QuizToServer::Choose(0));
    net.step_until(LIMIT, "drawing", |net| {
        net.clients
            .iter()
            .all(|c| matches!(phase(c), Some(PhaseView::Drawing { .. })) && canvas(c).pen == Some(drawer_id))
    });
    let Some(PhaseView::Drawing { word: Some(word), .. }) = phase(&net[d]).cloned() else {
        panic!("the drawer sees the word: {:?}", phase(&net[d]))
    };

    // A guesser cannot take the pen; the drawer draws and everyone sees it.
    net[g].write(DrawInput::TakePen);
    net[d].write(DrawInput::Begin(BoardPoint::new(100, 100)));
    net[d].write(DrawInput::MoveTo(BoardPoint::new(300, 300)));
    net[d].write(DrawInput::End);
    net.step_until(LIMIT, "the drawing and the refusal", |net| {
        net.clients.iter().all(|c| canvas(c).drawing.point_count() == 2)
            && canvas(&net[g]).refused == Some(CanvasError::NotYourTurn)
    });
    assert_eq!(canvas(&net[g]).pen, Some(drawer_id));

    net[g].say(&word);
    let finder = net[g].roster().me.unwrap();
    net.step_until(LIMIT, "the guess", |net| {
        net.clients.iter().all(|c| view(c).score(finder).unwrap_or(0) > 0)
    });
    // The finder sees the word; the other guesser does not, and no one saw it as chat.
    assert!(matches!(phase(&net[g]), Some(PhaseView::Drawing { word: Some(w), .. }) if *w == word));
    assert!(matches!(
        phase(&net[other]),
        Some(PhaseView::Drawing { word: None, .. })
    ));
    for c in &net.clients {
        assert!(
            !c.lines().iter().any(|l| l.contains(word.as_str())),
            "{:?}",
            c.lines()
        );
        assert!(
            highlighted(c, |t| t.contains("guessed the word")),
            "everyone is told"
        );
    }
    // The first find cut the time: everyone has at most 20 s left and is told.
    net.step_until(LIMIT, "the time cut", |net| {
        net.clients.iter().all(|c| {
            let now = c.resource::<Time<Real>>().elapsed();
            c.notices().iter().any(|n| n.starts_with("The word was found:"))
                && view(c).seconds_left(now) <= 20
        })
    });
    // A finder's chat reaches the drawer, not the other guesser.
    net[g].say("nice apple");
    net.step_until(LIMIT, "private line", |net| {
        log(&net[d])
            .iter()
            .any(|e| matches!(e, ChatEntry::Private { text, .. } if text == "nice apple"))
    });
    net.run_for(Duration::from_millis(200));
    assert!(
        !log(&net[other])
            .iter()
            .any(|e| format!("{e:?}").contains("nice apple"))
    );

    // The drawer leaves: the turn ends with the reveal, and with two players left the game
    // goes on; then one more leaves and it ends early with the scores so far.
    net[d].leave();
    let reveal = format!("The word was: {word}");
    net.step_until(LIMIT, "the reveal", |net| {
        [g, other].iter().all(|&i| highlighted(&net[i], |t| t == reveal))
    });
    net[g].leave();
    net.step_until(LIMIT, "early end", |net| {
        view(&net[other])
            .last_game
            .as_ref()
            .is_some_and(|(early, _)| *early)
    });
    assert!(view(&net[other]).game.is_none());
    assert_eq!(canvas(&net[other]).pen, None, "free drawing again");
}

#[test]
fn joiners_play_at_once_and_the_game_survives_its_host_leaving() {
    // Short turns: nobody chooses, the word is picked after the choosing time.
    let mut net = server(Duration::from_secs(2), Duration::from_secs(1));
    let (host, bob, cat) = host_bob_cat(&mut net);

    // Only the host may start, and not while a game runs.
    net[bob].send(QuizToServer::Start(settings(1)));
    net.step_until(LIMIT, "refusal", |net| {
        net[bob]
            .notices()
            .iter()
            .any(|n| n == "only the room's host can start a game")
    });
    net[host].send(QuizToServer::Start(settings(1)));
    net.step_until(LIMIT, "start", |net| {
        net.clients.iter().all(|c| view(c).game.is_some())
    });

    // A joiner sees the game at once and takes part.
    let dan = net.connect("Dan", None);
    net.step_until(LIMIT, "the joiner sees the game", |net| {
        view(&net[dan]).game.is_some()
    });

    // The host leaves: Bob hosts now, and the game goes on to its end with all three.
    net[host].leave();
    let rest = [bob, cat, dan];
    net.step_until(Duration::from_secs(30), "the game's end", |net| {
        rest.iter().all(|&i| view(&net[i]).last_game.is_some())
    });
    assert_eq!(net[bob].roster().host, net[bob].roster().me);
    // Read from the log, which keeps every turn (a view sampled between steps may miss one).
    let notices = net[bob].notices();
    assert!(
        notices.iter().any(|n| n == "Round 1: Dan is choosing a word."),
        "the joiner drew in the round they joined: {notices:?}"
    );
    let (early, _) = view(&net[bob]).last_game.clone().unwrap();
    assert!(!early);

    // The new host starts the next game.
    net[bob].send(QuizToServer::Start(settings(1)));
    net.step_until(LIMIT, "second game", |net| {
        rest.iter().all(|&i| view(&net[i]).game.is_some())
    });
}
