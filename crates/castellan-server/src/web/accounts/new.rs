//! "Add item → Account": the form, its password generator button and the look-alike label
//! confirmation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use castellan_core::ids::VaultId;
use castellan_core::permissions::{allows, Action};
use castellan_core::service::{AccountInput, GenerateRequest};
use castellan_core::validate::{LookAlike, LOOK_ALIKE_MESSAGE};
use secrecy::SecretString;
use serde::Deserialize;

use super::{first_error, form_errors, is_form_error, non_empty};
use crate::web::auth::FieldErrors;
use crate::web::{render, render_status, see_other, Chrome, WebError, WebForm, WebResult, WebUser};
use crate::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/accounts/new", get(new_page).post(new_submit))
}

/// A vault the person may choose.
#[derive(Debug, Clone)]
pub(super) struct VaultChoice {
    pub(super) id: String,
    pub(super) name: String,
}

#[derive(askama::Template)]
#[template(path = "account_new.html")]
struct NewAccountPage {
    chrome: Chrome,
    label: String,
    app: String,
    username: String,
    /// The password to put back in the field: only a generated one.
    password: String,
    /// Whether `password` came from the generator (shown in clear, kept on errors).
    generated: bool,
    /// What the generator said about the password ("20 characters, 131 bits").
    generated_note: String,
    vault: String,
    vaults: Vec<VaultChoice>,
    /// Catalog app names for the drop-down.
    apps: Vec<String>,
    errors: FieldErrors,
    /// The id of the element that gets the focus (the first field with an error).
    focus: String,
    /// The label looks like another one in the vault: offer the confirmation box.
    offer_confirm: bool,
}

/// The fields of "Add account". No `Debug`: it holds the password as typed, which must never
/// reach a log.
#[derive(Default, Deserialize)]
struct NewAccountForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    vault: String,
    /// `generate` fills in a password; anything else saves.
    #[serde(default)]
    action: String,
    /// `1` when the password field holds a generated password.
    #[serde(default)]
    generated: String,
    /// `1` when the look-alike confirmation box is ticked.
    #[serde(default)]
    confirm_confusable: String,
}

/// The form's context: the person's vaults (the default vault first) and the catalog's app
/// names. Refuses people whose workspace role may not add accounts.
pub(super) async fn new_form_context(
    s: &AppState,
    user: &WebUser,
) -> WebResult<(Vec<VaultChoice>, Vec<String>)> {
    if !allows(user.actor.role, Action::AccountCreate) {
        return Err(WebError::status(
            StatusCode::FORBIDDEN,
            format!(
                "Your workspace role ({}) may not add accounts.",
                user.actor.role.as_str().replace('_', " ")
            ),
        ));
    }
    let mut vaults = s.svc.vaults().list(&user.actor.permit()?).await?;
    vaults.sort_by_key(|v| (!v.is_default, v.name.to_lowercase()));
    let apps = s.svc.catalog().list(&user.actor.permit()?).await?;
    Ok((
        vaults
            .into_iter()
            .map(|v| VaultChoice {
                id: v.id.to_string(),
                name: v.name,
            })
            .collect(),
        apps.into_iter().map(|a| a.name).collect(),
    ))
}

async fn new_page(State(s): State<AppState>, user: WebUser) -> WebResult {
    let (vaults, apps) = new_form_context(&s, &user).await?;
    Ok(render(&NewAccountPage {
        chrome: user.chrome("Add account", "accounts"),
        label: String::new(),
        app: String::new(),
        username: String::new(),
        password: String::new(),
        generated: false,
        generated_note: String::new(),
        vault: vaults.first().map(|v| v.id.clone()).unwrap_or_default(),
        vaults,
        apps,
        errors: FieldErrors::default(),
        focus: "label".into(),
        offer_confirm: false,
    }))
}

/// Core field names of `create_account` → ids on the form.
const NEW_ACCOUNT_FIELDS: &[(&str, &str)] = &[
    ("label", "label"),
    ("app", "app"),
    ("login_url", "app"),
    ("username", "username"),
    ("password", "password"),
    ("vault_id", "vault"),
];

async fn new_submit(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<NewAccountForm>,
) -> WebResult {
    let (vaults, apps) = new_form_context(&s, &user).await?;
    let generated = f.generated == "1";
    let page = |errors: FieldErrors, password: String, generated: bool, note: String| {
        let status = if errors.0.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        render_status(
            status,
            &NewAccountPage {
                chrome: user.chrome("Add account", "accounts"),
                label: f.label.clone(),
                app: f.app.clone(),
                username: f.username.clone(),
                password,
                generated,
                generated_note: note,
                vault: f.vault.clone(),
                vaults: vaults.clone(),
                apps: apps.clone(),
                focus: first_error(&errors)
                    .unwrap_or(if generated { "generate" } else { "" })
                    .to_owned(),
                offer_confirm: errors.has("label")
                    && errors.get("label").contains(LOOK_ALIKE_MESSAGE),
                errors,
            },
        )
    };

    if f.action == "generate" {
        let t = f.app.trim();
        let app = s
            .svc
            .catalog()
            .list(&user.actor.permit()?)
            .await?
            .into_iter()
            .find(|a| a.id.as_str() == t || a.name.eq_ignore_ascii_case(t));
        let g = s
            .svc
            .catalog()
            .generate(
                &user.actor.permit()?,
                GenerateRequest {
                    app: app.as_ref().map(|a| a.id.to_string()),
                    ..GenerateRequest::default()
                },
            )
            .await?;
        let note = match app.filter(|_| g.rules_from.is_some()) {
            Some(app) => format!(
                "{} characters, about {} bits, following {}'s password rules.",
                g.length, g.entropy_bits, app.name
            ),
            None => format!("{} characters, about {} bits.", g.length, g.entropy_bits),
        };
        return Ok(page(FieldErrors::default(), g.value, true, note));
    }

    let vault_id = match non_empty(&f.vault) {
        None => None,
        Some(v) => match v.parse::<VaultId>() {
            Ok(id) => Some(id),
            Err(_) => {
                return Ok(page(
                    FieldErrors(vec![(
                        "vault".into(),
                        "Choose a vault from the list.".into(),
                    )]),
                    kept_password(&f, generated),
                    generated,
                    String::new(),
                ))
            }
        },
    };
    let input = AccountInput {
        label: f.label.clone(),
        app: non_empty(&f.app),
        login_url: None,
        username: non_empty(&f.username),
        password: (!f.password.is_empty()).then(|| SecretString::from(f.password.clone())),
        generate_password: false,
        vault_id,
        setup: None,
        notes: None,
        custom_fields: vec![],
        backup_codes: vec![],
    };
    let look_alike = LookAlike::confirmed(f.confirm_confusable == "1");
    match s
        .svc
        .accounts()
        .create_checked(&user.actor.permit()?, input, look_alike)
        .await
    {
        Ok(a) => Ok(see_other(&format!("/accounts/{}?done=created", a.id))),
        Err(e) if is_form_error(&e) => {
            let mut errors = form_errors(e, NEW_ACCOUNT_FIELDS, "label");
            if errors.has("vault") && vaults.len() <= 1 {
                // The vault field is hidden: say it at the top.
                for (f, _) in &mut errors.0 {
                    if f == "vault" {
                        "general".clone_into(f);
                    }
                }
            }
            if !generated && !f.password.is_empty() && !errors.has("password") {
                errors.0.push((
                    "password".into(),
                    "For your safety the password was not kept: type it again.".into(),
                ));
            }
            Ok(page(
                errors,
                kept_password(&f, generated),
                generated,
                String::new(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The password to put back after an error: a generated one (already shown on screen), never
/// one the person typed.
fn kept_password(f: &NewAccountForm, generated: bool) -> String {
    if generated {
        f.password.clone()
    } else {
        String::new()
    }
}
