//! The chat client over the in-memory network: the log each player sees.

use std::time::Duration;

use super::TestNet;
use crate::plugins::net::ClientState;

const LIMIT: Duration = Duration::from_secs(2);

#[test]
fn three_clients_join_chat_in_order_and_see_a_leave() {
    let mut net = TestNet::new(|_| {});
    let (a, b, c) = (
        net.connect("Alice", None),
        net.connect("배철수", None),
        net.connect("Carol", None),
    );
    net.join_all();
    for client in &net.clients {
        let mut names: Vec<&str> = client.roster().players.iter().map(|p| p.name.as_str()).collect();
        names.sort();
        assert_eq!(names, ["Alice", "Carol", "배철수"]);
        assert_eq!(client.roster().room, "lobby");
        assert!(
            client.roster().players.iter().all(|p| p.addr.is_none()),
            "only the operator sees addresses"
        );
    }
    let host = net[a].roster().host;
    assert!(
        host.is_some() && [b, c].iter().all(|&i| net[i].roster().host == host),
        "everyone agrees on the host"
    );

    let sent_by_a: Vec<String> = (1..=5).map(|i| format!("message {i} from Alice")).collect();
    for text in &sent_by_a {
        net[a].say(text);
    }
    net[b].say("안녕하세요 여러분!");
    net.step_until(LIMIT, "six chat lines everywhere", |net| {
        net.clients.iter().all(|c| c.lines().len() >= 6)
    });
    net.run_for(Duration::from_millis(200));
    let expected_a: Vec<String> = sent_by_a.iter().map(|t| format!("Alice: {t}")).collect();
    for client in &net.clients {
        let lines = client.lines();
        assert_eq!(
            lines.len(),
            6,
            "{}: each line exactly once: {lines:?}",
            client.name
        );
        let from_a: Vec<&String> = lines.iter().filter(|l| l.starts_with("Alice:")).collect();
        assert_eq!(
            from_a,
            expected_a.iter().collect::<Vec<_>>(),
            "{}: Alice's lines in order",
            client.name
        );
        let from_b = lines
            .iter()
            .filter(|l| *l == "배철수: 안녕하세요 여러분!")
            .count();
        assert_eq!(from_b, 1);
    }

    net[c].leave();
    net.step_until(LIMIT, "the leave notice", |net| {
        [a, b].iter().all(|&i| {
            net[i].notices().iter().any(|n| n == "Carol left.") && net[i].roster().players.len() == 2
        })
    });
    assert_eq!(net[c].state(), ClientState::Disconnected);
    assert_eq!(net.wire.clients().len(), 2, "the server saw Carol's goodbye");
}
