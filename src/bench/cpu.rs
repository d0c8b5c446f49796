//! Where the cores went while a pass ran. On a machine that also runs the broker, PostgreSQL
//! and the bench's own producer, a pass can only be as fast as the cores the others leave it:
//! this split says which process a faster pass would have to take them from.
//!
//! The machine's busy time comes from `/proc/stat` (user, nice, system and interrupt time of
//! every core; a hypervisor's steal is not time anything here ran), the bench's own from
//! `getrusage`, the pass's from `wait4` when its process is reaped. What the machine spent
//! beyond the two is PostgreSQL, the broker and anything else running. `benches/fixed.rs` reads
//! its own runs' [`Usage`] here too.

use std::time::{Duration, Instant};

/// A process's CPU time and page faults, as the kernel's resource usage gives them.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// User time, all its threads.
    pub user: Duration,
    /// System time, all its threads.
    pub system: Duration,
    /// Minor and major page faults.
    pub faults: u64,
}

impl Usage {
    /// This process's so far.
    pub fn own() -> Usage {
        // SAFETY: an all-zero `rusage` is a valid value, and `getrusage` only writes into it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `RUSAGE_SELF` is a valid target and the pointer is to a live value.
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        Usage::of(&usage)
    }

    /// From a `rusage` that `getrusage` or `wait4` filled.
    pub fn of(usage: &libc::rusage) -> Usage {
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Usage {
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
            faults: (usage.ru_minflt + usage.ru_majflt) as u64,
        }
    }

    /// User and system time together.
    pub fn cpu_seconds(&self) -> f64 {
        (self.user + self.system).as_secs_f64()
    }
}

/// CPU seconds spent from a pass's start to its exit.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CpuUse {
    /// Wall-clock seconds of the span.
    pub wall_seconds: f64,
    /// Every core's busy time, the whole machine's.
    pub machine_seconds: f64,
    /// The pass's process, all its threads.
    pub pass_seconds: f64,
    /// This bench process: the live pass's producer and observer, the memory sampler.
    pub bench_seconds: f64,
}

impl CpuUse {
    /// Cores kept busy on average by the pass, by the bench, and by everything else.
    pub fn cores(&self) -> [f64; 3] {
        let wall = self.wall_seconds.max(f64::MIN_POSITIVE);
        let rest = (self.machine_seconds - self.pass_seconds - self.bench_seconds).max(0.0);
        [self.pass_seconds, self.bench_seconds, rest].map(|s| s / wall)
    }
}

/// The counters when a span began.
pub struct Start {
    at: Instant,
    machine: f64,
    bench: f64,
}

impl Start {
    /// The counters now, before the pass is spawned.
    pub fn now() -> Start {
        Start {
            at: Instant::now(),
            machine: machine_busy(),
            bench: Usage::own().cpu_seconds(),
        }
    }

    /// The span from this start to now, in which the pass spent `pass_seconds`.
    pub fn until_now(&self, pass_seconds: f64) -> CpuUse {
        CpuUse {
            wall_seconds: self.at.elapsed().as_secs_f64(),
            machine_seconds: machine_busy() - self.machine,
            pass_seconds,
            bench_seconds: Usage::own().cpu_seconds() - self.bench,
        }
    }
}

/// Seconds every core of the machine has been busy since boot; 0 where `/proc/stat` is missing.
fn machine_busy() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    // SAFETY: `sysconf` reads a constant of the system.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    busy_ticks(&stat) as f64 / ticks_per_second
}

/// The busy clock ticks on `/proc/stat`'s first line: user, nice, system, irq and softirq
/// (the 1st, 2nd, 3rd, 6th and 7th numbers; guest time is counted inside user).
fn busy_ticks(stat: &str) -> u64 {
    let Some(all) = stat.lines().next().and_then(|l| l.strip_prefix("cpu ")) else {
        return 0;
    };
    all.split_whitespace()
        .map(|n| n.parse::<u64>().unwrap_or(0))
        .enumerate()
        .filter(|(i, _)| [0, 1, 2, 5, 6].contains(i))
        .map(|(_, n)| n)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_leave_out_idle_iowait_and_steal() {
        let stat = "cpu  100 2 30 5000 40 6 7 800 0 0\ncpu0 50 1 15 2500 20 3 3 400 0 0\n";
        assert_eq!(busy_ticks(stat), 100 + 2 + 30 + 6 + 7);
        assert_eq!(busy_ticks("intr 1 2 3"), 0);
    }

    #[test]
    fn cores_divide_by_the_wall_and_the_rest_is_never_negative() {
        let used = CpuUse {
            wall_seconds: 2.0,
            machine_seconds: 3.0,
            pass_seconds: 1.0,
            bench_seconds: 0.5,
        };
        assert_eq!(used.cores(), [0.5, 0.25, 0.75]);
        // The machine's coarser ticks can count a little less than the processes' own clocks.
        let under = CpuUse {
            machine_seconds: 1.4,
            ..used
        };
        assert_eq!(under.cores(), [0.5, 0.25, 0.0]);
    }

    #[test]
    fn a_busy_span_counts_the_bench_and_the_machine() {
        let start = Start::now();
        let spin = Instant::now();
        let mut x = 0u64;
        while spin.elapsed().as_millis() < 300 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let used = start.until_now(0.0);
        assert!(used.wall_seconds >= 0.3, "{used:?}");
        // The spinning thread ran for most of the span, whatever else shares the cores; the
        // machine's ticks count it too, at their coarser grain.
        assert!(used.bench_seconds > 0.1, "{used:?}");
        assert!(used.machine_seconds > 0.1, "{used:?}");
        let [pass, bench, _] = used.cores();
        assert_eq!(pass, 0.0);
        assert!(bench > 0.0, "{used:?}");
    }
}
