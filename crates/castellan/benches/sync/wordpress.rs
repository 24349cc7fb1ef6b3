//! The bench's WordPress: its own site (`<workspace>/target/wordpress-bench`, port 18021, so it
//! never touches the tests' site; `scripts/start-wordpress.sh DIR PORT` installs and starts it:
//! Debian's WordPress on PHP's built-in server with 4 workers, and a private MariaDB), with the
//! administrator `admin` as the automation account (its application password, made by the start
//! script, in the account's secret field `api_token`) and N subscribers `bench_00000`… with one
//! email each. The members are seeded once and kept, by `wordpress-members.php` beside this
//! file: WordPress's own `wp_insert_user` in one PHP CLI process loading `wp-load.php`, in
//! transactions of 500 (not N REST POSTs through PHP's server).
//!
//! - FLOOR: page through `GET /wp-json/wp/v2/users?context=edit&per_page=100&page=K` with the
//!   application password (HTTP Basic), one page at a time, counting users and emails: with
//!   `context=edit` the list has the email addresses, so there is no FLOOR+DETAILS.
//!
//! API: <https://developer.wordpress.org/rest-api/reference/users/#list-users>; application
//! passwords: <https://developer.wordpress.org/rest-api/using-the-rest-api/authentication/>.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use super::{root, BenchApp, Connect};

const PORT: u16 = 18021;
const ADMIN: &str = "admin";
const PAGE: usize = 100;

/// The running bench WordPress: its address, directory and the administrator's credentials.
pub struct WordPress {
    http: reqwest::Client,
    base: String,
    dir: PathBuf,
    app_password: String,
    admin_password: String,
}

impl BenchApp for WordPress {
    const NAME: &'static str = "WordPress";

    /// Starts (or reuses) the site with `scripts/start-wordpress.sh DIR 18021` and reads the
    /// administrator's passwords it wrote.
    async fn start() -> Result<Self> {
        let dir = root().join("target/wordpress-bench");
        std::fs::create_dir_all(&dir)?;
        let dir = dir.canonicalize()?;
        eprintln!(
            "sync bench: starting WordPress in {} on port {PORT}",
            dir.display()
        );
        let out = Command::new("bash")
            .arg(root().join("scripts/start-wordpress.sh"))
            .arg(&dir)
            .arg(PORT.to_string())
            // Not a test run: the bench's site keeps its database (and its members).
            .env_remove("CASTELLAN_TEST_RUN")
            .output()
            .context("run scripts/start-wordpress.sh")?;
        if !out.status.success() {
            bail!(
                "scripts/start-wordpress.sh failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let read = |f: &str| -> Result<String> {
            Ok(std::fs::read_to_string(dir.join(f))
                .with_context(|| format!("read {f}"))?
                .trim()
                .to_owned())
        };
        Ok(Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            base: format!("http://127.0.0.1:{PORT}"),
            app_password: read("app-password")?,
            admin_password: read("admin-password")?,
            dir,
        })
    }

    fn base(&self) -> &str {
        &self.base
    }

    /// PHP's server (with its workers) and MariaDB.
    fn server_pid_files(&self) -> Vec<PathBuf> {
        vec![self.dir.join("php.pid"), self.dir.join("mariadb.pid")]
    }

    /// From the installed `wp-includes/version.php` (the REST index does not say).
    async fn version(&self) -> Result<String> {
        let v = std::fs::read_to_string("/usr/share/wordpress/wp-includes/version.php")?;
        Ok(v.lines()
            .find_map(|l| l.strip_prefix("$wp_version = '"))
            .and_then(|l| l.split('\'').next())
            .unwrap_or("?")
            .to_owned())
    }

    async fn ensure_members(&self, n: usize) -> Result<()> {
        let t = Instant::now();
        let out = Command::new("php")
            .arg(root().join("crates/castellan/benches/sync/wordpress-members.php"))
            .arg(format!("castellan-{PORT}"))
            .arg(format!("127.0.0.1:{PORT}"))
            .arg(n.to_string())
            .output()
            .context("run php wordpress-members.php")?;
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            eprintln!("sync bench: {l}");
        }
        ensure!(
            out.status.success(),
            "wordpress-members.php failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "sync bench: the {n} bench users are there ({:.1} s)",
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// The bench users and `admin` (the automation account).
    fn expected_users(&self, n: usize) -> usize {
        n + 1
    }

    /// Everybody: `admin` has one too.
    fn expected_emails(&self, n: usize) -> usize {
        n + 1
    }

    fn details_label(&self) -> Option<&'static str> {
        None
    }

    async fn floor(&self, _details: bool) -> Result<(usize, usize)> {
        let (mut users, mut emails) = (0, 0);
        let mut page = 1usize;
        loop {
            let r = self
                .http
                .get(format!("{}/wp-json/wp/v2/users", self.base))
                .basic_auth(ADMIN, Some(&self.app_password))
                .query(&[
                    ("context", "edit"),
                    ("per_page", &PAGE.to_string()),
                    ("page", &page.to_string()),
                ])
                .send()
                .await?;
            let status = r.status();
            let pages: usize = r
                .headers()
                .get("x-wp-totalpages")
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .context("no X-WP-TotalPages")?;
            let v: Value = r.json().await?;
            ensure!(status.is_success(), "GET users page {page}: HTTP {status}");
            for u in v.as_array().context("the users page is not a list")? {
                users += 1;
                emails += usize::from(u["email"].as_str().is_some_and(|e| e.contains('@')));
            }
            if page >= pages {
                return Ok((users, emails));
            }
            page += 1;
        }
    }

    fn connect(&self) -> Connect {
        Connect {
            app: "wordpress",
            login_url: None,
            username: ADMIN.into(),
            password: self.admin_password.clone(),
            api_token: Some(self.app_password.clone()),
            settings: [("reassign_to".to_owned(), ADMIN.to_owned())].into(),
        }
    }

    fn stop_hint(&self) -> String {
        format!(
            "the bench WordPress keeps running on {} ({}); stop it with scripts/stop-wordpress.sh {}",
            self.base,
            self.dir.display(),
            self.dir.display()
        )
    }

    const INVITES: bool = true;

    /// [`BenchApp::ensure_members`]: `wordpress-members.php` deletes every user but `admin`
    /// and the `n` bench members.
    async fn clean_up(&self, n: usize) -> Result<()> {
        self.ensure_members(n).await
    }
}
