//! `/scim/v2/Users` (RFC 7644 §3.3 create, §3.4 read and query, §3.5 PUT and PATCH, §3.6
//! DELETE) backed by Castellan's people.
//!
//! A person as a SCIM User (RFC 7643 §4.1): `id` the person id, `userName` and the one
//! `emails` value the email, `name.formatted` and `displayName` the name, `externalId`,
//! `active` (false when deactivated), `meta`. Filters ([`castellan_scim::filter`]) and PATCH
//! ([`castellan_scim::patch`]) work on that JSON; what changed is written through
//! `People::provision`, `reprovision` and `deprovision`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use castellan_core::ids::PersonId;
use castellan_core::model::{Person, PersonStatus};
use castellan_core::service::retry_stale;
use castellan_core::{validate, CoreError};
use castellan_scim::{filter, patch, CoreSchema, CORE_USER};
use serde::Deserialize;
use serde_json::{json, Value};

use super::discovery::MAX_RESULTS;
use super::user_json::{
    follow_email_change, from_scim, get_ci, project, refuse_blank_names, refuse_other_emails,
    refuse_unkept_changes,
};
use super::{base_url, scim_response, ScimAuth, ScimBody, ScimError, ScimResult, LIST_SCHEMA};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", post(search_users))
        // The search at the root (RFC 7644 §3.4.3) covers every resource type: Users only.
        .route("/.search", post(search_users))
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
        "emails": [{ "value": p.email, "type": "work", "primary": true }],
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

/// A person's version as a weak entity tag (RFC 7644 §3.14, RFC 7232 §2.3): `W/"<version>"`.
fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The versions an `If-Match` header names (RFC 7232 §3.1): `None` without the header or for
/// `*`; else the versions of its tags (`W/"v"` or `"v"`, comma-separated). A header that names
/// no version of ours is 412 `Precondition Failed`.
fn if_match(headers: &HeaderMap) -> ScimResult<Option<Vec<i64>>> {
    let Some(h) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = h.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    let versions: Vec<i64> = text
        .split(',')
        .filter_map(|t| {
            let t = t.trim();
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<i64>().ok())
        })
        .collect();
    if versions.is_empty() {
        return Err(precondition_failed());
    }
    Ok(Some(versions))
}

/// The version a write must happen over: `None` without `If-Match`; the person's current
/// version when the header names it; else 412.
async fn version_to_match(
    s: &AppState,
    a: &ScimAuth,
    id: PersonId,
    tags: Option<&[i64]>,
) -> ScimResult<Option<i64>> {
    let Some(tags) = tags else {
        return Ok(None);
    };
    let current = s.svc.people().get(&a.0.permit()?, id).await?.version;
    if tags.contains(&current) {
        Ok(Some(current))
    } else {
        Err(precondition_failed())
    }
}

fn precondition_failed() -> ScimError {
    ScimError::new(
        StatusCode::PRECONDITION_FAILED,
        None,
        "the User changed since that version (If-Match): read it again",
    )
}

/// A core error of a write made under `If-Match`: a stale version is 412.
fn under_if_match<T>(e: CoreError, if_match: Option<T>) -> ScimError {
    match e {
        CoreError::Stale { .. } if if_match.is_some() => precondition_failed(),
        e => e.into(),
    }
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

/// A User response with `Location` (RFC 7644 §3.1).
fn user_response(status: StatusCode, p: &Person, base: &str) -> Response {
    let v = to_scim(p, base);
    let mut r = scim_response(status, &v);
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}/scim/v2/Users/{}", p.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    if let Ok(tag) = HeaderValue::from_str(&etag(p.version)) {
        r.headers_mut().insert(header::ETAG, tag);
    }
    r
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
    Ok(user_response(StatusCode::CREATED, &p, &base))
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
    let mut r = user_response(StatusCode::OK, &p, &base);
    if q.attributes.is_some() || q.excluded_attributes.is_some() {
        let mut v = to_scim(&p, &base);
        project(
            &mut v,
            q.attributes.as_deref(),
            q.excluded_attributes.as_deref(),
        );
        let headers = r.headers().clone();
        r = scim_response(StatusCode::OK, &v);
        r.headers_mut().extend(headers);
    }
    Ok(r)
}

/// The query of a list request (RFC 7644 §3.4.2). Numbers are read by hand so that a bad one
/// is a SCIM error.
#[derive(Debug, Deserialize)]
struct ListQuery {
    filter: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

/// A query string read into `T`; one that does not read (a parameter given twice) is a SCIM
/// error too.
fn read_query<T>(q: Result<Query<T>, QueryRejection>) -> ScimResult<T> {
    q.map(|Query(q)| q).map_err(|e| {
        ScimError::bad(
            "invalidValue",
            format!("the query string could not be read: {}", e.body_text()),
        )
    })
}

fn number(name: &str, v: Option<&str>) -> ScimResult<Option<i64>> {
    v.map(|x| {
        x.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::bad("invalidValue", format!("`{name}` must be an integer")))
    })
    .transpose()
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
    if !body.is_object() {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a SearchRequest is a JSON object",
        ));
    }
    let text = |k: &str| -> ScimResult<Option<String>> {
        match get_ci(&body, k) {
            None => Ok(None),
            Some(Value::String(t)) => Ok(Some(t.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(|l| Some(l.join(",")))
                .ok_or_else(|| ScimError::bad("invalidValue", format!("`{k}` must list strings"))),
            Some(_) => Err(ScimError::bad(
                "invalidValue",
                format!("`{k}` has the wrong type"),
            )),
        }
    };
    if get_ci(&body, "filter").is_some_and(|f| !f.is_string()) {
        return Err(ScimError::bad("invalidValue", "`filter` must be a string"));
    }
    let q = ListQuery {
        filter: text("filter")?,
        start_index: text("startIndex")?,
        count: text("count")?,
        attributes: text("attributes")?,
        excluded_attributes: text("excludedAttributes")?,
    };
    list(&s, &a, &headers, q).await
}

/// The list query shared by `GET /Users` and `POST /Users/.search`.
async fn list(
    s: &AppState,
    a: &castellan_core::activity::Actor,
    headers: &HeaderMap,
    q: ListQuery,
) -> ScimResult<Response> {
    let start = number("startIndex", q.start_index.as_deref())?
        .unwrap_or(1)
        .max(1);
    let count = number("count", q.count.as_deref())?
        .unwrap_or(MAX_RESULTS as i64)
        .clamp(0, MAX_RESULTS as i64);
    let f = match q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        None => None,
        Some(text) => {
            let f =
                filter::parse(text).map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
            filter::check(&f, &CoreSchema::User)
                .map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
            let mut f = f;
            normalize_literals(&mut f);
            Some(f)
        }
    };
    let base = base_url(s, headers);
    let people = s.svc.people().list(&a.permit()?).await?;
    let all: Vec<Value> = people
        .iter()
        .filter(|p| p.idp_deleted_at.is_none())
        .map(|p| to_scim(p, &base))
        .filter(|u| {
            f.as_ref()
                .is_none_or(|f| filter::matches(f, u, &CoreSchema::User))
        })
        .collect();
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|mut u| {
            project(
                &mut u,
                q.attributes.as_deref(),
                q.excluded_attributes.as_deref(),
            );
            u
        })
        .collect();
    Ok(scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    ))
}

/// Puts the string literals of `eq` and `ne` comparisons in the form stored text has
/// ([`validate::normalized`]: trimmed, NFC), so that the User an IdP's `userName eq "…"` looks
/// for is found whenever a create with that `userName` would be refused as taken.
fn normalize_literals(f: &mut filter::Filter) {
    use filter::{CompareOp, Filter};
    match f {
        Filter::Compare {
            op: CompareOp::Eq | CompareOp::Ne,
            value: Value::String(s),
            ..
        } => *s = validate::normalized(s),
        Filter::Compare { .. } | Filter::Present(_) => {}
        Filter::And(a, b) | Filter::Or(a, b) => {
            normalize_literals(a);
            normalize_literals(b);
        }
        Filter::Not(x) | Filter::ValuePath { filter: x, .. } => normalize_literals(x),
    }
}

/// `PUT /scim/v2/Users/{id}` (RFC 7644 §3.5.1): replaces `userName`, the name, `externalId` and
/// `active` (absent `active` keeps the person's state); attributes Castellan does not keep are
/// ignored; `id` and `meta` are ignored. With `If-Match` (RFC 7644 §3.14) the write happens
/// only over that version, else 412.
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
            o.insert(
                "emails".into(),
                json!([{ "value": current.email, "type": "work", "primary": true }]),
            );
        }
    }
    let input = from_scim(&body, None)?;
    refuse_blank_names(&body)?;
    let version = match tags {
        None => None,
        Some(t) if t.contains(&current.version) => Some(current.version),
        Some(_) => return Err(precondition_failed()),
    };
    let p = s
        .svc
        .people()
        .reprovision(&a.permit()?, id, version, input)
        .await
        .map_err(|e| under_if_match(e, version))?;
    let base = base_url(&s, &headers);
    Ok(user_response(StatusCode::OK, &p, &base))
}

/// `PATCH /scim/v2/Users/{id}` (RFC 7644 §3.5.2): the operations are applied, atomically, to
/// the User's JSON ([`castellan_scim::patch`], tolerant of Okta's and Entra ID's forms), and
/// what changed of `userName`, the name, `emails`, `externalId` and `active` is written, over
/// the version the operations were applied to: when another change lands meanwhile, the
/// operations are applied again to the new state (`retry_stale`). With
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
            .and_then(|()| refuse_other_emails(&before, &after))
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
    Ok(user_response(StatusCode::OK, &p, &base))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_weak_and_strong_tags_and_lists() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h).unwrap(), None);
        h.insert(header::IF_MATCH, HeaderValue::from_static("W/\"7\""));
        assert_eq!(if_match(&h).unwrap(), Some(vec![7]));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"8\", W/\"9\""));
        assert_eq!(if_match(&h).unwrap(), Some(vec![8, 9]));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&h).unwrap(), None);
        for bad in ["W/\"x\"", "W/\"+1\"", "\"\"", "7"] {
            h.insert(header::IF_MATCH, HeaderValue::from_static(bad));
            assert!(if_match(&h).is_err(), "{bad}");
        }
    }
}
