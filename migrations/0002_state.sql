-- The state a pipeline resumes from, committed in the same transaction as its results
-- (see dataflows/src/cut.rs). Applied inside the pipeline's schema.

-- The mids behind `sma`, oldest first.
ALTER TABLE pair_metrics ADD COLUMN recent_mids NUMERIC[] NOT NULL DEFAULT '{}';

-- What the stored cut covers of each partition: every offset below next_offset, and offsets
-- below read_to whose event time is below frontier.
ALTER TABLE source_positions
    ADD COLUMN read_to  BIGINT,
    ADD COLUMN frontier TIMESTAMPTZ;

-- The ticks each pair's rolling average keeps, in segments of one commit each. `entries` is
-- 24 bytes a tick: event time in microseconds (big-endian i64), then the mid as rust_decimal's
-- 16-byte serialization. Segments whose newest tick fell out of the kept range are deleted.
CREATE TABLE rolling_history (
    pair    TEXT        NOT NULL,
    segment BIGINT      NOT NULL,
    max_ts  TIMESTAMPTZ NOT NULL,
    entries BYTEA       NOT NULL,
    PRIMARY KEY (pair, segment)
);
CREATE INDEX rolling_history_expiry ON rolling_history (pair, max_ts);

-- Which pipeline's state the schema holds, and its cut.
CREATE TABLE pipeline_state (
    singleton  BOOLEAN     PRIMARY KEY DEFAULT true CHECK (singleton),
    pipeline   TEXT        NOT NULL,
    frontier   TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
