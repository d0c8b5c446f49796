//! Admission: turns a message read from a partition into a [`Tick`] or a dead letter, or
//! recognises it as already processed by the cut a run resumed from, and moves that partition's
//! watermark. The Kafka source and the in-memory runner both admit through here, so they agree
//! on what is late and when.

use std::time::Instant;

use crate::clock::Clocks;
use crate::cut::PartitionCut;
use crate::decode::{decode, Rejection};
use crate::quote::{Micros, Origin, Tick};

/// What happens to a quote that arrives below the frontier (`--late`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LatePolicy {
    /// Process it at the frontier and update the windows it belongs to.
    #[default]
    Update,
    /// Make it a dead letter with reason `late`.
    Drop,
}

/// What became of a message.
#[derive(Debug)]
pub enum Admission {
    /// A tick to process.
    Tick(Tick),
    /// A dead letter.
    Dead(Rejection),
    /// A valid message the stored cut already holds: processing it again would count it twice.
    Covered,
}

/// Decodes `value`, read at `origin` while the source's capability is at `frontier`; `cut` is
/// what the stored cut covers of the partition.
pub fn admit(
    value: &[u8],
    origin: Origin,
    frontier: Micros,
    late: LatePolicy,
    cut: Option<&PartitionCut>,
    clocks: &mut Clocks,
    now: Instant,
) -> Admission {
    let quote = match decode(value) {
        Ok(quote) => quote,
        Err(rejection) => {
            clocks.read(origin, None, now);
            return Admission::Dead(rejection);
        }
    };
    clocks.read(origin, Some(quote.ts), now);
    if cut.is_some_and(|c| c.covers(origin.offset, quote.ts)) {
        return Admission::Covered;
    }
    if quote.ts < frontier && late == LatePolicy::Drop {
        return Admission::Dead(Rejection::Late);
    }
    let due = quote.ts.max(frontier);
    Admission::Tick(Tick { quote, origin, due })
}
