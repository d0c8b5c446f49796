//! The Kafka source, after Materialize's: explicit partition assignment by a pure function of
//! (partition, worker, workers), auto-commit off, positions kept in Postgres.
//!
//! | file | holds |
//! |---|---|
//! | `plan.rs` | resolving `--from`/`--until` into per-partition start and stop offsets, once, at start |
//! | `source.rs` | the timely source operator each worker runs over the partitions it owns |
//! | `ends.rs` | the thread that looks partition ends up for a source, so no worker waits on it |

pub mod ends;
pub mod plan;
pub mod source;

use std::time::Duration;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext};
use rdkafka::{ClientConfig, ClientContext};

/// How long one metadata or offset lookup may take before the broker counts as unreachable.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A failure talking to the broker, or setting up to.
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
    /// A source's lookup thread could not be started.
    #[error("starting a thread: {0}")]
    Thread(std::io::Error),
    /// The topic does not exist or has no partitions.
    #[error("kafka at {brokers}: topic `{topic}` not found")]
    NoTopic {
        /// `--brokers`.
        brokers: String,
        /// `--topic`.
        topic: String,
    },
}

/// Settings every tickflow consumer shares: never commits by itself, reads only what it is
/// assigned. Partition ends are looked up, not reported: librdkafka reports an end reached
/// through a split partition queue as a global error that does not name the partition.
///
/// `fetch.wait.max.ms` is how long a broker may hold a fetch that finds nothing new. Kafka
/// answers as soon as there is data, so there it only sets how often an idle partition is
/// asked; a broker that holds every fetch for the whole wait (tansu 0.6 does) delays each
/// message by it, and a live row's latency budget is a few hundred milliseconds.
///
/// librdkafka fetches a partition while its queue holds fewer than `queued.min.messages` and
/// fewer than `queued.max.messages.kbytes`, and each fetch can add `max.partition.fetch.bytes`
/// on top (1 MiB by default, some 9,000 quotes); every fetched message is an op of a few
/// hundred bytes that keeps its whole receive buffer alive. With partitions held back by
/// watermark alignment sitting at the top of that range, the smaller fetch and the shorter
/// queue (1,000 messages instead of 2,500, about what one poll takes from a partition when one
/// worker reads eight) are what bound librdkafka's share of memory.
fn settings(brokers: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .set("queued.min.messages", "1000")
        .set("queued.max.messages.kbytes", "1024")
        .set("fetch.max.bytes", "1048576")
        .set("max.partition.fetch.bytes", "131072")
        .set("fetch.queue.backoff.ms", "20")
        .set("fetch.wait.max.ms", "10");
    config
}

/// A consumer for the source workers; librdkafka's own warnings go to the log.
pub fn consumer(brokers: &str, group: &str) -> Result<BaseConsumer, SourceError> {
    settings(brokers, group)
        .create()
        .map_err(|source| SourceError::Broker {
            brokers: brokers.to_owned(),
            source,
        })
}

/// A consumer for lookups at start: its failures are returned to the caller, who reports them
/// once, instead of being logged at every reconnect attempt.
pub fn quiet_consumer(brokers: &str, group: &str) -> Result<BaseConsumer<Quiet>, SourceError> {
    settings(brokers, group)
        .set_log_level(RDKafkaLogLevel::Emerg)
        .create_with_context(Quiet)
        .map_err(|source| SourceError::Broker {
            brokers: brokers.to_owned(),
            source,
        })
}

/// A client context that logs nothing.
pub struct Quiet;

impl ClientContext for Quiet {
    fn log(&self, _level: RDKafkaLogLevel, _fac: &str, _log_message: &str) {}

    fn error(&self, _error: rdkafka::error::KafkaError, _reason: &str) {}
}

impl ConsumerContext for Quiet {}
