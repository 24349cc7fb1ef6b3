//! **Stand-ins**, not the vendors' services: small HTTP servers that answer the admin APIs of
//! SaaS apps which cannot run on this machine (GitHub, Zendesk, …), so that each connector is
//! proven end to end over real HTTP by the conformance suite. Each vendor's module is written
//! from that vendor's published API reference and cites the pages it follows: paths, request
//! and response shapes, paging, error bodies and rate-limit headers. What a stand-in does not
//! model, its module says.
//!
//! A stand-in is started per test (or per fixture) with [`kit::spawn`] and holds its data in
//! memory; nothing is shared between tests. Faults (429 with `Retry-After`, 5xx, slow answers)
//! come from the conformance suite's fault proxy in front of it, as for the real apps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app_store_connect;
pub mod asana;
pub mod atlassian;
pub mod box_platform;
pub mod calendly;
pub mod docusign;
pub mod dropbox;
pub mod freshdesk;
pub mod github;
pub mod gitlab;
pub mod google_ads;
pub mod hubspot;
pub mod kit;
pub mod meta;
pub mod oauth2;
pub mod openapi;
pub mod pinterest;
pub mod pipedrive;
pub mod record;
pub mod slack;
pub mod tiktok;
pub mod trello;
pub mod zendesk;
pub mod zoom;
