//! Test support for Castellan: fakes of core's ports, so core's rules run in unit tests with
//! no database, network or real app.
//!
//! - [`MemoryStore`]: every store port in memory, with the SQL store's semantics (the store
//!   suite of `castellan-store` runs on it too, as the proof).
//! - [`FakeConnector`] and [`FakeRegistry`]: an in-memory app behind the connector port, with
//!   scriptable failures and a call log.
//! - [`FakeCodeWaiter`]: the shared inbox as a connector sees it during a login.
//! - [`FakeClock`] and [`FixedJitter`]: time and retry jitter set by the test.
//! - [`World`]: a claimed workspace over these fakes, with an owner and a bot, for service tests.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod codes;
mod connector;
mod memory;
mod registry;
mod world;

pub use clock::{FakeClock, FixedJitter};
pub use codes::FakeCodeWaiter;
pub use connector::{
    permanent, transient, Call, Fail, FakeConnector, Hold, Op, Outcome, SeenContext,
};
pub use memory::MemoryStore;
pub use registry::FakeRegistry;
pub use world::{connect_input, World, APP, BOT_PASSWORD, CONNECTOR};
