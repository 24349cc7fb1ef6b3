//! Liveness and readiness. `GET /api/v1/health/live` answers as long as the process serves
//! HTTP; `GET /api/v1/health/ready` runs every readiness check (the database takes a write, plus
//! the checks the host adds: the master key file, the disk, the SMTP receiver) and answers 503
//! naming the ones that failed. `GET /api/v1/health` keeps its earlier meaning (a database read).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// How long one readiness check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a readiness check failed: a short reason for the (unauthenticated) client, and the
/// detail for the log.
#[derive(Debug, Clone)]
pub struct CheckFailure {
    /// Shown in the readiness answer; names no path or internal error.
    pub public: &'static str,
    /// Logged only.
    pub private: String,
}

/// A boxed readiness check result.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), CheckFailure>> + Send + 'a>>;

/// One readiness check that the host adds to the server (see [`Readiness::with`]).
pub trait ReadinessCheck: Send + Sync + fmt::Debug {
    /// The check's name in the answer (`key_file`, `disk`, `smtp`...).
    fn name(&self) -> &'static str;
    /// Runs the check; [`CHECK_TIMEOUT`] bounds it.
    fn check(&self) -> CheckFuture<'_>;
}

/// The host's readiness checks (the database check is always run first).
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    checks: Vec<Arc<dyn ReadinessCheck>>,
}

impl Readiness {
    /// Adds a check.
    pub fn with(mut self, check: Arc<dyn ReadinessCheck>) -> Self {
        self.checks.push(check);
        self
    }
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(live))
        .routes(routes!(ready))
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Live {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness: the process serves HTTP (no authentication; touches nothing else).
#[utoipa::path(get, path = "/api/v1/health/live", tag = "setup", responses((status = 200, body = Live)))]
async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

/// One readiness check's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckOutcome {
    /// `database`, `key_file`, `disk`, `smtp`.
    pub name: &'static str,
    /// `ok` or `failed`.
    pub status: &'static str,
    /// Why it failed (absent when ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'static str>,
}

/// Readiness: every check and its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`, or `unavailable` when a check failed.
    pub status: &'static str,
    /// Each check, in order.
    pub checks: Vec<CheckOutcome>,
}

/// Readiness (no authentication): 200 when every check passed, else 503 with the failed ones
/// marked. The database check commits a one-row write, so a full disk or a locked database
/// shows here while reads still work.
#[utoipa::path(get, path = "/api/v1/health/ready", tag = "setup",
    responses((status = 200, body = Ready), (status = 503, body = Ready)))]
async fn ready(State(s): State<AppState>) -> (StatusCode, Json<Ready>) {
    let mut checks = vec![outcome("database", run(probe_database(&s)).await)];
    for c in &s.readiness.checks {
        checks.push(outcome(c.name(), run(c.check()).await));
    }
    let ok = checks.iter().all(|c| c.status == "ok");
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Ready {
        status: if ok { "ready" } else { "unavailable" },
        checks,
    };
    (status, Json(body))
}

fn probe_database(s: &AppState) -> CheckFuture<'_> {
    Box::pin(async move {
        s.svc.probe_store().await.map_err(|e| CheckFailure {
            public: "the database does not take writes",
            private: format!("{e:?}"),
        })
    })
}

async fn run(check: CheckFuture<'_>) -> Result<(), CheckFailure> {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(r) => r,
        Err(_) => Err(CheckFailure {
            public: "did not answer in time",
            private: format!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
        }),
    }
}

fn outcome(name: &'static str, r: Result<(), CheckFailure>) -> CheckOutcome {
    match r {
        Ok(()) => CheckOutcome {
            name,
            status: "ok",
            detail: None,
        },
        Err(f) => {
            tracing::warn!(check = name, error = %f.private, "readiness check failed");
            CheckOutcome {
                name,
                status: "failed",
                detail: Some(f.public),
            }
        }
    }
}
