//! Attribute paths: `[URI ":"] ATTRNAME ["." subAttr]` (RFC 7644 §3.10, Figure 1's `attrPath`).

use crate::filter::FilterError;
use std::fmt;

/// An attribute path (RFC 7644 §3.10 and the `attrPath` rule of §3.4.2.2 Figure 1):
/// an optional schema URI, an attribute name and an optional sub-attribute name.
///
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` is
/// `{ uri: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"), attr: "manager",
/// sub_attr: Some("value") }`; `name.familyName` has no URI. Names keep the case they were
/// written in; SCIM compares them case-insensitively (RFC 7643 §2.1), and so does this crate
/// when it looks them up in a resource or a schema (see [`AttrPath::same_as`]). Without a URI
/// the attribute belongs to the resource's core schema (RFC 7644 §3.10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URI, without the `:` that separates it from the attribute name.
    pub uri: Option<String>,
    /// The attribute name (`ATTRNAME`: a letter, then letters, digits, `-` or `_`).
    pub attr: String,
    /// The sub-attribute name of a complex attribute, if any.
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A path to a core-schema attribute, without URI or sub-attribute. The name is not checked.
    pub fn new(attr: &str) -> AttrPath {
        AttrPath {
            uri: None,
            attr: attr.to_string(),
            sub_attr: None,
        }
    }

    /// The same path with `sub` as its sub-attribute (replacing any). The name is not checked.
    pub fn with_sub(&self, sub: &str) -> AttrPath {
        AttrPath {
            sub_attr: Some(sub.to_string()),
            ..self.clone()
        }
    }

    /// The same path without its sub-attribute: the attribute itself.
    pub fn parent(&self) -> AttrPath {
        AttrPath {
            sub_attr: None,
            ..self.clone()
        }
    }

    /// Parses attribute notation (RFC 7644 §3.10): `userName`, `name.givenName`,
    /// `urn:ietf:params:scim:schemas:core:2.0:User:userName`. The schema URI is everything
    /// before the last `:`; it must itself contain a `:`. Names follow RFC 7643 §2.1's
    /// `ATTRNAME` (or are `$ref`). Errors ([`ScimType::InvalidFilter`](crate::ScimType)) give
    /// the byte position in `text`.
    pub fn parse(text: &str) -> Result<AttrPath, FilterError> {
        parse_at(text, 0)
    }

    /// Whether both paths name the same attribute: names and URIs compared case-insensitively
    /// (RFC 7643 §2.1), a missing URI equal only to a missing one.
    pub fn same_as(&self, other: &AttrPath) -> bool {
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        self.attr.eq_ignore_ascii_case(&other.attr)
            && match (&self.uri, &other.uri) {
                (None, None) => true,
                (Some(a), Some(b)) => eq(a, b),
                _ => false,
            }
            && match (&self.sub_attr, &other.sub_attr) {
                (None, None) => true,
                (Some(a), Some(b)) => eq(a, b),
                _ => false,
            }
    }
}

impl fmt::Display for AttrPath {
    /// Writes the path back in attribute notation, e.g. `urn:…:User:name.givenName`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub_attr {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Whether `name` is an `ATTRNAME` (RFC 7643 §2.1: `ALPHA *(nameChar)`, nameChar = `-`, `_`,
/// DIGIT or ALPHA) or `$ref`, the one name RFC 7643 allows outside that rule.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {
            chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        _ => name.eq_ignore_ascii_case("$ref"),
    }
}

/// [`AttrPath::parse`] for a token that starts at byte `offset` of a larger input, so that
/// error positions point into that input.
pub(crate) fn parse_at(text: &str, offset: usize) -> Result<AttrPath, FilterError> {
    if text.is_empty() {
        return Err(FilterError::new(offset, "expected an attribute name"));
    }
    let (uri, rest, rest_at) = match text.rfind(':') {
        Some(i) => (Some(&text[..i]), &text[i + 1..], i + 1),
        None => (None, text, 0),
    };
    if let Some(uri) = uri {
        let ok = uri.starts_with(|c: char| c.is_ascii_alphabetic())
            && uri.contains(':')
            && !uri.ends_with(':')
            && uri
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !ok {
            return Err(FilterError::new(
                offset,
                format!(
                    "`{text}` is not an attribute path: the part before the last `:` must be a \
                     schema URI such as urn:ietf:params:scim:schemas:core:2.0:User"
                ),
            ));
        }
    }
    let mut parts = rest.splitn(3, '.');
    let attr = parts.next().unwrap_or("");
    let sub = parts.next();
    if parts.next().is_some() {
        return Err(FilterError::new(
            offset + rest_at,
            format!("`{rest}` has more than one sub-attribute (at most `attribute.subAttribute`)"),
        ));
    }
    if !valid_name(attr) {
        return Err(FilterError::new(
            offset + rest_at,
            format!(
                "`{attr}` is not an attribute name (a letter, then letters, digits, `-` or `_`)"
            ),
        ));
    }
    if let Some(sub) = sub {
        if !valid_name(sub) {
            return Err(FilterError::new(
                offset + rest_at + attr.len() + 1,
                format!("`{sub}` is not a sub-attribute name (a letter, then letters, digits, `-` or `_`)"),
            ));
        }
    }
    Ok(AttrPath {
        uri: uri.map(str::to_string),
        attr: attr.to_string(),
        sub_attr: sub.map(str::to_string),
    })
}
