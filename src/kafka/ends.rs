//! Partition ends, looked up on a thread of their own.
//!
//! A high-watermark lookup is a broker round trip, and a busy or stalled broker answers it only
//! at [`LOOKUP_TIMEOUT`](super::LOOKUP_TIMEOUT). On a timely worker that wait stalls every
//! operator of the worker and, through the exchange, the whole graph; and a stop waits for it,
//! since a worker sees the stop only between activations. So the source asks here and reads
//! the answers when they come, and a stop leaves an outstanding lookup to finish on its own.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaResult;

/// A partition's end as the broker gave it: the offset its next message will get.
pub type End = (i32, KafkaResult<i64>);

/// The lookup thread of one consumer. Dropping this ends the thread once its current lookup
/// returns; the thread holds the consumer until then.
pub struct EndLookups {
    requests: Sender<i32>,
    answers: Receiver<End>,
}

impl EndLookups {
    /// Starts the thread that looks up `topic`'s partition ends through `consumer`.
    pub fn start(consumer: Arc<BaseConsumer>, topic: String) -> std::io::Result<EndLookups> {
        let (requests, asked) = channel::<i32>();
        let (answer, answers) = channel();
        std::thread::Builder::new()
            .name("kafka-ends".into())
            .spawn(move || {
                for partition in asked {
                    let end = consumer
                        .fetch_watermarks(&topic, partition, super::LOOKUP_TIMEOUT)
                        .map(|(_, high)| high);
                    if answer.send((partition, end)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(EndLookups { requests, answers })
    }

    /// Asks for `partition`'s end; the answer comes through [`EndLookups::answered`].
    pub fn ask(&self, partition: i32) {
        // The thread outlives its requests' sender, so a send cannot fail.
        let _ = self.requests.send(partition);
    }

    /// The answers that have come since the last call, without waiting.
    pub fn answered(&self) -> impl Iterator<Item = End> + '_ {
        self.answers.try_iter()
    }
}
