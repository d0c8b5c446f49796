//! `ticks` rows copied straight into the table, inside a savepoint of the open transaction.
//!
//! A tick row is nearly always new, so a plain binary `COPY` into `ticks` costs the server half
//! of what staging and upserting does. The copy can start before its commit: the writer opens
//! the transaction and streams rows as the frontier makes them complete, so PostgreSQL stores
//! them while the rest of the cut is still being computed, and the commit itself only finishes
//! the copy and writes the few pair, window and state rows. A key already in the table (a
//! replay over stored rows) fails the copy; the savepoint is rolled back and the commit's rows
//! take the staged upsert instead, so every write stays an upsert.

use std::pin::Pin;

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::error::SqlState;

use super::session::{Session, BEGIN};
use super::tables::{Columns, TickValues, TICKS};
use crate::store::StoreError;

/// A `COPY` into `ticks` in progress on a connection, inside a transaction it began.
pub struct TickCopy {
    writer: Pin<Box<BinaryCopyInWriter>>,
}

impl TickCopy {
    /// Begins a transaction on `client` and starts the copy in a savepoint. Until the copy is
    /// closed (or dropped, which aborts it), the connection serves nothing else.
    pub async fn begin(client: &Session) -> Result<TickCopy, StoreError> {
        client
            .batch_execute(&format!("{BEGIN}; SAVEPOINT tick_copy"))
            .await?;
        let writer = TICKS.copy_in(client, TICKS.name()).await?;
        Ok(TickCopy {
            writer: Box::pin(writer),
        })
    }

    /// Copies `rows`.
    pub async fn write<'a>(
        &mut self,
        rows: impl Iterator<Item = TickValues<'a>>,
    ) -> Result<(), StoreError> {
        for row in rows {
            self.writer.as_mut().write(&row.columns()).await?;
        }
        Ok(())
    }

    /// Ends the copy, leaving the transaction open. When a key was already there, nothing of
    /// the copy stays and `all` (every tick row of the transaction) is upserted instead.
    pub async fn close<'a>(
        mut self,
        client: &Session,
        all: impl Iterator<Item = TickValues<'a>> + Clone,
    ) -> Result<(), StoreError> {
        match self.writer.as_mut().finish().await {
            Ok(_) => Ok(client.batch_execute("RELEASE SAVEPOINT tick_copy").await?),
            Err(error) if error.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                client
                    .batch_execute("ROLLBACK TO SAVEPOINT tick_copy")
                    .await?;
                TICKS.write(client, all).await
            }
            Err(error) => Err(error.into()),
        }
    }
}
