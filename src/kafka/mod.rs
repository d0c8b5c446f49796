//! The Kafka source, after Materialize's: explicit partition assignment by a pure function of
//! (partition, worker, workers), auto-commit off, positions kept in Postgres.
//!
//! | file | holds |
//! |---|---|
//! | `plan.rs` | resolving `--from`/`--until` into per-partition start and stop offsets, once, at start |
//! | `source.rs` | the timely source operator each worker runs over the partitions it owns |

pub mod plan;
pub mod source;

use std::time::Duration;

use rdkafka::consumer::BaseConsumer;
use rdkafka::ClientConfig;

/// How long one metadata or offset lookup may take before the broker counts as unreachable.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A failure talking to the broker.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The broker did not answer.
    #[error("kafka at {brokers}: {source}")]
    Broker {
        /// `--brokers`.
        brokers: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
    /// The topic does not exist or has no partitions.
    #[error("kafka at {brokers}: topic `{topic}` not found")]
    NoTopic {
        /// `--brokers`.
        brokers: String,
        /// `--topic`.
        topic: String,
    },
}

/// A consumer that never commits by itself and reads only what it is assigned.
pub fn consumer(brokers: &str, group: &str) -> Result<BaseConsumer, SourceError> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("queued.max.messages.kbytes", "16384")
        .set("fetch.wait.max.ms", "50")
        .create()
        .map_err(|source| SourceError::Broker {
            brokers: brokers.to_owned(),
            source,
        })
}
