//! Signing in with a link the app emails to the automation account's managed address, read in
//! Castellan's shared inbox through [`ConnectorContext::codes`](Ctx::codes) (the bot records
//! each read as a code read by the bot, `inbox.code_read`).
//!
//! A hub chooses it with the setting [`SIGN_IN_WITH`] = [`EMAILED_LINK`] ([`sign_in_with`]):
//! for a placeholder account whose password nobody keeps, the bot asks the app for the link
//! (a password-reset or magic link), waits for it, and opens it in its browser. Only a link to
//! the hub's own base URL is opened.

use std::time::Duration;

use castellan_core::connector::settings::{SettingField, SettingKind};
use castellan_core::connector::{ConnectorContext as Ctx, ConnectorError as E};
use chrono::{DateTime, Utc};

/// [`SIGN_IN_WITH`]: a link the app emails to the account's managed address.
pub use castellan_core::connector::settings::SIGN_IN_EMAILED_LINK as EMAILED_LINK;
/// [`SIGN_IN_WITH`]: the automation account's password (and TOTP), the default.
pub use castellan_core::connector::settings::SIGN_IN_PASSWORD as PASSWORD;
/// The hub setting that says how the bot signs in (core's, where connect checks it).
pub use castellan_core::connector::settings::SIGN_IN_WITH;
/// How long the bot waits for the app's email (the bot caps it at half the job's lease).
pub const LINK_WAIT: Duration = Duration::from_secs(90);

type R<T> = Result<T, E>;

/// The optional [`SIGN_IN_WITH`] setting: [`PASSWORD`] (default) or [`EMAILED_LINK`];
/// `link` says what the app's email holds and what the bot does with it.
pub fn sign_in_with(link: &str) -> SettingField {
    let how = SettingKind::Choice(vec![PASSWORD.into(), EMAILED_LINK.into()]);
    let help = format!(
        "password (default): the automation account's password, and its TOTP when the app asks; \
         emailed_link: {link} (the account's email in the app must be its managed address)"
    );
    SettingField::new(SIGN_IN_WITH, "How the bot signs in", how, false).help(&help)
}

/// Whether the hub signs in with an emailed link ([`SIGN_IN_WITH`] is [`EMAILED_LINK`], any
/// case).
pub fn with_emailed_link(ctx: &Ctx) -> bool {
    castellan_core::connector::settings::signs_in_with_emailed_link(&ctx.settings)
}

/// The link of the newest message with a link that reached the automation account at or after
/// `since` (take it just before the step that makes `app` send one), waiting up to
/// [`LINK_WAIT`]: its path and query below the hub's base URL, for `Page::open_link`.
///
/// Errors: `Configuration` outside the bot (no inbox to read); `BadCredentials` when no link
/// came in time, or the link is not to the hub's base URL (the link itself is never put in the
/// message: it signs in); the inbox's own (`Unavailable`, retryable).
pub async fn emailed_link(ctx: &Ctx, app: &str, since: DateTime<Utc>) -> R<String> {
    let codes = ctx.codes.as_ref().ok_or_else(|| {
        E::Configuration(
            "only the bot can sign in with an emailed link (it reads the inbox)".into(),
        )
    })?;
    // A message with a code but no link (another app's, or anyone's) is passed over: the wait
    // goes on after it until the deadline.
    let (deadline, mut since) = (tokio::time::Instant::now() + LINK_WAIT, since);
    let link = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match codes.next_code(since, left).await? {
            Some(c) if c.link.is_some() => break c.link,
            Some(c) if !left.is_zero() => since = c.received_at + chrono::Duration::milliseconds(1),
            _ => break None,
        }
    };
    let Some(link) = link else {
        return Err(E::BadCredentials(format!(
            "{app} sent no link to the automation account's managed email within {} s: its \
             email in {app} must be its managed address",
            LINK_WAIT.as_secs()
        )));
    };
    below(&ctx.base_url, &link).ok_or_else(|| {
        E::BadCredentials(format!(
            "the newest link in the automation account's inbox is not to {app} at {}",
            ctx.base_url
        ))
    })
}

/// `link`'s path and query below `base` (same scheme, host, port and path prefix), starting
/// with `/`; `None` for a link elsewhere.
fn below(base: &str, link: &str) -> Option<String> {
    let (base, link) = (url::Url::parse(base).ok()?, url::Url::parse(link).ok()?);
    if base.origin() != link.origin() || !matches!(link.scheme(), "http" | "https") {
        return None;
    }
    let rest = link
        .as_str()
        .strip_prefix(base.as_str().trim_end_matches('/'))?;
    rest.starts_with('/').then(|| rest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::below;

    #[test]
    fn only_links_below_the_base_url_are_opened() {
        let base = "http://127.0.0.1:18080";
        let link = "http://127.0.0.1:18080/wp-login.php?action=rp&key=k&login=bot";
        assert_eq!(
            below(base, link).as_deref(),
            Some("/wp-login.php?action=rp&key=k&login=bot")
        );
        assert_eq!(
            below(
                "https://x.test/blog/",
                "https://x.test/blog/wp-login.php?a=1"
            )
            .as_deref(),
            Some("/wp-login.php?a=1")
        );
        for elsewhere in [
            "http://127.0.0.1:18081/wp-login.php",
            "https://127.0.0.1:18080/wp-login.php",
            "http://evil.test/wp-login.php",
            "http://127.0.0.1:18080.evil.test/",
            "javascript:alert(1)",
        ] {
            assert_eq!(below(base, elsewhere), None, "{elsewhere}");
        }
        assert_eq!(
            below("https://x.test/blog", "https://x.test/blogger/x"),
            None
        );
        assert_eq!(below("https://x.test/blog", "https://x.test/other"), None);
    }
}
