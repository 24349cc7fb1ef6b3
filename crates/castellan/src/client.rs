//! The API client behind every non-host subcommand, and the saved credentials of
//! `castellan login`.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Saved credentials (`~/.config/castellan/credentials.json`, mode 0600).
#[derive(Debug, Serialize, Deserialize)]
pub struct Credentials {
    /// Server base URL.
    pub server: String,
    /// API token.
    pub token: String,
    /// The token's id, so `logout` can revoke it on the server (absent in files saved by
    /// older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

/// Where credentials live: `$CASTELLAN_CONFIG_DIR`, else `$XDG_CONFIG_HOME/castellan`, else
/// `~/.config/castellan`.
pub fn credentials_path() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("CASTELLAN_CONFIG_DIR") {
        return Ok(PathBuf::from(d).join("credentials.json"));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| anyhow!("cannot find a config directory: set CASTELLAN_CONFIG_DIR"))?;
    Ok(base.join("castellan").join("credentials.json"))
}

/// Saves credentials with mode 0600 (atomic replace).
pub fn save_credentials(c: &Credentials) -> Result<PathBuf> {
    let path = credentials_path()?;
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("bad credentials path"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(".credentials.json.tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(serde_json::to_string_pretty(c)?.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The saved credentials: `Ok(None)` when there are none or the file cannot be parsed (a
/// damaged file is treated as no login). Errors: no config directory can be found.
pub fn load_credentials() -> Result<Option<Credentials>> {
    let path = credentials_path()?;
    Ok(std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok()))
}

/// Removes saved credentials.
pub fn forget_credentials() -> Result<()> {
    let p = credentials_path()?;
    if p.exists() {
        std::fs::remove_file(p)?;
    }
    Ok(())
}

/// An API client.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
}

impl Client {
    /// A client for `server`; the token comes from `CASTELLAN_TOKEN`, `CASTELLAN_TOKEN_FILE`,
    /// or the saved credentials (whose server is used when `server_flag` is absent).
    pub fn new(server_flag: Option<String>, config: Option<&std::path::Path>) -> Result<Self> {
        let saved = load_credentials().ok().flatten();
        let env_token = match std::env::var("CASTELLAN_TOKEN") {
            Ok(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
            _ => match std::env::var_os("CASTELLAN_TOKEN_FILE") {
                Some(p) => Some(
                    std::fs::read_to_string(&p)
                        .context("cannot read CASTELLAN_TOKEN_FILE")?
                        .trim()
                        .to_owned(),
                ),
                None => None,
            },
        };
        let server = match (&server_flag, &saved) {
            (Some(s), _) => s.trim_end_matches('/').to_owned(),
            (None, Some(c)) if env_token.is_none() => c.server.clone(),
            _ => crate::config::client_server(None, config)?,
        };
        let token = env_token.or_else(|| saved.filter(|c| c.server == server).map(|c| c.token));
        let http = reqwest::Client::builder()
            .user_agent(concat!("castellan-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            server,
            token,
        })
    }

    /// The server URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Sends a request; `body` is JSON when given. Returns the parsed JSON (or `Null` for 204).
    /// Errors: the problem document's detail and field errors, or a connection error naming
    /// the server.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}/api/v1{}", self.server, path);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.answer(req).await
    }

    /// A call with a raw body of `content_type` (a CSV roster); answers as [`Client::call`].
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Value> {
        let url = format!("{}/api/v1{}", self.server, path);
        let mut req = self
            .http
            .request(method, &url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        self.answer(req).await
    }

    /// Sends `req`: the JSON answer (`Null` for none), or the problem's detail as the error.
    async fn answer(&self, req: reqwest::RequestBuilder) -> Result<Value> {
        let resp = req
            .send()
            .await
            .map_err(|e| anyhow!("cannot reach Castellan at {}: {e}", self.server))?;
        let status = resp.status();
        let text = resp.text().await?;
        if status.is_success() {
            if status == StatusCode::NO_CONTENT || text.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).or(Ok(Value::String(text)));
        }
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let detail = problem["detail"]
            .as_str()
            .unwrap_or(status.canonical_reason().unwrap_or("error"));
        let mut msg = format!("{detail} (HTTP {})", status.as_u16());
        if status == StatusCode::UNAUTHORIZED && self.token.is_none() {
            msg.push_str("\nhint: run `castellan login` or set CASTELLAN_TOKEN");
        }
        bail!(msg)
    }

    /// GET returning text (CSV export).
    pub async fn get_text(&self, path: &str) -> Result<String> {
        let bytes = self.get_bytes(path).await?;
        String::from_utf8(bytes).map_err(|_| anyhow!("the answer is not UTF-8 text"))
    }

    /// GET returning the body's bytes (a CSV export, a PNG); the problem's detail as the error.
    pub async fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let url = format!("{}/api/v1{}", self.server, path);
        let mut req = self.http.get(&url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| anyhow!("cannot reach Castellan at {}: {e}", self.server))?;
        let status = resp.status();
        let body = resp.bytes().await?.to_vec();
        if !status.is_success() {
            let p: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            bail!(
                "{} (HTTP {})",
                p["detail"].as_str().unwrap_or("error"),
                status.as_u16()
            );
        }
        Ok(body)
    }

    /// GET and deserialize.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        Ok(serde_json::from_value(
            self.call(Method::GET, path, None).await?,
        )?)
    }
}

/// Percent-encodes a query value.
pub fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
