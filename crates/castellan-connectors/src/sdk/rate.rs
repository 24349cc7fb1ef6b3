//! The per-hub request rate limit: with the hub setting [`REQUESTS_PER_SECOND`], the bot sends
//! at most that many requests a second to the app, shared by every worker of the process, so a
//! large listing does not trip the app's own limits. Without it, only the app's 429 answers
//! slow the bot down. GCRA (`governor`), in this process's memory: several instances each keep
//! their own budget.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use castellan_core::connector::settings::REQUESTS_PER_SECOND;
use castellan_core::connector::ConnectorContext;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// One app's request budget.
pub type Limiter = DefaultDirectRateLimiter;

/// Budgets by (base URL, requests per second).
type Budgets = HashMap<(String, u32), Arc<Limiter>>;

/// The budgets of the apps this process talks to, by base URL and rate. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    limiters: Arc<Mutex<Budgets>>,
}

/// The rate a hub asked for: its `requests_per_second` setting when it is a whole number from
/// 1 to 1000 (connect checks it), else `None` (no limit).
pub fn rate_of(ctx: &ConnectorContext) -> Option<u32> {
    ctx.setting(REQUESTS_PER_SECOND)
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| (1..=1000).contains(n))
}

impl RateLimits {
    /// The budget of `base` at `per_second` requests a second (made on first use).
    pub fn limiter(&self, base: &str, per_second: u32) -> Arc<Limiter> {
        let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        self.limiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((base.to_owned(), rate.get()))
            .or_insert_with(|| Arc::new(RateLimiter::direct(Quota::per_second(rate))))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn a_budget_spaces_requests_out() {
        let limits = RateLimits::default();
        let l = limits.limiter("http://127.0.0.1:1", 20);
        let start = Instant::now();
        for _ in 0..30 {
            l.until_ready().await;
        }
        // 20 at once (the burst), then 10 more at 20 a second: about half a second.
        assert!(
            start.elapsed() >= Duration::from_millis(400),
            "{:?}",
            start.elapsed()
        );
        assert!(Arc::ptr_eq(&l, &limits.limiter("http://127.0.0.1:1", 20)));
        assert!(!Arc::ptr_eq(&l, &limits.limiter("http://127.0.0.1:2", 20)));
    }

    #[test]
    fn the_rate_comes_from_the_hub_setting() {
        let mut ctx = ConnectorContext::new("http://a", "u", SecretString::from(String::new()));
        assert_eq!(rate_of(&ctx), None);
        ctx.settings.insert(REQUESTS_PER_SECOND.into(), "3".into());
        assert_eq!(rate_of(&ctx), Some(3));
        ctx.settings.insert(REQUESTS_PER_SECOND.into(), "0".into());
        assert_eq!(rate_of(&ctx), None);
    }
}
