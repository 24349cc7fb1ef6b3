//! The [`Catalog`] capability: the app catalog (built-in and custom apps) and the password
//! generator.

use castellan_crypto::{
    generate_passphrase, generate_password, CharClasses, Generated, PassphraseOptions,
    PasswordOptions,
};
use secrecy::ExposeSecret;

use super::{Castellan, Catalog};
use crate::activity::{ActivityAction, NewEvent};
use crate::catalog::{App, AppSource, CharClass};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, AppId};
use crate::permissions::{can, Permit};

/// Symbols used when neither the request nor the app names a set.
pub const DEFAULT_SYMBOLS: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

/// A generator request. With `app` or `account_id`, the app's password rules win: the length is
/// clamped to its range, its symbol set is used and its required classes are turned on.
#[derive(Debug, Clone, Default)]
pub struct GenerateRequest {
    /// `password` (default) or `passphrase`.
    pub mode: Option<String>,
    /// Length in characters, 8..=128 (default 20).
    pub length: Option<usize>,
    /// Include a-z (default true).
    pub lower: Option<bool>,
    /// Include A-Z (default true).
    pub upper: Option<bool>,
    /// Include 0-9 (default true).
    pub digits: Option<bool>,
    /// Include symbols (default true).
    pub symbols: Option<bool>,
    /// The symbol set to draw from.
    pub symbol_set: Option<String>,
    /// Leave out look-alike characters (I l 1 O 0 o | ` ' ").
    pub exclude_lookalikes: bool,
    /// Passphrase: number of words, 3..=20 (default 5).
    pub words: Option<usize>,
    /// Passphrase: separator (default "-").
    pub separator: Option<String>,
    /// Passphrase: capitalize words.
    pub capitalize: bool,
    /// Passphrase: add a digit.
    pub include_number: bool,
    /// Follow this catalog app's password rules.
    pub app: Option<String>,
    /// Follow the password rules of this account's app.
    pub account_id: Option<AccountId>,
}

/// A generated secret.
#[derive(Debug, Clone)]
pub struct GenerateResult {
    /// The password or passphrase.
    pub value: String,
    /// Strength estimate in bits (log2 of the number of equally likely outcomes).
    pub entropy_bits: f64,
    /// Length in characters.
    pub length: usize,
    /// The app whose rules were applied, if any.
    pub rules_from: Option<String>,
}

fn classes_of(rules_require: &[CharClass], base: CharClasses) -> CharClasses {
    CharClasses {
        lower: base.lower || rules_require.contains(&CharClass::Lower),
        upper: base.upper || rules_require.contains(&CharClass::Upper),
        digits: base.digits || rules_require.contains(&CharClass::Digit),
        symbols: base.symbols || rules_require.contains(&CharClass::Symbol),
    }
}

impl Castellan {
    /// Every catalog app: built-in and custom.
    pub(crate) async fn all_apps(&self) -> CoreResult<Vec<App>> {
        let mut apps: Vec<App> = self.builtin_apps.as_ref().clone();
        apps.extend(self.store.custom_apps().await?);
        Ok(apps)
    }

    /// Generates a password that fits `app`'s rules (default options otherwise), for the
    /// "generate" button of the account form.
    pub(crate) fn generate_for_app(&self, app: Option<&App>) -> CoreResult<Generated> {
        let mut opts = PasswordOptions::default();
        if let Some(app) = app {
            apply_rules(&mut opts, app);
        }
        Ok(generate_password(&opts)?)
    }
}

impl Catalog<'_> {
    /// The generator. Any role may use it (`Generate`); looking up an account's rules needs
    /// the account to be viewable. Errors: `Validation` for out-of-range options.
    pub async fn generate(
        &self,
        p: &Permit<can::Generate>,
        req: GenerateRequest,
    ) -> CoreResult<GenerateResult> {
        let app = match (&req.app, req.account_id) {
            (Some(a), _) => Some(self.get(&p.and()?, a).await?),
            (None, Some(id)) => {
                let acc = self.accounts().get(&p.and()?, id).await?;
                match acc.app_id {
                    Some(a) => Some(self.get(&p.and()?, a.as_str()).await?),
                    None => None,
                }
            }
            _ => None,
        };
        let mode = req.mode.as_deref().unwrap_or("password");
        let g = match mode {
            "passphrase" => {
                let mut o = PassphraseOptions::default();
                if let Some(w) = req.words {
                    o.words = w;
                }
                if let Some(s) = &req.separator {
                    o.separator = s.clone();
                }
                o.capitalize = req.capitalize;
                o.include_number = req.include_number;
                generate_passphrase(&o).map_err(|e| CoreError::invalid("words", e.to_string()))?
            }
            "password" => {
                let d = PasswordOptions::default();
                let mut o = PasswordOptions {
                    length: req.length.unwrap_or(d.length),
                    classes: CharClasses {
                        lower: req.lower.unwrap_or(true),
                        upper: req.upper.unwrap_or(true),
                        digits: req.digits.unwrap_or(true),
                        symbols: req.symbols.unwrap_or(true),
                    },
                    symbols: req.symbol_set.clone(),
                    exclude_lookalikes: req.exclude_lookalikes,
                };
                if !(8..=128).contains(&o.length) {
                    return Err(CoreError::invalid("length", "must be between 8 and 128"));
                }
                if let Some(app) = &app {
                    apply_rules(&mut o, app);
                }
                generate_password(&o).map_err(|e| CoreError::invalid("options", e.to_string()))?
            }
            other => {
                return Err(CoreError::invalid(
                    "mode",
                    format!(
                        "`{}` is not `password` or `passphrase`",
                        crate::validate::clip(other)
                    ),
                ))
            }
        };
        let value = g.value.expose_secret().to_owned();
        Ok(GenerateResult {
            length: value.chars().count(),
            value,
            entropy_bits: (g.entropy_bits * 10.0).round() / 10.0,
            rules_from: app.map(|a| a.id.to_string()),
        })
    }

    /// Every catalog app (built-in and custom), by name.
    pub async fn list(&self, _: &Permit<can::CatalogRead>) -> CoreResult<Vec<App>> {
        let mut apps = self.all_apps().await?;
        apps.sort_by_key(|a| a.name.to_lowercase());
        Ok(apps)
    }

    /// One app by id or name. Errors: `NotFound`.
    pub async fn get(&self, _: &Permit<can::CatalogRead>, id_or_name: &str) -> CoreResult<App> {
        self.all_apps()
            .await?
            .into_iter()
            .find(|a| a.id.as_str() == id_or_name || a.name.eq_ignore_ascii_case(id_or_name))
            .ok_or(CoreError::NotFound { kind: "app" })
    }

    /// Adds a custom app. Errors: `Validation`, `Conflict` on a taken id.
    pub async fn add(&self, p: &Permit<can::CatalogManage>, mut app: App) -> CoreResult<App> {
        app.id = AppId::parse(app.id.as_str())?;
        app.validate()?;
        app.source = AppSource::Custom;
        if app.connector.is_some() {
            return Err(CoreError::invalid(
                "connector",
                "custom apps cannot name a connector",
            ));
        }
        if self.all_apps().await?.iter().any(|a| a.id == app.id) {
            return Err(CoreError::Conflict(format!(
                "an app with id `{}` already exists",
                app.id
            )));
        }
        let ev = NewEvent::new(p.actor(), ActivityAction::CatalogAddApp, self.now())
            .target("app", &app.id, &app.name);
        self.store.insert_app(&app, &ev).await?;
        Ok(app)
    }
}

/// Clamps `opts` to an app's password rules: length within `[min, max]` (and within 8..=128
/// where the app allows), the app's symbol set, and its required classes turned on. When the
/// app's symbol set is empty, symbols are turned off.
pub fn apply_rules(opts: &mut PasswordOptions, app: &App) {
    let r = &app.password_rules;
    let lo = r.min_length.max(8).min(r.max_length);
    let hi = r.max_length.min(128);
    opts.length = opts.length.clamp(lo.min(hi), hi.max(lo.min(hi)));
    opts.classes = classes_of(&r.require, CharClasses { ..opts.classes });
    if let Some(sym) = &r.symbols {
        let allowed: String = sym
            .chars()
            .filter(|c| c.is_ascii_punctuation())
            .filter(|c| {
                opts.symbols
                    .as_deref()
                    .unwrap_or(DEFAULT_SYMBOLS)
                    .contains(*c)
                    || opts.symbols.is_none()
            })
            .collect();
        if allowed.is_empty() {
            opts.classes.symbols = false;
            opts.symbols = None;
        } else {
            opts.symbols = Some(allowed);
        }
    }
}
