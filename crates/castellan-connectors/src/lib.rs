//! Castellan's app connectors: one module per app, each implementing
//! [`castellan_core::connector::Connector`], and the [`Registry`] that finds them by the catalog's
//! `connector` name.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use app_store_connect::AppStoreConnect;
use castellan_core::connector::{Connector, ConnectorRegistry};

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
pub mod mediawiki;
pub mod mediawiki_browser;
pub mod meta;
pub mod pinterest;
pub mod pipedrive;
pub mod redmine;
pub mod redmine_browser;
pub mod scim;
pub mod sdk;
pub mod slack;
pub mod synapse;
pub mod tiktok;
pub mod trello;
pub mod wordpress;
pub mod wordpress_browser;
pub mod zendesk;
pub mod zoom;

pub use app_store_connect::AppStoreConnectConnector;
pub use asana::AsanaConnector;
pub use atlassian::AtlassianConnector;
pub use box_platform::BoxConnector;
pub use calendly::CalendlyConnector;
pub use docusign::DocuSignConnector;
pub use dropbox::DropboxConnector;
pub use freshdesk::FreshdeskConnector;
pub use github::GitHubConnector;
pub use gitlab::GitLabConnector;
pub use hubspot::HubSpotConnector;
pub use mediawiki::MediaWikiConnector;
pub use meta::MetaConnector;
pub use pinterest::PinterestConnector;
pub use pipedrive::PipedriveConnector;
pub use redmine::RedmineConnector;
pub use scim::ScimConnector;
pub use synapse::SynapseConnector;
pub use tiktok::TikTokConnector;
pub use trello::TrelloConnector;
pub use wordpress::WordPressConnector;
pub use zendesk::ZendeskConnector;
pub use zoom::ZoomConnector;

/// The connectors Castellan knows, by name.
#[derive(Debug, Clone)]
pub struct Registry {
    connectors: BTreeMap<String, Arc<dyn Connector>>,
    /// The OAuth 2.0 client for connectors that sign in with OAuth ([`sdk::oauth2`]).
    oauth2: Arc<sdk::oauth2::OAuth2Http>,
}

impl Default for Registry {
    /// Every built-in connector: the self-hosted apps' (`mediawiki`, `redmine`, `scim`,
    /// `synapse`, `wordpress`) and the SaaS apps' (GitHub, Zendesk, Zoom…: the README's apps
    /// table lists them all). SaaS apps' connectors reach public addresses unless a hub allows
    /// private ones (GitHub Enterprise Server, a stand-in; [`sdk::saas::connector`]).
    fn default() -> Self {
        Self::empty()
            .with(mediawiki::NAME, Arc::new(MediaWikiConnector::new()))
            .with(redmine::NAME, Arc::new(RedmineConnector::new()))
            .with(scim::NAME, Arc::new(ScimConnector::new()))
            .with(synapse::NAME, Arc::new(SynapseConnector::new()))
            .with(wordpress::NAME, Arc::new(WordPressConnector::new()))
            // SaaS apps, one line each.
            .with(app_store_connect::NAME, saas::<AppStoreConnect>())
            .with(asana::NAME, saas::<asana::Asana>())
            .with(atlassian::NAME, saas::<atlassian::Atlassian>())
            .with(box_platform::NAME, saas::<box_platform::BoxPlatform>())
            .with(calendly::NAME, saas::<calendly::Calendly>())
            .with(docusign::NAME, saas::<docusign::DocuSign>())
            .with(dropbox::NAME, saas::<dropbox::Dropbox>())
            .with(freshdesk::NAME, saas::<freshdesk::Freshdesk>())
            .with(github::NAME, saas::<github::GitHub>())
            .with(gitlab::NAME, saas::<gitlab::GitLab>())
            .with(google_ads::NAME, saas::<google_ads::GoogleAds>())
            .with(hubspot::NAME, saas::<hubspot::HubSpot>())
            .with(meta::NAME, saas::<meta::Meta>())
            .with(pinterest::NAME, saas::<pinterest::Pinterest>())
            .with(pipedrive::NAME, saas::<pipedrive::Pipedrive>())
            .with(slack::NAME, saas::<slack::Slack>())
            .with(tiktok::NAME, saas::<tiktok::TikTok>())
            .with(trello::NAME, saas::<trello::Trello>())
            .with(zendesk::NAME, saas::<zendesk::Zendesk>())
            .with(zoom::NAME, saas::<zoom::Zoom>())
    }
}

/// The connector of the SaaS app `A` ([`sdk::saas::connector`]).
fn saas<A: sdk::builder::App>() -> Arc<dyn Connector> {
    Arc::new(sdk::saas::connector::<A>())
}

impl Registry {
    /// A registry with no connector (tests add their own with [`Registry::with`]).
    pub fn empty() -> Self {
        Self {
            connectors: BTreeMap::new(),
            oauth2: Arc::default(),
        }
    }

    /// Adds (or replaces) the connector for `name`.
    pub fn with(mut self, name: impl Into<String>, connector: Arc<dyn Connector>) -> Self {
        self.connectors.insert(name.into(), connector);
        self
    }

    /// Adds the browser connectors (`mediawiki_browser`, `redmine_browser`,
    /// `wordpress_browser`), driven on `bot`; without one (no Chromium here) they answer every
    /// call `Unavailable`, saying the browser bot is off.
    pub fn with_browser(self, bot: Option<sdk::browser::BrowserBot>) -> Self {
        let (wp, rm, mw) = match bot {
            Some(bot) => (
                wordpress_browser::WordPressAdmin::connector(bot.clone()),
                redmine_browser::RedmineAdmin::connector(bot.clone()),
                mediawiki_browser::MediaWikiPages::connector(bot),
            ),
            None => (
                wordpress_browser::WordPressBrowserConnector::new(),
                redmine_browser::RedmineBrowserConnector::new(),
                mediawiki_browser::MediaWikiBrowserConnector::new(),
            ),
        };
        self.with(wordpress_browser::NAME, Arc::new(wp))
            .with(redmine_browser::NAME, Arc::new(rm))
            .with(mediawiki_browser::NAME, Arc::new(mw))
    }

    /// The registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.connectors.keys().map(String::as_str)
    }
}

impl ConnectorRegistry for Registry {
    fn connector(&self, name: &str) -> Option<Arc<dyn Connector>> {
        self.connectors.get(name).cloned()
    }

    fn oauth2(&self) -> Option<Arc<dyn castellan_core::connector::oauth2::OAuth2Client>> {
        Some(self.oauth2.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_registry_has_synapse() {
        let r = Registry::default();
        let c = r.connector("synapse").expect("synapse is registered");
        assert_eq!(c.describe().name, "synapse");
        assert_eq!(c.describe().roles, ["admin", "user"]);
        assert_eq!(c.describe().default_role, "user");
        assert!(r.connector("nope").is_none());
        assert_eq!(
            r.names().collect::<Vec<_>>(),
            [
                "app_store_connect",
                "asana",
                "atlassian",
                "box",
                "calendly",
                "docusign",
                "dropbox",
                "freshdesk",
                "github",
                "gitlab",
                "google_ads",
                "hubspot",
                "mediawiki",
                "meta_business",
                "pinterest_business",
                "pipedrive",
                "redmine",
                "scim",
                "slack",
                "synapse",
                "tiktok_business",
                "trello",
                "wordpress",
                "zendesk",
                "zoom",
            ]
        );
        let gh = r.connector("github").unwrap().describe();
        assert_eq!(
            (gh.roles.join(" "), gh.default_role),
            ("admin member".into(), "member".into())
        );
        assert_eq!(r.connector("redmine").unwrap().describe().name, "redmine");
        assert_eq!(r.connector("scim").unwrap().describe().name, "scim");
        let wp = r.connector("wordpress").unwrap().describe();
        assert_eq!(wp.roles[0], "administrator");
        assert_eq!(wp.default_role, "subscriber");
        let mw = r.connector("mediawiki").unwrap().describe();
        assert_eq!(
            (mw.roles[0].as_str(), mw.default_role.as_str()),
            ("bureaucrat", "user")
        );
    }

    #[test]
    fn with_replaces_a_connector() {
        let r = Registry::empty().with("matrix", Arc::new(SynapseConnector::new()));
        assert!(r.connector("matrix").is_some());
        assert!(r.connector("synapse").is_none());
    }

    /// Every catalog entry that names a connector of this build claims only what that
    /// connector declares (the wizard and the API show the catalog's list).
    #[test]
    fn catalog_entries_claim_only_what_their_connector_declares() {
        let apps = castellan_core::catalog::parse_catalog(castellan_core::catalog::BUILTIN_CATALOG)
            .expect("the built-in catalog parses");
        let r = Registry::default().with_browser(None);
        let mut checked = 0;
        for app in &apps {
            if let Some(name) = &app.browser_connector {
                let c = r
                    .connector(name)
                    .expect("the browser connector is registered");
                let declared = c.describe().capabilities;
                assert!(
                    app.capabilities.iter().all(|cap| declared.contains(cap)),
                    "{} claims more than its browser connector {name} declares",
                    app.id
                );
            }
            let Some(c) = app.connector.as_deref().and_then(|n| r.connector(n)) else {
                continue;
            };
            let declared = c.describe().capabilities;
            for cap in &app.capabilities {
                assert!(
                    declared.contains(cap),
                    "{} claims {cap:?}, which its connector {} does not declare ({declared:?})",
                    app.id,
                    c.describe().name
                );
            }
            checked += 1;
        }
        assert!(
            checked >= 10,
            "only {checked} catalog apps have a connector"
        );
    }
}
