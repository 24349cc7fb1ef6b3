//! The connector SDK: the plumbing every connector shares, so that a connector module holds
//! only what is particular to its app (its endpoints, its error bodies, its sign-in).
//!
//! - [`builder`]: the connector builder: a connector declares its app's pieces (sign-in, a page
//!   of members, a member by id or email, create, set a role, remove, roles) and
//!   [`builder::AppConnector`] makes the whole contract of them, with the flows every connector
//!   repeats (invitations idempotent by email, role changes, removal of what is gone, the guard
//!   around the automation account).
//! - [`http`]: the HTTP layer: [`http::HttpClient`], a checked [`http::BaseUrl`],
//!   [`http::Endpoint`]s with authentication and a per-call timeout, [`http::Reply`], in-call
//!   retries of idempotent requests on 429 and 503 honouring `Retry-After`, and debug logs of
//!   requests and replies with secrets redacted ([`redact`]).
//! - [`browser`]: apps driven through their own web pages in a headless browser: readable
//!   steps, answers as errors, sessions as cookies, idle browsers kept per session.
//! - [`address`]: the outbound address policy, chosen per hub (`allow_private`) and enforced at
//!   DNS resolution.
//! - [`rate`]: the per-hub request rate limit.
//! - [`paging`]: page/per-page, offset/limit, `Link: rel="next"`, SCIM, anchored offsets.
//! - [`errors`]: transport failures and the answers every app means the same way.
//! - [`cookies`]: a cookie jar for apps driven through their web pages.
//! - [`members`]: email addresses, app members, guards of the automation account, admin-flag
//!   roles.
//! - [`roles`]: roles ranked in an app's order and checked against its roles.
//! - [`rest`]: JSON bodies of successes, counts in headers, the text of HTML messages.
//! - [`json`]: small readers of JSON answers.
//! - [`records`]: invitation records, for apps that show nobody's email address.
//! - [`usernames`]: usernames derived from emails, made unique; random passwords.
//! - [`jwt`]: JSON Web Tokens the connector signs with a key the vendor issued (ES256).
//! - [`oauth2`]: OAuth 2.0 for apps that require it: the authorization request with PKCE, the
//!   code exchange and the refresh (RFC 6749, RFC 7636), on the `oauth2` crate.
//! - [`saas`]: SaaS apps' admin APIs: public addresses by default, the token, the message of a
//!   vendor's error body, the next page's cursor in a JSON answer.
//! - [`scim`]: SCIM 2.0 client plumbing (RFC 7643/7644): filters, PATCH bodies, list
//!   responses, the provider's configuration and SCIM error bodies.

pub mod address;
pub mod browser;
pub mod builder;
pub mod cookies;
pub mod emailed;
pub mod errors;
pub mod http;
pub mod json;
pub mod jwt;
pub mod members;
pub mod oauth2;
pub mod paging;
pub mod rate;
pub mod records;
pub mod redact;
pub mod rest;
pub mod roles;
pub mod saas;
pub mod scim;
pub mod usernames;

#[cfg(test)]
mod retry_tests;

pub use address::AddressPolicy;
pub use http::{Auth, Endpoint, HttpClient, Reply};
