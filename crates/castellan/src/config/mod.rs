//! The one configuration of the host-local commands (`serve`, `worker`, `init`, `keys`,
//! `owner reset-password`, `inbox purge`, `activity verify --local`).
//!
//! Every setting is resolved in the same order, the first that has it wins:
//!
//! 1. its flag (`--workers 4`);
//! 2. its environment variable (`CASTELLAN_WORKERS=4`); a secret may instead come from the file
//!    its `<VARIABLE>_FILE` names (`CASTELLAN_DATABASE_URL_FILE=/run/secrets/db`, trailing
//!    newline dropped);
//! 3. its key in the TOML file given by `--config` or `CASTELLAN_CONFIG` (`workers = 4`);
//! 4. its default.
//!
//! The names follow one rule: the file key is the variable without `CASTELLAN_`, in lower
//! case, and the flag is the key with `-` for `_` ([`keys`] lists them all; a unit test holds
//! them to the rule and to the README). The file is one flat table: a key that is not a setting
//! is refused, naming it. Values are parsed and bounded when they are loaded, and an error names
//! where the value came from (`--job-lease-secs`, `CASTELLAN_JOB_LEASE_SECS` or
//! `` `job_lease_secs` in /etc/castellan.toml ``). Secrets ([`Secret`]) never show in `Debug`.

mod bot;
mod host;
mod inbox;
mod keys;
mod limits;
mod secret;
mod serve;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};

pub use bot::{BotArgs, BotSettings};
pub use host::{client_server, HostArgs, HostConfig, LogFormat};
pub use inbox::{retention_days, InboxArgs, InboxSettings};
pub use keys::{annotate_help, Key, AFTER_HELP};
pub use limits::{LimitArgs, Limits};
pub use secret::Secret;
pub use serve::{InitArgs, ServeArgs, WorkerArgs};

/// Where `CASTELLAN_*` variables are read: the process environment, or a fixed map (tests, so
/// that no test changes the environment of another).
#[derive(Debug, Clone, Default)]
pub enum Env {
    /// `std::env`.
    #[default]
    Process,
    /// These variables only.
    #[cfg(test)]
    Map(std::collections::BTreeMap<String, String>),
}

impl Env {
    /// A map of `(name, value)` pairs.
    #[cfg(test)]
    pub fn map<'a>(vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::Map(
            vars.into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }

    /// The variable's value; an empty one counts as unset. Errors: the value is not UTF-8.
    pub fn var(&self, name: &str) -> Result<Option<String>> {
        let value = match self {
            Self::Process => match std::env::var(name) {
                Ok(v) => Some(v),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(_)) => bail!("{name} is not valid UTF-8"),
            },
            #[cfg(test)]
            Self::Map(m) => m.get(name).cloned(),
        };
        Ok(value.filter(|v| !v.is_empty()))
    }
}

/// Where a setting's value came from; its `Display` is what error messages name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A flag, e.g. `--workers`.
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The file named by `<VARIABLE>_FILE` (the variable's name without `_FILE`).
    EnvFile(&'static str),
    /// A key of the config file.
    File {
        /// The key.
        key: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// The built-in default.
    Default(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "--{flag}"),
            Self::Env(var) => f.write_str(var),
            Self::EnvFile(var) => write!(f, "{var}_FILE"),
            Self::File { key, path } => write!(f, "`{key}` in {}", path.display()),
            Self::Default(key) => write!(f, "the default of `{key}`"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub origin: Origin,
}

impl<T: PartialOrd + fmt::Display> Sourced<T> {
    /// The value if it lies in `min..=max`; else an error naming the origin, the bounds, `unit`
    /// (e.g. `" seconds"`, or empty) and the value.
    pub fn within(self, min: T, max: T, unit: &str) -> Result<T> {
        if self.value < min || self.value > max {
            bail!(
                "{} must be between {min} and {max}{unit}, not {}",
                self.origin,
                self.value
            );
        }
        Ok(self.value)
    }

    /// The value if it is at least `min`; else an error naming the origin.
    pub fn at_least(self, min: T) -> Result<T> {
        if self.value < min {
            bail!("{} must be at least {min}, not {}", self.origin, self.value);
        }
        Ok(self.value)
    }
}

/// Seconds in `min..=max` as a [`std::time::Duration`] (errors as [`Sourced::within`]).
pub fn secs(v: Sourced<u64>, min: u64, max: u64) -> Result<std::time::Duration> {
    v.within(min, max, " seconds")
        .map(std::time::Duration::from_secs)
}

/// The config file (if any) and the environment: every setting but the flags, which each
/// command's arguments hold and pass to [`Layers::get`]. Its `Debug` shows the file's keys,
/// never their values (the file may hold the database URL).
#[derive(Clone, Default)]
pub struct Layers {
    /// The file's keys and values (already checked against [`keys::KEYS`]).
    file: toml::Table,
    /// The file, for messages.
    path: PathBuf,
    env: Env,
}

impl fmt::Debug for Layers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layers")
            .field("path", &self.path)
            .field("keys", &self.file.keys().collect::<Vec<_>>())
            .field("env", &self.env)
            .finish()
    }
}

impl Layers {
    /// Reads the config file `flag` (`--config`), else `CASTELLAN_CONFIG` from `env`, if either
    /// is set. Errors: the file cannot be read, is not TOML, or has a key that is not a setting
    /// (the message names the file and the key).
    pub fn load(flag: Option<&Path>, env: Env) -> Result<Self> {
        let path = match flag {
            Some(p) => Some(p.to_owned()),
            None => env.var(keys::CONFIG.var)?.map(PathBuf::from),
        };
        let Some(path) = path else {
            return Ok(Self {
                env,
                ..Self::default()
            });
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        Self::parse(&text, &path, env)
    }

    /// Parses `text` as the config file at `path` (for messages). Errors as [`Layers::load`].
    pub fn parse(text: &str, path: &Path, env: Env) -> Result<Self> {
        let file: toml::Table = toml::from_str(text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        for (name, value) in &file {
            if keys::by_name(name).is_none() {
                bail!(
                    "unknown key `{name}` in the config file {}; the keys are: {}",
                    path.display(),
                    keys::KEYS
                        .iter()
                        .map(|k| k.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            if matches!(value, toml::Value::Table(_)) {
                bail!(
                    "`{name}` in the config file {} must be a value, not a table",
                    path.display()
                );
            }
        }
        Ok(Self {
            file,
            path: path.to_owned(),
            env,
        })
    }

    /// `key`'s value: `flag`, else its variable (or, for a secret, `<VARIABLE>_FILE`), else its
    /// key in the file, each parsed with `T`'s `FromStr`; `None` where none has it. Errors: a
    /// value does not parse, a variable and its `_FILE` are both set, or the `_FILE` cannot be
    /// read; each names where the value came from.
    pub fn get<T>(&self, key: &Key, flag: Option<T>) -> Result<Option<Sourced<T>>>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        if let Some(value) = flag {
            return Ok(Some(Sourced {
                value,
                origin: Origin::Flag(key.flag),
            }));
        }
        if let Some(text) = self.env_text(key)? {
            return parse(&text.0, text.1, key).map(Some);
        }
        match self.file.get(key.name) {
            None => Ok(None),
            Some(toml::Value::Array(_)) => bail!(
                "{} must be a single value, not a list",
                self.file_origin(key)
            ),
            Some(toml::Value::String(s)) => parse(s, self.file_origin(key), key).map(Some),
            Some(other) => parse(&other.to_string(), self.file_origin(key), key).map(Some),
        }
    }

    /// [`Layers::get`], else `default`.
    pub fn get_or<T>(&self, key: &Key, flag: Option<T>, default: T) -> Result<Sourced<T>>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.get(key, flag)?.unwrap_or(Sourced {
            value: default,
            origin: Origin::Default(key.name),
        }))
    }

    /// A list setting: the flag's values (repeated), else the variable split at commas, else
    /// the file's array of strings (or one comma-separated string). Items are trimmed; empty
    /// ones are dropped; an empty result is `None`.
    pub fn get_list(&self, key: &Key, flag: &[String]) -> Result<Option<Sourced<Vec<String>>>> {
        let clean = |items: Vec<String>| -> Vec<String> {
            items
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let split = |s: &str| s.split(',').map(str::to_owned).collect::<Vec<_>>();
        let (items, origin) = if !flag.is_empty() {
            (clean(flag.to_vec()), Origin::Flag(key.flag))
        } else if let Some(text) = self.env.var(key.var)? {
            (clean(split(&text)), Origin::Env(key.var))
        } else {
            match self.file.get(key.name) {
                None => return Ok(None),
                Some(toml::Value::String(s)) => (clean(split(s)), self.file_origin(key)),
                Some(toml::Value::Array(a)) => {
                    let items = a
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| {
                            anyhow!("{} must be a list of strings", self.file_origin(key))
                        })?;
                    (clean(items), self.file_origin(key))
                }
                Some(_) => bail!("{} must be a list of strings", self.file_origin(key)),
            }
        };
        Ok((!items.is_empty()).then_some(Sourced {
            value: items,
            origin,
        }))
    }

    /// The variable's text, or for a secret the text of the file `<VARIABLE>_FILE` names.
    fn env_text(&self, key: &Key) -> Result<Option<(String, Origin)>> {
        let direct = self.env.var(key.var)?;
        if !key.secret {
            return Ok(direct.map(|v| (v, Origin::Env(key.var))));
        }
        let file_var = format!("{}_FILE", key.var);
        let Some(file) = self.env.var(&file_var)? else {
            return Ok(direct.map(|v| (v, Origin::Env(key.var))));
        };
        if direct.is_some() {
            bail!("both {} and {file_var} are set: set one of them", key.var);
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {file_var} {file}"))?;
        Ok(Some((
            text.trim_end_matches(['\n', '\r']).to_owned(),
            Origin::EnvFile(key.var),
        )))
    }

    fn file_origin(&self, key: &Key) -> Origin {
        Origin::File {
            key: key.name,
            path: self.path.clone(),
        }
    }
}

/// Layers of the config file text `file` (named `c.toml`) and the variables `env`, for tests.
#[cfg(test)]
pub(crate) fn test_layers(file: &str, env: &[(&str, &str)]) -> Result<Layers> {
    Layers::parse(file, Path::new("c.toml"), Env::map(env.iter().copied()))
}

/// Parses `text` from `origin`; a secret's text is never quoted in the error.
fn parse<T>(text: &str, origin: Origin, key: &Key) -> Result<Sourced<T>>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match text.trim().parse() {
        Ok(value) => Ok(Sourced { value, origin }),
        Err(e) if key.secret => bail!("{origin} is not valid: {e}"),
        Err(e) => bail!("{origin}: `{}` is not valid: {e}", text.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(file: &str, env: &[(&str, &str)]) -> Layers {
        test_layers(file, env).unwrap()
    }

    #[test]
    fn a_flag_beats_its_variable_which_beats_the_file_which_beats_the_default() {
        let key = &keys::WORKERS;
        let file = layers("workers = 2", &[]);
        let both = layers("workers = 2", &[("CASTELLAN_WORKERS", "3")]);
        assert_eq!(
            Layers::default().get_or(key, None, 1usize).unwrap().value,
            1
        );
        assert_eq!(file.get_or(key, None, 1usize).unwrap().value, 2);
        assert_eq!(both.get_or(key, None, 1usize).unwrap().value, 3);
        let flagged = both.get_or(key, Some(4usize), 1).unwrap();
        assert_eq!(flagged.value, 4);
        assert_eq!(flagged.origin.to_string(), "--workers");
    }

    #[test]
    fn unknown_keys_and_tables_are_refused_by_name() {
        let e = Layers::parse("wrokers = 2", Path::new("c.toml"), Env::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown key `wrokers` in the config file c.toml"),
            "{e}"
        );
        assert!(e.contains("workers"), "the message lists the keys: {e}");
        let e = Layers::parse("[bot]\nworkers = 2", Path::new("c.toml"), Env::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key `bot`"), "{e}");
        let e = Layers::parse("workers = [", Path::new("c.toml"), Env::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid config file c.toml"), "{e}");
    }

    #[test]
    fn a_bad_value_names_where_it_came_from() {
        let file = layers("workers = \"many\"", &[]);
        let e = file
            .get::<usize>(&keys::WORKERS, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("`workers` in c.toml: `many` is not valid"),
            "{e}"
        );
        let env = layers("", &[("CASTELLAN_WORKERS", "-1")]);
        let e = env
            .get::<usize>(&keys::WORKERS, None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("CASTELLAN_WORKERS: `-1` is not valid"), "{e}");
        let list = layers("workers = [1]", &[]);
        assert!(list.get::<usize>(&keys::WORKERS, None).is_err());
        let e = Sourced {
            value: 0u64,
            origin: Origin::Env("CASTELLAN_JOB_LEASE_SECS"),
        };
        let e = secs(e, 3, 86_400).unwrap_err().to_string();
        assert_eq!(
            e,
            "CASTELLAN_JOB_LEASE_SECS must be between 3 and 86400 seconds, not 0"
        );
    }

    #[test]
    fn a_secret_comes_from_its_file_variable_and_is_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        std::fs::write(&path, "postgres://u:hunter2@db/c\n").unwrap();
        let path = path.to_str().unwrap();
        let l = layers("", &[("CASTELLAN_DATABASE_URL_FILE", path)]);
        let url = l.get::<Secret>(&keys::DATABASE_URL, None).unwrap().unwrap();
        let file = layers("database_url = \"postgres://u:hunter2@db/c\"", &[]);
        assert!(!format!("{file:?}").contains("hunter2"), "{file:?}");
        assert_eq!(url.value.expose(), "postgres://u:hunter2@db/c");
        assert_eq!(url.origin.to_string(), "CASTELLAN_DATABASE_URL_FILE");
        let both = layers(
            "",
            &[
                ("CASTELLAN_DATABASE_URL_FILE", path),
                ("CASTELLAN_DATABASE_URL", "sqlite://x"),
            ],
        );
        let e = both.get::<Secret>(&keys::DATABASE_URL, None).unwrap_err();
        assert!(e.to_string().contains("set one of them"), "{e}");
    }

    #[test]
    fn lists_come_from_repeated_flags_commas_or_an_array() {
        let key = &keys::MAIL_DOMAINS;
        let file = layers("mail_domains = [\"a.test\", \" b.test \"]", &[]);
        assert_eq!(
            file.get_list(key, &[]).unwrap().unwrap().value,
            ["a.test", "b.test"]
        );
        let env = layers(
            "mail_domains = [\"a.test\"]",
            &[("CASTELLAN_MAIL_DOMAINS", "c.test,,d.test")],
        );
        assert_eq!(
            env.get_list(key, &[]).unwrap().unwrap().value,
            ["c.test", "d.test"]
        );
        let flag = env.get_list(key, &["e.test".into()]).unwrap().unwrap();
        assert_eq!(flag.value, ["e.test"]);
        assert!(layers("mail_domains = [1]", &[])
            .get_list(key, &[])
            .is_err());
        assert!(layers("", &[]).get_list(key, &[]).unwrap().is_none());
    }
}
