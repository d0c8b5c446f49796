//! A fixed amount of the in-memory graph, with the page faults and CPU time it took.
//!
//! Criterion chooses how many iterations to run, so totals a process accumulates (page faults,
//! system time) cannot be compared between its runs; these can. Each line is 20 runs of the
//! `dataflow` bench's 200,000 quotes on 1 or 2 workers, counted by `getrusage` around the runs
//! alone (making the quotes and copying them is left out). The allocator's settings come from
//! the environment where it names them (`MIMALLOC_PURGE_DELAY`, README "Memory against page
//! faults"), so one build compares them.
//!
//! `cargo bench --bench fixed`

use std::time::{Duration, Instant};

/// For its global allocator, the binary's (`tickflow::allocator`).
extern crate tickflow as _;

#[path = "support/graph.rs"]
mod graph;
#[path = "support/quotes.rs"]
mod quotes;

const RUNS: usize = 20;

/// What the process has used so far.
struct Usage {
    wall: Instant,
    user: Duration,
    system: Duration,
    faults: u64,
}

impl Usage {
    fn now() -> Usage {
        // SAFETY: getrusage fills the struct it is given; all-zero bytes are a valid rusage.
        let usage = unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_SELF, &mut usage);
            usage
        };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Usage {
            wall: Instant::now(),
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
            faults: (usage.ru_minflt + usage.ru_majflt) as u64,
        }
    }
}

fn main() {
    let input = graph::input();
    println!("| workers | ticks/s | page faults per M ticks | user CPU s per M ticks | system CPU s per M ticks |");
    println!("|---:|---:|---:|---:|---:|");
    for workers in [1, 2] {
        let (mut wall, mut user, mut system, mut faults) =
            (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0);
        for _ in 0..RUNS {
            let copy = input.clone();
            let before = Usage::now();
            std::hint::black_box(graph::run(copy, workers));
            let after = Usage::now();
            wall += after.wall - before.wall;
            user += after.user - before.user;
            system += after.system - before.system;
            faults += after.faults - before.faults;
        }
        let millions = (RUNS * graph::MESSAGES) as f64 / 1e6;
        println!(
            "| {workers} | {:.0} | {:.0} | {:.3} | {:.3} |",
            millions * 1e6 / wall.as_secs_f64(),
            faults as f64 / millions,
            user.as_secs_f64() / millions,
            system.as_secs_f64() / millions,
        );
    }
}
