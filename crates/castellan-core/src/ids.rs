//! Newtype ids (UUIDv7), parsed at the edge. Core never passes bare `String` ids around.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

#[macro_export]
#[doc(hidden)]
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new time-ordered id (UUIDv7, RFC 9562 section 5.7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::CoreError;
            /// Parses a hyphenated or simple UUID; any other text is `CoreError::Validation`.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|_| $crate::error::CoreError::invalid(concat!($what, "_id"), format!("`{}` is not a valid {} id (a UUID)", $crate::validate::clip(s), $what)))
            }
        }
    };
}

crate::uuid_id!(/// The workspace (one per installation).
    WorkspaceId, "workspace");
crate::uuid_id!(/// A person, member of the workspace.
    PersonId, "person");
crate::uuid_id!(/// A vault.
    VaultId, "vault");
crate::uuid_id!(/// An account item.
    AccountId, "account");
crate::uuid_id!(/// A personal API token.
    TokenId, "token");
crate::uuid_id!(/// An activity event.
    EventId, "event");
crate::uuid_id!(/// A password reset link.
    PasswordResetId, "password_reset");
crate::uuid_id!(/// A vault data key (DEK).
    DataKeyId, "data_key");

/// A catalog app id: a slug of `a-z`, `0-9` and `-`, 2 to 64 characters (for example `matrix-synapse`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppId(String);

impl AppId {
    /// Parses a slug. Errors: `CoreError::Validation` naming the rule that failed.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let ok_len = (2..=64).contains(&s.len());
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok_len && ok_chars && !s.starts_with('-') && !s.ends_with('-') {
            Ok(Self(s.to_owned()))
        } else {
            Err(CoreError::invalid(
                "app_id",
                format!(
                    "`{}` is not a valid app id: use 2 to 64 characters of a-z, 0-9 and '-'",
                    crate::validate::clip(s)
                ),
            ))
        }
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
