//! [`FakeClock`] and [`FixedJitter`]: time and retry jitter that a test sets.
//!
//! They implement core's [`Clock`] and [`Jitter`] ports; [`crate::World`] runs the service
//! and its bot on them, so time moves only when a test (or `World::drain`) moves it.

use std::sync::{Arc, Mutex};

use castellan_core::activity::truncate_ms;
use castellan_core::clock::{Clock, Jitter};
use chrono::{DateTime, Duration, TimeZone, Utc};

/// A clock that moves only when told. Cheap to clone: clones share the time, so a test keeps
/// one handle and gives another to the code under test.
#[derive(Debug, Clone)]
pub struct FakeClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl Default for FakeClock {
    /// 2023-11-14T22:13:20Z (Unix time 1 700 000 000).
    fn default() -> Self {
        Self::at(
            Utc.timestamp_opt(1_700_000_000, 0)
                .single()
                .unwrap_or_default(),
        )
    }
}

impl FakeClock {
    /// A clock stopped at `t` (cut to milliseconds, the stores' precision).
    pub fn at(t: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(truncate_ms(t))),
        }
    }

    /// The current fake time.
    pub fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the time (it may go backwards, as a real clock can).
    pub fn set(&self, t: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = truncate_ms(t);
    }

    /// Moves the time forward by `d` (backward when negative); returns the new time.
    pub fn advance(&self, d: Duration) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = truncate_ms(*now + d);
        *now
    }
}

/// Retry jitter pinned to one factor (clamped into the asked range), so backoff delays are
/// exact in tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl Default for FixedJitter {
    /// No jitter: factor 1.
    fn default() -> Self {
        Self(1.0)
    }
}

impl FixedJitter {
    /// The pinned factor, clamped into `[low, high]`.
    pub fn factor(&self, low: f64, high: f64) -> f64 {
        self.0.clamp(low, high)
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        FakeClock::now(self)
    }
}

impl Jitter for FixedJitter {
    fn factor(&self, low: f64, high: f64) -> f64 {
        FixedJitter::factor(self, low, high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_time() {
        let c = FakeClock::default();
        let other = c.clone();
        let t0 = c.now();
        assert_eq!(
            other.advance(Duration::seconds(90)),
            t0 + Duration::seconds(90)
        );
        assert_eq!(c.now(), t0 + Duration::seconds(90));
        c.set(t0);
        assert_eq!(other.now(), t0);
        assert_eq!(FixedJitter(5.0).factor(0.8, 1.2), 1.2);
    }
}
