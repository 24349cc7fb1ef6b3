//! The `scim2` compliance checker (scim2-cli from PyPI, pinned in
//! `scripts/install-scim2-cli.sh`) run against Castellan's own `/scim/v2` on the real
//! `castellan serve` (issue 15's acceptance). It discovers what Castellan declares
//! (`ServiceProviderConfig`, `ResourceTypes`, `Schemas`) and checks each: discovery, CRUD,
//! filters, `attributes`/`excludedAttributes`, `/.search`, PATCH add/remove/replace, DELETE.
//!
//! No check may fail: no `ERROR` and no `CRITICAL` result. `emails` in particular round-trips
//! as written (RFC 7643 §4.1.2: `check_replace_attribute` sends `[{"value": …}]`, and with
//! `type`, `primary` and `display` declared readWrite, random values of those too, and expects
//! exactly that back).

mod common;

#[path = "common/scim.rs"]
mod scim;

use std::path::PathBuf;
use std::process::Command;

use scim::Scim;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(status, check name, detail)` of each result line of `scim2 test`.
fn results(out: &str) -> Vec<(String, String, String)> {
    let lines: Vec<&str> = out.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((status, name)) = line.split_once(' ') else {
            continue;
        };
        if !["SUCCESS", "ERROR", "CRITICAL", "WARNING", "SKIPPED"].contains(&status) {
            continue;
        }
        let detail = lines
            .iter()
            .skip(i + 1)
            .take_while(|l| l.starts_with("  ") || l.starts_with("Patched"))
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        found.push((status.to_owned(), name.trim().to_owned(), detail));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scim2_checker_passes_with_no_failures() {
    let ws = workspace();
    let dir = std::env::var_os("CASTELLAN_SCIM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| ws.join("target/scim"));
    let install = Command::new("bash")
        .arg(ws.join("scripts/install-scim2-cli.sh"))
        .arg(&dir)
        .output()
        .expect("run scripts/install-scim2-cli.sh");
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let scim2 = String::from_utf8(install.stdout).unwrap().trim().to_owned();

    let s = Scim::start().await;
    let url = format!("{}/scim/v2", s.server.url);
    let scim_token = s.scim.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&scim2)
            .args(["-u", &url, "test"])
            // The token goes by the environment, never the command line (others could read it).
            .env(
                "SCIM_CLI_HEADERS",
                format!("Authorization: Bearer {scim_token}"),
            )
            .output()
            .expect("run scim2")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = results(&text);
    let passed = all.iter().filter(|r| r.0 == "SUCCESS").count();
    assert!(passed >= 30, "only {passed} checks passed:\n{text}");
    let failed: Vec<_> = all
        .iter()
        .filter(|r| r.0 == "ERROR" || r.0 == "CRITICAL")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}\n{text}");
    // The emails check ran and passed (it is not skipped for want of writable sub-attributes).
    assert!(
        all.iter().any(|(status, name, detail)| status == "SUCCESS"
            && name == "check_replace_attribute"
            && detail.contains("'emails'")),
        "{text}"
    );
    // The checker's SCIM token never shows in its output.
    assert!(
        !text.contains(&s.scim),
        "the token leaked into the checker's output"
    );
}
