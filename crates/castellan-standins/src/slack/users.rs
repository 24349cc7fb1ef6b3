//! The stand-in's Users: their JSON, `GET /Users` with Slack's filters, `GET`, `POST`, `PATCH`
//! and `DELETE` of one (see the [module](super) for what is modelled).

#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::{
    bad, error, gate, list, operations, param, user_name, Org, Rows, User, GUEST, Q, USER,
};
use crate::kit;

/// A user as Slack's SCIM API shows them.
pub(super) fn user_json(base: &str, rows: &Rows, u: &User) -> Value {
    let (given, family) = u.name.rsplit_once(' ').unwrap_or((&u.name, ""));
    let groups: Vec<Value> = rows
        .groups
        .iter()
        .filter(|g| g.members.contains(&u.id))
        .map(|g| json!({"value": g.id, "display": g.name}))
        .collect();
    let mut v = json!({
        "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": u.id, "externalId": "",
        "meta": {"created": "2024-04-10T09:00:00-07:00", "location": format!("{base}/Users/{}", u.id)},
        "userName": u.user_name, "nickName": u.user_name,
        "name": {"givenName": given, "familyName": family},
        "displayName": u.name, "active": u.active,
        "emails": [{"value": u.email, "primary": true}],
        "groups": groups,
    });
    let guest = match u.kind {
        "multi_channel_guest" => Some("multi"),
        "single_channel_guest" => Some("single"),
        _ => None,
    };
    if let Some(t) = guest {
        v["schemas"].as_array_mut().unwrap().push(json!(GUEST));
        v[GUEST] = json!({ "type": t });
    }
    v
}

/// `(attribute, value)` of `attr eq "value"`: the attribute lowercase, the value a JSON string.
fn eq_filter(f: &str) -> Option<(String, String)> {
    let mut parts = f.trim().splitn(3, ' ');
    let (attr, op, value) = (parts.next()?, parts.next()?, parts.next()?);
    if !op.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value: String = serde_json::from_str(value.trim()).ok()?;
    Some((attr.to_ascii_lowercase(), value))
}

pub(super) async fn list_users(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Query(q): Query<Q>,
) -> Response {
    let filter = param(&q, "filter").map(str::to_owned);
    let logged = match &filter {
        Some(f) => format!("/Users?filter={f}"),
        None => "/Users".into(),
    };
    if let Err(r) = gate(&org, &h, &Method::GET, &logged) {
        return r;
    }
    let wanted = match filter.as_deref().map(eq_filter) {
        None => None,
        Some(Some((attr, v))) if attr == "username" || attr == "email" => Some((attr, v)),
        Some(_) => return bad("invalid_query"),
    };
    let base = org.base_url.lock().unwrap().clone();
    let rows = org.rows.lock().unwrap();
    let users = rows.users.iter().filter(|u| match &wanted {
        None => true,
        Some((a, v)) if a == "email" => u.email.eq_ignore_ascii_case(v),
        Some((_, v)) => u.user_name.eq_ignore_ascii_case(v),
    });
    let all = users.map(|u| user_json(&base, &rows, u)).collect();
    list(&org, &q, all)
}

pub(super) async fn get_user(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = gate(&org, &h, &Method::GET, &format!("/Users/{id}")) {
        return r;
    }
    let base = org.base_url.lock().unwrap().clone();
    let rows = org.rows.lock().unwrap();
    match rows.users.iter().find(|u| u.id == id) {
        Some(u) => kit::reply(StatusCode::OK, vec![], user_json(&base, &rows, u)),
        None => error(StatusCode::NOT_FOUND, "no_such_user"),
    }
}

pub(super) async fn create_user(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    if let Err(r) = gate(&org, &h, &Method::POST, "/Users") {
        return r;
    }
    if !b["schemas"].is_array() {
        return bad("missing_schema_element");
    }
    let Some(given) = b["userName"].as_str().filter(|s| !s.trim().is_empty()) else {
        return bad("username_empty");
    };
    let Some(email) = b["emails"][0]["value"].as_str().filter(|e| e.contains('@')) else {
        return bad("email_empty");
    };
    let kind = match b[GUEST]["type"].as_str() {
        None if b.get(GUEST).is_none() => "member",
        Some("multi") => "multi_channel_guest",
        _ => return bad("invalid_request_payload"),
    };
    let name = b["displayName"].as_str().unwrap_or(given).to_owned();
    let id = org.new_id('U');
    let base = org.base_url.lock().unwrap().clone();
    let mut rows = org.rows.lock().unwrap();
    if rows
        .users
        .iter()
        .any(|u| u.email.eq_ignore_ascii_case(email))
    {
        return error(StatusCode::CONFLICT, "email_taken");
    }
    let taken: Vec<String> = rows.users.iter().map(|u| u.user_name.clone()).collect();
    let u = User {
        id,
        user_name: user_name(given, &taken),
        email: email.to_lowercase(),
        name,
        kind,
        active: b["active"].as_bool().unwrap_or(true),
    };
    rows.users.push(u.clone());
    kit::reply(StatusCode::CREATED, vec![], user_json(&base, &rows, &u))
}

/// Applies a user's PATCH operations to a copy, checked one by one.
fn patched(mut u: User, ops: &[Value]) -> Result<User, Response> {
    for op in ops {
        let (kind, path) = (
            op["op"].as_str().unwrap_or(""),
            op["path"].as_str().unwrap_or(""),
        );
        match (kind.to_ascii_lowercase().as_str(), path) {
            ("replace" | "add", "active") => {
                let active = op["value"]
                    .as_bool()
                    .ok_or_else(|| bad("invalid_attribute_format"))?;
                if !active && u.kind == "primary_owner" {
                    return Err(bad("cannot_disable_primary_owner"));
                }
                u.active = active;
            }
            ("add", GUEST) => {
                if ["primary_owner", "owner", "admin"].contains(&u.kind) {
                    return Err(bad("cannot_make_user_guest"));
                }
                if op["value"]["type"] != "multi" {
                    return Err(bad("invalid_request_payload"));
                }
                (u.kind, u.active) = ("multi_channel_guest", true);
            }
            ("remove", GUEST) => {
                if u.kind.ends_with("_guest") {
                    (u.kind, u.active) = ("member", true);
                }
            }
            _ => return Err(bad("invalid_request_payload")),
        }
    }
    Ok(u)
}

pub(super) async fn patch_user(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<Value>,
) -> Response {
    if let Err(r) = gate(&org, &h, &Method::PATCH, &format!("/Users/{id}")) {
        return r;
    }
    let ops = match operations(&b) {
        Ok(ops) => ops,
        Err(r) => return r,
    };
    let base = org.base_url.lock().unwrap().clone();
    let mut rows = org.rows.lock().unwrap();
    let Some(i) = rows.users.iter().position(|u| u.id == id) else {
        return error(StatusCode::NOT_FOUND, "no_such_user");
    };
    match patched(rows.users[i].clone(), ops) {
        Ok(u) => {
            if !u.active || u.kind == "single_channel_guest" {
                rows.groups
                    .iter_mut()
                    .for_each(|g| g.members.retain(|m| *m != u.id));
            }
            rows.users[i] = u;
            kit::reply(
                StatusCode::OK,
                vec![],
                user_json(&base, &rows, &rows.users[i]),
            )
        }
        Err(r) => r,
    }
}

pub(super) async fn delete_user(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = gate(&org, &h, &Method::DELETE, &format!("/Users/{id}")) {
        return r;
    }
    let mut rows = org.rows.lock().unwrap();
    let Some(u) = rows.users.iter_mut().find(|u| u.id == id) else {
        return error(StatusCode::NOT_FOUND, "no_such_user");
    };
    if u.kind == "primary_owner" {
        return bad("cannot_disable_primary_owner");
    }
    u.active = false;
    rows.groups
        .iter_mut()
        .for_each(|g| g.members.retain(|m| *m != id));
    StatusCode::NO_CONTENT.into_response()
}
