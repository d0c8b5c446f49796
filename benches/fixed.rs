//! A fixed amount of the in-memory graph, with the page faults and CPU time it took.
//!
//! Criterion chooses how many iterations to run, so totals a process accumulates (page faults,
//! system time) cannot be compared between its runs; these can. Each line is 20 runs of the
//! `dataflow` bench's 200,000 quotes, counted by `getrusage` around the runs alone (making the
//! quotes and copying them is left out): on 1 worker, on 2, and as two separate 1-worker graphs
//! at once, each over its own copy of the quotes. The last shares nothing between its two
//! threads but the machine, so its rate against one worker's is what this machine's two cores
//! give by themselves: the bound two workers of one graph are measured against. The allocator's
//! settings come from the environment where it names them (`MIMALLOC_PURGE_DELAY`, README
//! "Memory against page faults"), so one build compares them.
//!
//! `cargo bench --bench fixed`

use std::time::{Duration, Instant};

use tickflow_dataflows::Origin;

/// For its global allocator, the binary's (`tickflow::allocator`).
extern crate tickflow as _;

#[path = "support/graph.rs"]
mod graph;
#[path = "support/quotes.rs"]
mod quotes;

const RUNS: usize = 20;

/// How one turn runs the graph.
#[derive(Clone, Copy)]
enum Shape {
    /// One graph on this many workers.
    Workers(usize),
    /// Two 1-worker graphs at once, on threads of their own.
    Apart,
}

const SHAPES: [Shape; 3] = [Shape::Workers(1), Shape::Workers(2), Shape::Apart];

impl Shape {
    /// Copies of the quotes one turn reads.
    fn inputs(self) -> usize {
        match self {
            Shape::Workers(_) => 1,
            Shape::Apart => 2,
        }
    }

    /// Runs the graph over `inputs`, one copy each.
    fn run(self, inputs: Vec<Vec<(Origin, Vec<u8>)>>) {
        match self {
            Shape::Workers(workers) => {
                for input in inputs {
                    std::hint::black_box(graph::run(input, workers));
                }
            }
            Shape::Apart => std::thread::scope(|scope| {
                for input in inputs {
                    scope.spawn(|| std::hint::black_box(graph::run(input, 1)));
                }
            }),
        }
    }

    /// Its name in the table's first column.
    fn label(self) -> String {
        match self {
            Shape::Workers(workers) => workers.to_string(),
            Shape::Apart => "1 + 1 apart".to_owned(),
        }
    }
}

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

/// What the runs of one shape took, summed.
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

/// The shapes take turns, run by run, so that a machine whose speed drifts (a shared host)
/// slows each alike and their ratios measure the graph, not the drift.
fn main() {
    let input = graph::input();
    let mut totals: [Totals; 3] = Default::default();
    for _ in 0..RUNS {
        for (shape, totals) in SHAPES.into_iter().zip(&mut totals) {
            let copies = vec![input.clone(); shape.inputs()];
            let before = Usage::now();
            shape.run(copies);
            totals.add(&before, &Usage::now());
        }
    }
    println!("| workers | ticks/s | page faults per M ticks | user CPU s per M ticks | system CPU s per M ticks |");
    println!("|---:|---:|---:|---:|---:|");
    let rates: Vec<f64> = SHAPES
        .iter()
        .zip(&totals)
        .map(|(shape, totals)| {
            let millions = (RUNS * graph::MESSAGES * shape.inputs()) as f64 / 1e6;
            let rate = totals.ticks_per_second(millions);
            println!(
                "| {} | {rate:.0} | {:.0} | {:.3} | {:.3} |",
                shape.label(),
                totals.faults as f64 / millions,
                totals.user.as_secs_f64() / millions,
                totals.system.as_secs_f64() / millions,
            );
            rate
        })
        .collect();
    println!("two workers against one: {:.2} x", rates[1] / rates[0]);
    println!(
        "two 1-worker graphs apart against one (the machine's bound): {:.2} x",
        rates[2] / rates[0]
    );
}
