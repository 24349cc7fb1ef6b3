//! End-to-end harness: starts the real `castellan` binary on port 0 and runs CLI commands
//! against it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_castellan"))
}

/// A running server.
pub struct Server {
    pub url: String,
    pub child: Child,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

/// Arguments that pin a server to a data dir and optional database URL.
pub fn host_args(data_dir: &Path, db: Option<&str>, key: Option<&Path>) -> Vec<String> {
    let mut a = vec!["--data-dir".to_owned(), data_dir.display().to_string()];
    if let Some(db) = db {
        a.push("--database-url".into());
        a.push(db.into());
    }
    if let Some(k) = key {
        a.push("--master-key-file".into());
        a.push(k.display().to_string());
    }
    a
}

fn pump(r: impl std::io::Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

impl Server {
    /// Starts `castellan serve --listen 127.0.0.1:0 <host args>` with `CASTELLAN_LOG=debug` and
    /// waits until it prints its address (30 s at most).
    pub fn start(host: &[String]) -> Server {
        Self::start_env(host, &[])
    }

    /// Like [`Server::start`] with extra environment variables (e.g. `CASTELLAN_WORKERS`).
    pub fn start_env(host: &[String], env: &[(&str, &str)]) -> Server {
        let mut child = serve_command(host, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start castellan serve");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        pump(child.stdout.take().unwrap(), stdout.clone());
        pump(child.stderr.take().unwrap(), stderr.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = stderr.lock().unwrap().lines().find_map(serving_url);
            if let Some(url) = found {
                return Server {
                    url,
                    child,
                    stdout,
                    stderr,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "castellan serve exited with {status}: {}",
                    stderr.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "castellan serve did not start: {}",
                stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The setup token printed on first start.
    pub fn setup_token(&self) -> String {
        // stdout and stderr are read by separate threads: the token may arrive after the
        // "serving" line on a loaded machine, so wait for it (30 s at most).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found = self
                .stdout
                .lock()
                .unwrap()
                .split_whitespace()
                .find(|w| w.starts_with("cst_setup_"))
                .map(str::to_owned);
            if let Some(t) = found {
                return t;
            }
            assert!(Instant::now() < deadline, "setup token printed");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the server wrote to stdout and stderr.
    pub fn logs(&self) -> String {
        format!(
            "{}{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// SIGTERM and wait (10 s), then SIGKILL.
    pub fn stop(&mut self) {
        if self.terminate(Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// SIGTERM, then waits up to `within` for the process to exit by itself: its exit status,
    /// or `None` if it is still running.
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        sigterm(&self.child);
        wait_exit(&mut self.child, within)
    }

    /// The SMTP receiver's host and port, as the server printed them (`castellan smtp on
    /// ADDR`), waiting up to 10 s.
    pub fn smtp_addr(&self) -> (String, u16) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .stderr
                .lock()
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("castellan smtp on ").map(str::to_owned));
            if let Some(addr) = found {
                let (host, port) = addr.rsplit_once(':').expect("host:port");
                return (host.to_owned(), port.parse().expect("port"));
            }
            assert!(
                Instant::now() < deadline,
                "the server did not print its SMTP address: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` of the HTTP listener.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }
}

/// `castellan serve --listen 127.0.0.1:0 <host args>` with `CASTELLAN_LOG=debug` (unless `env`
/// sets it), the SMTP receiver on a free port, and `env`; standard input closed.
pub fn serve_command(host: &[String], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("serve")
        .arg("--listen")
        .arg("127.0.0.1:0")
        .args(host)
        // Parallel servers must not fight over the default SMTP port (a test may override).
        .env("CASTELLAN_SMTP_LISTEN", "127.0.0.1:0")
        .env("CASTELLAN_LOG", "debug")
        .env_remove("CASTELLAN_SERVER")
        .env_remove("CASTELLAN_DATABASE_URL")
        .env_remove("CASTELLAN_MASTER_KEY_FILE")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The URL in a `castellan is serving on URL` line (plain, or inside a JSON log line).
pub fn serving_url(line: &str) -> Option<String> {
    const MARK: &str = "castellan is serving on ";
    let i = line.find(MARK)?;
    let rest = &line[i + MARK.len()..];
    Some(rest.split(['"', ' ']).next().unwrap_or(rest).to_owned())
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
}

/// Waits up to `within` for `child` to exit: its status, or `None` if it still runs.
pub fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` with `stdin` written to its standard input; returns its output.
pub fn run_with_stdin(cmd: &mut Command, stdin: &str) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the command");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A CLI session: its own config dir (saved login) and server URL.
pub struct Cli {
    pub server: String,
    pub config_dir: PathBuf,
}

impl Cli {
    pub fn new(server: &str, config_dir: &Path) -> Self {
        Self {
            server: server.to_owned(),
            config_dir: config_dir.to_owned(),
        }
    }

    /// Runs `castellan ARGS` with `stdin` fed in.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = Command::new(bin());
        cmd.env_remove("CASTELLAN_DATABASE_URL")
            .args(args)
            .env("CASTELLAN_SERVER", &self.server)
            .env("CASTELLAN_CONFIG_DIR", &self.config_dir)
            .env_remove("CASTELLAN_TOKEN");
        run_with_stdin(&mut cmd, stdin)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, "")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_stdin(args, "")
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run_stdin(args, stdin);
        assert!(
            out.status.success(),
            "castellan {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `--json` appended and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).expect("json output")
    }

    /// Runs with `--json` appended, asserts the command FAILED (non-zero exit), and parses the
    /// JSON it still printed on stdout. Returns it with stderr.
    pub fn json_failing(&self, args: &[&str]) -> (serde_json::Value, String) {
        let mut a = args.to_vec();
        a.push("--json");
        let out = self.run(&a);
        assert!(
            !out.status.success(),
            "castellan {a:?} should have failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v = serde_json::from_slice(&out.stdout).expect("json output");
        (v, String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Runs with `--json` appended, feeding `stdin`, and parses stdout.
    pub fn json_stdin(&self, args: &[&str], stdin: &str) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok_stdin(&a, stdin)).expect("json output")
    }

    /// Claims the workspace as `email` with a fixed password and saves the login.
    pub fn claim(&self, setup_token: &str, email: &str) {
        self.ok_stdin(
            &[
                "claim",
                "--setup-token",
                setup_token,
                "--email",
                email,
                "--name",
                "Owner",
                "--password-stdin",
            ],
            "owner-password-123\n",
        );
    }

    /// The saved token.
    pub fn token(&self) -> String {
        let c: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.config_dir.join("credentials.json")).unwrap(),
        )
        .unwrap();
        c["token"].as_str().unwrap().to_owned()
    }
}

/// A fresh PostgreSQL database for one test; dropped by [`drop_pg_db`].
pub async fn fresh_pg_db() -> (String, String) {
    use sqlx::Connection;
    let admin = std::env::var("CASTELLAN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("castellan_e2e_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL must answer on 127.0.0.1:5432 (scripts/ensure-postgres.sh starts it)");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0.to_owned();
    (format!("{base}/{name}"), name)
}

pub async fn drop_pg_db(name: &str) {
    use sqlx::Connection;
    let admin = std::env::var("CASTELLAN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}

/// Whether any file of the data directory `dir` holds `needle` (the plaintext canary checks).
pub fn data_holds(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        std::fs::read(e.unwrap().path()).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
    })
}
