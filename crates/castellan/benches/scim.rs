//! Benchmark (issue 15, compass P4): SCIM 2.0 User creation, Castellan's `/scim/v2` against
//! `scim2-server` (PyPI, the in-memory reference server the connector tests use) on the same
//! machine, as ratios from one run.
//!
//! ```text
//! cargo bench -p castellan --bench scim                                   # 2,000 users, 8 in flight, 3 rounds
//! cargo bench -p castellan --bench scim -- --users 300 --rounds 1         # a quick run
//! ```
//!
//! Each round creates N users (`POST /Users`, RFC 7644 §3.3) on each server, `--concurrency`
//! requests in flight, the servers alternating round by round so a burst of other load slows
//! both. Every answer must be 201. Reported per server: throughput (creations per second) and
//! the latency of one creation at p50 and p99; then Castellan's ratios to scim2-server
//! (throughput and p99, each Castellan's over scim2-server's). Castellan runs as `castellan serve` (this build, on SQLite in a
//! temporary data directory), with its SCIM token; scim2-server is started by
//! `scripts/start-scim.sh target/scim-bench 18083`. Castellan's SCIM create is a durable write
//! with its activity event in the hash chain; scim2-server keeps users in memory.
//!
//! Run outside `cargo bench` (no `--bench` argument) it does nothing.
#![forbid(unsafe_code)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use common::{host_args, Cli, Server};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

struct Args {
    users: usize,
    concurrency: usize,
    rounds: usize,
}

fn args() -> Result<Option<Args>> {
    let all: Vec<String> = std::env::args().skip(1).collect();
    if !all.iter().any(|a| a == "--bench") {
        return Ok(None);
    }
    let mut a = Args {
        users: 2000,
        concurrency: 8,
        rounds: 3,
    };
    let mut it = all.iter().filter(|a| *a != "--bench");
    while let Some(k) = it.next() {
        let v: usize = it
            .next()
            .with_context(|| format!("{k} needs a value"))?
            .parse()
            .with_context(|| format!("{k} needs a number"))?;
        match k.as_str() {
            "--users" => a.users = v,
            "--concurrency" => a.concurrency = v,
            "--rounds" => a.rounds = v,
            other => bail!("unknown option {other}"),
        }
    }
    ensure!(
        a.users > 0 && a.concurrency > 0 && a.rounds > 0,
        "give positive numbers"
    );
    Ok(Some(a))
}

/// One SCIM service provider under test.
struct Target {
    name: &'static str,
    /// Base URL ending in the SCIM root (`…/scim/v2` or `…/v2`).
    base: String,
    token: String,
}

/// Creates `n` users (tagged `tag`) with `c` in flight; returns the elapsed time and each
/// creation's latency.
async fn round(
    http: &reqwest::Client,
    t: &Target,
    tag: &str,
    n: usize,
    c: usize,
) -> Result<(Duration, Vec<Duration>)> {
    let gate = Arc::new(Semaphore::new(c));
    let mut set = JoinSet::new();
    let start = Instant::now();
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let (http, url, token) = (http.clone(), format!("{}/Users", t.base), t.token.clone());
        let email = format!("bench.{tag}.{i}@example.com");
        set.spawn(async move {
            let _permit = permit;
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email,
                "name": { "givenName": "Bench", "familyName": format!("User {i}") },
                "emails": [{ "value": email, "type": "work", "primary": true }],
                "active": true,
            });
            let t0 = Instant::now();
            let r = http
                .post(url)
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await?;
            let status = r.status();
            let text = r.text().await?;
            ensure!(status.as_u16() == 201, "{status}: {text}");
            anyhow::Ok(t0.elapsed())
        });
    }
    let mut lat = Vec::with_capacity(n);
    while let Some(done) = set.join_next().await {
        lat.push(done??);
    }
    Ok((start.elapsed(), lat))
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Starts scim2-server with the project's script; returns its base URL and token.
fn scim2_server() -> Result<Target> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("target/scim-bench");
    let out = Command::new(root.join("scripts/start-scim.sh"))
        .arg(&dir)
        .arg("18083")
        .status()
        .context("run scripts/start-scim.sh")?;
    ensure!(out.success(), "scripts/start-scim.sh failed");
    let token = std::fs::read_to_string(dir.join("token"))?
        .trim()
        .to_owned();
    Ok(Target {
        name: "scim2-server",
        base: "http://127.0.0.1:18083/v2".into(),
        token,
    })
}

/// Starts `castellan serve` on a fresh data directory, claims it and makes a SCIM token.
async fn castellan(tmp: &std::path::Path, http: &reqwest::Client) -> Result<(Server, Target)> {
    let server = Server::start(&host_args(&tmp.join("data"), None, None));
    let cli = Cli::new(&server.url, &tmp.join("cli"));
    cli.claim(&server.setup_token(), "owner@example.com");
    let r: Value = http
        .post(format!("{}/api/v1/scim/tokens", server.url))
        .bearer_auth(cli.token())
        .json(&json!({ "name": "bench" }))
        .send()
        .await?
        .json()
        .await?;
    let token = r["secret"].as_str().context("a SCIM token")?.to_owned();
    let base = format!("{}/scim/v2", server.url);
    Ok((
        server,
        Target {
            name: "castellan",
            base,
            token,
        },
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    let Some(a) = args()? else {
        return Ok(());
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let tmp = tempfile::tempdir()?;
    let (_server, ours) = castellan(tmp.path(), &http).await?;
    let theirs = scim2_server()?;
    let run = format!("{}", std::process::id());
    let mut results: Vec<(Duration, Vec<Duration>)> = vec![(Duration::ZERO, vec![]); 2];
    for r in 0..a.rounds {
        let order: [usize; 2] = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let t = if i == 0 { &ours } else { &theirs };
            let tag = format!("{run}.{r}");
            let (took, lat) = round(&http, t, &tag, a.users, a.concurrency).await?;
            eprintln!(
                "round {r} {:<12} {:>8.0} creations/s",
                t.name,
                a.users as f64 / took.as_secs_f64()
            );
            results[i].0 += took;
            results[i].1.extend(lat);
        }
    }
    let mut summary = vec![];
    for (i, t) in [&ours, &theirs].iter().enumerate() {
        let (took, lat) = &mut results[i];
        lat.sort();
        let tput = (a.users * a.rounds) as f64 / took.as_secs_f64();
        let (p50, p99) = (quantile(lat, 0.50), quantile(lat, 0.99));
        println!(
            "{:<12} {:>8.0} creations/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
            t.name,
            tput,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        summary.push((tput, p99));
    }
    println!(
        "castellan / scim2-server: throughput {:.2}x, p99 {:.2}x ({} users x {} rounds, {} in flight; \
         above 1: castellan creates more per second / waits longer at p99)",
        summary[0].0 / summary[1].0,
        summary[0].1.as_secs_f64() / summary[1].1.as_secs_f64(),
        a.users,
        a.rounds,
        a.concurrency
    );
    Ok(())
}
