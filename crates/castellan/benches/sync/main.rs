//! Benchmark (issues 3 and 12): `check_for_updates` on an app with N members (default 5,000),
//! against the floor: listing the same members straight from the app's own API in a plain
//! HTTP loop.
//!
//! ```text
//! cargo bench -p castellan --bench sync                                  # Synapse, 5,000 members, 5 iterations
//! cargo bench -p castellan --bench sync -- --members 500 --iterations 2  # a quick run
//! cargo bench -p castellan --bench sync -- --app wordpress --iterations 3 # WordPress
//! ```
//!
//! `--app synapse` (the default; see `synapse.rs`) starts a dedicated Synapse
//! (`<workspace>/target/synapse-bench`, port 18020, sharing the tests' virtualenv from
//! `target/synapse/venv` when there is one). The app module makes sure it has exactly N active
//! users `bench_00000`… with one email address each (created once; they stay in the directory
//! between runs). `--app wordpress` (see `wordpress.rs`) starts a dedicated WordPress
//! (`target/wordpress-bench`, port 18021) and seeds its members with WordPress's own PHP. Then
//! this measures, alternating, after one warm-up of each:
//!
//! - FLOOR: page through the app's user list as the automation account, plainly;
//! - FLOOR+DETAILS (apps whose list lacks email addresses, such as Synapse): the same, then one
//!   read per user, 8 in flight: what any client must do to learn the addresses;
//! - CASTELLAN: queue a `check_for_updates` and run it with `Bot::run_one` until it completes
//!   (login, permission probe, listing with details, matching, diff, plan, and saving the
//!   snapshot and the report in SQLite).
//!
//! Each Castellan run is checked: it must have seen N members plus the app's own accounts (the
//! administrator, the automation account). Results are medians and ratios against the floors
//! measured in the same run.
//!
//! Then, on WordPress (`--invites N`, default 10; 0 skips it), the invite phase
//! (`invites.rs`): N hub shares, the check for updates they queue, and the N `invite_member`
//! jobs it plans, each timed; the invitees are deleted after.
//!
//! Run outside `cargo bench` (no `--bench` argument, as in `cargo test --benches`) it does
//! nothing: performance is measured here, never in tests.
#![forbid(unsafe_code)]

mod browsers;
mod cpu;
mod invites;
mod synapse;
mod wordpress;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use castellan_connectors::Registry;
use castellan_core::activity::Actor;
use castellan_core::hub::{HubId, JobState, Trigger};
use castellan_core::model::{AccountSetup, CustomField};
use castellan_core::service::{AccountInput, Bot, BotConfig, Claim, ConnectHub};
use castellan_core::{Castellan, StaticKeys};
use castellan_crypto::Keyring;
use castellan_store::SqlStore;
use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinSet;

use cpu::CpuMeter;

/// One app under the bench: its own running instance with the bench's members, the plain-HTTP
/// floor, and what Castellan needs to connect a hub to it.
trait BenchApp: Sized {
    /// The app's name in the report ("Synapse").
    const NAME: &'static str;
    /// Starts (or reuses) the app's bench instance and its automation account.
    async fn start() -> Result<Self>;
    /// The instance's base URL (`http://127.0.0.1:PORT`).
    fn base(&self) -> &str;
    /// Pid files of the app's server processes, whose CPU (with their children's) is reported.
    fn server_pid_files(&self) -> Vec<PathBuf>;
    /// The app's version, for the report.
    async fn version(&self) -> Result<String>;
    /// Makes sure there are exactly `n` bench members with one email each (creates the missing).
    async fn ensure_members(&self, n: usize) -> Result<()>;
    /// How many users the floor and Castellan must see with `n` bench members.
    fn expected_users(&self, n: usize) -> usize;
    /// How many of them have an email address.
    fn expected_emails(&self, n: usize) -> usize;
    /// The FLOOR+DETAILS row's label, when the list alone lacks the email addresses; `None`
    /// when the list has them (then the plain floor must count them).
    fn details_label(&self) -> Option<&'static str>;
    /// One floor run: (users listed, users with an email; 0 when the list lacks emails and
    /// `details` is false).
    async fn floor(&self, details: bool) -> Result<(usize, usize)>;
    /// The automation account and hub settings for Castellan.
    fn connect(&self) -> Connect;
    /// Where the instance keeps running and how to stop it.
    fn stop_hint(&self) -> String;
    /// Whether the invite phase runs by default (it needs [`BenchApp::clean_up`]).
    const INVITES: bool;
    /// Deletes every user but the app's own accounts and the `n` bench members (the invite
    /// phase's invitees). Errors: an app whose bench cannot.
    async fn clean_up(&self, n: usize) -> Result<()>;
}

/// What Castellan's hub needs: the catalog app, the automation account and the settings.
struct Connect {
    /// The catalog app (and connector) id.
    app: &'static str,
    login_url: Option<String>,
    username: String,
    password: String,
    /// Stored as the account's secret custom field `api_token`, when the connector signs in
    /// with one.
    api_token: Option<String>,
    /// The connector's plain settings.
    settings: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum AppName {
    Synapse,
    WordPress,
}

#[derive(Debug)]
struct Args {
    app: AppName,
    members: usize,
    iterations: usize,
    /// The hub's connector when not the app's own (e.g. `wordpress_browser`).
    connector: Option<String>,
    /// Invitations to time (`--invites N`; default 10 where [`BenchApp::INVITES`], else 0).
    invites: Option<usize>,
    /// Hub settings beside the app's (`--setting KEY=VALUE`, e.g. `rows_per_page=999`).
    settings: BTreeMap<String, String>,
}

fn parse_args() -> Result<Option<Args>> {
    let mut args = Args {
        app: AppName::Synapse,
        members: 5000,
        iterations: 5,
        connector: None,
        invites: None,
        settings: BTreeMap::new(),
    };
    let mut bench = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bench" => bench = true,
            "--app" => {
                args.app = match it.next().as_deref() {
                    Some("synapse") => AppName::Synapse,
                    Some("wordpress") => AppName::WordPress,
                    other => bail!("--app needs synapse or wordpress, not {other:?}"),
                }
            }
            "--connector" => args.connector = Some(it.next().context("--connector needs a name")?),
            "--setting" => {
                let kv = it.next().unwrap_or_default();
                let (k, v) = kv.split_once('=').context("--setting needs KEY=VALUE")?;
                args.settings.insert(k.to_owned(), v.to_owned());
            }
            "--members" | "--iterations" | "--invites" => {
                let v: usize = it
                    .next()
                    .ok_or_else(|| anyhow!("{a} needs a value"))?
                    .parse()
                    .with_context(|| format!("{a} needs a number"))?;
                if a == "--members" {
                    args.members = v;
                } else if a == "--invites" {
                    args.invites = Some(v);
                } else {
                    args.iterations = v;
                }
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: cargo bench -p castellan --bench sync [-- --app synapse|wordpress --members N --iterations K --invites N --connector NAME --setting KEY=VALUE]"
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
    match args.app {
        AppName::Synapse => bench::<synapse::Synapse>(&args).await,
        AppName::WordPress => bench::<wordpress::WordPress>(&args).await,
    }
}

async fn bench<A: BenchApp>(args: &Args) -> Result<()> {
    let load_before = loadavg();
    let app = A::start().await?;
    let base = app.base().to_owned();

    // --- the app's users -----------------------------------------------------------------
    let version = app.version().await?;
    app.ensure_members(args.members).await?;
    let expected = app.expected_users(args.members);
    let emails_expected = app.expected_emails(args.members);
    let details = app.details_label();
    // The plain floor's check: users, and emails when the list has them.
    let check_floor = |(n, emails): (usize, usize)| -> Result<()> {
        ensure!(
            n == expected,
            "the floor listed {n} users, expected {expected}"
        );
        ensure!(
            details.is_some() || emails == emails_expected,
            "the floor saw {emails} emails, expected {emails_expected}"
        );
        Ok(())
    };

    // --- Castellan on a temporary SQLite ------------------------------------------------
    let tmp = tempfile::tempdir()?;
    let mut connect = app.connect();
    connect.settings.extend(args.settings.clone());
    let c = CastellanBench::new(
        &tmp.path().join("castellan.db"),
        A::NAME,
        &base,
        connect,
        args.connector.clone(),
    )
    .await?;
    let browsers = browsers::BrowserRss::start();

    // --- warm-up -------------------------------------------------------------------------
    eprintln!("sync bench: warm-up");
    check_floor(app.floor(false).await?)?;
    if details.is_some() {
        let (n, emails) = app.floor(true).await?;
        ensure!(
            n == expected && emails == emails_expected,
            "the floor with details saw {n} users and {emails} emails, expected {expected} and {emails_expected}",
        );
    }
    // The first sync is the one `connect_hub` queued: every member is new.
    let first = c.run_sync(false).await?;
    c.check(expected, emails_expected, true).await?;
    eprintln!(
        "sync bench: first sync (all {expected} members new) took {}",
        secs(first.total)
    );

    // --- measured, alternating -----------------------------------------------------------
    let cpu = CpuMeter::new(&app.server_pid_files());
    let mut floor_t = vec![];
    let mut details_t = vec![];
    let mut castellan_t = vec![];
    let mut listing_t = vec![];
    let mut rest_t = vec![];
    // CPU seconds per variant: (the app, this process), as a [`CpuMeter`] reads them.
    let mut floor_cpu = vec![];
    let mut details_cpu = vec![];
    let mut castellan_cpu = vec![];
    for i in 1..=args.iterations {
        let c0 = cpu.read();
        let t = Instant::now();
        let listed = app.floor(false).await?;
        floor_t.push(t.elapsed());
        floor_cpu.push(cpu.since(c0));
        check_floor(listed)?;

        if details.is_some() {
            let c0 = cpu.read();
            let t = Instant::now();
            let (n, emails) = app.floor(true).await?;
            details_t.push(t.elapsed());
            details_cpu.push(cpu.since(c0));
            ensure!(
                n == expected && emails == emails_expected,
                "the floor with details saw {n} users and {emails} emails"
            );
        }

        let c0 = cpu.read();
        let run = c.run_sync(true).await?;
        castellan_cpu.push(cpu.since(c0));
        castellan_t.push(run.total);
        listing_t.push(run.listing);
        rest_t.push(run.rest);
        c.check(expected, emails_expected, i == args.iterations)
            .await?;
        let details_part = match details_t.last() {
            Some(d) => format!(", floor+details {}", secs(*d)),
            None => String::new(),
        };
        eprintln!(
            "sync bench: iteration {i}/{}: floor {}{details_part}, castellan {}",
            args.iterations,
            secs(floor_t[i - 1]),
            secs(castellan_t[i - 1])
        );
    }

    // --- invitations, then the invitees deleted -------------------------------------------
    let invites = match args.invites.unwrap_or(if A::INVITES { 10 } else { 0 }) {
        0 => None,
        n => {
            eprintln!("sync bench: inviting {n} people through hub shares");
            let inv = c.run_invites(n).await?;
            app.clean_up(args.members).await?;
            Some(inv)
        }
    };

    // --- report --------------------------------------------------------------------------
    let f = Stats::of(&floor_t);
    let d = details.map(|label| (label, Stats::of(&details_t)));
    let k = Stats::of(&castellan_t);
    let settings: Vec<String> = args
        .settings
        .iter()
        .map(|(k, v)| format!(", {k}={v}"))
        .collect();
    let castellan_row = match &args.connector {
        Some(c) => format!(
            "CASTELLAN (check_for_updates job, connector {c}{})",
            settings.concat()
        ),
        None => format!("CASTELLAN (check_for_updates job{})", settings.concat()),
    };
    let kl = Stats::of(&listing_t);
    let kr = Stats::of(&rest_t);
    println!();
    println!(
        "check_for_updates on {} {version} with {} members ({expected} users listed), {} iteration(s) after 1 warm-up",
        A::NAME,
        args.members,
        args.iterations
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
    println!(
        "| variant | median | min | max | {} CPU | bench process CPU |",
        A::NAME
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut rows = vec![("FLOOR (list pages)", &f, Some(&floor_cpu))];
    if let Some((label, d)) = &d {
        rows.push((label, d, Some(&details_cpu)));
    }
    rows.extend([
        (castellan_row.as_str(), &k, Some(&castellan_cpu)),
        ("  of which: login, probe, listing with details", &kl, None),
        ("  of which: match, diff, plan, save to SQLite", &kr, None),
    ]);
    for (name, s, c) in rows {
        let (server, own) = match c {
            Some(c) => (
                cpu_median(c.iter().map(|x| x.0)),
                cpu_median(c.iter().map(|x| x.1)),
            ),
            None => (String::new(), String::new()),
        };
        println!(
            "| {name} | {} | {} | {} | {server} | {own} |",
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
    if let Some((_, d)) = &d {
        println!(
            "| CASTELLAN / (FLOOR+DETAILS) | {:.2}x |",
            ratio(k.median, d.median)
        );
        println!(
            "| (FLOOR+DETAILS) / FLOOR | {:.1}x |",
            ratio(d.median, f.median)
        );
    }
    println!();
    println!(
        "first sync (all members new, not in the table): {} ({} listing, {} after)",
        secs(first.total),
        secs(first.listing),
        secs(first.rest)
    );
    let details_part = match &d {
        Some((_, d)) => format!(", floor+details {:.0} us", per_member(d.median, expected)),
        None => String::new(),
    };
    println!(
        "per member: floor {:.0} us{details_part}, castellan {:.0} us",
        per_member(f.median, expected),
        per_member(k.median, expected)
    );
    if let Some(inv) = &invites {
        let row = castellan_row.replace("check_for_updates", "invite_member");
        invites::report(inv, &row);
    }
    if let Some((mb, n)) = browsers.peak_mb() {
        println!("the bot's browsers: peak memory per browser {mb:.0} MB (PSS of all its Chromium processes), at most {n} at once");
    }
    eprintln!("sync bench: {}", app.stop_hint());
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

// --- shared helpers -------------------------------------------------------------------------

/// The workspace root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
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
    async fn new(
        db: &Path,
        name: &str,
        base: &str,
        connect: Connect,
        connector: Option<String>,
    ) -> Result<Self> {
        let store = SqlStore::connect(&format!("sqlite://{}", db.display())).await?;
        let engine = castellan_browser::ChromiumEngine::new(Default::default());
        let bot = castellan_connectors::sdk::browser::BrowserBot::new(Arc::new(engine));
        let registry = Arc::new(Registry::default().with_browser(Some(bot)));
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
                    label: format!("{name} bench bot"),
                    app: Some(connect.app.into()),
                    login_url: connect.login_url,
                    username: Some(connect.username),
                    password: Some(SecretString::from(connect.password)),
                    generate_password: false,
                    vault_id: None,
                    setup: Some(AccountSetup::Placeholder),
                    notes: None,
                    custom_fields: connect
                        .api_token
                        .map(|t| CustomField {
                            name: "api_token".into(),
                            value: Some(t),
                            secret: true,
                        })
                        .into_iter()
                        .collect(),
                    backup_codes: vec![],
                },
            )
            .await?;
        let hub = svc
            .hubs()
            .connect(
                &owner.permit()?,
                ConnectHub {
                    connector,
                    settings: connect.settings,
                    app: connect.app.into(),
                    label: format!("Bench {name}"),
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
