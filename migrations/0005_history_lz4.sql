-- A rolling-history segment is written once per pair per commit, and compressing it with pglz
-- cost PostgreSQL about 4 % of a replay's tick-row pass; lz4 compresses the same bytes several
-- times faster. Only new segments take it; stored ones stay readable as they are. A server built
-- without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE rolling_history ALTER COLUMN entries SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no lz4; rolling_history keeps pglz';
END
$$;
