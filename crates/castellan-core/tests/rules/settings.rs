//! A hub's settings against its connector's settings schema (contract v2): connect refuses what
//! the schema does not allow, and the bot hands the connector the hub's settings and the
//! automation account's API token.

use castellan_core::connector::settings::{API_TOKEN, BASE_URL};
use castellan_core::connector::{SettingField, SettingKind, SignIn};
use castellan_core::error::CoreError;
use castellan_core::model::{AccountSetup, CustomField};
use castellan_core::service::{AccountInput, ConnectHub};
use castellan_testkit::{
    connect_input, FakeConnector, SeenContext, World, APP, BOT_PASSWORD, CONNECTOR,
};
use secrecy::SecretString;

/// A WordPress-like schema: base URL, an application password, a user to reassign content to.
fn token_app() -> FakeConnector {
    FakeConnector::new(CONNECTOR).with_schema(
        SignIn::UsernameAndToken,
        vec![
            SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true),
            SettingField::new(API_TOKEN, "Application password", SettingKind::Secret, true),
            SettingField::new(
                "reassign_to",
                "Reassign content to",
                SettingKind::Text,
                true,
            ),
            SettingField::new(
                "mode",
                "Removal",
                SettingKind::Choice(vec!["delete".into(), "demote".into()]),
                false,
            ),
        ],
    )
}

async fn account(
    w: &World,
    label: &str,
    token: Option<(&str, bool)>,
    password: bool,
) -> castellan_core::ids::AccountId {
    w.svc
        .accounts()
        .create(
            &w.owner.permit().unwrap(),
            AccountInput {
                label: label.into(),
                app: Some(APP.into()),
                login_url: Some("https://app.example/login".into()),
                username: Some("castellan-bot".into()),
                password: password.then(|| SecretString::from(BOT_PASSWORD.to_owned())),
                generate_password: false,
                vault_id: None,
                setup: Some(AccountSetup::Placeholder),
                notes: None,
                custom_fields: token
                    .map(|(v, secret)| CustomField {
                        name: API_TOKEN.into(),
                        value: Some(v.into()),
                        secret,
                    })
                    .into_iter()
                    .collect(),
                backup_codes: vec![],
            },
        )
        .await
        .expect("create the account")
        .id
}

async fn connect(
    w: &World,
    label: &str,
    account: castellan_core::ids::AccountId,
    settings: &[(&str, &str)],
) -> Result<castellan_core::hub::Hub, CoreError> {
    w.svc
        .hubs()
        .connect(
            &w.owner.permit().unwrap(),
            ConnectHub {
                settings: settings
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ..connect_input(APP, label, account)
            },
        )
        .await
}

fn field_of(e: &CoreError) -> String {
    match e {
        CoreError::Validation { field, message } => format!("{field}: {message}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn connect_checks_the_connectors_schema() {
    let w = World::with_app(token_app()).await;
    let good = account(&w, "Bot", Some(("s3cret-token", true)), true).await;

    let e = connect(&w, "A", good, &[]).await.unwrap_err();
    assert!(field_of(&e).starts_with("settings.reassign_to"), "{e:?}");
    let e = connect(&w, "A", good, &[("reassign_to", "1"), ("zone", "eu")])
        .await
        .unwrap_err();
    assert!(field_of(&e).starts_with("settings.zone"), "{e:?}");
    let e = connect(&w, "A", good, &[("reassign_to", "1"), ("mode", "archive")])
        .await
        .unwrap_err();
    assert!(field_of(&e).contains("one of delete, demote"), "{e:?}");
    let e = connect(&w, "A", good, &[("reassign_to", "1"), (API_TOKEN, "x")])
        .await
        .unwrap_err();
    assert!(
        field_of(&e).starts_with("settings.api_token"),
        "a secret is never a plain setting: {e:?}"
    );

    let no_token = account(&w, "No token", None, true).await;
    let e = connect(&w, "A", no_token, &[("reassign_to", "1")])
        .await
        .unwrap_err();
    assert!(field_of(&e).contains("secret custom field"), "{e:?}");
    let plain_token = account(&w, "Plain token", Some(("visible", false)), true).await;
    let e = connect(&w, "A", plain_token, &[("reassign_to", "1")])
        .await
        .unwrap_err();
    assert!(field_of(&e).contains("must be marked secret"), "{e:?}");

    assert!(w
        .svc
        .hubs()
        .list(&w.owner.permit().unwrap())
        .await
        .unwrap()
        .is_empty());
    let hub = connect(&w, "A", good, &[("reassign_to", "1"), ("mode", "demote")])
        .await
        .expect("a complete set connects");
    assert_eq!(
        hub.settings.get("reassign_to").map(String::as_str),
        Some("1")
    );
}

#[tokio::test]
async fn the_bot_hands_the_connector_the_token_and_the_settings() {
    let w = World::with_app(token_app()).await;
    // A token-only account: no password stored, so the bot signs in with an empty one (the
    // fake checks the username and password it is given).
    w.app.set_credentials("castellan-bot", "");
    let acc = account(&w, "Bot", Some(("s3cret-token", true)), false).await;
    let hub = connect(&w, "A", acc, &[("reassign_to", "editor")])
        .await
        .expect("a token account needs no password");
    w.drain().await;
    let seen = w.app.seen_context().expect("the bot signed in");
    assert_eq!(
        seen,
        SeenContext {
            api_token: Some("s3cret-token".into()),
            settings: [("reassign_to".to_owned(), "editor".to_owned())].into(),
        }
    );
    assert_eq!(w.hub(hub.id).await.status.as_str(), "healthy");
}

#[tokio::test]
async fn a_password_connector_still_needs_a_password() {
    let w = World::new().await;
    let acc = account(&w, "Bot", Some(("tok", true)), false).await;
    let e = connect(&w, "A", acc, &[]).await.unwrap_err();
    assert!(field_of(&e).contains("no password"), "{e:?}");
}

/// `sign_in_with=emailed_link` sets a new password at every sign-in: refused for an account
/// that is not a placeholder (a person's password would be lost), taken for a placeholder,
/// which then needs no stored password.
#[tokio::test]
async fn an_emailed_link_sign_in_is_for_placeholder_accounts_only() {
    let how = SettingKind::Choice(vec!["password".into(), "emailed_link".into()]);
    let schema = vec![
        SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true),
        SettingField::new("sign_in_with", "How the bot signs in", how, false),
    ];
    let w =
        World::with_app(FakeConnector::new(CONNECTOR).with_schema(SignIn::Password, schema)).await;
    let person = w
        .svc
        .accounts()
        .create(
            &w.owner.permit().unwrap(),
            AccountInput {
                label: "Ana's own".into(),
                app: Some(APP.into()),
                login_url: Some("https://app.example/login".into()),
                username: Some("ana".into()),
                password: Some(SecretString::from(BOT_PASSWORD.to_owned())),
                generate_password: false,
                vault_id: None,
                setup: Some(AccountSetup::Individual),
                notes: None,
                custom_fields: vec![],
                backup_codes: vec![],
            },
        )
        .await
        .unwrap()
        .id;
    let link = [("sign_in_with", "Emailed_Link")];
    let e = connect(&w, "By link", person, &link).await.unwrap_err();
    assert!(field_of(&e).starts_with("settings.sign_in_with"), "{e:?}");
    connect(&w, "By password", person, &[("sign_in_with", "password")])
        .await
        .expect("a person's account signs in with its password");

    let ghost = account(&w, "Ghost", None, false).await;
    let e = connect(&w, "Ghost by password", ghost, &[])
        .await
        .unwrap_err();
    assert!(field_of(&e).contains("no password stored"), "{e:?}");
    connect(&w, "Ghost by link", ghost, &link)
        .await
        .expect("a placeholder with no password signs in with the link");
}
