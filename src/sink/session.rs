//! One of the writer's connections, with the statements it has prepared on it.
//!
//! A commit runs the same dozen statements every time. Sent as text, each is parsed and planned
//! anew and takes a round trip to prepare before the one that runs it: on a live pass that was
//! 1.9 ms of the 15 ms PostgreSQL spent on a commit's statements after its tick rows, and a
//! dozen round trips (benches/HISTORY.md "Figures of the fourteenth sitting"). Prepared once
//! per connection, a statement runs in one round trip. A new connection (after an outage)
//! starts with none.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Mutex;

use tokio_postgres::{Client, Error, Statement};

/// How the writer begins a transaction. The next one begins on the other connection (copying
/// tick rows ahead) before the last one's commit ends, and later rewrites rows that commit wrote:
/// at read committed each statement sees them, where a database whose transactions default to
/// repeatable read or serializable would fail it as a concurrent update.
pub const BEGIN: &str = "BEGIN ISOLATION LEVEL READ COMMITTED";

/// A connection and its prepared statements, by their text.
pub struct Session {
    client: Client,
    prepared: Mutex<HashMap<String, Statement>>,
}

impl Session {
    /// A session on `client`, with nothing prepared yet.
    pub fn new(client: Client) -> Session {
        Session {
            client,
            prepared: Mutex::default(),
        }
    }

    /// `sql` prepared on this connection: the first time by asking the server, after that
    /// from memory.
    pub async fn prepared(&self, sql: &str) -> Result<Statement, Error> {
        if let Some(statement) = self.cached(sql) {
            return Ok(statement);
        }
        let statement = self.client.prepare(sql).await?;
        if let Ok(mut prepared) = self.prepared.lock() {
            prepared.insert(sql.to_owned(), statement.clone());
        }
        Ok(statement)
    }

    fn cached(&self, sql: &str) -> Option<Statement> {
        self.prepared.lock().ok()?.get(sql).cloned()
    }
}

impl Deref for Session {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}
