//! The suite's cases and what they share: the connector under test, its signed-in session, the
//! seeded members, unique emails, and the engine's way of retrying an invitation.

mod faults;
mod members;
mod resources;
mod sign_in;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use castellan_core::connector::{
    AppMember, AppSession, Connector, ConnectorContext, ConnectorError, ConnectorInfo, Invitation,
    MemberState,
};
use futures::FutureExt;
use tokio::sync::OnceCell;

use crate::harness::{list_all, unique};
use crate::report::{CaseResult, Outcome, Report};
use crate::Fixture;

/// The email prefix of the members the listing case seeds ([`Fixture::seed_members`]).
pub const SEED_PREFIX: &str = "conformance_page_";

/// Every case, in the order [`run`] runs them.
pub const CASES: &[&str] = &[
    "sign-in",
    "sign-in with a wrong password",
    "sign-in without admin rights",
    "permission probe",
    "bad base URL",
    "listing over pages",
    "get and find by email",
    "unknown member",
    "invite",
    "invite with a taken username",
    "invite with bad input",
    "role changes",
    "remove",
    "invite again after removal",
    "resource roles",
    "fault: 429 on listing",
    "fault: 429 until a date on listing",
    "fault: 503 on a write",
    "fault: reset before a write",
    "fault: reset after a write",
    "fault: slow answer",
    // Last: a connector that fails it may have demoted its own account.
    "automation account protects itself",
];

/// The longest one case may take.
const CASE_TIMEOUT: Duration = Duration::from_secs(300);
/// How many times the engine-like helper tries an invitation in all.
const ATTEMPTS: usize = 4;
/// An app member id no app has (the suite's "unknown member").
pub(crate) const UNKNOWN_ID: &str = "999999999";

/// Runs every case against `f`'s connector and real app, one after the other, prints the report
/// ([`Report::print`]) and returns it.
///
/// Panics, listing the failed cases and their messages, when any case failed.
pub async fn run<F: Fixture>(f: &F) -> Report {
    let suite = Suite::new(f);
    let mut report = Report::new(&suite.info.name);
    for name in CASES {
        let started = Instant::now();
        let outcome = run_case(&suite, name).await;
        report.cases.push(CaseResult {
            case: (*name).to_owned(),
            outcome,
            millis: started.elapsed().as_millis(),
        });
    }
    report.print();
    let failures = report.failures();
    if !failures.is_empty() {
        let list: Vec<String> = failures
            .iter()
            .map(|(c, m)| format!("- {c}: {m}"))
            .collect();
        panic!(
            "{} case(s) failed:\n{}\n{}",
            failures.len(),
            list.join("\n"),
            report.summary()
        );
    }
    report
}

async fn run_case(s: &Suite<'_>, name: &str) -> Outcome {
    let case = async {
        match name {
            "sign-in" => sign_in::good(s).await,
            "sign-in with a wrong password" => sign_in::wrong_secret(s).await,
            "sign-in without admin rights" => sign_in::non_admin(s).await,
            "permission probe" => sign_in::permission_probe(s).await,
            "bad base URL" => sign_in::bad_base_url(s).await,
            "listing over pages" => members::listing(s).await,
            "get and find by email" => members::lookup(s).await,
            "unknown member" => members::unknown(s).await,
            "invite" => members::invite(s).await,
            "invite with a taken username" => members::taken_username(s).await,
            "invite with bad input" => members::bad_input(s).await,
            "role changes" => members::roles(s).await,
            "remove" => members::remove(s).await,
            "invite again after removal" => members::reinvite(s).await,
            "automation account protects itself" => members::protects_itself(s).await,
            "resource roles" => resources::grant_and_revoke(s).await,
            "fault: 429 on listing" => faults::rate_limited_listing(s).await,
            "fault: 429 until a date on listing" => {
                faults::rate_limited_listing_until_a_date(s).await
            }
            "fault: 503 on a write" => faults::unavailable_write(s).await,
            "fault: reset before a write" => faults::reset_before_write(s).await,
            "fault: reset after a write" => faults::reset_after_write(s).await,
            "fault: slow answer" => faults::slow_answer(s).await,
            other => Err(Stop::Failed(format!("the suite has no case {other:?}"))),
        }
    };
    match tokio::time::timeout(CASE_TIMEOUT, AssertUnwindSafe(case).catch_unwind()).await {
        Err(_) => Outcome::Failed(format!("did not finish in {} s", CASE_TIMEOUT.as_secs())),
        Ok(Err(panic)) => Outcome::Failed(format!("panicked: {}", panic_message(&*panic))),
        Ok(Ok(Ok(()))) => Outcome::Passed,
        Ok(Ok(Err(Stop::Unsupported(why)))) => Outcome::Unsupported(why),
        Ok(Ok(Err(Stop::Failed(why)))) => Outcome::Failed(why),
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Why a case stopped before passing.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The connector or the fixture does not have what the case needs.
    Unsupported(String),
    /// The connector broke the contract.
    Failed(String),
}

/// What a case returns.
pub(crate) type Check = Result<(), Stop>;

/// Fails the case with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::cases::Stop::Failed(format!($($msg)+)));
        }
    };
}
pub(crate) use ensure;

/// Fails the case unless `$result` is an error matching `$kind` (a `ConnectorError` variant's
/// pattern); the rest says what was done, for the message.
macro_rules! expect_err {
    ($result:expr, $kind:pat, $($what:tt)+) => {
        match $result {
            Err($kind) => {}
            other => {
                return Err($crate::cases::Stop::Failed(format!(
                    "{} gave {:?}, not {}",
                    format!($($what)+),
                    other,
                    stringify!($kind)
                )))
            }
        }
    };
}
pub(crate) use expect_err;

/// Turns a connector's answer into the case's: an error fails the case, naming the call.
pub(crate) trait OrFail<T> {
    /// The value, or a failure saying `what` went wrong.
    fn or_fail(self, what: &str) -> Result<T, Stop>;
}

impl<T> OrFail<T> for Result<T, ConnectorError> {
    fn or_fail(self, what: &str) -> Result<T, Stop> {
        self.map_err(|e| Stop::Failed(format!("{what}: {e:?}")))
    }
}

impl<T> OrFail<T> for Option<T> {
    fn or_fail(self, what: &str) -> Result<T, Stop> {
        self.ok_or_else(|| Stop::Failed(format!("{what}: nothing")))
    }
}

/// The run's shared state: the fixture, the connector and its description, the automation
/// account's context on the real app and its session (signed in once).
pub(crate) struct Suite<'f> {
    pub(crate) f: &'f dyn Fixture,
    pub(crate) c: Arc<dyn Connector>,
    pub(crate) info: ConnectorInfo,
    pub(crate) base: String,
    pub(crate) ctx: ConnectorContext,
    run_id: String,
    counter: AtomicUsize,
    session: OnceCell<AppSession>,
    seeded: OnceCell<Vec<String>>,
}

impl<'f> Suite<'f> {
    fn new(f: &'f dyn Fixture) -> Self {
        let c = f.connector();
        let base = f.base_url();
        Self {
            info: c.describe(),
            ctx: f.context(&base),
            c,
            f,
            base,
            run_id: unique(),
            counter: AtomicUsize::new(0),
            session: OnceCell::new(),
            seeded: OnceCell::new(),
        }
    }

    /// The automation account's session on the real app (signed in on first use).
    pub(crate) async fn session(&self) -> Result<&AppSession, Stop> {
        self.session
            .get_or_try_init(|| async {
                self.c
                    .login(&self.ctx)
                    .await
                    .or_fail("the automation account signs in")
            })
            .await
    }

    /// The members seeded for listing, their emails (seeded on first use).
    pub(crate) async fn seeded(&self) -> Result<&[String], Stop> {
        let n = self.f.listing_size();
        let emails = self
            .seeded
            .get_or_init(|| self.f.seed_members(SEED_PREFIX, n))
            .await;
        ensure!(
            emails.len() == n,
            "the fixture seeded {} members, not {n}",
            emails.len()
        );
        Ok(emails)
    }

    /// A new email no other case or run uses: `conf_<tag>_<unique><nnn>@<domain>`; its local
    /// part is the member's tag (see [`Suite::tagged`]), none a prefix of another.
    pub(crate) fn email(&self, tag: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "conf_{tag}_{}{n:03}@{}",
            self.run_id,
            self.f.email_domain().trim_start_matches('@')
        )
    }

    /// An invitation of `email` with `role`, no username, and the email's local part (the tag)
    /// in the name.
    pub(crate) fn invitation(&self, email: &str, role: &str) -> Invitation {
        Invitation {
            email: email.to_owned(),
            username: None,
            name: Some(format!("Conformance {}", local_part(email))),
            role: role.to_owned(),
        }
    }

    /// Invites a new member with `role` (email tagged with `tag`) and checks what the connector
    /// answers: the email (lowercase), the role, an active or invited state.
    pub(crate) async fn invite_new(&self, tag: &str, role: &str) -> Result<AppMember, Stop> {
        let s = self.session().await?;
        let email = self.email(tag);
        let m = self
            .c
            .invite(&self.ctx, s, &self.invitation(&email, role))
            .await
            .or_fail(&format!("invite {email} as {role}"))?;
        check_invited(&m, &email, role)?;
        Ok(m)
    }

    /// Every member whose email, id or name holds `email`'s tag (its local part): one for a
    /// member invited once, however many attempts it took. Lists every member.
    pub(crate) async fn tagged(&self, email: &str) -> Result<Vec<AppMember>, Stop> {
        let s = self.session().await?;
        let tag = local_part(email).to_lowercase();
        let (all, _) = list_all(&*self.c, &self.ctx, s)
            .await
            .or_fail("list every member")?;
        let holds = |v: Option<&str>| v.is_some_and(|v| v.to_lowercase().contains(&tag));
        Ok(all
            .into_iter()
            .filter(|m| {
                holds(m.email.as_deref())
                    || holds(Some(&m.app_member_id))
                    || holds(m.name.as_deref())
            })
            .collect())
    }

    /// Fails unless exactly one member carries `email`'s tag (and it has that email).
    pub(crate) async fn exactly_one(&self, email: &str) -> Check {
        let found = self.tagged(email).await?;
        let ids: Vec<&str> = found.iter().map(|m| m.app_member_id.as_str()).collect();
        ensure!(
            found.len() == 1,
            "{} members for {email} after the invitation, not one: {ids:?}",
            found.len()
        );
        ensure!(
            found[0].email.as_deref() == Some(email),
            "the member for {email} has the email {:?}",
            found[0].email
        );
        Ok(())
    }

    /// Removes a member a case made, when the case is done with it (errors ignored: the app is a
    /// test instance, and a later run uses other emails).
    pub(crate) async fn clean_up(&self, m: &AppMember) {
        if let Ok(s) = self.session().await {
            let _best_effort = self.c.remove(&self.ctx, s, &m.app_member_id).await;
        }
    }

    /// The role to ask for besides the default one: the first other role the connector
    /// declares, or the default when it declares only one.
    pub(crate) fn other_role(&self) -> String {
        self.info
            .roles
            .iter()
            .find(|r| **r != self.info.default_role)
            .unwrap_or(&self.info.default_role)
            .clone()
    }
}

/// The part of an email before its last `@`.
pub(crate) fn local_part(email: &str) -> &str {
    email.rsplit_once('@').map_or(email, |(l, _)| l)
}

/// Fails unless `m` is what inviting `email` as `role` should give.
pub(crate) fn check_invited(m: &AppMember, email: &str, role: &str) -> Check {
    let lower = email.to_lowercase();
    ensure!(
        !m.app_member_id.is_empty(),
        "the invited member has no app id"
    );
    ensure!(
        m.email.as_deref() == Some(lower.as_str()),
        "invited {email}, the member's email is {:?}",
        m.email
    );
    ensure!(
        m.roles.iter().any(|r| r == role),
        "invited as {role}, the member's roles are {:?}",
        m.roles
    );
    ensure!(
        matches!(m.state, MemberState::Active | MemberState::Invited),
        "a new member is {:?}, not active or invited",
        m.state
    );
    Ok(())
}

/// Invites as the engine does when a job is retried: it re-reads first (the member found by
/// email is the outcome), invites only when nobody has the email, and tries again after a
/// retryable error (`RateLimited`, `Unavailable`), at most [`ATTEMPTS`] times.
pub(crate) async fn invite_like_the_engine(
    c: &dyn Connector,
    ctx: &ConnectorContext,
    s: &AppSession,
    inv: &Invitation,
) -> Result<AppMember, Stop> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let attempt = async {
            if let Some(m) = c.find_by_email(ctx, s, &inv.email).await? {
                return Ok(m);
            }
            c.invite(ctx, s, inv).await
        };
        match attempt.await {
            Ok(m) => return Ok(m),
            Err(e) if e.is_retryable() => {
                let wait = match &e {
                    ConnectorError::RateLimited {
                        retry_after: Some(d),
                    } => (*d).min(Duration::from_secs(5)),
                    _ => Duration::from_millis(300),
                };
                last = Some(e);
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(Stop::Failed(format!("invite {}: {e:?}", inv.email))),
        }
    }
    Err(Stop::Failed(format!(
        "invite {}: still failing after {ATTEMPTS} attempts: {last:?}",
        inv.email
    )))
}

/// Runs `f` and returns its result with how long it took.
pub(crate) async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let out = f.await;
    (out, started.elapsed())
}
