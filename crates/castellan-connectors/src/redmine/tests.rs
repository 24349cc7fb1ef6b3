//! Unit tests of the Redmine connector's pure parts.

use castellan_core::connector::{AppSession, ConnectorError, MemberState};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::html;
use super::model::{derive_login, session_user, split_name, Cursor, RedmineUser, SessionToken};
use super::rest::{map_error, Call};
use super::web_sign_in::{uri_secret, TotpSetup};
use super::{LOGIN_MAX, NAME_MAX};
use crate::sdk::paging::AnchoredOffset;
use crate::sdk::Reply;

fn reply(status: u16, text: &str, location: Option<&str>) -> Reply {
    Reply::new(status, text, location, "http://h/redmine")
}

#[test]
fn pages_are_read() {
    let login = r#"<meta name="csrf-param" content="authenticity_token" />
<meta name="csrf-token" content="aVeo+/w==" />
<form action="/login"><input type="hidden" name="authenticity_token" value="U5d4&amp;x" />
<input type="password" name="password" id="password" />"#;
    assert_eq!(html::csrf_token(login).as_deref(), Some("aVeo+/w=="));
    assert_eq!(
        html::csrf_token(r#"<input type="hidden" name="authenticity_token" value="U5&amp;x" />"#)
            .as_deref(),
        Some("U5&x")
    );
    assert!(html::has_field(login, "password"));
    assert!(!html::has_field(login, "twofa_code"));
    assert_eq!(
        html::flash_error(
            r#"<div class="flash error" id="flash_error">Invalid user or password</div>"#
        )
        .as_deref(),
        Some("Invalid user or password")
    );
    assert_eq!(html::flash_error("<p>fine</p>"), None);
    assert_eq!(
        html::api_key("<div class=\"box\">\n  <pre>a936fd920294cad8fafe0540a4af2fb95dc105f3</pre>")
            .as_deref(),
        Some("a936fd920294cad8fafe0540a4af2fb95dc105f3")
    );
    let pairing =
        "<label>Plain text key</label>\n  <code>CS3O IO4L TYCQ ZPZL M62R 5DD5 2NRF HKD4</code>";
    assert_eq!(
        html::totp_key(pairing).as_deref(),
        Some("CS3OIO4LTYCQZPZLM62R5DD52NRFHKD4")
    );
    assert_eq!(html::totp_key("<code>let x = 1;</code>"), None);
    assert_eq!(
        html::qr_png(r#"<img id="twofa_code" src="data:image/png;base64,iVBORw0KGgo=" />"#),
        Some(vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a])
    );
}

#[test]
fn errors_map_to_the_contract() {
    let r = reply(403, "", None);
    assert_eq!(
        map_error(&r, Call::Api, "list users"),
        ConnectorError::InsufficientPermission("the account is not a Redmine administrator".into())
    );
    let r = reply(422, r#"{"errors":["Login has already been taken"]}"#, None);
    assert!(matches!(
        map_error(&r, Call::Api, "create a user"),
        ConnectorError::Conflict(_)
    ));
    let r = reply(422, r#"{"errors":["Email is invalid"]}"#, None);
    assert_eq!(
        map_error(&r, Call::Api, "create a user"),
        ConnectorError::Configuration("Redmine refused to create a user: Email is invalid".into())
    );
    assert!(map_error(&reply(422, "<html>", None), Call::Web, "log in").is_retryable());
    assert!(map_error(&reply(503, "", None), Call::Api, "x").is_retryable());
    assert!(matches!(
        map_error(&reply(429, "", None), Call::Api, "x"),
        ConnectorError::RateLimited { .. }
    ));
    assert!(matches!(
        map_error(&reply(401, "", None), Call::Api, "x"),
        ConnectorError::BadCredentials(_)
    ));
    assert!(matches!(
        map_error(&reply(404, "", None), Call::Api, "x"),
        ConnectorError::NotFound(_)
    ));
    assert!(matches!(
        map_error(&reply(404, "", None), Call::Web, "x"),
        ConnectorError::Configuration(_)
    ));
    assert!(matches!(
        map_error(&reply(301, "", Some("https://h/")), Call::Api, "x"),
        ConnectorError::Configuration(_)
    ));
}

#[test]
fn cursors_round_trip() {
    for c in [
        Cursor::start(2),
        Cursor {
            status: 1,
            at: AnchoredOffset::after(99, 1, "ana.lopez@x"),
        },
    ] {
        assert_eq!(Cursor::parse(&c.encode()).unwrap(), c);
    }
    assert_eq!(Cursor::start(2).encode(), "2:0");
    for bad in ["", "x", "4:0", "1:x", "1:0:a", "1:5:", "0:1"] {
        assert!(Cursor::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn logins_and_names_are_derived() {
    assert_eq!(derive_login("Ana.Lopez+x").unwrap(), "ana.lopez_x");
    assert_eq!(derive_login("zoë@h").unwrap(), "zo_@h");
    assert_eq!(derive_login(&"a".repeat(80)).unwrap().len(), LOGIN_MAX);
    assert!(derive_login(" ").is_err());
    assert_eq!(
        split_name(Some("Ana María López"), "x@y"),
        ("Ana María".into(), "López".into())
    );
    assert_eq!(split_name(Some("Cher"), "x@y"), ("Cher".into(), "-".into()));
    assert_eq!(
        split_name(None, "ana.lopez@x.org"),
        ("Ana".into(), "Lopez".into())
    );
    assert_eq!(split_name(None, "bob@x.org"), ("Bob".into(), "-".into()));
    assert_eq!(split_name(Some(&"x".repeat(40)), "a@b").0.len(), NAME_MAX);
}

#[test]
fn users_are_read() {
    let u = RedmineUser::from_json(
        &json!({"id": 7, "login": "ana", "admin": true, "firstname": "Ana", "lastname": "L",
                "mail": "Ana@X.org", "status": 3}),
        None,
    )
    .unwrap();
    assert_eq!(u.member.app_member_id, "7");
    assert_eq!(u.member.email.as_deref(), Some("ana@x.org"));
    assert_eq!(u.member.name.as_deref(), Some("Ana L"));
    assert_eq!(u.member.roles, ["admin"]);
    assert_eq!(u.member.state, MemberState::Deactivated);
    let u =
        RedmineUser::from_json(&json!({"id": 8, "login": "b", "admin": false}), Some(2)).unwrap();
    assert_eq!(
        (u.member.roles[0].as_str(), u.member.state),
        ("user", MemberState::Invited)
    );
    assert!(RedmineUser::from_json(&json!({"login": "x"}), None).is_none());
}

#[test]
fn session_tokens_round_trip_and_are_redacted() {
    let t = SessionToken {
        api_key: SecretString::from("k".repeat(40)),
        cookie: SecretString::from("Redmine=abc".to_owned()),
    };
    let s = AppSession {
        token: t.encode(),
        data: json!({"user_id": 5}),
    };
    assert!(!format!("{s:?}").contains("kkkk"));
    let back = SessionToken::parse(&s).unwrap();
    assert_eq!(back.api_key.expose_secret(), "k".repeat(40));
    assert_eq!(back.cookie.expose_secret(), "Redmine=abc");
    assert_eq!(session_user(&s), Some(5));
    let other = AppSession {
        token: SecretString::from("syt_x".to_owned()),
        data: json!({}),
    };
    assert!(matches!(
        SessionToken::parse(&other),
        Err(ConnectorError::Configuration(_))
    ));
}

#[test]
fn otpauth_secrets_are_read() {
    assert_eq!(
        uri_secret("otpauth://totp/h:bot?secret=abcd2345&issuer=h").as_deref(),
        Some("ABCD2345")
    );
    assert_eq!(uri_secret("otpauth://totp/h:bot?issuer=h"), None);
}

#[test]
fn totp_setup_debug_is_redacted() {
    let s = TotpSetup {
        secret: SecretString::from("JBSWY3DPEHPK3PXP".to_owned()),
        otpauth_uri: Some(SecretString::from(
            "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP".to_owned(),
        )),
    };
    assert!(!format!("{s:?}").contains("JBSW"));
}
