//! The domain error type. The server maps each variant to one HTTP status in one table;
//! `Internal` detail is logged, never sent to clients.

/// Errors of every core operation.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Input broke a rule. `field` names the input (JSON pointer-ish, e.g. `label`,
    /// `custom_fields[2].name`); `message` is safe to show to the client.
    #[error("{field}: {message}")]
    Validation {
        /// The offending input field.
        field: String,
        /// A human-readable description of what is wrong.
        message: String,
    },
    /// The target does not exist (or the caller may not know it exists).
    #[error("{kind} not found")]
    NotFound {
        /// What was looked for: `vault`, `account`, `person`, ...
        kind: &'static str,
    },
    /// The write conflicts with the current state (duplicate label, stale version, ...).
    #[error("{0}")]
    Conflict(String),
    /// The target changed since it was read (a compare-and-swap on its version failed); read
    /// it again and retry. Core use cases that apply a delta retry by themselves.
    #[error("the {kind} changed meanwhile; read it again and retry")]
    Stale {
        /// What changed: `person`, ...
        kind: &'static str,
    },
    /// The caller is authenticated but their role does not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// No valid credentials (missing, unknown, expired or revoked token; wrong password).
    #[error("{0}")]
    Unauthenticated(String),
    /// The store or another dependency is unreachable; retrying may help.
    #[error("service unavailable")]
    Unavailable(String),
    /// Too much work of one kind is in progress (every password-hashing slot is busy); the
    /// request may be repeated after `retry_after_secs` seconds.
    #[error("the server is busy; retry in {retry_after_secs} s")]
    Overloaded {
        /// Seconds after which a retry is likely to succeed.
        retry_after_secs: u64,
    },
    /// A bug or an unexpected failure; the text is for logs only.
    #[error("internal error")]
    Internal(String),
}

impl CoreError {
    /// Shorthand for [`CoreError::Validation`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for [`CoreError::Internal`] from any displayable error.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<castellan_crypto::CryptoError> for CoreError {
    fn from(e: castellan_crypto::CryptoError) -> Self {
        match e {
            castellan_crypto::CryptoError::Busy { retry_after } => Self::Overloaded {
                retry_after_secs: retry_after.as_secs().max(1),
            },
            e => Self::Internal(format!("crypto: {e}")),
        }
    }
}

/// Result alias for core operations.
pub type CoreResult<T> = Result<T, CoreError>;
