//! Admin pages: people and workspace roles (with accepting an invitation), vaults and their
//! access ([`vaults`]), teams with their members and hubs ([`teams`]), collections and shares ([`collections`]), the activity log with its filter and CSV export ([`activity`]).
//!
//! The pages are for the roles that manage people, vaults and the log (owner, super admin,
//! admin): each first asks the core's permission matrix, so anyone else gets its 403 page, and
//! then calls the same services as the JSON API.

mod activity;
mod collections;
mod teams;
mod vaults;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::ids::PersonId;
use castellan_core::model::{Person, PersonStatus, WorkspaceRole};
use castellan_core::permissions::{self, may_manage_role, Action};
use castellan_core::service::{InvitePerson, Invited, PersonPatch};
use castellan_core::CoreError;
use secrecy::SecretString;
use serde::Deserialize;

use super::auth::{public_csrf, start_session, too_many, with_cookie, FieldErrors};
use super::{render, render_status, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::extract::Source;
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/people", get(people_page))
        .route("/people/invite", post(invite))
        .route("/people/{id}/role", post(change_role))
        .route("/people/{id}/status", post(change_status))
        .route("/people/{id}/two-step/reset", post(reset_two_step))
        .route("/people/{id}/password-reset", post(issue_reset_link))
        .route("/people/{id}/invitation", post(renew_invitation))
        .route("/accept-invitation", get(accept_page).post(accept_submit))
        .merge(vaults::routes())
        .merge(teams::routes())
        .merge(collections::routes())
        .merge(activity::routes())
}

/// A workspace role as shown: `super admin`.
fn role_words(r: WorkspaceRole) -> String {
    r.as_str().replace('_', " ")
}

/// A choice in a `<select>`.
#[derive(Debug, Clone)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The workspace roles `actor` may hand out (never `owner`), `selected` marked.
fn role_choices(actor: WorkspaceRole, selected: &str) -> Vec<Choice> {
    WorkspaceRole::ALL
        .iter()
        .filter(|r| **r != WorkspaceRole::Owner && may_manage_role(actor, **r))
        .map(|r| Choice {
            value: r.as_str().into(),
            label: role_words(*r),
            selected: r.as_str() == selected,
        })
        .collect()
}

/// An id from the path, or 404.
fn path_id<T: std::str::FromStr>(raw: &str, kind: &str) -> Result<T, WebError> {
    raw.parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, format!("No such {kind}.")))
}

/// One row of the people table.
#[derive(Debug)]
struct PersonRow {
    id: String,
    email: String,
    name: String,
    role: String,
    two_step: bool,
    /// The actor may change this person's role and status.
    manageable: bool,
    /// This is the actor.
    me: bool,
    deactivated: bool,
    invited: bool,
    roles: Vec<Choice>,
}

/// What the invite form holds (kept when it comes back with errors).
#[derive(Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

#[derive(askama::Template)]
#[template(path = "people.html")]
struct PeoplePage {
    chrome: Chrome,
    people: Vec<PersonRow>,
    invite: InviteForm,
    invite_roles: Vec<Choice>,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

fn people_notice(done: Option<&str>) -> Option<String> {
    Some(
        match done? {
            "role" => "The workspace role was changed.",
            "deactivated" => "The person was deactivated: their sessions and tokens stopped working, and the bot removes them from every business hub.",
            "activated" => "The person was reactivated.",
            "two-step" => "Their two-step sign-in was turned off. They sign in with their password and can set it up again.",
            _ => return None,
        }
        .into(),
    )
}

/// The people page with `errors` shown (and the invite form holding what was typed).
async fn people_view(
    s: &AppState,
    user: &WebUser,
    invite: InviteForm,
    errors: FieldErrors,
) -> Result<PeoplePage, WebError> {
    permissions::require(user.actor.role, Action::PeopleManage)?;
    let me = user.actor.role;
    let people = s
        .svc
        .people()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .map(|p: Person| PersonRow {
            id: p.id.to_string(),
            manageable: p.role != WorkspaceRole::Owner && may_manage_role(me, p.role),
            me: Some(p.id) == user.actor.person_id,
            deactivated: p.status == PersonStatus::Deactivated,
            invited: p.status == PersonStatus::Invited,
            roles: role_choices(me, p.role.as_str()),
            email: p.email,
            name: p.name,
            role: role_words(p.role),
            two_step: p.two_step,
        })
        .collect();
    let selected = if invite.role.is_empty() {
        WorkspaceRole::User.as_str().to_owned()
    } else {
        invite.role.clone()
    };
    Ok(PeoplePage {
        chrome: user.chrome("People", "people"),
        people,
        invite_roles: role_choices(me, &selected),
        invite,
        errors,
    })
}

async fn people_page(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let mut page = people_view(&s, &user, InviteForm::default(), FieldErrors::default()).await?;
    page.chrome.notice = people_notice(q.done.as_deref());
    Ok(render(&page))
}

#[derive(askama::Template)]
#[template(path = "people_invited.html")]
struct InvitedPage {
    chrome: Chrome,
    /// A renewed invitation (the old token stopped working).
    renewed: bool,
    email: String,
    name: String,
    role: String,
    token: String,
    accept_path: String,
}

/// Invites a person; the answer shows the invitation token once.
async fn invite(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<InviteForm>,
) -> WebResult {
    permissions::require(user.actor.role, Action::PeopleManage)?;
    let role = match f.role.parse::<WorkspaceRole>() {
        Ok(r) => r,
        Err(e) => return invite_again(&s, &user, f, e).await,
    };
    let input = InvitePerson {
        email: f.email.clone(),
        name: f.name.clone(),
        role,
        external_id: None,
    };
    match s.svc.people().invite(&user.actor.permit()?, input).await {
        Ok(inv) => Ok(invited_page(&user, inv, false)),
        Err(e) => invite_again(&s, &user, f, e).await,
    }
}

/// The page that shows an invitation token once.
fn invited_page(user: &WebUser, inv: Invited, renewed: bool) -> Response {
    let q: String = url::form_urlencoded::byte_serialize(inv.person.email.as_bytes()).collect();
    let title = if renewed {
        "Invitation renewed"
    } else {
        "Invitation created"
    };
    render(&InvitedPage {
        chrome: user.chrome(title, "people"),
        renewed,
        accept_path: format!("/accept-invitation?email={q}"),
        email: inv.person.email,
        name: inv.person.name,
        role: role_words(inv.person.role),
        token: inv.invitation_token,
    })
}

/// Renews an invitation that was not accepted: a new token, shown once.
async fn renew_invitation(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id: PersonId = path_id(&id, "person")?;
    match s
        .svc
        .people()
        .renew_invitation(&user.actor.permit()?, id)
        .await
    {
        Ok(inv) => Ok(invited_page(&user, inv, true)),
        Err(e) => after_change(&s, &user, Err(e), "").await,
    }
}

#[derive(askama::Template)]
#[template(path = "people_reset_link.html")]
struct ResetLinkPage {
    chrome: Chrome,
    name: String,
    email: String,
    link: String,
    expires: String,
}

/// The address people reach this Castellan at, from the `Host` the admin's browser used:
/// `http://` for loopback hosts, else `https://` (elsewhere Castellan is served behind HTTPS,
/// or sign-in cookies would not stick).
fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("127.0.0.1:8460");
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name);
    let local = name == "localhost" || name == "[::1]" || name.starts_with("127.");
    format!("{}://{host}", if local { "http" } else { "https" })
}

/// Issues a password reset link for a person and shows it once.
async fn issue_reset_link(
    State(s): State<AppState>,
    user: WebUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id: PersonId = path_id(&id, "person")?;
    match s
        .svc
        .people()
        .issue_password_reset(&user.actor.permit()?, id)
        .await
    {
        Ok(link) => Ok(render(&ResetLinkPage {
            chrome: user.chrome("Password reset link", "people"),
            link: format!("{}{}", origin(&headers), link.reset_path),
            expires: super::pages::when(link.expires_at),
            name: link.person.name,
            email: link.person.email,
        })),
        Err(e) => after_change(&s, &user, Err(e), "").await,
    }
}

/// The people page again after a refused invitation: validation errors next to their field,
/// a taken email next to the email field, anything else as a page error.
async fn invite_again(s: &AppState, user: &WebUser, f: InviteForm, e: CoreError) -> WebResult {
    let (status, errors) = match e {
        e @ CoreError::Validation { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::from_core(e))
        }
        CoreError::Conflict(m) => (StatusCode::CONFLICT, FieldErrors(vec![("email".into(), m)])),
        CoreError::Forbidden(m) => (StatusCode::FORBIDDEN, FieldErrors(vec![("role".into(), m)])),
        other => return Err(other.into()),
    };
    let page = people_view(s, user, f, errors).await?;
    Ok(render_status(status, &page))
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
struct Empty {}

#[derive(Debug, Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

/// Changes a person's workspace role.
async fn change_role(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<RoleForm>,
) -> WebResult {
    let id: PersonId = path_id(&id, "person")?;
    let patch = f.role.parse().map(|role| PersonPatch {
        role: Some(role),
        ..Default::default()
    });
    let done = match patch {
        Ok(p) => s
            .svc
            .people()
            .update(&user.actor.permit()?, id, p)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    after_change(&s, &user, done, "role").await
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

/// Deactivates or reactivates a person.
async fn change_status(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<StatusForm>,
) -> WebResult {
    let id: PersonId = path_id(&id, "person")?;
    let status = f.status.parse::<PersonStatus>();
    let what = if matches!(status, Ok(PersonStatus::Active)) {
        "activated"
    } else {
        "deactivated"
    };
    let done = match status {
        Ok(st) => s
            .svc
            .people()
            .update(
                &user.actor.permit()?,
                id,
                PersonPatch {
                    status: Some(st),
                    ..Default::default()
                },
            )
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    after_change(&s, &user, done, what).await
}

/// An admin turns off another person's two-step sign-in (a lost phone).
async fn reset_two_step(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(_): WebForm<Empty>,
) -> WebResult {
    let id: PersonId = path_id(&id, "person")?;
    let done = s
        .svc
        .people()
        .reset_two_step(&user.actor.permit()?, id)
        .await;
    after_change(&s, &user, done, "two-step").await
}

/// Back to the people page with a notice, or the page with the refusal at the top.
async fn after_change(
    s: &AppState,
    user: &WebUser,
    done: Result<(), CoreError>,
    what: &str,
) -> WebResult {
    match done {
        Ok(()) => Ok(see_other(&format!("/people?done={what}"))),
        Err(e @ (CoreError::Validation { .. } | CoreError::Conflict(_))) => {
            let (status, message) = crate::ApiError::from(e).public_parts();
            let page = people_view(
                s,
                user,
                InviteForm::default(),
                FieldErrors(vec![("general".into(), message)]),
            )
            .await?;
            Ok(render_status(status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(askama::Template)]
#[template(path = "people_accept.html")]
struct AcceptPage {
    chrome: Chrome,
    email: String,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
struct EmailQuery {
    email: Option<String>,
}

fn accept_view(csrf: String, email: String, errors: FieldErrors) -> AcceptPage {
    AcceptPage {
        chrome: Chrome {
            title: "Accept your invitation".into(),
            csrf,
            ..Default::default()
        },
        email,
        errors,
    }
}

/// The page where an invited person sets their password (public).
async fn accept_page(headers: HeaderMap, Query(q): Query<EmailQuery>) -> Response {
    let (csrf, set) = public_csrf(&headers);
    let email = q.email.unwrap_or_default().chars().take(320).collect();
    with_cookie(
        render(&accept_view(csrf, email, FieldErrors::default())),
        set,
    )
}

/// No `Debug`: it holds a secret as typed, which must never reach a log.
#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    invitation_token: String,
    #[serde(default)]
    password: String,
}

/// Accepts the invitation, then signs the person in.
async fn accept_submit(
    State(s): State<AppState>,
    src: Source,
    headers: HeaderMap,
    WebForm(f): WebForm<AcceptForm>,
) -> WebResult {
    let (csrf, _) = public_csrf(&headers);
    let again = |errors: FieldErrors, status: StatusCode| {
        render_status(status, &accept_view(csrf.clone(), f.email.clone(), errors))
    };
    let ip = src.ip.as_deref().and_then(|i| i.parse().ok());
    if let Err(wait) = s.limiter.check(ip, &f.email) {
        return Ok(again(too_many(wait), StatusCode::TOO_MANY_REQUESTS));
    }
    let actor = castellan_core::activity::Actor::anonymous(src.ip.clone(), src.user_agent.clone());
    let token = SecretString::from(f.invitation_token.clone());
    let password = SecretString::from(f.password.clone());
    match s
        .svc
        .sessions()
        .accept_invitation(&actor, &f.email, &token, &password)
        .await
    {
        Ok(p) => start_session(&s, &src, &p.email, f.password.clone(), None, "/accounts").await,
        Err(CoreError::Unauthenticated(m)) => Ok(again(
            FieldErrors(vec![("invitation_token".into(), m)]),
            StatusCode::UNAUTHORIZED,
        )),
        Err(e @ CoreError::Validation { .. }) => Ok(again(
            FieldErrors::from_core(e),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e) => Err(e.into()),
    }
}
