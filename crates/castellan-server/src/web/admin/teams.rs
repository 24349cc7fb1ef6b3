//! Teams: the list, making a self-managed team, its members, the hubs it holds and its
//! vaults, collections and accounts ([`super::collections`]). A team the
//! identity provider keeps is shown read-only (its members change over SCIM); its hubs are
//! given and taken here like any team's.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::hub::HubId;
use castellan_core::ids::PersonId;
use castellan_core::model::PersonStatus;
use castellan_core::permissions::{self, Action};
use castellan_core::service::{TeamInput, TeamView};
use castellan_core::team::{TeamId, TeamKind};
use castellan_core::CoreError;
use serde::Deserialize;

use super::collections::{item_role_choices, team_shares, ShareRow};
use super::{path_id, Choice, DoneQuery};
use crate::web::auth::FieldErrors;
use crate::web::pages::when;
use crate::web::{render, render_status, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/teams", get(teams_page).post(create))
        .route("/teams/{id}", get(team_page))
        .route("/teams/{id}/members", post(add_member))
        .route("/teams/{id}/members/{person}/remove", post(remove_member))
        .route("/teams/{id}/hubs", post(give_hub))
        .route("/teams/{id}/hubs/{hub}/revoke", post(take_hub))
}

/// One row of the teams table.
#[derive(Debug)]
struct TeamRow {
    id: String,
    name: String,
    kind: &'static str,
    external_id: String,
    updated: String,
}

#[derive(Debug, Default, Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(askama::Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    chrome: Chrome,
    teams: Vec<TeamRow>,
    form: NameForm,
    errors: FieldErrors,
}

fn kind_label(k: TeamKind) -> &'static str {
    match k {
        TeamKind::Managed => "self-managed",
        TeamKind::Idp => "identity provider",
    }
}

async fn teams_view(
    s: &AppState,
    user: &WebUser,
    form: NameForm,
    errors: FieldErrors,
) -> Result<TeamsPage, WebError> {
    permissions::require(user.actor.role, Action::PeopleManage)?;
    let teams = s
        .svc
        .teams()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .map(|t| TeamRow {
            id: t.id.to_string(),
            name: t.name,
            kind: kind_label(t.kind),
            external_id: t.external_id.unwrap_or_default(),
            updated: when(t.updated_at),
        })
        .collect();
    Ok(TeamsPage {
        chrome: user.chrome("Teams", "teams"),
        teams,
        form,
        errors,
    })
}

async fn teams_page(State(s): State<AppState>, user: WebUser) -> WebResult {
    let page = teams_view(&s, &user, NameForm::default(), FieldErrors::default()).await?;
    Ok(render(&page))
}

/// Makes an empty self-managed team, then shows it.
async fn create(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<NameForm>,
) -> WebResult {
    let input = TeamInput {
        name: f.name.clone(),
        ..TeamInput::default()
    };
    let made = s
        .svc
        .teams()
        .create(&user.actor.permit()?, TeamKind::Managed, input)
        .await;
    let (status, errors) = match made {
        Ok(t) => return Ok(see_other(&format!("/teams/{}?done=created", t.team.id))),
        Err(e @ CoreError::Validation { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::from_core(e))
        }
        Err(CoreError::Conflict(m)) => {
            (StatusCode::CONFLICT, FieldErrors(vec![("name".into(), m)]))
        }
        Err(e) => return Err(e.into()),
    };
    let page = teams_view(&s, &user, f, errors).await?;
    Ok(render_status(status, &page))
}

/// A member row.
#[derive(Debug)]
struct MemberRow {
    id: String,
    email: String,
    name: String,
    status: String,
}

/// A hub the team holds.
#[derive(Debug)]
struct HubRow {
    id: String,
    label: String,
    app_role: String,
    hub_role: String,
}

#[derive(askama::Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    id: String,
    name: String,
    kind: &'static str,
    managed: bool,
    members: Vec<MemberRow>,
    hubs: Vec<HubRow>,
    people: Vec<Choice>,
    hub_choices: Vec<Choice>,
    shares: Vec<ShareRow>,
    targets: Vec<Choice>,
    roles: Vec<Choice>,
    errors: FieldErrors,
}

async fn team_view(
    s: &AppState,
    user: &WebUser,
    id: TeamId,
    errors: FieldErrors,
) -> Result<TeamPage, WebError> {
    permissions::require(user.actor.role, Action::PeopleManage)?;
    let TeamView { team, members } = s.svc.teams().get(&user.actor.permit()?, id).await?;
    let people = s.svc.people().list(&user.actor.permit()?).await?;
    let by_id: HashMap<PersonId, _> = people.iter().map(|p| (p.id, p)).collect();
    let rows = members
        .iter()
        .map(|m| {
            let p = by_id.get(m);
            MemberRow {
                id: m.to_string(),
                email: p.map(|p| p.email.clone()).unwrap_or_else(|| m.to_string()),
                name: p.map(|p| p.name.clone()).unwrap_or_default(),
                status: p.map(|p| p.status.as_str().to_owned()).unwrap_or_default(),
            }
        })
        .collect();
    let hubs = s.svc.hubs().list(&user.actor.permit()?).await?;
    let labels: HashMap<HubId, String> = hubs.iter().map(|h| (h.id, h.label.clone())).collect();
    let held = s.svc.teams().grants(&user.actor.permit()?, id).await?;
    let hub_rows = held
        .iter()
        .map(|(h, g)| HubRow {
            id: h.to_string(),
            label: labels.get(h).cloned().unwrap_or_else(|| h.to_string()),
            app_role: g.app_role.clone(),
            hub_role: g.hub_role.as_str().into(),
        })
        .collect();
    let people = people
        .iter()
        .filter(|p| p.status != PersonStatus::Deactivated && !members.contains(&p.id))
        .map(|p| Choice {
            value: p.id.to_string(),
            label: format!("{} ({})", p.name, p.email),
            selected: false,
        })
        .collect();
    let hub_choices = hubs
        .iter()
        .map(|h| Choice {
            value: h.id.to_string(),
            label: h.label.clone(),
            selected: false,
        })
        .collect();
    let (shares, targets) = team_shares(s, user, id).await?;
    Ok(TeamPage {
        chrome: user.chrome(format!("Team {}", team.name), "teams"),
        id: team.id.to_string(),
        name: team.name,
        kind: kind_label(team.kind),
        managed: team.kind == TeamKind::Managed,
        members: rows,
        hubs: hub_rows,
        people,
        hub_choices,
        shares,
        targets,
        roles: item_role_choices(),
        errors,
    })
}

async fn team_page(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let id: TeamId = path_id(&id, "team")?;
    let mut page = team_view(&s, &user, id, FieldErrors::default()).await?;
    page.chrome.notice = match q.done.as_deref() {
        Some("created") => Some("The team was made. Add its members, then give it hubs.".into()),
        Some("members") => Some(
            "The members were changed; the bot brings the team's hubs in line at their next check."
                .into(),
        ),
        Some("hubs") => Some("The team's hubs were changed; the bot is checking them now.".into()),
        Some("shares") => Some(
            "The team's vaults, collections and accounts were changed: its members reach them (or \
             no longer do) from now on."
                .into(),
        ),
        _ => None,
    };
    Ok(render(&page))
}

/// A change, then the team page again: its notice, or the form's error on it.
pub(super) async fn after(
    s: &AppState,
    user: &WebUser,
    id: TeamId,
    done: &str,
    result: Result<(), CoreError>,
) -> WebResult {
    match result {
        Ok(()) => Ok(see_other(&format!("/teams/{id}?done={done}"))),
        Err(
            e @ (CoreError::Validation { .. } | CoreError::Forbidden(_) | CoreError::Conflict(_)),
        ) => {
            let status = match &e {
                CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
                CoreError::Conflict(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let errors = match e {
                e @ CoreError::Validation { .. } => FieldErrors::from_core(e),
                e => FieldErrors(vec![("general".into(), e.to_string())]),
            };
            let page = team_view(s, user, id, errors).await?;
            Ok(render_status(status, &page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct MemberForm {
    #[serde(default)]
    person_id: String,
}

/// Adds or removes one member of a self-managed team (the whole list is written over the
/// version read, so a concurrent change is never lost).
async fn change_members(
    s: &AppState,
    user: &WebUser,
    id: TeamId,
    change: impl Fn(&mut Vec<PersonId>),
) -> Result<(), CoreError> {
    let teams = s.svc.teams();
    castellan_core::service::retry_stale(|| async {
        let view = teams.get(&user.actor.permit()?, id).await?;
        let mut members = view.members.clone();
        change(&mut members);
        let input = TeamInput {
            name: view.team.name.clone(),
            external_id: view.team.external_id.clone(),
            members,
        };
        teams
            .replace(
                &user.actor.permit()?,
                id,
                TeamKind::Managed,
                Some(view.team.version),
                input,
            )
            .await
            .map(|_| ())
    })
    .await
}

async fn add_member(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<MemberForm>,
) -> WebResult {
    let id: TeamId = path_id(&id, "team")?;
    let result = match f.person_id.parse::<PersonId>() {
        Err(_) => Err(CoreError::invalid("person_id", "choose a person")),
        Ok(p) => change_members(&s, &user, id, |m| m.push(p)).await,
    };
    after(&s, &user, id, "members", result).await
}

async fn remove_member(
    State(s): State<AppState>,
    user: WebUser,
    Path((id, person)): Path<(String, String)>,
) -> WebResult {
    let id: TeamId = path_id(&id, "team")?;
    let person: PersonId = path_id(&person, "person")?;
    let result = change_members(&s, &user, id, |m| m.retain(|x| *x != person)).await;
    after(&s, &user, id, "members", result).await
}

#[derive(Debug, Default, Deserialize)]
struct HubForm {
    #[serde(default)]
    hub_id: String,
    #[serde(default)]
    app_role: String,
}

async fn give_hub(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<HubForm>,
) -> WebResult {
    let id: TeamId = path_id(&id, "team")?;
    let result = async {
        let hub: HubId = f
            .hub_id
            .parse()
            .map_err(|_| CoreError::invalid("hub_id", "choose a hub"))?;
        let role = Some(f.app_role.trim().to_owned()).filter(|r| !r.is_empty());
        s.svc
            .teams()
            .grant_hub(&user.actor.permit()?, hub, id, None, role)
            .await
    }
    .await;
    after(&s, &user, id, "hubs", result).await
}

async fn take_hub(
    State(s): State<AppState>,
    user: WebUser,
    Path((id, hub)): Path<(String, String)>,
) -> WebResult {
    let id: TeamId = path_id(&id, "team")?;
    let hub: HubId = path_id(&hub, "hub")?;
    let result = s
        .svc
        .teams()
        .revoke_hub(&user.actor.permit()?, hub, id)
        .await;
    after(&s, &user, id, "hubs", result).await
}
