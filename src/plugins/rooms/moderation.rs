//! Removing a troll, as plain Rust: the host's kick, the others' vote to kick (a majority of
//! the other members within [`VOTE_WINDOW`]), and what a kick leaves behind: the kicked name
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
    voters: Vec<ClientId>,
}

#[derive(Debug, Clone)]
struct Ban {
    name_key: String,
    addr: IpAddr,
    at: Duration,
}

/// Where a vote stands after one more.
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

/// The votes a kick needs: a majority of the `others` (the members but the target).
pub fn votes_needed(others: usize) -> u16 {
    (others / 2 + 1).min(u16::MAX as usize) as u16
}

impl Moderation {
    /// `voter` votes to kick `target`, with `others` members besides the target.
    pub fn vote(
        &mut self,
        voter: ClientId,
        target: ClientId,
        others: usize,
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
        if vote.voters.contains(&voter) {
            return Err(ModerationRefusal::AlreadyVoted);
        }
        vote.voters.push(voter);
        let tally = Tally {
            votes: vote.voters.len() as u16,
            needed: votes_needed(others),
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
            vote.voters.retain(|&v| v != who);
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

    #[test]
    fn a_majority_of_the_others_within_the_window_kicks() {
        assert_eq!(
            (votes_needed(1), votes_needed(2), votes_needed(3), votes_needed(4)),
            (1, 2, 2, 3)
        );
        let mut m = Moderation::default();
        // Four members: D is the target, three others, two votes needed.
        assert_eq!(m.vote(A, D, 3, s(0)), Ok(Tally { votes: 1, needed: 2 }));
        assert_eq!(m.vote(A, D, 3, s(1)), Err(ModerationRefusal::AlreadyVoted));
        assert_eq!(m.vote(D, D, 3, s(1)), Err(ModerationRefusal::NotYourself));
        // Too late: the first vote lapsed, this one starts again.
        assert_eq!(m.vote(B, D, 3, s(31)), Ok(Tally { votes: 1, needed: 2 }));
        let tally = m.vote(C, D, 3, s(40)).unwrap();
        assert!(tally.passed());
        // A voter who leaves takes their vote along.
        m.vote(A, B, 3, s(50)).unwrap();
        m.forget(A);
        assert_eq!(m.vote(C, B, 3, s(51)), Ok(Tally { votes: 1, needed: 2 }));
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
