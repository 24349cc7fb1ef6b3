//! The `scimType` keywords of SCIM error responses.

use serde::{Deserialize, Serialize};

/// A `scimType` error keyword of an HTTP 400 SCIM error response (RFC 7644 §3.12, Table 9).
///
/// Serializes as the RFC's camelCase keyword (`"invalidFilter"`, `"noTarget"`, …), the string
/// [`ScimType::as_str`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax was invalid, or the attribute and comparison combination is not
    /// supported (GET and POST .search filters, PATCH path filters).
    InvalidFilter,
    /// The filter yields more results than the server will process.
    TooMany,
    /// A value is already in use (`userName`, `displayName` … with server uniqueness).
    Uniqueness,
    /// The change would modify a `readOnly` or `immutable` attribute, or unassign a required one.
    Mutability,
    /// The request body is not the structure the request schema asks for.
    InvalidSyntax,
    /// The PATCH `path` is invalid or malformed (RFC 7644 Figure 7).
    InvalidPath,
    /// The PATCH `path` (or its filter) selected nothing to change.
    NoTarget,
    /// A required value is missing, or a value does not fit the operation or attribute type.
    InvalidValue,
    /// The protocol version is not supported.
    InvalidVers,
    /// The request cannot be done as given, e.g. personal data in a URL query (RFC 7644 §7.5.2).
    Sensitive,
}

impl ScimType {
    /// The keyword as it goes into the error response's `scimType` member, e.g. `"noTarget"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}

impl std::fmt::Display for ScimType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
