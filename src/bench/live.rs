//! The live pass: quotes produced at an offered rate into a topic a running pipeline reads,
//! while `pair_metrics` is polled. A message counts as committed when its pair's committed
//! `last_ts` reaches its event time; its latency runs from just before it was handed to the
//! producer to the poll that saw it. The poll interval bounds the error (a few ms).
//!
//! The row's `updated_at`, the wall clock at which its commit began writing, splits that latency
//! in two: the wait before the commit (the lateness, Kafka, the graph and the commit interval)
//! and the commit itself (finishing the tick rows' `COPY`, the pair and state rows, `COMMIT`).
//! Which of the two grows tells whether a slow pass waits on its input or on PostgreSQL.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use chrono::{DateTime, Utc};
use tickflow_dataflows::{decode, Micros, PairName};
use tokio_postgres::{Client, Row};

use crate::feed::{Feed, FeedConfig};
use crate::simulate;

/// How often `pair_metrics` is read.
const POLL: Duration = Duration::from_millis(5);
/// How long the measured messages may take to show up after production ends.
const SETTLE: Duration = Duration::from_secs(15);
/// How long the producer's batches wait for more messages. Fewer, larger batches cost a broker
/// less per message, and the embedded broker far less: librdkafka's mock cluster finds a
/// fetch's offset by walking the batches it keeps of the partition (up to 5 MiB) from the
/// oldest. At 50,000 messages/s with the default 5 ms its thread took a third of a core of the
/// machine being measured, most of it in that walk, and a tenth with 20 ms. The wait counts in
/// each message's measured latency.
const LINGER: Duration = Duration::from_millis(20);

/// What the live pass produces.
pub struct Offer<'a> {
    /// Kafka bootstrap servers.
    pub brokers: &'a str,
    /// The topic the pipeline reads.
    pub topic: &'a str,
    /// The feed: pairs, partitions and seed; its times and rate are set here.
    pub feed: FeedConfig,
    /// Messages per second.
    pub rate: u64,
    /// Produced before the measured messages.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
    /// Produced after the measured messages, so that the frontier passes them.
    pub tail: Duration,
}

/// Produce-to-commit latency of the measured messages, and its two parts.
#[derive(Debug, serde::Serialize)]
pub struct Latency {
    /// `--rate`.
    pub offered_rate: u64,
    /// Messages per second produced while measuring.
    pub achieved_rate: f64,
    /// Messages measured.
    pub measured: u64,
    /// Measured messages not seen committed within the settling time.
    pub unobserved: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
    /// From the hand-off to the producer to the start of the commit that stored the message.
    pub before_commit: Quantiles,
    /// From the start of that commit to the poll that saw it.
    pub in_commit: Quantiles,
}

/// Quantiles of one part of the latency.
#[derive(Debug, serde::Serialize)]
pub struct Quantiles {
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// One measured message's latency and the part of it spent in its commit.
struct Seen {
    total: Duration,
    in_commit: Duration,
}

struct Sent {
    ts: Micros,
    at: Instant,
    measured: bool,
}

/// Messages sent and not yet seen committed, by pair, in event-time order.
#[derive(Default)]
struct Pending {
    by_pair: Mutex<HashMap<PairName, VecDeque<Sent>>>,
    measured_outstanding: AtomicU64,
}

/// Runs the offer while `client` (on the pipeline's schema) watches `pair_metrics`.
pub fn measure(
    runtime: &tokio::runtime::Runtime,
    client: Client,
    offer: Offer<'_>,
) -> anyhow::Result<Latency> {
    let pending = Arc::new(Pending::default());
    let stop = Arc::new(AtomicBool::new(false));
    let observer = runtime.spawn(observe(client, pending.clone(), stop.clone()));
    let produced = produce(&offer, &pending);
    let settle_until = Instant::now() + SETTLE;
    while pending.measured_outstanding.load(Ordering::Relaxed) > 0 && Instant::now() < settle_until
    {
        std::thread::sleep(POLL);
    }
    stop.store(true, Ordering::Relaxed);
    let seen = runtime
        .block_on(observer)
        .map_err(|e| anyhow!("the pair_metrics observer failed: {e}"))?;
    let measured = produced?;
    let total = sorted(seen.iter().map(|s| s.total));
    let before_commit = sorted(seen.iter().map(|s| s.total - s.in_commit));
    let in_commit = sorted(seen.iter().map(|s| s.in_commit));
    Ok(Latency {
        offered_rate: offer.rate,
        achieved_rate: measured as f64 / offer.duration.as_secs_f64(),
        measured,
        unobserved: pending.measured_outstanding.load(Ordering::Relaxed),
        p50_ms: quantile(&total, 0.50),
        p99_ms: quantile(&total, 0.99),
        max_ms: quantile(&total, 1.0),
        before_commit: Quantiles::of(&before_commit),
        in_commit: Quantiles::of(&in_commit),
    })
}

impl Quantiles {
    fn of(sorted: &[Duration]) -> Self {
        Quantiles {
            p50_ms: quantile(sorted, 0.50),
            p99_ms: quantile(sorted, 0.99),
        }
    }
}

fn sorted(durations: impl Iterator<Item = Duration>) -> Vec<Duration> {
    let mut sorted: Vec<Duration> = durations.collect();
    sorted.sort_unstable();
    sorted
}

/// The `q` quantile of `sorted` by the nearest rank, in ms; NaN when it is empty.
fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted
        .get(rank - 1)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// Produces the offer at its rate; returns how many messages were measured.
fn produce(offer: &Offer<'_>, pending: &Pending) -> anyhow::Result<u64> {
    let producer = simulate::producer(offer.brokers, simulate::DEFAULT_BATCH_SIZE, LINGER)?;
    let feed = Feed::new(FeedConfig {
        start_ms: simulate::now_ms(),
        step_us: (1_000_000 / offer.rate).max(1),
        ..offer.feed.clone()
    });
    let measuring = offer.warmup..offer.warmup + offer.duration;
    let end = measuring.end + offer.tail;
    let started = Instant::now();
    let mut measured = 0;
    for (sent, message) in feed.enumerate() {
        if sent % 64 == 0 {
            let due = Duration::from_secs_f64(sent as f64 / offer.rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
            if started.elapsed() >= end {
                break;
            }
        }
        let quote = decode(&message.value)
            .map_err(|rejection| anyhow!("the live feed made a bad quote: {rejection:?}"))?;
        let at = Instant::now();
        let is_measured = measuring.contains(&(at - started));
        if is_measured {
            measured += 1;
            pending.measured_outstanding.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut by_pair) = pending.by_pair.lock() {
            by_pair.entry(quote.pair).or_default().push_back(Sent {
                ts: quote.ts,
                at,
                measured: is_measured,
            });
        }
        simulate::send(&producer, offer.topic, &message)
            .with_context(|| format!("kafka at {}", offer.brokers))?;
        if sent % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    simulate::finish(&producer).with_context(|| format!("kafka at {}", offer.brokers))?;
    Ok(measured)
}

/// Polls `pair_metrics` until `stop`, taking each pair's committed messages off `pending`.
/// The query is prepared once: 200 polls a second, each parsed and planned anew, cost
/// PostgreSQL a share of the machine the pass is measuring. It cannot be prepared until the
/// pipeline has created its tables; until then the polls are skipped.
async fn observe(client: Client, pending: Arc<Pending>, stop: Arc<AtomicBool>) -> Vec<Seen> {
    let mut latencies = Vec::new();
    let mut poll = None;
    while !stop.load(Ordering::Relaxed) {
        if poll.is_none() {
            poll = client
                .prepare("SELECT pair, last_ts, updated_at FROM pair_metrics")
                .await
                .ok();
        }
        let rows = match &poll {
            Some(statement) => client.query(statement, &[]).await.ok(),
            None => None,
        };
        if let Some(rows) = rows {
            take_committed(&rows, &pending, &mut latencies);
        }
        tokio::time::sleep(POLL).await;
    }
    latencies
}

/// Takes the messages each polled row shows committed off `pending`, recording the measured
/// ones. A row's `updated_at` is when its commit began, so the commit's share of a message's
/// latency runs from there to the poll.
fn take_committed(rows: &[Row], pending: &Pending, latencies: &mut Vec<Seen>) {
    let (seen, seen_wall) = (Instant::now(), Utc::now());
    let Ok(mut by_pair) = pending.by_pair.lock() else {
        return;
    };
    for row in rows {
        let (Ok(pair), Ok(last), Ok(updated)) = (
            row.try_get::<_, &str>(0),
            row.try_get::<_, DateTime<Utc>>(1),
            row.try_get::<_, DateTime<Utc>>(2),
        ) else {
            continue;
        };
        let Some(queue) = by_pair.get_mut(pair) else {
            continue;
        };
        let last = last.timestamp_micros().max(0) as Micros;
        let in_commit = (seen_wall - updated).to_std().unwrap_or_default();
        while let Some(sent) = queue.front().filter(|s| s.ts <= last) {
            if sent.measured {
                let total = seen - sent.at;
                // The commit began after the message was sent: clamped to the whole, as the
                // poll reads its two clocks a few µs apart.
                let in_commit = in_commit.min(total);
                latencies.push(Seen { total, in_commit });
                pending.measured_outstanding.fetch_sub(1, Ordering::Relaxed);
            }
            queue.pop_front();
        }
    }
}
