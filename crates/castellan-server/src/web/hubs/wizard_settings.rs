//! The hub wizard's connector settings: the plain fields of the app connector's settings schema
//! (contract v2) are asked for in step 2 as `setting_<key>` inputs; its secret fields (an API
//! token) are named in step 4, since they live on the automation account.

use std::collections::BTreeMap;

use castellan_core::connector::settings::{check_settings, BASE_URL, ORGANIZATION_ID};
use castellan_core::connector::{ConnectorInfo, SettingField, SettingKind};
use castellan_core::error::CoreError;

/// The prefix of a setting's form field.
const PREFIX: &str = "setting_";

/// One plain connector setting as the wizard asks for it.
#[derive(Debug)]
pub(super) struct SettingInput {
    /// The form field's name (`setting_<key>`).
    pub name: String,
    /// The key core errors name (`settings.<key>`).
    pub error_key: String,
    pub label: String,
    pub help: String,
    pub required: bool,
    pub value: String,
    /// The allowed values of a choice (empty otherwise).
    pub choices: Vec<String>,
    /// The input's type: `url`, `number` or `text`.
    pub input_type: &'static str,
}

/// A secret setting the automation account must hold: (key, label, required).
pub(super) type SecretSetting = (String, String, bool);

/// The schema's fields the wizard asks for in step 2 (neither the hub's own fields nor secrets).
fn plain(info: &ConnectorInfo) -> impl Iterator<Item = &SettingField> {
    info.settings
        .iter()
        .filter(|f| f.key != BASE_URL && f.key != ORGANIZATION_ID && f.kind != SettingKind::Secret)
}

/// The step-2 inputs for `info`'s plain settings, filled from the form's `extra` fields.
pub(super) fn inputs(
    info: Option<&ConnectorInfo>,
    extra: &BTreeMap<String, String>,
) -> Vec<SettingInput> {
    let Some(info) = info else { return vec![] };
    plain(info)
        .map(|f| SettingInput {
            name: format!("{PREFIX}{}", f.key),
            error_key: format!("settings.{}", f.key),
            label: f.label.clone(),
            help: f.help.clone(),
            required: f.required,
            value: extra
                .get(&format!("{PREFIX}{}", f.key))
                .cloned()
                .unwrap_or_default(),
            choices: match &f.kind {
                SettingKind::Choice(c) => c.clone(),
                _ => vec![],
            },
            input_type: match f.kind {
                SettingKind::Url => "url",
                SettingKind::Number { .. } => "number",
                _ => "text",
            },
        })
        .collect()
}

/// The secret settings `info` needs on the automation account.
pub(super) fn secrets(info: Option<&ConnectorInfo>) -> Vec<SecretSetting> {
    info.map(|i| {
        i.settings
            .iter()
            .filter(|f| f.kind == SettingKind::Secret)
            .map(|f| (f.key.clone(), f.label.clone(), f.required))
            .collect()
    })
    .unwrap_or_default()
}

/// The hub's plain settings from the form's `setting_<key>` fields: trimmed, blanks left out.
pub(super) fn values(extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    extra
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(PREFIX)?.to_owned(), v.trim().to_owned())))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// The `setting_<key>` fields of the form, to carry between steps.
pub(super) fn carried(extra: &BTreeMap<String, String>) -> Vec<(String, String)> {
    extra
        .iter()
        .filter(|(k, v)| k.starts_with(PREFIX) && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Checks the step-2 values against the plain part of the schema. Errors name `settings.<key>`.
pub(super) fn check(
    info: Option<&ConnectorInfo>,
    extra: &BTreeMap<String, String>,
) -> Result<(), CoreError> {
    let Some(info) = info else { return Ok(()) };
    let schema: Vec<SettingField> = plain(info).cloned().collect();
    let values = values(extra);
    // A setting of another connector of the app (the browser one's, typed before choosing the
    // API) has no input on this step: say so at the top of the step.
    if let Some(key) = values.keys().find(|k| !schema.iter().any(|f| &f.key == *k)) {
        return Err(CoreError::invalid(
            "general",
            format!("`{key}` is not a setting of this connector"),
        ));
    }
    check_settings(&schema, &values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use castellan_core::connector::SignIn;

    fn info() -> ConnectorInfo {
        ConnectorInfo {
            name: "wordpress".into(),
            roles: vec![],
            capabilities: vec![],
            default_role: "subscriber".into(),
            sign_in: SignIn::UsernameAndToken,
            settings: vec![
                SettingField::new(BASE_URL, "Base URL", SettingKind::Url, true),
                SettingField::new(
                    "api_token",
                    "Application password",
                    SettingKind::Secret,
                    true,
                ),
                SettingField::new(
                    "reassign_to",
                    "Reassign content to",
                    SettingKind::Text,
                    true,
                ),
            ],
        }
    }

    #[test]
    fn only_plain_settings_are_asked_and_secrets_are_named() {
        let extra: BTreeMap<String, String> = [
            ("setting_reassign_to".into(), " editor ".into()),
            ("csrf".into(), "x".into()),
        ]
        .into();
        let i = inputs(Some(&info()), &extra);
        assert_eq!(i.len(), 1);
        assert_eq!(i[0].name, "setting_reassign_to");
        assert_eq!(i[0].value, " editor ");
        assert_eq!(
            secrets(Some(&info())),
            [(
                "api_token".to_owned(),
                "Application password".to_owned(),
                true
            )]
        );
        assert_eq!(
            values(&extra),
            BTreeMap::from([("reassign_to".to_owned(), "editor".to_owned())])
        );
        assert_eq!(
            carried(&extra),
            [("setting_reassign_to".to_owned(), " editor ".to_owned())]
        );
        check(Some(&info()), &extra).unwrap();
        let e = check(Some(&info()), &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().starts_with("settings.reassign_to"), "{e}");
    }
}
