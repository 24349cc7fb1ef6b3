//! Account pages: "Add item → Account", the account page (reveal, 2FA, managed email address
//! and phone number, sharing, activity) and the shared inbox.
//!
//! Every page calls the core services as the signed-in person, so the permission matrix and
//! item roles apply unchanged: an account the person cannot view answers 404.

mod edit;
mod inbox;
mod new;
mod totp;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::ids::{AccountId, PersonId};
use castellan_core::model::{ItemRole, PersonStatus};
use castellan_core::permissions::{allows, item_allows, Action, ItemAction};
use castellan_core::ports::ActivityFilter;
use castellan_core::service::AccountView;
use castellan_core::CoreError;
use serde::Deserialize;

use super::auth::FieldErrors;
use super::pages::when;
use super::{render, render_status, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts/{id}", get(account_page))
        .route("/accounts/{id}/reveal", post(reveal))
        .route("/accounts/{id}/email", post(assign_email))
        .route("/accounts/{id}/phone", post(assign_phone))
        .route("/accounts/{id}/share", post(share))
        .route("/accounts/{id}/unshare", post(unshare))
        .merge(edit::routes())
        .merge(new::routes())
        .merge(totp::routes())
        .merge(inbox::routes())
}

/// How many activity events the account page lists.
const ACTIVITY_ON_PAGE: u32 = 20;

/// A form with only the CSRF field.
#[derive(Debug, Deserialize)]
struct Empty {}

/// Parses an account id from the path; anything else is a 404 page.
fn account_id(raw: &str) -> Result<AccountId, WebError> {
    raw.parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, "No such account."))
}

/// `Some(text)` when `text` is non-empty after trimming.
fn non_empty(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// A field error whose message reads as a sentence ("Must not be empty.").
fn sentence(message: &str) -> String {
    let mut c = message.chars();
    let mut s: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    };
    if !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// A core error as field errors, with core field names mapped to the form's field ids.
/// Conflicts name `conflict_field` (e.g. a label taken in the vault).
fn form_errors(e: CoreError, rename: &[(&str, &str)], conflict_field: &str) -> FieldErrors {
    match e {
        CoreError::Conflict(m) => FieldErrors(vec![(conflict_field.into(), sentence(&m))]),
        other => {
            let FieldErrors(list) = FieldErrors::from_core(other);
            FieldErrors(
                list.into_iter()
                    .map(|(f, m)| {
                        let f = rename
                            .iter()
                            .find(|(from, _)| *from == f)
                            .map_or("general", |(_, to)| to);
                        (f.to_owned(), sentence(&m))
                    })
                    .collect(),
            )
        }
    }
}

/// The field of the first error, if any (it gets the focus).
fn first_error(errors: &FieldErrors) -> Option<&str> {
    errors.0.first().map(|(f, _)| f.as_str())
}

/// Whether a core error is one to show on the form (rather than as an error page).
fn is_form_error(e: &CoreError) -> bool {
    matches!(e, CoreError::Validation { .. } | CoreError::Conflict(_))
}

// ---------------------------------------------------------------------------------------------
// The account page

/// A person with a direct item role on the account.
#[derive(Debug)]
struct AccessRow {
    person_id: String,
    name: String,
    email: String,
    role: &'static str,
    /// Whether the viewer may remove this access (owners' access only by an item owner).
    removable: bool,
}

/// A person one may share with.
#[derive(Debug)]
struct PersonChoice {
    id: String,
    label: String,
}

/// One activity event on the account.
#[derive(Debug)]
struct EventRow {
    at: String,
    who: String,
    action: String,
}

/// The code shown on the page.
#[derive(Debug)]
struct CodeShown {
    code: String,
    /// Seconds until it changes (0 for HOTP).
    seconds: u64,
    period: i64,
    /// `totp`, `hotp` or `steam`.
    kind: String,
}

/// What a POST adds to the account page it renders (a revealed password, form errors).
#[derive(Debug, Default)]
struct PageExtras {
    revealed: Option<String>,
    /// An HOTP code read with the "Show the next code" button.
    hotp_code: Option<String>,
    errors: FieldErrors,
    /// What the share form held.
    share_person: String,
    share_role: String,
    /// The response status (200 when `None`).
    status: Option<StatusCode>,
}

#[derive(askama::Template)]
#[template(path = "account_page.html")]
struct AccountPage {
    chrome: Chrome,
    id: String,
    label: String,
    app: String,
    login_url: Option<String>,
    username: String,
    vault: String,
    my_role: &'static str,
    setup: String,
    has_password: bool,
    can_reveal: bool,
    can_edit: bool,
    can_share: bool,
    is_owner: bool,
    /// May delete it: `AccountWrite` and the item role `owner`.
    can_delete: bool,
    revealed: Option<String>,
    has_totp: bool,
    totp_issuer: String,
    code: Option<CodeShown>,
    totp_warnings: Vec<String>,
    email: Option<String>,
    phone: Option<String>,
    username_is_email: bool,
    access: Vec<AccessRow>,
    people: Vec<PersonChoice>,
    /// `None` when the person may not read the activity log.
    activity: Option<Vec<EventRow>>,
    errors: FieldErrors,
    share_person: String,
    share_role: String,
}

/// Notices shown after a redirect back to the account page, by `?done=`.
fn done_notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "created" => "Account added.",
        "updated" => "Account saved.",
        "totp" => "2FA is now managed by Castellan for this account.",
        "totp-removed" => "2FA was removed from this account.",
        "email" => "A managed email address was assigned.",
        "username" => "The username is now the managed email address.",
        "phone" => "A managed phone number was assigned.",
        "shared" => "Sharing updated.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn account_page(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let id = account_id(&id)?;
    let mut page = show_account(&s, &user, id, PageExtras::default()).await?;
    page.chrome.notice = done_notice(q.done.as_deref());
    Ok(render(&page))
}

/// The account page as the person may see it, plus what a POST adds.
async fn show_account(
    s: &AppState,
    user: &WebUser,
    id: AccountId,
    extras: PageExtras,
) -> WebResult<AccountPage> {
    let actor = &user.actor;
    let a: AccountView = s.svc.accounts().get(&actor.permit()?, id).await?;
    let vault = s
        .svc
        .vaults()
        .list(&actor.permit()?)
        .await?
        .into_iter()
        .find(|v| v.id == a.vault_id)
        .map_or_else(|| "—".to_owned(), |v| v.name);
    let can = |w: Action, i: ItemAction| allows(actor.role, w) && item_allows(a.my_role, i);
    let can_reveal = can(Action::AccountReveal, ItemAction::Reveal);
    let can_edit = can(Action::AccountWrite, ItemAction::Edit);
    let can_share = can(Action::AccountWrite, ItemAction::Share);
    let is_owner = a.my_role == ItemRole::Owner;
    let can_delete = can(Action::AccountWrite, ItemAction::Delete);

    // 2FA: the current code (recorded by the service), except for HOTP, whose counter each
    // read advances: that code is shown only after the "Show the next code" button.
    let (mut code, mut totp_issuer, mut totp_warnings) = (None, String::new(), vec![]);
    if a.has_totp {
        let t = s.svc.authenticator().get(&actor.permit()?, id).await?;
        totp_issuer = t.issuer.clone().unwrap_or_default();
        totp_warnings = t.warnings;
        if t.kind == "hotp" {
            code = extras.hotp_code.map(|c| CodeShown {
                code: c,
                seconds: 0,
                period: t.period,
                kind: t.kind,
            });
        } else {
            let c = s.svc.authenticator().code(&actor.permit()?, id).await?;
            code = Some(CodeShown {
                code: c.code,
                seconds: c.seconds_remaining,
                period: c.period,
                kind: c.kind,
            });
        }
    }

    let (address, number) = s.svc.accounts().contacts(&actor.permit()?, id).await?;

    // Sharing: names come from the people list when the person may read it.
    let people = match s.svc.people().list(&actor.permit()?).await {
        Ok(p) => p,
        Err(CoreError::Forbidden(_)) => vec![],
        Err(e) => return Err(e.into()),
    };
    let by_id: HashMap<PersonId, _> = people.iter().map(|p| (p.id, p)).collect();
    let mut access: Vec<AccessRow> = s
        .svc
        .accounts()
        .access(&actor.permit()?, id)
        .await?
        .into_iter()
        .map(|(pid, role)| {
            let p = by_id.get(&pid);
            AccessRow {
                person_id: pid.to_string(),
                name: p.map_or_else(|| "A person".to_owned(), |p| p.name.clone()),
                email: p.map(|p| p.email.clone()).unwrap_or_default(),
                role: role.as_str(),
                // Not one's own access: removing it could lock one out.
                removable: can_share
                    && (role != ItemRole::Owner || is_owner)
                    && Some(pid) != actor.person_id,
            }
        })
        .collect();
    access.sort_by_key(|r| (r.name.to_lowercase(), r.email.clone()));
    let mut choices: Vec<PersonChoice> = people
        .iter()
        .filter(|p| p.status != PersonStatus::Deactivated && Some(p.id) != actor.person_id)
        .map(|p| PersonChoice {
            id: p.id.to_string(),
            label: format!("{} ({})", p.name, p.email),
        })
        .collect();
    choices.sort_by_key(|c| c.label.to_lowercase());

    let activity = if allows(actor.role, Action::ActivityRead) {
        let events = s
            .svc
            .activity()
            .list(
                &actor.permit()?,
                ActivityFilter {
                    target_id: Some(id.to_string()),
                    limit: Some(ACTIVITY_ON_PAGE),
                    ..ActivityFilter::default()
                },
            )
            .await?;
        Some(
            events
                .into_iter()
                .map(|e| EventRow {
                    at: when(e.at),
                    who: e.actor_name,
                    action: e.action,
                })
                .collect(),
        )
    } else {
        None
    };

    let email = address.map(|m| m.address);
    Ok(AccountPage {
        chrome: user.chrome(a.label.clone(), "accounts"),
        id: a.id.to_string(),
        app: a
            .app_name
            .clone()
            .or_else(|| a.app_id.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "—".into()),
        login_url: a.login_url.clone(),
        username_is_email: email.is_some() && a.username == email,
        username: a.username.clone().unwrap_or_else(|| "—".into()),
        vault,
        my_role: a.my_role.as_str(),
        setup: a.setup.as_str().replace('_', " "),
        has_password: a.has_password,
        can_reveal,
        can_edit,
        can_share,
        is_owner,
        can_delete,
        revealed: extras.revealed,
        has_totp: a.has_totp,
        totp_issuer,
        code,
        totp_warnings,
        email,
        phone: number.map(|n| n.e164),
        access,
        people: choices,
        activity,
        errors: extras.errors,
        share_person: extras.share_person,
        share_role: extras.share_role,
        label: a.label,
    })
}

/// Renders the account page for a POST (with `extras`), with its status (200 unless given).
async fn account_response(
    s: &AppState,
    user: &WebUser,
    id: AccountId,
    extras: PageExtras,
) -> WebResult {
    let status = extras.status.unwrap_or(StatusCode::OK);
    let page = show_account(s, user, id, extras).await?;
    Ok(render_status(status, &page))
}

/// Renders the account page with the error next to `field` when `e` is about the form (422
/// for bad input or a conflict, 403 for what the person's roles do not allow), else an error
/// page (e.g. 404).
async fn account_with_error(
    s: &AppState,
    user: &WebUser,
    id: AccountId,
    e: CoreError,
    field: &str,
    extras: PageExtras,
) -> WebResult {
    let status = match &e {
        CoreError::Validation { .. } | CoreError::Conflict(_) => StatusCode::UNPROCESSABLE_ENTITY,
        CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
        _ => return Err(e.into()),
    };
    let FieldErrors(list) = form_errors(e, &[], field);
    let errors = FieldErrors(
        list.into_iter()
            .map(|(_, m)| (field.to_owned(), m))
            .collect(),
    );
    account_response(
        s,
        user,
        id,
        PageExtras {
            errors,
            status: Some(status),
            ..extras
        },
    )
    .await
}

/// After a POST on the account page: a redirect back with the `done` notice, or the page with
/// the error next to `field`.
async fn outcome<T>(
    s: &AppState,
    user: &WebUser,
    id: AccountId,
    result: Result<T, CoreError>,
    done: &str,
    field: &str,
    extras: PageExtras,
) -> WebResult {
    match result {
        Ok(_) => Ok(see_other(&format!("/accounts/{id}?done={done}"))),
        Err(e) => account_with_error(s, user, id, e, field, extras).await,
    }
}

/// "Reveal password": the page with the password in a read-only field. Recorded by the
/// service as `account.reveal`.
async fn reveal(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id = account_id(&id)?;
    let secrets = s
        .svc
        .accounts()
        .reveal(&user.actor.permit()?, id, Some(vec!["password".into()]))
        .await?;
    account_response(
        &s,
        &user,
        id,
        PageExtras {
            revealed: Some(secrets.password.unwrap_or_default()),
            ..PageExtras::default()
        },
    )
    .await
}

/// Assigning a managed email address, optionally as the username.
#[derive(Debug, Deserialize)]
struct EmailForm {
    /// `1` to also make it the username.
    #[serde(default)]
    use_as_username: String,
}

async fn assign_email(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<EmailForm>,
) -> WebResult {
    let id = account_id(&id)?;
    let as_username = f.use_as_username == "1";
    let r = s
        .svc
        .inbox()
        .assign_email(&user.actor.permit()?, id, as_username)
        .await;
    let done = if as_username { "username" } else { "email" };
    outcome(&s, &user, id, r, done, "email", PageExtras::default()).await
}

async fn assign_phone(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id = account_id(&id)?;
    let r = s.svc.inbox().assign_number(&user.actor.permit()?, id).await;
    outcome(&s, &user, id, r, "phone", "phone", PageExtras::default()).await
}

/// Sharing with a person, or removing their access.
#[derive(Debug, Deserialize)]
struct ShareForm {
    #[serde(default)]
    person: String,
    #[serde(default)]
    role: String,
}

async fn share(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<ShareForm>,
) -> WebResult {
    let id = account_id(&id)?;
    let kept = || PageExtras {
        share_person: f.person.clone(),
        share_role: f.role.clone(),
        ..PageExtras::default()
    };
    let Ok(person) = f.person.parse::<PersonId>() else {
        let e = CoreError::invalid("person", "choose a person from the list");
        return account_with_error(&s, &user, id, e, "share-person", kept()).await;
    };
    let Ok(role) = f.role.parse::<ItemRole>() else {
        let e = CoreError::invalid(
            "role",
            "choose an item role: owner, manager or collaborator",
        );
        return account_with_error(&s, &user, id, e, "share-role", kept()).await;
    };
    let r = s
        .svc
        .accounts()
        .share(&user.actor.permit()?, id, person, Some(role))
        .await;
    outcome(&s, &user, id, r, "shared", "share-person", kept()).await
}

async fn unshare(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<ShareForm>,
) -> WebResult {
    let id = account_id(&id)?;
    let person: PersonId = f
        .person
        .parse()
        .map_err(|_| WebError::status(StatusCode::BAD_REQUEST, "No such person."))?;
    let r = s
        .svc
        .accounts()
        .share(&user.actor.permit()?, id, person, None)
        .await;
    outcome(&s, &user, id, r, "shared", "access", PageExtras::default()).await
}
