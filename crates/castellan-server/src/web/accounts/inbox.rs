//! The shared inbox: every email and SMS received for the managed addresses and numbers of
//! the accounts the person may view, filterable by app, account, vault, kind and time; and one
//! message with its code, link and text.
//!
//! The list leaves codes, links and bodies out (as the service does); opening a message shows
//! them and is recorded as `inbox.read`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use castellan_core::inbox::{InboxKind, InboxMessage, InboxMessageId};
use castellan_core::service::InboxQuery;
use castellan_core::CoreError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::{form_errors, non_empty};
use crate::web::auth::FieldErrors;
use crate::web::pages::when;
use crate::web::{render, render_status, Chrome, WebError, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/inbox", get(inbox_page))
        .route("/inbox/{id}", get(message_page))
}

/// Most messages listed on one page.
const LIST_LIMIT: u32 = 200;

/// A choice in a filter's drop-down.
#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
}

/// One row of the inbox.
#[derive(Debug)]
struct Row {
    id: String,
    received: String,
    kind: &'static str,
    account_id: String,
    account: String,
    from: String,
    subject: String,
    /// "Code", "Link", "Code and link" or "".
    found: &'static str,
    expires: String,
}

#[derive(askama::Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    rows: Vec<Row>,
    apps: Vec<Choice>,
    accounts: Vec<Choice>,
    vaults: Vec<Choice>,
    /// The filters as given (to keep them in the form).
    f: InboxParams,
    /// Whether any filter is set.
    filtered: bool,
    errors: FieldErrors,
}

/// The filters, as the GET form sends them (empty means "any").
#[derive(Debug, Default, Deserialize)]
struct InboxParams {
    #[serde(default)]
    app: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    vault: String,
    #[serde(default)]
    kind: String,
    /// A day (`YYYY-MM-DD`): messages received on or after it (UTC).
    #[serde(default)]
    since: String,
    /// A day (`YYYY-MM-DD`): messages received on or before it (UTC).
    #[serde(default)]
    until: String,
}

/// Midnight UTC at the start of `day` (`YYYY-MM-DD`), `days_after` days later.
fn day_start(field: &str, day: &str, days_after: u64) -> Result<DateTime<Utc>, CoreError> {
    NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.checked_add_days(chrono::Days::new(days_after)))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| CoreError::invalid(field, "give a date as YYYY-MM-DD"))
}

/// An id chosen in a drop-down (empty: any).
fn chosen_id<T: std::str::FromStr>(field: &str, v: &str) -> Result<Option<T>, CoreError> {
    match non_empty(v) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| CoreError::invalid(field, "choose one from the list")),
    }
}

/// The service query for the form's filters. `Validation` names the form field.
fn query_of(p: &InboxParams) -> Result<InboxQuery, CoreError> {
    let since = non_empty(&p.since)
        .map(|d| day_start("since", &d, 0))
        .transpose()?;
    let until = non_empty(&p.until)
        .map(|d| day_start("until", &d, 1))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if u <= s {
            return Err(CoreError::invalid(
                "until",
                "the last day comes before the first day",
            ));
        }
    }
    Ok(InboxQuery {
        app: non_empty(&p.app),
        account: chosen_id("account", &p.account)?,
        vault: chosen_id("vault", &p.vault)?,
        kind: match p.kind.trim() {
            "" => None,
            "email" => Some(InboxKind::Email),
            "sms" => Some(InboxKind::Sms),
            _ => return Err(CoreError::invalid("kind", "choose email or SMS")),
        },
        since,
        until,
        limit: Some(LIST_LIMIT),
    })
}

fn kind_name(k: InboxKind) -> &'static str {
    match k {
        InboxKind::Email => "Email",
        InboxKind::Sms => "SMS",
    }
}

fn found_of(m: &InboxMessage) -> &'static str {
    match (m.has_code, m.has_link) {
        (true, true) => "Code and link",
        (true, false) => "Code",
        (false, true) => "Link",
        (false, false) => "",
    }
}

async fn inbox_page(
    State(s): State<AppState>,
    user: WebUser,
    Query(p): Query<InboxParams>,
) -> WebResult {
    let actor = &user.actor;
    let mut apps: Vec<Choice> = s
        .svc
        .catalog()
        .list(&actor.permit()?)
        .await?
        .into_iter()
        .map(|a| Choice {
            value: a.id.to_string(),
            label: a.name,
        })
        .collect();
    let accounts = s
        .svc
        .accounts()
        .list(&actor.permit()?, None, None, None)
        .await?;
    // Only apps that some reachable account uses: the catalog is long.
    apps.retain(|c| {
        accounts
            .iter()
            .any(|a| a.app_id.as_ref().is_some_and(|id| id.as_str() == c.value))
            || c.value == p.app
    });
    let mut account_choices: Vec<Choice> = accounts
        .iter()
        .map(|a| Choice {
            value: a.id.to_string(),
            label: a.label.clone(),
        })
        .collect();
    account_choices.sort_by_key(|c| c.label.to_lowercase());
    let vaults: Vec<Choice> = s
        .svc
        .vaults()
        .list(&actor.permit()?)
        .await?
        .into_iter()
        .map(|v| Choice {
            value: v.id.to_string(),
            label: v.name,
        })
        .collect();

    let fields = [
        ("account", "account"),
        ("vault", "vault"),
        ("kind", "kind"),
        ("since", "since"),
        ("until", "until"),
    ];
    let (rows, errors, status) = match query_of(&p) {
        Err(e) => (
            vec![],
            form_errors(e, &fields, "general"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(q) => match s.svc.inbox().list(&actor.permit()?, q).await {
            Ok(list) => (rows_of(list), FieldErrors::default(), StatusCode::OK),
            Err(e @ CoreError::Validation { .. }) => (
                vec![],
                form_errors(e, &fields, "general"),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Err(e) => return Err(e.into()),
        },
    };
    let filtered = [&p.app, &p.account, &p.vault, &p.kind, &p.since, &p.until]
        .iter()
        .any(|v| !v.trim().is_empty());
    let title = accounts
        .iter()
        .find(|a| a.id.to_string() == p.account.trim())
        .map_or_else(
            || "Shared inbox".to_owned(),
            |a| format!("Shared inbox: {}", a.label),
        );
    Ok(render_status(
        status,
        &InboxPage {
            chrome: user.chrome(title, "inbox"),
            rows,
            apps,
            accounts: account_choices,
            vaults,
            f: p,
            filtered,
            errors,
        },
    ))
}

fn rows_of(list: Vec<InboxMessage>) -> Vec<Row> {
    list.into_iter()
        .map(|m| Row {
            id: m.id.to_string(),
            received: when(m.received_at),
            kind: kind_name(m.kind),
            account_id: m.account_id.to_string(),
            found: found_of(&m),
            expires: m.expires_at.map(when).unwrap_or_default(),
            subject: m.subject.unwrap_or_default(),
            from: m.from,
            account: m.account_label,
        })
        .collect()
}

#[derive(askama::Template)]
#[template(path = "inbox_message.html")]
struct MessagePage {
    chrome: Chrome,
    received: String,
    kind: &'static str,
    account_id: String,
    account: String,
    from: String,
    to: String,
    subject: String,
    code: Option<String>,
    link: Option<String>,
    /// Whether `link` is an `http(s)` URL (only then is it made clickable).
    link_is_web: bool,
    expires: String,
    expired: bool,
    text: String,
}

/// `GET /inbox/{id}`: one message with its code, link and text (escaped; an email's HTML is
/// never rendered). Recorded by the service as `inbox.read`.
async fn message_page(
    State(s): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> WebResult {
    let id: InboxMessageId = id
        .parse()
        .map_err(|_| WebError::status(StatusCode::NOT_FOUND, "No such message."))?;
    let m = s.svc.inbox().message(&user.actor.permit()?, id).await?;
    let title = m
        .subject
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("{} from {}", kind_name(m.kind), m.from));
    Ok(render(&MessagePage {
        chrome: user.chrome(title, "inbox"),
        received: when(m.received_at),
        kind: kind_name(m.kind),
        account_id: m.account_id.to_string(),
        account: m.account_label,
        from: m.from,
        to: m.to,
        subject: m.subject.unwrap_or_default(),
        link_is_web: m
            .link
            .as_deref()
            .and_then(|l| url::Url::parse(l).ok())
            .is_some_and(|u| matches!(u.scheme(), "http" | "https")),
        code: m.code,
        link: m.link,
        expired: m.expires_at.is_some_and(|e| e <= Utc::now()),
        expires: m.expires_at.map(when).unwrap_or_default(),
        text: m.text.unwrap_or_default(),
    }))
}
