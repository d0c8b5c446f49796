//! What the integration tests share: a real tansu broker on a free port, a schema of its own in
//! the test database, and the `tickflow` binary. `scripts/test.sh` makes sure tansu and
//! PostgreSQL exist; these helpers fail with a clear message when they do not.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::{Decimal, RoundingStrategy};
use tokio_postgres::{NoTls, Row};

/// A tansu broker on a loopback port, stopped on drop.
pub struct Broker {
    child: Running,
    /// What clients are given: `127.0.0.1:PORT`, of tansu or of a proxy in front of it.
    pub address: String,
    port: u16,
    /// `--storage-engine`, and the directory tansu runs in (where SQLite storage lives).
    storage: &'static str,
    dir: PathBuf,
}

impl Broker {
    /// Starts tansu (`$TANSU`, else `tansu` on PATH) on a free loopback port, with its log in
    /// memory.
    pub fn start() -> Broker {
        let port = free_port();
        Broker::launch(
            port,
            format!("127.0.0.1:{port}"),
            MEMORY,
            std::env::temp_dir(),
        )
    }

    /// A broker that clients reach only through a [`Proxy`], which can cut it off: tansu
    /// advertises the proxy's address, so every connection, bootstrap or not, goes through it.
    pub fn behind_proxy() -> (Broker, Proxy) {
        let port = free_port();
        let proxy = Proxy::start(&format!("127.0.0.1:{port}"));
        let broker = Broker::launch(port, proxy.address.clone(), MEMORY, std::env::temp_dir());
        (broker, proxy)
    }

    /// A broker that keeps its log on disk (SQLite, in a fresh directory named after `name`),
    /// so that it can be restarted.
    pub fn persistent(name: &str) -> Broker {
        let dir = std::env::temp_dir().join(format!("tickflow-tansu-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory for tansu");
        let port = free_port();
        Broker::launch(port, format!("127.0.0.1:{port}"), "sqlite://tansu.db", dir)
    }

    /// Stops tansu (SIGTERM) and starts it again on the same port and storage. Sockets of the
    /// old process can hold the port for a moment, so a start that fails is tried again.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            self.child = Running(tansu(self.port, &self.address, self.storage, &self.dir));
            let up = Instant::now() + Duration::from_secs(5);
            while Instant::now() < up && self.child.try_wait().ok().flatten().is_none() {
                if TcpStream::connect(&self.address).is_ok() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            self.stop();
            assert!(
                Instant::now() < deadline,
                "tansu did not come back on {}",
                self.address
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn launch(port: u16, address: String, storage: &'static str, dir: PathBuf) -> Broker {
        let child = Running(tansu(port, &address, storage, &dir));
        let broker = Broker {
            child,
            address,
            port,
            storage,
            dir,
        };
        wait_for(Duration::from_secs(20), "tansu to listen", || {
            TcpStream::connect(&broker.address).is_ok()
        });
        broker
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MEMORY: &str = "memory://tansu/";

/// Starts tansu (`$TANSU`, else `tansu` on PATH) listening on `port`, advertising `address`,
/// with `storage`, in `dir`.
fn tansu(port: u16, address: &str, storage: &str, dir: &std::path::Path) -> Child {
    let tansu = std::env::var_os("TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tansu"));
    Command::new(&tansu)
        .args(["broker", "--storage-engine", storage])
        .args(["--listener-url", &format!("tcp://127.0.0.1:{port}")])
        .args(["--advertised-listener-url", &format!("tcp://{address}")])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "starting {} (run the tests through scripts/test.sh): {e}",
                tansu.display()
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Polls `condition` every 50 ms until it holds or `timeout` passes.
pub fn wait_for(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `signal` (`-TERM`, `-INT`) to `child` as `kill` or Ctrl-C would, and waits up to
/// `within` for it to exit.
pub fn signal_and_wait(child: &mut Child, signal: &str, within: Duration) -> ExitStatus {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill {signal}: {sent}");
    let mut exited = None;
    wait_for(
        within,
        &format!("the process to exit after {signal}"),
        || {
            exited = child.try_wait().expect("status");
            exited.is_some()
        },
    );
    exited.expect("wait_for returns once the process exited")
}

/// The test database URL.
pub fn postgres_url() -> String {
    std::env::var("TICKFLOW_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/tickflow_test".into())
}

/// A fresh schema in the test database, dropped and recreated on creation.
pub struct Schema {
    /// Its name.
    pub name: String,
    /// The connection string a pipeline writes it through ([`pipeline`]): the test database's,
    /// unless a test gives another (with other session settings, say).
    pub postgres: String,
}

impl Schema {
    /// `name`, emptied.
    pub fn fresh(name: &str) -> Schema {
        let schema = Schema {
            name: name.to_owned(),
            postgres: postgres_url(),
        };
        schema.execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"));
        schema
    }

    /// Runs statements.
    pub fn execute(&self, sql: &str) {
        let sql = sql.to_owned();
        runtime().block_on(async move {
            let client = connect().await;
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        })
    }

    /// Runs a query inside the schema.
    pub fn query(&self, sql: &str) -> Vec<Row> {
        let (sql, name) = (sql.to_owned(), self.name.clone());
        runtime().block_on(async move {
            let client = connect().await;
            client
                .batch_execute(&format!("SET search_path TO {name}"))
                .await
                .expect("search_path");
            client
                .query(&sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        })
    }

    /// A single count.
    pub fn count(&self, sql: &str) -> i64 {
        self.query(sql)[0].get(0)
    }
}

/// A runtime for the async clients a test drives (PostgreSQL, Kafka admin).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn connect() -> tokio_postgres::Client {
    let url = postgres_url();
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("postgres at {url} (run the tests through scripts/test.sh): {e}")
        });
    tokio::spawn(connection);
    client
}

/// Longest a `tickflow` command of a test may run. The longest take seconds; a run that hangs
/// (one did, in `tests/postgres_restart.rs`'s finishing run, 26th sitting) fails its test with
/// its stderr instead of holding CI until its limit.
const TICKFLOW_DEADLINE: Duration = Duration::from_secs(300);

/// Runs `tickflow` with `args` to completion, or kills it at [`TICKFLOW_DEADLINE`] and fails.
pub fn tickflow(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running tickflow");
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + TICKFLOW_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("status") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = stderr.join().unwrap_or_default();
            panic!(
                "tickflow {args:?} still running after {TICKFLOW_DEADLINE:?}, killed; its stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Everything `pipe` yields until it closes, read on a thread of its own so a full pipe never
/// blocks the process writing it.
fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Runs `tickflow` and asserts it exits 0; returns its stdout.
pub fn tickflow_ok(args: &[&str]) -> String {
    let out = tickflow(args);
    assert!(
        out.status.success(),
        "tickflow {args:?} failed with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON document on the last line of a command's stdout.
pub fn last_json(stdout: &str) -> serde_json::Value {
    let line = stdout.lines().last().expect("output");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Produces simulated quotes; returns the `--until offset:` that covers exactly them.
pub fn simulate(broker: &Broker, topic: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let mut args = vec!["simulate", "--brokers", &broker.address, "--topic", topic];
    if !extra.contains(&"--rate") {
        args.extend(["--rate", "0"]);
    }
    args.extend_from_slice(extra);
    let produced = last_json(&tickflow_ok(&args));
    assert_eq!(produced["failed"], 0, "{produced}");
    let until = offsets(&end_offsets(&produced));
    (produced, until)
}

/// The simulator's end offsets, by partition.
pub fn end_offsets(produced: &serde_json::Value) -> BTreeMap<i32, i64> {
    produced["end_offsets"]
        .as_object()
        .expect("end offsets")
        .iter()
        .map(|(p, n)| (p.parse().expect("partition"), n.as_i64().expect("offset")))
        .collect()
}

/// The arguments of `tickflow VERB` for the pipeline named after `schema` (its `--group` and
/// its `--schema`, written through its `postgres`) on `topic`, then `rest`.
pub fn pipeline(
    verb: &str,
    broker: &str,
    topic: &str,
    schema: &Schema,
    rest: &[&str],
) -> Vec<String> {
    let head = [
        verb,
        "--brokers",
        broker,
        "--topic",
        topic,
        "--group",
        &schema.name,
        "--postgres",
        &schema.postgres,
        "--schema",
        &schema.name,
    ];
    head.iter().chain(rest).map(|s| s.to_string()).collect()
}

/// Runs `tickflow` with `args` in the background, logging at `info` into `log`.
pub fn spawn_logged(args: &[String], log: &std::path::Path) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_tickflow"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("log file"))
            .spawn()
            .expect("starting tickflow"),
    )
}

/// A process a test started (a pipeline, the demo, tansu), killed when the test ends, so a
/// failed test leaves no `run` behind to write into the schema the next test creates.
pub struct Running(pub Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `tickflow` with `args` (as [`pipeline`] gives them) and asserts it exits 0.
pub fn tickflow_args_ok(args: &[String]) -> String {
    tickflow_ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `tickflow replay` of `topic` into `schema` (its own pipeline); returns the JSON summary.
pub fn replay(
    broker: &Broker,
    topic: &str,
    schema: &Schema,
    from: &str,
    until: &str,
    extra: &[&str],
) -> serde_json::Value {
    let rest = [&["--from", from, "--until", until][..], extra].concat();
    last_json(&tickflow_args_ok(&pipeline(
        "replay",
        &broker.address,
        topic,
        schema,
        &rest,
    )))
}

/// A loopback TCP proxy that can cut a service off: `cut` closes every connection through it
/// and refuses new ones until `restore`. For tickflow the service is then unreachable, exactly
/// as when it is down, without stopping the machine's shared server under other tests. `stall`
/// keeps the connections open but holds every byte until `resume`: a service that hangs.
pub struct Proxy {
    /// `127.0.0.1:PORT`.
    pub address: String,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stalled: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    /// Forwards a free loopback port to `target`.
    pub fn start(target: &str) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("address").to_string();
        let proxy = Proxy {
            address,
            down: Default::default(),
            stalled: Default::default(),
            open: Default::default(),
        };
        let (down, open, target) = (proxy.down.clone(), proxy.open.clone(), target.to_owned());
        let stalled = proxy.stalled.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let server = match TcpStream::connect(&target) {
                    Ok(server) if !down.load(Ordering::SeqCst) => server,
                    _ => continue,
                };
                let pipes = [
                    (client.try_clone(), server.try_clone()),
                    (server.try_clone(), client.try_clone()),
                ];
                if let Ok(mut open) = open.lock() {
                    open.extend([client, server]);
                }
                for pipe in pipes {
                    if let (Ok(from), Ok(to)) = pipe {
                        let stalled = stalled.clone();
                        std::thread::spawn(move || forward(from, to, &stalled));
                    }
                }
            }
        });
        proxy
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.down.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut open) = self.open.lock() {
            for stream in open.drain(..) {
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    /// Holds every byte sent either way until [`Proxy::resume`].
    pub fn stall(&self) {
        self.stalled
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Forwards again, the held bytes first.
    pub fn resume(&self) {
        self.stalled
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copies `from` to `to` until either closes, holding each chunk while `stalled`.
fn forward(mut from: TcpStream, mut to: TcpStream, stalled: &std::sync::atomic::AtomicBool) {
    use std::io::{Read, Write};
    let mut chunk = vec![0; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut chunk) {
        while stalled.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if to.write_all(&chunk[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

/// `P=N,...` for `--from`/`--until offset:`.
pub fn offsets(ends: &BTreeMap<i32, i64>) -> String {
    ends.iter()
        .map(|(p, n)| format!("{p}={n}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The query of the rows of `table` in `a` and not in `b`, as JSON without the wall-clock
/// column: one column, `j`.
fn only_in(a: &Schema, b: &Schema, table: &str, clock: &str) -> String {
    format!(
        "(SELECT to_jsonb(t) - '{clock}' AS j FROM {a}.{table} t
          EXCEPT ALL SELECT to_jsonb(t) - '{clock}' FROM {b}.{table} t) d",
        a = a.name,
        b = b.name
    )
}

/// How many rows of `table` are in `a` and not in `b` ([`only_in`]).
fn missing(a: &Schema, b: &Schema, table: &str, clock: &str) -> i64 {
    a.count(&format!(
        "SELECT count(*) FROM {}",
        only_in(a, b, table, clock)
    ))
}

/// Ticks committed so far (0 before the tables exist).
pub fn ticks_stored(schema: &Schema) -> i64 {
    let exists = format!(
        "SELECT count(*) FROM pg_tables WHERE schemaname = '{}' AND tablename = 'ticks'",
        schema.name
    );
    match schema.count(&exists) {
        0 => 0,
        _ => schema.count("SELECT count(*) FROM ticks"),
    }
}

/// Every result table of `a` equals `b`'s row for row, wall-clock columns aside.
pub fn assert_same_tables(a: &Schema, b: &Schema) {
    for (table, clock) in [
        ("ticks", "-"),
        ("pair_metrics", "updated_at"),
        ("window_aggregates", "updated_at"),
        ("dead_letters", "received_at"),
    ] {
        let rows = a.count(&format!("SELECT count(*) FROM {table}"));
        assert!(rows > 0, "{table} is empty");
        assert_eq!(
            (missing(a, b, table, clock), missing(b, a, table, clock)),
            (0, 0),
            "{table}: rows differ between {} and {}; {}",
            a.name,
            b.name,
            difference(a, b, table, clock)
        );
    }
}

/// What a failed comparison needs to be explained after the schemas are gone: each side's late
/// ticks (a live run's idle partitions can make ticks late that a replay reads in order) and
/// the first differing rows of each.
fn difference(a: &Schema, b: &Schema, table: &str, clock: &str) -> String {
    let late = |s: &Schema| s.count("SELECT count(*) FROM ticks WHERE is_late");
    let rows = |x: &Schema, y: &Schema| {
        x.query(&format!(
            "SELECT j::text FROM {} ORDER BY 1 LIMIT 3",
            only_in(x, y, table, clock)
        ))
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
    };
    format!(
        "late ticks {} / {}; only in {}: {:?}; only in {}: {:?}",
        late(a),
        late(b),
        a.name,
        rows(a, b),
        b.name,
        rows(b, a)
    )
}

/// Builds a pipeline's arguments from a verb, its schema and more flags (see [`pipeline`]).
pub type Args<'a> = &'a dyn Fn(&str, &Schema, &[&str]) -> Vec<String>;

/// Finishes `schema`'s pipeline up to `until` from its stored cut, replays the same range into a
/// fresh reference schema, and asserts every table equal. Returns the reference.
pub fn assert_finish_equals_replay(args: Args, schema: &Schema, until: &str) -> Schema {
    tickflow_args_ok(&args(
        "run",
        schema,
        &["--from", "committed", "--until", until],
    ));
    let reference = Schema::fresh(&format!("{}_reference", schema.name));
    tickflow_args_ok(&args(
        "replay",
        &reference,
        &["--from", "earliest", "--until", until],
    ));
    assert_eq!(
        reference.count("SELECT count(*) FROM ticks WHERE is_late"),
        0,
        "disorder within the lateness: the output is a pure function of the topic"
    );
    assert_same_tables(&reference, schema);
    reference
}

/// The mean of `values` as SPEC defines an average (`sum / count` rounded half away from zero
/// to 12 places), computed by `Decimal` division: the tests' reference, independent of the
/// engine's integer arithmetic.
pub fn mean(values: &[Decimal]) -> Decimal {
    let sum: Decimal = values.iter().sum();
    (sum / Decimal::from(values.len()))
        .round_dp_with_strategy(12, RoundingStrategy::MidpointAwayFromZero)
}
