//! Where each partition starts and stops, resolved once at start so a bounded run reads a fixed
//! range however long it takes (`--until end` means the high watermarks read now).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::{SourceError, LOOKUP_TIMEOUT};
use crate::config::{StartSpec, StopSpec};

/// One partition's range: `[start, stop)`, unbounded without `stop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Partition.
    pub partition: i32,
    /// First offset to read.
    pub start: i64,
    /// First offset not to read.
    pub stop: Option<i64>,
}

/// Resolves the ranges of every partition of `topic`.
pub fn resolve<C: ConsumerContext>(
    consumer: &BaseConsumer<C>,
    brokers: &str,
    topic: &str,
    from: &StartSpec,
    until: &StopSpec,
    committed: &BTreeMap<i32, i64>,
) -> Result<Vec<Range>, SourceError> {
    let broker = |source| SourceError::Broker {
        brokers: brokers.to_owned(),
        source,
    };
    let metadata = consumer
        .fetch_metadata(Some(topic), LOOKUP_TIMEOUT)
        .map_err(broker)?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(SourceError::NoTopic {
            brokers: brokers.to_owned(),
            topic: topic.to_owned(),
        });
    }
    let mut watermarks = BTreeMap::new();
    for &p in &partitions {
        watermarks.insert(
            p,
            consumer
                .fetch_watermarks(topic, p, LOOKUP_TIMEOUT)
                .map_err(broker)?,
        );
    }
    let at_time = |t: &DateTime<Utc>| -> Result<BTreeMap<i32, i64>, SourceError> {
        let mut tpl = TopicPartitionList::new();
        for &p in &partitions {
            tpl.add_partition_offset(topic, p, Offset::Offset(t.timestamp_millis()))
                .map_err(broker)?;
        }
        let found = consumer
            .offsets_for_times(tpl, LOOKUP_TIMEOUT)
            .map_err(broker)?;
        Ok(found
            .elements()
            .iter()
            .map(|e| {
                let high = watermarks.get(&e.partition()).map_or(0, |w| w.1);
                let offset = match e.offset() {
                    Offset::Offset(n) => n,
                    _ => high,
                };
                (e.partition(), offset)
            })
            .collect())
    };
    let from_time = match from {
        StartSpec::Timestamp(t) => at_time(t)?,
        _ => BTreeMap::new(),
    };
    let until_time = match until {
        StopSpec::Timestamp(t) => at_time(t)?,
        _ => BTreeMap::new(),
    };

    let mut ranges = Vec::new();
    for &p in &partitions {
        let (low, high) = watermarks[&p];
        let resume = committed.get(&p).copied().unwrap_or(low);
        let start = match from {
            StartSpec::Committed => resume,
            StartSpec::Earliest => low,
            StartSpec::Latest => high,
            StartSpec::Offset(offsets) => offsets.get(p).unwrap_or(resume),
            StartSpec::Timestamp(_) => from_time.get(&p).copied().unwrap_or(high),
        }
        .max(low);
        let stop = match until {
            StopSpec::Never => None,
            StopSpec::End => Some(high),
            StopSpec::Offset(offsets) => Some(offsets.get(p).unwrap_or(start)),
            StopSpec::Timestamp(_) => Some(until_time.get(&p).copied().unwrap_or(high)),
        };
        ranges.push(Range {
            partition: p,
            start,
            stop,
        });
    }
    Ok(ranges)
}
