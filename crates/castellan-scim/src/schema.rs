//! What filters and PATCH need to know of a resource's schema, and RFC 7643's User and Group.

use crate::path::AttrPath;

/// The core User schema URI (RFC 7643 §4.1).
pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URI (RFC 7643 §4.2).
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The enterprise User extension schema URI (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The prefix of the core schema URIs (RFC 7643 §10.2.1 registers them under it).
const CORE_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

/// Whether `text` starts with `prefix`, ASCII case-insensitively.
pub(crate) fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// An attribute's `mutability` characteristic (RFC 7643 §2.2, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Cannot be modified by a client (`id`, `meta`, a User's `groups`).
    ReadOnly,
    /// May be updated and read at any time (the default).
    ReadWrite,
    /// May be set when it has no value, never changed afterwards (a Group's `members.value`).
    Immutable,
    /// May be updated at any time, never returned (`password`).
    WriteOnly,
}

/// What the filter evaluator and PATCH need to know of the attributes of a resource type
/// (RFC 7643 §2.2 characteristics, §7 schema definitions).
///
/// Every method gets the attribute as an [`AttrPath`] (URI as written, or none for the core
/// schema; with `sub_attr` set, the question is about that sub-attribute). Names are to be
/// compared case-insensitively (RFC 7643 §2.1). Only [`case_exact`](Self::case_exact) must
/// be written; the others default to RFC 7643 §2.2's defaults (a single-valued, optional,
/// `readWrite` string), and [`CoreSchema`] answers them all for User and Group.
pub trait AttributeTypes {
    /// Whether string values of the attribute compare case-sensitively (`caseExact`,
    /// RFC 7643 §2.2); when false, filters compare them case-insensitively (RFC 7644
    /// §3.4.2.2).
    fn case_exact(&self, path: &AttrPath) -> bool;

    /// Whether the attribute is of type `boolean` (RFC 7643 §2.3.2): PATCH values `"True"` and
    /// `"False"` become `true` and `false` (Entra ID sends them as strings), and ordering
    /// comparisons against it are an `invalidFilter` (RFC 7644 §3.4.2.2).
    fn is_boolean(&self, _path: &AttrPath) -> bool {
        false
    }

    /// Whether the attribute is of type `dateTime` (RFC 7643 §2.3.5): filters compare its
    /// values as instants (`xsd:dateTime` with a time zone, as in RFC 3339).
    fn is_date_time(&self, _path: &AttrPath) -> bool {
        false
    }

    /// Whether the attribute is multi-valued (RFC 7643 §2.4): PATCH `add` appends to it.
    /// When this says false but the resource already holds an array, PATCH treats it as
    /// multi-valued anyway.
    fn is_multi_valued(&self, _path: &AttrPath) -> bool {
        false
    }

    /// The attribute's mutability (RFC 7643 §2.2); PATCH refuses changes that break it with
    /// `mutability` (RFC 7644 §3.5.2).
    fn mutability(&self, _path: &AttrPath) -> Mutability {
        Mutability::ReadWrite
    }

    /// Whether the attribute is `required` (RFC 7643 §2.2): PATCH may not leave it unassigned
    /// (RFC 7644 §3.5.2.2, `mutability`).
    fn is_required(&self, _path: &AttrPath) -> bool {
        false
    }

    /// Whether `uri` names the resource's core schema, whose attributes sit at the top level of
    /// the resource rather than in an extension object (RFC 7643 §3, §3.3). Defaults to the URIs
    /// under `urn:ietf:params:scim:schemas:core:`.
    fn is_core_schema(&self, uri: &str) -> bool {
        starts_with_ci(uri, CORE_PREFIX)
    }

    /// Whether `uri` is a schema of the resource type (core or extension), so that a PATCH
    /// `path` or path-less key equal to it means that whole schema's attributes rather than an
    /// attribute named after its last segment. Defaults to core schemas and [`ENTERPRISE_USER`].
    fn is_schema_uri(&self, uri: &str) -> bool {
        self.is_core_schema(uri) || uri.eq_ignore_ascii_case(ENTERPRISE_USER)
    }
}

/// RFC 7643's resource types: [`CoreSchema::User`] (§4.1, with the enterprise extension of
/// §4.3) and [`CoreSchema::Group`] (§4.2), with the common attributes of §3.1.
///
/// Its answers follow the schema definitions of RFC 7643 §4 and §8.7.1: `id` and
/// `externalId` are caseExact, `id` and `meta` readOnly, `meta.created` and `meta.lastModified`
/// dateTimes, `userName` (User) and `displayName` (Group) required, `active` and every
/// `primary` boolean, a User's `groups` readOnly, `password` writeOnly. One choice of ours: the
/// `value` of `members`, `groups` and `manager`, and `$ref`s, are caseExact, as they hold `id`s
/// and URIs. Attributes it does not know (custom extensions) get RFC 7643 §2.2's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoreSchema {
    /// `urn:ietf:params:scim:schemas:core:2.0:User` and the enterprise User extension.
    User,
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`.
    Group,
}

const CASE_EXACT: u8 = 1;
const BOOLEAN: u8 = 2;
const DATE_TIME: u8 = 4;
const MULTI: u8 = 8;
const READ_ONLY: u8 = 16;
const IMMUTABLE: u8 = 32;
const WRITE_ONLY: u8 = 64;
const REQUIRED: u8 = 128;

/// Attribute, sub-attribute (`*`: any), characteristics other than the defaults.
type Entry = (&'static str, Option<&'static str>, u8);

/// RFC 7643 §3.1 common attributes (and `schemas`, §3).
const COMMON: &[Entry] = &[
    ("id", None, CASE_EXACT | READ_ONLY),
    ("externalId", None, CASE_EXACT),
    ("schemas", None, MULTI | REQUIRED),
    ("meta", None, READ_ONLY),
    ("meta", Some("created"), DATE_TIME),
    ("meta", Some("lastModified"), DATE_TIME),
    ("meta", Some("location"), CASE_EXACT),
    ("meta", Some("version"), CASE_EXACT),
];

/// RFC 7643 §4.1 and §8.7.1 User attributes.
const USER: &[Entry] = &[
    ("userName", None, REQUIRED),
    ("active", None, BOOLEAN),
    ("password", None, WRITE_ONLY),
    ("emails", None, MULTI),
    ("emails", Some("primary"), BOOLEAN),
    ("phoneNumbers", None, MULTI),
    ("phoneNumbers", Some("primary"), BOOLEAN),
    ("ims", None, MULTI),
    ("ims", Some("primary"), BOOLEAN),
    ("photos", None, MULTI),
    ("photos", Some("primary"), BOOLEAN),
    ("addresses", None, MULTI),
    ("addresses", Some("primary"), BOOLEAN),
    ("groups", None, MULTI | READ_ONLY),
    ("groups", Some("value"), CASE_EXACT),
    ("groups", Some("$ref"), CASE_EXACT),
    ("entitlements", None, MULTI),
    ("entitlements", Some("primary"), BOOLEAN),
    ("roles", None, MULTI),
    ("roles", Some("primary"), BOOLEAN),
    ("x509Certificates", None, MULTI),
    ("x509Certificates", Some("value"), CASE_EXACT),
    ("x509Certificates", Some("primary"), BOOLEAN),
];

/// RFC 7643 §4.3 enterprise User extension attributes.
const ENTERPRISE: &[Entry] = &[
    ("manager", Some("value"), CASE_EXACT),
    ("manager", Some("$ref"), CASE_EXACT),
    ("manager", Some("displayName"), READ_ONLY),
];

/// RFC 7643 §4.2 and §8.7.1 Group attributes.
const GROUP: &[Entry] = &[
    ("displayName", None, REQUIRED),
    ("members", None, MULTI),
    ("members", Some("value"), CASE_EXACT | IMMUTABLE),
    ("members", Some("$ref"), CASE_EXACT | IMMUTABLE),
    ("members", Some("type"), IMMUTABLE),
];

fn lookup(table: &[Entry], attr: &str, sub: Option<&str>) -> u8 {
    let mut flags = 0;
    for (a, s, f) in table {
        if !a.eq_ignore_ascii_case(attr) {
            continue;
        }
        let hit = match (s, sub) {
            (None, None) => true,
            (Some(s), Some(sub)) => *s == "*" || s.eq_ignore_ascii_case(sub),
            // A sub-attribute of a readOnly attribute is readOnly too.
            (None, Some(_)) => {
                flags |= f & READ_ONLY;
                false
            }
            (Some(_), None) => false,
        };
        if hit {
            flags |= f;
        }
    }
    flags
}

impl CoreSchema {
    fn flags(&self, path: &AttrPath) -> u8 {
        let sub = path.sub_attr.as_deref();
        let core = match &path.uri {
            None => true,
            Some(uri) => uri.eq_ignore_ascii_case(self.core_uri()),
        };
        if core {
            let own = match self {
                CoreSchema::User => USER,
                CoreSchema::Group => GROUP,
            };
            lookup(COMMON, &path.attr, sub) | lookup(own, &path.attr, sub)
        } else if *self == CoreSchema::User
            && path
                .uri
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(ENTERPRISE_USER))
        {
            lookup(ENTERPRISE, &path.attr, sub)
        } else {
            0
        }
    }

    /// The resource type's core schema URI: [`CORE_USER`] or [`CORE_GROUP`].
    pub fn core_uri(&self) -> &'static str {
        match self {
            CoreSchema::User => CORE_USER,
            CoreSchema::Group => CORE_GROUP,
        }
    }
}

impl AttributeTypes for CoreSchema {
    fn case_exact(&self, path: &AttrPath) -> bool {
        self.flags(path) & CASE_EXACT != 0
    }

    fn is_boolean(&self, path: &AttrPath) -> bool {
        self.flags(path) & BOOLEAN != 0
    }

    fn is_date_time(&self, path: &AttrPath) -> bool {
        self.flags(path) & DATE_TIME != 0
    }

    fn is_multi_valued(&self, path: &AttrPath) -> bool {
        path.sub_attr.is_none() && self.flags(path) & MULTI != 0
    }

    fn mutability(&self, path: &AttrPath) -> Mutability {
        let flags = self.flags(path);
        if flags & READ_ONLY != 0 {
            Mutability::ReadOnly
        } else if flags & IMMUTABLE != 0 {
            Mutability::Immutable
        } else if flags & WRITE_ONLY != 0 {
            Mutability::WriteOnly
        } else {
            Mutability::ReadWrite
        }
    }

    fn is_required(&self, path: &AttrPath) -> bool {
        self.flags(path) & REQUIRED != 0
    }

    fn is_core_schema(&self, uri: &str) -> bool {
        uri.eq_ignore_ascii_case(self.core_uri())
    }

    fn is_schema_uri(&self, uri: &str) -> bool {
        self.is_core_schema(uri)
            || (*self == CoreSchema::User && uri.eq_ignore_ascii_case(ENTERPRISE_USER))
    }
}
