//! Resumable listing: a check for updates keeps each page it lists
//! ([`crate::ports::JobStore::save_listed_page`]), so that when it is interrupted on page N (a
//! 429 past the in-call retries, a restart, a lost lease) its retry resumes at page N instead of
//! listing the app again from the start. Kept pages older than [`RESUME_WITHIN`] are listed
//! again (members may have changed since); the pages are forgotten once the listing is complete.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;

use super::{Bot, Failure};
use crate::catalog::Capability;
use crate::connector::{AppMember, AppSession, Connector, ConnectorContext};
use crate::hub::Job;
use crate::ports::ListedPage;

/// How old the kept pages of an interrupted listing may be for a retry to resume from them.
pub const RESUME_WITHIN: Duration = Duration::minutes(15);

impl Bot {
    /// The app's own roles (values), most privileged first, when the connector reads them from
    /// the app (`Capability::ListRoles` among `caps`, the discovered capabilities); empty
    /// otherwise.
    pub(super) async fn app_roles(
        &self,
        c: &Arc<dyn Connector>,
        ctx: &ConnectorContext,
        s: &AppSession,
        caps: &[Capability],
    ) -> Result<Vec<String>, Failure> {
        if !caps.contains(&Capability::ListRoles) {
            return Ok(vec![]);
        }
        Ok(c.list_roles(ctx, s)
            .await?
            .into_iter()
            .map(|r| r.role)
            .collect())
    }

    /// Every member of the app, page by page, resuming from the job's kept pages when they
    /// are recent and contiguous. A member listed twice (the app moved while paging) counts once,
    /// as its latest listing shows it.
    pub(super) async fn list_all(
        &self,
        job: &mut Job,
        c: &Arc<dyn Connector>,
        ctx: &ConnectorContext,
        s: &AppSession,
    ) -> Result<Vec<AppMember>, Failure> {
        let store = &self.svc.store;
        let now = self.now();
        let mut kept = store.listed_pages(job.id).await?;
        let usable = kept.iter().enumerate().all(|(i, p)| {
            i64::try_from(i).is_ok_and(|i| i == p.page) && now - p.listed_at < RESUME_WITHIN
        });
        if !usable || kept.last().is_some_and(|p| p.next.is_none()) {
            store.clear_listed_pages(job.id).await?;
            kept.clear();
        }
        let mut page_no = i64::try_from(kept.len()).unwrap_or(i64::MAX);
        let mut cursor = kept.last().and_then(|p| p.next.clone());
        let mut members: Vec<AppMember> = kept.into_iter().flat_map(|p| p.members).collect();
        if page_no > 0 {
            tracing::info!(job_id = %job.id, pages = page_no, "resuming an interrupted listing");
        }
        loop {
            let page = c.list_members(ctx, s, cursor).await?;
            let next = page.next.clone();
            if next.is_some() {
                store
                    .save_listed_page(
                        job.id,
                        &ListedPage {
                            page: page_no,
                            members: page.members.clone(),
                            next: next.clone(),
                            listed_at: self.now(),
                        },
                    )
                    .await?;
            }
            members.extend(page.members);
            page_no += 1;
            self.progress(job, format!("listed {} members", members.len()))
                .await?;
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        store.clear_listed_pages(job.id).await?;
        // The latest listing of a member wins.
        let mut seen = HashSet::new();
        let mut unique: Vec<AppMember> = members
            .into_iter()
            .rev()
            .filter(|m| seen.insert(m.app_member_id.clone()))
            .collect();
        unique.reverse();
        Ok(unique)
    }
}
