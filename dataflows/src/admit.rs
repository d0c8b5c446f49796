//! Admission: turns a message read from a partition into a [`Tick`] or a dead letter, and moves
//! that partition's watermark. The Kafka source and the in-memory runner both admit through
//! here, so they agree on what is late and when.

use std::time::Instant;

use crate::clock::Clocks;
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

/// Decodes `value`, read at `origin` while the source's capability is at `frontier`.
pub fn admit(
    value: &[u8],
    origin: Origin,
    frontier: Micros,
    late: LatePolicy,
    clocks: &mut Clocks,
    now: Instant,
) -> Result<Tick, Rejection> {
    let quote = match decode(value) {
        Ok(quote) => quote,
        Err(rejection) => {
            clocks.read(origin, None, now);
            return Err(rejection);
        }
    };
    clocks.read(origin, Some(quote.ts), now);
    if quote.ts < frontier && late == LatePolicy::Drop {
        return Err(Rejection::Late);
    }
    let due = quote.ts.max(frontier);
    Ok(Tick { quote, origin, due })
}
