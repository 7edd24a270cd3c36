//! Removing a troll over loopback TCP: the host's kick, the room's vote, and what a kick
//! leaves behind (the name kept out 10 minutes, new names from its address 2).

mod common;

use catchmind::app::ServerOptions;
use catchmind::id::ClientId;
use catchmind::plugins::net::wire::ServerControl;
use catchmind::plugins::net::{CloseReason, ToServer};
use catchmind::plugins::rooms::{
    KickReason, KickedBy, ModerationRefusal, ModerationRequest, Rejection, RoomUpdate,
};
use common::{Client, ClientMsg, RawPeer, ServerMsg, join_all, start_server, step_until};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

fn join_from(addr: std::net::SocketAddr, source: u8, name: &str) -> (RawPeer, Result<ClientId, String>) {
    let mut peer = RawPeer::connect_from(addr, [127, 0, 0, source]);
    let joined = peer.join(name, None).map(|w| w.you);
    (peer, joined)
}

/// Reads until the close; returns what came, in order.
fn until_closed(peer: &mut RawPeer) -> Vec<ServerMsg> {
    std::iter::from_fn(|| peer.recv()).collect()
}

#[test]
fn the_host_kicks_and_the_name_and_its_address_wait() {
    let server = start_server(ServerOptions::default());
    let mut alice = Client::connect(server.addr, "Alice", None);
    join_all(&mut [&mut alice]);
    let (mut bob, bob_id) = join_from(server.addr, 5, "Bob");
    let bob_id = bob_id.unwrap();
    let (mut dave, _) = join_from(server.addr, 6, "Dave");
    step_until(&mut [&mut alice], LIMIT, "three players", |cs| {
        cs[0].roster().players.len() == 3
    });

    // Not the host: refused, and only Dave hears of it.
    dave.send(&ClientMsg::Moderation(ModerationRequest::Kick {
        target: bob_id,
        reason: KickReason::Spamming,
    }));
    let refusal = std::iter::from_fn(|| dave.recv()).find(|m| matches!(m, ServerMsg::Moderation(_)));
    assert_eq!(refusal, Some(ServerMsg::Moderation(ModerationRefusal::NotHost)));

    alice
        .app
        .world_mut()
        .write_message(ToServer(ModerationRequest::Kick {
            target: bob_id,
            reason: KickReason::Spamming,
        }));
    step_until(&mut [&mut alice], LIMIT, "Bob gone", |cs| {
        cs[0].roster().players.len() == 2
    });
    let by = KickedBy::Host {
        name: "Alice".into(),
        reason: KickReason::Spamming,
    };
    let told = until_closed(&mut bob);
    assert!(
        told.contains(&ServerMsg::Rejected(Rejection::Kicked(by.clone()))),
        "{told:?}"
    );
    assert_eq!(
        told.last(),
        Some(&ServerMsg::Control(ServerControl::Closing(CloseReason::Kicked))),
        "a kick is not a refusal at the door"
    );
    assert!(
        alice
            .notices()
            .contains(&"Bob was kicked by the host, Alice, for spamming.".to_owned()),
        "{:?}",
        alice.notices()
    );
    let heard =
        std::iter::from_fn(|| dave.recv()).find(|m| matches!(m, ServerMsg::Room(RoomUpdate::Kicked { .. })));
    assert_eq!(
        heard,
        Some(ServerMsg::Room(RoomUpdate::Kicked {
            id: bob_id,
            name: "Bob".into(),
            by
        }))
    );

    // The name waits 10 minutes from anywhere; other names from its address 2 minutes.
    assert_eq!(
        join_from(server.addr, 5, "Bob").1,
        Err(Rejection::Banned { minutes: 10 }.to_string())
    );
    assert_eq!(
        join_from(server.addr, 9, "BOB").1,
        Err(Rejection::Banned { minutes: 10 }.to_string())
    );
    let waiting = join_from(server.addr, 5, "Robert").1.unwrap_err();
    assert!(waiting.contains("new names may join in 1"), "{waiting}");
    assert!(
        join_from(server.addr, 9, "Carol").1.is_ok(),
        "others join as ever"
    );
}

#[test]
fn a_majority_of_the_others_votes_a_player_out() {
    let server = start_server(ServerOptions::default());
    let mut host = Client::connect(server.addr, "Host", None);
    join_all(&mut [&mut host]);
    let (mut b, _) = join_from(server.addr, 2, "B");
    let (mut c, _) = join_from(server.addr, 3, "C");
    let (mut t, t_id) = join_from(server.addr, 4, "Troll");
    let t_id = t_id.unwrap();
    step_until(&mut [&mut host], LIMIT, "four players", |cs| {
        cs[0].roster().players.len() == 4
    });

    // Three others: two votes needed. A second vote by the same player is refused to them only.
    for _ in 0..3 {
        b.send(&ClientMsg::Moderation(ModerationRequest::VoteKick {
            target: t_id,
        }));
    }
    step_until(&mut [&mut host], LIMIT, "the first vote", |cs| {
        cs[0]
            .notices()
            .iter()
            .any(|n| n.starts_with("B voted to kick Troll (1 of 2"))
    });
    let refused = std::iter::from_fn(|| b.recv())
        .filter(|m| *m == ServerMsg::Moderation(ModerationRefusal::AlreadyVoted))
        .take(2)
        .count();
    assert_eq!(refused, 2);
    t.send(&ClientMsg::Moderation(ModerationRequest::VoteKick {
        target: t_id,
    }));
    // The troll's own vote is refused (waited for: C's vote could otherwise close the troll's
    // connection before the server reads it).
    let refused_self =
        std::iter::from_fn(|| t.recv()).any(|m| m == ServerMsg::Moderation(ModerationRefusal::NotYourself));
    assert!(refused_self, "a vote on oneself is refused");
    c.send(&ClientMsg::Moderation(ModerationRequest::VoteKick {
        target: t_id,
    }));
    step_until(&mut [&mut host], LIMIT, "the troll out", |cs| {
        cs[0].roster().players.len() == 3
    });
    let told = until_closed(&mut t);
    let by = KickedBy::Vote { votes: 2, of: 2 };
    assert!(
        told.contains(&ServerMsg::Rejected(Rejection::Kicked(by))),
        "{told:?}"
    );
    assert!(
        host.notices()
            .contains(&"Troll was kicked by a vote of the room (2 of 2 needed).".to_owned()),
        "{:?}",
        host.notices()
    );
    // Exactly one notice per vote reached the host.
    let votes = host
        .notices()
        .iter()
        .filter(|n| n.contains("voted to kick"))
        .count();
    assert_eq!(votes, 2);
}

#[test]
fn seats_from_one_address_vote_as_one() {
    let server = start_server(ServerOptions::default());
    let mut host = Client::connect(server.addr, "Host", None);
    join_all(&mut [&mut host]);
    // Four seats from one address, and the target elsewhere.
    let mut seats: Vec<RawPeer> = (1..=4)
        .map(|i| join_from(server.addr, 5, &format!("Seat{i}")).0)
        .collect();
    let (_t, t_id) = join_from(server.addr, 6, "Target");
    let t_id = t_id.unwrap();
    let (mut other, _) = join_from(server.addr, 7, "Other");
    step_until(&mut [&mut host], LIMIT, "seven players", |cs| {
        cs[0].roster().players.len() == 7
    });
    // Besides the target: three addresses (the host's, the seats' and Other's), so two voices
    // are needed; the four seats' votes are one voice.
    for seat in &mut seats {
        seat.send(&ClientMsg::Moderation(ModerationRequest::VoteKick {
            target: t_id,
        }));
    }
    // The seats' connections are read in any order: wait for all four votes.
    step_until(&mut [&mut host], LIMIT, "the four seats' votes", |cs| {
        cs[0]
            .notices()
            .iter()
            .filter(|n| n.contains("voted to kick"))
            .count()
            == 4
    });
    let tallies: Vec<String> = host
        .notices()
        .into_iter()
        .filter(|n| n.contains("voted to kick"))
        .collect();
    assert_eq!(tallies.len(), 4, "{tallies:?}");
    // The seats' address speaks once three of its four voted: one voice of the two needed.
    assert!(
        tallies
            .iter()
            .all(|n| n.contains("(0 of 2") || n.contains("(1 of 2")),
        "{tallies:?}"
    );
    assert_eq!(host.roster().players.len(), 7, "the target is still in");
    other.send(&ClientMsg::Moderation(ModerationRequest::VoteKick {
        target: t_id,
    }));
    step_until(&mut [&mut host], LIMIT, "the target out", |cs| {
        cs[0].roster().players.len() == 6
    });
}
