//! A real Matrix Synapse for end-to-end tests, started by `scripts/start-synapse.sh`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running Synapse and an admin access token.
#[derive(Debug)]
pub struct Synapse {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Synapse {
    /// Starts (or reuses) the Synapse in `dir_name` under the shared target folder on `port`.
    /// A second instance reuses the first one's virtualenv.
    pub async fn ensure(dir_name: &str, port: u16) -> Synapse {
        let base_dir = std::env::var("CASTELLAN_SYNAPSE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root().join("target/synapse"));
        let dir = if dir_name == "main" {
            base_dir.clone()
        } else {
            base_dir.with_file_name(format!("synapse-{dir_name}"))
        };
        if dir_name != "main" {
            // Install once into the main dir, then share its virtualenv.
            if !base_dir.join("venv/bin/python").exists() {
                let port =
                    std::env::var("CASTELLAN_SYNAPSE_PORT").unwrap_or_else(|_| "18008".into());
                run_script(&base_dir, &port);
            }
            std::fs::create_dir_all(&dir).unwrap();
            let link = dir.join("venv");
            if !link.exists() {
                std::os::unix::fs::symlink(base_dir.join("venv"), &link).unwrap();
            }
        }
        run_script(&dir, &port.to_string());
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let token = login(&http, &base, "admin", "adminpass")
            .await
            .expect("admin login");
        Synapse { base, token, http }
    }

    /// The port of the main shared instance.
    pub fn main_port() -> u16 {
        std::env::var("CASTELLAN_SYNAPSE_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(18008)
    }

    /// Creates or updates a user through the admin API.
    pub async fn put_user(
        &self,
        localpart: &str,
        password: &str,
        admin: bool,
        email: Option<&str>,
    ) {
        let mut body = json!({ "password": password, "admin": admin });
        if let Some(e) = email {
            body["threepids"] = json!([{ "medium": "email", "address": e }]);
        }
        let r = self
            .http
            .put(format!(
                "{}/_synapse/admin/v2/users/@{localpart}:localhost",
                self.base
            ))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "put user: {}",
            r.text().await.unwrap()
        );
    }

    /// The user that has this email, with its admin flag and state, or `None`.
    pub async fn user_by_email(&self, email: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!(
                "{}/_synapse/admin/v1/threepid/email/users/{email}",
                self.base
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            return None;
        }
        let id = r.json::<Value>().await.unwrap()["user_id"]
            .as_str()?
            .to_owned();
        self.user(&id).await
    }

    /// One user by id.
    pub async fn user(&self, id: &str) -> Option<Value> {
        let r = self
            .http
            .get(format!(
                "{}/_synapse/admin/v2/users/{}",
                self.base,
                id.replace('@', "%40").replace(':', "%3A")
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        if r.status() == 404 {
            return None;
        }
        Some(r.json().await.unwrap())
    }
}

/// Stops and deletes a dedicated Synapse instance when dropped.
#[derive(Debug)]
pub struct StopOnDrop(pub String);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let base_dir = std::env::var("CASTELLAN_SYNAPSE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root().join("target/synapse"));
        let dir = base_dir.with_file_name(format!("synapse-{}", self.0));
        let _ = Command::new("bash")
            .arg(root().join("scripts/stop-synapse.sh"))
            .arg(&dir)
            .output();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn run_script(dir: &std::path::Path, port: &str) {
    let out = Command::new("bash")
        .arg(root().join("scripts/start-synapse.sh"))
        .arg(dir)
        .arg(port)
        .output()
        .expect("run scripts/start-synapse.sh");
    assert!(
        out.status.success(),
        "scripts/start-synapse.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn login(http: &reqwest::Client, base: &str, user: &str, password: &str) -> Option<String> {
    let r = http
        .post(format!("{base}/_matrix/client/v3/login"))
        .json(&json!({ "type": "m.login.password", "identifier": { "type": "m.id.user", "user": user }, "password": password }))
        .send()
        .await
        .ok()?;
    r.json::<Value>().await.ok()?["access_token"]
        .as_str()
        .map(str::to_owned)
}

/// A short unique tag for usernames and labels.
pub fn tag() -> String {
    uuid::Uuid::now_v7().simple().to_string()[20..].to_owned()
}
