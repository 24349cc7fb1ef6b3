//! The [`Activity`] capability: reading, exporting and verifying the activity log.

use super::Activity;
#[cfg(doc)]
use crate::activity::Actor;
use crate::activity::{ActivityAction, ActivityEvent, ChainReport, ChainVerifier, NewEvent};
use crate::error::CoreResult;
use crate::permissions::{can, Permit};
use crate::ports::ActivityFilter;

/// Events read per page when verifying or exporting.
const PAGE: u32 = 1000;

impl Activity<'_> {
    /// Events, newest first, filtered; at most `filter.limit` (default 100, at most 1,000).
    pub async fn list(
        &self,
        _: &Permit<can::ActivityRead>,
        filter: ActivityFilter,
    ) -> CoreResult<Vec<ActivityEvent>> {
        let mut f = filter;
        f.limit = Some(f.limit.unwrap_or(100).min(1000));
        self.store.events(&f).await
    }

    /// Every event matching the filter, oldest first, for CSV export (recorded as
    /// `activity.export`).
    pub async fn export(
        &self,
        p: &Permit<can::ActivityRead>,
        filter: ActivityFilter,
    ) -> CoreResult<Vec<ActivityEvent>> {
        let mut f = filter;
        f.limit = Some(u32::MAX);
        let mut events = self.store.events(&f).await?;
        events.reverse();
        self.store
            .append(&NewEvent::new(
                p.actor(),
                ActivityAction::ActivityExport,
                self.now(),
            ))
            .await?;
        Ok(events)
    }

    /// Walks the whole chain and checks it against the head (host-local callers pass a
    /// [`Actor::system`] permit). Tampering shows in the report, not as an error; errors are
    /// the store's.
    pub async fn verify(&self, _: &Permit<can::ActivityVerify>) -> CoreResult<ChainReport> {
        // Read the head first: events appended during the walk are past it and not checked.
        let head = self.store.chain_head().await?;
        let mut v = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = self.store.events_after(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in page.iter().filter(|e| e.seq <= head.seq) {
                v.push(e);
            }
            if after >= head.seq {
                break;
            }
        }
        Ok(v.finish(&head))
    }
}
