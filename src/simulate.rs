//! `tickflow simulate`: the [`Feed`] produced into a topic at a rate.
//!
//! Prints, when done, how many messages were acknowledged and each partition's end offset
//! (one past the last acknowledged message): exactly what `--until offset:P=N,...` needs to
//! replay what was produced, whatever the broker reports as its high watermark.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};

use crate::cli::FeedArgs;
use crate::feed::{Feed, FeedConfig, FeedMessage};

/// Messages per produce batch unless told otherwise: librdkafka's own default.
pub const DEFAULT_BATCH_SIZE: u32 = 10_000;

/// How long a batch waits for more messages: librdkafka's own default.
pub const LINGER: Duration = Duration::from_millis(5);

/// What was produced.
#[derive(Debug, Default, serde::Serialize)]
pub struct Produced {
    /// Messages the broker acknowledged.
    pub acknowledged: u64,
    /// Messages that could not be delivered.
    pub failed: u64,
    /// One past the last acknowledged offset, by partition.
    pub end_offsets: BTreeMap<i32, i64>,
}

impl Produced {
    /// `P=N,...`, for `--until offset:`.
    pub fn until(&self) -> String {
        offsets(&self.end_offsets)
    }
}

/// `P=N,...` of per-partition offsets.
pub fn offsets(ends: &BTreeMap<i32, i64>) -> String {
    ends.iter()
        .map(|(p, n)| format!("{p}={n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Delivery counts and each partition's end, from the delivery reports.
#[derive(Default)]
pub struct Deliveries {
    acknowledged: AtomicU64,
    failed: AtomicU64,
    ends: Mutex<BTreeMap<i32, i64>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(message) => {
                self.acknowledged.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut ends) = self.ends.lock() {
                    let end = ends.entry(message.partition()).or_insert(0);
                    *end = (*end).max(message.offset() + 1);
                }
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "delivery failed");
            }
        }
    }
}

/// The feed's configuration from the flags; event times start at `start_ms`.
pub fn feed_config(feed: &FeedArgs, start_ms: i64) -> FeedConfig {
    FeedConfig {
        pairs: feed.pairs.clone(),
        partitions: feed.partitions,
        disorder_ms: feed.disorder.as_millis() as u64,
        invalid: feed.invalid,
        seed: feed.seed,
        start_ms,
        step_us: 1_000_000u64.checked_div(feed.rate).unwrap_or(100).max(1),
    }
}

/// Creates `topic` with `partitions` partitions unless it exists.
pub async fn create_topic(brokers: &str, topic: &str, partitions: u32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .context("kafka admin client")?;
    let new = NewTopic::new(topic, partitions as i32, TopicReplication::Fixed(1));
    let results = admin
        .create_topics(&[new], &AdminOptions::new())
        .await
        .with_context(|| format!("kafka at {brokers}"))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("kafka at {brokers}: creating topic {name}: {code}"),
        }
    }
    Ok(())
}

/// A producer that counts deliveries and batches up to `batch_size` messages, each batch
/// waiting at most `linger` for more.
pub fn producer(
    brokers: &str,
    batch_size: u32,
    linger: Duration,
) -> anyhow::Result<BaseProducer<Deliveries>> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", linger.as_millis().to_string())
        .set("batch.num.messages", batch_size.to_string())
        .set("queue.buffering.max.messages", "200000")
        .set("message.timeout.ms", "60000")
        .create_with_context(Deliveries::default())
        .with_context(|| format!("kafka producer for {brokers}"))
}

/// Hands `message` to `producer`, waiting while its queue is full.
pub fn send(
    producer: &BaseProducer<Deliveries>,
    topic: &str,
    message: &FeedMessage,
) -> anyhow::Result<()> {
    let mut record = BaseRecord::to(topic)
        .partition(message.partition)
        .key(&message.key)
        .payload(&message.value);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(10));
            }
            Err((error, _)) => {
                return Err(error).with_context(|| format!("kafka: producing to {topic}"))
            }
        }
    }
}

/// Waits for every message to be delivered or to fail, and says what happened.
pub fn finish(producer: &BaseProducer<Deliveries>) -> anyhow::Result<Produced> {
    producer
        .flush(Duration::from_secs(60))
        .context("kafka: flushing the producer")?;
    let deliveries = producer.context();
    Ok(Produced {
        acknowledged: deliveries.acknowledged.load(Ordering::Relaxed),
        failed: deliveries.failed.load(Ordering::Relaxed),
        end_offsets: deliveries
            .ends
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default(),
    })
}

/// Produces `feed.count` messages (forever when 0) at `feed.rate` per second, until `stop`.
pub fn produce(
    brokers: &str,
    topic: &str,
    feed: &FeedArgs,
    batch_size: u32,
    start_ms: i64,
    stop: &AtomicBool,
) -> anyhow::Result<Produced> {
    let producer = producer(brokers, batch_size, LINGER)?;
    let started = Instant::now();
    let mut sent = 0u64;
    for message in Feed::new(feed_config(feed, start_ms)) {
        if (feed.count > 0 && sent >= feed.count) || stop.load(Ordering::Relaxed) {
            break;
        }
        if feed.rate > 0 && sent.is_multiple_of(64) {
            let due = Duration::from_secs_f64(sent as f64 / feed.rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        send(&producer, topic, &message).with_context(|| format!("kafka at {brokers}"))?;
        sent += 1;
        if sent.is_multiple_of(1024) {
            producer.poll(Duration::ZERO);
        }
    }
    finish(&producer).with_context(|| format!("kafka at {brokers}"))
}

/// Wall-clock milliseconds: where a live feed's event times start.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
