//! Which rolling-history segments a commit deletes.
//!
//! A pair's segments whose newest tick is at or before its `keep_after` are no longer kept. Deleted
//! rows leave their entries in `rolling_history_expiry` until PostgreSQL cleans their page (a
//! vacuum does), so an expiry that scanned each pair's entries from its first segment stepped over
//! every segment deleted before: with autovacuum off, at 10M messages of 1,000 pairs, that scan
//! grew from 3 % of the writer's backend time in the first 2M rows to 39 % in the last (README,
//! twenty-eighth sitting). [`Expiry`] remembers how far each pair's committed expiries reached, and
//! the next one starts there.

use std::collections::HashMap;

use rust_decimal::Decimal;
use tickflow_dataflows::Micros;

/// Deletes, for each pair `$1`, the segments whose newest tick is in `[$2, $3]`. Most commits
/// expire nothing, so the work must be one short index range per pair
/// (`rolling_history_expiry`), never a pass over the table: joined plainly, PostgreSQL hashes
/// the pairs and scans every segment of every pair, a cost that grows with the table and was a
/// quarter of a live commit. The `OFFSET 0` keeps the per-pair lookup a subquery, so it stays a
/// parameterised index scan, and the matches are deleted by their row address.
pub const EXPIRE: &str = "
    DELETE FROM rolling_history
    WHERE ctid = ANY (ARRAY(
        SELECT expired.ctid
        FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS k(pair, since, keep_after)
        CROSS JOIN LATERAL (
            SELECT h.ctid FROM rolling_history h
            WHERE h.pair = k.pair AND h.max_ts >= k.since AND h.max_ts <= k.keep_after
            OFFSET 0
        ) AS expired
    ))";

/// The newest tick of a segment holding `entries`; `None` for no entries, which write no
/// segment.
pub fn newest(entries: &[(Micros, Decimal)]) -> Option<Micros> {
    entries.iter().map(|&(ts, _)| ts).max()
}

/// Per pair, a time at or before which every segment of the pair is deleted in what is
/// committed. Empty when a run starts: its first expiry of a pair scans from the start.
#[derive(Debug, Default)]
pub struct Expiry(HashMap<String, Micros>);

impl Expiry {
    /// Where `pair`'s expiry in the next commit starts: past what is deleted, or lower where
    /// that commit's own segment of the pair (newest tick `newest`) lies below that.
    pub fn since(&self, pair: &str, newest: Option<Micros>) -> Micros {
        match self.0.get(pair) {
            None => 0,
            Some(&deleted) => {
                let past = deleted.saturating_add(1);
                newest.map_or(past, |newest| newest.min(past))
            }
        }
    }

    /// Learns of a committed expiry of `pair` up to `keep_after`, which started at
    /// [`Expiry::since`] in a commit writing a segment with newest tick `newest`. Everything
    /// at or before the greater of the old bound and `keep_after` is then deleted, but for the
    /// new segment itself when it was kept: the bound stays below it.
    pub fn committed(&mut self, pair: &str, keep_after: Micros, newest: Option<Micros>) {
        let below_kept = |deleted: Micros| match newest {
            Some(newest) if newest > keep_after => deleted.min(newest - 1),
            _ => deleted,
        };
        match self.0.get_mut(pair) {
            Some(bound) => *bound = below_kept((*bound).max(keep_after)),
            None => {
                self.0.insert(pair.to_owned(), below_kept(keep_after));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_not_expired_yet_is_scanned_from_the_start() {
        assert_eq!(Expiry::default().since("P", Some(50)), 0);
    }

    #[test]
    fn the_next_expiry_starts_past_what_is_deleted() {
        let mut expiry = Expiry::default();
        expiry.committed("P", 100, Some(300));
        assert_eq!(expiry.since("P", Some(400)), 101);
        assert_eq!(expiry.since("P", None), 101);
        assert_eq!(expiry.since("Q", Some(400)), 0);
    }

    #[test]
    fn a_new_segment_below_the_bound_is_scanned() {
        let mut expiry = Expiry::default();
        expiry.committed("P", 100, Some(300));
        assert_eq!(expiry.since("P", Some(40)), 40);
    }

    #[test]
    fn a_kept_segment_below_the_old_bound_holds_the_bound_under_it() {
        let mut expiry = Expiry::default();
        expiry.committed("P", 100, Some(300));
        // A later commit's keep-after fell behind, and its new segment (newest tick 80) was
        // kept: segments up to 100 are no longer all deleted.
        expiry.committed("P", 60, Some(80));
        assert_eq!(expiry.since("P", Some(500)), 80);
        // The next commit scanned from 80 to 90, so its bound is 90 again.
        expiry.committed("P", 90, None);
        assert_eq!(expiry.since("P", None), 91);
    }
}
