//! The connector SDK: the plumbing every connector shares, so that a connector module holds
//! only what is particular to its app (its endpoints, its error bodies, its sign-in).
//!
//! - [`http`]: the HTTP layer: [`http::HttpClient`], a checked [`http::BaseUrl`],
//!   [`http::Endpoint`]s with authentication and a per-call timeout, [`http::Reply`], in-call
//!   retries of idempotent requests on 429 and 503 honouring `Retry-After`, and debug logs of
//!   requests and replies with secrets redacted ([`redact`]).
//! - [`address`]: the outbound address policy, enforced at DNS resolution.
//! - [`paging`]: page/per-page, offset/limit, `Link: rel="next"`, SCIM and anchored offsets.
//! - [`errors`]: transport failures and the answers every app means the same way.
//! - [`cookies`]: a cookie jar for apps driven through their web pages.
//! - [`members`]: email addresses and admin-flag roles.

pub mod address;
pub mod cookies;
pub mod errors;
pub mod http;
pub mod members;
pub mod paging;
pub mod redact;

#[cfg(test)]
mod retry_tests;

pub use address::AddressPolicy;
pub use http::{Auth, Endpoint, HttpClient, Reply};
