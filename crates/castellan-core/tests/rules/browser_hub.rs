//! A hub may choose the browser connector its catalog app names (`browser_connector`) instead
//! of the API one; no other connector.

use castellan_core::error::CoreError;
use castellan_testkit::{connect_input, FakeConnector, World};
use std::sync::Arc;

async fn connect(w: &World, connector: &str) -> Result<castellan_core::hub::Hub, CoreError> {
    let account = w
        .automation_account_for("wordpress", &format!("{connector} bot"))
        .await;
    let mut input = connect_input("wordpress", &format!("WordPress via {connector}"), account);
    input.connector = Some(connector.into());
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
