//! The connector conformance suite: the cases every connector passes against its real app.
//!
//! A connector's test file is a [`Fixture`] (start the app, hold the automation account, seed
//! members out of band) and one call of [`run`]. The suite drives the connector only through the
//! [`Connector`] contract, so every connector is held to the same rules: sign-in (good, wrong
//! password, non-admin), the permission probe, listing over more than two pages with no member lost
//! or repeated, get and find by email (case-insensitive), invite (new; already a member), each
//! role change, remove (present; already gone), resource grant and revoke where the connector has
//! resources, and, through a fault-injecting proxy ([`fault_proxy`]) in front of the real app, 429
//! with `Retry-After`, 503, a reset connection and a slow answer, with no write done twice.
//!
//! Cases a connector does not declare (see [`castellan_core::connector::ConnectorInfo`]) or its
//! fixture cannot set up are reported as unsupported, not passed. [`run`] prints one summary line
//! per connector (`conformance <name>: passed N/M; unsupported: …; failed: …`, then a line per
//! case) straight to standard output, so it shows in the CI log whether or not the test binary
//! runs with `--nocapture`, and panics when a case failed.
//!
//! A test file:
//!
//! ```ignore
//! #[tokio::test]
//! async fn conformance() {
//!     castellan_conformance::run(&MyAppFixture::default()).await;
//! }
//! ```
//!
//! [`harness`] holds what test files share besides the suite (starting the app with its
//! `scripts/start-<app>.sh`, unique suffixes, an out-of-band admin API client).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use castellan_core::connector::{Connector, ConnectorContext};

mod cases;
pub mod fault_proxy;
pub mod harness;
mod report;
pub mod token;

pub use cases::{run, CASES, SEED_PREFIX};
pub use report::{CaseResult, Outcome, Report};
pub use token::TokenFixture;

/// Implements the fixed half of a [`Fixture`] inside its `impl` block: [`Fixture::connector`]
/// (the expression `$connector`, an `Arc<dyn Connector>`, evaluated at each call) and
/// [`Fixture::base_url`] and [`Fixture::context`] from `$app`, a [`harness::PasswordApp`].
///
/// ```ignore
/// const SYNAPSE: PasswordApp = PasswordApp { app: "synapse", port: 18008, username: "admin", password: "adminpass" };
///
/// #[async_trait]
/// impl Fixture for SynapseFixture {
///     castellan_conformance::password_fixture!(Arc::new(SynapseConnector::new()), SYNAPSE);
///     async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> { … }
///     async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> { … }
/// }
/// ```
#[macro_export]
macro_rules! password_fixture {
    ($connector:expr, $app:expr) => {
        fn connector(&self) -> ::std::sync::Arc<dyn $crate::__private::Connector> {
            $connector
        }

        fn base_url(&self) -> ::std::string::String {
            $app.base_url()
        }

        fn context(&self, base_url: &str) -> $crate::__private::ConnectorContext {
            $app.context(base_url)
        }
    };
}

#[doc(hidden)]
pub mod __private {
    pub use castellan_core::connector::{Connector, ConnectorContext};
}

/// How many members the listing case seeds unless the fixture says otherwise
/// ([`Fixture::listing_size`]): two and a half pages of 100.
pub const LISTING_SIZE: usize = 250;

/// What the suite needs from a connector's test: the connector, the real app and an automation
/// account on it. One fixture per test binary; the app is shared by every case (and by other test
/// binaries and runs), so the suite gives every case its own member emails
/// (`conf_<case>_<unique>@<email_domain>`).
///
/// Required: [`Fixture::connector`], [`Fixture::base_url`], [`Fixture::context`],
/// [`Fixture::non_admin`], [`Fixture::seed_members`]. The others have defaults that mark their
/// cases unsupported or pick the usual sizes.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// The connector under test (as the registry builds it).
    fn connector(&self) -> Arc<dyn Connector>;

    /// The real app's base URL (the app is started on first use), e.g. `http://127.0.0.1:18008`.
    fn base_url(&self) -> String;

    /// The automation account's context against `base_url`: the real app's, or the suite's
    /// fault proxy in front of it. The account may manage members.
    fn context(&self, base_url: &str) -> ConnectorContext;

    /// The context of an account of the same app that signs in but may not manage members,
    /// created out of band on first use; `None` when the app has no such account.
    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext>;

    /// Makes sure `n` members exist whose email is `<prefix><i>@<domain>` for `i` in `0..n`
    /// (any domain the app accepts), created out of band (the app's own admin API or CLI, not the
    /// connector) and idempotently, so a second run reuses them. Returns their emails, lowercase.
    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String>;

    /// A resource the suite may grant and revoke roles on (created out of band on first use),
    /// by its app id; `None` when the connector has no resources.
    async fn resource(&self) -> Option<String> {
        None
    }

    /// How many members the listing case seeds with [`Fixture::seed_members`]: at least two and
    /// a half of the connector's pages. Default [`LISTING_SIZE`] (for pages of 100).
    fn listing_size(&self) -> usize {
        LISTING_SIZE
    }

    /// Whether the app's API lists members a page at a time. Default `true`: the listing case
    /// then wants at least three pages ([`Fixture::listing_size`]). An app whose API answers
    /// every member in one call and pages no further (Pipedrive's `GET /users`) says `false`:
    /// the listing case then wants the connector to take exactly one page, one call.
    fn lists_in_pages(&self) -> bool {
        true
    }

    /// The domain of the emails the suite invites. Default `example.com`.
    fn email_domain(&self) -> String {
        "example.com".to_owned()
    }

    /// The automation account's own app member id, for the case that checks the connector
    /// refuses to demote or remove it (`Conflict`); `None` (the default) leaves that case
    /// unsupported.
    async fn automation_member(&self) -> Option<String> {
        None
    }

    /// Whether the app carried out a write the fault proxy forwarded, from its answer. Default:
    /// a 2xx status (APIs). A browser connector's app answers a web form it carried out with a
    /// redirect (POST/redirect/GET) and one it refused with the form again (200).
    fn carried_out(&self, w: &fault_proxy::Write) -> bool {
        (200..300).contains(&w.status)
    }

    /// Parts of the paths of the `POST` requests that only read, for APIs that read with `POST`
    /// (Dropbox's RPC endpoints, Google Ads' `googleAds:search`): the fault cases treat them as
    /// reads, not writes ([`fault_proxy::FaultProxy::reads_by_post`]). Default: none.
    fn reads_by_post(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether the app shows the emails of members made outside the connector (the seeded
    /// ones). Default `true`. An app that shows nobody's email to its admins (MediaWiki) says
    /// `false`: the listing case then knows a seeded member by a name equal to its email's local
    /// part (case-insensitive, `_` as a space), and the lookup case is unsupported.
    fn shows_emails(&self) -> bool {
        true
    }
}
