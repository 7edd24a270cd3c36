//! Per-address limits at the door: open connections, connections still in their handshake,
//! and new connections per minute, for each peer address (IPv4-mapped IPv6 counted as IPv4).
//! Plain Rust with a manual clock; the accept loop holds it behind a mutex.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::wire::Refusal;
use crate::rate::TokenBucket;

/// The limits, with defaults that suit a house of players behind one NAT.
#[derive(Clone, Debug, PartialEq)]
pub struct AddressLimits {
    /// Open connections from one address.
    pub connections: usize,
    /// Connections from one address that have not finished their handshake.
    pub half_open: usize,
    /// New connections from one address per minute, sustained, and the burst above that.
    pub per_minute: f64,
    pub burst: f64,
}

impl Default for AddressLimits {
    fn default() -> Self {
        Self {
            connections: 16,
            half_open: 8,
            per_minute: 60.0,
            burst: 30.0,
        }
    }
}

/// What is known of one address.
#[derive(Debug)]
struct Seen {
    open: usize,
    half_open: usize,
    arrivals: TokenBucket,
    last: Instant,
}

/// Addresses forgotten after this long with nothing open (their arrival bucket is full again by
/// then: a minute refills the burst at the default rate).
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// The table is swept of forgotten addresses when it grows past this.
const SWEEP_AT: usize = 4096;

#[derive(Debug, Default)]
pub struct AddressBook {
    limits: AddressLimits,
    seen: HashMap<IpAddr, Seen>,
}

impl AddressBook {
    pub fn new(limits: AddressLimits) -> Self {
        Self {
            limits,
            seen: HashMap::new(),
        }
    }

    /// A connection arrived from `ip`: admitted (counted open and half-open until
    /// [`AddressBook::handshake_done`] and [`AddressBook::closed`]) or refused.
    pub fn arrive(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        if self.seen.len() >= SWEEP_AT {
            self.seen
                .retain(|_, s| s.open > 0 || now.saturating_duration_since(s.last) < FORGET_AFTER);
        }
        let limits = &self.limits;
        let seen = self.seen.entry(canonical(ip)).or_insert_with(|| Seen {
            open: 0,
            half_open: 0,
            arrivals: TokenBucket::starting_at(limits.per_minute / 60.0, limits.burst, now),
            last: now,
        });
        seen.last = now;
        if seen.open >= limits.connections || seen.half_open >= limits.half_open {
            return Err(Refusal::TooManyFromAddress);
        }
        if !seen.arrivals.take_at(now) {
            return Err(Refusal::TooManyFromAddress);
        }
        seen.open += 1;
        seen.half_open += 1;
        Ok(())
    }

    /// The connection from `ip` finished its handshake.
    pub fn handshake_done(&mut self, ip: IpAddr) {
        if let Some(seen) = self.seen.get_mut(&canonical(ip)) {
            seen.half_open = seen.half_open.saturating_sub(1);
        }
    }

    /// An admitted connection from `ip` closed (`half_open`: before its handshake was done).
    pub fn closed(&mut self, ip: IpAddr, half_open: bool, now: Instant) {
        if let Some(seen) = self.seen.get_mut(&canonical(ip)) {
            seen.open = seen.open.saturating_sub(1);
            if half_open {
                seen.half_open = seen.half_open.saturating_sub(1);
            }
            seen.last = now;
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn one_address_holds_at_most_its_share_and_others_still_get_in() {
        let now = Instant::now();
        let mut book = AddressBook::new(AddressLimits {
            half_open: 100,
            ..AddressLimits::default()
        });
        for _ in 0..16 {
            book.arrive(ip(2), now).unwrap();
            book.handshake_done(ip(2));
        }
        assert_eq!(book.arrive(ip(2), now), Err(Refusal::TooManyFromAddress));
        assert_eq!(book.arrive(ip(3), now), Ok(()), "another address is not affected");
        book.closed(ip(2), false, now);
        assert_eq!(book.arrive(ip(2), now), Ok(()), "a slot freed");
    }

    #[test]
    fn half_open_connections_are_capped_apart() {
        let now = Instant::now();
        let mut book = AddressBook::default();
        for _ in 0..8 {
            book.arrive(ip(2), now).unwrap();
        }
        assert_eq!(book.arrive(ip(2), now), Err(Refusal::TooManyFromAddress));
        book.handshake_done(ip(2));
        book.arrive(ip(2), now).unwrap();
        book.closed(ip(2), true, now);
        book.arrive(ip(2), now).unwrap();
    }

    #[test]
    fn arrivals_are_rate_limited_and_closing_does_not_reset_the_rate() {
        let start = Instant::now();
        let mut book = AddressBook::default();
        let mut admitted = 0;
        for _ in 0..100 {
            if book.arrive(ip(2), start).is_ok() {
                admitted += 1;
                book.handshake_done(ip(2));
                book.closed(ip(2), false, start);
            }
        }
        assert_eq!(admitted, 30, "the burst, then nothing in the same instant");
        assert!(
            book.arrive(ip(2), start + Duration::from_secs(1)).is_ok(),
            "one a second"
        );
        // IPv4-mapped IPv6 is the same address.
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        assert_eq!(
            book.arrive(mapped, start + Duration::from_secs(1)),
            Err(Refusal::TooManyFromAddress)
        );
    }

    #[test]
    fn the_table_forgets_idle_addresses_when_it_grows() {
        let start = Instant::now();
        let mut book = AddressBook::default();
        for i in 0..SWEEP_AT as u32 {
            let ip = IpAddr::from((0x0a00_0000 + i).to_be_bytes());
            book.arrive(ip, start).unwrap();
            book.closed(ip, true, start);
        }
        assert_eq!(book.seen.len(), SWEEP_AT);
        book.arrive(ip(2), start + FORGET_AFTER).unwrap();
        assert_eq!(book.seen.len(), 1);
    }
}
