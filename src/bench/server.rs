//! What PostgreSQL did while a pass ran: the checkpoints it started and the WAL it wrote.
//!
//! A checkpoint that starts during a pass can slow its commits (the first change to each page
//! after it goes into the WAL as the whole page, and its writes compete with the pass's), and
//! the tick rows' own WAL is what brings the next one: so two runs of one pass can differ by
//! whether a checkpoint fell in one of them. Each pass says how many did, and how much WAL it
//! wrote, from counters any role may read; without them (a server that refuses) it says nothing.

use tokio_postgres::Client;

/// PostgreSQL's activity: running totals when read ([`read`]), or what happened between two
/// readings ([`between`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Activity {
    /// Checkpoints the server counted, timed or requested. It counts one as it begins writing
    /// (on 15.20 the count rose while the checkpoint was still spreading its writes), so a
    /// checkpoint counted here started during the pass or shortly before.
    pub checkpoints: i64,
    /// WAL written, bytes.
    pub wal_bytes: i64,
}

/// PostgreSQL 17 moved the checkpoint counters to a view of their own.
const CHECKPOINTER_SINCE: i32 = 170_000;

/// The counters now, or `None` (logged) when the server does not give them.
pub async fn read(client: &Client) -> Option<Activity> {
    let read = async {
        let version: i32 = client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await?
            .try_get(0)?;
        let counters = if version >= CHECKPOINTER_SINCE {
            "SELECT num_timed + num_requested, (pg_current_wal_lsn() - '0/0')::bigint \
             FROM pg_stat_checkpointer"
        } else {
            "SELECT checkpoints_timed + checkpoints_req, (pg_current_wal_lsn() - '0/0')::bigint \
             FROM pg_stat_bgwriter"
        };
        let row = client.query_one(counters, &[]).await?;
        Ok::<_, tokio_postgres::Error>(Activity {
            checkpoints: row.try_get(0)?,
            wal_bytes: row.try_get(1)?,
        })
    };
    read.await
        .inspect_err(|error| tracing::warn!(%error, "no checkpoint or WAL counters"))
        .ok()
}

/// What happened from `before` to `after`, when both were read.
pub fn between(before: Option<Activity>, after: Option<Activity>) -> Option<Activity> {
    let (before, after) = (before?, after?);
    Some(Activity {
        checkpoints: after.checkpoints - before.checkpoints,
        wal_bytes: after.wal_bytes - before.wal_bytes,
    })
}
