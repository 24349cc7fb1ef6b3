//! Shared test helpers.
#![allow(dead_code)]

pub mod hostile;
pub mod server;
