//! `postgres_sink`: hands a worker's updates to the writer, then its frontier.
//!
//! Order matters: a worker sends every update before the frontier that says they are complete,
//! over one FIFO channel, so when the writer has seen frontier F from every worker it holds
//! every update computed from ticks due before F.

use tickflow_dataflows::{Micros, Update};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;
use tokio::sync::mpsc::Sender;

use super::ToWriter;

/// Sends a stream of updates to the writer.
pub trait PostgresSink {
    /// Consumes the stream; `worker` names this worker's frontier reports.
    fn postgres_sink(self, worker: usize, writer: Sender<ToWriter>);
}

impl<'scope> PostgresSink for Stream<'scope, Micros, Vec<Update>> {
    fn postgres_sink(self, worker: usize, writer: Sender<ToWriter>) {
        let mut reported = Some(Micros::MIN);
        self.sink(Pipeline, "PostgresSink", move |(input, frontier)| {
            input.for_each(|time, data| {
                // One capability per session upstream: the stamp is that one time.
                let time = time.least().copied().unwrap_or_default();
                let updates = std::mem::take(data);
                // A send fails only when the writer stopped; the run then ends with its error.
                let _ = writer.blocking_send(ToWriter::Updates { time, updates });
            });
            let now = frontier.frontier().first().copied();
            if now != reported {
                reported = now;
                let _ = writer.blocking_send(ToWriter::Frontier {
                    worker,
                    frontier: now,
                });
            }
        });
    }
}
