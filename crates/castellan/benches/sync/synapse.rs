//! The bench's Matrix Synapse: its own server (`<workspace>/target/synapse-bench`, port 18020,
//! sharing the tests' virtualenv from `target/synapse/venv` or `$CASTELLAN_SYNAPSE_DIR/venv`
//! when there is one), N active users `bench_00000`… with one email address each (created once
//! with the Admin API, `PUT /_synapse/admin/v2/users/{id}`, 16 in flight; they stay between
//! runs), and the floors:
//!
//! - FLOOR: log in, page through `GET /_synapse/admin/v2/users` (100 a page), collect the names;
//! - FLOOR+DETAILS: the same, then `GET /_synapse/admin/v2/users/{id}` for every user, 8 in
//!   flight: the list has no email addresses, so this is what any client must do to learn them.
//!
//! API: <https://element-hq.github.io/synapse/latest/admin_api/user_admin_api.html>.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::{json, Value};

use super::{bounded, root, BenchApp, Connect};

const PORT: u16 = 18020;
const ADMIN: (&str, &str) = ("admin", "adminpass");
const BOT_USER: &str = "castellan_bench_bot";
const BOT_PASSWORD: &str = "bench-bot-password-1";
const MEMBER_PASSWORD: &str = "bench-member-password";
const CREATE_CONCURRENCY: usize = 16;
const DETAIL_CONCURRENCY: usize = 8;
const PAGE: usize = 100;

/// The running bench Synapse: its address, directory and an admin access token.
pub struct Synapse {
    http: reqwest::Client,
    base: String,
    dir: PathBuf,
    admin: String,
}

impl BenchApp for Synapse {
    const NAME: &'static str = "Synapse";

    /// Starts (or reuses) the server, logs in as `admin` and makes sure the automation account
    /// exists (a server admin, as the connector needs).
    async fn start() -> Result<Self> {
        let dir = start_synapse()?;
        let base = format!("http://127.0.0.1:{PORT}");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let admin = login(&http, &base, ADMIN.0, ADMIN.1, "BENCH_ADMIN").await?;
        put_user(
            &http,
            &base,
            &admin,
            BOT_USER,
            json!({ "password": BOT_PASSWORD, "admin": true, "logout_devices": false }),
        )
        .await?;
        Ok(Self {
            http,
            base,
            dir,
            admin,
        })
    }

    fn base(&self) -> &str {
        &self.base
    }

    fn server_pid_files(&self) -> Vec<PathBuf> {
        vec![self.dir.join("synapse.pid")]
    }

    async fn version(&self) -> Result<String> {
        let v = get(
            &self.http,
            &self.base,
            &self.admin,
            "/_synapse/admin/v1/server_version",
            &[],
        )
        .await?;
        Ok(v["server_version"].as_str().unwrap_or("?").to_owned())
    }

    async fn ensure_members(&self, n: usize) -> Result<()> {
        ensure_members(&self.http, &self.base, &self.admin, n, &self.dir).await
    }

    /// The bench users, `admin` and the automation account.
    fn expected_users(&self, n: usize) -> usize {
        n + 2
    }

    /// Only the bench users have an email address.
    fn expected_emails(&self, n: usize) -> usize {
        n
    }

    fn details_label(&self) -> Option<&'static str> {
        Some("FLOOR+DETAILS (list + one GET per user, 8 in flight)")
    }

    async fn floor(&self, details: bool) -> Result<(usize, usize)> {
        floor(&self.http, &self.base, details).await
    }

    fn connect(&self) -> Connect {
        Connect {
            app: "matrix-synapse",
            login_url: Some(format!("{}/_matrix/client/v3/login", self.base)),
            username: BOT_USER.into(),
            password: BOT_PASSWORD.into(),
            api_token: None,
            settings: Default::default(),
        }
    }

    fn stop_hint(&self) -> String {
        format!(
            "the bench Synapse keeps running on {} ({}); stop it with scripts/stop-synapse.sh {}",
            self.base,
            self.dir.display(),
            self.dir.display()
        )
    }

    const INVITES: bool = false;

    /// Synapse's bench keeps every user it ever made (it deletes none).
    async fn clean_up(&self, _: usize) -> Result<()> {
        bail!("the Synapse bench cannot delete invitees: --invites is for --app wordpress")
    }
}

/// Starts (or reuses) the bench's own Synapse; returns its directory.
fn start_synapse() -> Result<PathBuf> {
    let dir = root().join("target/synapse-bench");
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let main_venv = std::env::var("CASTELLAN_SYNAPSE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target/synapse"))
        .join("venv");
    let link = dir.join("venv");
    if main_venv.join("bin/python").exists() && std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(main_venv.canonicalize()?, &link)?;
    }
    eprintln!(
        "sync bench: starting Synapse in {} on port {PORT}",
        dir.display()
    );
    let out = Command::new("bash")
        .arg(root().join("scripts/start-synapse.sh"))
        .arg(&dir)
        .arg(PORT.to_string())
        .output()
        .context("run scripts/start-synapse.sh")?;
    if !out.status.success() {
        bail!(
            "scripts/start-synapse.sh failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(dir)
}

fn member_name(i: usize) -> String {
    format!("bench_{i:05}")
}

/// Makes sure the server has exactly `n` bench users, active and with an email each, and no
/// other users than `admin` and the automation account. Creates only the missing ones.
async fn ensure_members(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    n: usize,
    dir: &Path,
) -> Result<()> {
    // Everybody, deactivated included (the connector lists them too).
    let mut active = HashSet::new();
    let mut all = HashSet::new();
    let mut from = "0".to_owned();
    loop {
        let page = get(
            http,
            base,
            admin,
            "/_synapse/admin/v2/users",
            &[
                ("from", from.as_str()),
                ("limit", "1000"),
                ("guests", "false"),
                ("deactivated", "true"),
            ],
        )
        .await?;
        for u in page["users"].as_array().context("no `users` in the list")? {
            let name = u["name"].as_str().context("a user without a name")?;
            let local = name
                .strip_prefix('@')
                .and_then(|s| s.split(':').next())
                .unwrap_or(name)
                .to_owned();
            if u["deactivated"] != json!(true) && u["deactivated"] != json!(1) {
                active.insert(local.clone());
            }
            all.insert(local);
        }
        match next_token(&page) {
            Some(t) => from = t,
            None => break,
        }
    }
    let wanted: HashSet<String> = (0..n)
        .map(member_name)
        .chain([ADMIN.0.to_owned(), BOT_USER.to_owned()])
        .collect();
    let mut extra: Vec<&String> = all.difference(&wanted).collect();
    if !extra.is_empty() {
        extra.sort();
        bail!(
            "the bench Synapse has {} user(s) beyond the {n} wanted (e.g. {}); Synapse cannot delete \
             users, so start from a clean slate: scripts/stop-synapse.sh {d} && rm -rf {d}",
            extra.len(),
            extra.iter().take(3).map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            d = dir.display()
        );
    }
    let missing: Vec<usize> = (0..n)
        .filter(|i| !active.contains(&member_name(*i)))
        .collect();
    if missing.is_empty() {
        eprintln!("sync bench: the {n} bench users exist");
        return Ok(());
    }
    eprintln!(
        "sync bench: creating {} of {n} bench users, {CREATE_CONCURRENCY} at a time",
        missing.len()
    );
    let t = Instant::now();
    let total = missing.len();
    let mut done = 0usize;
    let jobs = missing.into_iter().map(|i| {
        let (http, base, admin) = (http.clone(), base.to_owned(), admin.to_owned());
        async move {
            let name = member_name(i);
            let body = json!({
                "password": MEMBER_PASSWORD,
                "displayname": format!("Bench member {i}"),
                "threepids": [{ "medium": "email", "address": format!("{name}@example.com") }],
                "deactivated": false,
            });
            put_user(&http, &base, &admin, &name, body).await
        }
    });
    bounded(CREATE_CONCURRENCY, jobs, |()| {
        done += 1;
        if done.is_multiple_of(250) || done == total {
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "sync bench: created {done}/{total} ({:.0}/s, {s:.0} s)",
                done as f64 / s
            );
        }
    })
    .await?;
    Ok(())
}

// --- plain HTTP: the floors ------------------------------------------------------------------

async fn login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    device: &str,
) -> Result<String> {
    let r = http
        .post(format!("{base}/_matrix/client/v3/login"))
        .json(&json!({
            "type": "m.login.password",
            "identifier": { "type": "m.id.user", "user": user },
            "password": password,
            "device_id": device,
        }))
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await?;
    v["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("login as {user}: HTTP {status}: {v}"))
}

async fn get(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Value> {
    let r = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .query(query)
        .send()
        .await?;
    let status = r.status();
    let v: Value = r.json().await?;
    ensure!(status.is_success(), "GET {path}: HTTP {status}: {v}");
    Ok(v)
}

async fn put_user(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    localpart: &str,
    body: Value,
) -> Result<()> {
    let r = http
        .put(format!(
            "{base}/_synapse/admin/v2/users/%40{localpart}%3Alocalhost"
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = r.status();
    ensure!(
        status.is_success(),
        "PUT user {localpart}: HTTP {status}: {}",
        r.text().await.unwrap_or_default()
    );
    Ok(())
}

/// Synapse sends `next_token` as a string (older versions: a number); absent on the last page.
fn next_token(page: &Value) -> Option<String> {
    match page.get("next_token")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The floor: log in as the automation account, list every user page by page; with `details`,
/// then read every user (8 in flight) and count those with an email. Returns (users, emails).
async fn floor(http: &reqwest::Client, base: &str, details: bool) -> Result<(usize, usize)> {
    let token = login(http, base, BOT_USER, BOT_PASSWORD, "BENCH_FLOOR").await?;
    let limit = PAGE.to_string();
    let mut names = vec![];
    let mut from = "0".to_owned();
    loop {
        let page = get(
            http,
            base,
            &token,
            "/_synapse/admin/v2/users",
            &[("from", from.as_str()), ("limit", limit.as_str())],
        )
        .await?;
        for u in page["users"].as_array().context("no `users` in the list")? {
            names.push(
                u["name"]
                    .as_str()
                    .context("a user without a name")?
                    .to_owned(),
            );
        }
        match next_token(&page) {
            Some(t) => from = t,
            None => break,
        }
    }
    if !details {
        return Ok((names.len(), 0));
    }
    let mut emails = 0usize;
    let reads = names.iter().map(|name| {
        let (http, base, token) = (http.clone(), base.to_owned(), token.clone());
        let path = format!(
            "/_synapse/admin/v2/users/{}",
            name.replace('@', "%40").replace(':', "%3A")
        );
        async move {
            let u = get(&http, &base, &token, &path, &[]).await?;
            Ok(u["threepids"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["medium"] == "email")))
        }
    });
    bounded(DETAIL_CONCURRENCY, reads, |has| emails += usize::from(has)).await?;
    Ok((names.len(), emails))
}
