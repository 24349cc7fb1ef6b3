//! SCIM discovery (RFC 7644 §4; RFC 7643 §5 `ServiceProviderConfig`, §6 `ResourceType`,
//! §7 `Schema`): what Castellan's service provider implements, and nothing more. Authenticated
//! like the rest of `/scim/v2` (RFC 7644 §4 lets a provider require it).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use castellan_scim::{CORE_GROUP, CORE_USER};
use serde_json::{json, Value};

use super::{base_url, scim_response, ScimAuth, ScimError, ScimResult, LIST_SCHEMA};
use crate::AppState;

/// Most resources a list answer holds (`filter.maxResults`); a larger `count` is capped.
pub const MAX_RESULTS: usize = 200;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{name}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{uri}", get(schema))
}

fn meta(base: &str, resource_type: &str, path: &str) -> Value {
    json!({ "resourceType": resource_type, "location": format!("{base}/scim/v2/{path}") })
}

/// `GET /scim/v2/ServiceProviderConfig` (RFC 7643 §5): PATCH and filters yes (at most
/// [`MAX_RESULTS`] results), ETags yes (`If-Match` on PUT, PATCH and DELETE), bulk, sort and password changes no;
/// bearer tokens.
async fn service_provider_config(
    State(s): State<AppState>,
    ScimAuth(_): ScimAuth,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&s, &headers);
    scim_response(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": { "supported": true },
            "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
            "filter": { "supported": true, "maxResults": MAX_RESULTS },
            "changePassword": { "supported": false },
            "sort": { "supported": false },
            "etag": { "supported": true },
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A SCIM token created by the workspace Owner \
                    (POST /api/v1/scim/tokens), sent as `Authorization: Bearer <token>`.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": true
            }],
            "meta": meta(&base, "ServiceProviderConfig", "ServiceProviderConfig"),
        }),
    )
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person of the Castellan workspace",
        "schema": CORE_USER,
        "meta": meta(base, "ResourceType", "ResourceTypes/User"),
    })
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A team the identity provider keeps: its members get the team's hubs",
        "schema": CORE_GROUP,
        "meta": meta(base, "ResourceType", "ResourceTypes/Group"),
    })
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `GET /scim/v2/ResourceTypes` (RFC 7644 §4): `User` and `Group`.
async fn resource_types(
    State(s): State<AppState>,
    ScimAuth(_): ScimAuth,
    headers: HeaderMap,
) -> Response {
    let base = base_url(&s, &headers);
    scim_response(
        StatusCode::OK,
        &list(vec![user_resource_type(&base), group_resource_type(&base)]),
    )
}

/// `GET /scim/v2/ResourceTypes/{name}`: `User` or `Group`; another name is 404.
async fn resource_type(
    State(s): State<AppState>,
    ScimAuth(_): ScimAuth,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ScimResult<Response> {
    let base = base_url(&s, &headers);
    let found = match name.as_str() {
        "User" => user_resource_type(&base),
        "Group" => group_resource_type(&base),
        _ => {
            return Err(ScimError::new(
                StatusCode::NOT_FOUND,
                None,
                "no such resource type; this service provider serves `User` and `Group`",
            ))
        }
    };
    Ok(scim_response(StatusCode::OK, &found))
}

fn attr(name: &str, kind: &str, extra: Value) -> Value {
    let mut a = json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    });
    if let (Value::Object(a), Value::Object(extra)) = (&mut a, extra) {
        a.extend(extra);
    }
    a
}

/// The User schema as Castellan serves it (RFC 7643 §4.1, §8.7.1): only the attributes it keeps.
fn user_schema(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": CORE_USER,
        "name": "User",
        "description": "A person of the Castellan workspace",
        "attributes": [
            attr("userName", "string", json!({
                "required": true, "uniqueness": "server",
                "description": "Unique case-insensitively; the email (Okta) or another name \
                    (Entra ID's UPN).",
            })),
            attr("name", "complex", json!({
                "required": true,
                "description": "The person's name: one display name and its two parts; every \
                    person has one.",
                "subAttributes": [
                    attr("formatted", "string", json!({})),
                    attr("givenName", "string", json!({})),
                    attr("familyName", "string", json!({})),
                ],
            })),
            attr("displayName", "string", json!({ "required": true })),
            attr("active", "boolean", json!({
                "required": true,
                "description": "false: the person is deactivated (never deleted).",
            })),
            // RFC 7643 §4.1.2: kept as written, every sub-attribute as sent.
            attr("emails", "complex", json!({
                "multiValued": true,
                "required": true,
                "description": "The person's email addresses, kept as written (required unless \
                    userName is the email). The person's email in Castellan is the primary \
                    one, else the first `work` one, else the first; at most one is primary.",
                "subAttributes": [
                    attr("value", "string", json!({ "required": true })),
                    attr("display", "string", json!({})),
                    attr("type", "string", json!({
                        "canonicalValues": ["work", "home", "other"],
                    })),
                    attr("primary", "boolean", json!({})),
                ],
            })),
        ],
        "meta": meta(base, "Schema", &format!("Schemas/{CORE_USER}")),
    })
}

/// The Group schema as Castellan serves it (RFC 7643 §4.2, §8.7.1): a team's name and its
/// members (Users only).
fn group_schema(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": CORE_GROUP,
        "name": "Group",
        "description": "A team the identity provider keeps",
        "attributes": [
            attr("displayName", "string", json!({
                "required": true, "uniqueness": "server",
                "description": "The team's name, unique case-insensitively.",
            })),
            attr("members", "complex", json!({
                "multiValued": true,
                "description": "The team's members: Users of this service provider.",
                "subAttributes": [
                    attr("value", "string", json!({ "mutability": "immutable" })),
                    attr("$ref", "reference", json!({
                        "mutability": "immutable", "referenceTypes": ["User"],
                    })),
                    attr("type", "string", json!({
                        "mutability": "immutable", "canonicalValues": ["User"],
                    })),
                ],
            })),
        ],
        "meta": meta(base, "Schema", &format!("Schemas/{CORE_GROUP}")),
    })
}

/// `GET /scim/v2/Schemas` (RFC 7644 §4): the User and Group schemas.
async fn schemas(State(s): State<AppState>, ScimAuth(_): ScimAuth, headers: HeaderMap) -> Response {
    let base = base_url(&s, &headers);
    scim_response(
        StatusCode::OK,
        &list(vec![user_schema(&base), group_schema(&base)]),
    )
}

/// `GET /scim/v2/Schemas/{uri}`: the User or Group schema by its URI; another is 404.
async fn schema(
    State(s): State<AppState>,
    ScimAuth(_): ScimAuth,
    headers: HeaderMap,
    Path(uri): Path<String>,
) -> ScimResult<Response> {
    let base = base_url(&s, &headers);
    let found = if uri.eq_ignore_ascii_case(CORE_USER) {
        user_schema(&base)
    } else if uri.eq_ignore_ascii_case(CORE_GROUP) {
        group_schema(&base)
    } else {
        return Err(ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            format!(
                "no such schema; this service provider serves `{CORE_USER}` and `{CORE_GROUP}`"
            ),
        ));
    };
    Ok(scim_response(StatusCode::OK, &found))
}
