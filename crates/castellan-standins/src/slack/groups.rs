//! The stand-in's Groups: `GET /Groups`, `GET` and `PATCH` of one (see the [module](super)).

#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::{bad, error, gate, list, operations, Group, Org, Rows, GROUP, Q};
use crate::kit;

fn group_json(g: &Group, rows: &Rows) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            let name = rows
                .users
                .iter()
                .find(|u| u.id == *m)
                .map(|u| u.name.clone());
            json!({"value": m, "display": name})
        })
        .collect();
    json!({"schemas": [GROUP], "id": g.id, "displayName": g.name, "members": members,
        "meta": {"created": "2024-04-10T09:00:00-07:00"}})
}

pub(super) async fn list_groups(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Query(q): Query<Q>,
) -> Response {
    if let Err(r) = gate(&org, &h, &Method::GET, "/Groups") {
        return r;
    }
    let rows = org.rows.lock().unwrap();
    let all = rows.groups.iter().map(|g| group_json(g, &rows)).collect();
    list(&org, &q, all)
}

pub(super) async fn get_group(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = gate(&org, &h, &Method::GET, &format!("/Groups/{id}")) {
        return r;
    }
    let rows = org.rows.lock().unwrap();
    match rows.groups.iter().find(|g| g.id == id) {
        Some(g) => kit::reply(StatusCode::OK, vec![], group_json(g, &rows)),
        None => error(StatusCode::NOT_FOUND, "no_such_group"),
    }
}

/// The user id of `members[value eq "U…"]` (or, unquoted, `members[value eq U…]`).
fn member_path(path: &str) -> Option<String> {
    let inner = path.strip_prefix("members[")?.strip_suffix(']')?;
    let (attr, rest) = inner.trim().split_once(' ')?;
    let value = rest.trim().strip_prefix("eq ")?.trim();
    (attr == "value").then(|| value.trim_matches('"').to_owned())
}

pub(super) async fn patch_group(
    State(org): State<Arc<Org>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Json(b): Json<Value>,
) -> Response {
    if let Err(r) = gate(&org, &h, &Method::PATCH, &format!("/Groups/{id}")) {
        return r;
    }
    let ops = match operations(&b) {
        Ok(ops) => ops,
        Err(r) => return r,
    };
    let mut rows = org.rows.lock().unwrap();
    let Some(gi) = rows.groups.iter().position(|g| g.id == id) else {
        return error(StatusCode::NOT_FOUND, "no_such_group");
    };
    let mut members = rows.groups[gi].members.clone();
    for op in ops {
        let (kind, path) = (
            op["op"].as_str().unwrap_or(""),
            op["path"].as_str().unwrap_or(""),
        );
        let values = || -> Vec<String> {
            let v = op["value"].as_array().cloned().unwrap_or_default();
            v.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_owned))
                .collect()
        };
        match (kind.to_ascii_lowercase().as_str(), path) {
            ("add", "members") => members.extend(values()),
            ("replace", "members") => members = values(),
            ("remove", "members") => members.clear(),
            ("remove", p) => match member_path(p) {
                Some(m) => members.retain(|x| *x != m),
                None => return bad("invalid_request_payload"),
            },
            _ => return bad("invalid_request_payload"),
        }
    }
    let mut seen = Vec::new();
    for m in members {
        let Some(u) = rows.users.iter().find(|u| u.id == m) else {
            return bad("no_such_group_members");
        };
        if !u.active || u.kind == "single_channel_guest" {
            return bad("unable_to_add_deleted_or_guest_to_group");
        }
        if !seen.contains(&m) {
            seen.push(m);
        }
    }
    rows.groups[gi].members = seen;
    kit::reply(StatusCode::OK, vec![], group_json(&rows.groups[gi], &rows))
}
