//! Removing a troll, as plain Rust: the host's kick, the others' vote to kick (a majority of
//! the other members' addresses within [`VOTE_WINDOW`]: seats from one address are one voice,
//! as in guessing, and that voice is given when most of them voted), and what a kick leaves
//! behind: the kicked name
//! kept out of the room for [`NAME_BAN`], and new names from its address for [`ADDRESS_WAIT`]
//! (so a house behind one NAT is not locked out for long).

use std::net::IpAddr;
use std::time::Duration;

use bevy::prelude::Component;

use super::wire::{ModerationRefusal, Rejection};
use crate::id::ClientId;

/// How long votes to kick one player add up.
pub const VOTE_WINDOW: Duration = Duration::from_secs(30);
/// How long a kicked name cannot come back to the room.
pub const NAME_BAN: Duration = Duration::from_secs(10 * 60);
/// How long new names from a kicked player's address wait before joining the room.
pub const ADDRESS_WAIT: Duration = Duration::from_secs(2 * 60);
/// Kicks a room remembers; the oldest go first (a room of at most 64 kicks nobody that often).
pub const MAX_BANS: usize = 64;

/// A room's votes under way and its kicks still in force.
#[derive(Component, Debug, Default, Clone)]
pub struct Moderation {
    votes: Vec<Vote>,
    bans: Vec<Ban>,
}

#[derive(Debug, Clone)]
struct Vote {
    target: ClientId,
    since: Duration,
    /// Who voted, and from which address (as [`crate::plugins::net::address_key`] keys them).
    voters: Vec<(ClientId, IpAddr)>,
}

#[derive(Debug, Clone)]
struct Ban {
    name_key: String,
    addr: IpAddr,
    at: Duration,
}

/// Where a vote stands after one more: addresses that voted, of the addresses needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub votes: u16,
    pub needed: u16,
}

impl Tally {
    pub fn passed(&self) -> bool {
        self.votes >= self.needed
    }
}

/// The votes a kick needs: a majority of the `others` (the addresses of the members but the
/// target).
pub fn votes_needed(others: usize) -> u16 {
    (others / 2 + 1).min(u16::MAX as usize) as u16
}

/// The different addresses among `addrs` (a room's handful: no set needed).
fn distinct(addrs: impl Iterator<Item = IpAddr>) -> Vec<IpAddr> {
    let mut seen: Vec<IpAddr> = Vec::new();
    for addr in addrs {
        if !seen.contains(&addr) {
            seen.push(addr);
        }
    }
    seen
}

impl Moderation {
    /// `voter`, at address `from`, votes to kick `target`; `others` are the addresses of the
    /// members besides the target, one entry per member. Each address is one voice, given
    /// when most of its members voted (so one seat of a house does not speak for the house,
    /// and many seats of one person are one voice); a majority of the voices kicks.
    pub fn vote(
        &mut self,
        voter: ClientId,
        from: IpAddr,
        target: ClientId,
        others: &[IpAddr],
        now: Duration,
    ) -> Result<Tally, ModerationRefusal> {
        if voter == target {
            return Err(ModerationRefusal::NotYourself);
        }
        self.votes.retain(|v| now.saturating_sub(v.since) < VOTE_WINDOW);
        let vote = match self.votes.iter().position(|v| v.target == target) {
            Some(i) => &mut self.votes[i],
            None => {
                self.votes.push(Vote {
                    target,
                    since: now,
                    voters: Vec::new(),
                });
                self.votes.last_mut().expect("just pushed")
            }
        };
        if vote.voters.iter().any(|&(v, _)| v == voter) {
            return Err(ModerationRefusal::AlreadyVoted);
        }
        vote.voters.push((voter, from));
        let addresses = distinct(others.iter().copied());
        let voices = addresses
            .iter()
            .filter(|&&addr| {
                let seats = others.iter().filter(|&&a| a == addr).count();
                let voted = vote.voters.iter().filter(|&&(_, a)| a == addr).count();
                2 * voted > seats
            })
            .count();
        let tally = Tally {
            votes: voices as u16,
            needed: votes_needed(addresses.len()),
        };
        if tally.passed() {
            self.votes.retain(|v| v.target != target);
        }
        Ok(tally)
    }

    /// A member left: their votes, and the votes against them, go.
    pub fn forget(&mut self, who: ClientId) {
        self.votes.retain(|v| v.target != who);
        for vote in &mut self.votes {
            vote.voters.retain(|&(v, _)| v != who);
        }
    }

    /// Keeps a kicked player's name and address out (see the module's limits).
    pub fn ban(&mut self, name_key: &str, addr: IpAddr, now: Duration) {
        self.bans.retain(|b| now.saturating_sub(b.at) < NAME_BAN);
        if self.bans.len() >= MAX_BANS {
            self.bans.remove(0);
        }
        self.bans.push(Ban {
            name_key: name_key.into(),
            addr,
            at: now,
        });
    }

    /// Whether a player named `name_key` at `addr` may join now.
    pub fn admission(&self, name_key: &str, addr: IpAddr, now: Duration) -> Result<(), Rejection> {
        let left = |ban: &Ban, span: Duration| span.saturating_sub(now.saturating_sub(ban.at));
        for ban in &self.bans {
            let name_left = left(ban, NAME_BAN);
            if ban.name_key == name_key && !name_left.is_zero() {
                return Err(Rejection::Banned {
                    minutes: name_left.as_secs().div_ceil(60) as u16,
                });
            }
            let addr_left = left(ban, ADDRESS_WAIT);
            if ban.addr == addr && !addr_left.is_zero() {
                return Err(Rejection::AddressWaiting {
                    secs: addr_left.as_secs().max(1) as u16,
                });
            }
        }
        Ok(())
    }
}

/// Whether `kicker` may kick `target`: the host may, anyone but themselves and the server's
/// own operator.
pub fn may_kick(
    host: Option<ClientId>,
    kicker: ClientId,
    target: ClientId,
    target_is_operator: bool,
) -> Result<(), ModerationRefusal> {
    if host != Some(kicker) {
        return Err(ModerationRefusal::NotHost);
    }
    if kicker == target {
        return Err(ModerationRefusal::NotYourself);
    }
    if target_is_operator {
        return Err(ModerationRefusal::Operator);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ClientId = ClientId(1);
    const B: ClientId = ClientId(2);
    const C: ClientId = ClientId(3);
    const D: ClientId = ClientId(4);

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    /// Each test member at an address of its own.
    fn at(who: ClientId) -> IpAddr {
        [10, 0, 0, who.0 as u8].into()
    }

    #[test]
    fn a_majority_of_the_others_within_the_window_kicks() {
        assert_eq!(
            (votes_needed(1), votes_needed(2), votes_needed(3), votes_needed(4)),
            (1, 2, 2, 3)
        );
        let mut m = Moderation::default();
        // Four members: D is the target, three others, two votes needed.
        let others_than =
            |t: ClientId| -> Vec<IpAddr> { [A, B, C, D].into_iter().filter(|&c| c != t).map(at).collect() };
        let but_d = others_than(D);
        assert_eq!(
            m.vote(A, at(A), D, &but_d, s(0)),
            Ok(Tally { votes: 1, needed: 2 })
        );
        assert_eq!(
            m.vote(A, at(A), D, &but_d, s(1)),
            Err(ModerationRefusal::AlreadyVoted)
        );
        assert_eq!(
            m.vote(D, at(D), D, &but_d, s(1)),
            Err(ModerationRefusal::NotYourself)
        );
        // Too late: the first vote lapsed, this one starts again.
        assert_eq!(
            m.vote(B, at(B), D, &but_d, s(31)),
            Ok(Tally { votes: 1, needed: 2 })
        );
        let tally = m.vote(C, at(C), D, &but_d, s(40)).unwrap();
        assert!(tally.passed());
        // A voter who leaves takes their vote along.
        let but_b = others_than(B);
        m.vote(A, at(A), B, &but_b, s(50)).unwrap();
        m.forget(A);
        assert_eq!(
            m.vote(C, at(C), B, &but_b, s(51)),
            Ok(Tally { votes: 1, needed: 2 })
        );
    }

    #[test]
    fn seats_from_one_address_are_one_voice() {
        // Four seats at one address (A's), B elsewhere, D the target: two addresses besides
        // D's, so two voices are needed; A's address speaks once three of its four voted.
        let mut m = Moderation::default();
        let home = at(A);
        let others = [home, home, home, home, at(B)];
        let voices: Vec<u16> = [A, ClientId(11), ClientId(12), ClientId(13)]
            .into_iter()
            .enumerate()
            .map(|(i, seat)| m.vote(seat, home, D, &others, s(i as u64)).unwrap().votes)
            .collect();
        assert_eq!(voices, [0, 0, 1, 1]);
        assert!(m.vote(B, at(B), D, &others, s(5)).unwrap().passed());
        // A house of five against one stranger: one voice, given by three of the five.
        let mut m = Moderation::default();
        let house = [home; 5];
        let passed: Vec<bool> = [A, ClientId(11), ClientId(12)]
            .into_iter()
            .enumerate()
            .map(|(i, seat)| m.vote(seat, home, D, &house, s(i as u64)).unwrap().passed())
            .collect();
        assert_eq!(passed, [false, false, true]);
    }

    #[test]
    fn a_kicked_name_waits_ten_minutes_and_its_address_two() {
        let mut m = Moderation::default();
        let home: IpAddr = [10, 0, 0, 1].into();
        let elsewhere: IpAddr = [10, 0, 0, 2].into();
        m.ban("troll", home, s(0));
        assert_eq!(
            m.admission("troll", elsewhere, s(1)),
            Err(Rejection::Banned { minutes: 10 })
        );
        assert_eq!(
            m.admission("newname", home, s(1)),
            Err(Rejection::AddressWaiting { secs: 119 })
        );
        assert_eq!(m.admission("friend", elsewhere, s(1)), Ok(()));
        assert_eq!(
            m.admission("newname", home, s(120)),
            Ok(()),
            "the house waits two minutes"
        );
        assert_eq!(
            m.admission("troll", home, s(599)),
            Err(Rejection::Banned { minutes: 1 })
        );
        assert_eq!(m.admission("troll", home, s(600)), Ok(()));
        for i in 0..(MAX_BANS as u64 + 10) {
            m.ban(&format!("t{i}"), home, s(700 + i));
        }
        assert_eq!(m.bans.len(), MAX_BANS, "bounded");
    }

    #[test]
    fn only_the_host_kicks_and_never_the_operator_or_themselves() {
        assert_eq!(may_kick(Some(A), A, B, false), Ok(()));
        assert_eq!(may_kick(Some(A), B, C, false), Err(ModerationRefusal::NotHost));
        assert_eq!(
            may_kick(Some(A), A, A, false),
            Err(ModerationRefusal::NotYourself)
        );
        assert_eq!(may_kick(Some(A), A, B, true), Err(ModerationRefusal::Operator));
    }
}
