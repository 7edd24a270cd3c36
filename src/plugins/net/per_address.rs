//! Per-address limits at the door: open connections, connections still in their handshake,
//! and new connections per minute, for each peer address (IPv4-mapped IPv6 counted as IPv4).
//! Plain Rust with a manual clock; the accept loop holds it behind a mutex.
// The book is the server's; a browser, only ever a client, keeps the limits' type (a field of
// `NetConfig`) and none of the rest.
#![cfg_attr(target_arch = "wasm32", allow(dead_code))]

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use bevy::platform::time::Instant;

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

impl AddressLimits {
    /// `connections` open at once and `per_minute` new ones from one address; the handshakes
    /// and bursts allowed grow with them (half of each, never below the defaults).
    pub fn with(connections: usize, per_minute: f64) -> Self {
        let defaults = Self::default();
        Self {
            connections,
            half_open: (connections / 2).max(defaults.half_open).min(connections),
            per_minute,
            burst: (per_minute / 2.0).max(defaults.burst),
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
/// The most addresses remembered at once (about 100 bytes each).
const MAX_REMEMBERED: usize = 65_536;

#[derive(Debug, Default)]
pub struct AddressBook {
    limits: AddressLimits,
    seen: HashMap<IpAddr, Seen>,
    /// The table's size that brings the next sweep, and the earliest time for it: a sweep
    /// reads the whole table, so it comes after the table doubles, at most once a second.
    sweep_at: usize,
    next_sweep: Option<Instant>,
}

impl AddressBook {
    pub fn new(limits: AddressLimits) -> Self {
        Self {
            limits,
            seen: HashMap::new(),
            sweep_at: SWEEP_AT,
            next_sweep: None,
        }
    }

    /// A connection arrived from `ip`: admitted (counted open and half-open until
    /// [`AddressBook::handshake_done`] and [`AddressBook::closed`]) or refused.
    pub fn arrive(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        if self.seen.len() >= self.sweep_at.max(SWEEP_AT) && self.next_sweep.is_none_or(|t| now >= t) {
            self.seen
                .retain(|_, s| s.open > 0 || now.saturating_duration_since(s.last) < FORGET_AFTER);
            self.sweep_at = (self.seen.len() * 2).clamp(SWEEP_AT, MAX_REMEMBERED);
            self.next_sweep = Some(now + Duration::from_secs(1));
        }
        // Still full of recent addresses: a newcomer is refused rather than remembered.
        if self.seen.len() >= MAX_REMEMBERED && !self.seen.contains_key(&address_key(ip)) {
            return Err(Refusal::ServerFull);
        }
        let limits = &self.limits;
        let seen = self.seen.entry(address_key(ip)).or_insert_with(|| Seen {
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
        if let Some(seen) = self.seen.get_mut(&address_key(ip)) {
            seen.half_open = seen.half_open.saturating_sub(1);
        }
    }

    /// An admitted connection from `ip` closed (`half_open`: before its handshake was done).
    pub fn closed(&mut self, ip: IpAddr, half_open: bool, now: Instant) {
        if let Some(seen) = self.seen.get_mut(&address_key(ip)) {
            seen.open = seen.open.saturating_sub(1);
            if half_open {
                seen.half_open = seen.half_open.saturating_sub(1);
            }
            seen.last = now;
        }
    }
}

/// The key an address is limited by: IPv4 as is (IPv4-mapped IPv6 counted as IPv4), IPv6 by
/// its /64 network, which one host or household usually holds whole (counting each of its
/// 2^64 addresses apart would make every limit, and the tables behind them, meaningless).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
        v4 => v4,
    }
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
    fn the_limits_scale_from_their_flags() {
        assert_eq!(AddressLimits::with(16, 60.0), AddressLimits::default());
        let class = AddressLimits::with(64, 300.0);
        assert_eq!((class.connections, class.half_open, class.burst), (64, 32, 150.0));
        let strict = AddressLimits::with(2, 10.0);
        assert_eq!((strict.connections, strict.half_open, strict.burst), (2, 2, 30.0));
        // A classroom of 40 behind one address gets in with the raised limit.
        let mut book = AddressBook::new(AddressLimits::with(64, 300.0));
        let now = Instant::now();
        for _ in 0..40 {
            book.arrive(ip(1), now).unwrap();
            book.handshake_done(ip(1));
        }
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
    fn ipv6_is_limited_by_its_64_network_and_the_table_stays_bounded() {
        let now = Instant::now();
        let mut book = AddressBook::new(AddressLimits {
            half_open: 100,
            ..AddressLimits::default()
        });
        // Sixteen connections from one /64, each from an address of its own.
        for host in 0..16u128 {
            let ip = IpAddr::V6((0x2001_0db8_0000_0001_u128 << 64 | host).into());
            book.arrive(ip, now).unwrap();
        }
        let another_host = IpAddr::V6((0x2001_0db8_0000_0001_u128 << 64 | 999).into());
        assert_eq!(book.arrive(another_host, now), Err(Refusal::TooManyFromAddress));
        // Addresses sprayed faster than they are forgotten: remembered up to the cap, then
        // newcomers are refused as if full.
        for i in 0..MAX_REMEMBERED as u32 {
            let _ = book.arrive(IpAddr::from((0x0b00_0000 + i).to_be_bytes()), now);
        }
        assert!(book.seen.len() <= MAX_REMEMBERED);
        assert_eq!(
            book.arrive(IpAddr::from([12, 0, 0, 1]), now),
            Err(Refusal::ServerFull)
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
