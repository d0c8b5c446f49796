-- The mean a late window's merge recomputes, exactly as the engine computes every average
-- (dataflows/src/window.rs, `mean`): the exact quotient rounded half away from zero to 12 places,
-- always with scale 12. `round(total / n, 12)` is not that: PostgreSQL's division first rounds to
-- a scale of its own choosing, 16 significant digits, so a quotient of 1e8 or more kept only 8
-- places (round(123456789012.5 / 3, 12) = 41152263004.166666670000), and smaller ones were
-- rounded twice. div() truncates the exact quotient; adding half the divisor first rounds it.
CREATE OR REPLACE FUNCTION tickflow_mean(total NUMERIC, n BIGINT) RETURNS NUMERIC
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT sign(total) * div(abs(total) * 2000000000000 + n, 2 * n) * 0.000000000001 $$;
