//! The activity log: the one append path ([`append_in_tx`]) every write uses, and the reads.

use async_trait::async_trait;
use castellan_core::activity::{ActivityEvent, ActorKind, ChainHead, NewEvent};
use castellan_core::ports::{ActivityFilter, ActivityStore};
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::db::{db_err, get, like_escape, ms, opt_time, time, Sql};
use crate::SqlStore;

const EVENT_COLS: &str = "seq, id, at, actor_kind, actor_id, actor_name, token_id, action, \
     target_kind, target_id, target_label, source_ip, user_agent, details, prev_hash, hash";

/// Appends `ev` to the hash chain inside the caller's write transaction and returns it sealed.
///
/// The first statement bumps the head row (`UPDATE … RETURNING`), which takes the head's write
/// lock, so concurrent appenders (threads or instances) get consecutive `seq` values without gaps.
pub(crate) async fn append_in_tx(
    conn: &mut AnyConnection,
    ev: &NewEvent,
) -> CoreResult<ActivityEvent> {
    let head =
        sqlx::query("UPDATE activity_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
    let seq: i64 = get(&head, "seq")?;
    let prev_hash: String = get(&head, "hash")?;
    let sealed = ActivityEvent::chain(ev, seq, &prev_hash);
    sqlx::query(
        "INSERT INTO activity_events (seq, id, at, actor_kind, actor_id, actor_name, token_id, \
         action, target_kind, target_id, target_label, source_ip, user_agent, details, prev_hash, \
         hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(sealed.seq)
    .bind(&sealed.id)
    .bind(ms(sealed.at))
    .bind(actor_kind_str(sealed.actor_kind))
    .bind(&sealed.actor_id)
    .bind(&sealed.actor_name)
    .bind(&sealed.token_id)
    .bind(&sealed.action)
    .bind(&sealed.target_kind)
    .bind(&sealed.target_id)
    .bind(&sealed.target_label)
    .bind(&sealed.source_ip)
    .bind(&sealed.user_agent)
    .bind(&sealed.details)
    .bind(&sealed.prev_hash)
    .bind(&sealed.hash)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE activity_head SET hash = $1 WHERE id = 1")
        .bind(&sealed.hash)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(sealed)
}

fn actor_kind_str(k: ActorKind) -> &'static str {
    match k {
        ActorKind::Person => "person",
        ActorKind::Bot => "bot",
        ActorKind::System => "system",
        ActorKind::Anonymous => "anonymous",
    }
}

fn actor_kind(s: &str) -> CoreResult<ActorKind> {
    Ok(match s {
        "person" => ActorKind::Person,
        "bot" => ActorKind::Bot,
        "system" => ActorKind::System,
        "anonymous" => ActorKind::Anonymous,
        other => {
            return Err(CoreError::Internal(format!(
                "column `actor_kind`: unknown `{other}`"
            )))
        }
    })
}

fn row_to_event(row: &AnyRow) -> CoreResult<ActivityEvent> {
    Ok(ActivityEvent {
        seq: get(row, "seq")?,
        id: get(row, "id")?,
        at: time(row, "at")?,
        actor_kind: actor_kind(&get::<String>(row, "actor_kind")?)?,
        actor_id: get(row, "actor_id")?,
        actor_name: get(row, "actor_name")?,
        token_id: get(row, "token_id")?,
        action: get(row, "action")?,
        target_kind: get(row, "target_kind")?,
        target_id: get(row, "target_id")?,
        target_label: get(row, "target_label")?,
        source_ip: get(row, "source_ip")?,
        user_agent: get(row, "user_agent")?,
        details: get(row, "details")?,
        prev_hash: get(row, "prev_hash")?,
        hash: get(row, "hash")?,
    })
}

#[async_trait]
impl ActivityStore for SqlStore {
    #[tracing::instrument(skip_all, err, fields(action = %event.action))]
    async fn append(&self, event: &NewEvent) -> CoreResult<ActivityEvent> {
        let mut tx = self.begin_write().await?;
        let sealed = append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(sealed)
    }

    #[tracing::instrument(skip_all, err, fields(action = %event.action))]
    async fn append_throttled(
        &self,
        event: &NewEvent,
        window: chrono::Duration,
    ) -> CoreResult<bool> {
        let (Some(token), Some(target)) = (&event.token_id, &event.target_id) else {
            self.append(event).await?;
            return Ok(true);
        };
        // The write transaction holds the chain lock first, so two concurrent reads by one
        // session cannot both see "not logged yet".
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT MAX(at) AS last FROM activity_events \
             WHERE target_id = $1 AND token_id = $2 AND action = $3",
        )
        .bind(target)
        .bind(token)
        .bind(&event.action)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let last = opt_time(&row, "last")?;
        let due = castellan_core::activity::log_due(last, event.at, window);
        if due {
            append_in_tx(&mut tx, event).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(due)
    }

    /// Newest first. `action` is a prefix; `limit` defaults to 100, `u32::MAX` means all.
    async fn events(&self, f: &ActivityFilter) -> CoreResult<Vec<ActivityEvent>> {
        let mut sql = Sql::new(&format!(
            "SELECT {EVENT_COLS} FROM activity_events WHERE 1 = 1"
        ));
        if let Some(action) = &f.action {
            let exact = sql.text(action.clone());
            let prefix = sql.text(format!("{}%", like_escape(action)));
            sql.push(&format!(
                " AND (action = {exact} OR action LIKE {prefix} ESCAPE '\\')"
            ));
        }
        if let Some(actor) = &f.actor_id {
            let p = sql.text(actor.clone());
            sql.push(&format!(" AND actor_id = {p}"));
        }
        if let Some(target) = &f.target_id {
            let p = sql.text(target.clone());
            sql.push(&format!(" AND target_id = {p}"));
        }
        if let Some(since) = f.since {
            let p = sql.int(ms(since));
            sql.push(&format!(" AND at >= {p}"));
        }
        if let Some(until) = f.until {
            let p = sql.int(ms(until));
            sql.push(&format!(" AND at < {p}"));
        }
        if let Some(before) = f.before_seq {
            let p = sql.int(before);
            sql.push(&format!(" AND seq < {p}"));
        }
        sql.push(" ORDER BY seq DESC");
        let limit = f.limit.unwrap_or(100);
        if limit != u32::MAX {
            let p = sql.int(i64::from(limit));
            sql.push(&format!(" LIMIT {p}"));
        }
        let rows = sql.query().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(row_to_event).collect()
    }

    async fn events_after(&self, after: i64, limit: u32) -> CoreResult<Vec<ActivityEvent>> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLS} FROM activity_events WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(row_to_event).collect()
    }

    async fn chain_head(&self) -> CoreResult<ChainHead> {
        let row = sqlx::query("SELECT seq, hash FROM activity_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(ChainHead {
            seq: get(&row, "seq")?,
            hash: get(&row, "hash")?,
        })
    }
}
