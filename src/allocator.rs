//! The allocator of every tickflow process, the binary's and the benches' alike: mimalloc, told
//! to give freed memory back soon.
//!
//! mimalloc because the graph's many short-lived rows and strings are allocated and freed across
//! threads, where glibc's allocator spent a fifth of the dataflow's time (`cargo bench --bench
//! dataflow`: 447K → 541K ticks/s on one worker). Left at its defaults, mimalloc 3 keeps freed
//! pages for a second (arena pages for ten) and commits whole arenas up front, so a 1,000-pair
//! replay's peak RSS carried some 45 MiB that no live object used. Its options are set before
//! the first allocation (the first arena is made then), from the executable's initializers.

use std::ffi::c_long;

use libmimalloc_sys::{mi_option_set, mi_option_t};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in `mi_option_e` of mimalloc 3.3 (`MI_MALLOC_VERSION` 30302,
/// libmimalloc-sys 0.1.49); the crate names only the options mimalloc 2 and 3 share. The test
/// below fails when a dependency update brings another mimalloc, whose numbers may differ.
const ARENA_EAGER_COMMIT: mi_option_t = 4;
/// `mi_option_purge_delay`, in milliseconds.
const PURGE_DELAY: mi_option_t = 15;

/// Milliseconds a freed page stays before mimalloc returns it to the OS. At 10 ms (mimalloc 2's
/// default) the graph spent about 13 % of its time in the kernel faulting pages in and giving
/// them back (`perf` of `graph/1`); at 100 ms a
/// 1,000-pair, 10M-message replay on 2 workers peaked at 163 MiB against 160 and ran 60.7 K
/// against 55.3 K messages/s, and `graph/1` and `graph/2` ran 6-18 % faster (README
/// "Benchmarks").
const PURGE_DELAY_MS: c_long = 100;

/// Runs with the C runtime's initializers, before `main` and before Rust allocates (an ELF
/// initializer: on other systems mimalloc keeps its defaults).
#[used]
#[cfg_attr(target_os = "linux", link_section = ".init_array")]
static CONFIGURE: extern "C" fn() = configure;

extern "C" fn configure() {
    // SAFETY: mi_option_set stores a value in mimalloc's option table; nothing else runs yet.
    unsafe {
        mi_option_set(PURGE_DELAY, PURGE_DELAY_MS);
        mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option numbers above are those of this version's header.
    #[test]
    fn the_option_numbers_are_of_this_mimalloc() {
        // SAFETY: reads a constant.
        let version = unsafe { libmimalloc_sys::mi_version() };
        assert_eq!(
            version, 30302,
            "check ARENA_EAGER_COMMIT and PURGE_DELAY in mimalloc.h"
        );
    }

    /// Set in a test binary too, from its initializers.
    #[test]
    fn the_options_are_set_before_main() {
        // SAFETY: reads mimalloc's option table.
        let get = |option| unsafe { libmimalloc_sys::mi_option_get(option) };
        assert_eq!(get(PURGE_DELAY), PURGE_DELAY_MS);
        assert_eq!(get(ARENA_EAGER_COMMIT), 0);
    }
}
