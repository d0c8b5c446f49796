//! Rolling-history segments against PostgreSQL: a segment large enough to be compressed is
//! compressed with lz4 where the server has it (`migrations/0005_history_lz4.sql`), both in the
//! writer's stage and in `rolling_history`, which keeps the staged value as it is.

mod support;

use rust_decimal::Decimal;
use support::{postgres_url, Schema};
use tickflow::sink::history;
use tickflow::sink::session::Session;
use tickflow::sink::tables::{self, HISTORY};
use tickflow::store;
use tokio_postgres::types::ToSql;

const SCHEMA: &str = "history_lz4";

#[test]
fn large_segments_are_stored_with_lz4_where_the_server_has_it() {
    let schema = Schema::fresh(SCHEMA);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let (stage, lz4) = runtime.block_on(async {
        let mut client = store::connect(&postgres_url(), SCHEMA)
            .await
            .expect("connect");
        store::migrate(&mut client, SCHEMA).await.expect("migrate");
        let lz4 = client
            .batch_execute("CREATE TEMPORARY TABLE lz4_probe (b BYTEA COMPRESSION lz4)")
            .await
            .is_ok();
        tables::create_stages(&client, &[&HISTORY])
            .await
            .expect("stage history");
        let client = Session::new(client);
        // Ten thousand ticks a segment, ten times past where PostgreSQL starts compressing.
        let entries: Vec<(u64, Decimal)> = (0..10_000)
            .map(|i| {
                (
                    1_700_000_000_000_000 + i * 10_000,
                    Decimal::new(5_000_000 + (i % 7) as i64, 2),
                )
            })
            .collect();
        let (pair, segment, newest, bytes) = (
            "BTC-USD",
            1i64,
            chrono::DateTime::from_timestamp(1_700_000_100, 0).expect("time"),
            history::encode(&entries),
        );
        let row: Vec<&(dyn ToSql + Sync)> = vec![&pair, &segment, &newest, &bytes];
        client.batch_execute("BEGIN").await.expect("begin");
        HISTORY
            .write(&client, std::iter::once(&row))
            .await
            .expect("write a segment");
        let stage: Option<String> = client
            .query_one(
                "SELECT pg_column_compression(entries) FROM tickflow_stage_rolling_history",
                &[],
            )
            .await
            .expect("the staged segment")
            .get(0);
        client.batch_execute("COMMIT").await.expect("commit");
        (stage, lz4)
    });
    let stored: Option<String> =
        schema.query("SELECT pg_column_compression(entries) FROM rolling_history")[0].get(0);
    let expected = if lz4 { "lz4" } else { "pglz" };
    assert_eq!(stage.as_deref(), Some(expected), "the staged segment");
    assert_eq!(stored.as_deref(), Some(expected), "the stored segment");
}
