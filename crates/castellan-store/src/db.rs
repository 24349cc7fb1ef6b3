//! Small helpers shared by every table module: error mapping, column decoding, time and id
//! conversions, and a tiny builder for the two queries whose `WHERE` depends on a filter.

use std::str::FromStr;

use castellan_core::{CoreError, CoreResult};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};
use uuid::Uuid;

/// The conflict message when a statement is not expected to violate a unique constraint.
const GENERIC_CONFLICT: &str = "the change conflicts with existing data";

/// Maps a sqlx error to the port's error contract:
/// unique violation → `Conflict(conflict)`, foreign-key violation → `NotFound { kind: missing }`,
/// lock contention, pool timeout, I/O and connection errors → `Unavailable(detail)`, anything
/// else → `Internal(detail)`. Database text only ever lands in `Unavailable`/`Internal` detail,
/// which is logged and never sent to clients.
pub(crate) fn map_err(e: sqlx::Error, conflict: &str, missing: &'static str) -> CoreError {
    if let Some(d) = e.as_database_error() {
        if d.is_unique_violation() {
            return CoreError::Conflict(conflict.to_owned());
        }
        if d.is_foreign_key_violation() {
            return CoreError::NotFound { kind: missing };
        }
        if d.code().is_some_and(|c| is_transient_code(&c)) {
            return CoreError::Unavailable(format!("database busy: {d}"));
        }
        return CoreError::Internal(format!("database: {d}"));
    }
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => CoreError::Unavailable(format!("database: {e}")),
        e => CoreError::Internal(format!("database: {e}")),
    }
}

/// [`map_err`] for statements with no expected constraint violation.
pub(crate) fn db_err(e: sqlx::Error) -> CoreError {
    map_err(e, GENERIC_CONFLICT, "referenced row")
}

/// The violated constraint (PostgreSQL) or the lowercased message (SQLite names
/// `table.column`), only to pick which conflict message to show; never shown itself.
pub(crate) fn violated(e: &sqlx::Error) -> String {
    e.as_database_error()
        .map(|d| {
            d.constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| d.message().to_lowercase())
        })
        .unwrap_or_default()
}

/// SQLite busy/locked and full disk (primary codes 5, 6 and 13 with their extended codes),
/// PostgreSQL serialization failure, deadlock, connection exceptions, shutdown and resource
/// exhaustion (53100 disk full among them).
fn is_transient_code(code: &str) -> bool {
    // A PostgreSQL SQLSTATE always has five characters, and may be all digits (`40001`,
    // `53100`); SQLite's numeric (extended) codes are below 10000.
    if code.len() != 5 {
        if let Ok(n) = code.parse::<i64>() {
            return matches!(n & 0xff, 5 | 6 | 13);
        }
    }
    code == "40001"
        || code == "40P01"
        || code.starts_with("08")
        || code.starts_with("53")
        || code.starts_with("57P")
}

/// Unix milliseconds.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Unix milliseconds, if any.
pub(crate) fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

/// `true`/`false` as 1/0.
pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// A column's value. A missing column or a type mismatch is `Internal`.
pub(crate) fn get<'r, T>(row: &'r AnyRow, col: &str) -> CoreResult<T>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(col)
        .map_err(|e| CoreError::Internal(format!("reading column `{col}`: {e}")))
}

/// A millisecond column as a time.
pub(crate) fn time(row: &AnyRow, col: &str) -> CoreResult<DateTime<Utc>> {
    from_ms(get(row, col)?, col)
}

/// A nullable millisecond column as a time.
pub(crate) fn opt_time(row: &AnyRow, col: &str) -> CoreResult<Option<DateTime<Utc>>> {
    get::<Option<i64>>(row, col)?
        .map(|v| from_ms(v, col))
        .transpose()
}

fn from_ms(v: i64, col: &str) -> CoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(v)
        .single()
        .ok_or_else(|| CoreError::Internal(format!("column `{col}`: {v} is not a valid time")))
}

/// A 0/1 column as a boolean.
pub(crate) fn boolean(row: &AnyRow, col: &str) -> CoreResult<bool> {
    Ok(get::<i64>(row, col)? != 0)
}

/// A UUID text column.
pub(crate) fn uuid(row: &AnyRow, col: &str) -> CoreResult<Uuid> {
    let s: String = get(row, col)?;
    Uuid::parse_str(&s)
        .map_err(|_| CoreError::Internal(format!("column `{col}`: `{s}` is not a UUID")))
}

/// A nullable UUID text column.
pub(crate) fn opt_uuid(row: &AnyRow, col: &str) -> CoreResult<Option<Uuid>> {
    match get::<Option<String>>(row, col)? {
        None => Ok(None),
        Some(s) => Uuid::parse_str(&s)
            .map(Some)
            .map_err(|_| CoreError::Internal(format!("column `{col}`: `{s}` is not a UUID"))),
    }
}

/// A text column parsed with `FromStr` (the model's enums).
pub(crate) fn parse<T: FromStr<Err = CoreError>>(row: &AnyRow, col: &str) -> CoreResult<T> {
    let s: String = get(row, col)?;
    s.parse()
        .map_err(|e| CoreError::Internal(format!("column `{col}`: {e}")))
}

/// The error for a JSON column that does not parse (or a value that does not serialize).
pub(crate) fn bad_json(col: &'static str) -> impl Fn(serde_json::Error) -> CoreError {
    move |e| CoreError::Internal(format!("column `{col}`: {e}"))
}

/// A nullable JSON text column: `None` when NULL, else the value it holds.
pub(crate) fn opt_json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    col: &'static str,
) -> CoreResult<Option<T>> {
    get::<Option<String>>(row, col)?
        .map(|s| serde_json::from_str(&s).map_err(bad_json(col)))
        .transpose()
}

/// A value as JSON text for a nullable column (`None` stays NULL).
pub(crate) fn opt_json_text<T: serde::Serialize>(
    v: Option<&T>,
    col: &'static str,
) -> CoreResult<Option<String>> {
    v.map(|v| serde_json::to_string(v).map_err(bad_json(col)))
        .transpose()
}

/// A `LIKE` pattern matching `s` anywhere, for use with `ESCAPE '\'`.
pub(crate) fn like_contains(s: &str) -> String {
    format!("%{}%", like_escape(s))
}

/// Escapes `\`, `%` and `_` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A bound value of a [`Sql`] builder.
enum Arg {
    Text(String),
    Int(i64),
    OptText(Option<String>),
    OptInt(Option<i64>),
}

/// A query whose text is assembled at run time, numbering `$N` placeholders as values are
/// added (sqlx's `QueryBuilder` writes `?` for `Any`, which PostgreSQL rejects).
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// Starts with `text`.
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: vec![],
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Adds a text value; returns its placeholder.
    pub(crate) fn text(&mut self, v: impl Into<String>) -> String {
        self.args.push(Arg::Text(v.into()));
        format!("${}", self.args.len())
    }

    /// Adds an integer value; returns its placeholder.
    pub(crate) fn int(&mut self, v: i64) -> String {
        self.args.push(Arg::Int(v));
        format!("${}", self.args.len())
    }

    /// Adds a nullable text value; returns its placeholder.
    pub(crate) fn opt_text(&mut self, v: Option<String>) -> String {
        self.args.push(Arg::OptText(v));
        format!("${}", self.args.len())
    }

    /// Adds a nullable integer value; returns its placeholder.
    pub(crate) fn opt_int(&mut self, v: Option<i64>) -> String {
        self.args.push(Arg::OptInt(v));
        format!("${}", self.args.len())
    }

    /// Placeholders for a list of text values: `$3, $4, $5`.
    pub(crate) fn text_list<I: IntoIterator<Item = String>>(&mut self, vs: I) -> String {
        vs.into_iter()
            .map(|v| self.text(v))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The query with every value bound.
    pub(crate) fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Text(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
                Arg::OptText(s) => q.bind(s.as_deref()),
                Arg::OptInt(i) => q.bind(*i),
            };
        }
        q
    }
}

/// Rows per `INSERT` of [`replace_links`]: 500 rows × 2 values, far below both backends' limits.
const LINK_BATCH: usize = 500;

/// Replaces the rows of the link table `table` whose `owner_col` is `owner` with one row per
/// item (`item_col`), in batches; repeats count once. `NotFound { kind: missing }` when an
/// item's foreign key finds no row. Runs on the caller's transaction.
pub(crate) async fn replace_links(
    conn: &mut sqlx::AnyConnection,
    (table, owner_col, item_col): (&str, &str, &str),
    owner: String,
    items: &[String],
    missing: &'static str,
) -> CoreResult<()> {
    sqlx::query(&format!("DELETE FROM {table} WHERE {owner_col} = $1"))
        .bind(&owner)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for chunk in items.chunks(LINK_BATCH) {
        let mut sql = Sql::new(&format!(
            "INSERT INTO {table} ({owner_col}, {item_col}) VALUES "
        ));
        let mut rows = Vec::with_capacity(chunk.len());
        for item in chunk {
            let o = sql.text(owner.clone());
            let i = sql.text(item.clone());
            rows.push(format!("({o}, {i})"));
        }
        sql.push(&rows.join(", "));
        sql.push(&format!(
            " ON CONFLICT ({owner_col}, {item_col}) DO NOTHING"
        ));
        sql.query()
            .execute(&mut *conn)
            .await
            .map_err(|e| map_err(e, "an item appears twice", missing))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains(r"50%_a\b"), r"%50\%\_a\\b%");
    }

    #[test]
    fn placeholders_are_numbered() {
        let mut s = Sql::new("SELECT 1 WHERE a = ");
        let p = s.text("x");
        s.push(&p).push(" AND b IN (");
        let l = s.text_list(["y".to_owned(), "z".to_owned()]);
        s.push(&l).push(")");
        let n = s.int(3);
        assert_eq!(n, "$4");
        assert_eq!(s.text, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
    }

    #[test]
    fn transient_codes() {
        assert!(is_transient_code("5"));
        assert!(is_transient_code("517"));
        assert!(is_transient_code("40P01"));
        assert!(is_transient_code("13"), "SQLITE_FULL");
        assert!(is_transient_code("53100"), "PostgreSQL disk_full");
        assert!(
            is_transient_code("40001"),
            "PostgreSQL serialization failure"
        );
        assert!(is_transient_code("08006"), "PostgreSQL connection failure");
        assert!(
            !is_transient_code("3338"),
            "an SQLite extended code of another kind"
        );
        assert!(!is_transient_code("2067"));
        assert!(!is_transient_code("23505"));
    }
}
