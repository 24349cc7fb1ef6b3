//! Ports for time and randomness, so that core's rules can run under a fake clock in tests.
//!
//! Core reads the time only through [`Clock`] (the service holds one; free functions take
//! `now` as a parameter). Randomness that tests need to pin — the retry jitter of bot jobs —
//! goes through [`Jitter`]. Secrets (tokens, keys, passwords) stay OS-random and have no port.

use chrono::{DateTime, Utc};

/// The time source. `now` is a UTC instant; core truncates it to milliseconds (the stores'
/// precision) where it is stored.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock: the one shipping builds use.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The source of retry jitter: a factor drawn uniformly from `[low, high]` (for example
/// `0.8..=1.2` for ±20%).
pub trait Jitter: Send + Sync + std::fmt::Debug {
    /// A factor in `[low, high]`; `low <= high`.
    fn factor(&self, low: f64, high: f64) -> f64;
}

/// Jitter from the thread-local RNG (seeded by the OS): the one shipping builds use.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadJitter;

impl Jitter for ThreadJitter {
    fn factor(&self, low: f64, high: f64) -> f64 {
        use rand::Rng;
        rand::thread_rng().gen_range(low..=high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_jitter_stays_in_range() {
        for _ in 0..1000 {
            let f = ThreadJitter.factor(0.8, 1.2);
            assert!((0.8..=1.2).contains(&f), "{f}");
        }
        assert_eq!(ThreadJitter.factor(1.0, 1.0), 1.0);
    }
}
