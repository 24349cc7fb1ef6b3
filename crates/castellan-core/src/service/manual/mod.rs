//! The manual connector, core's own (issue 12, point 5): its state is Castellan's data (a
//! roster and the app admin's tasks, [`crate::manual`]), not an app, so it lives here over the
//! store rather than in `castellan-connectors`.
//!
//! - here: which connector drives a hub, decided in one place ([`Castellan::hub_connector`]):
//!   the hub's `connector` override, else its app's catalog `connector`; `manual` is the
//!   [`ManualConnector`], any other name is looked up in the registry;
//! - [`connector`]: the [`ManualConnector`];
//! - [`tasks`]: the use cases on the [`Hubs`](crate::service::Hubs) capability (roster upload,
//!   the tasks, marking one done) and the hub status the tasks give.

mod connector;
mod tasks;

use std::sync::Arc;

pub use connector::ManualConnector;
pub use tasks::{AssignedTask, RosterUploaded, TaskView};

use crate::catalog::App;
use crate::connector::{Connector, ConnectorInfo, ConnectorRegistry};
use crate::error::{CoreError, CoreResult};
use crate::hub::Hub;
use crate::manual::MANUAL;
use crate::service::Castellan;

impl Castellan {
    /// The connector a hub on `app` runs on: `over` (the hub's `connector` override) when
    /// given, else the app's catalog `connector`; `None` when neither names one.
    pub fn connector_name<'a>(app: &'a App, over: Option<&'a str>) -> Option<&'a str> {
        over.or(app.connector.as_deref())
    }

    /// The connector called `name` for a hub on `app`: [`ManualConnector`] for `manual`,
    /// otherwise `registry`'s (the service's own when `None`). `None` when this build has no
    /// such connector.
    pub(crate) fn connector_named(
        &self,
        name: &str,
        app: &App,
        registry: Option<&dyn ConnectorRegistry>,
    ) -> Option<Arc<dyn Connector>> {
        if name == MANUAL {
            return Some(Arc::new(ManualConnector::new(self.clone(), app)));
        }
        registry.or(self.connectors.as_deref())?.connector(name)
    }

    /// The connector that drives `hub`, with the registry `registry` (the bot's; the service's
    /// own when `None`): the one place a hub's connector is resolved. `Ok(None)` when its app
    /// names none or this build lacks it; `NotFound { kind: "app" }` when its app left the
    /// catalog.
    pub(crate) async fn hub_connector(
        &self,
        hub: &Hub,
        registry: Option<&dyn ConnectorRegistry>,
    ) -> CoreResult<Option<Arc<dyn Connector>>> {
        let app = self.app_of(hub).await?;
        Ok(Self::connector_name(&app, hub.connector.as_deref())
            .and_then(|n| self.connector_named(n, &app, registry)))
    }

    /// The declaration (roles, capabilities, sign-in, settings schema) of the connector a hub on
    /// `app` would run on (`over`: the hub's `connector` override, e.g. `manual`); `None` when
    /// there is none or this build does not have it.
    pub fn connector_info(&self, app: &App, over: Option<&str>) -> Option<ConnectorInfo> {
        let name = Self::connector_name(app, over)?;
        Some(self.connector_named(name, app, None)?.describe())
    }

    /// The hub's catalog app. `NotFound { kind: "app" }` when it left the catalog.
    pub(crate) async fn app_of(&self, hub: &Hub) -> CoreResult<App> {
        self.all_apps()
            .await?
            .into_iter()
            .find(|a| a.id == hub.app_id)
            .ok_or(CoreError::NotFound { kind: "app" })
    }
}
