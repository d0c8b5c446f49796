//! Checks docker-compose.yml and the Dockerfile against the rest of the project.
//!
//! Docker cannot run on CI machines, so the compose stack is never started
//! there. Instead this test reads the compose file and checks that it agrees
//! with tickflow itself: every `TICKFLOW_*` variable names a real flag, the
//! broker and database addresses point at services that exist and are
//! configured to match, and the topic that is created is the topic consumed.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_yaml::Value;

/// Flags tickflow reads (each also from `TICKFLOW_<FLAG>`).
/// Mirrors src/cli.rs: keep the two in step.
const FLAGS: &[&str] = &[
    "brokers",
    "topic",
    "group",
    "postgres",
    "schema",
    "workers",
    "from",
    "until",
    "windows",
    "sma-ticks",
    "rolling-window",
    "lateness",
    "idle-timeout",
    "late",
    "commit-interval",
    "no-ticks",
    "pairs",
    "rate",
    "count",
    "partitions",
    "disorder",
    "invalid",
    "seed",
];

fn read(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn compose() -> Value {
    serde_yaml::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is not valid YAML")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service `{name}`"))
}

/// A YAML scalar as text (`"2"`, `2` and `true` are all valid compose values).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

/// A service's `environment`, written either as a map or as a `KEY=VALUE` list.
fn environment(service: &Value) -> BTreeMap<String, String> {
    match service.get("environment") {
        None => BTreeMap::new(),
        Some(Value::Mapping(map)) => map
            .iter()
            .map(|(k, v)| {
                (
                    scalar(k),
                    if v.is_null() {
                        String::new()
                    } else {
                        scalar(v)
                    },
                )
            })
            .collect(),
        Some(Value::Sequence(list)) => list
            .iter()
            .map(|entry| {
                let entry = scalar(entry);
                let (k, v) = entry.split_once('=').unwrap_or((entry.as_str(), ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        Some(other) => panic!("environment must be a map or a list, found {other:?}"),
    }
}

fn var<'a>(env: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    env.get(key)
        .unwrap_or_else(|| panic!("environment variable {key} is not set"))
}

/// A service's `command` split into words, whether written as a string or a list.
fn command_words(service: &Value) -> Vec<String> {
    match service.get("command") {
        None => Vec::new(),
        Some(Value::Sequence(list)) => list
            .iter()
            .flat_map(|word| {
                scalar(word)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect(),
        Some(other) => scalar(other)
            .split_whitespace()
            .map(str::to_string)
            .collect(),
    }
}

/// `host:port` pairs of a Kafka listener list such as `PLAINTEXT://kafka:9092,EXTERNAL://:29092`.
fn listeners(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .map(|listener| {
            let address = listener
                .split_once("://")
                .map_or(listener, |(_, a)| a)
                .trim();
            let (host, port) = address
                .rsplit_once(':')
                .unwrap_or_else(|| panic!("listener `{listener}` has no port"));
            (host.to_string(), port.to_string())
        })
        .collect()
}

#[test]
fn all_services_exist() {
    let compose = compose();
    for name in ["kafka", "postgres", "create-topic", "tickflow", "simulator"] {
        service(&compose, name);
    }
}

#[test]
fn environment_variables_name_real_flags() {
    let compose = compose();
    for name in ["tickflow", "simulator"] {
        for key in environment(service(&compose, name)).keys() {
            if key == "RUST_LOG" {
                continue;
            }
            let flag = key
                .strip_prefix("TICKFLOW_")
                .unwrap_or_else(|| panic!("{name}: {key} is neither TICKFLOW_* nor RUST_LOG"))
                .to_lowercase()
                .replace('_', "-");
            assert!(
                FLAGS.contains(&flag.as_str()),
                "{name}: {key} names no flag (--{flag})"
            );
        }
        for word in command_words(service(&compose, name)) {
            if let Some(flag) = word.strip_prefix("--") {
                assert!(
                    FLAGS.contains(&flag),
                    "{name}: command passes unknown flag {word}"
                );
            }
        }
    }
}

#[test]
fn brokers_point_at_the_kafka_listener() {
    let compose = compose();
    let kafka = environment(service(&compose, "kafka"));
    let declared = listeners(var(&kafka, "KAFKA_LISTENERS"));
    let advertised = listeners(var(&kafka, "KAFKA_ADVERTISED_LISTENERS"));

    let tickflow = environment(service(&compose, "tickflow"));
    for broker in var(&tickflow, "TICKFLOW_BROKERS").split(',') {
        let (host, port) = broker
            .trim()
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("broker `{broker}` is not host:port"));
        assert_eq!(
            host, "kafka",
            "broker `{broker}` should be the kafka service"
        );
        service(&compose, host);
        assert!(
            declared.iter().any(|(_, p)| p == port),
            "KAFKA_LISTENERS has no listener on port {port}"
        );
        assert!(
            advertised.iter().any(|(h, p)| h == host && p == port),
            "KAFKA_ADVERTISED_LISTENERS does not advertise {host}:{port}"
        );
    }
}

#[test]
fn postgres_url_matches_the_postgres_service() {
    let compose = compose();
    let postgres = service(&compose, "postgres");
    let db = environment(postgres);
    let tickflow = environment(service(&compose, "tickflow"));

    let url = var(&tickflow, "TICKFLOW_POSTGRES");
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .unwrap_or_else(|| panic!("TICKFLOW_POSTGRES `{url}` is not a postgres:// URL"));
    let (userinfo, rest) = rest
        .rsplit_once('@')
        .expect("TICKFLOW_POSTGRES has no user@host");
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (hostport, dbname) = rest
        .split_once('/')
        .expect("TICKFLOW_POSTGRES has no database");
    let host = hostport.split(':').next().unwrap_or(hostport);
    let dbname = dbname.split('?').next().unwrap_or(dbname);

    assert_eq!(
        host, "postgres",
        "TICKFLOW_POSTGRES should connect to the postgres service"
    );
    assert_eq!(user, var(&db, "POSTGRES_USER"));
    assert_eq!(password, var(&db, "POSTGRES_PASSWORD"));
    assert_eq!(dbname, var(&db, "POSTGRES_DB"));

    assert!(
        postgres.get("healthcheck").is_some(),
        "postgres has no healthcheck"
    );
    let condition = service(&compose, "tickflow")
        .get("depends_on")
        .and_then(|d| d.get("postgres"))
        .and_then(|p| p.get("condition"))
        .and_then(Value::as_str);
    assert_eq!(
        condition,
        Some("service_healthy"),
        "tickflow must wait for postgres to be healthy"
    );
}

#[test]
fn created_topic_is_the_consumed_topic() {
    let compose = compose();
    let words = command_words(service(&compose, "create-topic"));
    let created = words
        .iter()
        .position(|w| w == "--topic")
        .and_then(|i| words.get(i + 1))
        .expect("create-topic command has no --topic");
    let tickflow = environment(service(&compose, "tickflow"));
    assert_eq!(created, var(&tickflow, "TICKFLOW_TOPIC"));
}

#[test]
fn dockerfile_builds_tickflow_in_stages() {
    let dockerfile = read("Dockerfile");
    let froms = dockerfile
        .lines()
        .filter(|line| line.trim_start().to_uppercase().starts_with("FROM "))
        .count();
    assert!(
        froms >= 2,
        "Dockerfile should be multi-stage, found {froms} FROM line(s)"
    );
    assert!(
        dockerfile
            .lines()
            .any(|line| line.contains("cargo build") && line.contains("--bin tickflow")),
        "Dockerfile does not build the tickflow binary"
    );
}
