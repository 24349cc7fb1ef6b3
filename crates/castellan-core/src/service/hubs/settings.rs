//! A hub's settings against its connector's settings schema (contract v2,
//! [`crate::connector::settings`]): the base URL and organization id are the hub's own fields,
//! other plain values are the hub's `settings`, and secrets (an API token) are secret custom
//! fields of the automation account, sealed like its password. Which connector's schema applies
//! is decided by [`crate::service::Castellan::connector_info`] (`service/manual`).

use std::collections::BTreeMap;

use crate::connector::settings::{check_settings, BASE_URL, ORGANIZATION_ID};
use crate::connector::{ConnectorInfo, SettingKind, SignIn};
use crate::error::{CoreError, CoreResult};
use crate::service::accounts::AccountView;

/// Checks what a hub will give its connector: the plain values (`settings` plus the hub's
/// `base_url` and `organization_id`) against the schema's plain fields, and each secret field
/// the schema requires against the automation account, which must hold it as a *secret* custom
/// field of that name. An account with no password may serve only a connector that signs in
/// with a token. Errors: [`CoreError::Validation`] naming `settings.<key>` or
/// `automation_account_id`.
pub(crate) fn check_hub_settings(
    info: &ConnectorInfo,
    base_url: &str,
    organization_id: Option<&str>,
    settings: &BTreeMap<String, String>,
    account: &AccountView,
) -> CoreResult<()> {
    for key in [BASE_URL, ORGANIZATION_ID] {
        if settings.contains_key(key) {
            return Err(CoreError::invalid(
                format!("settings.{key}"),
                format!("give `{key}` as the hub's own field"),
            ));
        }
    }
    let (secrets, plain): (Vec<_>, Vec<_>) = info
        .settings
        .iter()
        .cloned()
        .partition(|f| f.kind == SettingKind::Secret);
    let mut values = settings.clone();
    values.insert(BASE_URL.to_owned(), base_url.to_owned());
    if let Some(o) = organization_id {
        values.insert(ORGANIZATION_ID.to_owned(), o.to_owned());
    }
    // The base URL and organization id are always accepted (an app may not ask for them).
    let schema = plain;
    for key in [BASE_URL, ORGANIZATION_ID] {
        if !schema.iter().any(|f| f.key == key) {
            values.remove(key);
        }
    }
    check_settings(&schema, &values)?;
    for f in secrets {
        let held = account.custom_fields.iter().find(|c| c.name == f.key);
        match held {
            Some(c) if !c.secret => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    format!(
                        "the automation account's custom field `{}` must be marked secret",
                        f.key
                    ),
                ))
            }
            None if f.required => {
                return Err(CoreError::invalid(
                    "automation_account_id",
                    format!(
                    "{} needs the automation account to hold `{}` ({}) as a secret custom field",
                    info.name, f.key, f.label
                ),
                ))
            }
            _ => {}
        }
    }
    let has_token = account
        .custom_fields
        .iter()
        .any(|c| c.secret && c.name == crate::connector::settings::API_TOKEN);
    let token_signs_in = info.sign_in != SignIn::Password && has_token;
    // An emailed link sets a new password at every sign-in: a password people keep would be
    // lost, so only a placeholder account signs in so, and it needs no stored password.
    let by_link = crate::connector::settings::signs_in_with_emailed_link(settings);
    if by_link && account.setup != crate::model::AccountSetup::Placeholder {
        return Err(CoreError::invalid(
            format!("settings.{}", crate::connector::settings::SIGN_IN_WITH),
            "an emailed link sets a new password at every sign-in: only a placeholder automation account (on its managed address) may sign in so",
        ));
    }
    // An OAuth 2.0 grant is given in the app's consent page after connecting (`oauth2`).
    let oauth2 = info.sign_in == SignIn::OAuth2;
    if !account.has_password && !token_signs_in && !by_link && !oauth2 {
        return Err(CoreError::invalid(
            "automation_account_id",
            "the automation account has no password stored",
        ));
    }
    Ok(())
}
