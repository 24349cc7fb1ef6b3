//! A hub may choose the browser connector its catalog app names (`browser_connector`) instead
//! of the API one, by name or with `user_management = browser`; no other connector, and no
//! `user_management` that contradicts the connector.

use castellan_core::error::CoreError;
use castellan_core::hub::UserManagement;
use castellan_testkit::{connect_input, FakeConnector, World};
use std::sync::Arc;

async fn connect(
    w: &World,
    app: &str,
    connector: Option<&str>,
    um: Option<&str>,
) -> Result<castellan_core::hub::Hub, CoreError> {
    let label = format!("{app} via {connector:?} {um:?}");
    let account = w.automation_account_for(app, &format!("{label} bot")).await;
    let mut input = connect_input(app, &label, account);
    input.connector = connector.map(Into::into);
    input.user_management = um.map(Into::into);
    w.svc
        .hubs()
        .connect(&w.owner.permit().unwrap(), input)
        .await
}

fn refused(r: Result<castellan_core::hub::Hub, CoreError>, on: &str, says: &str) {
    let err = r.unwrap_err();
    let CoreError::Validation { field, message } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(field, on, "{message}");
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn a_hub_chooses_the_apps_browser_connector_and_no_other() {
    let w = World::new().await;
    for name in ["wordpress", "wordpress_browser"] {
        w.registry
            .register(name, Arc::new(FakeConnector::new(name)));
    }
    // By name, or with user_management = browser: the browser connector, on the app's pages.
    for (connector, um) in [(Some("wordpress_browser"), None), (None, Some("browser"))] {
        let hub = connect(&w, "wordpress", connector, um)
            .await
            .expect("the browser connector drives WordPress");
        assert_eq!(hub.connector.as_deref(), Some("wordpress_browser"));
        assert_eq!(hub.user_management, UserManagement::Browser);
    }
    // The app's own: its API.
    let hub = connect(&w, "wordpress", None, None).await.unwrap();
    assert_eq!(
        (hub.connector, hub.user_management),
        (None, UserManagement::Api)
    );
    refused(
        connect(&w, "wordpress", Some("synapse"), None).await,
        "connector",
        "`wordpress_browser` (its pages in the browser bot)",
    );
    refused(
        connect(&w, "wordpress", Some("wordpress_browser"), Some("api")).await,
        "user_management",
        "on the app's web pages",
    );
    refused(
        connect(&w, "wordpress", Some("wordpress"), Some("browser")).await,
        "user_management",
        "through the app's API",
    );
    // An app with no browser connector cannot be managed on its pages yet.
    refused(
        connect(&w, castellan_testkit::APP, None, Some("browser")).await,
        "user_management",
        "no browser connector",
    );
}
