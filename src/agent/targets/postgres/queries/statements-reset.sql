-- When pg_stat_statements was last fully reset (1.9+, one row in shared memory), epoch ms. Read
-- right after the figures: a reset between the two reads makes the next read count every entry
-- from 0 (counters that went down do so anyway), never counts pre-reset figures twice.
SELECT date_part('epoch', i.stats_reset) * 1000 AS stats_reset
FROM @extschema@.pg_stat_statements_info AS i
