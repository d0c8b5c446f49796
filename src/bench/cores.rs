//! The cores' own speed: arithmetic that touches no memory, on one thread and on two at once.
//!
//! The machines these benches run on are shared hosts whose speed moves between minutes (one
//! sitting's `fixed` ran one worker at 0.87–1.80 M ticks/s from batch to batch). A figure read
//! beside the cores' speed taken at the same time tells a slow pass from a slow machine, and two
//! threads against one says what the machine gives a second busy thread before memory, the
//! allocator or the graph cost anything. `tickflow bench` takes a [`probe`] before each pass;
//! `benches/fixed.rs` sums [`Cores::turn`]s after its shapes.

use std::time::{Duration, Instant};

/// Rounds of [`arithmetic`]: about a fifth of a second on one core of the 2-core machines here.
const ROUNDS: u64 = 40_000_000;

/// Eight independent chains of multiplies and shifts (which the compiler may run as vector
/// lanes), more than the core's latencies hide, so bound by its execution units. Two hardware
/// threads of one physical core share those, and a host may run a vCPU slower while its
/// neighbour is busy; a cache or memory bus shared by the cores cannot slow it.
fn arithmetic() -> u64 {
    let mut chains: [u64; 8] = std::hint::black_box([1, 2, 3, 4, 5, 6, 7, 8]);
    for _ in 0..ROUNDS {
        for x in &mut chains {
            *x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (*x >> 29);
        }
    }
    chains.iter().fold(0, |all, x| all ^ x)
}

/// Turns of [`arithmetic`], one thread then two at once, their wall times summed.
#[derive(Debug, Default)]
pub struct Cores {
    turns: u32,
    one: Duration,
    two: Duration,
}

/// The cores' speed, as [`Cores`] measured it.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Speed {
    /// One thread's time for the arithmetic, ms, averaged over the turns: lower is faster.
    pub one_thread_ms: f64,
    /// Twice one thread's time against two threads' at once: 2 when two busy threads slow each
    /// other not at all.
    pub two_threads: f64,
}

impl Cores {
    /// One turn: the arithmetic on one thread, then on two at once.
    pub fn turn(&mut self) {
        let start = Instant::now();
        std::hint::black_box(arithmetic());
        self.one += start.elapsed();
        let start = Instant::now();
        std::thread::scope(|scope| {
            let other = scope.spawn(arithmetic);
            std::hint::black_box(arithmetic());
            // A thread of arithmetic cannot panic; joining only waits for it.
            std::hint::black_box(other.join().unwrap_or_default());
        });
        self.two += start.elapsed();
        self.turns += 1;
    }

    /// What the turns so far measured.
    pub fn speed(&self) -> Speed {
        Speed {
            one_thread_ms: self.one.as_secs_f64() * 1000.0 / f64::from(self.turns.max(1)),
            two_threads: 2.0 * self.one.as_secs_f64() / self.two.as_secs_f64(),
        }
    }
}

/// One turn now: under half a second.
pub fn probe() -> Speed {
    let mut cores = Cores::default();
    cores.turn();
    cores.speed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_times_one_thread_and_two() {
        let speed = probe();
        assert!(speed.one_thread_ms > 0.0, "{speed:?}");
        // No bound on how two threads compare: the tests beside this one share the cores.
        assert!(
            speed.two_threads.is_finite() && speed.two_threads > 0.0,
            "{speed:?}"
        );
    }
}
