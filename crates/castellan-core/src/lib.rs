//! Castellan's core: the model, the permission matrix, the rules and the ports (traits) that
//! adapters implement. It depends on no database, HTTP or SMTP library.
#![forbid(unsafe_code)]

pub mod activity;
pub mod catalog;
pub mod clock;
pub mod collection;
pub mod connector;
pub mod desired;
pub mod error;
pub mod hub;
pub mod ids;
pub mod inbox;
pub mod job_params;
pub mod manual;
pub mod model;
pub mod permissions;
pub mod ports;
pub mod reconcile;
pub mod resource_roles;
pub mod service;
pub mod team;
pub mod validate;

pub use error::{CoreError, CoreResult};
pub use service::{Castellan, KeyProvider, StaticKeys};
