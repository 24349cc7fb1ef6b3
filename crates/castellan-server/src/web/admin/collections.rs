//! Collections (named sets of accounts shared together) with their accounts and the people
//! who hold them, and what a team holds of vaults, collections and accounts (shown on the
//! team's page, [`super::teams`]).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::collection::{CollectionId, Grantee, ItemTarget, Share};
use castellan_core::ids::{AccountId, PersonId};
use castellan_core::model::{ItemRole, PersonStatus};
use castellan_core::permissions::{self, Action};
use castellan_core::service::{CollectionInput, CollectionView};
use castellan_core::team::TeamId;
use castellan_core::CoreError;
use serde::Deserialize;

use super::{path_id, Choice, DoneQuery};
use crate::web::auth::FieldErrors;
use crate::web::pages::when;
use crate::web::{render, render_status, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/collections", get(collections_page).post(create))
        .route("/collections/{id}", get(collection_page))
        .route("/collections/{id}/accounts", post(add_account))
        .route(
            "/collections/{id}/accounts/{account}/remove",
            post(remove_account),
        )
        .route("/collections/{id}/access", post(share_with_person))
        .route(
            "/collections/{id}/access/{person}/remove",
            post(unshare_person),
        )
        .route("/teams/{id}/shares", post(share_with_team))
        .route(
            "/teams/{id}/shares/{kind}/{target}/remove",
            post(unshare_team),
        )
}

/// One row of a table of shares: who or what, and the role.
#[derive(Debug)]
pub(super) struct ShareRow {
    pub(super) kind: &'static str,
    pub(super) id: String,
    pub(super) name: String,
    pub(super) role: String,
}

/// The item roles, as `<select>` choices.
pub(super) fn item_role_choices() -> Vec<Choice> {
    ItemRole::ALL
        .iter()
        .rev()
        .map(|r| Choice {
            value: r.as_str().into(),
            label: r.as_str().into(),
            selected: *r == ItemRole::Collaborator,
        })
        .collect()
}

/// A team's shares as rows, and every vault, collection and account it could be given (value
/// `kind:id`).
pub(super) async fn team_shares(
    s: &AppState,
    user: &WebUser,
    team: TeamId,
) -> Result<(Vec<ShareRow>, Vec<Choice>), WebError> {
    let held = s
        .svc
        .shares()
        .of(&user.actor.permit()?, Grantee::Team(team))
        .await?;
    let mut names: HashMap<ItemTarget, String> = HashMap::new();
    for v in s.svc.vaults().list(&user.actor.permit()?).await? {
        names.insert(ItemTarget::Vault(v.id), format!("vault {}", v.name));
    }
    for c in s.svc.collections().list(&user.actor.permit()?).await? {
        names.insert(
            ItemTarget::Collection(c.id),
            format!("collection {}", c.name),
        );
    }
    let accounts = s
        .svc
        .accounts()
        .list(&user.actor.permit()?, None, None, None)
        .await?;
    for a in accounts {
        names.insert(ItemTarget::Account(a.id), format!("account {}", a.label));
    }
    let rows = held
        .iter()
        .map(|sh| ShareRow {
            kind: sh.target.kind(),
            id: sh.target.id_string(),
            name: names
                .get(&sh.target)
                .cloned()
                .unwrap_or_else(|| sh.target.id_string()),
            role: sh.role.as_str().into(),
        })
        .collect();
    let mut choices: Vec<(ItemTarget, String)> = names.into_iter().collect();
    choices.sort_by_key(|c| c.1.to_lowercase());
    let choices = choices
        .into_iter()
        .map(|(t, label)| Choice {
            value: format!("{}:{}", t.kind(), t.id_string()),
            label,
            selected: false,
        })
        .collect();
    Ok((rows, choices))
}

#[derive(Debug, Default, Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

#[derive(Debug)]
struct CollectionRow {
    id: String,
    name: String,
    description: String,
    updated: String,
}

#[derive(askama::Template)]
#[template(path = "collections.html")]
struct CollectionsPage {
    chrome: Chrome,
    collections: Vec<CollectionRow>,
    form: NameForm,
    errors: FieldErrors,
}

async fn collections_view(
    s: &AppState,
    user: &WebUser,
    form: NameForm,
    errors: FieldErrors,
) -> Result<CollectionsPage, WebError> {
    permissions::require(user.actor.role, Action::VaultManage)?;
    let collections = s
        .svc
        .collections()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .map(|c| CollectionRow {
            id: c.id.to_string(),
            name: c.name,
            description: c.description.unwrap_or_default(),
            updated: when(c.updated_at),
        })
        .collect();
    Ok(CollectionsPage {
        chrome: user.chrome("Collections", "collections"),
        collections,
        form,
        errors,
    })
}

async fn collections_page(State(s): State<AppState>, user: WebUser) -> WebResult {
    let page = collections_view(&s, &user, NameForm::default(), FieldErrors::default()).await?;
    Ok(render(&page))
}

async fn create(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<NameForm>,
) -> WebResult {
    let input = CollectionInput {
        name: f.name.clone(),
        ..CollectionInput::default()
    };
    let made = s
        .svc
        .collections()
        .create(&user.actor.permit()?, input)
        .await;
    let (status, errors) = match made {
        Ok(c) => {
            let id = c.collection.id;
            return Ok(see_other(&format!("/collections/{id}?done=created")));
        }
        Err(e @ CoreError::Validation { .. }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::from_core(e))
        }
        Err(CoreError::Conflict(m)) => {
            (StatusCode::CONFLICT, FieldErrors(vec![("name".into(), m)]))
        }
        Err(e) => return Err(e.into()),
    };
    let page = collections_view(&s, &user, f, errors).await?;
    Ok(render_status(status, &page))
}

#[derive(askama::Template)]
#[template(path = "collection.html")]
struct CollectionPage {
    chrome: Chrome,
    id: String,
    name: String,
    description: String,
    accounts: Vec<ShareRow>,
    account_choices: Vec<Choice>,
    people: Vec<ShareRow>,
    person_choices: Vec<Choice>,
    roles: Vec<Choice>,
    errors: FieldErrors,
}

async fn collection_view(
    s: &AppState,
    user: &WebUser,
    id: CollectionId,
    errors: FieldErrors,
) -> Result<CollectionPage, WebError> {
    permissions::require(user.actor.role, Action::VaultManage)?;
    let CollectionView {
        collection,
        accounts,
    } = s.svc.collections().get(&user.actor.permit()?, id).await?;
    let all = s
        .svc
        .accounts()
        .list(&user.actor.permit()?, None, None, None)
        .await?;
    let label: HashMap<AccountId, String> = all.iter().map(|a| (a.id, a.label.clone())).collect();
    let account_rows = accounts
        .iter()
        .map(|a| ShareRow {
            kind: "account",
            id: a.to_string(),
            name: label.get(a).cloned().unwrap_or_else(|| a.to_string()),
            role: String::new(),
        })
        .collect();
    let account_choices = all
        .iter()
        .filter(|a| !accounts.contains(&a.id))
        .map(|a| Choice {
            value: a.id.to_string(),
            label: a.label.clone(),
            selected: false,
        })
        .collect();
    let people = s.svc.people().list(&user.actor.permit()?).await?;
    let email: HashMap<PersonId, String> = people.iter().map(|p| (p.id, p.email.clone())).collect();
    let teams: HashMap<TeamId, String> = s
        .svc
        .teams()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let shares: Vec<Share> = s
        .svc
        .shares()
        .on(&user.actor.permit()?, ItemTarget::Collection(id))
        .await?;
    let holders = shares
        .iter()
        .map(|sh| match sh.grantee {
            Grantee::Person(p) => ShareRow {
                kind: "person",
                id: p.to_string(),
                name: email.get(&p).cloned().unwrap_or_else(|| p.to_string()),
                role: sh.role.as_str().into(),
            },
            Grantee::Team(t) => ShareRow {
                kind: "team",
                id: t.to_string(),
                name: teams.get(&t).cloned().unwrap_or_else(|| t.to_string()),
                role: sh.role.as_str().into(),
            },
        })
        .collect();
    let person_choices = people
        .iter()
        .filter(|p| p.status != PersonStatus::Deactivated)
        .map(|p| Choice {
            value: p.id.to_string(),
            label: format!("{} ({})", p.name, p.email),
            selected: false,
        })
        .collect();
    Ok(CollectionPage {
        chrome: user.chrome(format!("Collection {}", collection.name), "collections"),
        id: collection.id.to_string(),
        name: collection.name,
        description: collection.description.unwrap_or_default(),
        accounts: account_rows,
        account_choices,
        people: holders,
        person_choices,
        roles: item_role_choices(),
        errors,
    })
}

async fn collection_page(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> WebResult {
    let id: CollectionId = path_id(&id, "collection")?;
    let mut page = collection_view(&s, &user, id, FieldErrors::default()).await?;
    page.chrome.notice = match q.done.as_deref() {
        Some("created") => Some("The collection was made. Add its accounts, then share it.".into()),
        Some("accounts") => Some("The accounts were changed.".into()),
        Some("access") => Some("Who holds the collection was changed.".into()),
        _ => None,
    };
    Ok(render(&page))
}

/// The status and errors of a refused change, for the form that made it.
fn refused(e: CoreError) -> Result<(StatusCode, FieldErrors), WebError> {
    Ok(match e {
        e @ CoreError::Validation { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::from_core(e))
        }
        e @ (CoreError::Forbidden(_) | CoreError::Conflict(_) | CoreError::Stale { .. }) => {
            let status = match &e {
                CoreError::Forbidden(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::CONFLICT,
            };
            (status, FieldErrors(vec![("general".into(), e.to_string())]))
        }
        e => return Err(e.into()),
    })
}

async fn after_collection(
    s: &AppState,
    user: &WebUser,
    id: CollectionId,
    done: &str,
    result: Result<(), CoreError>,
) -> WebResult {
    match result {
        Ok(()) => Ok(see_other(&format!("/collections/{id}?done={done}"))),
        Err(e) => {
            let (status, errors) = refused(e)?;
            let page = collection_view(s, user, id, errors).await?;
            Ok(render_status(status, &page))
        }
    }
}

/// Adds or removes one account (the whole list is written over the version read).
async fn change_accounts(
    s: &AppState,
    user: &WebUser,
    id: CollectionId,
    change: impl Fn(&mut Vec<AccountId>),
) -> Result<(), CoreError> {
    let collections = s.svc.collections();
    castellan_core::service::retry_stale(|| async {
        let view = collections.get(&user.actor.permit()?, id).await?;
        let mut accounts = view.accounts.clone();
        change(&mut accounts);
        let input = CollectionInput {
            name: view.collection.name.clone(),
            description: view.collection.description.clone(),
            accounts,
        };
        let version = Some(view.collection.version);
        collections
            .replace(&user.actor.permit()?, id, version, input)
            .await
            .map(|_| ())
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
struct AccountForm {
    #[serde(default)]
    account_id: String,
}

async fn add_account(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<AccountForm>,
) -> WebResult {
    let id: CollectionId = path_id(&id, "collection")?;
    let result = match f.account_id.parse::<AccountId>() {
        Err(_) => Err(CoreError::invalid("account_id", "choose an account")),
        Ok(a) => change_accounts(&s, &user, id, |l| l.push(a)).await,
    };
    after_collection(&s, &user, id, "accounts", result).await
}

async fn remove_account(
    State(s): State<AppState>,
    user: WebUser,
    Path((id, account)): Path<(String, String)>,
) -> WebResult {
    let id: CollectionId = path_id(&id, "collection")?;
    let account: AccountId = path_id(&account, "account")?;
    let result = change_accounts(&s, &user, id, |l| l.retain(|x| *x != account)).await;
    after_collection(&s, &user, id, "accounts", result).await
}

#[derive(Debug, Default, Deserialize)]
struct ShareForm {
    #[serde(default)]
    grantee: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    role: String,
}

fn role_of(f: &ShareForm) -> Result<ItemRole, CoreError> {
    f.role
        .parse()
        .map_err(|_| CoreError::invalid("role", "choose an item role"))
}

async fn share_with_person(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<ShareForm>,
) -> WebResult {
    let id: CollectionId = path_id(&id, "collection")?;
    let result = async {
        let person: PersonId = f
            .grantee
            .parse()
            .map_err(|_| CoreError::invalid("grantee", "choose a person"))?;
        let (who, what) = (Grantee::Person(person), ItemTarget::Collection(id));
        s.svc
            .shares()
            .set(&user.actor.permit()?, who, what, Some(role_of(&f)?))
            .await
    }
    .await;
    after_collection(&s, &user, id, "access", result).await
}

async fn unshare_person(
    State(s): State<AppState>,
    user: WebUser,
    Path((id, person)): Path<(String, String)>,
) -> WebResult {
    let id: CollectionId = path_id(&id, "collection")?;
    let person: PersonId = path_id(&person, "person")?;
    let (who, what) = (Grantee::Person(person), ItemTarget::Collection(id));
    let result = s
        .svc
        .shares()
        .set(&user.actor.permit()?, who, what, None)
        .await;
    after_collection(&s, &user, id, "access", result).await
}

/// `kind:id` from a share form's target choice.
fn target_of(value: &str) -> Result<ItemTarget, CoreError> {
    let bad = || CoreError::invalid("target", "choose a vault, a collection or an account");
    let (kind, id) = value.split_once(':').ok_or_else(bad)?;
    Ok(match kind {
        "vault" => ItemTarget::Vault(id.parse().map_err(|_| bad())?),
        "collection" => ItemTarget::Collection(id.parse().map_err(|_| bad())?),
        "account" => ItemTarget::Account(id.parse().map_err(|_| bad())?),
        _ => return Err(bad()),
    })
}

async fn share_with_team(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
    WebForm(f): WebForm<ShareForm>,
) -> WebResult {
    let id: TeamId = path_id(&id, "team")?;
    let result = async {
        let what = target_of(&f.target)?;
        s.svc
            .shares()
            .set(
                &user.actor.permit()?,
                Grantee::Team(id),
                what,
                Some(role_of(&f)?),
            )
            .await
    }
    .await;
    super::teams::after(&s, &user, id, "shares", result).await
}

async fn unshare_team(
    State(s): State<AppState>,
    user: WebUser,
    Path((id, kind, target)): Path<(String, String, String)>,
) -> WebResult {
    let id: TeamId = path_id(&id, "team")?;
    let result = async {
        let what = target_of(&format!("{kind}:{target}"))?;
        s.svc
            .shares()
            .set(&user.actor.permit()?, Grantee::Team(id), what, None)
            .await
    }
    .await;
    super::teams::after(&s, &user, id, "shares", result).await
}
