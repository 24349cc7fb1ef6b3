//! A browser-like client of the web app for router tests: it signs in through the sign-in form,
//! keeps the session cookie and the session's CSRF token, and posts forms. Plus small readers of
//! the HTML (an element's attribute, the markup of a section or row). Include it with
//! `#[path = "common/web.rs"] mod web;` next to `mod common;`.
#![allow(dead_code)]

use axum::http::{header, StatusCode};

use super::common::{Resp, Session, TestApp, PASSWORD};

/// Undoes askama's HTML escaping (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`, `&#NN;`, `&#xNN;`).
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let entity = rest.find(';').filter(|e| *e <= 8).and_then(|e| {
            let c = match &rest[1..e] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                n => n
                    .strip_prefix("#x")
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| n.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32)?,
            };
            Some((c, e + 1))
        });
        if let Some((c, len)) = entity {
            out.push(c);
            rest = &rest[len..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The markup from the opening tag of the element with `id` up to the first `until` after it
/// (e.g. `"</section>"`, `"</tr>"`), escaped as served.
pub fn block<'a>(html: &'a str, id: &str, until: &str) -> Option<&'a str> {
    let at = html.find(&format!(" id=\"{id}\""))?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find(until)? + until.len();
    Some(&html[start..end])
}

/// The opening tag of the element with `id`.
pub fn tag<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    block(html, id, ">")
}

/// Attribute `name` of the element with `id`, unescaped.
pub fn attr(html: &str, id: &str, name: &str) -> Option<String> {
    let t = tag(html, id)?;
    let needle = format!(" {name}=\"");
    let at = t.find(&needle)? + needle.len();
    Some(unescape(&t[at..at + t[at..].find('"')?]))
}

/// Whether the element with `id` has the boolean attribute `name` (e.g. `aria-invalid`).
pub fn has_attr(html: &str, id: &str, name: &str) -> bool {
    tag(html, id).is_some_and(|t| t.contains(&format!(" {name}")))
}

/// The first `value="…"` of a hidden input named `name`, unescaped.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let needle = format!("type=\"hidden\" name=\"{name}\" value=\"");
    let at = html.find(&needle)? + needle.len();
    Some(unescape(&html[at..at + html[at..].find('"')?]))
}

/// The `Location` of a response, or "".
pub fn location(r: &Resp) -> String {
    r.headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value a response's `Set-Cookie` gives cookie `name`, if any (not a deletion).
pub fn set_cookie(r: &Resp, name: &str) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (k, val) = v.split(';').next()?.split_once('=')?;
            (k == name && !val.is_empty()).then(|| val.to_owned())
        })
}

fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish()
        .into_bytes()
}

/// A signed-in browser: the session cookie and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    /// `castellan_session=…`.
    pub cookie: String,
    /// The token every form of the session carries.
    pub csrf: String,
}

impl Browser {
    /// Signs in through `GET /sign-in` and `POST /sign-in` like a person would, then reads the
    /// session's CSRF token from a page (`/sessions`).
    pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> Self {
        let page = app.raw("GET", "/sign-in", &[], vec![]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let csrf_cookie = set_cookie(&page, "castellan_csrf").expect("a CSRF cookie");
        let field = hidden(&page.text(), "csrf").expect("a csrf field");
        let cookie = format!("castellan_csrf={csrf_cookie}");
        let r = app
            .raw(
                "POST",
                "/sign-in",
                &[
                    (header::COOKIE, &cookie),
                    (header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
                ],
                form_body(&[("csrf", &field), ("email", email), ("password", password)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "sign in: {}", r.text());
        let session = set_cookie(&r, "castellan_session").expect("a session cookie");
        let mut b = Self {
            cookie: format!("castellan_session={session}"),
            csrf: String::new(),
        };
        let p = b.get(app, "/sessions").await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.text());
        b.csrf = hidden(&p.text(), "csrf").expect("the session's csrf field");
        b
    }

    /// `GET path` with the session cookie.
    pub async fn get(&self, app: &TestApp, path: &str) -> Resp {
        app.raw("GET", path, &[(header::COOKIE, &self.cookie)], vec![])
            .await
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Resp {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(app, path, &all).await
    }

    /// Posts exactly these fields (no CSRF token added).
    pub async fn post_raw(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Resp {
        app.raw(
            "POST",
            path,
            &[
                (header::COOKIE, &self.cookie),
                (header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            ],
            form_body(fields),
        )
        .await
    }
}

/// A claimed app with the owner signed in through the web sign-in form.
pub async fn owner_in_browser() -> (TestApp, Session, Browser) {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let b = Browser::sign_in(&app, "owner@example.com", PASSWORD).await;
    (app, owner, b)
}

/// An account made through the API; returns its id.
pub async fn api_account(app: &TestApp, token: &str, body: serde_json::Value) -> String {
    app.post("/api/v1/accounts", token, body)
        .await
        .ok()
        .str("id")
}

/// Events of `action` whose target is `target`, read with an owner's token.
pub async fn events(app: &TestApp, owner: &str, action: &str, target: &str) -> usize {
    let v = app
        .get(
            &format!("/api/v1/activity?action={action}&limit=1000"),
            owner,
        )
        .await
        .ok()
        .json();
    v.as_array()
        .expect("events")
        .iter()
        .filter(|e| {
            e["target_id"] == serde_json::json!(target) && e["action"] == serde_json::json!(action)
        })
        .count()
}

/// Asserts a 303 whose `Location` starts with `starts_with`; returns the location.
#[track_caller]
pub fn assert_see_other(r: &Resp, starts_with: &str) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = location(r);
    assert!(to.starts_with(starts_with), "redirect to {to}");
    to
}
