//! The [`Authenticator`] capability, 2FA managed by Castellan: each account's authenticator.
//! Adding a secret (pasted, as an otpauth URI, from a QR image, or a Google Authenticator
//! export), reading codes, verifying a typed code once, HOTP counters, and exporting the secret.

use base64::Engine;
use castellan_otp::{Kind, OtpParams};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::accounts::{AccountInput, AccountView, TOTP_SECRET};
use super::blocking;
use super::{Authenticator, Castellan};
use crate::activity::{truncate_ms, ActivityAction, NewEvent};
use crate::error::{CoreError, CoreResult};
use crate::ids::{AccountId, VaultId};
use crate::model::{AccountRecord, OtpRecord};
use crate::permissions::{can, ItemAction, Permit};

/// Repeated TOTP code reads of one account by one session are recorded at most once per this
/// window (seconds).
pub const TOTP_READ_LOG_WINDOW_SECS: i64 = 600;

/// Adding 2FA to an account: exactly one of `secret`, `uri`, `qr_image_base64`.
#[derive(Debug, Clone)]
pub struct TotpInput {
    /// A base32 secret (any case; spaces, hyphens and missing padding are fine).
    pub secret: Option<SecretString>,
    /// An `otpauth://` URI (Key URI Format).
    pub uri: Option<SecretString>,
    /// A PNG or JPEG image of the QR code, base64.
    pub qr_image_base64: Option<SecretString>,
    /// With `secret`: `sha1` (default), `sha256` or `sha512`.
    pub algorithm: Option<String>,
    /// With `secret`: code length, 6 (default) to 10.
    pub digits: Option<u32>,
    /// With `secret`: time step in seconds (default 30).
    pub period: Option<u64>,
}

/// An account's authenticator as shown (no secret).
#[derive(Debug, Clone)]
pub struct TotpView {
    /// `totp`, `hotp` or `steam`.
    pub kind: String,
    /// `sha1`, `sha256` or `sha512`.
    pub algorithm: String,
    /// Code length.
    pub digits: i64,
    /// Time step in seconds.
    pub period: i64,
    /// Issuer (parameter, else label prefix).
    pub issuer: Option<String>,
    /// Account name from the label.
    pub account_name: Option<String>,
    /// Warnings about the secret (e.g. shorter than 128 bits, issuers disagree).
    pub warnings: Vec<String>,
}

/// A code to type.
#[derive(Debug, Clone)]
pub struct TotpCode {
    /// The code.
    pub code: String,
    /// Seconds until it changes (0 for HOTP).
    pub seconds_remaining: u64,
    /// Time step in seconds.
    pub period: i64,
    /// `totp`, `hotp` or `steam`.
    pub kind: String,
}

/// The result of verifying a typed code.
#[derive(Debug, Clone)]
pub struct TotpVerification {
    /// Whether the code is accepted.
    pub valid: bool,
    /// Why not, when refused.
    pub reason: Option<String>,
}

/// The secret, exported.
#[derive(Debug, Clone)]
pub struct TotpExport {
    /// `otpauth://` URI.
    pub uri: String,
    /// PNG of the QR code, base64.
    pub qr_png_base64: String,
}

/// Importing a Google Authenticator export.
#[derive(Debug, Clone)]
pub struct MigrationImport {
    /// The `otpauth-migration://offline?data=…` URI (from the export QR code).
    pub uri: Option<SecretString>,
    /// Or the export QR image (PNG/JPEG), base64.
    pub qr_image_base64: Option<SecretString>,
    /// Vault for the new accounts (default vault when absent).
    pub vault_id: Option<VaultId>,
}

/// One imported account.
#[derive(Debug, Clone)]
pub struct ImportedAccount {
    /// The new account.
    pub account: AccountView,
    /// Warnings for its secret.
    pub warnings: Vec<String>,
}

fn otp_err(field: &str, e: castellan_otp::OtpError) -> CoreError {
    CoreError::invalid(field, e.to_string())
}

fn decode_image(field: &str, b64: &SecretString) -> CoreResult<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.expose_secret().trim())
        .map_err(|_| CoreError::invalid(field, "is not valid base64"))?;
    castellan_otp::decode_qr_image(&bytes).map_err(|e| otp_err(field, e))
}

/// Parses an input into parameters and human warnings.
fn parse_input(t: &TotpInput) -> CoreResult<(OtpParams, Vec<String>)> {
    let given = [
        t.secret.is_some(),
        t.uri.is_some(),
        t.qr_image_base64.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if given != 1 {
        return Err(CoreError::invalid(
            "secret",
            "give exactly one of `secret`, `uri` or `qr_image_base64`",
        ));
    }
    let (p, warnings) = if let Some(s) = &t.secret {
        let (secret, w) =
            castellan_otp::parse_secret(s.expose_secret()).map_err(|e| otp_err("secret", e))?;
        let mut p = OtpParams::new(Kind::Totp, secret);
        if let Some(a) = &t.algorithm {
            p.algorithm = a.parse().map_err(|e| otp_err("algorithm", e))?;
        }
        if let Some(d) = t.digits {
            p.digits = d;
        }
        if let Some(s) = t.period {
            p.period = s;
        }
        p.validate().map_err(|e| otp_err("secret", e))?;
        (p, w)
    } else if let Some(u) = &t.uri {
        castellan_otp::parse_uri(u.expose_secret().trim()).map_err(|e| otp_err("uri", e))?
    } else {
        let text = decode_image(
            "qr_image_base64",
            t.qr_image_base64
                .as_ref()
                .unwrap_or(&SecretString::from(String::new())),
        )?;
        castellan_otp::parse_uri(&text).map_err(|e| otp_err("qr_image_base64", e))?
    };
    Ok((p, warnings.iter().map(ToString::to_string).collect()))
}

fn record_of(a: AccountId, p: &OtpParams, now: DateTime<Utc>) -> OtpRecord {
    OtpRecord {
        account_id: a,
        kind: p.kind.to_string(),
        algorithm: p.algorithm.to_string().to_lowercase(),
        digits: i64::from(p.digits),
        period: i64::try_from(p.period).unwrap_or(30),
        counter: i64::try_from(p.counter).unwrap_or(0),
        issuer: p.issuer.clone(),
        label_issuer: p.label_issuer.clone(),
        account_name: p.account_name.clone(),
        last_step: None,
        created_at: truncate_ms(now),
    }
}

fn view_of(o: &OtpRecord, warnings: Vec<String>) -> TotpView {
    TotpView {
        kind: o.kind.clone(),
        algorithm: o.algorithm.clone(),
        digits: o.digits,
        period: o.period,
        issuer: o.issuer.clone().or_else(|| o.label_issuer.clone()),
        account_name: o.account_name.clone(),
        warnings,
    }
}

impl Castellan {
    /// The account's authenticator parameters with the secret, decrypted (for codes and the bot).
    pub(crate) async fn otp_params(
        &self,
        a: &AccountRecord,
    ) -> CoreResult<Option<(OtpRecord, OtpParams)>> {
        let Some(o) = self.store.account_otp(a.id).await? else {
            return Ok(None);
        };
        let fields = self.open_fields(a).await?;
        let Some((_, b32)) = fields.iter().find(|(f, _)| f == TOTP_SECRET) else {
            return Ok(None);
        };
        let (secret, _) = castellan_otp::parse_secret(b32).map_err(CoreError::internal)?;
        let kind = match o.kind.as_str() {
            "hotp" => Kind::Hotp,
            "steam" => Kind::Steam,
            _ => Kind::Totp,
        };
        let mut p = OtpParams::new(kind, secret);
        p.algorithm = o.algorithm.parse().map_err(CoreError::internal)?;
        p.digits = u32::try_from(o.digits).unwrap_or(6);
        p.period = u64::try_from(o.period).unwrap_or(30);
        p.counter = u64::try_from(o.counter).unwrap_or(0);
        p.issuer = o.issuer.clone();
        p.label_issuer = o.label_issuer.clone();
        p.account_name = o.account_name.clone();
        Ok(Some((o, p)))
    }
}

impl Authenticator<'_> {
    /// Turns on 2FA managed by Castellan for an account (replacing an earlier secret). Needs
    /// `AccountWrite` and an item role that may edit. Errors: `Validation` naming the problem
    /// (empty or non-base32 secret, bad URI, no QR code in the image…). Short secrets are
    /// accepted with a warning.
    pub async fn set(
        &self,
        permit: &Permit<can::AccountWrite>,
        id: AccountId,
        input: TotpInput,
    ) -> CoreResult<TotpView> {
        let actor = permit.actor();
        let (mut a, _) = self.account_for(actor, id, ItemAction::Edit).await?;
        // QR decoding is CPU work (up to the 20-megapixel cap): off the async runtime.
        let (p, warnings) = blocking(move || parse_input(&input)).await??;
        let sealed = self
            .seal_fields(
                a.vault_id,
                a.id,
                &[(TOTP_SECRET.to_owned(), p.secret.to_base32())],
            )
            .await?;
        if !a.secret_fields.iter().any(|f| f == TOTP_SECRET) {
            a.secret_fields.push(TOTP_SECRET.to_owned());
        }
        a.version += 1;
        a.updated_at = self.now();
        let rec = record_of(a.id, &p, self.now());
        let ev = NewEvent::new(actor, ActivityAction::AccountTotpSet, self.now())
            .target("account", a.id, &a.label)
            .details(serde_json::json!({ "kind": rec.kind, "algorithm": rec.algorithm, "digits": rec.digits, "period": rec.period, "warnings": warnings }));
        self.store
            .set_account_otp(&a, &sealed, &[], Some(&rec), &ev)
            .await?;
        Ok(view_of(&rec, warnings))
    }

    /// Turns 2FA off for an account (the secret is deleted). Needs edit rights.
    pub async fn remove(
        &self,
        permit: &Permit<can::AccountWrite>,
        id: AccountId,
    ) -> CoreResult<()> {
        let actor = permit.actor();
        let (mut a, _) = self.account_for(actor, id, ItemAction::Edit).await?;
        if self.store.account_otp(a.id).await?.is_none() {
            return Err(CoreError::NotFound {
                kind: "authenticator",
            });
        }
        a.secret_fields.retain(|f| f != TOTP_SECRET);
        a.version += 1;
        a.updated_at = self.now();
        let ev = NewEvent::new(actor, ActivityAction::AccountTotpRemove, self.now())
            .target("account", a.id, &a.label);
        self.store
            .set_account_otp(&a, &[], &[TOTP_SECRET.to_owned()], None, &ev)
            .await
    }

    /// The authenticator's settings (no secret). Needs the account to be viewable.
    pub async fn get(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
    ) -> CoreResult<TotpView> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::View).await?;
        let o = self
            .store
            .account_otp(a.id)
            .await?
            .ok_or(CoreError::NotFound {
                kind: "authenticator",
            })?;
        Ok(view_of(&o, vec![]))
    }

    /// The current code and the seconds remaining; for HOTP, the next counter's code (the counter
    /// advances atomically). Anyone who may use the account may read codes. Reads are recorded
    /// as `account.totp_code`: every HOTP read (each uses a code up), and a TOTP or Steam read
    /// once per session (token) and account per [`TOTP_READ_LOG_WINDOW_SECS`], so a page left
    /// open that refreshes the code every 30 s writes one event, not one per refresh (the rule:
    /// [`crate::activity::log_due`]).
    pub async fn code(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
    ) -> CoreResult<TotpCode> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::Use).await?;
        let (o, p) = self.otp_params(&a).await?.ok_or(CoreError::NotFound {
            kind: "authenticator",
        })?;
        let ev = NewEvent::new(actor, ActivityAction::AccountTotpCode, self.now())
            .target("account", a.id, &a.label);
        let now = self.now_secs();
        let (code, remaining) = if p.kind == Kind::Hotp {
            let counter = self.store.next_hotp_counter(a.id, &ev).await?;
            (
                castellan_otp::hotp(&p, u64::try_from(counter).unwrap_or(0)),
                0,
            )
        } else {
            let window = chrono::Duration::seconds(TOTP_READ_LOG_WINDOW_SECS);
            self.store.append_throttled(&ev, window).await?;
            (
                castellan_otp::code_at(&p, now),
                castellan_otp::seconds_remaining(&p, now),
            )
        };
        Ok(TotpCode {
            code,
            seconds_remaining: remaining,
            period: o.period,
            kind: o.kind,
        })
    }

    /// Verifies a typed code within ±1 time step (HOTP: the next two counters) and never
    /// accepts the same step twice for one account.
    pub async fn verify(
        &self,
        permit: &Permit<can::AccountRead>,
        id: AccountId,
        code: &str,
    ) -> CoreResult<TotpVerification> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::Use).await?;
        let (_, p) = self.otp_params(&a).await?.ok_or(CoreError::NotFound {
            kind: "authenticator",
        })?;
        if code.trim().is_empty() || code.len() > 20 {
            return Err(CoreError::invalid("code", "give the code shown by the app"));
        }
        let Some(step) = castellan_otp::verify_totp(&p, code, self.now_secs(), 1) else {
            return Ok(TotpVerification {
                valid: false,
                reason: Some("the code does not match".into()),
            });
        };
        let ev = NewEvent::new(actor, ActivityAction::AccountTotpVerify, self.now())
            .target("account", a.id, &a.label);
        let fresh = self
            .store
            .claim_otp_step(a.id, i64::try_from(step).unwrap_or(i64::MAX), &ev)
            .await?;
        Ok(if fresh {
            TotpVerification {
                valid: true,
                reason: None,
            }
        } else {
            TotpVerification {
                valid: false,
                reason: Some("this code was already used".into()),
            }
        })
    }

    /// Exports the secret as an otpauth URI and a QR PNG. Needs reveal rights; recorded as
    /// `account.totp_export`.
    pub async fn export(
        &self,
        permit: &Permit<can::AccountReveal>,
        id: AccountId,
    ) -> CoreResult<TotpExport> {
        let actor = permit.actor();
        let (a, _) = self.account_for(actor, id, ItemAction::Reveal).await?;
        let (_, p) = self.otp_params(&a).await?.ok_or(CoreError::NotFound {
            kind: "authenticator",
        })?;
        let png = castellan_otp::qr_png(&p).map_err(CoreError::internal)?;
        let ev = NewEvent::new(actor, ActivityAction::AccountTotpExport, self.now())
            .target("account", a.id, &a.label);
        self.store.append(&ev).await?;
        Ok(TotpExport {
            uri: castellan_otp::to_uri(&p),
            qr_png_base64: base64::engine::general_purpose::STANDARD.encode(png),
        })
    }

    /// Imports a Google Authenticator export: one new account per entry, each with 2FA managed
    /// by Castellan. Needs `AccountCreate`.
    pub async fn import_migration(
        &self,
        permit: &Permit<can::AccountCreate>,
        m: MigrationImport,
    ) -> CoreResult<Vec<ImportedAccount>> {
        let actor = permit.actor();
        let uri = match (&m.uri, &m.qr_image_base64) {
            (Some(u), None) => u.expose_secret().trim().to_owned(),
            (None, Some(img)) => {
                let img = img.clone();
                blocking(move || decode_image("qr_image_base64", &img)).await??
            }
            _ => {
                return Err(CoreError::invalid(
                    "uri",
                    "give exactly one of `uri` or `qr_image_base64`",
                ))
            }
        };
        let entries = castellan_otp::parse_migration(&uri).map_err(|e| otp_err("uri", e))?;
        let apps = self.all_apps().await?;
        let mut out = vec![];
        for (p, warnings) in entries {
            let issuer = p.display_issuer().map(str::to_owned);
            let name = p.account_name.clone().unwrap_or_default();
            let base = match (&issuer, name.is_empty()) {
                (Some(i), false) => format!("{i} ({name})"),
                (Some(i), true) => i.clone(),
                (None, _) if !name.is_empty() => name.clone(),
                _ => "Imported authenticator".to_owned(),
            };
            let app = issuer.as_ref().and_then(|i| {
                apps.iter().find(|a| {
                    a.name.eq_ignore_ascii_case(i) || a.id.as_str().eq_ignore_ascii_case(i)
                })
            });
            let mut label = crate::validate::clip(&base)
                .trim_end_matches('…')
                .to_owned();
            let mut n = 1;
            let account = loop {
                let input = AccountInput {
                    label: label.clone(),
                    app: app.map(|a| a.id.to_string()),
                    login_url: None,
                    username: (!name.is_empty()).then(|| name.clone()),
                    password: None,
                    generate_password: false,
                    vault_id: m.vault_id,
                    setup: None,
                    notes: None,
                    custom_fields: vec![],
                    backup_codes: vec![],
                };
                match self.accounts().create(&actor.permit()?, input).await {
                    Err(CoreError::Conflict(_)) if n < 50 => {
                        n += 1;
                        label = format!("{base} ({n})");
                    }
                    other => break other?,
                }
            };
            let view = self
                .set(
                    &permit.and()?,
                    account.id,
                    TotpInput {
                        secret: None,
                        uri: Some(SecretString::from(castellan_otp::to_uri(&p))),
                        qr_image_base64: None,
                        algorithm: None,
                        digits: None,
                        period: None,
                    },
                )
                .await?;
            let mut account = self.accounts().get(&permit.and()?, account.id).await?;
            account.has_totp = true;
            out.push(ImportedAccount {
                account,
                warnings: warnings
                    .iter()
                    .map(ToString::to_string)
                    .chain(view.warnings)
                    .collect(),
            });
        }
        Ok(out)
    }
}
