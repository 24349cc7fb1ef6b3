//! [`TokenFixture`]: the whole fixture of a SaaS connector whose automation account signs in
//! with an API token, against a stand-in of the vendor's API (`castellan-standins`). A vendor's
//! test file builds one and calls [`crate::run`]:
//!
//! ```ignore
//! let cal = Calendly::start();
//! let seeder = cal.clone();
//! let fixture = TokenFixture::new(connector(), &cal.base_url, "owner", &cal.owner_token, move |email, i| {
//!     seeder.seed(email, &format!("Seeded {i}"), "user");
//! })
//! .non_admin(&cal.user_token)
//! .automation_member(&cal.owner_membership);
//! assert!(castellan_conformance::run(&fixture).await.failures().is_empty());
//! ```

use std::sync::Arc;

use async_trait::async_trait;
use castellan_core::connector::{Connector, ConnectorContext};

use crate::harness::{seeded_emails, token_context};
use crate::{Fixture, LISTING_SIZE};

/// Makes one seeded member in the stand-in, out of band: `(email, index)`.
type Seed = Box<dyn Fn(&str, usize) + Send + Sync>;

/// A token-signed-in connector's fixture. Built with [`TokenFixture::new`] and the builder
/// methods; every context it makes is a [`token_context`] (loopback allowed) with the
/// organization id, if one was set.
pub struct TokenFixture {
    connector: Arc<dyn Connector>,
    base_url: String,
    username: String,
    admin_token: String,
    non_admin: Option<(String, String)>,
    non_admin_settings: Vec<(String, String)>,
    organization_id: Option<String>,
    settings: Vec<(String, String)>,
    seed: Seed,
    resource: Option<String>,
    automation_member: Option<String>,
    listing_size: usize,
    reads_by_post: Vec<String>,
    one_page: bool,
}

impl std::fmt::Debug for TokenFixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFixture")
            .field("connector", &self.connector.describe().name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl TokenFixture {
    /// The fixture of `connector` on the stand-in at `base_url`, whose automation account is
    /// `username` (blank or a label where the app takes none) with the admin's `admin_token`;
    /// `seed(email, i)` makes the member `email` in the stand-in, as the vendor's own pages
    /// would. No account without admin rights, no resource, no own member id and listings of
    /// [`LISTING_SIZE`] over pages until the builder methods say otherwise.
    pub fn new(
        connector: Arc<dyn Connector>,
        base_url: &str,
        username: &str,
        admin_token: &str,
        seed: impl Fn(&str, usize) + Send + Sync + 'static,
    ) -> Self {
        Self {
            connector,
            base_url: base_url.to_owned(),
            username: username.to_owned(),
            admin_token: admin_token.to_owned(),
            non_admin: None,
            non_admin_settings: Vec::new(),
            organization_id: None,
            settings: Vec::new(),
            seed: Box::new(seed),
            resource: None,
            automation_member: None,
            listing_size: LISTING_SIZE,
            reads_by_post: Vec::new(),
            one_page: false,
        }
    }

    /// The token of an account that signs in but may not manage members, under the fixture's
    /// username.
    pub fn non_admin(self, token: &str) -> Self {
        let username = self.username.clone();
        self.non_admin_as(&username, token)
    }

    /// The username and token of an account that signs in but may not manage members (apps
    /// whose token goes with its owner's email, such as Zendesk's).
    pub fn non_admin_as(mut self, username: &str, token: &str) -> Self {
        self.non_admin = Some((username.to_owned(), token.to_owned()));
        self
    }

    /// A hub setting of the account without admin rights only (`key = value`, over the
    /// fixture's), for apps whose key comes with its own id (App Store Connect's key id).
    pub fn non_admin_setting(mut self, key: &str, value: &str) -> Self {
        self.non_admin_settings
            .push((key.to_owned(), value.to_owned()));
        self
    }

    /// The organization (business, workspace, account) id every context carries.
    pub fn organization(mut self, id: &str) -> Self {
        self.organization_id = Some(id.to_owned());
        self
    }

    /// A hub setting every context carries (`key = value`).
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The resource the suite grants and revokes roles on, by its app id.
    pub fn resource(mut self, id: &str) -> Self {
        self.resource = Some(id.to_owned());
        self
    }

    /// The automation account's own member id (the suite checks it is never demoted or removed).
    pub fn automation_member(mut self, id: &str) -> Self {
        self.automation_member = Some(id.to_owned());
        self
    }

    /// How many members the listing case seeds: at least two and a half of the connector's pages.
    pub fn listing_size(mut self, n: usize) -> Self {
        self.listing_size = n;
        self
    }

    /// Parts of the paths of the `POST` requests that only read (RPC-style APIs such as
    /// Dropbox's, Google Ads' `googleAds:search`), for the fault cases
    /// ([`Fixture::reads_by_post`]).
    pub fn reads_by_post(mut self, paths: &[&str]) -> Self {
        self.reads_by_post = paths.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// The app's API answers every member in one call, unpaged ([`Fixture::lists_in_pages`]).
    pub fn one_page(mut self) -> Self {
        self.one_page = true;
        self
    }

    /// The context at `base_url` with `token`: the fixture's username, organization and
    /// settings. Vendor tests use it for tokens of their own.
    pub fn context_with(&self, base_url: &str, token: &str) -> ConnectorContext {
        self.context_as(base_url, &self.username, token)
    }

    /// The context at `base_url` as `username` with `token`, the fixture's organization and
    /// settings.
    pub fn context_as(&self, base_url: &str, username: &str, token: &str) -> ConnectorContext {
        let mut ctx = token_context(base_url, username, token);
        ctx.organization_id.clone_from(&self.organization_id);
        for (k, v) in &self.settings {
            ctx.settings.insert(k.clone(), v.clone());
        }
        ctx
    }
}

#[async_trait]
impl Fixture for TokenFixture {
    fn connector(&self) -> Arc<dyn Connector> {
        Arc::clone(&self.connector)
    }

    fn base_url(&self) -> String {
        self.base_url.clone()
    }

    fn context(&self, base_url: &str) -> ConnectorContext {
        self.context_with(base_url, &self.admin_token)
    }

    async fn non_admin(&self, base_url: &str) -> Option<ConnectorContext> {
        let (username, token) = self.non_admin.as_ref()?;
        let mut ctx = self.context_as(base_url, username, token);
        for (k, v) in &self.non_admin_settings {
            ctx.settings.insert(k.clone(), v.clone());
        }
        Some(ctx)
    }

    async fn seed_members(&self, prefix: &str, n: usize) -> Vec<String> {
        seeded_emails(prefix, n, |email, i| (self.seed)(email, i))
    }

    async fn resource(&self) -> Option<String> {
        self.resource.clone()
    }

    fn listing_size(&self) -> usize {
        self.listing_size
    }

    async fn automation_member(&self) -> Option<String> {
        self.automation_member.clone()
    }

    fn reads_by_post(&self) -> Vec<String> {
        self.reads_by_post.clone()
    }

    fn lists_in_pages(&self) -> bool {
        !self.one_page
    }
}
