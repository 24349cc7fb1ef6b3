//! The SCIM test harness: a real `castellan serve` with a claimed workspace, the owner's API
//! token and a SCIM token, and calls over HTTP as Okta and Entra ID make them.
#![allow(dead_code)]

use crate::common::{host_args, Cli, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const SCIM_JSON: &str = "application/scim+json";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const PASSWORD: &str = "a-long-person-password";

/// A server with a claimed workspace, the owner's API token and a SCIM token.
pub struct Scim {
    pub server: Server,
    pub _dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub owner: String,
    pub scim: String,
}

/// A response: status, content type, JSON body (`Null` when empty).
pub struct Resp {
    pub status: StatusCode,
    pub ctype: String,
    pub body: Value,
}

impl Scim {
    pub async fn start() -> Scim {
        Self::start_on(None).await
    }

    /// On the PostgreSQL database `db` when given, else on SQLite in the data directory.
    pub async fn start_on(db: Option<&str>) -> Scim {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let server = Server::start(&host_args(&data, db, None));
        let cli = Cli::new(&server.url, &dir.path().join("cli"));
        cli.claim(&server.setup_token(), "owner@example.com");
        let owner = cli.token();
        let mut s = Scim {
            server,
            _dir: dir,
            http: reqwest::Client::new(),
            owner,
            scim: String::new(),
        };
        let r = s
            .call(
                Method::POST,
                "/api/v1/scim/tokens",
                &s.owner.clone(),
                Some(json!({ "name": "okta" })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        s.scim = r.body["secret"].as_str().unwrap().to_owned();
        s
    }

    /// Any call with a bearer token and an optional JSON body (sent as SCIM JSON).
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.server.url))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.header("content-type", SCIM_JSON).body(b.to_string());
        }
        let r = rb.send().await.unwrap();
        Self::read(r).await
    }

    pub async fn read(r: reqwest::Response) -> Resp {
        let status = r.status();
        let ctype = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            ctype,
            body,
        }
    }

    /// A SCIM call with the SCIM token and extra headers (`If-Match`, another `Authorization`).
    pub async fn scim_with(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}/scim/v2{path}", self.server.url))
            .bearer_auth(&self.scim);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.header("content-type", SCIM_JSON).body(b.to_string());
        }
        Self::read(rb.send().await.unwrap()).await
    }

    /// A SCIM call with the SCIM token.
    pub async fn scim(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.call(method, &format!("/scim/v2{path}"), &self.scim.clone(), body)
            .await
    }

    /// Creates a User; asserts 201.
    pub async fn create(&self, user: Value) -> Value {
        let r = self.scim(Method::POST, "/Users", Some(user)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body
    }

    /// The list answer for a filter (URL-encoded here).
    pub async fn filter(&self, filter: &str) -> Resp {
        let q: String = url_encode(filter);
        self.scim(Method::GET, &format!("/Users?filter={q}"), None)
            .await
    }

    /// The owner's view of a person by id.
    pub async fn person(&self, id: &str) -> Value {
        let r = self
            .call(
                Method::GET,
                &format!("/api/v1/people/{id}"),
                &self.owner.clone(),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    /// The number of people and of activity events (to check that a failure wrote nothing).
    pub async fn counts(&self) -> (usize, usize) {
        let owner = self.owner.clone();
        let people = self.call(Method::GET, "/api/v1/people", &owner, None).await;
        let events = self
            .call(Method::GET, "/api/v1/activity?limit=1000", &owner, None)
            .await;
        let n = |v: &Value| {
            v.as_array()
                .or_else(|| v["events"].as_array())
                .or_else(|| v["items"].as_array())
                .map_or(0, Vec::len)
        };
        (n(&people.body), n(&events.body))
    }

    /// An active person with an API token: invited by the owner, accepted, signed in.
    pub async fn active_person(&self, email: &str, role: &str) -> (String, String) {
        let owner = self.owner.clone();
        let r = self
            .call(
                Method::POST,
                "/api/v1/people",
                &owner,
                Some(json!({ "email": email, "name": "Person", "role": role })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.body["person"]["id"].as_str().unwrap().to_owned();
        let inv = r.body["invitation_token"].as_str().unwrap().to_owned();
        let a = self
            .call(
                Method::POST,
                "/api/v1/auth/accept-invitation",
                "",
                Some(json!({ "email": email, "invitation_token": inv, "password": PASSWORD })),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let s = self
            .call(
                Method::POST,
                "/api/v1/auth/sign-in",
                "",
                Some(json!({ "email": email, "password": PASSWORD })),
            )
            .await;
        assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
        (id, s.body["token"].as_str().unwrap().to_owned())
    }
}

pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Asserts a SCIM error: status, `scimType` (when given), schema, content type.
pub fn assert_scim_error(r: &Resp, status: StatusCode, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.ctype.starts_with(SCIM_JSON), "content type {}", r.ctype);
    assert_eq!(r.body["schemas"], json!([ERROR_SCHEMA]), "{}", r.body);
    assert_eq!(r.body["status"], status.as_u16().to_string(), "{}", r.body);
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], t, "{}", r.body);
    }
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

pub fn user(name: &str, external: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": format!("{name}@Example.com"),
        "name": { "givenName": name, "familyName": "Doe" },
        "externalId": external,
        "active": true,
    })
}
