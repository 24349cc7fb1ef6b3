//! Vaults: the list, creating a cloud vault, and who can reach a vault with which item role.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::ids::{PersonId, VaultId};
use castellan_core::model::{ItemRole, PersonStatus};
use castellan_core::permissions::{self, Action};
use castellan_core::service::NewVault;
use castellan_core::validate::LookAlike;
use castellan_core::CoreError;
use serde::Deserialize;

use super::{path_id, Choice, DoneQuery};
use crate::web::auth::FieldErrors;
use crate::web::pages::when;
use crate::web::{render, render_status, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/vaults", get(vaults_page).post(create))
        .route("/vaults/{id}", get(vault_page))
        .route("/vaults/{id}/access", post(set_access))
}

/// One row of the vaults table.
#[derive(Debug)]
struct VaultRow {
    id: String,
    name: String,
    kind: String,
    description: String,
    is_default: bool,
    created: String,
}

/// What the new-vault form holds.
#[derive(Debug, Default, Deserialize)]
struct VaultForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    /// `1` when the look-alike confirmation box is ticked.
    #[serde(default)]
    confirm_confusable: String,
}

#[derive(askama::Template)]
#[template(path = "vaults.html")]
struct VaultsPage {
    chrome: Chrome,
    vaults: Vec<VaultRow>,
    form: VaultForm,
    errors: FieldErrors,
}

async fn vaults_view(
    s: &AppState,
    user: &WebUser,
    form: VaultForm,
    errors: FieldErrors,
) -> Result<VaultsPage, WebError> {
    permissions::require(user.actor.role, Action::VaultManage)?;
    let vaults = s
        .svc
        .vaults()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .map(|v| VaultRow {
            id: v.id.to_string(),
            name: v.name,
            kind: v.kind.as_str().into(),
            description: v.description.unwrap_or_default(),
            is_default: v.is_default,
            created: when(v.created_at),
        })
        .collect();
    Ok(VaultsPage {
        chrome: user.chrome("Vaults", "vaults"),
        vaults,
        form,
        errors,
    })
}

async fn vaults_page(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let mut page = vaults_view(&s, &user, VaultForm::default(), FieldErrors::default()).await?;
    if q.done.as_deref() == Some("created") {
        page.chrome.notice = Some("The vault was created. You are its owner.".into());
    }
    Ok(render(&page))
}

/// Creates a cloud vault, then shows its access page.
async fn create(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<VaultForm>,
) -> WebResult {
    let input = NewVault {
        name: f.name.clone(),
        description: Some(f.description.clone()).filter(|d| !d.trim().is_empty()),
        kind: None,
    };
    let look_alike = LookAlike::confirmed(f.confirm_confusable == "1");
    let created = s
        .svc
        .vaults()
        .create_checked(&user.actor.permit()?, input, look_alike)
        .await;
    let (status, errors) = match created {
        Ok(v) => return Ok(see_other(&format!("/vaults/{}?done=created", v.id))),
        Err(e @ CoreError::Validation { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::from_core(e))
        }
        Err(CoreError::Conflict(m)) => {
            (StatusCode::CONFLICT, FieldErrors(vec![("name".into(), m)]))
        }
        Err(e) => return Err(e.into()),
    };
    let page = vaults_view(&s, &user, f, errors).await?;
    Ok(render_status(status, &page))
}

/// One person's access to the vault.
#[derive(Debug)]
struct AccessRow {
    email: String,
    name: String,
    role: String,
}

#[derive(askama::Template)]
#[template(path = "vaults_detail.html")]
struct VaultPage {
    chrome: Chrome,
    id: String,
    name: String,
    kind: String,
    description: String,
    access: Vec<AccessRow>,
    people: Vec<Choice>,
    roles: Vec<Choice>,
    errors: FieldErrors,
}

/// The item roles for the access form, plus "no access" (revoke).
fn item_role_choices(selected: &str) -> Vec<Choice> {
    ItemRole::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str().into(),
            label: r.as_str().into(),
            selected: r.as_str() == selected,
        })
        .chain(std::iter::once(Choice {
            value: "none".into(),
            label: "no access".into(),
            selected: selected == "none",
        }))
        .collect()
}

async fn vault_view(
    s: &AppState,
    user: &WebUser,
    id: VaultId,
    form: &AccessForm,
    errors: FieldErrors,
) -> Result<VaultPage, WebError> {
    permissions::require(user.actor.role, Action::VaultManage)?;
    let v = s.svc.vaults().get(&user.actor.permit()?, id).await?;
    let grants = s.svc.vaults().access(&user.actor.permit()?, id).await?;
    let people = s.svc.people().list(&user.actor.permit()?).await?;
    let by_id: HashMap<PersonId, _> = people.iter().map(|p| (p.id, p)).collect();
    let mut access: Vec<AccessRow> = grants
        .iter()
        .map(|g| {
            let p = by_id.get(&g.person_id);
            AccessRow {
                email: p
                    .map(|p| p.email.clone())
                    .unwrap_or_else(|| g.person_id.to_string()),
                name: p.map(|p| p.name.clone()).unwrap_or_default(),
                role: g.role.as_str().into(),
            }
        })
        .collect();
    access.sort_by(|a, b| a.email.cmp(&b.email));
    let people = people
        .iter()
        .filter(|p| p.status != PersonStatus::Deactivated)
        .map(|p| Choice {
            value: p.id.to_string(),
            label: format!("{} ({})", p.name, p.email),
            selected: p.id.to_string() == form.person_id,
        })
        .collect();
    let role = if form.role.is_empty() {
        ItemRole::Collaborator.as_str()
    } else {
        form.role.as_str()
    };
    Ok(VaultPage {
        chrome: user.chrome(format!("Vault {}", v.name), "vaults"),
        id: v.id.to_string(),
        name: v.name,
        kind: v.kind.as_str().into(),
        description: v.description.unwrap_or_default(),
        access,
        people,
        roles: item_role_choices(role),
        errors,
    })
}

async fn vault_page(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let id: VaultId = path_id(&id, "vault")?;
    let mut page = vault_view(
        &s,
        &user,
        id,
        &AccessForm::default(),
        FieldErrors::default(),
    )
    .await?;
    page.chrome.notice = match q.done.as_deref() {
        Some("created") => Some("The vault was created. You are its owner.".into()),
        Some("access") => Some("Access was changed.".into()),
        _ => None,
    };
    Ok(render(&page))
}

/// The access form: a person and an item role (`none` revokes).
#[derive(Debug, Default, Deserialize)]
struct AccessForm {
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    role: String,
}

/// Grants (or revokes) a person's access to the vault.
async fn set_access(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<AccessForm>,
) -> WebResult {
    let id: VaultId = path_id(&id, "vault")?;
    let result = async {
        let person: PersonId = f
            .person_id
            .parse()
            .map_err(|_| CoreError::invalid("person_id", "choose a person"))?;
        let role = match f.role.as_str() {
            "none" => None,
            r => Some(r.parse::<ItemRole>().map_err(|_| {
                CoreError::invalid("role", "choose owner, manager, collaborator or no access")
            })?),
        };
        s.svc
            .vaults()
            .set_access(&user.actor.permit()?, id, person, role)
            .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("/vaults/{id}?done=access"))),
        Err(e @ CoreError::Validation { .. }) => {
            let page = vault_view(&s, &user, id, &f, FieldErrors::from_core(e)).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}
