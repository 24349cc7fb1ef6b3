//! The invite phase (issue 13): the time of one `invite_member` job, as a hub share causes it.
//!
//! N new people (`bench_inv_<unix time>_<i>@example.com`, unique per run) are invited to the
//! workspace and given the hub as `subscriber` (`Hubs::share`, as `castellan hub share` does).
//! The shares queue a check for updates, which plans one `invite_member` job per person; the bot
//! then runs every queued job with `Bot::run_one`, one at a time, and each run is timed from the
//! claim to the job's end: the job re-reads the app (the member by email), then invites through
//! the connector (role, email and username checks, the creation and its answer) and stores the
//! member. The check for updates that planned them is timed too, apart. Each invitation is
//! checked: the job completed, and the hub's members hold every invitee as an onboarded
//! `subscriber`. Afterwards the app's bench deletes the invitees ([`super::BenchApp::clean_up`]).

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use castellan_core::hub::{Job, JobState, Matching, Task};
use castellan_core::model::WorkspaceRole;
use castellan_core::ports::JobFilter;
use castellan_core::service::{InvitePerson, ShareHub};

use super::{secs, CastellanBench, Stats};

/// The app role every invitee is given.
const ROLE: &str = "subscriber";

/// What the invite phase measured.
pub struct Invites {
    /// The wall time of each `invite_member` job.
    pub each: Vec<Duration>,
    /// The wall time of each check for updates the shares queued (that planned the jobs).
    pub planning: Vec<Duration>,
}

impl CastellanBench {
    /// Shares the hub with `n` new people and runs the jobs that follow, timing each (see the
    /// module's documentation). Errors: a job that does not complete, fewer than `n`
    /// invitations planned, or an invitee missing from the hub's members afterwards.
    pub async fn run_invites(&self, n: usize) -> Result<Invites> {
        let tag = chrono::Utc::now().timestamp();
        let mut emails = BTreeSet::new();
        for i in 0..n {
            let email = format!("bench_inv_{tag}_{i:03}@example.com");
            let person = self
                .svc
                .people()
                .invite(
                    &self.owner.permit()?,
                    InvitePerson {
                        email: email.clone(),
                        name: format!("Invited Person {i}"),
                        role: WorkspaceRole::User,
                        external_id: None,
                    },
                )
                .await?
                .person;
            let share = ShareHub {
                hub_role: None,
                app_role: Some(ROLE.into()),
                resource_roles: None,
            };
            self.svc
                .hubs()
                .share(&self.owner.permit()?, self.hub, person.id, share)
                .await?;
            emails.insert(email);
        }
        let mut out = Invites {
            each: vec![],
            planning: vec![],
        };
        let mut ended: HashSet<_> = self.ended_jobs().await?.into_iter().map(|j| j.id).collect();
        // Every share may queue a check for updates; at most one waits at a time.
        for _ in 0..n * 2 + 10 {
            let t = Instant::now();
            let ran = self.bot.run_one().await?;
            let took = t.elapsed();
            if !ran {
                break;
            }
            let now: Vec<Job> = self.ended_jobs().await?;
            for job in now.into_iter().filter(|j| ended.insert(j.id)) {
                ensure!(
                    job.state == JobState::Completed,
                    "the {} job did not complete ({}): {}",
                    job.task,
                    job.state,
                    job.error.unwrap_or_default()
                );
                match job.task {
                    Task::InviteMember => out.each.push(took),
                    Task::CheckForUpdates => out.planning.push(took),
                    other => bail!("the shares led to a {other} job"),
                }
            }
        }
        ensure!(
            out.each.len() == n,
            "{} invitations ran, not {n}",
            out.each.len()
        );
        let members = self
            .svc
            .hubs()
            .members(&self.owner.permit()?, self.hub, None)
            .await?;
        let onboarded = members
            .iter()
            .filter(|m| m.email.as_ref().is_some_and(|e| emails.contains(e)))
            .filter(|m| m.matching == Matching::Onboarded && m.app_role.as_deref() == Some(ROLE))
            .count();
        ensure!(
            onboarded == n,
            "{onboarded} of the {n} invitees are onboarded {ROLE}s on the hub"
        );
        Ok(out)
    }

    /// The hub's jobs that ended or wait to retry, newest first.
    async fn ended_jobs(&self) -> Result<Vec<Job>> {
        let f = JobFilter {
            hub_id: Some(self.hub),
            states: Some(vec![
                JobState::Completed,
                JobState::NotCompleted,
                JobState::NeedsAttention,
                JobState::Retrying,
            ]),
            // The most the service gives; a bench hub has far fewer.
            limit: Some(1000),
        };
        Ok(self.svc.hubs().jobs(&self.owner.permit()?, f).await?)
    }
}

/// Prints the invite phase's table: `row` names Castellan's variant.
pub fn report(inv: &Invites, row: &str) {
    let s = Stats::of(&inv.each);
    println!();
    println!(
        "| {} invitation(s), one at a time | median | min | max |",
        inv.each.len()
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| {row} | {} | {} | {} |",
        secs(s.median),
        secs(s.min),
        secs(s.max)
    );
    if !inv.planning.is_empty() {
        let p = Stats::of(&inv.planning);
        println!(
            "(the check(s) for updates that planned them, not in the table: {} run(s), median {})",
            inv.planning.len(),
            secs(p.median)
        );
    }
}
