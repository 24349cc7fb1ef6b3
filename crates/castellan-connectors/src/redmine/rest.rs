//! Redmine's REST API: the calls the connector makes with the session's API key, and the one
//! table from Redmine's answers to connector errors.

use castellan_core::connector::{AppMember, ConnectorError};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::model::{Cursor, RedmineUser};
use super::{APP, PAGE_SIZE, STATUSES};
use crate::sdk::errors::{common_error, unexpected};
use crate::sdk::paging::{next_offset, offset_query, AnchoredOffset};
use crate::sdk::{Endpoint, Reply};

/// Redmine's REST API with the session's API key, for one call: its users
/// (<https://www.redmine.org/projects/redmine/wiki/Rest_Users>) as [`AppMember`]s, its projects
/// as resources.
#[derive(Debug)]
pub struct Rest<'a> {
    pub(super) ep: Endpoint<'a>,
    /// The automation account's user id.
    pub(super) me: Option<u64>,
}

impl Rest<'_> {
    /// A user by numeric id (`None` when Redmine does not know it), with its status.
    pub(super) async fn user(&self, id: u64) -> Result<Option<RedmineUser>, ConnectorError> {
        let r = self.ep.get(&format!("/users/{id}.json")).send().await?;
        if r.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = r.json(Call::Api, "read a user")?;
        RedmineUser::from_json(body.get("user").unwrap_or(&Value::Null), None)
            .map(Some)
            .ok_or_else(|| unexpected(APP, "read a user"))
    }

    /// Users whose login, name or email contains `q` (any status), as listed (no status).
    pub(super) async fn search(&self, q: &str) -> Result<Vec<Value>, ConnectorError> {
        let mut found = Vec::new();
        let mut offset = 0;
        loop {
            let body = self
                .ep
                .get("/users.json")
                .query(&[("status", String::new()), ("name", q.to_owned())])
                .query(&offset_query(offset, PAGE_SIZE))
                .send()
                .await?
                .json(Call::Api, "search users")?;
            let rows = body
                .get("users")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected(APP, "search users"))?;
            found.extend(rows.iter().cloned());
            let total = body.get("total_count").and_then(Value::as_u64).unwrap_or(0);
            match next_offset(offset, rows.len(), Some(total)) {
                Some(next) => offset = next,
                None => return Ok(found),
            }
        }
    }

    /// The user whose email is `email` (case-insensitive), found by search.
    pub(super) async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<RedmineUser>, ConnectorError> {
        self.user_where("mail", &email.trim().to_lowercase()).await
    }

    /// The user whose login is `login` (case-insensitive), found by search.
    pub(super) async fn user_by_login(
        &self,
        login: &str,
    ) -> Result<Option<RedmineUser>, ConnectorError> {
        self.user_where("login", login.trim()).await
    }

    /// The user whose `field` of the list (`mail`, `login`) is `value` (case-insensitive),
    /// found by searching for `value`; `None` for an empty value.
    async fn user_where(
        &self,
        field: &str,
        value: &str,
    ) -> Result<Option<RedmineUser>, ConnectorError> {
        if value.is_empty() {
            return Ok(None);
        }
        let rows = self.search(value).await?;
        let hit = rows.iter().find(|u| {
            u.get(field)
                .and_then(Value::as_str)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
        });
        match hit.and_then(|u| u.get("id")).and_then(Value::as_u64) {
            Some(id) => self.user(id).await,
            None => Ok(None),
        }
    }

    /// A member by app id: Redmine's numeric user id, or a login.
    pub(super) async fn resolve(&self, id: &str) -> Result<Option<RedmineUser>, ConnectorError> {
        match id.trim().parse::<u64>() {
            Ok(n) => self.user(n).await,
            Err(_) => self.user_by_login(id).await,
        }
    }

    pub(super) async fn resolve_existing(&self, id: &str) -> Result<RedmineUser, ConnectorError> {
        self.resolve(id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Redmine user {id}")))
    }

    /// `PUT /users/{id}.json` with `fields`, then the user as Redmine now has it.
    pub(super) async fn update_user(
        &self,
        id: u64,
        fields: Value,
        what: &str,
    ) -> Result<RedmineUser, ConnectorError> {
        self.ep
            .request(Method::PUT, &format!("/users/{id}.json"))
            .json(json!({ "user": fields }))
            .idempotent()
            .send()
            .await?
            .ok(Call::Api, what)?;
        self.user(id)
            .await?
            .ok_or_else(|| ConnectorError::NotFound(format!("no Redmine user {id}")))
    }

    /// One request of the listing at `cursor`: the page's members and the next cursor.
    pub(super) async fn list_page(
        &self,
        cursor: &Cursor,
    ) -> Result<(Vec<AppMember>, Option<Cursor>), ConnectorError> {
        let start = cursor.at.read_from();
        let body = self
            .ep
            .get("/users.json")
            .query(&[
                ("status", cursor.status.to_string()),
                ("sort", "login".into()),
            ])
            .query(&offset_query(start, PAGE_SIZE))
            .send()
            .await?
            .json(Call::Api, "list users")?;
        let rows = body
            .get("users")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected(APP, "list users"))?;
        let total = body
            .get("total_count")
            .and_then(Value::as_u64)
            .ok_or_else(|| unexpected(APP, "list users"))? as usize;
        let users = rows
            .iter()
            .map(|r| RedmineUser::from_json(r, Some(cursor.status)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| unexpected(APP, "list users"))?;
        let skip = cursor.at.skip(users.iter().map(|u| u.login.as_str()));
        let end = start + users.len();
        let next = match users.last() {
            Some(last) if end < total => Some(Cursor {
                status: cursor.status,
                at: AnchoredOffset::after(start, users.len(), &last.login),
            }),
            _ => STATUSES
                .iter()
                .skip_while(|s| **s != cursor.status)
                .nth(1)
                .map(|s| Cursor::start(*s)),
        };
        let members = users.into_iter().skip(skip).map(|u| u.member).collect();
        Ok((members, next))
    }
}

/// What a call was, for mapping its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    /// A web page of the login or pairing flow.
    Web,
    /// A REST API call with the session's API key: 403 means the account is no administrator.
    Api,
}

/// What the connector reads from Redmine's replies.
pub(super) trait RedmineReply {
    /// Success, or the typed error (bodies are not needed: `PUT` answers with none).
    fn ok(self, call: Call, what: &str) -> Result<(), ConnectorError>;
    /// The JSON body of a success, or the typed error.
    fn json(self, call: Call, what: &str) -> Result<Value, ConnectorError>;
    /// Redmine's validation messages (`{"errors": ["Login has already been taken", …]}`).
    fn errors(&self) -> Vec<String>;
}

impl RedmineReply for Reply {
    fn ok(self, call: Call, what: &str) -> Result<(), ConnectorError> {
        if self.status.is_success() {
            Ok(())
        } else {
            Err(map_error(&self, call, what))
        }
    }

    fn json(self, call: Call, what: &str) -> Result<Value, ConnectorError> {
        if !self.status.is_success() {
            return Err(map_error(&self, call, what));
        }
        self.json.ok_or_else(|| {
            ConnectorError::Configuration(format!(
                "{} answered '{what}' without JSON: not a Redmine with the REST API",
                self.base
            ))
        })
    }

    fn errors(&self) -> Vec<String> {
        self.json
            .as_ref()
            .and_then(|b| b.get("errors").cloned())
            .and_then(|e| serde_json::from_value::<Vec<String>>(e).ok())
            .unwrap_or_default()
    }
}

/// The one table from Redmine's HTTP answers to connector errors.
pub(super) fn map_error(r: &Reply, call: Call, what: &str) -> ConnectorError {
    use ConnectorError as E;
    let status = r.status;
    if let Some(e) = common_error(r, what, "Redmine's address") {
        return e;
    }
    match (call, status) {
        (Call::Api, StatusCode::UNAUTHORIZED) => E::BadCredentials(
            "Redmine refused the session's API key (reset, or the REST API was disabled); \
             sign in again"
                .into(),
        ),
        (_, StatusCode::FORBIDDEN) => {
            E::InsufficientPermission("the account is not a Redmine administrator".into())
        }
        (Call::Api, StatusCode::NOT_FOUND) => E::NotFound(format!("{what}: HTTP 404")),
        (Call::Web, StatusCode::NOT_FOUND) => E::Configuration(format!(
            "{} has no page to {what}: not a Redmine (or not its base URL)",
            r.base
        )),
        (Call::Api, StatusCode::UNPROCESSABLE_ENTITY) => {
            let errors = r.errors().join("; ");
            if errors.contains("has already been taken") {
                E::Conflict(format!("{what}: {errors}"))
            } else {
                E::Configuration(format!("Redmine refused to {what}: {errors}"))
            }
        }
        // Rails answers 422 to a form whose CSRF token it does not accept.
        (Call::Web, StatusCode::UNPROCESSABLE_ENTITY) => E::Unavailable(format!(
            "Redmine refused the form to {what} (session or CSRF token not accepted)"
        )),
        _ => E::Configuration(format!(
            "{} answered '{what}' with HTTP {status}: not a Redmine?",
            r.base
        )),
    }
}
