//! Pages of the signed-in app. Each area adds its routes here.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{render, Chrome, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/accounts", get(accounts_page))
}

/// A time as shown on pages: `2026-11-29 14:03 UTC`.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One card on the accounts page.
#[derive(Debug)]
pub struct AccountCard {
    /// Account id.
    pub id: String,
    /// Label.
    pub label: String,
    /// App name, or the login URL's host, or "—".
    pub app: String,
    /// Username or "—".
    pub username: String,
    /// Vault name.
    pub vault: String,
    /// Whether 2FA is managed by Castellan.
    pub has_totp: bool,
}

#[derive(askama::Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    q: String,
    cards: Vec<AccountCard>,
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// The accounts the person can reach, as cards, searched by `q`.
pub async fn account_cards(
    s: &AppState,
    user: &WebUser,
    q: Option<String>,
) -> Result<Vec<AccountCard>, castellan_core::CoreError> {
    let vaults: HashMap<_, _> = s
        .svc
        .vaults(&user.actor)
        .await?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    let accounts = s.svc.accounts(&user.actor, q, None, None).await?;
    Ok(accounts
        .into_iter()
        .map(|a| AccountCard {
            id: a.id.to_string(),
            app: a
                .app_name
                .clone()
                .or_else(|| {
                    a.login_url
                        .as_deref()
                        .and_then(|u| url::Url::parse(u).ok())
                        .and_then(|u| u.host_str().map(str::to_owned))
                })
                .unwrap_or_else(|| "—".into()),
            username: a.username.clone().unwrap_or_else(|| "—".into()),
            vault: vaults
                .get(&a.vault_id)
                .cloned()
                .unwrap_or_else(|| "—".into()),
            has_totp: a.has_totp,
            label: a.label,
        })
        .collect())
}

async fn accounts_page(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<SearchQuery>,
) -> WebResult {
    let q = q.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    let cards = account_cards(&s, &user, q.clone()).await?;
    Ok(render(&AccountsPage {
        chrome: user.chrome("Accounts", "accounts"),
        q: q.unwrap_or_default(),
        cards,
    }))
}
