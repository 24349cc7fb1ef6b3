//! Reading, exporting and verifying the activity log.

use super::Castellan;
use crate::activity::{ActivityEvent, Actor, ChainReport, ChainVerifier, NewEvent};
use crate::error::CoreResult;
use crate::permissions::Action;
use crate::ports::ActivityFilter;

/// Events read per page when verifying or exporting.
const PAGE: u32 = 1000;

impl Castellan {
    /// Events, newest first, filtered. Needs `ActivityRead`.
    pub async fn activity(
        &self,
        actor: &Actor,
        filter: ActivityFilter,
    ) -> CoreResult<Vec<ActivityEvent>> {
        self.require(actor, Action::ActivityRead)?;
        let mut f = filter;
        f.limit = Some(f.limit.unwrap_or(100).min(1000));
        self.store.events(&f).await
    }

    /// Every event matching the filter, oldest first, for CSV export (recorded as
    /// `activity.export`). Needs `ActivityRead`.
    pub async fn activity_export(
        &self,
        actor: &Actor,
        filter: ActivityFilter,
    ) -> CoreResult<Vec<ActivityEvent>> {
        self.require(actor, Action::ActivityRead)?;
        let mut f = filter;
        f.limit = Some(u32::MAX);
        let mut events = self.store.events(&f).await?;
        events.reverse();
        self.store
            .append(&NewEvent::new(actor, "activity.export"))
            .await?;
        Ok(events)
    }

    /// Walks the whole chain and the head. Needs `ActivityVerify`.
    pub async fn verify_activity(&self, actor: &Actor) -> CoreResult<ChainReport> {
        self.require(actor, Action::ActivityVerify)?;
        self.verify_activity_unchecked().await
    }

    /// Verification for host-local callers (no actor check).
    pub async fn verify_activity_unchecked(&self) -> CoreResult<ChainReport> {
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
