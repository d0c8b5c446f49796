//! The ceiling for per-tick rows: how fast PostgreSQL takes the very rows a pass wrote, by
//! binary `COPY` into the same `ticks` table with its keys and indexes. The rows are read out
//! first, so the timed part is the server accepting them, with no encoding on our side.

use std::time::Instant;

use anyhow::Context;
use futures::{SinkExt, TryStreamExt};
use tokio_postgres::Client;

/// What the `COPY` did.
#[derive(Debug, serde::Serialize)]
pub struct Copied {
    /// Rows copied.
    pub rows: u64,
    /// Time of the `COPY … FROM STDIN`.
    pub seconds: f64,
}

/// Reads `ticks` out, empties it, and times copying the same bytes back in, from a checkpoint as
/// the pass that wrote them started.
pub async fn copy_ticks(client: &Client) -> anyhow::Result<Copied> {
    let out = client
        .copy_out("COPY ticks TO STDOUT (FORMAT binary)")
        .await
        .context("COPY ticks TO STDOUT")?;
    let chunks: Vec<bytes::Bytes> = out.try_collect().await.context("reading ticks out")?;
    client
        .batch_execute("TRUNCATE ticks")
        .await
        .context("emptying ticks")?;
    super::checkpoint(client).await;
    let started = Instant::now();
    let sink = client
        .copy_in::<_, bytes::Bytes>("COPY ticks FROM STDIN (FORMAT binary)")
        .await
        .context("COPY ticks FROM STDIN")?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.send(chunk).await.context("copying ticks in")?;
    }
    let rows = sink.finish().await.context("finishing the COPY")?;
    Ok(Copied {
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}
