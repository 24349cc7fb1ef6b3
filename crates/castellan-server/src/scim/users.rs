//! `/scim/v2/Users` (RFC 7644 §3.3 create, §3.4 read and query, §3.5 PUT and PATCH, §3.6
//! DELETE) backed by Castellan's people.
//!
//! A person as a SCIM User (RFC 7643 §4.1): `id` the person id, `userName`, `emails` as the
//! identity provider wrote them (RFC 7643 §4.1.2: `value`, `type`, `primary`, `display`; the
//! person's email is the primary one, else the first `work` one, else the first),
//! `name.formatted` and `displayName` the name, `externalId`, `active` (false when
//! deactivated), `meta`. Filters ([`castellan_scim::filter`]) and PATCH
//! ([`castellan_scim::patch`]) work on that JSON; what changed is written through
//! `People::provision`, `reprovision` and `deprovision`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::ids::PersonId;
use castellan_core::model::{Person, PersonStatus};
use castellan_core::service::retry_stale;
use castellan_core::CoreError;
use castellan_scim::{patch, CoreSchema, CORE_USER};
use serde_json::{json, Value};

use super::query::{
    etag, if_match, list_response, matched_version, read_query, resource_response, search_query,
    under_if_match, ListQuery,
};
use super::user_json::{
    follow_email_change, from_scim, get_ci, refuse_blank_names, refuse_unkept_changes, scim_emails,
};
use super::{base_url, ScimAuth, ScimBody, ScimError, ScimResult};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", post(search_users))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
}

/// A person as a SCIM User resource.
fn to_scim(p: &Person, base: &str) -> Value {
    let mut v = json!({
        "schemas": [CORE_USER],
        "id": p.id.to_string(),
        "userName": p.user_name.as_deref().unwrap_or(&p.email),
        "name": { "formatted": p.name },
        "displayName": p.name,
        "active": p.status != PersonStatus::Deactivated,
        "emails": scim_emails(p),
        "meta": {
            "resourceType": "User",
            "created": p.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "lastModified": p.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "location": format!("{base}/scim/v2/Users/{}", p.id),
            "version": etag(p.version),
        },
    });
    if let Some(x) = &p.external_id {
        v["externalId"] = x.clone().into();
    }
    if let Some(x) = &p.given_name {
        v["name"]["givenName"] = x.clone().into();
    }
    if let Some(x) = &p.family_name {
        v["name"]["familyName"] = x.clone().into();
    }
    v
}

/// The version a write must happen over: `None` without `If-Match`; the person's current
/// version when the header names it; else 412.
async fn version_to_match(
    s: &AppState,
    a: &ScimAuth,
    id: PersonId,
    tags: Option<&[i64]>,
) -> ScimResult<Option<i64>> {
    if tags.is_none() {
        return Ok(None);
    }
    let current = s.svc.people().get(&a.0.permit()?, id).await?.version;
    matched_version(tags, current)
}

/// A person as SCIM sees them: one the identity provider deleted is 404 (RFC 7644 §3.6), though
/// Castellan keeps them, deactivated.
fn visible(p: Person) -> ScimResult<Person> {
    if p.idp_deleted_at.is_some() {
        return Err(ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            "no User has this id",
        ));
    }
    Ok(p)
}

fn person_id(id: &str) -> ScimResult<PersonId> {
    id.parse::<PersonId>()
        .map_err(|_| ScimError::new(StatusCode::NOT_FOUND, None, "no User has this id"))
}

/// A User response with `Location` and `ETag`, projected when `q` asks.
fn user_response(status: StatusCode, p: &Person, base: &str, q: Option<&ListQuery>) -> Response {
    let location = format!("{base}/scim/v2/Users/{}", p.id);
    resource_response(status, to_scim(p, base), &location, p.version, q)
}

/// `POST /scim/v2/Users` (RFC 7644 §3.3): 201 with the new User. A person with the
/// `userName` is 409 `uniqueness`.
async fn create_user(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let input = from_scim(&body, None)?;
    refuse_blank_names(&body)?;
    let p = s.svc.people().provision(&a.permit()?, input).await?;
    let base = base_url(&s, &headers);
    Ok(user_response(StatusCode::CREATED, &p, &base, None))
}

/// `GET /scim/v2/Users/{id}` (RFC 7644 §3.4.1).
async fn get_user(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ScimResult<Response> {
    let q = read_query(q)?;
    let p = visible(s.svc.people().get(&a.permit()?, person_id(&id)?).await?)?;
    let base = base_url(&s, &headers);
    Ok(user_response(StatusCode::OK, &p, &base, Some(&q)))
}

/// `GET /scim/v2/Users?filter=…&startIndex=…&count=…` (RFC 7644 §3.4.2): a ListResponse.
/// `startIndex` is 1-based (below 1 counts as 1), `count` is capped at [`MAX_RESULTS`] (below 0
/// counts as 0). A filter that does not parse, or compares in a way RFC 7644 §3.4.2.2 refuses,
/// is 400 `invalidFilter`; an attribute Castellan does not keep matches nothing.
async fn list_users(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ScimResult<Response> {
    list(&s, &a, &headers, read_query(q)?).await
}

/// `POST /scim/v2/Users/.search` (RFC 7644 §3.4.3): a SearchRequest (`filter`, `startIndex`,
/// `count`, `attributes`, `excludedAttributes`, the last two as lists) answered as the list
/// query is. Errors: 400 `invalidSyntax` for a body that is not a SearchRequest object, and the
/// list query's.
async fn search_users(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let q = search_query(&body)?;
    list(&s, &a, &headers, q).await
}

/// The list query shared by `GET /Users` and `POST /Users/.search`: people the identity
/// provider has not deleted.
async fn list(
    s: &AppState,
    a: &castellan_core::activity::Actor,
    headers: &HeaderMap,
    q: ListQuery,
) -> ScimResult<Response> {
    let base = base_url(s, headers);
    list_response(all_users(s, a, &base).await?, &q, &[CoreSchema::User])
}

/// Every User (people the identity provider has not deleted) as SCIM JSON.
pub(super) async fn all_users(
    s: &AppState,
    a: &castellan_core::activity::Actor,
    base: &str,
) -> ScimResult<Vec<Value>> {
    let people = s.svc.people().list(&a.permit()?).await?;
    Ok(people
        .iter()
        .filter(|p| p.idp_deleted_at.is_none())
        .map(|p| to_scim(p, base))
        .collect())
}

/// `PUT /scim/v2/Users/{id}` (RFC 7644 §3.5.1): replaces `userName`, `emails` (kept as
/// written), the name, `externalId` and `active` (absent `active` keeps the person's state);
/// attributes Castellan does not keep are ignored; `id` and `meta` are ignored. Without
/// `emails`, a person whose userName is not their email keeps their addresses. With
/// `If-Match` (RFC 7644 §3.14) the write happens only over that version, else 412.
async fn replace_user(
    State(s): State<AppState>,
    auth: ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let ScimAuth(a) = &auth;
    let id = person_id(&id)?;
    let tags = if_match(&headers)?;
    let current = visible(s.svc.people().get(&a.permit()?, id).await?)?;
    let mut body = body;
    if get_ci(&body, "emails").is_none() && current.user_name.is_some() {
        // A userName apart from the email (a UPN) is not an address to take: without `emails`
        // the person keeps theirs.
        if let Some(o) = body.as_object_mut() {
            o.insert("emails".into(), scim_emails(&current));
        }
    }
    let input = from_scim(&body, None)?;
    refuse_blank_names(&body)?;
    let version = matched_version(tags.as_deref(), current.version)?;
    let p = s
        .svc
        .people()
        .reprovision(&a.permit()?, id, version, input)
        .await
        .map_err(|e| under_if_match(e, version))?;
    let base = base_url(&s, &headers);
    Ok(user_response(StatusCode::OK, &p, &base, None))
}

/// `PATCH /scim/v2/Users/{id}` (RFC 7644 §3.5.2): the operations are applied, atomically, to
/// the User's JSON ([`castellan_scim::patch`], tolerant of Okta's and Entra ID's forms), and
/// what changed of `userName`, the name, `emails` (as written), `externalId` and `active` is
/// written, over the version the operations were applied to: when another change lands
/// meanwhile, the operations are applied again to the new state (`retry_stale`). With
/// `If-Match` they are applied to that version only, else 412. 200 with the User. Errors: the
/// PATCH errors of RFC 7644 §3.12 (`invalidSyntax`, `invalidPath` (also for attributes
/// Castellan does not keep), `noTarget`, `invalidValue`, `mutability`), `uniqueness`.
async fn patch_user(
    State(s): State<AppState>,
    ScimAuth(a): ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let id = person_id(&id)?;
    let tags = if_match(&headers)?;
    let version = tags.as_ref().map(|_| ());
    let base = base_url(&s, &headers);
    let ops = patch::parse_request(&body, &CoreSchema::User)
        .map_err(|e| ScimError::bad(e.scim_type(), e.detail()))?;
    let people = s.svc.people();
    // One attempt: read, apply, write over the version read. SCIM errors are the inner result,
    // so that only a stale write is tried again.
    let attempt = || async {
        let current = people.get(&a.permit()?, id).await?;
        if current.idp_deleted_at.is_some() {
            return Err(CoreError::NotFound { kind: "person" });
        }
        if tags.as_ref().is_some_and(|t| !t.contains(&current.version)) {
            return Err(CoreError::Stale { kind: "person" });
        }
        let before = to_scim(&current, &base);
        let mut after = before.clone();
        let input = patch::apply(&mut after, &ops, &CoreSchema::User)
            .map_err(|e| ScimError::bad(e.scim_type(), e.detail()))
            .and_then(|()| refuse_unkept_changes(&before, &after))
            .and_then(|()| refuse_blank_names(&after))
            .and_then(|()| follow_email_change(&before, &mut after))
            .and_then(|()| from_scim(&after, Some(&before)));
        let mut input = match input {
            Ok(i) => i,
            Err(e) => return Ok(Err(e)),
        };
        if get_ci(&after, "active") == get_ci(&before, "active") {
            input.active = None;
        }
        people
            .reprovision(&a.permit()?, id, Some(current.version), input)
            .await
            .map(Ok)
    };
    let done = match version {
        Some(_) => attempt().await,
        None => retry_stale(attempt).await,
    };
    let p = done.map_err(|e| under_if_match(e, version))??;
    Ok(user_response(StatusCode::OK, &p, &base, None))
}

/// `DELETE /scim/v2/Users/{id}` (RFC 7644 §3.6): 204. Castellan never deletes people: the
/// person is deactivated (tokens revoked, removed from every hub) and kept in Castellan, and
/// SCIM answers 404 for them from then on (a create with their userName or email brings them
/// back, with the same id). With `If-Match`, only over that version, else 412.
async fn delete_user(
    State(s): State<AppState>,
    auth: ScimAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    let id = person_id(&id)?;
    let tags = if_match(&headers)?;
    let version = version_to_match(&s, &auth, id, tags.as_deref()).await?;
    s.svc
        .people()
        .deprovision(&auth.0.permit()?, id, version)
        .await
        .map_err(|e| under_if_match(e, version))?;
    Ok(StatusCode::NO_CONTENT)
}
