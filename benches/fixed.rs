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
const WORKERS: [usize; 2] = [1, 2];

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

/// What the runs of one worker count took, summed.
#[derive(Default)]
struct Totals {
    wall: Duration,
    user: Duration,
    system: Duration,
    faults: u64,
}

impl Totals {
    fn add(&mut self, before: &Usage, after: &Usage) {
        self.wall += after.wall - before.wall;
        self.user += after.user - before.user;
        self.system += after.system - before.system;
        self.faults += after.faults - before.faults;
    }

    fn ticks_per_second(&self, millions: f64) -> f64 {
        millions * 1e6 / self.wall.as_secs_f64()
    }
}

/// One and two workers take turns, run by run, so that a machine whose speed drifts (a shared
/// host) slows both alike and their ratio measures the graph, not the drift.
fn main() {
    let input = graph::input();
    let mut totals: [Totals; 2] = Default::default();
    for _ in 0..RUNS {
        for (workers, totals) in WORKERS.into_iter().zip(&mut totals) {
            let copy = input.clone();
            let before = Usage::now();
            std::hint::black_box(graph::run(copy, workers));
            totals.add(&before, &Usage::now());
        }
    }
    let millions = (RUNS * graph::MESSAGES) as f64 / 1e6;
    println!("| workers | ticks/s | page faults per M ticks | user CPU s per M ticks | system CPU s per M ticks |");
    println!("|---:|---:|---:|---:|---:|");
    for (workers, totals) in WORKERS.iter().zip(&totals) {
        println!(
            "| {workers} | {:.0} | {:.0} | {:.3} | {:.3} |",
            totals.ticks_per_second(millions),
            totals.faults as f64 / millions,
            totals.user.as_secs_f64() / millions,
            totals.system.as_secs_f64() / millions,
        );
    }
    println!(
        "two workers against one: {:.2} x",
        totals[1].ticks_per_second(millions) / totals[0].ticks_per_second(millions)
    );
}
