//! [`FakeRegistry`]: a connector registry over fakes, by connector name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use castellan_core::connector::{Connector, ConnectorRegistry};

use crate::connector::FakeConnector;

/// A connector registry over fakes, by connector name.
#[derive(Debug, Clone, Default)]
pub struct FakeRegistry {
    connectors: Arc<Mutex<HashMap<String, Arc<dyn Connector>>>>,
}

impl FakeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with one fake under its own name.
    pub fn with(fake: &FakeConnector) -> Self {
        let r = Self::new();
        r.register(&fake.name, Arc::new(fake.clone()));
        r
    }

    /// Registers (or replaces) the connector for `name`.
    pub fn register(&self, name: &str, connector: Arc<dyn Connector>) {
        self.connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), connector);
    }
}

impl ConnectorRegistry for FakeRegistry {
    fn connector(&self, name: &str) -> Option<Arc<dyn Connector>> {
        self.connectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }
}
