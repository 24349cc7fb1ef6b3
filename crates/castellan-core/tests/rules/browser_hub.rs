//! A hub may choose the browser connector its catalog app names (`browser_connector`) instead
//! of the API one; no other connector.

use castellan_core::error::CoreError;
use castellan_core::model::AccountSetup;
use castellan_core::service::{AccountInput, ConnectHub};
use castellan_testkit::{FakeConnector, World, BOT_PASSWORD};
use secrecy::SecretString;
use std::sync::Arc;

async fn connect(w: &World, connector: &str) -> Result<castellan_core::hub::Hub, CoreError> {
    let input = AccountInput {
        label: format!("{connector} bot"),
        app: Some("wordpress".into()),
        login_url: Some("https://blog.example/wp-login.php".into()),
        username: Some("castellan-bot".into()),
        password: Some(SecretString::from(BOT_PASSWORD.to_owned())),
        generate_password: false,
        vault_id: None,
        setup: Some(AccountSetup::Placeholder),
        notes: None,
        custom_fields: vec![],
        backup_codes: vec![],
    };
    let permit = w.owner.permit().unwrap();
    let account = w.svc.accounts().create(&permit, input).await.unwrap().id;
    let input = ConnectHub {
        connector: Some(connector.into()),
        settings: Default::default(),
        app: "wordpress".into(),
        label: format!("WordPress via {connector}"),
        organization_id: None,
        base_url: Some("https://blog.example".into()),
        user_management: None,
        login_method: None,
        automation_account_id: Some(account),
        placeholder: None,
        safeguard_threshold: None,
        sync_interval_secs: None,
    };
    w.svc
        .hubs()
        .connect(&w.owner.permit().unwrap(), input)
        .await
}

#[tokio::test]
async fn a_hub_chooses_the_apps_browser_connector_and_no_other() {
    let w = World::new().await;
    let browser = FakeConnector::new("wordpress_browser");
    w.registry.register("wordpress_browser", Arc::new(browser));
    let hub = connect(&w, "wordpress_browser")
        .await
        .expect("the browser connector drives WordPress");
    assert_eq!(hub.connector.as_deref(), Some("wordpress_browser"));
    let err = connect(&w, "synapse").await.unwrap_err();
    let CoreError::Validation { field, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "connector");
    assert!(
        message.contains("`wordpress_browser` (its pages in the browser bot)"),
        "{message}"
    );
}
