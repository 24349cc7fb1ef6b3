//! The Google Ads API as the automation account for one call ([`Account`]): its requests with
//! Google's headers, searches through every page, mutate operations, pending invitations.

use castellan_core::connector::{AppMember, ConnectorContext as Ctx, ConnectorError as E};
use reqwest::header::HeaderName;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::model::{
    self, customer_id, invitation, map_error, mutated, results, ADMIN, INVITATIONS,
};
use super::{API_VERSION, APP, DEVELOPER_TOKEN, LOGIN_CUSTOMER_ID};
use crate::sdk::errors::gone;
use crate::sdk::http::Request;
use crate::sdk::rest::json_body;
use crate::sdk::saas::next_cursor;
use crate::sdk::{Auth, Endpoint, HttpClient};

type R<T> = Result<T, E>;

/// `Ok` for an `ADMIN`.
///
/// Errors: `InsufficientPermission` naming the role.
pub(super) fn admin(me: &AppMember) -> R<()> {
    match me.roles.iter().any(|r| r == ADMIN) {
        true => Ok(()),
        false => Err(E::InsufficientPermission(format!(
            "the automation account has {} access to Google Ads: it needs ADMIN to manage users",
            me.roles.join(", ").to_ascii_uppercase()
        ))),
    }
}

/// The Google Ads API as the automation account for one call, on one account.
#[derive(Debug)]
pub struct Account<'a> {
    api: Endpoint<'a>,
    /// The account's customer ID.
    pub(super) customer: String,
    /// The manager account's customer ID (`login-customer-id`).
    pub(super) login: Option<String>,
    /// The developer token, when the hub still sets one.
    developer: Option<SecretString>,
    /// The automation account's user id, and the customer its access is on.
    pub(super) me: String,
    pub(super) via: String,
}

impl<'a> Account<'a> {
    /// The API at the hub's base URL with `token`, the hub's customer IDs and developer token,
    /// and the session's `data` (`me`, `via`; none before sign-in).
    ///
    /// Errors: `Configuration` for a customer ID that is not 10 digits, or a base URL the hub's
    /// address policy refuses.
    pub(super) fn new(
        http: &'a HttpClient,
        ctx: &Ctx,
        token: &SecretString,
        data: &Value,
    ) -> R<Self> {
        let customer = customer_id(
            ctx.organization_id.as_deref().unwrap_or(""),
            "organization ID",
        )?;
        let login = ctx
            .setting(LOGIN_CUSTOMER_ID)
            .map(|l| customer_id(l, "login customer ID"))
            .transpose()?;
        let api = http
            .endpoint_for(ctx)?
            .with_auth(Auth::Bearer(token.clone()));
        let text = |k: &str| data[k].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            api: api.with_retry_hint(model::retry_delay),
            customer,
            login,
            developer: ctx
                .setting(DEVELOPER_TOKEN)
                .map(|t| SecretString::from(t.to_owned())),
            me: text("me"),
            via: text("via"),
        })
    }

    /// A `POST` of `body` to `/v26/customers/{customer}/{method}` with Google's headers.
    pub(super) fn post(&self, customer: &str, method: &str, body: Value) -> Request<'_> {
        let path = format!("/{API_VERSION}/customers/{customer}/{method}");
        let mut req = self.api.request(Method::POST, &path).json(body);
        if let Some(login) = &self.login {
            req = req.header(HeaderName::from_static("login-customer-id"), login);
        }
        if let Some(dev) = &self.developer {
            let name = HeaderName::from_static("developer-token");
            req = req.header(name, dev.expose_secret());
        }
        req
    }

    async fn call(req: Request<'_>, what: &str) -> R<Value> {
        let r = req.send().await?;
        json_body(r, APP, what, |r| map_error(r, what))
    }

    /// One page of `query` on `customer` from Google's `page` token (a read: retried in the
    /// call on 429 and 503).
    pub(super) async fn search(
        &self,
        customer: &str,
        query: &str,
        page: Option<&str>,
        what: &str,
    ) -> R<Value> {
        let mut body = json!({ "query": query });
        if let Some(p) = page {
            body["pageToken"] = json!(p);
        }
        let req = self.post(customer, "googleAds:search", body).idempotent();
        Self::call(req, what).await
    }

    /// Every row of `query` on `customer`, through every page.
    pub(super) async fn all(&self, customer: &str, query: &str, what: &str) -> R<Vec<Value>> {
        let (mut rows, mut page) = (Vec::new(), None);
        loop {
            let v = self.search(customer, query, page.as_deref(), what).await?;
            rows.extend(results(&v).iter().cloned());
            match next_cursor(&v, "/nextPageToken") {
                Some(next) => page = Some(next),
                None => return Ok(rows),
            }
        }
    }

    /// One mutate `operation` on the account's `collection` (`customerUserAccesses`,
    /// `customerUserAccessInvitations`); `safe` when sending it twice does no harm.
    pub(super) async fn mutate(
        &self,
        collection: &str,
        operation: Value,
        safe: bool,
        what: &str,
    ) -> R<String> {
        let method = format!("{collection}:mutate");
        let mut req = self.post(&self.customer, &method, json!({ "operation": operation }));
        if safe {
            req = req.idempotent();
        }
        mutated(&Self::call(req, what).await?, what)
    }

    /// The pending invitation of `email` and its invitation id.
    pub(super) async fn pending(&self, email: &str) -> R<Option<(AppMember, String)>> {
        let rows = self
            .all(&self.customer, INVITATIONS, "list invitations")
            .await?;
        Ok(rows
            .iter()
            .filter_map(invitation)
            .find(|(m, _)| m.email.as_deref() == Some(email)))
    }

    /// Sends an invitation of `email` as `role` (Castellan's name).
    pub(super) async fn invite(&self, email: &str, role: &str) -> R<()> {
        let create = json!({ "emailAddress": email, "accessRole": role.to_ascii_uppercase() });
        let what = "invite a user";
        self.mutate(
            "customerUserAccessInvitations",
            json!({ "create": create }),
            false,
            what,
        )
        .await
        .map(drop)
    }

    /// Revokes the pending invitation of `email`; none is done.
    pub(super) async fn revoke(&self, email: &str) -> R<()> {
        let Some((_, id)) = self.pending(email).await? else {
            return Ok(());
        };
        let name = format!(
            "customers/{}/customerUserAccessInvitations/{id}",
            self.customer
        );
        let op = json!({ "remove": name });
        let r = self
            .mutate(
                "customerUserAccessInvitations",
                op,
                true,
                "revoke an invitation",
            )
            .await;
        gone(r)
    }
}
