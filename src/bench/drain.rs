//! The raw drain: a plain librdkafka consumer (its default settings, not tickflow's smaller
//! prefetch) reading every assigned partition from its start to a given end and doing nothing
//! with the messages. What the broker and librdkafka deliver to one process is the ceiling of
//! any pipeline built on them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// How long the drain waits for a message before it gives up.
const STALL: Duration = Duration::from_secs(30);

/// What a drain read.
#[derive(Debug, serde::Serialize)]
pub struct Drained {
    /// Messages read.
    pub messages: u64,
    /// Payload bytes read.
    pub bytes: u64,
    /// From the assignment to the last message.
    pub seconds: f64,
}

/// Reads `topic` from the start of every partition in `until` to its offset there.
pub fn drain(brokers: &str, topic: &str, until: &BTreeMap<i32, i64>) -> anyhow::Result<Drained> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "tickflow-bench-drain")
        .set("enable.auto.commit", "false")
        .create()
        .with_context(|| format!("kafka consumer for {brokers}"))?;
    let mut assignment = TopicPartitionList::new();
    let mut open: BTreeMap<i32, i64> = BTreeMap::new();
    for (&partition, &end) in until.iter().filter(|(_, &end)| end > 0) {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .context("building the assignment")?;
        open.insert(partition, end);
    }
    consumer
        .assign(&assignment)
        .with_context(|| format!("kafka at {brokers}: assigning {topic}"))?;
    let started = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut last = Instant::now();
    while !open.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                last = Instant::now();
                messages += 1;
                bytes += message.payload_len() as u64;
                let partition = message.partition();
                if open
                    .get(&partition)
                    .is_some_and(|&end| message.offset() + 1 >= end)
                {
                    open.remove(&partition);
                }
            }
            Some(Err(error)) => tracing::warn!(%error, "drain"),
            None if last.elapsed() > STALL => {
                bail!(
                    "kafka at {brokers}: nothing from {topic} for {STALL:?}; still open: {open:?}"
                )
            }
            None => {}
        }
    }
    Ok(Drained {
        messages,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}
