//! Faults between the connector and the real app, through the [`FaultProxy`]: a 429 with
//! `Retry-After` on a listing (as seconds and as an HTTP-date), and a 503, a connection reset (before the app saw the write, and
//! after it carried it out) and a slow answer on an invitation's write. After each, the app has
//! exactly one member for the invited email and the proxy saw no write carried out twice.

use std::time::Duration;

use castellan_core::connector::{AppSession, ConnectorContext, ConnectorError};

use super::{check_invited, ensure, invite_like_the_engine, timed, Check, OrFail, Stop, Suite};
use crate::fault_proxy::{Fault, FaultProxy, ANY_READ, ANY_WRITE};

/// The wait a 429 asks for, in seconds.
const RETRY_AFTER_SECS: u64 = 1;
/// How long the slow answer is held at most (less when the context's timeout is short).
const SLOW: Duration = Duration::from_secs(2);

/// A proxy in front of the real app, the automation account's context through it, and a
/// session signed in through it.
async fn through_proxy(s: &Suite<'_>) -> Result<(FaultProxy, ConnectorContext, AppSession), Stop> {
    let proxy = FaultProxy::start(&s.base).await;
    for path in s.f.reads_by_post() {
        proxy.reads_by_post(&path);
    }
    let ctx = s.f.context(&proxy.url);
    let session =
        s.c.login(&ctx)
            .await
            .or_fail("sign in through the fault proxy")?;
    Ok((proxy, ctx, session))
}

/// The first read of a listing answers 429 with `Retry-After: 1` (delay-seconds, RFC 9110
/// §10.2.3): the listing still succeeds, after waiting as asked (the SDK's in-call retry), or is
/// `RateLimited` with that wait and succeeds when called again.
pub(super) async fn rate_limited_listing(s: &Suite<'_>) -> Check {
    let wait = Duration::from_secs(RETRY_AFTER_SECS);
    rate_limited(s, || RETRY_AFTER_SECS.to_string(), wait, wait).await
}

/// The same with `Retry-After` as an HTTP-date (RFC 9110 §10.2.3, `IMF-fixdate`) two seconds
/// ahead of the 429: with its one-second resolution the app asks for a wait of one to two
/// seconds.
pub(super) async fn rate_limited_listing_until_a_date(s: &Suite<'_>) -> Check {
    let at = || httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let least = Duration::from_secs(1);
    rate_limited(s, at, least, least * 2).await
}

/// The first read of a listing answers 429 with `Retry-After: <value>` (made once signed in
/// through the proxy, right before the listing), which asks for a wait of `least` to `most`:
/// the listing succeeds after at least `least`, or is `RateLimited` with a wait of at most
/// `most` and succeeds when called again after it.
async fn rate_limited(
    s: &Suite<'_>,
    value: impl FnOnce() -> String,
    least: Duration,
    most: Duration,
) -> Check {
    let (proxy, ctx, session) = through_proxy(s).await?;
    let value = value();
    proxy.fail(
        ANY_READ,
        "",
        Fault::StatusWith(429, vec![("Retry-After".to_owned(), value.clone())]),
        1,
    );
    let (first, took) = timed(s.c.list_members(&ctx, &session, None)).await;
    ensure!(
        proxy.pending() == 0,
        "the listing sent no read through the proxy"
    );
    match first {
        Ok(page) => {
            ensure!(
                took + Duration::from_millis(100) >= least,
                "the listing was retried after {} ms, before the app's `Retry-After: {value}`",
                took.as_millis()
            );
            ensure!(
                !page.members.is_empty(),
                "the retried listing has no member"
            );
        }
        Err(ConnectorError::RateLimited { retry_after }) => {
            ensure!(
                retry_after.is_some_and(|w| w <= most && w + Duration::from_millis(100) >= least),
                "RateLimited carries {retry_after:?}, not the wait of `Retry-After: {value}`"
            );
            tokio::time::sleep(most).await;
            s.c.list_members(&ctx, &session, None)
                .await
                .or_fail("the listing after the wait")?;
        }
        Err(e) => {
            return Err(Stop::Failed(format!(
                "a 429 on the listing gave {e:?}, not a page or RateLimited"
            )))
        }
    }
    Ok(())
}

/// The invitation's first write meets `fault`; the invitation is carried out as the engine
/// retries jobs ([`invite_like_the_engine`]) and must end with exactly one member, the fault
/// spent, and no write carried out twice. `retries` says whether the connector may need the
/// engine's retry (else its first call must succeed).
async fn invite_through(s: &Suite<'_>, tag: &str, fault: Fault, retries: bool) -> Check {
    let (proxy, ctx, session) = through_proxy(s).await?;
    let email = s.email(tag);
    let role = s.info.default_role.clone();
    let inv = s.invitation(&email, &role);
    proxy.fail(ANY_WRITE, "", fault, 1);
    let m = if retries {
        invite_like_the_engine(&*s.c, &ctx, &session, &inv).await?
    } else {
        s.c.invite(&ctx, &session, &inv)
            .await
            .or_fail(&format!("invite {email}"))?
    };
    ensure!(
        proxy.pending() == 0,
        "the invitation sent no write through the proxy"
    );
    check_invited(&m, &email, &role)?;
    let carried = proxy.writes().iter().filter(|w| s.f.carried_out(w)).count();
    ensure!(
        carried > 0,
        "the app carried out no write of the invitation"
    );
    let repeated = proxy.repeated_writes_where(|w| s.f.carried_out(w));
    ensure!(
        repeated.is_empty(),
        "writes carried out twice: {:?}",
        repeated
            .iter()
            .map(|w| format!("{} {}", w.method, w.path))
            .collect::<Vec<_>>()
    );
    s.exactly_one(&email).await?;
    s.clean_up(&m).await;
    Ok(())
}

/// The app answers the invitation's first write with 503 (without seeing it).
pub(super) async fn unavailable_write(s: &Suite<'_>) -> Check {
    invite_through(s, "f503", Fault::Status(503), true).await
}

/// The connection of the invitation's first write is reset before the app sees it.
pub(super) async fn reset_before_write(s: &Suite<'_>) -> Check {
    invite_through(s, "freset", Fault::Reset, true).await
}

/// The app carries out the invitation's first write, then the connection is reset before the
/// answer: the retry must find the member, not make another.
pub(super) async fn reset_after_write(s: &Suite<'_>) -> Check {
    invite_through(s, "fdone", Fault::ResetAfter, true).await
}

/// The invitation's first write waits before it reaches the app (less than the context's
/// timeout): the call succeeds as it is.
pub(super) async fn slow_answer(s: &Suite<'_>) -> Check {
    let timeout = match s.ctx.timeout {
        t if t.is_zero() => Duration::from_secs(30),
        t => t,
    };
    let delay = SLOW.min(timeout / 4);
    invite_through(s, "fslow", Fault::Delay(delay), false).await
}
