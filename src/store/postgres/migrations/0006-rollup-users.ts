/**
 * A rollup's user ids move out of its row into a table of their own (issue 10, ingest latency). As
 * arrays they made every merge of a busy route rewrite (and re-TOAST) thousands of ids to add a few,
 * and the dead versions kept autovacuum and checkpoints busy: the p99 of a batch. As rows, a merge
 * inserts only the ids that are new (`ON CONFLICT DO NOTHING`) and the rollup row stays small, so
 * its update is a HOT update in place (fillfactor leaves the room for it).
 *
 * `failed` false: every user with a request in the bucket; true: those with a failed one. Reads take
 * the smallest ids in code-unit order up to the bound (core/app-signal.ts), as the arrays kept.
 * The array columns stay (empty) for a replica still running the previous release.
 */
export const sql = /* sql */ `
CREATE TABLE app_rollup_users (
  service text COLLATE "C" NOT NULL,
  method  text COLLATE "C" NOT NULL,
  route   text COLLATE "C" NOT NULL,
  bucket  bigint NOT NULL,
  failed  boolean NOT NULL,
  user_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (service, method, route, bucket, failed, user_id)
);

INSERT INTO app_rollup_users
  SELECT service, method, route, bucket, false, u FROM app_rollups, unnest(users) AS e(u)
  UNION
  SELECT service, method, route, bucket, true, u FROM app_rollups, unnest(failed_users) AS e(u);
UPDATE app_rollups SET users = '{}', failed_users = '{}' WHERE cardinality(users) > 0 OR cardinality(failed_users) > 0;

ALTER TABLE app_rollups SET (fillfactor = 70);
`;
