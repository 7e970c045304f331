/**
 * A rollup's user ids move out of its row (issue 10, ingest latency). As arrays in the row, every
 * merge of a busy route re-sorted and re-TOASTed its thousands of ids to add a few, and left the
 * dead versions to autovacuum: most of a batch's p99 in `bench:ingest`. One row per id was no
 * better at a bucket's start, when every id is new (an index entry each).
 *
 * Now a merge appends, per key, one row holding only the ids the intake had not sent before
 * (app/signal-intake.ts), and the rollup row stays small (its update is a HOT update: fillfactor
 * leaves the room). Reads unite a key's rows, dropping the repeats a restart or a second replica
 * may send, and take the smallest ids up to the bound, as the arrays kept.
 *
 * `failed` false: users with a request in the bucket; true: those with a failed one. The array
 * columns of app_rollups stay (empty) for a replica still running the previous release.
 */
export const sql = /* sql */ `
CREATE TABLE app_rollup_users (
  service text COLLATE "C" NOT NULL,
  method  text COLLATE "C" NOT NULL,
  route   text COLLATE "C" NOT NULL,
  bucket  bigint NOT NULL,
  failed  boolean NOT NULL,
  ids     text[] COLLATE "C" NOT NULL
);
CREATE INDEX app_rollup_users_key ON app_rollup_users (service, method, route, bucket, failed);

INSERT INTO app_rollup_users
  SELECT service, method, route, bucket, false, users FROM app_rollups WHERE cardinality(users) > 0
  UNION ALL
  SELECT service, method, route, bucket, true, failed_users FROM app_rollups WHERE cardinality(failed_users) > 0;
UPDATE app_rollups SET users = '{}', failed_users = '{}' WHERE cardinality(users) > 0 OR cardinality(failed_users) > 0;

ALTER TABLE app_rollups SET (fillfactor = 70);
`;
