//! What every Redmine sign-in does about the second factor, through the HTTP form
//! ([`super::web_sign_in`]) or a browser (`redmine_browser`): the account's authenticator, the
//! TOTP code of each try, and what Redmine's answers mean.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use castellan_core::connector::{ConnectorContext, ConnectorError};
use castellan_otp::{Kind, OtpParams};
use tracing::debug;

/// Why a sign-in stops at Redmine's second factor without Castellan's authenticator.
pub(crate) const NO_SECOND_FACTOR: &str =
    "Redmine asks for a second factor and the account has no 2FA managed by Castellan";
/// Slack after a TOTP time step starts before its code is sent, for clock differences.
const STEP_MARGIN: Duration = Duration::from_secs(1);

/// The TOTP code for one try of Redmine's second factor, and its time step: the code of now,
/// or, once Redmine refused the code of step `refused`, the next step's, waited for. Redmine
/// remembers the last step it accepted (`twofa_totp_last_used_at`) and refuses a code of that
/// step or an earlier one, e.g. right after the pairing or another sign-in.
pub(crate) async fn twofa_code(params: &OtpParams, refused: Option<u64>) -> (String, u64) {
    let period = params.period.max(1);
    let mut now = unix_now();
    if let Some(step) = refused {
        // Wait for the next time step, so that Redmine sees a step it has not used.
        let next_start = (step + 1) * period;
        if now < next_start {
            let wait = Duration::from_secs(next_start - now) + STEP_MARGIN;
            debug!(
                wait_secs = wait.as_secs(),
                "waiting for the next TOTP time step"
            );
            tokio::time::sleep(wait).await;
            now = unix_now();
        }
    }
    (castellan_otp::code_at(params, now), now / period)
}

/// Redmine refused both codes of [`twofa_code`].
pub(crate) fn codes_refused() -> ConnectorError {
    ConnectorError::BadCredentials(
        "Redmine refused the TOTP codes from Castellan's authenticator: is the account's 2FA \
         secret the one paired in Redmine?"
            .into(),
    )
}

/// The authenticator for the second factor Redmine asks for: the account's TOTP parameters.
///
/// Errors: `BadCredentials` ([`NO_SECOND_FACTOR`]) when the account has none.
pub(crate) fn second_factor(ctx: &ConnectorContext) -> Result<&OtpParams, ConnectorError> {
    ctx.totp
        .as_ref()
        .ok_or_else(|| ConnectorError::BadCredentials(NO_SECOND_FACTOR.into()))
}

/// Checks the account's authenticator, if any, before a sign-in: Redmine's is TOTP.
///
/// Errors: `Configuration` for another kind (HOTP).
pub(crate) fn check_authenticator(ctx: &ConnectorContext) -> Result<(), ConnectorError> {
    match &ctx.totp {
        Some(p) if p.kind != Kind::Totp => Err(ConnectorError::Configuration(
            "Redmine's second factor is TOTP, but the account's authenticator is not".into(),
        )),
        _ => Ok(()),
    }
}

/// What a signed-in account sent to `path` (a page of Redmine's) instead of the page it asked
/// for means, when Redmine holds the account there: a new password to choose
/// (`/my/password`), or two-factor authentication it requires and the account has not turned
/// on (`/my/twofa/…`). `None` for any other page.
pub(crate) fn held_at(path: &str) -> Option<ConnectorError> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.ends_with("/my/password") {
        Some(ConnectorError::BadCredentials(
            "Redmine requires a new password for the account".into(),
        ))
    } else if path.contains("/my/twofa/") {
        Some(ConnectorError::BadCredentials(
            "Redmine requires two-factor authentication for the account and it is not on: turn \
             it on with Castellan as the authenticator"
                .into(),
        ))
    } else {
        None
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Redmine keeps one pending two-factor sign-in per user (`Token` action `twofa_session`,
/// `max_instances` 1) for two minutes: another sign-in of the same account meanwhile ends this
/// one. A retry (with a fresh password step) may succeed.
pub(crate) fn twofa_session_ended() -> ConnectorError {
    ConnectorError::Unavailable(
        "Redmine ended the two-factor sign-in before a code was accepted (another sign-in of \
         the same account meanwhile?); retry"
            .into(),
    )
}
