//! The steps a connector takes during a job, for the job's record in the automation log: what
//! it did, the URL it ended on and (browser connectors) a screenshot of the page.
//!
//! The bot hands each call a [`StepRecorder`] in [`super::ConnectorContext::steps`]; the
//! browser SDK records every page it loads and the page of a failing step. The bot's recorder
//! seals each step under the automation account's vault data key before it reaches the store
//! (a URL may carry a token, a screenshot may show personal data), and drops the screenshots of
//! a job that completed. Recording never fails a call: a step the store cannot keep is logged
//! and skipped.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hub::JobId;

/// One step as a connector reports it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedStep {
    /// What it did, e.g. `visit /wp-admin/users.php` or `submit #createusersub`.
    pub what: String,
    /// The URL the page showed after it.
    pub url: String,
    /// Why it failed, for the failing step of a call.
    pub error: Option<String>,
    /// A PNG of the page after it (browser connectors).
    pub screenshot: Option<Vec<u8>>,
}

impl std::fmt::Debug for RecordedStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedStep")
            .field("what", &self.what)
            .field("error", &self.error)
            .field("screenshot", &self.screenshot.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// Where a connector reports its steps (the bot's implementation keeps them in the job's
/// record, sealed). Never fails: recording is best effort.
#[async_trait]
pub trait StepRecorder: Send + Sync + std::fmt::Debug {
    /// Records `step` as the job's next one.
    async fn record(&self, step: RecordedStep);
}

/// A step of a job's record, as the automation log shows it (the screenshot is fetched on its
/// own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStep {
    /// The job.
    pub job_id: JobId,
    /// Its place in the job's record, from 1.
    pub seq: i64,
    /// The job's attempt that took it, from 1.
    pub attempt: i32,
    /// When.
    pub at: DateTime<Utc>,
    /// What it did.
    pub what: String,
    /// The URL the page showed after it.
    pub url: String,
    /// Why it failed, for a failing step.
    pub error: Option<String>,
    /// Whether a screenshot is kept (screenshots of completed jobs are dropped).
    pub screenshot: bool,
}
