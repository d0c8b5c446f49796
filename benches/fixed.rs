//! A fixed amount of the in-memory graph, with the page faults and CPU time it took.
//!
//! Criterion chooses how many iterations to run, so totals a process accumulates (page faults,
//! system time) cannot be compared between its runs; these can. Each line is 20 runs of the
//! `dataflow` bench's 200,000 quotes, counted by `getrusage` around the runs alone (making the
//! quotes is left out): on 1 worker, on 2, as two separate 1-worker graphs at once on two threads
//! of this process, both reading the same quotes, and as the same in two child processes, each with
//! quotes of its own. The last two share no state, and each of their runs ends when both graphs are
//! done, as a graph on two workers ends when both are; the threads share the process (its allocator
//! and address space), the processes only the machine. So their rates against one worker's say how
//! much of two workers' shortfall from 2 × is the machine's, how much the process's, and how much
//! the graph's own. A fifth shape runs two workers over the same quotes placed on partitions so
//! that each worker reads only the pairs it owns: no tick crosses from one worker to the other, so
//! its rate against two workers' says how much of the graph's own part is the exchange moving ticks
//! between cores. The last three shapes run the graph on one worker and on two whose threads stay
//! up from run to run ([`KeptWorkers`]), as a service's workers do, and as two 1-worker graphs
//! apart on kept threads: the machine's bound for two kept workers. Every other shape starts new
//! threads each run, which fault in memory that kept threads have again (see [`KeptWorkers`]).
//! Each counted turn of a shape follows an uncounted one of the same shape, so that it meets the
//! memory its own runs leave rather than what the shape before it left: after the processes' turn,
//! through which this process waits idle longer than the allocator's purge delay, two workers with
//! no tick crossing took 41,000 page faults per million ticks and ran at 1.49 × one worker; after
//! an uncounted turn of their own, 5,600 and 2.01 × (medians of 20 batches, README "Benchmarks").
//! After the runs, as many turns time a fixed amount of arithmetic that touches no memory on one
//! thread and on two at once ([`Cores`]): what the cores themselves give two busy threads before
//! memory or the allocator cost anything, and one thread's time, which says how fast the machine
//! ran while the batch did (the same probe `tickflow bench` takes before each pass). Each line also
//! says how busy the shape kept its cores, and for the graphs apart how long the one done first
//! waited for the other: the part of the shortfall that is waiting rather than slower work. The
//! allocator's settings come from the environment where it names them (`MIMALLOC_PURGE_DELAY`,
//! README "Memory against page faults"), so one build compares them.
//!
//! `cargo bench --bench fixed`

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

// Also links the binary's global allocator (`tickflow::allocator`).
use tickflow::bench::cores::Cores;
use tickflow::bench::cpu::Usage;
use tickflow_dataflows::memory::{KeptWorkers, Logs};
use tickflow_dataflows::owner;
use tickflow_dataflows::route::pair_owner;
use tickflow_dataflows::MetricsConfig;

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
    /// Two 1-worker graphs at once, in child processes of their own.
    Processes,
    /// One graph on two workers over [`Inputs::owned`].
    Owned,
    /// One graph on this many workers kept from run to run ([`KeptWorkers`]).
    Kept(usize),
    /// Two 1-worker graphs at once, each on a worker kept from run to run.
    KeptApart,
}

const SHAPES: [Shape; 8] = [
    Shape::Workers(1),
    Shape::Workers(2),
    Shape::Apart,
    Shape::Processes,
    Shape::Owned,
    Shape::Kept(1),
    Shape::Kept(2),
    Shape::KeptApart,
];

/// The quotes the shapes read.
struct Inputs {
    /// The `dataflow` bench's: a pair's partition is not chosen by its owner, so about half the
    /// ticks each of two workers reads belong to the other.
    shared: Logs,
    /// The same quotes, each pair on one of the partitions that the worker owning it (of two)
    /// reads, so no tick crosses the exchange to the other worker.
    owned: Logs,
}

impl Inputs {
    fn new() -> Inputs {
        let workers = Shape::Owned.cores();
        let mut partitions: Vec<Vec<i32>> = vec![Vec::new(); workers];
        for partition in 0..graph::PARTITIONS {
            partitions[owner((0, partition), workers)].push(partition);
        }
        // A worker's pairs in turn over its partitions, so that each partition holds as many
        // pairs as in `shared` and the two inputs differ only in which worker reads a pair.
        let mut given = vec![0; workers];
        let owned = quotes::placed(
            graph::MESSAGES,
            graph::PAIRS,
            graph::SPACING_US,
            |_, name| {
                let worker = pair_owner(name, workers);
                let theirs = &partitions[worker];
                let next = given[worker];
                given[worker] += 1;
                theirs[next % theirs.len()]
            },
        );
        Inputs {
            shared: graph::input(),
            owned: owned.into(),
        }
    }
}

/// The argument that makes this executable a child of [`Shape::Processes`].
const CHILD: &str = "--graph-child";

impl Shape {
    /// Cores one turn keeps busy when nothing waits.
    fn cores(self) -> usize {
        match self {
            Shape::Workers(workers) | Shape::Kept(workers) => workers,
            Shape::Apart | Shape::Processes | Shape::Owned | Shape::KeptApart => 2,
        }
    }

    /// Graphs one turn runs, each over all the quotes.
    fn graphs(self) -> usize {
        match self {
            Shape::Workers(_) | Shape::Owned | Shape::Kept(_) => 1,
            Shape::Apart | Shape::Processes | Shape::KeptApart => 2,
        }
    }

    /// One turn over its quotes in `logs`: the process's own usage around it, and for the
    /// children's graphs what they report of theirs.
    fn turn(self, logs: &Inputs, standing: &mut Standing, totals: &mut Totals) {
        let inputs = match self {
            Shape::Processes | Shape::Kept(_) | Shape::KeptApart => Vec::new(),
            Shape::Owned => vec![logs.owned.clone()],
            _ => vec![logs.shared.clone(); self.graphs()],
        };
        let before = Moment::now();
        match self {
            Shape::Workers(_) | Shape::Owned => {
                for input in inputs {
                    std::hint::black_box(graph::run(input, self.cores()));
                }
            }
            Shape::Apart => {
                let graphs = inputs.into_iter().map(|input| move || graph::run(input, 1));
                totals.apart(&at_once(before.wall, graphs));
            }
            Shape::KeptApart => {
                let graphs = standing.apart.iter_mut().map(|kept| move || kept.count());
                totals.apart(&at_once(before.wall, graphs));
            }
            Shape::Kept(workers) => {
                let kept = &standing.kept[workers - 1];
                std::hint::black_box(kept.count());
            }
            Shape::Processes => {
                let children = &mut standing.children;
                children.iter_mut().for_each(GraphChild::go);
                let reports: Vec<Report> = children.iter_mut().map(GraphChild::done).collect();
                let wall = before.wall.elapsed();
                totals.wall += wall;
                totals.runs.push(wall);
                reports.iter().for_each(|report| totals.add_child(report));
                let finished: Vec<Duration> = reports.iter().map(|report| report.wall).collect();
                totals.apart(&finished);
                return;
            }
        }
        totals.add(&before, &Moment::now());
    }

    /// Its name in the table's first column.
    fn label(self) -> String {
        match self {
            Shape::Workers(workers) => workers.to_string(),
            Shape::Apart => "1 + 1 apart, threads".to_owned(),
            Shape::Processes => "1 + 1 apart, processes".to_owned(),
            Shape::Owned => "2, no tick crossing".to_owned(),
            Shape::Kept(workers) => format!("{workers}, workers kept"),
            Shape::KeptApart => "1 + 1 apart, workers kept".to_owned(),
        }
    }
}

/// What a child reports of one run: its own usage around it.
struct Report {
    wall: Duration,
    user: Duration,
    system: Duration,
    faults: u64,
}

/// Runs `graphs` at once, each on a thread of its own: when each was done after `start`.
fn at_once<F>(start: Instant, graphs: impl Iterator<Item = F>) -> Vec<Duration>
where
    F: FnOnce() -> usize + Send,
{
    std::thread::scope(|scope| {
        let running: Vec<_> = graphs
            .map(|graph| {
                scope.spawn(move || {
                    std::hint::black_box(graph());
                    start.elapsed()
                })
            })
            .collect();
        running
            .into_iter()
            .map(|graph| graph.join().expect("a graph apart"))
            .collect()
    })
}

/// What stays up from turn to turn: the children of [`Shape::Processes`], the workers of
/// [`Shape::Kept`], one worker and two, and the two 1-worker graphs of [`Shape::KeptApart`].
struct Standing {
    children: [GraphChild; 2],
    kept: [KeptWorkers<usize>; 2],
    apart: [KeptWorkers<usize>; 2],
}

/// A child process that runs one 1-worker graph over quotes of its own each time it is told
/// to.
struct GraphChild {
    process: Child,
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

impl GraphChild {
    fn spawn() -> GraphChild {
        let exe = std::env::current_exe().expect("the bench's own executable");
        let mut process = Command::new(exe)
            .arg(CHILD)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting a graph child");
        let to = process.stdin.take().expect("the child's stdin");
        let from = BufReader::new(process.stdout.take().expect("the child's stdout"));
        GraphChild { process, to, from }
    }

    /// Waits until the child has its quotes made.
    fn ready(&mut self) {
        assert_eq!(
            self.line(),
            "ready",
            "a graph child's word once its quotes are made"
        );
    }

    /// Has the child run the graph.
    fn go(&mut self) {
        writeln!(self.to, "go").expect("telling a graph child to run");
        self.to.flush().expect("telling a graph child to run");
    }

    /// Waits for the child's report of its run, sent once it is done.
    fn done(&mut self) -> Report {
        let line = self.line();
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(|f| f.parse().expect("a graph child's report"))
            .collect();
        let [wall, user, system, faults] = fields[..] else {
            panic!("a graph child reported {line:?}");
        };
        Report {
            wall: Duration::from_micros(wall),
            user: Duration::from_micros(user),
            system: Duration::from_micros(system),
            faults,
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.from
            .read_line(&mut line)
            .expect("reading a graph child");
        line.trim().to_owned()
    }
}

impl Drop for GraphChild {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The child's side: its quotes made, `ready`; then on each `go` one run, its usage reported
/// at once.
fn child() {
    let input = graph::input();
    println!("ready");
    for line in std::io::stdin().lock().lines() {
        if line.map_or(true, |l| l != "go") {
            return;
        }
        let before = Moment::now();
        std::hint::black_box(graph::run(input.clone(), 1));
        let after = Moment::now();
        println!(
            "{} {} {} {}",
            (after.wall - before.wall).as_micros(),
            (after.used.user - before.used.user).as_micros(),
            (after.used.system - before.used.system).as_micros(),
            after.used.faults - before.used.faults
        );
    }
}

/// What the process has used so far, and when.
struct Moment {
    wall: Instant,
    used: Usage,
}

impl Moment {
    fn now() -> Moment {
        Moment {
            wall: Instant::now(),
            used: Usage::own(),
        }
    }
}

/// What the runs of one shape took, summed.
#[derive(Default)]
struct Totals {
    wall: Duration,
    /// Each run's wall time: a shape whose runs are mostly alike but a few much slower (a worker
    /// stalled, say) shows it here, where the sum above hides it.
    runs: Vec<Duration>,
    user: Duration,
    system: Duration,
    faults: u64,
    /// For two graphs apart, each run's idle share: how long the graph done first waited for
    /// the other, against the run. Identical work on two cores finishing apart is the cores'
    /// speeds differing, which a graph on two workers, split as evenly, meets as well.
    waits: Vec<f64>,
}

impl Totals {
    fn add(&mut self, before: &Moment, after: &Moment) {
        self.wall += after.wall - before.wall;
        self.runs.push(after.wall - before.wall);
        self.user += after.used.user - before.used.user;
        self.system += after.used.system - before.used.system;
        self.faults += after.used.faults - before.used.faults;
    }

    /// A child's run: its wall time is the parent's, which waits for both.
    fn add_child(&mut self, report: &Report) {
        self.user += report.user;
        self.system += report.system;
        self.faults += report.faults;
    }

    /// A run of two graphs apart, each done `finished` after it began: a thread's from the
    /// turn's start, a child's from its own.
    fn apart(&mut self, finished: &[Duration]) {
        if let (Some(first), Some(last)) = (finished.iter().min(), finished.iter().max()) {
            self.waits
                .push((*last - *first).as_secs_f64() / last.as_secs_f64());
        }
    }

    fn ticks_per_second(&self, millions: f64) -> f64 {
        millions * 1e6 / self.wall.as_secs_f64()
    }

    /// Of the cores the shape runs on, the share it kept busy: CPU time against wall time.
    fn busy(&self, cores: usize) -> f64 {
        (self.user + self.system).as_secs_f64() / (self.wall.as_secs_f64() * cores as f64)
    }

    /// The median and the slowest of [`Totals::runs`], in milliseconds.
    fn run_times(&self) -> (f64, f64) {
        let mut runs = self.runs.clone();
        runs.sort();
        let ms = |run: Option<&Duration>| run.map_or(0.0, |d| d.as_secs_f64() * 1e3);
        (ms(runs.get(runs.len() / 2)), ms(runs.last()))
    }

    /// The median of [`Totals::waits`], in percent.
    fn median_wait(&self) -> f64 {
        let mut waits = self.waits.clone();
        waits.sort_by(f64::total_cmp);
        waits.get(waits.len() / 2).map_or(0.0, |w| w * 100.0)
    }
}

/// The shapes take turns, run by run, so that a machine whose speed drifts (a shared host)
/// slows each alike and their ratios measure the graph, not the drift.
fn main() {
    if std::env::args().any(|a| a == CHILD) {
        return child();
    }
    let logs = Inputs::new();
    let kept = |workers| {
        let metrics = MetricsConfig::default();
        KeptWorkers::counting(logs.shared.clone(), metrics, graph::source(), workers)
    };
    let mut standing = Standing {
        children: [GraphChild::spawn(), GraphChild::spawn()],
        kept: [kept(1), kept(2)],
        apart: [kept(1), kept(1)],
    };
    standing.children.iter_mut().for_each(GraphChild::ready);
    let mut totals: [Totals; 8] = Default::default();
    let mut cores = Cores::default();
    for _ in 0..RUNS {
        for (shape, totals) in SHAPES.into_iter().zip(&mut totals) {
            // Uncounted: the counted turn then meets its own shape's memory (see above).
            shape.turn(&logs, &mut standing, &mut Totals::default());
            shape.turn(&logs, &mut standing, totals);
        }
    }
    // After the graphs, not between their runs: the turn of arithmetic, taken run by run, left
    // two workers' next turn idling more (cores 84 % busy against 88 %, ten runs each way).
    for _ in 0..RUNS {
        cores.turn();
    }
    println!("| workers | ticks/s | page faults per M ticks | user CPU s per M ticks | system CPU s per M ticks | cores busy | ms a run, median / slowest |");
    println!("|---:|---:|---:|---:|---:|---:|---|");
    let rates: Vec<f64> = SHAPES
        .iter()
        .zip(&totals)
        .map(|(shape, totals)| {
            let millions = (RUNS * graph::MESSAGES * shape.graphs()) as f64 / 1e6;
            let rate = totals.ticks_per_second(millions);
            let (median, slowest) = totals.run_times();
            println!(
                "| {} | {rate:.0} | {:.0} | {:.3} | {:.3} | {:.0} % | {median:.1} / {slowest:.1} |",
                shape.label(),
                totals.faults as f64 / millions,
                totals.user.as_secs_f64() / millions,
                totals.system.as_secs_f64() / millions,
                totals.busy(shape.cores()) * 100.0,
            );
            rate
        })
        .collect();
    println!("two workers against one: {:.2} x", rates[1] / rates[0]);
    println!(
        "two 1-worker graphs apart against one: threads {:.2} x, processes {:.2} x",
        rates[2] / rates[0],
        rates[3] / rates[0]
    );
    println!(
        "two workers with no tick crossing between them against one: {:.2} x",
        rates[4] / rates[0]
    );
    println!(
        "kept from run to run, against one worker: two workers {:.2} x, two 1-worker graphs apart {:.2} x",
        rates[6] / rates[5],
        rates[7] / rates[5]
    );
    let speed = cores.speed();
    println!(
        "the cores alone, two threads of arithmetic against one: {:.2} x (one thread {:.0} ms a turn)",
        speed.two_threads, speed.one_thread_ms
    );
    println!(
        "the graph apart done first waited for the other (median of runs): threads {:.1} %, processes {:.1} %, kept {:.1} %",
        totals[2].median_wait(),
        totals[3].median_wait(),
        totals[7].median_wait()
    );
}
