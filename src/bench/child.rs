//! Each pass runs as a child process of this same binary, so it starts cold, owns its memory,
//! and its peak RSS is the kernel's own figure: `ru_maxrss` from `wait4` when it is reaped.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::{bail, Context};

/// A running pass.
pub struct Child {
    what: String,
    child: std::process::Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    started: Instant,
    reaped: bool,
}

/// How a pass ended.
pub struct Finished {
    /// Its standard output.
    pub stdout: String,
    /// Peak resident set size, bytes.
    pub peak_rss: u64,
    /// Wall time from spawn to exit.
    pub seconds: f64,
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
    let mut child = command
        .spawn()
        .with_context(|| format!("starting the {what} pass"))?;
    let stdout = child.stdout.take().map(collect);
    let stderr = child.stderr.take().map(collect);
    Ok(Child {
        what: what.to_owned(),
        child,
        stdout,
        stderr,
        started: Instant::now(),
        reaped: false,
    })
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
        let (status, peak_rss) = self.reap()?;
        let seconds = self.started.elapsed().as_secs_f64();
        let stdout = self.stdout.take().map(join).unwrap_or_default();
        let stderr = self.stderr.take().map(join).unwrap_or_default();
        if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
            let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "the {} pass failed (wait status {status}): {}",
                self.what,
                tail.join(" | ")
            );
        }
        Ok(Finished {
            stdout,
            peak_rss,
            seconds,
        })
    }

    /// `wait4`: the exit status and the child's own peak RSS in bytes.
    fn reap(&mut self) -> anyhow::Result<(i32, u64)> {
        let pid = self.child.id() as libc::pid_t;
        let mut status = 0;
        // SAFETY: `rusage` is plain old data, valid when zeroed.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: both pointers are to live locals; the pid is our own unreaped child's.
            let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            if reaped == pid {
                self.reaped = true;
                return Ok((status, usage.ru_maxrss.max(0) as u64 * 1024));
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error).with_context(|| format!("waiting for the {} pass", self.what));
            }
        }
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
