//! Each pass runs as a child process of this same binary, so it starts cold and owns its
//! memory. Its peak RSS is the kernel's high-water mark of its own address space, `VmHWM`,
//! sampled every 20 ms until it exits; being a high-water mark, a sample misses only what grew
//! in the last 20 ms. (`wait4`'s `ru_maxrss` would not do: Linux carries the parent's peak
//! over an `exec`, and the bench's own memory is larger than some passes'.)
//!
//! A peak alone cannot say whether memory is flat: a longer pass has more chances to meet a
//! transient high. So the same samples also keep `VmRSS`, and a pass reports the highest RSS in
//! each tenth of its run; memory that grows with the stream shows as a rising last tenth.
//!
//! A pass is reaped with `wait4`, whose resource usage gives the CPU time it spent, beside the
//! machine's and the bench's over the same span ([`super::cpu`]).

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::cpu::{self, CpuUse, Usage};

/// A running pass.
pub struct Child {
    what: String,
    child: std::process::Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    memory: Arc<Mutex<Memory>>,
    cpu: cpu::Start,
    reaped: bool,
}

/// How a pass ended.
pub struct Finished {
    /// Its standard output.
    pub stdout: String,
    /// Peak resident set size, bytes.
    pub peak_rss: u64,
    /// The highest resident set size in each tenth of the run, bytes.
    pub rss_by_tenth: Vec<u64>,
    /// Where the cores went from spawn to exit, and how long that was.
    pub cpu: CpuUse,
}

impl Finished {
    /// The last line of standard output, parsed as JSON: every pass prints its figures so.
    pub fn figures<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line)
            .with_context(|| format!("reading the pass's figures from {line:?}"))
    }
}

/// Starts `tickflow args…`. The child's `TICKFLOW_*` variables are removed, so only `args`
/// configure it, and its log is kept to warnings.
pub fn spawn(what: &str, args: &[String]) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("locating the tickflow binary")?;
    let mut command = Command::new(exe);
    command
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TICKFLOW_") {
            command.env_remove(name);
        }
    }
    let cpu = cpu::Start::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting the {what} pass"))?;
    let stdout = child.stdout.take().map(collect);
    let stderr = child.stderr.take().map(collect);
    let memory = Arc::new(Mutex::new(Memory::default()));
    sample_memory(child.id(), memory.clone());
    Ok(Child {
        what: what.to_owned(),
        child,
        stdout,
        stderr,
        memory,
        cpu,
        reaped: false,
    })
}

/// What the sampler saw of a pass's memory.
#[derive(Default)]
struct Memory {
    /// `VmHWM`, bytes.
    peak: u64,
    /// `VmRSS` in bytes, with the time since the sampling began.
    samples: Vec<(Duration, u64)>,
}

impl Memory {
    /// The highest sample in each tenth of the time sampled.
    fn by_tenth(&self) -> Vec<u64> {
        let end = self
            .samples
            .last()
            .map_or(1, |&(at, _)| at.as_nanos().max(1));
        let mut tenths = vec![0; 10];
        for &(at, rss) in &self.samples {
            let tenth = (at.as_nanos() * 10 / end).min(9) as usize;
            tenths[tenth] = tenths[tenth].max(rss);
        }
        tenths
    }
}

/// Samples the process's `VmHWM` and `VmRSS` into `memory` every 20 ms, until its status no
/// longer has them (it exited).
fn sample_memory(pid: u32, memory: Arc<Mutex<Memory>>) {
    let path = format!("/proc/{pid}/status");
    let started = Instant::now();
    std::thread::spawn(move || loop {
        let status = std::fs::read_to_string(&path).unwrap_or_default();
        let bytes = |field: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
                .map(|kib| kib * 1024)
        };
        let (Some(hwm), Some(rss)) = (bytes("VmHWM:"), bytes("VmRSS:")) else {
            return;
        };
        {
            let mut memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
            memory.peak = memory.peak.max(hwm);
            memory.samples.push((started.elapsed(), rss));
        }
        std::thread::sleep(Duration::from_millis(20));
    });
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

impl Child {
    /// Asks the pass to stop as a user would, with SIGTERM.
    pub fn terminate(&self) {
        // SAFETY: `kill` takes plain integers; the pid is our unreaped child's.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
    }

    /// Waits for the pass to exit; an exit other than 0 is an error with its last log lines.
    pub fn wait(mut self) -> anyhow::Result<Finished> {
        let (status, pass) = self.reap()?;
        let cpu = self.cpu.until_now(pass.cpu_seconds());
        let stdout = self.stdout.take().map(join).unwrap_or_default();
        let stderr = self.stderr.take().map(join).unwrap_or_default();
        if !status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "the {} pass failed ({status}): {}",
                self.what,
                tail.join(" | ")
            );
        }
        let memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Finished {
            stdout,
            peak_rss: memory.peak,
            rss_by_tenth: memory.by_tenth(),
            cpu,
        })
    }

    /// Waits for the exit; the wait status and what the pass used.
    fn reap(&mut self) -> anyhow::Result<(ExitStatus, Usage)> {
        let pid = self.child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: an all-zero `rusage` is a valid value, and `wait4` only writes into it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: the pid is our unreaped child's, and both pointers are to live values.
            if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } == pid {
                break;
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error).with_context(|| format!("waiting for the {} pass", self.what));
            }
        }
        self.reaped = true;
        Ok((ExitStatus::from_raw(status), Usage::of(&usage)))
    }
}

fn join(handle: JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

impl Drop for Child {
    /// A pass abandoned by an error does not outlive the bench.
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.reap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tenth_keeps_its_highest_sample() {
        let samples = (0..=100u64)
            .map(|s| (Duration::from_secs(s), if s == 35 { 1_000 } else { s }))
            .collect();
        let memory = Memory { peak: 0, samples };
        assert_eq!(
            memory.by_tenth(),
            [9, 19, 29, 1_000, 49, 59, 69, 79, 89, 100],
            "the last sample closes the last tenth"
        );
        assert_eq!(Memory::default().by_tenth(), [0; 10]);
    }
}
