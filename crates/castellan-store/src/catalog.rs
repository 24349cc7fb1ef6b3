//! Custom catalog entries, kept as JSON (the shape `castellan_core::catalog::App` serializes to).

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::catalog::App;
use castellan_core::ports::CatalogStore;
use castellan_core::CoreResult;

use crate::activity::append_in_tx;
use crate::db::{bad_json, db_err, get, map_err};
use crate::SqlStore;

#[async_trait]
impl CatalogStore for SqlStore {
    /// `Conflict` on a duplicate id.
    #[tracing::instrument(skip_all, err, fields(app_id = %app.id))]
    async fn insert_app(&self, app: &App, event: &NewEvent) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO custom_apps (id, json) VALUES ($1, $2)")
            .bind(app.id.as_str())
            .bind(serde_json::to_string(app).map_err(bad_json("json"))?)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                map_err(
                    e,
                    &format!("an app with id `{}` already exists", app.id),
                    "app",
                )
            })?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Ordered by id.
    async fn custom_apps(&self) -> CoreResult<Vec<App>> {
        let rows = sqlx::query("SELECT json FROM custom_apps ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| serde_json::from_str(&get::<String>(r, "json")?).map_err(bad_json("json")))
            .collect()
    }
}
