//! Sign-in: the automation account (good), a wrong password or token, an account without admin
//! rights, the permission probe, and base URLs that lead nowhere.

use castellan_core::connector::{ConnectorError, SignIn};
use secrecy::{ExposeSecret, SecretString};

use super::{ensure, expect_err, Check, OrFail, Stop, Suite};
use crate::harness::{nothing_listens, unique};

/// The automation account signs in; the session's `Debug` shows none of its secrets.
pub(super) async fn good(s: &Suite<'_>) -> Check {
    let session = s.c.login(&s.ctx).await.or_fail("sign in")?;
    let shown = format!("{session:?}");
    let mut secrets = vec![s.ctx.password.expose_secret().to_owned()];
    secrets.extend(
        s.ctx
            .api_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
    );
    for secret in secrets.iter().filter(|x| x.len() >= 4) {
        ensure!(
            !shown.contains(secret.as_str()),
            "the session's Debug shows a secret of the account"
        );
    }
    Ok(())
}

/// A wrong password (or API token, for token sign-ins) is `BadCredentials`, not retryable, and
/// the error does not repeat it.
pub(super) async fn wrong_secret(s: &Suite<'_>) -> Check {
    let wrong = format!("wrong-{}", unique());
    let mut ctx = s.ctx.clone();
    match s.info.sign_in {
        SignIn::Password => ctx.password = SecretString::from(wrong.clone()),
        SignIn::ApiToken | SignIn::UsernameAndToken | SignIn::OAuth2 => {
            ctx.api_token = Some(SecretString::from(wrong.clone()))
        }
    }
    match s.c.login(&ctx).await {
        Err(e @ ConnectorError::BadCredentials(_)) => {
            ensure!(!e.is_retryable(), "BadCredentials is retryable");
            ensure!(
                !e.to_string().contains(&wrong),
                "the error repeats the wrong secret: {e}"
            );
            Ok(())
        }
        Err(e) => Err(Stop::Failed(format!(
            "a wrong secret gave {e:?}, not BadCredentials"
        ))),
        Ok(_) => Err(Stop::Failed("a wrong secret signed in".into())),
    }
}

/// An account that may not manage members is refused with `InsufficientPermission`, at sign-in
/// or by the permission probe.
pub(super) async fn non_admin(s: &Suite<'_>) -> Check {
    let Some(ctx) = s.f.non_admin(&s.base).await else {
        return Err(Stop::Unsupported(
            "the fixture has no account without admin rights".into(),
        ));
    };
    let session = match s.c.login(&ctx).await {
        Err(ConnectorError::InsufficientPermission(_)) => return Ok(()),
        Err(e) => {
            return Err(Stop::Failed(format!(
                "the non-admin's sign-in gave {e:?}, not InsufficientPermission"
            )))
        }
        Ok(session) => session,
    };
    match s.c.verify_permissions(&ctx, &session).await {
        Err(ConnectorError::InsufficientPermission(_)) => Ok(()),
        Err(e) => Err(Stop::Failed(format!(
            "the permission probe of a non-admin gave {e:?}, not InsufficientPermission"
        ))),
        Ok(()) => Err(Stop::Failed(
            "the permission probe lets an account without admin rights through".into(),
        )),
    }
}

/// The automation account passes the permission probe.
pub(super) async fn permission_probe(s: &Suite<'_>) -> Check {
    let session = s.session().await?;
    s.c.verify_permissions(&s.ctx, session)
        .await
        .or_fail("the permission probe of the automation account")
}

/// A base URL where nothing listens is `Unavailable` (retryable); one that is not a URL is
/// `Configuration`.
pub(super) async fn bad_base_url(s: &Suite<'_>) -> Check {
    let nowhere = s.f.context(&nothing_listens());
    match s.c.login(&nowhere).await {
        Err(e @ ConnectorError::Unavailable(_)) => {
            ensure!(e.is_retryable(), "Unavailable is not retryable")
        }
        other => {
            return Err(Stop::Failed(format!(
                "signing in where nothing listens gave {other:?}, not Unavailable"
            )))
        }
    }
    let not_a_url = s.f.context("not a url");
    expect_err!(
        s.c.login(&not_a_url).await,
        ConnectorError::Configuration(_),
        "signing in at \"not a url\""
    );
    Ok(())
}
