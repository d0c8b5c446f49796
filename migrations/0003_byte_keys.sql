-- Text keys compare as bytes ("C" collation) instead of by the database's locale: every insert
-- into `ticks` walks two B-trees keyed on text, and a locale comparison (strcoll) of each key
-- costs several times a byte comparison. Pairs and topic names are codes, not words: `ORDER BY
-- pair` is byte order from here on. The indexes are rebuilt once, here.
ALTER TABLE ticks
    ALTER COLUMN source_topic TYPE TEXT COLLATE "C",
    ALTER COLUMN pair         TYPE TEXT COLLATE "C";
ALTER TABLE pair_metrics      ALTER COLUMN pair         TYPE TEXT COLLATE "C";
ALTER TABLE window_aggregates ALTER COLUMN pair         TYPE TEXT COLLATE "C";
ALTER TABLE dead_letters      ALTER COLUMN source_topic TYPE TEXT COLLATE "C";
ALTER TABLE rolling_history   ALTER COLUMN pair         TYPE TEXT COLLATE "C";
