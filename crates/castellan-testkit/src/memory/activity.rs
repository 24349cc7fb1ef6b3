//! The activity log: appends go through [`super::Chain::append`] (core's chaining rule).

use async_trait::async_trait;
use castellan_core::activity::{log_due, truncate_ms, ActivityEvent, ChainHead, NewEvent};
use castellan_core::ports::{ActivityFilter, ActivityStore};
use castellan_core::CoreResult;

use super::MemoryStore;

fn matches(e: &ActivityEvent, f: &ActivityFilter) -> bool {
    f.action.as_deref().is_none_or(|a| e.action.starts_with(a))
        && f.actor_id
            .as_deref()
            .is_none_or(|a| e.actor_id.as_deref() == Some(a))
        && f.target_id
            .as_deref()
            .is_none_or(|t| e.target_id.as_deref() == Some(t))
        && f.since.is_none_or(|s| e.at >= truncate_ms(s))
        && f.until.is_none_or(|u| e.at < truncate_ms(u))
        && f.before_seq.is_none_or(|b| e.seq < b)
}

#[async_trait]
impl ActivityStore for MemoryStore {
    async fn append(&self, event: &NewEvent) -> CoreResult<ActivityEvent> {
        let ((), mut sealed) = self.write_sealed(|tx| {
            tx.append(event);
            Ok(())
        })?;
        Ok(sealed.remove(0))
    }

    async fn append_throttled(
        &self,
        event: &NewEvent,
        window: chrono::Duration,
    ) -> CoreResult<bool> {
        let (Some(token), Some(target)) = (&event.token_id, &event.target_id) else {
            self.append(event).await?;
            return Ok(true);
        };
        self.write(|tx| {
            let last = tx
                .chain()
                .iter()
                .filter(|e| {
                    e.target_id.as_ref() == Some(target)
                        && e.token_id.as_ref() == Some(token)
                        && e.action == event.action
                })
                .map(|e| e.at)
                .max();
            let due = log_due(last, event.at, window);
            if due {
                tx.append(event);
            }
            Ok(due)
        })
    }

    /// Newest first. `action` is a prefix (case-sensitive); `limit` defaults to 100,
    /// `u32::MAX` means all.
    async fn events(&self, f: &ActivityFilter) -> CoreResult<Vec<ActivityEvent>> {
        let limit = f.limit.unwrap_or(100) as usize;
        self.read_chain(|c| {
            c.events
                .iter()
                .rev()
                .filter(|e| matches(e, f))
                .take(limit)
                .cloned()
                .collect()
        })
    }

    async fn events_after(&self, after: i64, limit: u32) -> CoreResult<Vec<ActivityEvent>> {
        self.read_chain(|c| {
            c.events
                .iter()
                .filter(|e| e.seq > after)
                .take(limit as usize)
                .cloned()
                .collect()
        })
    }

    async fn chain_head(&self) -> CoreResult<ChainHead> {
        self.read_chain(|c| c.head.clone())
    }
}
