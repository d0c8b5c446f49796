//! PostgreSQL outside the hot path: connecting into a pipeline's schema, migrations, and what a
//! run loads at start (the stored cut: positions and operator state).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tickflow_dataflows::{Extremes, Micros, PairState, PartitionCut, Resume, WindowAgg, WindowKey};
use tokio_postgres::{Client, NoTls, Row};

use crate::sink::history;

/// The numbered migrations in `migrations/`, applied in order, each once.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "tables", include_str!("../migrations/0001_tables.sql")),
    (2, "state", include_str!("../migrations/0002_state.sql")),
    (
        3,
        "byte_keys",
        include_str!("../migrations/0003_byte_keys.sql"),
    ),
    (
        4,
        "exact_mean",
        include_str!("../migrations/0004_exact_mean.sql"),
    ),
    (
        5,
        "history_lz4",
        include_str!("../migrations/0005_history_lz4.sql"),
    ),
];

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
    /// A stored rolling-history segment is not a whole number of records.
    #[error("rolling_history of pair {pair} holds a damaged segment")]
    Damaged {
        /// The pair.
        pair: String,
    },
}

impl StoreError {
    /// Whether waiting can help: the server is unreachable, restarting or dropped the connection
    /// (SQLSTATE class 08, or 57P01..57P03), as opposed to a statement it rejects.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Connect { .. } => true,
            StoreError::Damaged { .. } => false,
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
/// driven by a task on the current tokio runtime. JIT is off: tickflow's statements each touch
/// one commit's rows, and PostgreSQL's estimates for them (temporary stages, array parameters)
/// run high enough to compile expressions for milliseconds a statement, longer than the
/// statement itself.
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
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET search_path TO \"{schema}\"; SET jit = off"
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

/// The cut a schema holds, from which a run resumes.
#[derive(Debug, Default)]
pub struct Stored {
    /// The pipeline whose state the schema holds, if any.
    pub owner: Option<String>,
    /// The operator state at the cut.
    pub resume: Resume,
    /// What the cut covers of each partition of the run's pipeline and topic.
    pub positions: BTreeMap<i32, PartitionCut>,
}

/// Loads the stored cut: the positions of `pipeline` on `topic`, and the state of every pair
/// (its rolling history filtered for `rolling_window`).
pub async fn load(
    client: &Client,
    pipeline: &str,
    topic: &str,
    rolling_window: Micros,
) -> Result<Stored, StoreError> {
    let owner = client
        .query_opt("SELECT pipeline, frontier FROM pipeline_state", &[])
        .await?;
    let positions = client
        .query(
            "SELECT partition, next_offset, read_to, frontier FROM source_positions
             WHERE pipeline = $1 AND topic = $2",
            &[&pipeline, &topic],
        )
        .await?
        .iter()
        .map(|r| {
            let next_offset: i64 = r.get(1);
            let cut = PartitionCut {
                next_offset,
                read_to: r.get::<_, Option<i64>>(2).unwrap_or(next_offset),
                frontier: r.get::<_, Option<DateTime<Utc>>>(3).map_or(0, micros),
            };
            (r.get(0), cut)
        })
        .collect();

    let mut kept: HashMap<String, Vec<(Micros, Decimal)>> = HashMap::new();
    for r in client
        .query("SELECT pair, entries FROM rolling_history", &[])
        .await?
    {
        let pair: String = r.get(0);
        let entries =
            history::decode(r.get(1)).ok_or_else(|| StoreError::Damaged { pair: pair.clone() })?;
        kept.entry(pair).or_default().extend(entries);
    }
    let pairs = client
        .query(
            "SELECT pair, highest_bid, lowest_ask, max_spread, tick_count, first_ts, last_ts,
                    recent_mids FROM pair_metrics",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let pair: String = r.get(0);
            let extremes = Extremes {
                highest_bid: r.get(1),
                lowest_ask: r.get(2),
                max_spread: r.get(3),
                tick_count: r.get::<_, i64>(4).max(0) as u64,
                first_ts: micros(r.get(5)),
                last_ts: micros(r.get(6)),
            };
            let history = kept.remove(&pair).unwrap_or_default();
            let state = PairState::restore(extremes, r.get(7), history, rolling_window);
            (pair, state)
        })
        .collect();
    let windows = client
        .query(
            "SELECT pair, window_seconds, window_start, open_mid, high_mid, low_mid, close_mid,
                    sum_mid, high_bid, low_ask, min_spread, max_spread, sum_spread, tick_count,
                    first_ts, last_ts, late_ticks
             FROM window_aggregates WHERE NOT is_final",
            &[],
        )
        .await?
        .iter()
        .map(open_window)
        .collect();
    Ok(Stored {
        resume: Resume {
            frontier: owner.as_ref().map_or(0, |r| micros(r.get(1))),
            pairs,
            windows,
        },
        owner: owner.map(|r| r.get(0)),
        positions,
    })
}

fn open_window(r: &Row) -> (WindowKey, WindowAgg) {
    let key = WindowKey {
        pair: r.get(0),
        width: r.get::<_, i32>(1).max(0) as Micros * 1_000_000,
        start: micros(r.get(2)),
    };
    let count = |i: usize| r.get::<_, i64>(i).max(0) as u64;
    let agg = WindowAgg {
        open_mid: r.get(3),
        high_mid: r.get(4),
        low_mid: r.get(5),
        close_mid: r.get(6),
        sum_mid: r.get(7),
        high_bid: r.get(8),
        low_ask: r.get(9),
        min_spread: r.get(10),
        max_spread: r.get(11),
        sum_spread: r.get(12),
        tick_count: count(13),
        first_ts: micros(r.get(14)),
        last_ts: micros(r.get(15)),
        late_ticks: count(16),
    };
    (key, agg)
}

/// Event time to a Postgres timestamp. Every event time was validated to fit.
pub fn timestamp(micros: Micros) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros as i64).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A Postgres timestamp to event time.
fn micros(t: DateTime<Utc>) -> Micros {
    t.timestamp_micros().max(0) as Micros
}
