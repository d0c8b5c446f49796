//! tickflow, the service: Kafka market data → timely dataflow on N workers → PostgreSQL.
//! The binary (`main.rs`) is its command line; the library is what the benches reach too.
//!
//! | module | holds |
//! |---|---|
//! | `allocator` | the global allocator (mimalloc) and its options, for the binary and the benches alike |
//! | `cli` | the command line; every flag also from `TICKFLOW_<FLAG>` and `.env` |
//! | `config` | flag values with structure: durations, `--from`, `--until` |
//! | `kafka` | resolving ranges, the timely source operator |
//! | `sink` | the Postgres sink operator and the writer |
//! | `store` | connecting, migrations, loading positions and pair state |
//! | `pipeline` | `run`/`replay`: wiring workers, writer and shutdown |
//! | `feed`, `simulate` | the simulated quote feed and its producer |
//! | `demo` | everything in one process |
//! | `bench` | end-to-end throughput, latency and memory, each pass its own process |
//!
//! Exit codes: 0 done, 1 runtime failure (one line), 2 bad arguments or configuration.

pub mod allocator;
pub mod bench;
pub mod cli;
pub mod config;
pub mod demo;
pub mod feed;
pub mod kafka;
pub mod pipeline;
pub mod simulate;
pub mod sink;
pub mod store;
