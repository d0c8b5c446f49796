//! The ceiling for per-tick rows: how fast PostgreSQL takes the very rows a pass wrote, by
//! binary `COPY` into the same `ticks` table with its keys and indexes. The rows are read out
//! first, so the timed part is the server accepting them, with no encoding on our side.
//!
//! `COPY … TO STDOUT` hands over one message per row, and a sink's `send` flushes each item:
//! sent as read, the server spent two fifths of the `COPY` waiting for the next row (sampled in
//! `pg_stat_activity`, AMD EPYC, 26th sitting). So the rows are sent in chunks of
//! [`CHUNK_BYTES`], as a client loading a file would.

use std::time::Instant;

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use futures::{SinkExt, TryStreamExt};
use tokio_postgres::Client;

use super::server::{self, Activity};

/// Bytes per message of the timed `COPY`: many rows each, as `psql`'s `\copy` or a file load
/// sends them.
const CHUNK_BYTES: usize = 1 << 20;

/// What the `COPY` did.
#[derive(Debug, serde::Serialize)]
pub struct Copied {
    /// Rows copied.
    pub rows: u64,
    /// Time of the `COPY … FROM STDIN`.
    pub seconds: f64,
    /// PostgreSQL's checkpoints and WAL during it.
    pub postgres: Option<Activity>,
}

/// Reads `ticks` out, empties it, and times copying the same bytes back in, from a checkpoint as
/// the pass that wrote them started.
pub async fn copy_ticks(client: &Client) -> anyhow::Result<Copied> {
    let out = client
        .copy_out("COPY ticks TO STDOUT (FORMAT binary)")
        .await
        .context("COPY ticks TO STDOUT")?;
    let rows: Vec<Bytes> = out.try_collect().await.context("reading ticks out")?;
    let chunks = coalesce(rows);
    client
        .batch_execute("TRUNCATE ticks")
        .await
        .context("emptying ticks")?;
    let before = super::checkpoint(client).await;
    let started = Instant::now();
    let sink = client
        .copy_in::<_, Bytes>("COPY ticks FROM STDIN (FORMAT binary)")
        .await
        .context("COPY ticks FROM STDIN")?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.send(chunk).await.context("copying ticks in")?;
    }
    let rows = sink.finish().await.context("finishing the COPY")?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Copied {
        rows,
        seconds,
        postgres: server::between(before, server::read(client).await),
    })
}

/// `pieces` joined, in order, into chunks of about [`CHUNK_BYTES`].
fn coalesce(pieces: Vec<Bytes>) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut chunk = BytesMut::with_capacity(CHUNK_BYTES);
    for piece in pieces {
        chunk.extend_from_slice(&piece);
        if chunk.len() >= CHUNK_BYTES {
            // A fresh buffer of full size: `split` would leave none, and growing from nothing
            // copies each chunk again on the way.
            let full = std::mem::replace(&mut chunk, BytesMut::with_capacity(CHUNK_BYTES));
            chunks.push(full.freeze());
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk.freeze());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_keeps_the_bytes_in_order_in_few_chunks() {
        let pieces: Vec<Bytes> = (0..100_000u32)
            .map(|i| Bytes::from(i.to_be_bytes().repeat(3)))
            .collect();
        let joined: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
        let chunks = coalesce(pieces);
        assert_eq!(chunks.concat(), joined);
        assert_eq!(chunks.len(), joined.len().div_ceil(CHUNK_BYTES));
    }
}
