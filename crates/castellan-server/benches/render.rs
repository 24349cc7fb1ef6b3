//! Benchmark (issue 6): the server render time of the accounts page with 1,000 accounts and of
//! the hub page with a 5,000-member hub, each against a baseline measured in the same run: the
//! JSON API call that reads the same data (`GET /api/v1/accounts`, `GET
//! /api/v1/hubs/{id}/members`). Both go through the whole router (session or token check,
//! store reads on a real SQLite file, rendering or serializing, the response body), in process,
//! with no network in between.
//!
//! ```text
//! cargo bench -p castellan-server --bench render                         # 1,000 / 5,000, 30 iterations
//! cargo bench -p castellan-server --bench render -- --iterations 5       # a quick run
//! ```
//!
//! Results are medians; the variants alternate so a burst of load from elsewhere slows both.
//! Run outside `cargo bench` (no `--bench` argument, as in `cargo test --benches`) it does
//! nothing: performance is measured here, never in tests.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use castellan_core::activity::{ActivityAction, Actor, NewEvent};
use castellan_core::connector::MemberState;
use castellan_core::hub::{HubId, HubMember, Matching, SyncReport};
use castellan_core::ports::{HubStore, JobStore};
use castellan_core::{Castellan, StaticKeys};
use castellan_crypto::Keyring;
use castellan_server::{router, AppState};
use castellan_store::SqlStore;
use http_body_util::BodyExt;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Request headers (authentication) of one variant.
type Headers = Vec<(header::HeaderName, String)>;

const PASSWORD: &str = "correct horse battery staple";

struct Args {
    accounts: usize,
    members: usize,
    iterations: usize,
}

fn args() -> Option<Args> {
    let mut a = Args {
        accounts: 1_000,
        members: 5_000,
        iterations: 30,
    };
    let mut bench = false;
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut num = || it.next().and_then(|v| v.parse().ok()).expect("a number");
        match x.as_str() {
            "--bench" => bench = true,
            "--accounts" => a.accounts = num(),
            "--members" => a.members = num(),
            "--iterations" => a.iterations = num(),
            _ => {}
        }
    }
    bench.then_some(a)
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    auth: &[(header::HeaderName, String)],
    body: Option<Value>,
) -> (StatusCode, Vec<u8>) {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in auth {
        b = b.header(k, v);
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .unwrap();
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    (
        status,
        r.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

/// Signs in through the web form; returns the `Cookie` header value of the session.
async fn web_session(app: &Router) -> String {
    let r = app
        .clone()
        .oneshot(Request::get("/sign-in").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let csrf = cookie_of(r.headers(), "castellan_csrf").expect("csrf cookie");
    let form = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("csrf", csrf.as_str()),
            ("email", "owner@example.com"),
            ("password", PASSWORD),
        ])
        .finish();
    let req = Request::post("/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("castellan_csrf={csrf}"))
        .body(Body::from(form))
        .unwrap();
    let r = app.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "web sign-in");
    format!(
        "castellan_session={}",
        cookie_of(r.headers(), "castellan_session").expect("session cookie")
    )
}

fn cookie_of(h: &header::HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(a) = args() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = SqlStore::connect(&db).await.unwrap();
    let svc = Castellan::new(
        Arc::new(store),
        Arc::new(StaticKeys(Arc::new(Keyring::generate()))),
    )
    .unwrap();
    let setup = svc
        .sessions()
        .init("Bench")
        .await
        .unwrap()
        .unwrap()
        .expose_secret()
        .to_owned();
    let app = router(AppState::new(svc));
    let (st, body) = call(&app, "POST", "/api/v1/setup/claim", &[], Some(json!({
        "setup_token": setup, "email": "owner@example.com", "name": "Owner", "password": PASSWORD,
    }))).await;
    assert_eq!(st, StatusCode::CREATED);
    let token = serde_json::from_slice::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = vec![(header::AUTHORIZATION, format!("Bearer {token}"))];
    // The web pages are read with a session cookie from the sign-in form.
    let cookie = vec![(header::COOKIE, web_session(&app).await)];

    eprintln!(
        "seeding {} accounts and a hub with {} members…",
        a.accounts, a.members
    );
    let mut automation = String::new();
    for i in 0..a.accounts {
        let (st, body) = call(&app, "POST", "/api/v1/accounts", &bearer, Some(json!({
            "label": format!("Account {i:05}"), "app": if i % 3 == 0 { "matrix-synapse" } else { "slack" },
            "username": format!("user{i}@example.com"), "password": format!("pw-{i}-{}", uuid::Uuid::now_v7()),
        }))).await;
        assert_eq!(
            st,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        if i == 0 {
            automation = serde_json::from_slice::<Value>(&body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
    }
    let (st, body) = call(
        &app,
        "POST",
        "/api/v1/hubs",
        &bearer,
        Some(json!({
            "app": "matrix-synapse", "label": "Bench hub", "base_url": "http://127.0.0.1:9",
            "automation_account_id": automation,
        })),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let hub_id: HubId = serde_json::from_slice::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    {
        // The snapshot a sync of a 5,000-member app would leave, saved as the bot saves it.
        let store = SqlStore::connect(&db).await.unwrap();
        let hub = store.hub(hub_id).await.unwrap().unwrap();
        let now = chrono::Utc::now();
        let members: Vec<HubMember> = (0..a.members)
            .map(|i| HubMember {
                app_member_id: format!("@member{i:05}:localhost"),
                email: Some(format!("member{i:05}@example.com")),
                name: Some(format!("Member {i}")),
                app_role: Some(if i % 50 == 0 { "admin" } else { "user" }.into()),
                state: MemberState::Active,
                matching: if i % 10 == 0 {
                    Matching::Exempted
                } else {
                    Matching::Unmatched
                },
                person_id: None,
                exempt_reason: (i % 10 == 0).then(|| "service account".into()),
                first_seen_at: now,
                last_seen_at: now,
                roles: vec![],
            })
            .collect();
        let job = store
            .jobs(&Default::default())
            .await
            .unwrap()
            .first()
            .map(|j| j.id)
            .expect("the first sync job");
        let report = SyncReport {
            total: members.len(),
            ..Default::default()
        };
        let ev = NewEvent::new(
            &Actor::system("bench"),
            ActivityAction::HubCheckForUpdates,
            chrono::Utc::now(),
        )
        .target("hub", hub_id, "Bench hub");
        store
            .save_sync(&hub, &members, &report, job, &ev, &[])
            .await
            .unwrap();
        store.close().await;
    }

    let variants: [(&str, String, &Headers); 4] = [
        ("accounts page (HTML)", "/accounts".into(), &cookie),
        (
            "GET /api/v1/accounts (JSON baseline)",
            "/api/v1/accounts".into(),
            &bearer,
        ),
        (
            "hub page, unmatched tab (HTML)",
            format!("/hubs/{hub_id}?tab=unmatched"),
            &cookie,
        ),
        (
            "GET /api/v1/hubs/{id}/members (JSON baseline)",
            format!("/api/v1/hubs/{hub_id}/members"),
            &bearer,
        ),
    ];
    let mut times: Vec<Vec<Duration>> = vec![vec![]; variants.len()];
    let mut sizes = vec![0usize; variants.len()];
    for round in 0..=a.iterations {
        for (i, (name, path, auth)) in variants.iter().enumerate() {
            let t = Instant::now();
            let (st, body) = call(&app, "GET", path, auth, None).await;
            let took = t.elapsed();
            assert_eq!(
                st,
                StatusCode::OK,
                "{name}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
            if round > 0 {
                times[i].push(took); // round 0 warms up
            }
            sizes[i] = body.len();
        }
    }
    // Sanity: the pages really show the data.
    let (_, page) = call(&app, "GET", "/accounts", &cookie, None).await;
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains(&format!("Account {:05}", a.accounts - 1)),
        "the accounts page lists every account"
    );

    let med: Vec<Duration> = times.into_iter().map(median).collect();
    println!(
        "render benchmark: {} accounts, {} hub members, {} iterations (medians)",
        a.accounts, a.members, a.iterations
    );
    for (i, (name, _, _)) in variants.iter().enumerate() {
        println!("  {name:<48} {:>10}  {:>9} bytes", ms(med[i]), sizes[i]);
    }
    println!(
        "  accounts page / JSON baseline: {:.2}x",
        med[0].as_secs_f64() / med[1].as_secs_f64()
    );
    println!(
        "  hub page / JSON baseline:      {:.2}x",
        med[2].as_secs_f64() / med[3].as_secs_f64()
    );
}
