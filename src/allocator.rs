//! The allocator of every tickflow process, the binary's and the benches' alike: mimalloc, told
//! to give freed memory back soon.
//!
//! mimalloc because the graph's many short-lived rows and strings are allocated and freed across
//! threads, where glibc's allocator spent a fifth of the dataflow's time (`cargo bench --bench
//! dataflow`: 447K → 541K ticks/s on one worker). Left at its defaults, mimalloc 3 keeps freed
//! pages for a second (arena pages for ten) and commits whole arenas up front, so a 1,000-pair
//! replay's peak RSS carried some 45 MiB that no live object used. Its options are set before
//! the first allocation (the first arena is made then), from the executable's initializers.
//!
//! Where the environment names an option by mimalloc's own variable (`MIMALLOC_PURGE_DELAY`,
//! `MIMALLOC_ARENA_EAGER_COMMIT`), mimalloc reads it and tickflow leaves it alone: the purge
//! delay trades memory for page faults, and a deployment with memory to spare may choose the
//! other side of that trade (README "Memory against page faults").

use std::ffi::{c_long, CStr};

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
/// them back (`perf` of `graph/1`). At 100 ms, tickflow's delay until the thirty-ninth sitting,
/// workers kept from run to run still faulted about 4,500 (one) and 8,000 (two) times per
/// million ticks in `fixed`, and the faults cost two workers of one process more than one: two
/// kept workers ran at 1.61 × one, two 1-worker graphs apart at 1.68 ×. At 1,000 ms they faulted
/// about 900 and 600 times, ran at 1.79 × and 1.86 ×, two workers 13 % faster and one 3 %
/// (medians of 6 batches each, alternating); a 1,000-pair, 10M-message replay on 2 workers
/// peaked at 182.7–188.7 MB against 175.6–180.3, under issue 4's 200 MB (README, Figures of the
/// thirty-ninth sitting). A deployment short of memory sets `MIMALLOC_PURGE_DELAY` lower
/// (README "Memory against page faults").
const PURGE_DELAY_MS: c_long = 1_000;

/// Runs with the C runtime's initializers, before `main` and before Rust allocates (an ELF
/// initializer: on other systems mimalloc keeps its defaults).
#[used]
#[cfg_attr(target_os = "linux", link_section = ".init_array")]
static CONFIGURE: extern "C" fn() = configure;

/// Each option tickflow sets, the variable by which mimalloc reads it, and tickflow's value.
const OPTIONS: [(mi_option_t, &CStr, c_long); 2] = [
    (PURGE_DELAY, c"MIMALLOC_PURGE_DELAY", PURGE_DELAY_MS),
    (ARENA_EAGER_COMMIT, c"MIMALLOC_ARENA_EAGER_COMMIT", 0),
];

extern "C" fn configure() {
    for (option, variable, value) in OPTIONS {
        // SAFETY: getenv reads the environment the loader set up (nothing allocates or writes
        // it yet); mi_option_set stores a value in mimalloc's option table.
        unsafe {
            if libc::getenv(variable.as_ptr()).is_null() {
                mi_option_set(option, value);
            }
        }
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

    /// Set in a test binary too, from its initializers, unless the environment names them.
    #[test]
    fn the_options_are_set_before_main() {
        for (option, variable, value) in OPTIONS {
            let wanted = match std::env::var(variable.to_str().unwrap_or_default()) {
                Ok(set) => set.parse().unwrap_or(value),
                Err(_) => value,
            };
            // SAFETY: reads mimalloc's option table.
            let got = unsafe { libmimalloc_sys::mi_option_get(option) };
            assert_eq!(got, wanted, "{variable:?}");
        }
    }

    /// A purge delay in the environment wins over tickflow's: the test above, run again in a
    /// child of this test binary with `MIMALLOC_PURGE_DELAY` set, finds mimalloc holding it.
    #[test]
    fn the_environment_names_the_purge_delay() {
        let exe = std::env::current_exe().expect("the test binary");
        let child = std::process::Command::new(exe)
            .args([
                "--exact",
                "allocator::tests::the_options_are_set_before_main",
            ])
            .env("MIMALLOC_PURGE_DELAY", "1234")
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&child.stdout);
        assert!(child.status.success(), "{stdout}");
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
}
