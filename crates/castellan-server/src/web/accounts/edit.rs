//! Editing and deleting an account (`/accounts/{id}/edit`, `/accounts/{id}/delete`) through the
//! same core use cases as the API (`update_account_checked`, `delete_account`): the same item
//! roles, the same `version` check against a stale edit, the same label rules (a taken label is
//! refused, a look-alike one needs the confirmation box).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use castellan_core::ids::VaultId;
use castellan_core::permissions::{allows, item_allows, Action, ItemAction};
use castellan_core::service::{AccountPatch, AccountView};
use castellan_core::validate::{is_look_alike, LookAlike};
use castellan_core::CoreError;
use secrecy::SecretString;
use serde::Deserialize;

use super::new::{new_form_context, VaultChoice};
use super::{account_id, form_errors, non_empty, Empty};
use crate::web::auth::FieldErrors;
use crate::web::{render, render_status, see_other, Chrome, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts/{id}/edit", get(edit_page).post(edit_submit))
        .route(
            "/accounts/{id}/delete",
            get(delete_page).post(delete_submit),
        )
}

/// Core field names of `update_account` → ids on the form.
const EDIT_FIELDS: &[(&str, &str)] = &[
    ("label", "label"),
    ("app", "app"),
    ("login_url", "app"),
    ("username", "username"),
    ("password", "password"),
    ("vault_id", "vault"),
];

#[derive(askama::Template)]
#[template(path = "account_edit.html")]
struct EditPage {
    chrome: Chrome,
    id: String,
    /// The stored label (for the way back).
    current_label: String,
    label: String,
    app: String,
    username: String,
    vault: String,
    vaults: Vec<VaultChoice>,
    apps: Vec<String>,
    has_password: bool,
    version: i64,
    errors: FieldErrors,
    /// The label looks like another one: offer the confirmation box.
    offer_confirm: bool,
}

/// What the form shows for the account's app: the catalog app's name, else the login URL.
fn app_text(a: &AccountView) -> String {
    a.app_name
        .clone()
        .or_else(|| a.login_url.clone())
        .unwrap_or_default()
}

/// The fields of the edit form. No `Debug`: it holds the new password as typed.
#[derive(Default, Deserialize)]
struct EditForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    vault: String,
    #[serde(default)]
    version: String,
    /// `1` when the look-alike confirmation box is ticked.
    #[serde(default)]
    confirm_confusable: String,
}

/// The edit page for `a`, showing `f` (what was typed) and `errors`.
async fn edit_view(
    s: &AppState,
    user: &WebUser,
    a: &AccountView,
    f: &EditForm,
    errors: FieldErrors,
    offer_confirm: bool,
) -> WebResult<EditPage> {
    let (vaults, apps) = new_form_context(s, user).await?;
    Ok(EditPage {
        chrome: user.chrome(format!("Edit {}", a.label), "accounts"),
        id: a.id.to_string(),
        current_label: a.label.clone(),
        label: f.label.clone(),
        app: f.app.clone(),
        username: f.username.clone(),
        vault: f.vault.clone(),
        vaults,
        apps,
        has_password: a.has_password,
        version: a.version,
        errors,
        offer_confirm,
    })
}

/// Refuses people whose item role may not edit the account (403 page), before any form.
async fn editable(s: &AppState, user: &WebUser, raw: &str) -> WebResult<AccountView> {
    let id = account_id(raw)?;
    let a = s.svc.accounts().get(&user.actor.permit()?, id).await?;
    let can =
        allows(user.actor.role, Action::AccountWrite) && item_allows(a.my_role, ItemAction::Edit);
    if !can {
        return Err(CoreError::Forbidden(format!(
            "your item role `{}` on this account does not allow editing it",
            a.my_role
        ))
        .into());
    }
    Ok(a)
}

async fn edit_page(State(s): State<AppState>, user: WebUser, Path(id): Path<String>) -> WebResult {
    let a = editable(&s, &user, &id).await?;
    let f = EditForm {
        label: a.label.clone(),
        app: app_text(&a),
        username: a.username.clone().unwrap_or_default(),
        vault: a.vault_id.to_string(),
        ..EditForm::default()
    };
    let page = edit_view(&s, &user, &a, &f, FieldErrors::default(), false).await?;
    Ok(render(&page))
}

/// The patch for what changed on the form (fields left as they were are not sent, so they do
/// not count as changes).
fn patch_of(a: &AccountView, f: &EditForm) -> Result<AccountPatch, CoreError> {
    let changed = |new: &str, old: &str| (new.trim() != old).then(|| new.trim().to_owned());
    let vault_id = match non_empty(&f.vault) {
        Some(v) if v != a.vault_id.to_string() => Some(
            v.parse::<VaultId>()
                .map_err(|_| CoreError::invalid("vault_id", "choose a vault from the list"))?,
        ),
        _ => None,
    };
    let version = f.version.trim().parse::<i64>().map_err(|_| {
        CoreError::Conflict("the form is out of date: reload the account and try again".into())
    })?;
    Ok(AccountPatch {
        version: Some(version),
        label: changed(&f.label, &a.label),
        app: changed(&f.app, &app_text(a)),
        username: changed(&f.username, a.username.as_deref().unwrap_or_default()),
        password: (!f.password.is_empty()).then(|| SecretString::from(f.password.clone())),
        vault_id,
        ..AccountPatch::default()
    })
}

async fn edit_submit(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<EditForm>,
) -> WebResult {
    let a = editable(&s, &user, &id).await?;
    let look_alike = LookAlike::confirmed(f.confirm_confusable == "1");
    let result = match patch_of(&a, &f) {
        Ok(patch) => {
            s.svc
                .accounts()
                .update_checked(&user.actor.permit()?, a.id, patch, look_alike)
                .await
        }
        Err(e) => Err(e),
    };
    let e = match result {
        Ok(_) => return Ok(see_other(&format!("/accounts/{}?done=updated", a.id))),
        Err(e @ (CoreError::Validation { .. } | CoreError::Conflict(_))) => e,
        Err(e) => return Err(e.into()),
    };
    let offer_confirm = is_look_alike(&e);
    // A stale version (or form) is about the whole form, a taken label about the label.
    let stale = matches!(&e, CoreError::Conflict(m) if !m.contains("labelled"));
    let mut errors = form_errors(e, EDIT_FIELDS, if stale { "general" } else { "label" });
    if !f.password.is_empty() && !errors.has("password") {
        errors.0.push((
            "password".into(),
            "For your safety the new password was not kept: type it again.".into(),
        ));
    }
    let page = edit_view(&s, &user, &a, &f, errors, offer_confirm).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(askama::Template)]
#[template(path = "account_delete.html")]
struct DeletePage {
    chrome: Chrome,
    id: String,
    label: String,
    error: String,
}

fn delete_view(user: &WebUser, a: &AccountView, error: String) -> DeletePage {
    DeletePage {
        chrome: user.chrome(format!("Delete {}", a.label), "accounts"),
        id: a.id.to_string(),
        label: a.label.clone(),
        error,
    }
}

/// "Delete": a confirmation page first (works without JavaScript).
async fn delete_page(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> WebResult {
    let id = account_id(&id)?;
    let a = s.svc.accounts().get(&user.actor.permit()?, id).await?;
    Ok(render(&delete_view(&user, &a, String::new())))
}

async fn delete_submit(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id = account_id(&id)?;
    let a = s.svc.accounts().get(&user.actor.permit()?, id).await?;
    match s.svc.accounts().delete(&user.actor.permit()?, id).await {
        Ok(()) => Ok(see_other("/accounts?done=deleted")),
        Err(CoreError::Conflict(m)) => Ok(render_status(
            StatusCode::CONFLICT,
            &delete_view(&user, &a, super::sentence(&m)),
        )),
        Err(e) => Err(e.into()),
    }
}
