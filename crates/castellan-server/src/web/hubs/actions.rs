//! Actions on the hub page: share and change role, revoke, match and exempt members, check for
//! updates (and confirm a plan halted by the safeguard). Each goes back to the hub page with a
//! notice, or shows the page again (422) with the error next to the form and what was typed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use castellan_core::hub::{HubId, HubRole, Trigger};
use castellan_core::ids::PersonId;
use castellan_core::model::Person;
use castellan_core::service::{MemberAction, RevokeHub, ShareHub};
use castellan_core::CoreError;
use serde::Deserialize;

use super::{field_errors, hub_id, query, show_hub, FormState, HubQuery};
use crate::web::auth::FieldErrors;
use crate::web::{see_other, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

/// Shows the hub page again (422) with a failed form's errors and what was typed, on the tab
/// and page the form came from.
async fn refused(
    s: &AppState,
    user: &WebUser,
    id: HubId,
    (tab, page): (&str, &str),
    form: FormState,
) -> WebResult {
    let q = HubQuery {
        tab: Some(tab.to_owned()),
        page: Some(page.to_owned()),
        ..HubQuery::default()
    };
    show_hub(s, user, id, &q, &form, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// After a failed action: a validation error is shown next to the field of form `key` (a
/// `general` form shows it at the top), with what was typed; any other error is an error page.
async fn refused_by(
    s: &AppState,
    user: &WebUser,
    id: HubId,
    back: (&str, &str),
    key: String,
    e: CoreError,
    values: &[(&str, &str)],
) -> WebResult {
    if !matches!(e, CoreError::Validation { .. }) {
        return Err(e.into());
    }
    let mut errors = field_errors(e, &[("person_id", "person")]);
    if key == "general" {
        for (field, _) in &mut errors.0 {
            *field = "general".into();
        }
    }
    refused(s, user, id, back, FormState::new(key, errors, values)).await
}

/// Where to go after an action on the hub page: the same tab and page, with a notice.
fn back_to_hub(id: HubId, tab: &str, page: &str, done: &str, anchor: &str) -> Response {
    let page = if page == "1" { "" } else { page };
    see_other(&format!(
        "/hubs/{id}{}#{anchor}",
        query(&[("tab", tab), ("page", page), ("done", done)])
    ))
}

/// The person with this email (case-insensitive), through the people service.
async fn person_by_email(
    s: &AppState,
    user: &WebUser,
    email: &str,
) -> Result<Option<Person>, CoreError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Ok(None);
    }
    Ok(s.svc
        .people()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .find(|p| p.email == email))
}

/// The share form and the change-role form (both share the hub with a person).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ShareForm {
    /// `share` or `role`.
    form: String,
    person: String,
    app_role: String,
    hub_role: String,
    tab: String,
    page: String,
}

pub(super) async fn share(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<ShareForm>,
) -> WebResult {
    let id = hub_id(&id)?;
    let is_role = f.form == "role";
    let person = person_by_email(&s, &user, &f.person).await?;
    let values = [
        ("person", f.person.as_str()),
        ("app_role", f.app_role.as_str()),
        ("hub_role", f.hub_role.as_str()),
    ];
    let Some(person) = person else {
        let msg = if f.person.trim().is_empty() {
            "Give the person's email."
        } else {
            "No person in the workspace has this email."
        };
        let form = FormState::new(
            "share",
            FieldErrors(vec![("person".into(), msg.into())]),
            &values,
        );
        return refused(&s, &user, id, (&f.tab, &f.page), form).await;
    };
    let hub_role = match f.hub_role.trim() {
        "" => None,
        r => Some(
            r.parse::<HubRole>()
                .map_err(|_| WebError::status(StatusCode::BAD_REQUEST, "Unknown hub role."))?,
        ),
    };
    let app_role = Some(f.app_role.trim().to_owned()).filter(|r| !r.is_empty());
    match s
        .svc
        .hubs()
        .share(
            &user.actor.permit()?,
            id,
            person.id,
            ShareHub {
                hub_role,
                app_role,
                resource_roles: None,
            },
        )
        .await
    {
        Ok(_) => Ok(back_to_hub(
            id,
            &f.tab,
            &f.page,
            if is_role { "role" } else { "shared" },
            "grants",
        )),
        Err(e) => {
            let key = if is_role {
                format!("role:{}", person.id)
            } else {
                "share".to_owned()
            };
            refused_by(&s, &user, id, (&f.tab, &f.page), key, e, &values).await
        }
    }
}

/// The revoke button of a grant.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RevokeForm {
    person_id: String,
    keep_seat: Option<String>,
    tab: String,
    page: String,
}

pub(super) async fn revoke(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<RevokeForm>,
) -> WebResult {
    let id = hub_id(&id)?;
    let person: PersonId = f
        .person_id
        .parse()
        .map_err(|_| WebError::status(StatusCode::BAD_REQUEST, "No such person."))?;
    let r = RevokeHub {
        person_ids: vec![person],
        keep_seat: f.keep_seat.is_some(),
    };
    match s.svc.hubs().revoke(&user.actor.permit()?, id, r).await {
        Ok(_) => Ok(back_to_hub(id, &f.tab, &f.page, "revoked", "grants")),
        Err(e) => refused_by(&s, &user, id, (&f.tab, &f.page), "general".into(), e, &[]).await,
    }
}

/// Match or exempt on a member row.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MemberForm {
    member: String,
    /// `match` or `exempt`.
    action: String,
    person: String,
    reason: String,
    tab: String,
    page: String,
}

pub(super) async fn member_action(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<MemberForm>,
) -> WebResult {
    let id = hub_id(&id)?;
    let key = format!("member:{}", f.member);
    let values = [("person", f.person.as_str()), ("reason", f.reason.as_str())];
    let action = match f.action.as_str() {
        "match" => match person_by_email(&s, &user, &f.person).await? {
            Some(p) => MemberAction::Match { person_id: p.id },
            None => {
                let msg = if f.person.trim().is_empty() {
                    "Give the email of the person to match."
                } else {
                    "No person in the workspace has this email."
                };
                let form = FormState::new(
                    key,
                    FieldErrors(vec![("person".into(), msg.into())]),
                    &values,
                );
                return refused(&s, &user, id, (&f.tab, &f.page), form).await;
            }
        },
        "exempt" => MemberAction::Exempt {
            reason: f.reason.clone(),
        },
        _ => {
            return Err(WebError::status(
                StatusCode::BAD_REQUEST,
                "Unknown member action.",
            ))
        }
    };
    let done = if f.action == "match" {
        "matched"
    } else {
        "exempted"
    };
    match s
        .svc
        .hubs()
        .act_on_member(&user.actor.permit()?, id, &f.member, action)
        .await
    {
        Ok(_) => Ok(back_to_hub(id, &f.tab, &f.page, done, "members")),
        Err(e) => refused_by(&s, &user, id, (&f.tab, &f.page), key, e, &values).await,
    }
}

/// "Check for updates", or confirming a plan halted by the safeguard.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SyncForm {
    confirm: Option<String>,
    tab: String,
    page: String,
}

pub(super) async fn sync(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<SyncForm>,
) -> WebResult {
    let id = hub_id(&id)?;
    let confirm = f.confirm.is_some();
    s.svc
        .hubs()
        .sync(&user.actor.permit()?, id, confirm, Trigger::Manual)
        .await?;
    let done = if confirm { "confirmed" } else { "sync" };
    Ok(back_to_hub(id, &f.tab, &f.page, done, "hub-jobs"))
}
