//! A SCIM User's JSON (RFC 7643 §4.1) and what Castellan keeps of it: reading a body into an
//! [`IdpPerson`], a person's `emails` as written (RFC 7643 §4.1.2), and the checks that keep a
//! PATCH from answering 200 while dropping a change (attributes not kept, name parts alone,
//! blank names). Pure functions over JSON; the handlers are in [`super::users`].

use castellan_core::model::{IdpEmail, Person};
use castellan_core::service::IdpPerson;
use castellan_core::validate;
use serde_json::{json, Value};

use super::{ScimError, ScimResult};

/// A member of a JSON object by name, case-insensitively (RFC 7643 §2.1).
pub(super) fn get_ci<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// A string attribute: absent or null is `None`; another type is 400 `invalidValue`.
pub(super) fn string_at(v: &Value, path: &[&str]) -> ScimResult<Option<String>> {
    let mut cur = v;
    for (i, name) in path.iter().enumerate() {
        match get_ci(cur, name) {
            None => return Ok(None),
            Some(x) if i + 1 == path.len() => {
                return match x {
                    Value::String(s) if s.trim().is_empty() => Ok(None),
                    Value::String(s) => Ok(Some(s.trim().to_owned())),
                    _ => Err(ScimError::bad(
                        "invalidValue",
                        format!("`{}` must be a string", path.join(".")),
                    )),
                }
            }
            Some(x) if x.is_object() => cur = x,
            Some(_) => {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("`{}` must be an object", path[..=i].join(".")),
                ))
            }
        }
    }
    Ok(None)
}

/// The name candidates of a User, strongest first: `name.formatted`, `name.givenName` with
/// `name.familyName` (with `both_parts`, only when both are there), `displayName`.
pub(super) fn name_candidates(v: &Value, both_parts: bool) -> ScimResult<[Option<String>; 3]> {
    let given = string_at(v, &["name", "givenName"])?;
    let family = string_at(v, &["name", "familyName"])?;
    let joined = match (given, family) {
        (None, None) => None,
        (Some(_), None) | (None, Some(_)) if both_parts => None,
        (g, f) => Some([g, f].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    };
    Ok([
        string_at(v, &["name", "formatted"])?,
        joined,
        string_at(v, &["displayName"])?,
    ])
}

/// Reads a User body into what Castellan keeps. `before` is the resource before a PATCH: the
/// name then comes from the candidate that changed. `active` absent is `None` (the person's
/// state is kept). `emails` are kept as written ([`emails`]); the person's email is the one of
/// them [`main_email`] names, else the `userName` when it is an address.
/// A `password` (Okta sends one on create when password sync is on) is never read: people set
/// their own when they accept their invitation (`changePassword` is not supported).
/// Errors: 400 `invalidValue` for a missing `userName`, no email at all, or ill-typed
/// attributes.
pub(super) fn from_scim(v: &Value, before: Option<&Value>) -> ScimResult<IdpPerson> {
    if !v.is_object() {
        return Err(ScimError::bad("invalidSyntax", "a User is a JSON object"));
    }
    let user_name = string_at(v, &["userName"])?
        .ok_or_else(|| ScimError::bad("invalidValue", "`userName` is required"))?;
    let list = emails(v)?;
    let email = match main_email(&list) {
        Some(e) => e.value.clone(),
        None if validate::email("userName", &user_name).is_ok() => user_name.clone(),
        None => {
            return Err(ScimError::bad(
                "invalidValue",
                format!(
                    "the userName `{}` is not an email address: send the person's email in \
                     `emails` (a `work` or primary value)",
                    validate::clip(&user_name)
                ),
            ))
        }
    };
    // After a PATCH, one part alone does not make the name: the other may be unknown (a person
    // invited in Castellan has a name but no parts), and "Garcia" would replace "Maria Garcia".
    let now = name_candidates(v, before.is_some())?;
    let name = match before {
        Some(b) => {
            let was = name_candidates(b, true)?;
            let (formatted, display) = (&now[0], &now[2]);
            if formatted != &was[0] && display != &was[2] && formatted != display {
                return Err(ScimError::bad(
                    "invalidValue",
                    "`name.formatted` and `displayName` changed to different values: Castellan \
                     keeps one display name",
                ));
            }
            now.iter()
                .zip(was.iter())
                .find(|(n, w)| n.is_some() && n != w)
                .and_then(|(n, _)| n.clone())
                .or_else(|| now.iter().flatten().next().cloned())
        }
        None => now.iter().flatten().next().cloned(),
    }
    .unwrap_or_else(|| email.clone());
    let active = match get_ci(v, "active") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
        Some(_) => return Err(ScimError::bad("invalidValue", "`active` must be a boolean")),
    };
    Ok(IdpPerson {
        emails: kept_emails(list, &email),
        user_name,
        email,
        name,
        given_name: string_at(v, &["name", "givenName"])?,
        family_name: string_at(v, &["name", "familyName"])?,
        external_id: string_at(v, &["externalId"])?,
        active,
    })
}

/// The sub-attributes of an `emails` value (RFC 7643 §4.1.2) that Castellan keeps.
const KEPT_EMAIL: &[&str] = &["value", "type", "primary", "display"];

/// A User's `emails` (RFC 7643 §4.1.2) as written: each value's `value` (trimmed), `type`,
/// `primary` and `display`; empty without `emails`. Other sub-attributes are not read (a PATCH
/// that sets one is refused by [`refuse_unkept_changes`]). `primary` is a boolean, or the
/// string `"true"` or `"false"` in any case (Entra ID's habit). Errors: 400 `invalidValue` when
/// `emails` is not a list of objects with a string `value`, a sub-attribute has another type,
/// or more than one value is primary (RFC 7643 §2.4).
pub(super) fn emails(v: &Value) -> ScimResult<Vec<IdpEmail>> {
    let Some(emails) = get_ci(v, "emails") else {
        return Ok(Vec::new());
    };
    let bad = |what: &str| {
        ScimError::bad(
            "invalidValue",
            format!("`emails` must be a list of {{\"value\": \"…\"}}: {what}"),
        )
    };
    let list = emails.as_array().ok_or_else(|| bad("not a list"))?;
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        let value = match get_ci(e, "value") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => return Err(bad("each value needs a `value` address")),
        };
        let text = |k: &str| match get_ci(e, k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(&format!("`{k}` must be a string"))),
        };
        let primary = match get_ci(e, "primary") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            Some(_) => return Err(bad("`primary` must be a boolean")),
        };
        out.push(IdpEmail {
            value,
            kind: text("type")?,
            primary,
            display: text("display")?,
        });
    }
    if out.iter().filter(|e| e.primary == Some(true)).count() > 1 {
        return Err(ScimError::bad(
            "invalidValue",
            "at most one of `emails` may be primary (RFC 7643 §2.4)",
        ));
    }
    Ok(out)
}

/// The index of the person's email among `emails`: the one marked primary, else the first of
/// type `work`, else the first; `None` when there are none.
fn main_index(emails: &[IdpEmail]) -> Option<usize> {
    let work = |e: &IdpEmail| {
        e.kind
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("work"))
    };
    emails
        .iter()
        .position(|e| e.primary == Some(true))
        .or_else(|| emails.iter().position(work))
        .or_else(|| (!emails.is_empty()).then_some(0))
}

/// The person's email among `emails` (see [`main_index`]).
pub(super) fn main_email(emails: &[IdpEmail]) -> Option<&IdpEmail> {
    main_index(emails).map(|i| &emails[i])
}

/// The address of a User's main `emails` value ([`main_email`]); `None` without `emails`.
/// Errors as for [`emails`].
pub(super) fn primary_email(v: &Value) -> ScimResult<Option<String>> {
    Ok(main_email(&emails(v)?).map(|e| e.value.clone()))
}

/// What SCIM shows for a person with no addresses kept: their email, as the one `work` and
/// primary address.
fn default_emails(email: &str) -> Vec<IdpEmail> {
    vec![IdpEmail {
        value: email.to_owned(),
        kind: Some("work".into()),
        primary: Some(true),
        display: None,
    }]
}

/// The addresses to keep for a person whose email is `email`: none when `emails` only says
/// what SCIM shows anyway ([`default_emails`]), so a person made in Castellan gains no copy of
/// their email by a PATCH that leaves `emails` alone; else `emails` as written.
fn kept_emails(emails: Vec<IdpEmail>, email: &str) -> Vec<IdpEmail> {
    if emails == default_emails(&validate::email_key(email)) {
        Vec::new()
    } else {
        emails
    }
}

/// A person's `emails` as SCIM shows them (RFC 7643 §4.1.2): the addresses the identity
/// provider gave, as written, with their `type`, `primary` and `display` as sent (absent ones
/// left out); with none kept (a person made in Castellan, or one the IdP gave only their
/// email), their email as the one `work` and primary address.
pub(super) fn scim_emails(p: &Person) -> Value {
    let kept = p
        .idp_emails
        .iter()
        .any(|e| validate::email_key(&e.value) == p.email);
    let list = if kept {
        p.idp_emails.clone()
    } else {
        default_emails(&p.email)
    };
    Value::Array(list.iter().map(email_json).collect())
}

/// One `emails` value as SCIM JSON.
fn email_json(e: &IdpEmail) -> Value {
    let mut v = json!({ "value": e.value });
    if let Some(t) = &e.kind {
        v["type"] = t.clone().into();
    }
    if let Some(p) = e.primary {
        v["primary"] = p.into();
    }
    if let Some(d) = &e.display {
        v["display"] = d.clone().into();
    }
    v
}

/// The attributes of a User that Castellan keeps (RFC 7643 §4.1 names; `name` only its
/// `formatted`, `givenName` and `familyName`), and those the server sets.
const KEPT: &[&str] = &[
    "schemas",
    "id",
    "meta",
    "externalId",
    "userName",
    "name",
    "displayName",
    "active",
    "emails",
];
const KEPT_NAME: &[&str] = &["formatted", "givenName", "familyName"];

/// Refuses a PATCH that changes what Castellan does not keep (so nothing is dropped silently):
/// 400 `invalidPath` naming the attribute, `name.*` part or `emails.*` sub-attribute; and one
/// that removes a required attribute (every email, the name, `active`): 400 `mutability`.
pub(super) fn refuse_unkept_changes(before: &Value, after: &Value) -> ScimResult<()> {
    let keys = |v: &Value| -> Vec<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let unkept = |what: &str| {
        ScimError::bad(
            "invalidPath",
            format!(
                "Castellan does not keep `{what}`: it keeps userName, name (formatted, \
                 givenName, familyName), displayName, emails (value, type, primary, display), \
                 externalId and active; remove this attribute from the identity provider's \
                 mapping"
            ),
        )
    };
    for k in keys(before).into_iter().chain(keys(after)) {
        if k.eq_ignore_ascii_case("password") {
            if get_ci(after, &k).is_some() {
                return Err(ScimError::bad(
                    "mutability",
                    "Castellan does not take passwords from the identity provider \
                     (changePassword is not supported): people set their own",
                ));
            }
            continue;
        }
        if KEPT.iter().any(|x| x.eq_ignore_ascii_case(&k)) {
            continue;
        }
        if get_ci(before, &k) != get_ci(after, &k) {
            return Err(unkept(&k));
        }
    }
    let (nb, na) = (get_ci(before, "name"), get_ci(after, "name"));
    for k in nb.into_iter().chain(na).flat_map(keys) {
        if !KEPT_NAME.iter().any(|x| x.eq_ignore_ascii_case(&k))
            && nb.and_then(|n| get_ci(n, &k)) != na.and_then(|n| get_ci(n, &k))
        {
            return Err(unkept(&format!("name.{k}")));
        }
    }
    let (eb, ea) = (get_ci(before, "emails"), get_ci(after, "emails"));
    if eb != ea {
        let values = ea.and_then(Value::as_array).into_iter().flatten();
        for k in values.filter_map(Value::as_object).flat_map(|o| o.keys()) {
            if !KEPT_EMAIL.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                return Err(unkept(&format!("emails.{k}")));
            }
        }
    }
    for (what, b, a) in [
        (
            "displayName",
            get_ci(before, "displayName"),
            get_ci(after, "displayName"),
        ),
        ("name", get_ci(before, "name"), get_ci(after, "name")),
        ("active", get_ci(before, "active"), get_ci(after, "active")),
        (
            "name.formatted",
            nb.and_then(|n| get_ci(n, "formatted")),
            na.and_then(|n| get_ci(n, "formatted")),
        ),
    ] {
        if b.is_some() && a.is_none() {
            return Err(ScimError::bad(
                "mutability",
                format!("`{what}` is required: it cannot be removed (replace it)"),
            ));
        }
    }
    if get_ci(before, "emails").is_some() && get_ci(after, "emails").is_none() {
        return Err(ScimError::bad(
            "mutability",
            "every person keeps an email (their userName): `emails` cannot be removed",
        ));
    }
    Ok(())
}

/// Refuses a name attribute set to blank text (400 `invalidValue`): every person keeps a name.
pub(super) fn refuse_blank_names(v: &Value) -> ScimResult<()> {
    let name = get_ci(v, "name");
    let part = |k: &str| name.and_then(|n| get_ci(n, k));
    for (what, x) in [
        ("displayName", get_ci(v, "displayName")),
        ("name.formatted", part("formatted")),
        ("name.givenName", part("givenName")),
        ("name.familyName", part("familyName")),
    ] {
        if matches!(x, Some(Value::String(t)) if t.trim().is_empty()) {
            return Err(ScimError::bad(
                "invalidValue",
                format!("`{what}` must not be blank: every person keeps a name"),
            ));
        }
    }
    Ok(())
}

/// Keeps `userName` and the person's email ([`main_email`]) one address after a PATCH that
/// changed one of them, when they were one before: the other follows (Okta changes `userName`:
/// that `emails` value takes it, lowercased as Castellan keeps a userName, with its `type`,
/// `primary` and `display` kept; Entra ID, mapping the mail to both, replaces
/// `emails[type eq "work"].value`). A userName apart from the email (Entra's UPN) moves alone.
/// Errors as for [`emails`].
pub(super) fn follow_email_change(before: &Value, after: &mut Value) -> ScimResult<()> {
    let user_name = |v: &Value| string_at(v, &["userName"]);
    let (ub, ua) = (user_name(before)?, user_name(after)?);
    let (eb, ea) = (primary_email(before)?, primary_email(after)?);
    let together = match (&ub, &eb) {
        (Some(u), Some(e)) => u.eq_ignore_ascii_case(e),
        _ => false,
    };
    let mut list = emails(after)?;
    let Some(obj) = after.as_object_mut().filter(|_| together) else {
        return Ok(());
    };
    if ua != ub && ea == eb {
        if let Some(u) = ua {
            let u = validate::email_key(&u);
            match main_index(&list) {
                Some(i) => list[i].value = u,
                None => list = default_emails(&u),
            }
            obj.retain(|k, _| !k.eq_ignore_ascii_case("emails"));
            obj.insert(
                "emails".into(),
                Value::Array(list.iter().map(email_json).collect()),
            );
        }
    } else if ea != eb && ua == ub {
        if let Some(e) = ea {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("userName"));
            obj.insert("userName".into(), e.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::query::project;

    #[test]
    fn names_come_from_the_strongest_candidate() {
        let v = json!({"userName": "Ana@Example.com", "name": {"givenName": "Ana", "familyName": "Lima"}, "displayName": "A"});
        let p = from_scim(&v, None).unwrap();
        assert_eq!(p.email, "Ana@Example.com", "core lowercases it");
        assert_eq!(p.name, "Ana Lima");
        let v = json!({"userName": "b@example.com"});
        assert_eq!(from_scim(&v, None).unwrap().name, "b@example.com");
    }

    #[test]
    fn a_patched_display_name_wins_over_an_unchanged_formatted_name() {
        let before =
            json!({"userName": "a@x.io", "name": {"formatted": "Old"}, "displayName": "Old"});
        let after =
            json!({"userName": "a@x.io", "name": {"formatted": "Old"}, "displayName": "New"});
        assert_eq!(from_scim(&after, Some(&before)).unwrap().name, "New");
    }

    #[test]
    fn active_reads_booleans_and_their_strings_and_absent_keeps_the_state() {
        let v = json!({"userName": "a@x.io", "active": "False"});
        assert_eq!(from_scim(&v, None).unwrap().active, Some(false));
        let v = json!({"userName": "a@x.io", "active": 3});
        assert!(from_scim(&v, None).is_err());
        let v = json!({"userName": "a@x.io"});
        assert_eq!(from_scim(&v, None).unwrap().active, None);
    }

    #[test]
    fn user_name_is_required() {
        assert!(from_scim(&json!({"name": {"formatted": "X"}}), None).is_err());
    }

    #[test]
    fn a_password_is_refused_and_the_email_comes_from_emails_else_user_name() {
        let p = from_scim(&json!({"userName": "a@x.io", "password": "p"}), None).unwrap();
        assert_eq!(p.email, "a@x.io", "a password is not read");
        let v = json!({"userName": "UPN@corp.example", "emails": [{"value": "b@x.io", "primary": true}]});
        let p = from_scim(&v, None).unwrap();
        assert_eq!(
            (p.user_name.as_str(), p.email.as_str()),
            ("UPN@corp.example", "b@x.io")
        );
        let v = json!({"userName": "a@x.io"});
        assert_eq!(from_scim(&v, None).unwrap().email, "a@x.io");
        let v = json!({"userName": "Test_User_1"});
        assert_eq!(
            from_scim(&v, None).unwrap_err().scim_type(),
            Some("invalidValue")
        );
    }

    #[test]
    fn changes_to_attributes_not_kept_are_refused_by_name() {
        let before = json!({"userName": "a@x.io", "name": {"formatted": "A"}, "emails": []});
        let mut after = before.clone();
        after["title"] = "CTO".into();
        let e = refuse_unkept_changes(&before, &after).unwrap_err();
        assert!(e.detail().contains("`title`"), "{}", e.detail());
        let mut after = before.clone();
        after["name"]["middleName"] = "B".into();
        assert!(refuse_unkept_changes(&before, &after)
            .unwrap_err()
            .detail()
            .contains("name.middleName"));
        let mut after = before.clone();
        after.as_object_mut().unwrap().remove("emails");
        assert_eq!(
            refuse_unkept_changes(&before, &after)
                .unwrap_err()
                .scim_type(),
            Some("mutability")
        );
        let mut after = before.clone();
        after["displayName"] = "New".into();
        assert!(refuse_unkept_changes(&before, &after).is_ok());
    }

    #[test]
    fn user_name_and_primary_email_follow_each_other() {
        let before = json!({"userName": "a@x.io", "emails": [{"value": "a@x.io", "type": "work", "primary": true}]});
        let mut after = before.clone();
        after["userName"] = "b@x.io".into();
        follow_email_change(&before, &mut after).unwrap();
        assert_eq!(primary_email(&after).unwrap().as_deref(), Some("b@x.io"));
        let mut after = before.clone();
        after["emails"][0]["value"] = "c@x.io".into();
        follow_email_change(&before, &mut after).unwrap();
        assert_eq!(after["userName"], "c@x.io");
        // Other addresses and the sub-attributes stay; the one that was the userName moves.
        let before = json!({"userName": "a@x.io", "emails": [{"value": "h@x.io", "type": "home"},
            {"value": "a@x.io", "type": "work", "display": "Ana"}]});
        let mut after = before.clone();
        after["userName"] = "B@x.io".into();
        follow_email_change(&before, &mut after).unwrap();
        assert_eq!(
            after["emails"],
            json!([{"value": "h@x.io", "type": "home"}, {"value": "b@x.io", "type": "work", "display": "Ana"}])
        );
    }

    #[test]
    fn blank_names_and_unkept_email_parts_are_refused_other_addresses_kept() {
        let before = json!({"userName": "a@x.io", "name": {"formatted": "Ana Lima"}, "displayName": "Ana Lima",
            "emails": [{"value": "a@x.io", "type": "work", "primary": true}]});
        let mut blank = before.clone();
        blank["displayName"] = " ".into();
        assert!(refuse_blank_names(&blank).is_err());
        let mut other = before.clone();
        other["emails"]
            .as_array_mut()
            .unwrap()
            .push(json!({"value": "b@x.io", "type": "home", "display": "Home"}));
        assert!(refuse_unkept_changes(&before, &other).is_ok());
        let p = from_scim(&other, Some(&before)).unwrap();
        assert_eq!(p.email, "a@x.io", "the primary one stays the email");
        assert_eq!(p.emails.len(), 2);
        assert_eq!(p.emails[1].display.as_deref(), Some("Home"));
        let mut odd = before.clone();
        odd["emails"][0]["verified"] = true.into();
        let e = refuse_unkept_changes(&before, &odd).unwrap_err();
        assert_eq!(e.scim_type(), Some("invalidPath"));
        assert!(e.detail().contains("`emails.verified`"), "{}", e.detail());
    }

    #[test]
    fn emails_are_read_as_written_and_the_email_is_primary_else_work_else_first() {
        let v = json!({"userName": "u@x.io", "emails": [
            {"value": " h@x.io ", "type": "home"},
            {"value": "W@x.io", "type": "work", "display": "Work"},
        ]});
        let list = emails(&v).unwrap();
        assert_eq!(list[0].value, "h@x.io", "trimmed");
        assert_eq!(list[0].primary, None, "absent stays absent");
        assert_eq!(
            main_email(&list).unwrap().value,
            "W@x.io",
            "work without a primary"
        );
        let p = from_scim(&v, None).unwrap();
        assert_eq!((p.email.as_str(), p.emails.len()), ("W@x.io", 2));
        let v = json!({"userName": "u@x.io", "emails": [
            {"value": "a@x.io", "type": "other"}, {"value": "b@x.io", "primary": "True"}]});
        assert_eq!(primary_email(&v).unwrap().as_deref(), Some("b@x.io"));
        assert_eq!(emails(&v).unwrap()[1].primary, Some(true));
        let v = json!({"userName": "u@x.io", "emails": [{"value": "a@x.io"}, {"value": "b@x.io"}]});
        assert_eq!(
            primary_email(&v).unwrap().as_deref(),
            Some("a@x.io"),
            "the first"
        );
        let two = json!({"userName": "u@x.io", "emails": [
            {"value": "a@x.io", "primary": true}, {"value": "b@x.io", "primary": true}]});
        assert_eq!(emails(&two).unwrap_err().scim_type(), Some("invalidValue"));
        for bad in [
            json!("a@x.io"),
            json!([{"type": "work"}]),
            json!([{"value": "a@x.io", "primary": 1}]),
        ] {
            let v = json!({"userName": "u@x.io", "emails": bad});
            assert_eq!(
                emails(&v).unwrap_err().scim_type(),
                Some("invalidValue"),
                "{v}"
            );
        }
        // Only what SCIM shows anyway (the email, `work`, primary) is not kept as a copy.
        let v = json!({"userName": "a@x.io", "emails": [{"value": "a@x.io", "type": "work", "primary": true}]});
        assert!(from_scim(&v, None).unwrap().emails.is_empty());
        let v = json!({"userName": "a@x.io", "emails": [{"value": "A@x.io", "type": "work", "primary": true}]});
        assert_eq!(
            from_scim(&v, None).unwrap().emails.len(),
            1,
            "its case is kept"
        );
    }

    #[test]
    fn a_person_shows_the_emails_kept_else_their_email_as_work_and_primary() {
        let mut p: Person = serde_json::from_value(json!({
            "id": "0190a1b2-0000-7000-8000-000000000001", "email": "a@x.io", "name": "A",
            "role": "user", "status": "active", "external_id": null,
            "created_at": "2024-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(
            scim_emails(&p),
            json!([{"value": "a@x.io", "type": "work", "primary": true}])
        );
        p.idp_emails = vec![
            IdpEmail {
                value: "b@x.io".into(),
                kind: Some("home".into()),
                primary: Some(false),
                display: None,
            },
            IdpEmail {
                value: "A@x.io".into(),
                kind: None,
                primary: None,
                display: Some("Ana".into()),
            },
        ];
        assert_eq!(
            scim_emails(&p),
            json!([{"value": "b@x.io", "type": "home", "primary": false}, {"value": "A@x.io", "display": "Ana"}])
        );
        p.email = "c@x.io".into();
        assert_eq!(
            scim_emails(&p)[0]["value"],
            "c@x.io",
            "kept ones without the email: not shown"
        );
    }

    #[test]
    fn attributes_and_excluded_attributes_project_a_user() {
        let user = json!({"schemas": ["s"], "id": "1", "userName": "a@x.io",
            "name": {"formatted": "A B", "givenName": "A"}, "displayName": "A B",
            "emails": [{"value": "a@x.io", "type": "work", "primary": true}], "active": true});
        let mut u = user.clone();
        project(
            &mut u,
            Some(
                "userName, urn:ietf:params:scim:schemas:core:2.0:User:name.givenName, emails.value",
            ),
            None,
        );
        assert_eq!(
            u,
            json!({"schemas": ["s"], "id": "1", "userName": "a@x.io", "name": {"givenName": "A"},
                "emails": [{"value": "a@x.io"}]})
        );
        let mut u = user.clone();
        project(&mut u, None, Some("name,ID,emails.type"));
        assert!(u.get("name").is_none() && u.get("id").is_some());
        assert_eq!(u["emails"], json!([{"value": "a@x.io", "primary": true}]));
        let mut u = user.clone();
        project(&mut u, None, None);
        assert_eq!(u, user);
    }
}
