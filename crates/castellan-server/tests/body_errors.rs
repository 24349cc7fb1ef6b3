//! A body that is valid JSON but does not fit the schema is a 422 whose `errors` name the
//! field, nested ones by their path (RFC 9457 problem document with Castellan's `errors`).

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn schema_mismatches_name_the_field_by_its_path() {
    let app = TestApp::new().await;
    let owner = app.claim().await;
    let t = owner.token.as_str();
    let cases = [
        // A missing top-level field.
        (json!({ "username": "ann@example.com" }), "label"),
        // A wrong type at the top.
        (json!({ "label": 7 }), "label"),
        // A wrong type inside an array element: the path names the index.
        (
            json!({ "label": "L", "custom_fields": [
                { "name": "a", "value": "x" },
                { "name": "b", "value": "y", "secret": "yes" }
            ] }),
            "custom_fields[1].secret",
        ),
        // A missing field inside an element.
        (
            json!({ "label": "L", "custom_fields": [{ "value": "x" }] }),
            "custom_fields[0].name",
        ),
    ];
    for (body, field) in cases {
        let r = app.post("/api/v1/accounts", t, body.clone()).await;
        let leaf = field.rsplit('.').next().unwrap_or(field);
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, &[leaf]);
        assert_eq!(
            r.json()["errors"][0]["field"],
            json!(field),
            "{body}: {}",
            r.text()
        );
    }
}
