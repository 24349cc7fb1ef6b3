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

/// Accounts per page on the accounts page.
pub const ACCOUNTS_PER_PAGE: usize = 50;

#[derive(askama::Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    q: String,
    /// This page's cards.
    cards: Vec<AccountCard>,
    /// How many accounts match in all.
    total: usize,
    /// Position of the first and last card shown (from 1).
    first: usize,
    last: usize,
    /// Links to the previous and next pages (keeping the search), when there are some.
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    /// The page, from 1.
    page: Option<String>,
    /// What was just done (`deleted`).
    done: Option<String>,
}

/// The link to page `page` of the accounts page for search `q`.
fn page_link(q: &str, page: usize) -> String {
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        url.append_pair("q", q);
    }
    if page > 1 {
        url.append_pair("page", &page.to_string());
    }
    let query = url.finish();
    if query.is_empty() {
        "/accounts".into()
    } else {
        format!("/accounts?{query}")
    }
}

/// The accounts the person can reach, as cards, searched by `q`.
pub async fn account_cards(
    s: &AppState,
    user: &WebUser,
    q: Option<String>,
) -> Result<Vec<AccountCard>, castellan_core::CoreError> {
    let vaults: HashMap<_, _> = s
        .svc
        .vaults()
        .list(&user.actor.permit()?)
        .await?
        .into_iter()
        .map(|v| (v.id, v.name))
        .collect();
    let accounts = s
        .svc
        .accounts()
        .list(&user.actor.permit()?, q, None, None)
        .await?;
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
    let search = q.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    let all = account_cards(&s, &user, search.clone()).await?;
    let search = search.unwrap_or_default();
    let total = all.len();
    let pages = total.div_ceil(ACCOUNTS_PER_PAGE).max(1);
    // A page number that is not one, or past the end, shows the nearest page.
    let page = q
        .page
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let start = (page - 1) * ACCOUNTS_PER_PAGE;
    let cards: Vec<AccountCard> = all
        .into_iter()
        .skip(start)
        .take(ACCOUNTS_PER_PAGE)
        .collect();
    let mut chrome = user.chrome("Accounts", "accounts");
    if q.done.as_deref() == Some("deleted") {
        chrome.notice = Some("The account was deleted.".into());
    }
    Ok(render(&AccountsPage {
        chrome,
        first: if total == 0 { 0 } else { start + 1 },
        last: start + cards.len(),
        prev: (page > 1).then(|| page_link(&search, page - 1)),
        next: (page < pages).then(|| page_link(&search, page + 1)),
        q: search,
        cards,
        total,
    }))
}
