-- tickflow's tables (SPEC "Tables"). Applied inside the pipeline's schema by `tickflow migrate`.
-- Prices and derived figures are exact NUMERIC; times are TIMESTAMPTZ with microseconds.

CREATE TABLE ticks (
    source_topic     TEXT        NOT NULL,
    source_partition INTEGER     NOT NULL,
    source_offset    BIGINT      NOT NULL,
    pair             TEXT        NOT NULL,
    ts               TIMESTAMPTZ NOT NULL,
    bid              NUMERIC     NOT NULL,
    ask              NUMERIC     NOT NULL,
    mid_price        NUMERIC     NOT NULL,
    spread           NUMERIC     NOT NULL,
    highest_bid      NUMERIC     NOT NULL,
    lowest_ask       NUMERIC     NOT NULL,
    max_spread       NUMERIC     NOT NULL,
    sma              NUMERIC     NOT NULL,
    rolling_avg      NUMERIC     NOT NULL,
    is_late          BOOLEAN     NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);
CREATE INDEX ticks_pair_ts ON ticks (pair, ts);

CREATE TABLE pair_metrics (
    pair         TEXT        PRIMARY KEY,
    ts           TIMESTAMPTZ NOT NULL,
    bid          NUMERIC     NOT NULL,
    ask          NUMERIC     NOT NULL,
    mid_price    NUMERIC     NOT NULL,
    spread       NUMERIC     NOT NULL,
    highest_bid  NUMERIC     NOT NULL,
    lowest_ask   NUMERIC     NOT NULL,
    max_spread   NUMERIC     NOT NULL,
    sma          NUMERIC     NOT NULL,
    rolling_avg  NUMERIC     NOT NULL,
    tick_count   BIGINT      NOT NULL,
    first_ts     TIMESTAMPTZ NOT NULL,
    last_ts      TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- sum_mid and sum_spread keep the averages mergeable when a late tick updates a final window.
CREATE TABLE window_aggregates (
    pair           TEXT        NOT NULL,
    window_seconds INTEGER     NOT NULL,
    window_start   TIMESTAMPTZ NOT NULL,
    window_end     TIMESTAMPTZ NOT NULL,
    open_mid       NUMERIC     NOT NULL,
    high_mid       NUMERIC     NOT NULL,
    low_mid        NUMERIC     NOT NULL,
    close_mid      NUMERIC     NOT NULL,
    avg_mid        NUMERIC     NOT NULL,
    high_bid       NUMERIC     NOT NULL,
    low_ask        NUMERIC     NOT NULL,
    min_spread     NUMERIC     NOT NULL,
    max_spread     NUMERIC     NOT NULL,
    avg_spread     NUMERIC     NOT NULL,
    sum_mid        NUMERIC     NOT NULL,
    sum_spread     NUMERIC     NOT NULL,
    tick_count     BIGINT      NOT NULL,
    first_ts       TIMESTAMPTZ NOT NULL,
    last_ts        TIMESTAMPTZ NOT NULL,
    late_ticks     BIGINT      NOT NULL,
    is_final       BOOLEAN     NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pair, window_seconds, window_start)
);

CREATE TABLE dead_letters (
    source_topic     TEXT        NOT NULL,
    source_partition INTEGER     NOT NULL,
    source_offset    BIGINT      NOT NULL,
    payload          BYTEA       NOT NULL,
    reason           TEXT        NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source_topic, source_partition, source_offset)
);

CREATE TABLE source_positions (
    pipeline    TEXT        NOT NULL,
    topic       TEXT        NOT NULL,
    partition   INTEGER     NOT NULL,
    next_offset BIGINT      NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (pipeline, topic, partition)
);
