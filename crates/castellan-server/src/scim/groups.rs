//! `/scim/v2/Groups` (RFC 7644 §3.3 create, §3.4 read and query, §3.5 PUT and PATCH, §3.6
//! DELETE) backed by the teams the identity provider keeps (`TeamKind::Idp`; teams admins
//! keep in Castellan are not SCIM's and answer 404).
//!
//! A team as a SCIM Group (RFC 7643 §4.2): `id` the team id, `displayName` the name,
//! `externalId`, `members` (each `{"value": <User id>, "$ref", "type": "User"}`),
//! `meta` with the team's version as its ETag. Filters and PATCH work on that JSON
//! ([`castellan_scim`]: Okta's `members[value eq "…"]` removals and Entra ID's `Add`/`Remove`
//! with `value` arrays alike); what changed is written through `Teams::create`, `replace` and
//! `delete`, so members who join get the team's hubs and members who leave lose them.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::activity::Actor;
use castellan_core::ids::PersonId;
use castellan_core::service::{retry_stale, TeamInput, TeamView};
use castellan_core::team::{TeamId, TeamKind};
use castellan_core::CoreError;
use castellan_scim::{patch, CoreSchema, Op, PatchOp, PatchPath, ScimType, CORE_GROUP};
use serde_json::{json, Value};

use super::query::{
    etag, if_match, list_response, matched_version, read_query, resource_response, search_query,
    under_if_match, ListQuery,
};
use super::user_json::get_ci;
use super::{base_url, ScimAuth, ScimBody, ScimError, ScimResult};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/Groups", get(list_groups).post(create_group))
        .route("/Groups/.search", post(search_groups))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
}

/// A team as a SCIM Group resource. Members carry `value`, `$ref` and `type` (no `display`:
/// an identity provider keeps its own names, and a member reads back as it was written).
pub(super) fn to_scim(t: &TeamView, base: &str) -> Value {
    let members: Vec<Value> = t
        .members
        .iter()
        .map(|p| {
            json!({
                "value": p.to_string(),
                "$ref": format!("{base}/scim/v2/Users/{p}"),
                "type": "User",
            })
        })
        .collect();
    let mut v = json!({
        "schemas": [CORE_GROUP],
        "id": t.team.id.to_string(),
        "displayName": t.team.name,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": t.team.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": t.team.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": location(base, t.team.id),
            "version": etag(t.team.version),
        },
    });
    if let Some(x) = &t.team.external_id {
        v["externalId"] = x.clone().into();
    }
    v
}

fn location(base: &str, id: TeamId) -> String {
    format!("{base}/scim/v2/Groups/{id}")
}

fn group_response(status: StatusCode, t: &TeamView, base: &str, q: Option<&ListQuery>) -> Response {
    let v = to_scim(t, base);
    resource_response(status, v, &location(base, t.team.id), t.team.version, q)
}

fn not_found() -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, "no Group has this id")
}

fn team_id(id: &str) -> ScimResult<TeamId> {
    id.parse::<TeamId>().map_err(|_| not_found())
}

/// A team as SCIM sees it: only the identity provider's own.
async fn idp_team(s: &AppState, a: &Actor, id: TeamId) -> ScimResult<TeamView> {
    let t = s
        .svc
        .teams()
        .get(&a.permit()?, id)
        .await
        .map_err(|e| match e {
            CoreError::NotFound { .. } => not_found(),
            e => e.into(),
        })?;
    if t.team.kind != TeamKind::Idp {
        return Err(not_found());
    }
    Ok(t)
}

/// A core error of a Group write: a missing team is SCIM's 404, a stale version under
/// `If-Match` 412, and a validation error names the SCIM attribute (`displayName`,
/// `externalId`) rather than Castellan's field.
fn write_error(e: CoreError, under_if_match_header: bool) -> ScimError {
    match e {
        CoreError::NotFound { kind: "team" } => not_found(),
        CoreError::Validation { field, message } => {
            let field = match field.as_str() {
                "name" => "displayName".to_owned(),
                "external_id" => "externalId".to_owned(),
                _ => field,
            };
            ScimError::bad("invalidValue", format!("{field}: {message}"))
        }
        e => under_if_match(e, under_if_match_header.then_some(())),
    }
}

/// What a Group body gives a team: `displayName` (required), `externalId`, and `members`
/// (each a User id in `value`; a member of another `type` than `User`, a nested group, is
/// refused). Errors: 400 `invalidValue` naming the attribute.
fn from_scim(v: &Value) -> ScimResult<TeamInput> {
    let text = |k: &str| -> ScimResult<Option<String>> {
        match get_ci(v, k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::bad(
                "invalidValue",
                format!("`{k}` must be a string"),
            )),
        }
    };
    let name = text("displayName")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "`displayName` is required"))?;
    let external_id = text("externalId")?;
    let members = match get_ci(v, "members") {
        None => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, m)| member_id(i, m))
            .collect::<ScimResult<Vec<_>>>()?,
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                "`members` must be an array of {\"value\": <User id>}",
            ))
        }
    };
    Ok(TeamInput {
        name,
        external_id,
        members,
    })
}

fn member_id(i: usize, m: &Value) -> ScimResult<PersonId> {
    if let Some(t) = get_ci(m, "type").and_then(Value::as_str) {
        if !t.eq_ignore_ascii_case("User") {
            return Err(ScimError::bad(
                "invalidValue",
                format!("members[{i}]: only Users can be members (nested groups are not kept)"),
            ));
        }
    }
    let value = get_ci(m, "value").and_then(Value::as_str).ok_or_else(|| {
        ScimError::bad(
            "invalidValue",
            format!("members[{i}].value is required (a User id)"),
        )
    })?;
    value.parse::<PersonId>().map_err(|_| {
        ScimError::bad(
            "invalidValue",
            format!("members[{i}].value is not the id of a User of this service provider"),
        )
    })
}

/// `POST /scim/v2/Groups` (RFC 7644 §3.3): 201 with the new Group. A Group with the
/// `displayName` or `externalId` is 409 `uniqueness`; an unknown member 400 `invalidValue`.
async fn create_group(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let input = from_scim(&body)?;
    let t = s
        .svc
        .teams()
        .create(&a.permit()?, TeamKind::Idp, input)
        .await
        .map_err(|e| write_error(e, false))?;
    let base = base_url(&s, &headers);
    Ok(group_response(StatusCode::CREATED, &t, &base, None))
}

/// `GET /scim/v2/Groups/{id}` (RFC 7644 §3.4.1), with `attributes`/`excludedAttributes`.
async fn get_group(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ScimResult<Response> {
    let q = read_query(q)?;
    let t = idp_team(&s, &a, team_id(&id)?).await?;
    let base = base_url(&s, &headers);
    Ok(group_response(StatusCode::OK, &t, &base, Some(&q)))
}

/// `GET /scim/v2/Groups?filter=…` (RFC 7644 §3.4.2): a ListResponse of the identity provider's
/// teams (`displayName eq "…"`, `externalId eq "…"`, `members[value eq "…"]`, …).
async fn list_groups(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ScimResult<Response> {
    list(&s, &a, &headers, read_query(q)?).await
}

/// `POST /scim/v2/Groups/.search` (RFC 7644 §3.4.3).
async fn search_groups(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let q = search_query(&body)?;
    list(&s, &a, &headers, q).await
}

async fn list(s: &AppState, a: &Actor, headers: &HeaderMap, q: ListQuery) -> ScimResult<Response> {
    let base = base_url(s, headers);
    list_response(all_groups(s, a, &base).await?, &q, &[CoreSchema::Group])
}

/// Every Group (the identity provider's teams) as SCIM JSON.
pub(super) async fn all_groups(s: &AppState, a: &Actor, base: &str) -> ScimResult<Vec<Value>> {
    let teams = s.svc.teams();
    let mut all = vec![];
    for t in teams.list(&a.permit()?).await? {
        if t.kind != TeamKind::Idp {
            continue;
        }
        let view = teams.get(&a.permit()?, t.id).await?;
        all.push(to_scim(&view, base));
    }
    Ok(all)
}

/// `PUT /scim/v2/Groups/{id}` (RFC 7644 §3.5.1): replaces `displayName`, `externalId` and
/// `members`. With `If-Match`, only over that version, else 412.
async fn replace_group(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let id = team_id(&id)?;
    let tags = if_match(&headers)?;
    let current = idp_team(&s, &a, id).await?;
    let input = from_scim(&body)?;
    let version = matched_version(tags.as_deref(), current.team.version)?;
    let t = s
        .svc
        .teams()
        .replace(&a.permit()?, id, TeamKind::Idp, version, input)
        .await
        .map_err(|e| write_error(e, version.is_some()))?;
    let base = base_url(&s, &headers);
    Ok(group_response(StatusCode::OK, &t, &base, None))
}

/// `PATCH /scim/v2/Groups/{id}` (RFC 7644 §3.5.2): the operations are applied, atomically, to
/// the Group's JSON and the name, external id and members written over the version they were
/// applied to (again to the new state when another change lands meanwhile; with `If-Match`
/// only to that version, else 412). 200 with the Group. Errors: the PATCH errors of RFC 7644
/// §3.12, 400 `invalidValue` for an unknown member, 409 `uniqueness` for a taken name.
async fn patch_group(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let id = team_id(&id)?;
    let tags = if_match(&headers)?;
    let base = base_url(&s, &headers);
    let ops = patch::parse_request(&body, &CoreSchema::Group)
        .map_err(|e| ScimError::bad(e.scim_type(), e.detail()))?;
    let teams = s.svc.teams();
    let attempt = || async {
        let current = match idp_team(&s, &a, id).await {
            Ok(t) => t,
            Err(e) => return Ok(Err(e)),
        };
        if tags
            .as_ref()
            .is_some_and(|t| !t.contains(&current.team.version))
        {
            return Err(CoreError::Stale { kind: "team" });
        }
        let mut after = to_scim(&current, &base);
        let input = apply_ops(&mut after, &ops).and_then(|()| from_scim(&after));
        let input = match input {
            Ok(i) => i,
            Err(e) => return Ok(Err(e)),
        };
        teams
            .replace(
                &a.permit()?,
                id,
                TeamKind::Idp,
                Some(current.team.version),
                input,
            )
            .await
            .map(Ok)
    };
    let done = match tags {
        Some(_) => attempt().await,
        None => retry_stale(attempt).await,
    };
    let t = done.map_err(|e| write_error(e, tags.is_some()))??;
    Ok(group_response(StatusCode::OK, &t, &base, None))
}

/// Whether `op` removes members by a value filter (`members[value eq "…"]`, Okta's form).
fn removes_members(op: &PatchOp) -> bool {
    op.op == Op::Remove
        && matches!(&op.path, Some(PatchPath::ValuePath { path, .. })
            if path.attr.eq_ignore_ascii_case("members"))
}

/// Applies the operations in order to a Group's JSON, all or nothing (the caller writes only
/// on success). A removal of members by a value filter that matches none is done already (the
/// member left, e.g. deleted by the identity provider) and changes nothing, where RFC 7644
/// §3.5.2.2 would answer `noTarget`: Okta retries a failed removal, and a member already gone
/// must not stop its sync. Errors: the PATCH errors, naming the operation's position.
fn apply_ops(group: &mut Value, ops: &[PatchOp]) -> ScimResult<()> {
    let mut work = group.clone();
    for (i, op) in ops.iter().enumerate() {
        match patch::apply(&mut work, std::slice::from_ref(op), &CoreSchema::Group) {
            Ok(()) => {}
            Err(e) if e.kind() == ScimType::NoTarget && removes_members(op) => {}
            Err(e) => {
                let detail = e
                    .detail()
                    .replacen("Operations[0]", &format!("Operations[{i}]"), 1);
                return Err(ScimError::bad(e.scim_type(), detail));
            }
        }
    }
    *group = work;
    Ok(())
}

/// `DELETE /scim/v2/Groups/{id}` (RFC 7644 §3.6): 204; the team is deleted and its members
/// lose its hubs. With `If-Match`, only over that version, else 412.
async fn delete_group(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    let id = team_id(&id)?;
    let tags = if_match(&headers)?;
    let current = idp_team(&s, &a, id).await?;
    let version = matched_version(tags.as_deref(), current.team.version)?;
    s.svc
        .teams()
        .delete(&a.permit()?, id, TeamKind::Idp, version)
        .await
        .map_err(|e| write_error(e, version.is_some()))?;
    Ok(StatusCode::NO_CONTENT)
}
