//! A SCIM User's JSON (RFC 7643 §4.1) and what Castellan keeps of it: reading a body into an
//! [`IdpPerson`], and the checks that keep a PATCH from answering 200 while dropping a change
//! (attributes not kept, name parts alone, blank names, other emails). Pure functions over
//! JSON; the handlers are in [`super::users`].

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
/// state is kept). The email is the `emails` value marked primary (or the only one, or the
/// `work` one), else the `userName` when it is an address.
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
    let email = match primary_email(v)? {
        Some(e) => e,
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
        user_name,
        email,
        name,
        given_name: string_at(v, &["name", "givenName"])?,
        family_name: string_at(v, &["name", "familyName"])?,
        external_id: string_at(v, &["externalId"])?,
        active,
    })
}

/// The address of a User's main `emails` value: the one marked `primary`, else the only one,
/// else the `work` one; `None` without `emails`. Errors: 400 `invalidValue` when `emails` is not
/// an array of objects with string values.
pub(super) fn primary_email(v: &Value) -> ScimResult<Option<String>> {
    let Some(emails) = get_ci(v, "emails") else {
        return Ok(None);
    };
    let bad = || {
        ScimError::bad(
            "invalidValue",
            "`emails` must be a list of {\"value\": \"…\"}",
        )
    };
    let list = emails.as_array().ok_or_else(bad)?;
    let mut values = Vec::with_capacity(list.len());
    for e in list {
        let value = match get_ci(e, "value") {
            Some(Value::String(s)) => s.trim().to_owned(),
            _ => return Err(bad()),
        };
        let primary = matches!(get_ci(e, "primary"), Some(Value::Bool(true)))
            || get_ci(e, "primary")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("true"));
        let work = get_ci(e, "type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("work"));
        values.push((value, primary, work));
    }
    let pick = values
        .iter()
        .find(|(_, p, _)| *p)
        .or_else(|| (values.len() == 1).then(|| &values[0]))
        .or_else(|| values.iter().find(|(_, _, w)| *w));
    Ok(pick.map(|(v, _, _)| v.clone()))
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

/// Refuses a PATCH that changes what Castellan does not keep (so nothing is dropped silently),
/// or removes every email: 400 `invalidPath` naming the attribute.
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
                "Castellan does not keep `{what}`: it keeps userName (the email), name, \
                 displayName, emails (the userName), externalId and active; remove this \
                 attribute from the identity provider's mapping"
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

/// Refuses a PATCH that leaves `emails` as anything but the one address Castellan keeps (400
/// `invalidValue`): one value of type `work` (or none) and primary (or not said), with no other
/// sub-attributes. Other addresses, types or sub-attributes would be dropped.
pub(super) fn refuse_other_emails(before: &Value, after: &Value) -> ScimResult<()> {
    let Some(emails) = get_ci(after, "emails") else {
        return Ok(());
    };
    if get_ci(before, "emails") == Some(emails) {
        return Ok(());
    }
    let one = |e: &Value| -> bool {
        let known = e.as_object().is_some_and(|o| {
            o.keys().all(|k| {
                ["value", "type", "primary"]
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(k))
            })
        });
        known
            && get_ci(e, "value").is_some_and(Value::is_string)
            && get_ci(e, "type")
                .and_then(Value::as_str)
                .is_none_or(|k| k.eq_ignore_ascii_case("work"))
            && get_ci(e, "primary").is_none_or(|p| {
                *p == Value::Bool(true)
                    || p.as_str().is_some_and(|t| t.eq_ignore_ascii_case("true"))
            })
            && get_ci(e, "type").is_none_or(Value::is_string)
    };
    match emails.as_array().map(Vec::as_slice) {
        Some([e]) if one(e) => Ok(()),
        _ => Err(ScimError::bad(
            "invalidValue",
            "Castellan keeps one email per person, as the primary `work` email: other \
             addresses, types and sub-attributes are not kept",
        )),
    }
}

/// Keeps `userName` and the primary email one address after a PATCH that changed one of them,
/// when they were one before: the other follows (Okta changes `userName`; Entra ID, mapping
/// the mail to both, replaces `emails[type eq "work"].value`). A userName apart from the email
/// (Entra's UPN) moves alone.
pub(super) fn follow_email_change(before: &Value, after: &mut Value) -> ScimResult<()> {
    let user_name = |v: &Value| string_at(v, &["userName"]);
    let (ub, ua) = (user_name(before)?, user_name(after)?);
    let (eb, ea) = (primary_email(before)?, primary_email(after)?);
    let together = match (&ub, &eb) {
        (Some(u), Some(e)) => u.eq_ignore_ascii_case(e),
        _ => false,
    };
    let Some(obj) = after.as_object_mut().filter(|_| together) else {
        return Ok(());
    };
    if ua != ub && ea == eb {
        if let Some(u) = ua {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("emails"));
            obj.insert(
                "emails".into(),
                json!([{ "value": u, "type": "work", "primary": true }]),
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
    }

    #[test]
    fn blank_names_and_other_emails_are_refused() {
        let before = json!({"userName": "a@x.io", "name": {"formatted": "Ana Lima"}, "displayName": "Ana Lima",
            "emails": [{"value": "a@x.io", "type": "work", "primary": true}]});
        let mut blank = before.clone();
        blank["displayName"] = " ".into();
        assert!(refuse_blank_names(&blank).is_err());
        let mut other = before.clone();
        other["emails"]
            .as_array_mut()
            .unwrap()
            .push(json!({"value": "b@x.io", "type": "home"}));
        assert!(refuse_other_emails(&before, &other).is_err());
        let mut retyped = before.clone();
        retyped["emails"][0]["type"] = "home".into();
        assert!(refuse_other_emails(&before, &retyped).is_err());
        let mut same = before.clone();
        same["emails"][0]["value"] = "A@X.io".into();
        assert!(refuse_other_emails(&before, &same).is_ok());
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
