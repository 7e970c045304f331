/**
 * The incident record's first schema. Times are epoch milliseconds in `bigint` columns, passed in
 * by the caller (no `now()`). Names, ids and keys sort with `COLLATE "C"` (code-unit order, as the
 * memory store sorts, whatever the server's default collation is). Whole domain objects that are
 * only ever read back as a whole live in `jsonb`; what we filter, order or constrain on has a column.
 */
export const sql = /* sql */ `
CREATE TABLE findings (
  id          text COLLATE "C" PRIMARY KEY,
  target      text NOT NULL,
  kind        text NOT NULL,
  -- findingTime: \`at\`, or a blocking episode's start
  at          bigint NOT NULL,
  -- when it stops being active: \`at\`, a closed episode's end; NULL while an episode is open
  ended_at    bigint,
  payload     jsonb NOT NULL,
  received_at bigint NOT NULL
);
CREATE INDEX findings_at ON findings (at, id);
CREATE INDEX findings_target_at ON findings (target, at);
CREATE INDEX findings_ended_at ON findings (ended_at);

CREATE TABLE alerts (
  id          text COLLATE "C" PRIMARY KEY,
  fingerprint text NOT NULL,
  source      text NOT NULL,
  service     text NOT NULL,
  target      text,
  rule        text,
  severity    text NOT NULL,
  status      text NOT NULL CHECK (status IN ('firing', 'resolved')),
  summary     text NOT NULL,
  labels      jsonb NOT NULL,
  started_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  resolved_at bigint,
  incident_id text,
  evidence    text[] NOT NULL
);
-- At most one firing alert per (service, fingerprint): deduplication holds across replicas.
CREATE UNIQUE INDEX alerts_one_firing ON alerts (service, fingerprint) WHERE status = 'firing';
CREATE INDEX alerts_started_at ON alerts (started_at DESC, id DESC);
CREATE INDEX alerts_incident ON alerts (incident_id);
-- prune: is a finding some alert's evidence?
CREATE INDEX alerts_evidence ON alerts USING gin (evidence);

CREATE TABLE incidents (
  id              text COLLATE "C" PRIMARY KEY,
  service         text NOT NULL,
  group_key       text NOT NULL,
  title           text NOT NULL,
  summary         text NOT NULL,
  severity        text NOT NULL,
  state           text NOT NULL,
  created_at      bigint NOT NULL,
  acknowledged_at bigint,
  mitigated_at    bigint,
  resolved_at     bigint,
  closed_at       bigint,
  cancelled_at    bigint,
  last_alert_at   bigint NOT NULL,
  -- optimistic concurrency: UPDATE … WHERE id = $1 AND version = $2
  version         integer NOT NULL
);
CREATE INDEX incidents_created_at ON incidents (created_at DESC, id DESC);
CREATE INDEX incidents_grouping ON incidents (service, group_key, last_alert_at DESC);

-- Append-only; seq keeps insertion order among entries with the same time.
CREATE TABLE timeline (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id          text COLLATE "C" NOT NULL UNIQUE,
  incident_id text NOT NULL,
  at          bigint NOT NULL,
  actor       text NOT NULL,
  kind        text NOT NULL,
  text        text NOT NULL,
  dead_end    boolean NOT NULL,
  alert_id    text,
  data        jsonb NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, at, seq);

-- No foreign key to findings: evidence may be linked before a slow agent's push lands.
CREATE TABLE evidence_links (
  incident_id text NOT NULL,
  finding_id  text NOT NULL,
  linked_at   bigint NOT NULL,
  PRIMARY KEY (incident_id, finding_id)
);
CREATE INDEX evidence_links_finding ON evidence_links (finding_id);

CREATE TABLE rule_states (
  key          text COLLATE "C" PRIMARY KEY,
  rule         text NOT NULL,
  target       text NOT NULL,
  service      text NOT NULL,
  phase        text NOT NULL,
  since        bigint NOT NULL,
  value        double precision NOT NULL,
  alert_id     text,
  evaluated_at bigint NOT NULL
);

CREATE TABLE services (
  name       text COLLATE "C" PRIMARY KEY,
  definition jsonb NOT NULL
);
-- findByIntegrationSecret: definition->'integrations' @> '[{"secretHash": …}]'
CREATE INDEX services_integrations ON services USING gin ((definition -> 'integrations') jsonb_path_ops);

CREATE TABLE targets (
  name       text COLLATE "C" PRIMARY KEY,
  service    text NOT NULL,
  definition jsonb NOT NULL
);

CREATE TABLE target_health (
  target         text COLLATE "C" PRIMARY KEY,
  reachable      boolean NOT NULL,
  problem        text,
  last_sample_at bigint,
  agent          text NOT NULL,
  reported_at    bigint NOT NULL
);

CREATE TABLE api_tokens (
  id          text COLLATE "C" PRIMARY KEY,
  name        text NOT NULL,
  secret_hash text NOT NULL UNIQUE,
  role        text NOT NULL,
  created_at  bigint NOT NULL
);
`;
