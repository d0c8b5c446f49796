//! How each table is written: one binary `COPY` into a session-local staging table, then one
//! `INSERT … SELECT … ON CONFLICT DO UPDATE`. Two round trips per table per commit, whatever
//! the number of rows. `ticks` rows, which are nearly always new, go straight into the table
//! instead (`tick_copy.rs`), and take this way only when a key is already there.

use chrono::{DateTime, Utc};
use futures::pin_mut;
use rust_decimal::Decimal;
use tickflow_dataflows::{PairRow, TickMetrics, TickRow, WindowRow};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

use super::numeric::Numeric;
use super::session::Session;
use super::DeadLetter;
use crate::store::{timestamp, StoreError};

/// A result table: its columns (with binary types, in staging order) and primary key.
pub struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Type)],
    key: &'static [&'static str],
    /// How staged rows move into the table: for the rows matching each filter, replace the
    /// stored row, or apply the given merge assignments.
    moves: &'static [(&'static str, Option<&'static str>)],
}

const REPLACE: &[(&str, Option<&str>)] = &[("true", None)];

/// `ticks`.
pub const TICKS: Table = Table {
    name: "ticks",
    columns: &[
        ("source_topic", Type::TEXT),
        ("source_partition", Type::INT4),
        ("source_offset", Type::INT8),
        ("pair", Type::TEXT),
        ("ts", Type::TIMESTAMPTZ),
        ("bid", Type::NUMERIC),
        ("ask", Type::NUMERIC),
        ("mid_price", Type::NUMERIC),
        ("spread", Type::NUMERIC),
        ("highest_bid", Type::NUMERIC),
        ("lowest_ask", Type::NUMERIC),
        ("max_spread", Type::NUMERIC),
        ("sma", Type::NUMERIC),
        ("rolling_avg", Type::NUMERIC),
        ("is_late", Type::BOOL),
    ],
    key: &["source_topic", "source_partition", "source_offset"],
    moves: REPLACE,
};

/// `pair_metrics`.
pub const PAIRS: Table = Table {
    name: "pair_metrics",
    columns: &[
        ("pair", Type::TEXT),
        ("ts", Type::TIMESTAMPTZ),
        ("bid", Type::NUMERIC),
        ("ask", Type::NUMERIC),
        ("mid_price", Type::NUMERIC),
        ("spread", Type::NUMERIC),
        ("highest_bid", Type::NUMERIC),
        ("lowest_ask", Type::NUMERIC),
        ("max_spread", Type::NUMERIC),
        ("sma", Type::NUMERIC),
        ("rolling_avg", Type::NUMERIC),
        ("tick_count", Type::INT8),
        ("first_ts", Type::TIMESTAMPTZ),
        ("last_ts", Type::TIMESTAMPTZ),
        ("updated_at", Type::TIMESTAMPTZ),
        ("recent_mids", Type::NUMERIC_ARRAY),
    ],
    key: &["pair"],
    moves: REPLACE,
};

/// `window_aggregates`; staged rows carry one more column, `delta`.
pub const WINDOWS: Table = Table {
    name: "window_aggregates",
    columns: &[
        ("pair", Type::TEXT),
        ("window_seconds", Type::INT4),
        ("window_start", Type::TIMESTAMPTZ),
        ("window_end", Type::TIMESTAMPTZ),
        ("open_mid", Type::NUMERIC),
        ("high_mid", Type::NUMERIC),
        ("low_mid", Type::NUMERIC),
        ("close_mid", Type::NUMERIC),
        ("avg_mid", Type::NUMERIC),
        ("high_bid", Type::NUMERIC),
        ("low_ask", Type::NUMERIC),
        ("min_spread", Type::NUMERIC),
        ("max_spread", Type::NUMERIC),
        ("avg_spread", Type::NUMERIC),
        ("sum_mid", Type::NUMERIC),
        ("sum_spread", Type::NUMERIC),
        ("tick_count", Type::INT8),
        ("first_ts", Type::TIMESTAMPTZ),
        ("last_ts", Type::TIMESTAMPTZ),
        ("late_ticks", Type::INT8),
        ("is_final", Type::BOOL),
        ("updated_at", Type::TIMESTAMPTZ),
        ("delta", Type::BOOL),
    ],
    key: &["pair", "window_seconds", "window_start"],
    moves: &[("NOT delta", None), ("delta", Some(WINDOW_MERGE))],
};

/// `dead_letters`.
pub const DEAD_LETTERS: Table = Table {
    name: "dead_letters",
    columns: &[
        ("source_topic", Type::TEXT),
        ("source_partition", Type::INT4),
        ("source_offset", Type::INT8),
        ("payload", Type::BYTEA),
        ("reason", Type::TEXT),
        ("received_at", Type::TIMESTAMPTZ),
    ],
    key: &["source_topic", "source_partition", "source_offset"],
    moves: REPLACE,
};

/// `source_positions`.
pub const POSITIONS: Table = Table {
    name: "source_positions",
    columns: &[
        ("pipeline", Type::TEXT),
        ("topic", Type::TEXT),
        ("partition", Type::INT4),
        ("next_offset", Type::INT8),
        ("read_to", Type::INT8),
        ("frontier", Type::TIMESTAMPTZ),
        ("updated_at", Type::TIMESTAMPTZ),
    ],
    key: &["pipeline", "topic", "partition"],
    moves: REPLACE,
};

/// `rolling_history`: one segment per pair per commit. A segment id repeats only when the
/// final commit of a bounded run lands on the frontier of the one before; it then appends.
pub const HISTORY: Table = Table {
    name: "rolling_history",
    columns: &[
        ("pair", Type::TEXT),
        ("segment", Type::INT8),
        ("max_ts", Type::TIMESTAMPTZ),
        ("entries", Type::BYTEA),
    ],
    key: &["pair", "segment"],
    moves: &[(
        "true",
        Some(
            "max_ts = GREATEST(t.max_ts, EXCLUDED.max_ts), entries = t.entries || EXCLUDED.entries",
        ),
    )],
};

/// A late window delta merges into the stored row: extremes widen, sums and counts add, the
/// close is the delta's (it was processed last), averages are recomputed from the sums as the
/// engine computes them (`tickflow_mean`, migration 0004).
const WINDOW_MERGE: &str = "
    open_mid = t.open_mid,
    high_mid = GREATEST(t.high_mid, EXCLUDED.high_mid),
    low_mid = LEAST(t.low_mid, EXCLUDED.low_mid),
    close_mid = EXCLUDED.close_mid,
    avg_mid = tickflow_mean(t.sum_mid + EXCLUDED.sum_mid, t.tick_count + EXCLUDED.tick_count),
    high_bid = GREATEST(t.high_bid, EXCLUDED.high_bid),
    low_ask = LEAST(t.low_ask, EXCLUDED.low_ask),
    min_spread = LEAST(t.min_spread, EXCLUDED.min_spread),
    max_spread = GREATEST(t.max_spread, EXCLUDED.max_spread),
    avg_spread = tickflow_mean(t.sum_spread + EXCLUDED.sum_spread, t.tick_count + EXCLUDED.tick_count),
    sum_mid = t.sum_mid + EXCLUDED.sum_mid,
    sum_spread = t.sum_spread + EXCLUDED.sum_spread,
    tick_count = t.tick_count + EXCLUDED.tick_count,
    first_ts = LEAST(t.first_ts, EXCLUDED.first_ts),
    last_ts = GREATEST(t.last_ts, EXCLUDED.last_ts),
    late_ticks = t.late_ticks + EXCLUDED.late_ticks,
    is_final = t.is_final OR EXCLUDED.is_final,
    updated_at = EXCLUDED.updated_at";

/// Creates the staging tables of `tables` on this connection in one transaction. Creating a
/// table writes catalog rows, so each creation of its own was a commit that waited for a WAL
/// flush; one round trip and one flush serve them all, at every writer's start and reconnection.
pub async fn create_stages(client: &Client, tables: &[&Table]) -> Result<(), StoreError> {
    let ddl: Vec<String> = tables.iter().map(|t| t.stage_ddl()).collect();
    client.batch_execute(&ddl.join(";\n")).await?;
    Ok(())
}

impl Table {
    fn stage(&self) -> String {
        format!("tickflow_stage_{}", self.name)
    }

    fn stored_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| *c != "delta")
    }

    /// The staging table of a connection: a temporary table emptied at commit. A staged value
    /// is compressed as the table's column says: the move keeps it as it is.
    fn stage_ddl(&self) -> String {
        let extra = if self.columns.iter().any(|(c, _)| *c == "delta") {
            ", delta BOOLEAN NOT NULL"
        } else {
            ""
        };
        format!(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {} (LIKE {} INCLUDING COMPRESSION{extra}) ON COMMIT DELETE ROWS",
            self.stage(),
            self.name
        )
    }

    /// Writes `rows` in the transaction open on `client`: staged by binary `COPY`, then moved
    /// into the table with one statement per move. Each row's values are built as it is copied
    /// and dropped after, so a commit holds no second copy of its batch.
    pub async fn write<R: Columns>(
        &self,
        client: &Session,
        rows: impl Iterator<Item = R> + Clone,
    ) -> Result<(), StoreError> {
        if rows.clone().next().is_none() {
            return Ok(());
        }
        self.stage_rows(client, rows).await?;
        for (filter, merge) in self.moves {
            self.upsert(client, filter, *merge).await?;
        }
        Ok(())
    }

    /// Binary `COPY` of `rows` into the stage.
    async fn stage_rows<R: Columns>(
        &self,
        client: &Session,
        rows: impl Iterator<Item = R>,
    ) -> Result<u64, StoreError> {
        let writer = self.copy_in(client, &self.stage()).await?;
        pin_mut!(writer);
        for row in rows {
            writer.as_mut().write(&row.columns()).await?;
        }
        Ok(writer.finish().await?)
    }

    /// Starts a binary `COPY` of this table's columns into `target`: the table or its stage.
    pub async fn copy_in(
        &self,
        client: &Session,
        target: &str,
    ) -> Result<BinaryCopyInWriter, StoreError> {
        let columns: Vec<&str> = self.columns.iter().map(|(c, _)| *c).collect();
        let sql = format!("COPY {target} ({}) FROM STDIN BINARY", columns.join(", "));
        let sink = client.copy_in(&client.prepared(&sql).await?).await?;
        Ok(BinaryCopyInWriter::new(sink, &self.types()))
    }

    /// The binary types of its columns, in staging order.
    pub fn types(&self) -> Vec<Type> {
        self.columns.iter().map(|(_, t)| t.clone()).collect()
    }

    /// The table's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Moves the staged rows matching `filter` into the table: replacing rows with the same
    /// key, or merging with `merge` assignments.
    async fn upsert(
        &self,
        client: &Session,
        filter: &str,
        merge: Option<&str>,
    ) -> Result<u64, StoreError> {
        let columns: Vec<&str> = self.stored_columns().collect();
        let assignments = merge.map(str::to_owned).unwrap_or_else(|| {
            columns
                .iter()
                .filter(|c| !self.key.contains(c))
                .map(|c| format!("{c} = EXCLUDED.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        let sql = format!(
            "INSERT INTO {table} AS t ({cols}) SELECT {cols} FROM {stage} WHERE {filter}
             ON CONFLICT ({key}) DO UPDATE SET {assignments}",
            table = self.name,
            cols = columns.join(", "),
            stage = self.stage(),
            key = self.key.join(", "),
        );
        Ok(client.execute(&client.prepared(&sql).await?, &[]).await?)
    }
}

/// A row as its table's column values, in staging order.
pub trait Columns {
    /// The values, borrowed from the row.
    fn columns(&self) -> Vec<&(dyn ToSql + Sync)>;
}

/// Rows built in place, for the small tables whose values are at hand.
impl Columns for Vec<&(dyn ToSql + Sync)> {
    fn columns(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.clone()
    }
}

impl<R: Columns> Columns for &R {
    fn columns(&self) -> Vec<&(dyn ToSql + Sync)> {
        (**self).columns()
    }
}

/// The columns every table shares for a tick's prices and metrics, in staging order.
struct Prices {
    values: [Numeric; 9],
}

impl Prices {
    fn of(row: &TickRow) -> Self {
        let q = &row.tick.quote;
        let TickMetrics {
            highest_bid,
            lowest_ask,
            max_spread,
            sma,
            rolling_avg,
        } = row.metrics;
        Prices {
            values: [
                q.bid,
                q.ask,
                q.mid,
                q.spread,
                highest_bid,
                lowest_ask,
                max_spread,
                sma,
                rolling_avg,
            ]
            .map(Numeric),
        }
    }
}

/// Values of a tick row that need owned storage while the row is written.
pub struct TickValues<'a> {
    topic: &'a str,
    ts: DateTime<Utc>,
    prices: Prices,
    is_late: bool,
    row: &'a TickRow,
}

impl<'a> TickValues<'a> {
    /// Prepares `row` read from `topic`.
    pub fn new(topic: &'a str, row: &'a TickRow) -> Self {
        TickValues {
            topic,
            ts: timestamp(row.tick.quote.ts),
            prices: Prices::of(row),
            is_late: row.tick.is_late(),
            row,
        }
    }
}

/// The `ticks` columns.
impl Columns for TickValues<'_> {
    fn columns(&self) -> Vec<&(dyn ToSql + Sync)> {
        let o = &self.row.tick.origin;
        let mut v: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(TICKS.columns.len());
        v.extend([
            &self.topic as &(dyn ToSql + Sync),
            &o.partition,
            &o.offset,
            &self.row.tick.quote.pair,
            &self.ts,
        ]);
        v.extend(self.prices.values.iter().map(|d| d as &(dyn ToSql + Sync)));
        v.push(&self.is_late);
        v
    }
}

/// Values of a pair row.
pub struct PairValues<'a> {
    last: TickValues<'a>,
    recent_mids: &'a Vec<Decimal>,
    tick_count: i64,
    first_ts: DateTime<Utc>,
    last_ts: DateTime<Utc>,
    now: &'a DateTime<Utc>,
}

impl<'a> PairValues<'a> {
    /// Prepares `row`, stamped `now`.
    pub fn new(row: &'a PairRow, now: &'a DateTime<Utc>) -> Self {
        PairValues {
            last: TickValues::new("", &row.last),
            recent_mids: &row.recent_mids,
            tick_count: row.tick_count as i64,
            first_ts: timestamp(row.first_ts),
            last_ts: timestamp(row.last_ts),
            now,
        }
    }
}

/// The `pair_metrics` columns.
impl Columns for PairValues<'_> {
    fn columns(&self) -> Vec<&(dyn ToSql + Sync)> {
        let mut v: Vec<&(dyn ToSql + Sync)> = vec![&self.last.row.tick.quote.pair, &self.last.ts];
        v.extend(
            self.last
                .prices
                .values
                .iter()
                .map(|d| d as &(dyn ToSql + Sync)),
        );
        v.extend([
            &self.tick_count as &(dyn ToSql + Sync),
            &self.first_ts,
            &self.last_ts,
            self.now,
            self.recent_mids,
        ]);
        v
    }
}

/// Values of a window row.
pub struct WindowValues<'a> {
    row: &'a WindowRow,
    seconds: i32,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    avg_mid: Decimal,
    avg_spread: Decimal,
    counts: [i64; 2],
    first_ts: DateTime<Utc>,
    last_ts: DateTime<Utc>,
    now: &'a DateTime<Utc>,
}

impl<'a> WindowValues<'a> {
    /// Prepares `row`, stamped `now`.
    pub fn new(row: &'a WindowRow, now: &'a DateTime<Utc>) -> Self {
        let k = &row.key;
        WindowValues {
            row,
            seconds: (k.width / 1_000_000) as i32,
            start: timestamp(k.start),
            end: timestamp(k.start + k.width),
            avg_mid: row.agg.avg_mid(),
            avg_spread: row.agg.avg_spread(),
            counts: [row.agg.tick_count as i64, row.agg.late_ticks as i64],
            first_ts: timestamp(row.agg.first_ts),
            last_ts: timestamp(row.agg.last_ts),
            now,
        }
    }
}

/// The staged `window_aggregates` columns.
impl Columns for WindowValues<'_> {
    fn columns(&self) -> Vec<&(dyn ToSql + Sync)> {
        let a = &self.row.agg;
        vec![
            &self.row.key.pair,
            &self.seconds,
            &self.start,
            &self.end,
            &a.open_mid,
            &a.high_mid,
            &a.low_mid,
            &a.close_mid,
            &self.avg_mid,
            &a.high_bid,
            &a.low_ask,
            &a.min_spread,
            &a.max_spread,
            &self.avg_spread,
            &a.sum_mid,
            &a.sum_spread,
            &self.counts[0],
            &self.first_ts,
            &self.last_ts,
            &self.counts[1],
            &self.row.is_final,
            self.now,
            &self.row.delta,
        ]
    }
}

/// Values of a dead letter.
pub struct DeadValues<'a> {
    topic: &'a str,
    dead: &'a DeadLetter,
    now: &'a DateTime<Utc>,
}

impl<'a> DeadValues<'a> {
    /// Prepares `dead` read from `topic`, received `now`.
    pub fn new(topic: &'a str, dead: &'a DeadLetter, now: &'a DateTime<Utc>) -> Self {
        DeadValues { topic, dead, now }
    }
}

/// The `dead_letters` columns.
impl Columns for DeadValues<'_> {
    fn columns(&self) -> Vec<&(dyn ToSql + Sync)> {
        vec![
            &self.topic,
            &self.dead.origin.partition,
            &self.dead.origin.offset,
            &self.dead.payload,
            &self.dead.reason,
            self.now,
        ]
    }
}
