//! A token bucket: so many events a second on average, with bursts up to a bound. Plain Rust
//! on the std clock (the page's in a browser, through Bevy's `Instant`), so rules can use it
//! with a manual clock.

use bevy::platform::time::Instant;

/// Allows `per_second` events on average with bursts up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self::starting_at(per_second, burst, Instant::now())
    }

    /// A full bucket at `now`.
    pub fn starting_at(per_second: f64, burst: f64, now: Instant) -> Self {
        Self {
            per_second,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Whether the bucket has refilled to its burst by `now` (nothing to remember).
    pub fn full_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.burst
    }

    /// Takes `n` tokens at `now` if that many are left.
    pub fn take_many_at(&mut self, now: Instant, n: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Whether a token would be left at `now` (takes none).
    pub fn has_at(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        (self.tokens + elapsed * self.per_second).min(self.burst) >= 1.0
    }

    /// Takes a token at `now` if one is left.
    pub fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn token_bucket_allows_bursts_then_the_sustained_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::starting_at(10.0, 5.0, start);
        assert!(bucket.has_at(start));
        assert!((0..5).all(|_| bucket.take_at(start)));
        assert!(!bucket.has_at(start), "looking takes nothing, and finds none");
        assert!(!bucket.take_at(start));
        assert!(bucket.take_at(start + Duration::from_millis(100)));
        assert!(!bucket.take_at(start + Duration::from_millis(100)));
        // Long idleness refills to the burst, not beyond.
        let later = start + Duration::from_secs(60);
        assert!((0..5).all(|_| bucket.take_at(later)));
        assert!(!bucket.take_at(later));
    }
}
