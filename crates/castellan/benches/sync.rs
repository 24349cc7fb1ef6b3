//! Benchmark (issue 3): `check_for_updates` on a Matrix Synapse with N members (default 5,000),
//! against the floor: listing the same members straight from the Synapse Admin API in a plain
//! HTTP loop.
//!
//! ```text
//! cargo bench -p castellan --bench sync                                  # 5,000 members, 5 iterations
//! cargo bench -p castellan --bench sync -- --members 500 --iterations 2  # a quick run
//! ```
//!
//! It starts a dedicated Synapse (`<workspace>/target/synapse-bench`, port 18020, sharing the
//! tests' virtualenv from `target/synapse/venv` when there is one), makes sure it has exactly N
//! active users `bench_00000`… with one email address each (created once; they stay in the
//! directory between runs), then measures, alternating, after one warm-up of each:
//!
//! - FLOOR: log in, page through `GET /_synapse/admin/v2/users` (100 a page), collect the names;
//! - FLOOR+DETAILS: the same, then `GET /_synapse/admin/v2/users/{id}` for every user, 8 in
//!   flight: the list has no email addresses, so this is what any client must do to learn them;
//! - CASTELLAN: queue a `check_for_updates` and run it with `Bot::run_one` until it completes
//!   (login, permission probe, listing with details, matching, diff, plan, and saving the
//!   snapshot and the report in SQLite).
//!
//! Each Castellan run is checked: it must have seen N members plus the server admin and the
//! automation account. Results are medians and ratios against the floors measured in the same run.
//!
//! Run outside `cargo bench` (no `--bench` argument, as in `cargo test --benches`) it does
//! nothing: performance is measured here, never in tests.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use castellan_connectors::Registry;
use castellan_core::activity::Actor;
use castellan_core::hub::{HubId, JobState, Trigger};
use castellan_core::model::AccountSetup;
use castellan_core::service::{AccountInput, Bot, BotConfig, Claim, ConnectHub};
use castellan_core::{Castellan, StaticKeys};
use castellan_crypto::Keyring;
use castellan_store::SqlStore;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use tokio::task::JoinSet;

const PORT: u16 = 18020;
const ADMIN: (&str, &str) = ("admin", "adminpass");
const BOT_USER: &str = "castellan_bench_bot";
const BOT_PASSWORD: &str = "bench-bot-password-1";
const MEMBER_PASSWORD: &str = "bench-member-password";
const CREATE_CONCURRENCY: usize = 16;
const DETAIL_CONCURRENCY: usize = 8;
const PAGE: usize = 100;

#[derive(Debug)]
struct Args {
    members: usize,
    iterations: usize,
}

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args {
        members: 5000,
        iterations: 5,
    };
    let mut bench = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bench" => bench = true,
            "--members" | "--iterations" => {
                let v: usize = it
                    .next()
                    .ok_or_else(|| anyhow!("{a} needs a value"))?
                    .parse()
                    .with_context(|| format!("{a} needs a number"))?;
                if a == "--members" {
                    args.members = v;
                } else {
                    args.iterations = v;
                }
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: cargo bench -p castellan --bench sync [-- --members N --iterations K]"
                );
                std::process::exit(0);
            }
            // cargo passes filters and harness flags through; this bench has no filters.
            other => eprintln!("sync bench: ignoring argument {other:?}"),
        }
    }
    ensure!(args.members >= 1, "--members must be at least 1");
    ensure!(args.members <= 99_999, "--members must be at most 99999");
    ensure!(args.iterations >= 1, "--iterations must be at least 1");
    Ok(bench.then_some(args))
}

#[tokio::main]
async fn main() -> Result<()> {
    let Some(args) = parse_args()? else {
        eprintln!("sync bench: not run by `cargo bench` (no --bench argument); nothing to do");
        return Ok(());
    };
    let base = format!("http://127.0.0.1:{PORT}");
    let load_before = loadavg();
    let dir = start_synapse()?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    // --- the app's users -----------------------------------------------------------------
    let admin = login(&http, &base, ADMIN.0, ADMIN.1, "BENCH_ADMIN").await?;
    let synapse_version = get(
        &http,
        &base,
        &admin,
        "/_synapse/admin/v1/server_version",
        &[],
    )
    .await?["server_version"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    put_user(
        &http,
        &base,
        &admin,
        BOT_USER,
        json!({ "password": BOT_PASSWORD, "admin": true, "logout_devices": false }),
    )
    .await?;
    ensure_members(&http, &base, &admin, args.members, &dir).await?;
    let expected = args.members + 2; // the bench users, `admin` and the automation account

    // --- Castellan on a temporary SQLite ------------------------------------------------
    let tmp = tempfile::tempdir()?;
    let c = CastellanBench::new(&tmp.path().join("castellan.db"), &base).await?;

    // --- warm-up -------------------------------------------------------------------------
    eprintln!("sync bench: warm-up");
    let n = floor(&http, &base, false).await?.0;
    ensure!(
        n == expected,
        "the floor listed {n} users, expected {expected}"
    );
    let (n, emails) = floor(&http, &base, true).await?;
    ensure!(
        n == expected && emails == args.members,
        "the floor with details saw {n} users and {emails} emails, expected {expected} and {}",
        args.members
    );
    // The first sync is the one `connect_hub` queued: every member is new.
    let first = c.run_sync(false).await?;
    c.check(expected, args.members, true).await?;
    eprintln!(
        "sync bench: first sync (all {expected} members new) took {}",
        secs(first.total)
    );

    // --- measured, alternating -----------------------------------------------------------
    let cpu = CpuMeter::new(&dir);
    let mut floor_t = vec![];
    let mut details_t = vec![];
    let mut castellan_t = vec![];
    let mut listing_t = vec![];
    let mut rest_t = vec![];
    // CPU seconds per variant: (Synapse, this process), as a [`CpuMeter`] reads them.
    let mut floor_cpu = vec![];
    let mut details_cpu = vec![];
    let mut castellan_cpu = vec![];
    for i in 1..=args.iterations {
        let c0 = cpu.read();
        let t = Instant::now();
        let (n, _) = floor(&http, &base, false).await?;
        floor_t.push(t.elapsed());
        floor_cpu.push(cpu.since(c0));
        ensure!(
            n == expected,
            "the floor listed {n} users, expected {expected}"
        );

        let c0 = cpu.read();
        let t = Instant::now();
        let (n, emails) = floor(&http, &base, true).await?;
        details_t.push(t.elapsed());
        details_cpu.push(cpu.since(c0));
        ensure!(
            n == expected && emails == args.members,
            "the floor with details saw {n} users and {emails} emails"
        );

        let c0 = cpu.read();
        let run = c.run_sync(true).await?;
        castellan_cpu.push(cpu.since(c0));
        castellan_t.push(run.total);
        listing_t.push(run.listing);
        rest_t.push(run.rest);
        c.check(expected, args.members, i == args.iterations)
            .await?;
        eprintln!(
            "sync bench: iteration {i}/{}: floor {}, floor+details {}, castellan {}",
            args.iterations,
            secs(floor_t[i - 1]),
            secs(details_t[i - 1]),
            secs(castellan_t[i - 1])
        );
    }

    // --- report --------------------------------------------------------------------------
    let f = Stats::of(&floor_t);
    let d = Stats::of(&details_t);
    let k = Stats::of(&castellan_t);
    let kl = Stats::of(&listing_t);
    let kr = Stats::of(&rest_t);
    println!();
    println!(
        "check_for_updates on Synapse {synapse_version} with {} members ({expected} users listed), {} iteration(s) after 1 warm-up",
        args.members, args.iterations
    );
    println!(
        "load average (1 min) at start {load_before}, at end {}",
        loadavg()
    );
    println!(
        "machine: {} CPU(s) available, {}, {} build, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        rustc_version(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!();
    println!("| variant | median | min | max | Synapse CPU | bench process CPU |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, s, c) in [
        ("FLOOR (list pages)", &f, Some(&floor_cpu)),
        (
            "FLOOR+DETAILS (list + one GET per user, 8 in flight)",
            &d,
            Some(&details_cpu),
        ),
        (
            "CASTELLAN (check_for_updates job)",
            &k,
            Some(&castellan_cpu),
        ),
        ("  of which: login, probe, listing with details", &kl, None),
        ("  of which: match, diff, plan, save to SQLite", &kr, None),
    ] {
        let (syn, own) = match c {
            Some(c) => (
                cpu_median(c.iter().map(|x| x.0)),
                cpu_median(c.iter().map(|x| x.1)),
            ),
            None => (String::new(), String::new()),
        };
        println!(
            "| {name} | {} | {} | {} | {syn} | {own} |",
            secs(s.median),
            secs(s.min),
            secs(s.max)
        );
    }
    println!();
    println!("(CPU columns: medians of CPU seconds, user + system, from /proc; the bench process is the HTTP client and, for CASTELLAN, the whole service with its SQLite store.)");
    println!();
    println!("| ratio (medians) | value |");
    println!("|---|---:|");
    println!("| CASTELLAN / FLOOR | {:.1}x |", ratio(k.median, f.median));
    println!(
        "| CASTELLAN / (FLOOR+DETAILS) | {:.2}x |",
        ratio(k.median, d.median)
    );
    println!(
        "| (FLOOR+DETAILS) / FLOOR | {:.1}x |",
        ratio(d.median, f.median)
    );
    println!();
    println!(
        "first sync (all members new, not in the table): {} ({} listing, {} after)",
        secs(first.total),
        secs(first.listing),
        secs(first.rest)
    );
    println!(
        "per member: floor {:.0} us, floor+details {:.0} us, castellan {:.0} us",
        per_member(f.median, expected),
        per_member(d.median, expected),
        per_member(k.median, expected)
    );
    eprintln!(
        "sync bench: the bench Synapse keeps running on {base} ({}); stop it with scripts/stop-synapse.sh {}",
        dir.display(),
        dir.display()
    );
    Ok(())
}

// --- statistics ------------------------------------------------------------------------------

struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

impl Stats {
    fn of(samples: &[Duration]) -> Stats {
        let mut v = samples.to_vec();
        v.sort();
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2
        };
        Stats {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }
}

fn cpu_median(v: impl Iterator<Item = Option<Duration>>) -> String {
    let v: Option<Vec<Duration>> = v.collect();
    match v {
        Some(v) if !v.is_empty() => secs(Stats::of(&v).median),
        _ => "?".into(),
    }
}

/// Reads CPU time (user + system) of the bench's Synapse and of this process from
/// `/proc/<pid>/stat` (Linux); `None` where it cannot.
struct CpuMeter {
    synapse_pid: Option<String>,
    tick: f64,
}

impl CpuMeter {
    fn new(dir: &Path) -> Self {
        let tick = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0);
        Self {
            synapse_pid: std::fs::read_to_string(dir.join("synapse.pid"))
                .ok()
                .map(|p| p.trim().to_owned()),
            tick,
        }
    }

    fn cpu(&self, pid: &str) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which is in parentheses: state is field 3,
        // utime field 14 and stime field 15.
        let rest = &stat[stat.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some(Duration::from_secs_f64(ticks / self.tick))
    }

    fn read(&self) -> (Option<Duration>, Option<Duration>) {
        (
            self.synapse_pid.as_deref().and_then(|p| self.cpu(p)),
            self.cpu("self"),
        )
    }

    /// CPU used since `before`: (Synapse, this process).
    fn since(
        &self,
        before: (Option<Duration>, Option<Duration>),
    ) -> (Option<Duration>, Option<Duration>) {
        let now = self.read();
        let d = |a: Option<Duration>, b: Option<Duration>| Some(a?.saturating_sub(b?));
        (d(now.0, before.0), d(now.1, before.1))
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn per_member(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

/// The 1-minute load average (Linux), to tell a quiet machine from a busy one.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn rustc_version() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc (version unknown)".into())
}

// --- the dedicated Synapse -------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
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

/// Runs the futures with at most `limit` in flight (each on the runtime, as a client with a
/// connection pool would), handing each result to `each` as it arrives; stops at the first error.
async fn bounded<T, F>(
    limit: usize,
    futures: impl IntoIterator<Item = F>,
    mut each: impl FnMut(T),
) -> Result<()>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T>> + Send + 'static,
{
    let mut pending = futures.into_iter();
    let mut set = JoinSet::new();
    for f in pending.by_ref().take(limit) {
        set.spawn(f);
    }
    while let Some(r) = set.join_next().await {
        each(r??);
        if let Some(f) = pending.next() {
            set.spawn(f);
        }
    }
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

// --- Castellan -------------------------------------------------------------------------------

/// One Castellan run: its wall time, the listing phase and what follows it.
#[derive(Debug, Clone, Copy)]
struct Run {
    total: Duration,
    listing: Duration,
    rest: Duration,
}

struct CastellanBench {
    svc: Castellan,
    bot: Bot,
    owner: Actor,
    hub: HubId,
}

impl CastellanBench {
    /// A claimed workspace over a fresh SQLite file, the automation account stored in the
    /// default vault, and the hub connected (its first `check_for_updates` is queued).
    async fn new(db: &Path, base: &str) -> Result<Self> {
        let store = SqlStore::connect(&format!("sqlite://{}", db.display())).await?;
        let registry = Arc::new(Registry::default());
        let svc = Castellan::new(
            Arc::new(store),
            Arc::new(StaticKeys(Arc::new(Keyring::generate()))),
        )?
        .with_connectors(registry.clone());
        let setup = svc
            .sessions()
            .init("Bench")
            .await?
            .context("a fresh database gives a setup token")?;
        let claimed = svc
            .sessions()
            .claim(
                &Actor::anonymous(None, None),
                Claim {
                    setup_token: SecretString::from(setup.expose_secret().to_owned()),
                    email: "owner@example.com".into(),
                    name: "Bench Owner".into(),
                    password: SecretString::from("bench-owner-password".to_owned()),
                },
            )
            .await?;
        let owner = svc
            .sessions()
            .authenticate(
                &claimed.token,
                castellan_core::service::TokenUse::Api,
                None,
                None,
            )
            .await?;
        let account = svc
            .accounts()
            .create(
                &owner.permit()?,
                AccountInput {
                    label: "Synapse bench bot".into(),
                    app: Some("matrix-synapse".into()),
                    login_url: Some(format!("{base}/_matrix/client/v3/login")),
                    username: Some(BOT_USER.into()),
                    password: Some(SecretString::from(BOT_PASSWORD.to_owned())),
                    generate_password: false,
                    vault_id: None,
                    setup: Some(AccountSetup::Placeholder),
                    notes: None,
                    custom_fields: vec![],
                    backup_codes: vec![],
                },
            )
            .await?;
        let hub = svc
            .hubs()
            .connect(
                &owner.permit()?,
                ConnectHub {
                    connector: None,
                    settings: Default::default(),
                    app: "matrix-synapse".into(),
                    label: "Bench Synapse".into(),
                    organization_id: None,
                    base_url: Some(base.to_owned()),
                    user_management: None,
                    login_method: None,
                    automation_account_id: Some(account.id),
                    placeholder: None,
                    safeguard_threshold: None,
                    sync_interval_secs: None,
                },
            )
            .await?;
        let bot = Bot::new(
            svc.clone(),
            registry,
            BotConfig {
                worker_id: "bench".into(),
                lease: chrono::Duration::minutes(10),
                ..BotConfig::default()
            },
        );
        Ok(Self {
            svc,
            bot,
            owner,
            hub: hub.id,
        })
    }

    /// Runs one `check_for_updates` to completion and returns its wall time, split at the
    /// moment the job stamped `last_sync_at` (right after listing and loading the people and
    /// the previous snapshot; before matching, diff, plan and saving). With `queue`, it queues
    /// one first (as `castellan hub sync` does); without, it runs the one already queued.
    async fn run_sync(&self, queue: bool) -> Result<Run> {
        let t = Instant::now();
        let started = chrono::Utc::now();
        let id = if queue {
            Some(
                self.svc
                    .hubs()
                    .sync(&self.owner.permit()?, self.hub, false, Trigger::Manual)
                    .await?
                    .id,
            )
        } else {
            None
        };
        loop {
            let ran = self.bot.run_one().await?;
            let job = match id {
                Some(id) => self.svc.hubs().job(&self.owner.permit()?, id).await?,
                None => {
                    ensure!(ran, "no job was queued by connect_hub");
                    // The only job there is: connect_hub's check_for_updates.
                    let f = castellan_core::ports::JobFilter {
                        hub_id: Some(self.hub),
                        states: None,
                        limit: Some(1),
                    };
                    self.svc
                        .hubs()
                        .jobs(&self.owner.permit()?, f)
                        .await?
                        .into_iter()
                        .next()
                        .context("the hub has no job")?
                }
            };
            match job.state {
                JobState::Completed => {
                    let total = t.elapsed();
                    let hub = self.svc.hubs().get(&self.owner.permit()?, self.hub).await?;
                    let stamped = hub.hub.last_sync_at.context("no last_sync_at")?;
                    let listing = (stamped - started).to_std().unwrap_or_default().min(total);
                    return Ok(Run {
                        total,
                        listing,
                        rest: total - listing,
                    });
                }
                JobState::NotCompleted | JobState::Retrying => bail!(
                    "check_for_updates did not complete ({}): {}",
                    job.state,
                    job.error.unwrap_or_default()
                ),
                _ if !ran => tokio::time::sleep(Duration::from_millis(5)).await,
                _ => {}
            }
        }
    }

    /// Checks the last report (and, with `members`, the stored snapshot): `expected` members,
    /// `emails` of them with an address.
    async fn check(&self, expected: usize, emails: usize, members: bool) -> Result<()> {
        let hub = self.svc.hubs().get(&self.owner.permit()?, self.hub).await?;
        let report = hub.last_report.context("no report after the sync")?;
        ensure!(
            report.total == expected && report.halted.is_none(),
            "Castellan saw {} members (halted: {:?}), expected {expected}",
            report.total,
            report.halted
        );
        if members {
            let m = self
                .svc
                .hubs()
                .members(&self.owner.permit()?, self.hub, None)
                .await?;
            let with_email = m.iter().filter(|m| m.email.is_some()).count();
            ensure!(
                m.len() == expected && with_email == emails,
                "the snapshot has {} members, {with_email} with an email; expected {expected} and {emails}",
                m.len()
            );
        }
        Ok(())
    }
}
