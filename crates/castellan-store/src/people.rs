//! People.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::ids::{DataKeyId, PersonId, VaultId};
use castellan_core::model::{
    NewPassword, PasswordResetRecord, PersonRecord, PersonStatus, PersonTwoStep, TokenRecord,
    WorkspaceRole,
};
use castellan_core::ports::PeopleStore;
use castellan_core::{CoreError, CoreResult};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::activity::append_in_tx;
use crate::db::{
    bad_json, db_err, get, map_err, ms, opt_json_text, opt_ms, opt_time, opt_uuid, parse, time,
    uuid, violated,
};
use crate::tokens::insert_token_in_tx;
use crate::SqlStore;

const PERSON_COLS: &str = "id, email, name, role, status, password_hash, invitation_hash, \
     invitation_expires_at, external_id, created_at, updated_at, totp_secret, totp_vault_id, \
     totp_dek_id, totp_last_step, version, user_name, given_name, family_name, idp_deleted_at, \
     idp_emails";

/// The person columns of `people p` as `p_*`, for joins read with `row_to_person(row, "p_")`.
const PERSON_COLS_AS_P: &str = "p.id AS p_id, p.email AS p_email, \
     p.name AS p_name, p.role AS p_role, p.status AS p_status, \
     p.password_hash AS p_password_hash, p.invitation_hash AS p_invitation_hash, \
     p.invitation_expires_at AS p_invitation_expires_at, p.external_id AS p_external_id, \
     p.created_at AS p_created_at, p.updated_at AS p_updated_at, \
     p.totp_secret AS p_totp_secret, p.totp_vault_id AS p_totp_vault_id, \
     p.totp_dek_id AS p_totp_dek_id, p.totp_last_step AS p_totp_last_step, \
     p.version AS p_version, p.user_name AS p_user_name, p.given_name AS p_given_name, \
     p.family_name AS p_family_name, p.idp_deleted_at AS p_idp_deleted_at, \
     p.idp_emails AS p_idp_emails";

/// The row of `table` (aliased `x`, with a `person_id` and a unique `hash` column) whose hash
/// is `hash`, read by `read` from the columns `cols` (each `x.…`), with its person.
pub(crate) async fn by_hash_with_person<T>(
    pool: &sqlx::AnyPool,
    table: &str,
    cols: &str,
    hash: &str,
    read: fn(&AnyRow) -> CoreResult<T>,
) -> CoreResult<Option<(T, PersonRecord)>> {
    let row = sqlx::query(&format!(
        "SELECT {cols}, {PERSON_COLS_AS_P} FROM {table} x JOIN people p ON p.id = x.person_id \
         WHERE x.hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((read(&r)?, row_to_person(&r, "p_")?))),
    }
}

/// Reads a person from columns named with `prefix` (`""`, or `"p_"` in the token join).
pub(crate) fn row_to_person(row: &AnyRow, prefix: &str) -> CoreResult<PersonRecord> {
    let c = |name: &str| format!("{prefix}{name}");
    Ok(PersonRecord {
        id: PersonId(uuid(row, &c("id"))?),
        email: get(row, &c("email"))?,
        name: get(row, &c("name"))?,
        role: parse(row, &c("role"))?,
        status: parse(row, &c("status"))?,
        password_hash: get(row, &c("password_hash"))?,
        invitation_hash: get(row, &c("invitation_hash"))?,
        invitation_expires_at: opt_time(row, &c("invitation_expires_at"))?,
        external_id: get(row, &c("external_id"))?,
        user_name: get(row, &c("user_name"))?,
        given_name: get(row, &c("given_name"))?,
        family_name: get(row, &c("family_name"))?,
        idp_emails: get::<Option<String>>(row, &c("idp_emails"))?
            .map(|s| serde_json::from_str(&s).map_err(bad_json("idp_emails")))
            .transpose()?
            .unwrap_or_default(),
        idp_deleted_at: opt_time(row, &c("idp_deleted_at"))?,
        two_step: row_to_two_step(row, prefix)?,
        created_at: time(row, &c("created_at"))?,
        updated_at: time(row, &c("updated_at"))?,
        version: get(row, &c("version"))?,
    })
}

/// The two-step columns: `Some` when the sealed secret and its key ids are all present.
fn row_to_two_step(row: &AnyRow, prefix: &str) -> CoreResult<Option<PersonTwoStep>> {
    let c = |name: &str| format!("{prefix}{name}");
    let sealed: Option<Vec<u8>> = get(row, &c("totp_secret"))?;
    let vault = opt_uuid(row, &c("totp_vault_id"))?;
    let dek = opt_uuid(row, &c("totp_dek_id"))?;
    Ok(match (sealed, vault, dek) {
        (Some(sealed_secret), Some(v), Some(d)) => Some(PersonTwoStep {
            sealed_secret,
            vault_id: VaultId(v),
            dek_id: DataKeyId(d),
            last_step: get(row, &c("totp_last_step"))?,
        }),
        _ => None,
    })
}

/// The `idp_emails` column of a person: NULL when the identity provider gave no addresses,
/// else their JSON array.
fn idp_emails_text(p: &PersonRecord) -> CoreResult<Option<String>> {
    opt_json_text(Some(&p.idp_emails).filter(|e| !e.is_empty()), "idp_emails")
}

/// The conflict message for a unique violation on `people`: the one-owner index or the email.
fn person_conflict(e: sqlx::Error, p: &PersonRecord) -> CoreError {
    let what = violated(&e);
    let msg = if what.contains("one_owner") || what.contains("people.role") {
        "the workspace already has an owner".to_owned()
    } else if what.contains("user_name") {
        format!(
            "a person with userName `{}` already exists",
            p.user_name.as_deref().unwrap_or(&p.email)
        )
    } else {
        format!("a person with email `{}` already exists", p.email)
    };
    map_err(e, &msg, "person")
}

/// Inserts a person inside a write transaction. `Conflict` on a duplicate email or a second owner.
pub(crate) async fn insert_person_in_tx(
    conn: &mut AnyConnection,
    p: &PersonRecord,
) -> CoreResult<()> {
    let ts = p.two_step.as_ref();
    sqlx::query(
        "INSERT INTO people (id, email, name, role, status, password_hash, invitation_hash, \
         invitation_expires_at, external_id, created_at, updated_at, totp_secret, \
         totp_vault_id, totp_dek_id, totp_last_step, user_name, given_name, family_name, \
         idp_deleted_at, idp_emails) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20)",
    )
    .bind(p.id.to_string())
    .bind(&p.email)
    .bind(&p.name)
    .bind(p.role.as_str())
    .bind(p.status.as_str())
    .bind(&p.password_hash)
    .bind(&p.invitation_hash)
    .bind(opt_ms(p.invitation_expires_at))
    .bind(&p.external_id)
    .bind(ms(p.created_at))
    .bind(ms(p.updated_at))
    .bind(ts.map(|t| t.sealed_secret.clone()))
    .bind(ts.map(|t| t.vault_id.to_string()))
    .bind(ts.map(|t| t.dek_id.to_string()))
    .bind(ts.and_then(|t| t.last_step))
    .bind(&p.user_name)
    .bind(&p.given_name)
    .bind(&p.family_name)
    .bind(opt_ms(p.idp_deleted_at))
    .bind(idp_emails_text(p)?)
    .execute(conn)
    .await
    .map_err(|e| person_conflict(e, p))?;
    Ok(())
}

#[async_trait]
impl PeopleStore for SqlStore {
    #[tracing::instrument(skip_all, err(level = "debug"), fields(person_id = %p.id))]
    async fn insert_person(&self, p: &PersonRecord, event: &NewEvent) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_person_in_tx(&mut tx, p).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn person(&self, id: PersonId) -> CoreResult<Option<PersonRecord>> {
        let row = sqlx::query(&format!("SELECT {PERSON_COLS} FROM people WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|r| row_to_person(&r, "")).transpose()
    }

    async fn person_by_email(&self, email: &str) -> CoreResult<Option<PersonRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLS} FROM people WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| row_to_person(&r, "")).transpose()
    }

    async fn person_by_user_name(&self, user_name: &str) -> CoreResult<Option<PersonRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PERSON_COLS} FROM people WHERE COALESCE(user_name, email) = $1"
        ))
        .bind(user_name)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|r| row_to_person(&r, "")).transpose()
    }

    async fn people(&self) -> CoreResult<Vec<PersonRecord>> {
        let rows = sqlx::query(&format!("SELECT {PERSON_COLS} FROM people ORDER BY email"))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|r| row_to_person(r, "")).collect()
    }

    /// Replaces email, name, role, status, password and invitation hashes, invitation expiry,
    /// external id and `updated_at` (not the two-step columns: see `set_person_two_step`), only
    /// while the stored version is `p.version`, and adds one to it.
    /// `Conflict` when the email belongs to another person. Deactivating revokes the person's unrevoked
    /// tokens at `p.updated_at`. `NotFound` if the person is missing; `Stale` when the stored
    /// version is another; `Conflict` when the new role would make a second owner.
    // A stale version is an expected outcome of racing writers (retried by core): not an error.
    #[tracing::instrument(skip_all, err(level = "debug"), fields(person_id = %p.id))]
    async fn update_person(&self, p: &PersonRecord, event: &NewEvent) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE people SET name = $1, role = $2, status = $3, password_hash = $4, \
             invitation_hash = $5, invitation_expires_at = $6, external_id = $7, updated_at = $8, \
             email = $10, user_name = $12, given_name = $13, family_name = $14, \
             idp_deleted_at = $15, idp_emails = $16, version = version + 1 \
             WHERE id = $9 AND version = $11",
        )
        .bind(&p.name)
        .bind(p.role.as_str())
        .bind(p.status.as_str())
        .bind(&p.password_hash)
        .bind(&p.invitation_hash)
        .bind(opt_ms(p.invitation_expires_at))
        .bind(&p.external_id)
        .bind(ms(p.updated_at))
        .bind(p.id.to_string())
        .bind(&p.email)
        .bind(p.version)
        .bind(&p.user_name)
        .bind(&p.given_name)
        .bind(&p.family_name)
        .bind(opt_ms(p.idp_deleted_at))
        .bind(idp_emails_text(p)?)
        .execute(&mut *tx)
        .await
        .map_err(|e| person_conflict(e, p))?;
        if done.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 FROM people WHERE id = $1")
                .bind(p.id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .is_some();
            return Err(if exists {
                CoreError::Stale { kind: "person" }
            } else {
                CoreError::NotFound { kind: "person" }
            });
        }
        if p.status == PersonStatus::Deactivated {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE person_id = $2 AND revoked_at IS NULL",
            )
            .bind(ms(p.updated_at))
            .bind(p.id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Demotes `from` first (only while it is the owner), then promotes `to`, so the one-owner
    /// index never sees two owners, and revokes `from`'s SCIM tokens. `Conflict` if `from` is not the owner; `NotFound` if `to` is
    /// missing. Both rows get `updated_at = event.at`.
    #[tracing::instrument(skip_all, err, fields(from = %from, to = %to))]
    async fn transfer_ownership(
        &self,
        from: PersonId,
        to: PersonId,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        let demoted = sqlx::query(
            "UPDATE people SET role = $1, updated_at = $2, version = version + 1 \
                 WHERE id = $3 AND role = $4",
        )
        .bind(WorkspaceRole::SuperAdmin.as_str())
        .bind(ms(event.at))
        .bind(from.to_string())
        .bind(WorkspaceRole::Owner.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if demoted.rows_affected() == 0 {
            return Err(CoreError::Conflict(
                "ownership changed meanwhile: that person is no longer the owner".into(),
            ));
        }
        let promoted = sqlx::query(
            "UPDATE people SET role = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        )
        .bind(WorkspaceRole::Owner.as_str())
        .bind(ms(event.at))
        .bind(to.to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| map_err(e, "the workspace already has an owner", "person"))?;
        if promoted.rows_affected() == 0 {
            return Err(CoreError::NotFound { kind: "person" });
        }
        // SCIM tokens act with their creator's role, and only an Owner may hold one: the old
        // owner's stop with the transfer (the new owner creates their own).
        sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE person_id = $2 AND kind = $3 AND revoked_at IS NULL",
        )
        .bind(ms(event.at))
        .bind(from.to_string())
        .bind(castellan_core::model::TokenKind::Scim.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    #[tracing::instrument(skip_all, err, fields(person_id = %id))]
    async fn set_person_two_step(
        &self,
        id: PersonId,
        two_step: Option<&PersonTwoStep>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE people SET totp_secret = $1, totp_vault_id = $2, totp_dek_id = $3, \
             totp_last_step = $4, updated_at = $5 WHERE id = $6",
        )
        .bind(two_step.map(|t| t.sealed_secret.clone()))
        .bind(two_step.map(|t| t.vault_id.to_string()))
        .bind(two_step.map(|t| t.dek_id.to_string()))
        .bind(two_step.and_then(|t| t.last_step))
        .bind(ms(event.at))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(CoreError::NotFound { kind: "person" });
        }
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)
    }

    #[tracing::instrument(skip_all, err, fields(person_id = %person, token_id = %token.id))]
    async fn sign_in_with_step(
        &self,
        person: PersonId,
        step: i64,
        token: &TokenRecord,
        event: &NewEvent,
    ) -> CoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE people SET totp_last_step = $2 WHERE id = $1 AND totp_secret IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(person.to_string())
        .bind(step)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Ok(false);
        }
        insert_token_in_tx(&mut tx, token).await?;
        append_in_tx(&mut tx, event).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn insert_password_reset(
        &self,
        r: &PasswordResetRecord,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.insert_reset(r, event).await
    }

    async fn password_reset_by_hash(
        &self,
        hash: &str,
    ) -> CoreResult<Option<(PasswordResetRecord, PersonRecord)>> {
        self.reset_by_hash(hash).await
    }

    async fn set_password(
        &self,
        change: &NewPassword,
        event: &NewEvent,
    ) -> CoreResult<Option<u64>> {
        self.store_password(change, event).await
    }
}
