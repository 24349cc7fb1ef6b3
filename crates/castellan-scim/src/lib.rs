//! SCIM 2.0 protocol pieces for Castellan's SCIM service provider (`/scim/v2`, called by Okta
//! and Microsoft Entra ID): RFC 7644 filters and PATCH operations over JSON resources.
//!
//! Everything here is a pure function over [`serde_json::Value`] resources; storage, HTTP and
//! the `/Users` and `/Groups` endpoints belong to the server.
//!
//! - [`filter`]: the `filter` query parameter (RFC 7644 §3.4.2.2, its ABNF in Figure 1):
//!   [`filter::parse`] into a [`Filter`], [`filter::check`] for comparisons the RFC refuses,
//!   [`filter::matches`] against a resource, and `Display` back to a canonical filter string.
//! - [`patch`]: `PATCH` request bodies (RFC 7644 §3.5.2): [`patch::parse_request`] into
//!   [`PatchOp`]s, tolerant of what Okta and Entra ID really send, and [`patch::apply`], atomic.
//! - [`AttrPath`]: attribute notation (RFC 7644 §3.10), schema URI prefixes included.
//! - [`AttributeTypes`]: what the two need to know of a schema (case-exactness, booleans,
//!   date-times, multi-valued, mutability, required); [`CoreSchema`] answers it for RFC 7643's
//!   User (with the enterprise extension) and Group.
//! - [`ScimType`]: the `scimType` error keywords (RFC 7644 §3.12, Table 9) that both errors map to.
//!
//! The filter parser is written here rather than taken from crates.io: the only filter crate
//! there, `scim-filter` 0.2.3, gives `and` and `or` the same precedence (RFC 7644 §3.4.2.2:
//! `and` binds tighter), cannot read escaped quotes in strings nor negative or exponent numbers,
//! and drops the schema URI of an attribute path. Input is bounded ([`filter::MAX_FILTER_LEN`],
//! [`filter::MAX_DEPTH`], [`patch::MAX_OPERATIONS`], [`patch::MAX_VALUES`]), so hostile input
//! gets an error, never a stack overflow nor minutes of work.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod datetime;
mod error;
pub mod filter;
mod json;
pub mod patch;
mod path;
mod schema;

pub use error::ScimType;
pub use filter::{CompareOp, Filter, FilterError};
pub use patch::{Op, PatchError, PatchOp, PatchPath};
pub use path::AttrPath;
pub use schema::{AttributeTypes, CoreSchema, Mutability, CORE_GROUP, CORE_USER, ENTERPRISE_USER};
