/**
 * Paging (issue 9): the directory the configuration declares, each incident's escalation state, and
 * the outbox. Times are epoch ms passed in by the caller. The outbox's unique idempotency key is
 * what makes "nobody paged twice for one step" hold across replicas: a second enqueue of the same
 * intended delivery inserts nothing.
 */
export const sql = /* sql */ `
CREATE TABLE paging_directory (
  id         text COLLATE "C" PRIMARY KEY,
  document   jsonb NOT NULL,
  updated_at bigint NOT NULL
);

CREATE TABLE escalation_states (
  incident_id text COLLATE "C" PRIMARY KEY,
  policy      text NOT NULL,
  kind        text NOT NULL,
  state       jsonb NOT NULL,
  wake_at     bigint,
  updated_at  bigint NOT NULL
);
CREATE INDEX escalation_states_active ON escalation_states (incident_id) WHERE kind <> 'stopped';

CREATE TABLE outbox (
  seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id              text COLLATE "C" NOT NULL UNIQUE,
  idempotency_key text COLLATE "C" NOT NULL UNIQUE,
  incident_id     text,
  channel         text NOT NULL,
  notification    jsonb NOT NULL,
  state           text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
  attempts        integer NOT NULL,
  next_attempt_at bigint NOT NULL,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  claimed_at      bigint,
  sent_at         bigint,
  last_error      text
);
-- claim: pending and due, oldest first
CREATE INDEX outbox_pending ON outbox (next_attempt_at, created_at, seq) WHERE state = 'pending';
CREATE INDEX outbox_sending ON outbox (claimed_at) WHERE state = 'sending';
CREATE INDEX outbox_incident ON outbox (incident_id, created_at, seq);
`;
