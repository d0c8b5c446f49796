//! Pair names, each kept once for the life of the process and shared by every tick of its pair.
//!
//! A stream names few pairs, over and over. A tick that owned its name allocated it when decoded
//! and freed it wherever its row was dropped: on the worker that owns the pair, so for a tick
//! that crossed the exchange, on another thread than the one that allocated it, which the
//! allocator handles on a slower path. A kept name is a `&'static str`: a tick carries it without
//! allocating, and dropping it frees nothing. The first [`LIMIT`] names a process sees are kept
//! (at most [`MAX_PAIR_BYTES`](crate::decode::MAX_PAIR_BYTES) each, so their memory stays
//! bounded whatever the stream holds); a name beyond them is owned by its tick, as before.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};

use foldhash::fast::RandomState;

/// A quote's pair: kept for the process, or owned when [`LIMIT`] names are kept already.
pub type PairName = Cow<'static, str>;

/// Names kept at most: 2 MiB of names at 32 bytes each, and about 16 bytes of set entry per name
/// in the process's set and in each decoding thread's.
pub const LIMIT: usize = 65_536;

type Names = HashSet<&'static str, RandomState>;

/// Every kept name, for the thread that sees a name first.
static KEPT: LazyLock<Mutex<Names>> = LazyLock::new(Mutex::default);

/// Set by the first new name refused because [`KEPT`] holds [`LIMIT`], so a stream of ever new
/// names does not take the lock for each.
static FULL: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The kept names this thread has handed out: looked up without a lock.
    static SEEN: RefCell<Names> = RefCell::default();
}

/// `name` as a [`PairName`]: the kept one if there is room to keep it.
pub fn pair_name(name: &str) -> PairName {
    SEEN.with_borrow_mut(|seen| {
        if let Some(&kept) = seen.get(name) {
            return Cow::Borrowed(kept);
        }
        match keep(name) {
            Some(kept) => {
                seen.insert(kept);
                Cow::Borrowed(kept)
            }
            None => Cow::Owned(name.to_owned()),
        }
    })
}

/// Where a kept name lives, address and length: a key that hashes as two words, not as the name's
/// bytes. A `'static` str never changes, so one place holds one name for the life of the process.
/// `None` for an owned name.
pub fn kept_address(name: &PairName) -> Option<(usize, usize)> {
    match name {
        Cow::Borrowed(kept) => Some((kept.as_ptr() as usize, kept.len())),
        Cow::Owned(_) => None,
    }
}

/// The kept copy of `name`, kept now if it is new and there is room.
fn keep(name: &str) -> Option<&'static str> {
    keep_in(&KEPT, &FULL, name, LIMIT)
}

/// `name` as kept in `kept`, leaked into it if new and `kept` holds fewer than `limit`. The first
/// new name refused sets `full`, after which no name is looked up in `kept` again, kept or not.
fn keep_in(
    kept: &Mutex<Names>,
    full: &AtomicBool,
    name: &str,
    limit: usize,
) -> Option<&'static str> {
    if full.load(Ordering::Relaxed) {
        return None;
    }
    let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&name) = kept.get(name) {
        return Some(name);
    }
    if kept.len() >= limit {
        full.store(true, Ordering::Relaxed);
        return None;
    }
    let name: &'static str = Box::leak(name.into());
    kept.insert(name);
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_kept_once_and_shared_between_threads() {
        let here = pair_name("KEPT-USD");
        let there = std::thread::spawn(|| pair_name("KEPT-USD"))
            .join()
            .expect("the thread ends");
        match (here, there) {
            (Cow::Borrowed(here), Cow::Borrowed(there)) => {
                assert_eq!(here, "KEPT-USD");
                assert!(std::ptr::eq(here, there), "one copy for both threads");
            }
            other => panic!("not kept: {other:?}"),
        }
    }

    #[test]
    fn names_beyond_the_limit_are_not_kept() {
        let (kept, full) = (Mutex::default(), AtomicBool::new(false));
        assert_eq!(keep_in(&kept, &full, "A-USD", 2), Some("A-USD"));
        assert_eq!(keep_in(&kept, &full, "B-USD", 2), Some("B-USD"));
        assert_eq!(
            keep_in(&kept, &full, "A-USD", 2),
            Some("A-USD"),
            "kept ones found while there is room"
        );
        assert!(!full.load(Ordering::Relaxed));
        assert_eq!(keep_in(&kept, &full, "C-USD", 2), None);
        assert!(
            full.load(Ordering::Relaxed),
            "the first name refused fills it"
        );
        assert_eq!(
            keep_in(&kept, &full, "A-USD", 2),
            None,
            "once full, not even a kept name takes the lock: a thread that has not seen it owns it"
        );
        assert_eq!(kept.lock().map(|k| k.len()).ok(), Some(2));
    }
}
