/**
 * The web app's side (issue 10): requests as 10 s route rollups, and deploy markers. A rollup is
 * merged in SQL by `INSERT … ON CONFLICT DO UPDATE` with the functions below: the conflicting row is
 * locked and re-read, so concurrent merges of one key (two replicas) serialize and lose nothing.
 * The functions follow core/app-signal-rollup.ts rule for rule (the contract suite checks both
 * stores agree); the bounds are parameters, passed in from core/app-signal.ts.
 */
export const sql = /* sql */ `
CREATE TABLE app_rollups (
  service         text COLLATE "C" NOT NULL,
  method          text COLLATE "C" NOT NULL,
  route           text COLLATE "C" NOT NULL,
  bucket          bigint NOT NULL,
  requests        bigint NOT NULL,
  failures        bigint NOT NULL,
  duration_ms_sum double precision NOT NULL,
  duration_ms_max double precision NOT NULL,
  -- hashed user ids, sorted in code-unit order, at most the bound (the smallest kept)
  users           text[] NOT NULL,
  failed_users    text[] NOT NULL,
  users_truncated boolean NOT NULL,
  causes          jsonb NOT NULL,
  samples         jsonb NOT NULL,
  releases        text[] NOT NULL,
  PRIMARY KEY (service, method, route, bucket)
);
CREATE INDEX app_rollups_bucket ON app_rollups (bucket);

-- The union of two sorted id sets, sorted (code-unit order), the smallest max kept.
-- Nothing new (the usual case under load: the intake sends only ids it has not sent before): a as is.
CREATE FUNCTION hindsight_unite_ids(a text[], b text[], max integer) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN cardinality(b) = 0 THEN a ELSE (
    SELECT coalesce(array_agg(u ORDER BY u), '{}')
    FROM (SELECT u FROM (SELECT DISTINCT u COLLATE "C" AS u FROM unnest(a || b) AS e(u)) d ORDER BY u LIMIT max) k
  ) END
$fn$;

-- Does the union of two id sets hold more than max ids?
CREATE FUNCTION hindsight_ids_overflow(a text[], b text[], max integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT cardinality(b) > 0 AND cardinality(a) + cardinality(b) > max AND (SELECT count(DISTINCT u) FROM unnest(a || b) AS e(u)) > max
$fn$;

-- Causes added up by (sqlstate, callSite, query, errorClass); past max, the top max - 1 (the null
-- cause ranked last) stay and the rest fold into the null cause. Largest count first, then fields
-- null first in code-unit order.
CREATE FUNCTION hindsight_merge_causes(a jsonb, b jsonb, max integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  WITH summed AS (
    SELECT c ->> 'sqlstate' AS sqlstate, c ->> 'callSite' AS call_site, c ->> 'query' AS query,
           c ->> 'errorClass' AS error_class, sum((c ->> 'count')::bigint) AS count
    FROM jsonb_array_elements(a || b) AS e(c)
    GROUP BY 1, 2, 3, 4
  ), ranked AS (
    SELECT *, count(*) OVER () AS n,
           row_number() OVER (ORDER BY (sqlstate IS NULL AND call_site IS NULL AND query IS NULL AND error_class IS NULL),
             count DESC, sqlstate COLLATE "C" NULLS FIRST, call_site COLLATE "C" NULLS FIRST,
             query COLLATE "C" NULLS FIRST, error_class COLLATE "C" NULLS FIRST) AS rank
    FROM summed
  ), kept AS (
    SELECT sqlstate, call_site, query, error_class, count FROM ranked WHERE n <= max OR rank < max
    UNION ALL
    SELECT NULL, NULL, NULL, NULL, sum(count) FROM ranked WHERE n > max AND rank >= max HAVING count(*) > 0
  )
  SELECT coalesce(jsonb_agg(jsonb_build_object('sqlstate', sqlstate, 'callSite', call_site, 'query', query,
                                               'errorClass', error_class, 'count', count)
                            ORDER BY count DESC, sqlstate COLLATE "C" NULLS FIRST, call_site COLLATE "C" NULLS FIRST,
                                     query COLLATE "C" NULLS FIRST, error_class COLLATE "C" NULLS FIRST), '[]')
  FROM kept
$fn$;

-- The first max samples by time; on a tie the stored ones (a) first, each in its order.
CREATE FUNCTION hindsight_first_samples(a jsonb, b jsonb, max integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT coalesce(jsonb_agg(s ORDER BY at, src, pos), '[]')
  FROM (
    SELECT s, (s ->> 'at')::numeric AS at, src, pos
    FROM (SELECT s, 0 AS src, pos FROM jsonb_array_elements(a) WITH ORDINALITY AS e(s, pos)
          UNION ALL
          SELECT s, 1 AS src, pos FROM jsonb_array_elements(b) WITH ORDINALITY AS e(s, pos)) u
    ORDER BY at, src, pos
    LIMIT max
  ) k
$fn$;

-- The union of two release sets, sorted.
CREATE FUNCTION hindsight_unite_releases(a text[], b text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT CASE WHEN b <@ a THEN a ELSE (
    SELECT coalesce(array_agg(r ORDER BY r), '{}') FROM (SELECT DISTINCT r COLLATE "C" AS r FROM unnest(a || b) AS e(r)) d
  ) END
$fn$;

CREATE TABLE deploys (
  id         text COLLATE "C" PRIMARY KEY,
  service    text COLLATE "C" NOT NULL,
  version    text NOT NULL,
  commit_sha text,
  at         bigint NOT NULL,
  actor      text NOT NULL
);
CREATE INDEX deploys_service_at ON deploys (service, at DESC, id DESC);
CREATE INDEX deploys_at ON deploys (at DESC, id DESC);
`;
