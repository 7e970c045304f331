import { z } from 'zod';
import type { TargetHealth } from '../../core/catalog.js';
import type { Finding } from '../../core/finding.js';
import { epochMsSchema, nameSchema } from './common-schemas.js';
import { seriesPushSchema } from './series-schemas.js';

/**
 * Findings as an agent pushes them (the shapes of core/finding.ts). Strict enough to turn garbage
 * away with a 400 naming the field; unknown extra fields are dropped — so every field core's types
 * carry must be listed here, or findings pushed by `hindsight agent` lose it (a test round-trips a
 * finding with every optional field through the ingest route).
 */
const text = z.string().max(100_000);
const id = z.string().min(1).max(200);
const pid = z.number().int();
const ms = z.number().nonnegative();
const sessionState = z.enum([
  'active',
  'idle',
  'idle in transaction',
  'idle in transaction (aborted)',
  'fastpath function call',
  'disabled',
]);
const evidenceSource = z.enum(['log', 'live', 'counter']);

const shortText = z.string().max(1000);
const rowLockObject = z.object({
  kind: z.literal('row'),
  relation: shortText.nullable(),
  relationOid: z.number().int().nullable(),
  ctid: z.string().max(100).nullable(),
});
/** What a lock is on (core/sample.ts `LockObject`). */
const lockObject = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('relation'),
    relation: shortText.nullable(),
    relationOid: z.number().int().nullable(),
  }),
  rowLockObject,
  z.object({
    kind: z.literal('transaction'),
    transactionId: z.string().max(100).nullable(),
    holderPid: pid.nullable(),
    row: rowLockObject.nullable(),
  }),
  z.object({
    kind: z.literal('virtual_transaction'),
    virtualXid: z.string().max(100).nullable(),
    holderPid: pid.nullable(),
  }),
  z.object({ kind: z.literal('advisory'), key: z.string().max(100) }),
  z.object({ kind: z.literal('other'), lockType: z.string().max(100), relation: shortText.nullable() }),
]);

/** sqlcommenter tags read off a statement (core/app-signal.ts `SqlTags`): the app's route, call site… */
const tagValue = z.string().max(1000).exactOptional();
const sqlTags = z.object({
  service: tagValue,
  route: tagValue,
  release: tagValue,
  callsite: tagValue,
  job: tagValue,
});

const deadlockProcess = z.object({
  pid,
  waitsForMode: z.string().max(200),
  waitsForObject: z.string().max(1000),
  relation: z.string().max(1000).nullable(),
  blockedBy: pid,
  query: text.nullable(),
  lockObject: lockObject.exactOptional(),
  user: z.string().max(200).nullable().exactOptional(),
  application: z.string().max(200).nullable().exactOptional(),
  tags: sqlTags.exactOptional(),
});

const rootBlocker = z.object({
  pid,
  state: sessionState.nullable(),
  query: text.nullable(),
  user: z.string().max(200).nullable(),
  application: z.string().max(200).nullable(),
  client: z.string().max(200).nullable(),
  xactAgeMs: ms.nullable(),
  stateAgeMs: ms.nullable(),
  blockedCount: z.number().int().nonnegative(),
  tags: sqlTags.exactOptional(),
});

const victim = z.object({
  pid,
  query: text.nullable(),
  waitedMs: ms,
  lockMode: z.string().max(200),
  relation: z.string().max(1000).nullable(),
  blockedBy: z.array(pid).max(10_000),
  rootPids: z.array(pid).max(10_000),
  depth: z.number().int().nonnegative().exactOptional(),
  queueOnly: z.boolean().exactOptional(),
  lockObject: lockObject.exactOptional(),
  tags: sqlTags.exactOptional(),
});

const waitEdge = z.object({ waiter: pid, blocker: pid, queued: z.boolean().exactOptional() });

const common = { id, target: nameSchema };

export const findingSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('deadlock'),
    ...common,
    at: epochMsSchema,
    source: evidenceSource,
    victimPid: pid.nullable(),
    processes: z.array(deadlockProcess).max(1000),
    count: z.number().int().positive(),
    database: z.string().max(200).nullable(),
  }),
  z.object({
    kind: z.literal('blocking_episode'),
    ...common,
    phase: z.enum(['open', 'closed']),
    startedAt: epochMsSchema,
    endedAt: epochMsSchema.nullable(),
    roots: z.array(rootBlocker).max(10_000),
    victims: z.array(victim).max(10_000),
    maxDepth: z.number().int().nonnegative(),
    maxWaiters: z.number().int().nonnegative(),
    longestWaitMs: ms,
    edges: z.array(waitEdge).max(100_000),
  }),
  z.object({
    kind: z.literal('lock_wait_storm'),
    ...common,
    at: epochMsSchema,
    relation: z.string().max(1000),
    waiters: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal('long_transaction'),
    ...common,
    at: epochMsSchema,
    pid,
    ageMs: ms,
    state: sessionState.nullable(),
    query: text.nullable(),
    application: z.string().max(200).nullable(),
    tags: sqlTags.exactOptional(),
  }),
  z.object({
    kind: z.literal('idle_in_transaction'),
    ...common,
    at: epochMsSchema,
    pid,
    idleMs: ms,
    query: text.nullable(),
    application: z.string().max(200).nullable(),
    tags: sqlTags.exactOptional(),
  }),
  z.object({
    kind: z.literal('target_unreachable'),
    ...common,
    at: epochMsSchema,
    reason: z.string().max(10_000),
  }),
  z.object({ kind: z.literal('target_recovered'), ...common, at: epochMsSchema, downMs: ms }),
]);

// The schema must produce core's Finding: a change to either side fails the build here.
type Assignable<T extends Finding> = T;
export type ParsedFinding = Assignable<z.output<typeof findingSchema>>;

export const targetHealthInputSchema = z.object({
  target: nameSchema,
  reachable: z.boolean(),
  problem: z.string().max(10_000).nullable(),
  lastSampleAt: epochMsSchema.nullable(),
  /** How long the agent's last sample took, for `hindsight_agent_sample_latency_seconds`. */
  sampleLatencyMs: ms.nullable().optional(),
});

export const ingestBodySchema = z.object({
  agent: nameSchema.meta({
    description: 'The pushing agent: recorded as the reporter of each target health.',
  }),
  findings: z.array(findingSchema).max(10_000),
  health: z.array(targetHealthInputSchema).max(1000).default([]),
  series: seriesPushSchema.optional().meta({
    description:
      'The 10 s database metrics points and top statements the agent closed since its last push (absent from older agents).',
  }),
});

export const ingestReplySchema = z.object({
  accepted: z
    .number()
    .int()
    .meta({ description: 'Findings accepted (saved, or already saved by an earlier push).' }),
});

/** Health as the store keeps it: the reporting agent, and the time the server received it. */
export const toTargetHealth = (
  input: z.output<typeof targetHealthInputSchema>,
  agent: string,
  reportedAt: number,
): TargetHealth => ({
  target: input.target,
  reachable: input.reachable,
  problem: input.problem,
  lastSampleAt: input.lastSampleAt,
  agent,
  reportedAt,
});
