//! The connect wizard: app → label, organization id and base URL → user management and login
//! method → automation account (an existing account, or a new placeholder account). Every step
//! is a server-rendered form that carries the earlier answers in hidden fields; each step is
//! checked when it is submitted (and again with the later ones), and the last one connects the
//! hub through `connect_hub`. Apps this build has no connector for are offered after the
//! automated ones, as manual hubs (tasks for an app admin, `castellan_core::manual`).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use castellan_core::catalog::{App, Capability};
use castellan_core::hub::{LoginMethod, UserManagement};
use castellan_core::ids::{AccountId, VaultId};
use castellan_core::manual::MANUAL;
use castellan_core::model::{AccountSetup, VaultKind};
use castellan_core::permissions::{self, Action};
use castellan_core::service::{AccountInput, ConnectHub};
use castellan_core::{validate, CoreError};
use secrecy::SecretString;
use serde::Deserialize;

use super::field_errors;
use crate::web::auth::FieldErrors;
use crate::web::{render_status, see_other, Chrome, WebForm, WebResult, WebUser};
use crate::AppState;

use super::wizard_settings;

/// The value of the account choice that asks for a new placeholder account.
const PLACEHOLDER: &str = "placeholder";

/// The steps, numbered from 1.
const STEPS: [(u8, &str); 4] = [
    (1, "App"),
    (2, "Label and organization"),
    (3, "User management and sign-in"),
    (4, "Automation account"),
];

/// User management methods: (value, label, hint).
const USER_MANAGEMENT: [(UserManagement, &str, &str); 2] = [
    (
        UserManagement::Api,
        "Through the app's API",
        "The bot manages members with the app's API. Recommended.",
    ),
    (
        UserManagement::Browser,
        "Through the app's web pages",
        "The bot signs in to the app's web pages in a headless browser, for apps without an API.",
    ),
];

/// Login methods of the automation account: (value, label, hint).
const LOGIN_METHODS: [(LoginMethod, &str, &str); 3] = [
    (
        LoginMethod::Password,
        "Password",
        "The bot signs in with the account's username and password.",
    ),
    (
        LoginMethod::PasswordTotp,
        "Password and a code from Castellan's authenticator",
        "The app asks for a 2FA code; Castellan holds the account's TOTP secret (2FA managed by Castellan).",
    ),
    (
        LoginMethod::PasswordEmailCode,
        "Password and a code sent by email",
        "The app emails a code to the account's managed email address; Castellan reads it from the shared inbox.",
    ),
];

/// Every answer of the wizard, as typed. Unknown fields (like `csrf`) are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(in crate::web) struct WizardForm {
    /// The step being submitted (1..=4).
    step: String,
    /// `next` (default) or `back`.
    go: String,
    app: String,
    label: String,
    organization_id: String,
    base_url: String,
    user_management: String,
    login_method: String,
    /// An account id, or [`PLACEHOLDER`].
    automation_account_id: String,
    placeholder_username: String,
    /// Never shown again nor carried between steps.
    placeholder_password: String,
    vault_id: String,
    /// Every other field: the connector's settings (`setting_<key>`), and ignored ones.
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, String>,
}

impl WizardForm {
    /// (name, value) of the answers that belong to `step`.
    fn fields_of(&self, step: u8) -> Vec<(String, String)> {
        let pairs: Vec<(&str, &str)> = match step {
            1 => vec![("app", &self.app)],
            2 => {
                return [
                    ("label", &self.label),
                    ("organization_id", &self.organization_id),
                    ("base_url", &self.base_url),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.clone()))
                .chain(wizard_settings::carried(&self.extra))
                .collect()
            }
            3 => vec![
                ("user_management", &self.user_management),
                ("login_method", &self.login_method),
            ],
            _ => vec![
                ("automation_account_id", &self.automation_account_id),
                ("placeholder_username", &self.placeholder_username),
                ("vault_id", &self.vault_id),
            ],
        };
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// The step a core error's field belongs to.
    fn step_of(field: &str) -> u8 {
        match field {
            "app" => 1,
            "label" | "organization_id" | "base_url" => 2,
            f if f.starts_with("settings.") => 2,
            "user_management" | "login_method" => 3,
            _ => 4,
        }
    }
}

/// An option of a select.
#[derive(Debug)]
struct Choice {
    value: String,
    label: String,
    hint: String,
    selected: bool,
}

#[derive(askama::Template)]
#[template(path = "hub_wizard.html")]
struct WizardPage {
    chrome: Chrome,
    step: u8,
    steps: Vec<(u8, &'static str)>,
    f: WizardForm,
    errors: FieldErrors,
    /// Answers of the other steps, as hidden fields.
    carried: Vec<(String, String)>,
    /// Earlier answers, shown as a summary.
    summary: Vec<(&'static str, String)>,
    /// Automated apps.
    apps: Vec<Choice>,
    /// Apps without a connector in this build: manual hubs.
    manual_apps: Vec<Choice>,
    /// The chosen app makes a manual hub.
    manual: bool,
    app_name: String,
    self_hosted: bool,
    url_hint: String,
    capabilities: Vec<&'static str>,
    saml_sso: bool,
    user_managements: Vec<Choice>,
    login_methods: Vec<Choice>,
    app_accounts: Vec<Choice>,
    other_accounts: Vec<Choice>,
    placeholder: bool,
    vaults: Vec<Choice>,
    /// The connector's plain settings (step 2).
    settings: Vec<wizard_settings::SettingInput>,
    /// The secret settings the automation account must hold (step 4).
    secrets: Vec<wizard_settings::SecretSetting>,
}

fn capability_words(c: Capability) -> &'static str {
    match c {
        Capability::ListMembers => "list members with their roles",
        Capability::Invite => "invite members",
        Capability::UpdateRole => "change members' app roles",
        Capability::Remove => "remove members",
        Capability::KeepSeat => "keep a member's seat on revoke",
        Capability::ListRoles => "read the app's own roles",
        Capability::ListResources => "list what is inside the app (rooms, projects, sites, groups)",
        Capability::ResourceRoles => "grant and revoke roles inside the app",
        Capability::ChangeOwnPassword => "change the automation account's password",
        Capability::ReadTwoFactor => "check the automation account's second factor",
        Capability::EnableTwoFactor => "turn on the automation account's second factor",
    }
}

fn is_self_hosted(app: &App) -> bool {
    app.category.as_deref() == Some("self_hosted")
}

/// The options of a select over the enum `T` (value, label, hint), the one `current` names
/// (or the first) selected.
fn choices<T: std::fmt::Display>(options: &[(T, &str, &str)], current: &str) -> Vec<Choice> {
    options
        .iter()
        .enumerate()
        .map(|(i, (v, l, h))| Choice {
            value: v.to_string(),
            label: (*l).to_owned(),
            hint: (*h).to_owned(),
            selected: v.to_string() == current || (current.is_empty() && i == 0),
        })
        .collect()
}

/// The label of the option named `value`, or `value` itself.
fn label_of<T: std::fmt::Display>(options: &[(T, &str, &str)], value: &str) -> String {
    options
        .iter()
        .find(|(v, _, _)| v.to_string() == value)
        .map(|(_, l, _)| (*l).to_owned())
        .unwrap_or_else(|| value.to_owned())
}

/// The connector override a hub on `app` gets from the wizard: `manual` (tasks for an app
/// admin) when this build has no connector that drives the app, none otherwise.
fn over_for(s: &AppState, app: &App) -> Option<&'static str> {
    s.svc.connector_info(app, None).is_none().then_some(MANUAL)
}

/// The declaration of the connector a hub on `app` runs on: the app's browser connector when
/// the form chose to manage members on the app's web pages and the app has one, else the
/// app's own (see [`over_for`]). Its settings are step 2's, so choosing the browser in step 3
/// sends the person back to step 2 when the browser connector's settings differ.
fn info_for(
    s: &AppState,
    app: Option<&App>,
    f: &WizardForm,
) -> Option<castellan_core::connector::ConnectorInfo> {
    let app = app?;
    let browser = match f.user_management.parse::<UserManagement>() {
        Ok(UserManagement::Browser) => app.browser_connector.as_deref(),
        _ => None,
    };
    s.svc.connector_info(app, browser.or(over_for(s, app)))
}

/// The catalog app the form names, if any.
async fn chosen_app(
    s: &AppState,
    user: &WebUser,
    f: &WizardForm,
) -> Result<Option<App>, CoreError> {
    match s
        .svc
        .catalog()
        .get(&user.actor.permit()?, f.app.trim())
        .await
    {
        Ok(a) => Ok(Some(a)),
        Err(CoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Renders `step` with what the person typed and `errors`.
async fn page(
    s: &AppState,
    user: &WebUser,
    f: &WizardForm,
    step: u8,
    errors: FieldErrors,
    status: StatusCode,
) -> WebResult {
    let a = &user.actor;
    let app = chosen_app(s, user, f).await?;
    let mut f = f.clone();
    f.placeholder_password.clear();
    let carried = (1..=4u8)
        .filter(|st| *st != step)
        .flat_map(|st| f.fields_of(st))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let info = info_for(s, app.as_ref(), &f);
    let manual = app.as_ref().is_some_and(|x| over_for(s, x).is_some());
    let mut summary = vec![];
    if step > 1 {
        summary.push((
            "App",
            app.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        ));
    }
    if step > 2 {
        summary.push(("Label", f.label.clone()));
        if !f.organization_id.is_empty() {
            summary.push(("Organization id", f.organization_id.clone()));
        }
        if !f.base_url.is_empty() {
            summary.push(("Base URL", f.base_url.clone()));
        }
    }
    if step > 3 {
        summary.push((
            "User management",
            label_of(&USER_MANAGEMENT, &f.user_management),
        ));
        summary.push(("Sign-in", label_of(&LOGIN_METHODS, &f.login_method)));
    }
    // Automated apps (whose connector this build has) first, then the others as manual hubs.
    let (mut apps, mut manual_apps) = (vec![], vec![]);
    if step == 1 {
        for x in s.svc.catalog().list(&a.permit()?).await? {
            let automated = over_for(s, &x).is_none();
            let c = Choice {
                selected: x.id.as_str() == f.app.trim()
                    || x.name.eq_ignore_ascii_case(f.app.trim()),
                value: x.id.to_string(),
                hint: String::new(),
                label: if automated {
                    x.name
                } else {
                    format!("{} (manual: tasks for an app admin)", x.name)
                },
            };
            if automated {
                apps.push(c);
            } else {
                manual_apps.push(c);
            }
        }
    }
    let (mut app_accounts, mut other_accounts, mut vaults) = (vec![], vec![], vec![]);
    if step == 4 {
        let vault_list = s.svc.vaults().list(&a.permit()?).await?;
        let app_id = app.as_ref().map(|x| x.id.clone());
        for acc in s
            .svc
            .accounts()
            .list(&a.permit()?, None, None, None)
            .await?
        {
            let vault = vault_list
                .iter()
                .find(|v| v.id == acc.vault_id)
                .map(|v| v.name.as_str())
                .unwrap_or("—");
            let c = Choice {
                value: acc.id.to_string(),
                label: format!(
                    "{} — {} ({}, {})",
                    acc.label,
                    acc.username.as_deref().unwrap_or("no username"),
                    acc.setup.as_str().replace('_', " "),
                    vault
                ),
                hint: String::new(),
                selected: acc.id.to_string() == f.automation_account_id,
            };
            if acc.app_id.is_some() && acc.app_id == app_id {
                app_accounts.push(c);
            } else {
                other_accounts.push(c);
            }
        }
        let mut cloud: Vec<_> = vault_list
            .into_iter()
            .filter(|v| v.kind == VaultKind::Cloud)
            .collect();
        cloud.sort_by_key(|v| (!v.is_default, v.name.to_lowercase()));
        if cloud.len() > 1 {
            vaults = cloud
                .into_iter()
                .map(|v| Choice {
                    selected: v.id.to_string() == f.vault_id,
                    value: v.id.to_string(),
                    label: v.name,
                    hint: String::new(),
                })
                .collect();
        }
    }
    let page = WizardPage {
        chrome: user.chrome("Connect a business hub", "hubs"),
        step,
        steps: STEPS.to_vec(),
        errors,
        carried,
        summary,
        apps,
        manual_apps,
        manual,
        app_name: app.as_ref().map(|x| x.name.clone()).unwrap_or_default(),
        self_hosted: app.as_ref().is_some_and(is_self_hosted),
        url_hint: app
            .as_ref()
            .and_then(|x| x.login_urls.first())
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default(),
        capabilities: app
            .as_ref()
            .map(|x| {
                x.capabilities
                    .iter()
                    .map(|c| capability_words(*c))
                    .collect()
            })
            .unwrap_or_default(),
        saml_sso: app.as_ref().is_some_and(|x| x.saml_sso),
        user_managements: choices(&USER_MANAGEMENT, &f.user_management),
        login_methods: choices(&LOGIN_METHODS, &f.login_method),
        app_accounts,
        other_accounts,
        placeholder: f.automation_account_id == PLACEHOLDER,
        vaults,
        settings: wizard_settings::inputs(info.as_ref(), &f.extra),
        secrets: wizard_settings::secrets(info.as_ref()),
        f,
    };
    Ok(render_status(status, &page))
}

/// The wizard's first page may preselect an app: `/hubs/new?app=matrix-synapse`.
#[derive(Debug, Default, Deserialize)]
pub(in crate::web) struct StartQuery {
    #[serde(default)]
    app: Option<String>,
}

/// `GET /hubs/new`: step 1, the app.
pub(in crate::web) async fn start(
    State(s): State<AppState>,
    user: WebUser,
    Query(q): Query<StartQuery>,
) -> WebResult {
    permissions::require(user.actor.role, Action::HubManage)?;
    let f = WizardForm {
        app: q.app.unwrap_or_default(),
        ..Default::default()
    };
    page(&s, &user, &f, 1, FieldErrors::default(), StatusCode::OK).await
}

fn one(field: &str, msg: impl Into<String>) -> FieldErrors {
    FieldErrors(vec![(field.to_owned(), msg.into())])
}

/// Checks the answers of one step. Empty when they are fine.
async fn check(
    s: &AppState,
    user: &WebUser,
    f: &WizardForm,
    step: u8,
) -> Result<FieldErrors, CoreError> {
    let mut errors = FieldErrors::default();
    let mut add = |e: CoreError| errors.0.extend(field_errors(e, &[]).0);
    match step {
        1 => {
            if f.app.trim().is_empty() {
                return Ok(one("app", "Choose an app."));
            }
            if chosen_app(s, user, f).await?.is_none() {
                return Ok(one("app", "Choose an app from the list."));
            }
        }
        2 => {
            match validate::text("label", &f.label, validate::MAX_LABEL) {
                Err(e) => add(e),
                Ok(label) => {
                    let key = validate::label_key(&label);
                    if s.svc
                        .hubs()
                        .list(&user.actor.permit()?)
                        .await?
                        .iter()
                        .any(|h| validate::label_key(&h.label) == key)
                    {
                        add(CoreError::invalid(
                            "label",
                            "a hub with this label already exists",
                        ));
                    }
                }
            }
            if let Err(e) = validate::opt_text(
                "organization_id",
                Some(&f.organization_id),
                validate::MAX_LABEL,
            ) {
                add(e);
            }
            let app = chosen_app(s, user, f).await?;
            let info = info_for(s, app.as_ref(), f);
            if let Err(e) = wizard_settings::check(info.as_ref(), &f.extra) {
                add(e);
            }
            if f.base_url.trim().is_empty() {
                if let Some(app) = app.filter(is_self_hosted) {
                    add(CoreError::invalid(
                        "base_url",
                        format!("give the address of your {} server", app.name),
                    ));
                }
            } else if let Err(e) = validate::http_url("base_url", f.base_url.trim()) {
                add(e);
            }
        }
        3 => {
            if f.user_management.parse::<UserManagement>().is_err() {
                add(CoreError::invalid(
                    "user_management",
                    "choose how the bot manages members",
                ));
            }
            if f.login_method.parse::<LoginMethod>().is_err() {
                add(CoreError::invalid(
                    "login_method",
                    "choose how the bot signs in",
                ));
            }
        }
        _ => {
            if f.automation_account_id == PLACEHOLDER {
                if let Err(e) = validate::text(
                    "placeholder_username",
                    &f.placeholder_username,
                    validate::MAX_USERNAME,
                ) {
                    add(e);
                }
            } else if f.automation_account_id.trim().is_empty() {
                add(CoreError::invalid(
                    "automation_account_id",
                    "choose the automation account, or create a placeholder account",
                ));
            } else if f.automation_account_id.parse::<AccountId>().is_err() {
                add(CoreError::invalid(
                    "automation_account_id",
                    "choose an account from the list",
                ));
            }
        }
    }
    Ok(errors)
}

/// `POST /hubs/new`: checks the submitted step (and the earlier ones), then shows the next step,
/// or, after the last one, connects the hub and goes to its page.
pub(in crate::web) async fn step(
    State(s): State<AppState>,
    user: WebUser,
    WebForm(f): WebForm<WizardForm>,
) -> WebResult {
    permissions::require(user.actor.role, Action::HubManage)?;
    let step: u8 = f.step.trim().parse().unwrap_or(1).clamp(1, 4);
    if f.go == "back" {
        let to = step.saturating_sub(1).max(1);
        return page(&s, &user, &f, to, FieldErrors::default(), StatusCode::OK).await;
    }
    for st in 1..=step {
        let errors = check(&s, &user, &f, st).await?;
        if !errors.0.is_empty() {
            return page(&s, &user, &f, st, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    }
    if step < 4 {
        return page(
            &s,
            &user,
            &f,
            step + 1,
            FieldErrors::default(),
            StatusCode::OK,
        )
        .await;
    }
    connect(&s, &user, &f).await
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A choice in its stored spelling (`API` → `api`); what does not parse is passed as typed,
/// for `connect_hub` to refuse by field.
fn canonical<T: std::str::FromStr + std::fmt::Display>(s: &str) -> Option<String> {
    opt(s).map(|v| v.parse::<T>().map_or(v, |t| t.to_string()))
}

/// Makes the placeholder account (with the typed password, or a generated one).
async fn new_placeholder(
    s: &AppState,
    user: &WebUser,
    f: &WizardForm,
) -> Result<Result<AccountId, FieldErrors>, CoreError> {
    let app = chosen_app(s, user, f)
        .await?
        .ok_or(CoreError::NotFound { kind: "app" })?;
    let vault_id = match opt(&f.vault_id) {
        None => None,
        Some(v) => match v.parse::<VaultId>() {
            Ok(v) => Some(v),
            Err(_) => return Ok(Err(one("vault_id", "Choose a vault from the list."))),
        },
    };
    let typed = !f.placeholder_password.is_empty();
    let input = AccountInput {
        label: format!("{} automation ({})", app.name, f.label.trim()),
        app: Some(app.id.to_string()),
        login_url: opt(&f.base_url),
        username: opt(&f.placeholder_username),
        password: typed.then(|| SecretString::from(f.placeholder_password.clone())),
        generate_password: !typed,
        vault_id,
        setup: Some(AccountSetup::Placeholder),
        notes: None,
        custom_fields: vec![],
        backup_codes: vec![],
    };
    match s.svc.accounts().create(&user.actor.permit()?, input).await {
        Ok(acc) => Ok(Ok(acc.id)),
        Err(e @ (CoreError::Validation { .. } | CoreError::Conflict(_))) => Ok(Err(field_errors(
            e,
            &[
                ("username", "placeholder_username"),
                ("password", "placeholder_password"),
                ("label", "placeholder_username"),
            ],
        ))),
        Err(e) => Err(e),
    }
}

/// The last step: connects the hub (making the placeholder account first when asked).
async fn connect(s: &AppState, user: &WebUser, f: &WizardForm) -> WebResult {
    let placeholder = f.automation_account_id == PLACEHOLDER;
    let account = if placeholder {
        match new_placeholder(s, user, f).await? {
            Ok(id) => id,
            Err(errors) => {
                return page(s, user, f, 4, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        }
    } else {
        match f.automation_account_id.parse() {
            Ok(id) => id,
            Err(_) => {
                let e = one("automation_account_id", "Choose an account from the list.");
                return page(s, user, f, 4, e, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        }
    };
    let over = chosen_app(s, user, f)
        .await?
        .and_then(|app| over_for(s, &app))
        .map(str::to_owned);
    let input = ConnectHub {
        connector: over,
        settings: wizard_settings::values(&f.extra),
        app: f.app.trim().to_owned(),
        label: f.label.clone(),
        organization_id: opt(&f.organization_id),
        base_url: opt(&f.base_url),
        user_management: canonical::<UserManagement>(&f.user_management),
        login_method: canonical::<LoginMethod>(&f.login_method),
        automation_account_id: Some(account),
        placeholder: None,
        safeguard_threshold: None,
        sync_interval_secs: None,
    };
    let err = match s.svc.hubs().connect(&user.actor.permit()?, input).await {
        Ok(hub) => return Ok(see_other(&format!("/hubs/{}?done=connected", hub.id))),
        Err(e) => e,
    };
    if placeholder {
        // The hub was not made: don't leave its new account behind.
        if let Err(e) = s
            .svc
            .accounts()
            .delete(&user.actor.permit()?, account)
            .await
        {
            tracing::warn!(error = %e, "could not delete the placeholder account of a failed connect");
        }
    }
    let errors = match err {
        e @ CoreError::Validation { .. } => field_errors(e, &[]),
        CoreError::Conflict(m) => one("label", super::sentence(&m)),
        e @ (CoreError::Forbidden(_) | CoreError::NotFound { .. }) => {
            let mut fe = field_errors(e, &[]);
            for (field, _) in &mut fe.0 {
                *field = "automation_account_id".into();
            }
            fe
        }
        e => return Err(e.into()),
    };
    let to = errors
        .0
        .iter()
        .map(|(field, _)| WizardForm::step_of(field))
        .min()
        .unwrap_or(4);
    // Fields the form does not show are reported at the top of their step.
    let shown = f.fields_of(to);
    let errors = FieldErrors(
        errors
            .0
            .into_iter()
            .map(|(field, m)| {
                if shown.iter().any(|(k, _)| *k == field)
                    || field == "placeholder_username"
                    || field.starts_with("settings.")
                {
                    (field, m)
                } else {
                    ("general".to_owned(), m)
                }
            })
            .collect(),
    );
    page(s, user, f, to, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[cfg(test)]
mod tests {
    use super::WizardForm;

    #[test]
    fn core_fields_map_to_their_step() {
        assert_eq!(WizardForm::step_of("app"), 1);
        assert_eq!(WizardForm::step_of("base_url"), 2);
        assert_eq!(WizardForm::step_of("login_method"), 3);
        assert_eq!(WizardForm::step_of("automation_account_id"), 4);
        assert_eq!(WizardForm::step_of("safeguard_threshold"), 4);
    }

    #[test]
    fn the_password_is_never_carried() {
        let f = WizardForm {
            placeholder_password: "s3cret".into(),
            ..Default::default()
        };
        for st in 1..=4 {
            assert!(f
                .fields_of(st)
                .iter()
                .all(|(k, _)| *k != "placeholder_password"));
        }
    }
}
