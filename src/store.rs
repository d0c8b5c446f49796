//! PostgreSQL outside the hot path: connecting into a pipeline's schema, migrations, and what a
//! run loads at start (positions and pair state).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tickflow_dataflows::{Extremes, Micros, PairState};
use tokio_postgres::{Client, NoTls};

/// The numbered migrations in `migrations/`, applied in order, each once.
const MIGRATIONS: &[(i32, &str, &str)] =
    &[(1, "tables", include_str!("../migrations/0001_tables.sql"))];

/// A failure talking to PostgreSQL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Could not connect.
    #[error("postgres at {target} unreachable: {source}")]
    Connect {
        /// Host and database, without the password.
        target: String,
        /// The driver's error.
        source: tokio_postgres::Error,
    },
    /// A statement failed.
    #[error("postgres: {0}")]
    Query(#[from] tokio_postgres::Error),
}

impl StoreError {
    /// Whether waiting can help: the server is unreachable, restarting or dropped the connection
    /// (SQLSTATE class 08, or 57P01..57P03), as opposed to a statement it rejects.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Connect { .. } => true,
            StoreError::Query(e) => {
                e.is_closed()
                    || e.as_db_error().is_none()
                    || e.code().is_some_and(|c| {
                        c.code().starts_with("08")
                            || matches!(c.code(), "57P01" | "57P02" | "57P03")
                    })
            }
        }
    }
}

/// Connects and points `search_path` at `schema`, creating it when missing. The connection is
/// driven by a task on the current tokio runtime.
pub async fn connect(url: &str, schema: &str) -> Result<Client, StoreError> {
    let target = describe(url);
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|source| StoreError::Connect {
            target: target.clone(),
            source,
        })?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "postgres connection closed");
        }
    });
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\""
        ))
        .await?;
    Ok(client)
}

/// `host:port/db` of a connection string, for messages (never the password).
pub fn describe(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(config) => {
            let host = config
                .get_hosts()
                .first()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(h) => h.clone(),
                    tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
                })
                .unwrap_or_else(|| "localhost".to_owned());
            let port = config.get_ports().first().copied().unwrap_or(5432);
            format!(
                "{host}:{port}/{}",
                config.get_dbname().unwrap_or("postgres")
            )
        }
        Err(_) => "(unparsable connection string)".to_owned(),
    }
}

/// Applies the migrations the schema has not seen. Returns the versions applied.
pub async fn migrate(client: &mut Client, schema: &str) -> Result<Vec<i32>, StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&schema])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS tickflow_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let done: Vec<i32> = tx
        .query("SELECT version FROM tickflow_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| !done.contains(v)) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO tickflow_migrations (version, name) VALUES ($1, $2)",
            &[&version, &name],
        )
        .await?;
        applied.push(version);
    }
    tx.commit().await?;
    Ok(applied)
}

/// The stored next offsets of `pipeline` on `topic`, by partition.
pub async fn positions(
    client: &Client,
    pipeline: &str,
    topic: &str,
) -> Result<BTreeMap<i32, i64>, StoreError> {
    let rows = client
        .query("SELECT partition, next_offset FROM source_positions WHERE pipeline = $1 AND topic = $2", &[&pipeline, &topic])
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The cumulative figures of every pair, so a restarted pipeline never starts them fresh.
pub async fn pair_states(client: &Client) -> Result<HashMap<String, PairState>, StoreError> {
    let rows = client
        .query("SELECT pair, highest_bid, lowest_ask, max_spread, tick_count, first_ts, last_ts FROM pair_metrics", &[])
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let extremes = Extremes {
                highest_bid: r.get::<_, Decimal>(1),
                lowest_ask: r.get(2),
                max_spread: r.get(3),
                tick_count: r.get::<_, i64>(4).max(0) as u64,
                first_ts: micros(r.get(5)),
                last_ts: micros(r.get(6)),
            };
            (r.get(0), PairState::resume(extremes))
        })
        .collect())
}

/// Event time to a Postgres timestamp. Every event time was validated to fit.
pub fn timestamp(micros: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros as i64).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn micros(t: DateTime<Utc>) -> Micros {
    t.timestamp_micros().max(0) as Micros
}
