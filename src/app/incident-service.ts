import type { Alert } from '../core/alert.js';
import type { HindsightError } from '../core/errors.js';
import { userError } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import type { IncidentStore, StoreRepositories } from '../core/incident-store.js';
import type { Actor, Incident, IncidentCommand, IncidentState, TimelineEntry } from '../core/incident.js';
import { OPEN_STATES } from '../core/incident.js';
import { transitionIncident } from '../core/incident-transition.js';
import type { Clock, IdSource } from '../core/ports.js';
import type { IncidentAppSide } from '../core/incident-app-side.js';
import { readAppSide } from './app-side-reader.js';
import type { IncidentLoad } from '../core/incident-load.js';
import { readIncidentLoad } from './incident-load-reader.js';
import { timelineEntry } from './incident-recorder.js';

/** `open`: triggered, acknowledged or mitigated; `resolved`: no longer open (resolved, closed, cancelled). */
export type IncidentListState = 'open' | 'resolved' | 'all';

export interface IncidentListQuery {
  readonly state?: IncidentListState;
  readonly service?: string;
  readonly limit?: number;
}

export interface IncidentDetail {
  readonly incident: Incident;
  /** Oldest first. */
  readonly timeline: readonly TimelineEntry[];
  /** Newest first. */
  readonly alerts: readonly Alert[];
  /** The findings behind it, oldest first. */
  readonly evidence: readonly Finding[];
  /** The web app's side: users affected, the causes of its failures, the deploy before it (app-side-reader.ts). */
  readonly impact: IncidentAppSide['impact'];
  readonly attribution: IncidentAppSide['attribution'];
  readonly onsetDeploy: IncidentAppSide['onsetDeploy'];
  /** Working or waiting: the busiest interval of its targets in its span (incident-load-reader.ts); null without metrics. */
  readonly load: IncidentLoad | null;
}

export interface NoteInput {
  readonly text: string;
  readonly deadEnd?: boolean;
}

/** Optional optimistic concurrency: the version the caller saw; another one is a conflict (409). */
export interface CommandOptions {
  readonly expectedVersion?: number;
}

const CLOSED_STATES: readonly IncidentState[] = ['resolved', 'closed', 'cancelled'];
export const MAX_NOTE_LENGTH = 10_000;

/** Errors the API maps: 404, 409, and 400 for the user-kind validation errors. */
export const INCIDENT_NOT_FOUND = 'INCIDENT_NOT_FOUND';
export const INCIDENT_CONFLICT = 'INCIDENT_CONFLICT';
export const INVALID_INPUT = 'INVALID_INPUT';

const notFound = (id: string): HindsightError =>
  userError(INCIDENT_NOT_FOUND, `no incident ${id}; list incidents with GET /api/v1/incidents`);
const conflict = (message: string): HindsightError => userError(INCIDENT_CONFLICT, message);

/**
 * What people do with incidents: list and read them, move them through their lifecycle, add notes.
 * Each change runs in one `store.transact` with its timeline entry (actor and time), and is checked
 * against the incident's version, so two people changing one incident at once get a 409, not a
 * lost update.
 */
export class IncidentService {
  readonly #store: IncidentStore;
  readonly #clock: Clock;
  readonly #ids: IdSource;

  constructor(deps: { store: IncidentStore; clock: Clock; ids: IdSource }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#ids = deps.ids;
  }

  list(query: IncidentListQuery = {}): Promise<Incident[]> {
    const state = query.state ?? 'open';
    return this.#store.incidents.list({
      ...(state === 'all' ? {} : { states: state === 'open' ? OPEN_STATES : CLOSED_STATES }),
      ...(query.service === undefined ? {} : { service: query.service }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
  }

  /** For `/metrics`: incidents by state. */
  countByState(): Promise<Readonly<Record<IncidentState, number>>> {
    return this.#store.incidents.countByState();
  }

  async detail(id: string): Promise<IncidentDetail> {
    const incident = await this.#store.incidents.get(id);
    if (incident === null) throw notFound(id);
    const [timeline, alerts, evidence, app] = await Promise.all([
      this.#store.timeline.list(id),
      this.#store.alerts.list({ incidentId: id, limit: 1000 }),
      this.#store.evidence.findings(id),
      readAppSide(this.#store, incident, this.#clock.now()),
    ]);
    const load = await readIncidentLoad(this.#store, incident, evidence, this.#clock.now());
    return {
      incident,
      timeline,
      alerts,
      evidence,
      impact: app.impact,
      attribution: app.attribution,
      onsetDeploy: app.onsetDeploy,
      load,
    };
  }

  acknowledge(id: string, actor: Actor, options?: CommandOptions): Promise<Incident> {
    return this.#command(id, actor, { kind: 'acknowledge' }, options);
  }

  /** An acknowledgement expiring (paging): back to triggered. */
  unacknowledge(id: string, actor: Actor, options?: CommandOptions): Promise<Incident> {
    return this.#command(id, actor, { kind: 'unacknowledge' }, options);
  }

  mitigate(id: string, actor: Actor, options?: CommandOptions): Promise<Incident> {
    return this.#command(id, actor, { kind: 'mitigate' }, options);
  }

  resolve(id: string, actor: Actor, options?: CommandOptions): Promise<Incident> {
    return this.#command(id, actor, { kind: 'resolve' }, options);
  }

  close(id: string, actor: Actor, options?: CommandOptions): Promise<Incident> {
    return this.#command(id, actor, { kind: 'close' }, options);
  }

  cancel(id: string, actor: Actor, options?: CommandOptions): Promise<Incident> {
    return this.#command(id, actor, { kind: 'cancel' }, options);
  }

  reopen(id: string, actor: Actor, options?: CommandOptions): Promise<Incident> {
    return this.#command(id, actor, { kind: 'reopen' }, options);
  }

  /** A note on the timeline; `deadEnd` marks a line of investigation that led nowhere. Allowed in every state. */
  async addNote(id: string, actor: Actor, note: NoteInput): Promise<TimelineEntry> {
    checkActor(actor);
    const text = note.text.trim();
    if (text === '') throw userError(INVALID_INPUT, 'a note needs text: send { "text": "what you found" }');
    if (text.length > MAX_NOTE_LENGTH)
      throw userError(
        INVALID_INPUT,
        `a note is at most ${MAX_NOTE_LENGTH} characters (this one has ${text.length}); split it`,
      );
    return await this.#store.transact(incidentLock(id), async (tx) => {
      if ((await tx.incidents.get(id)) === null) throw notFound(id);
      const entry = timelineEntry(
        { tx, ids: this.#ids, now: this.#clock.now() },
        { incidentId: id, actor, kind: 'note', text, deadEnd: note.deadEnd ?? false },
      );
      await tx.timeline.append(entry);
      return entry;
    });
  }

  async #command(
    id: string,
    actor: Actor,
    command: IncidentCommand,
    options: CommandOptions | undefined,
  ): Promise<Incident> {
    checkActor(actor);
    return await this.#store.transact(incidentLock(id), async (tx) =>
      applyCommand(tx, {
        id,
        actor,
        command,
        ids: this.#ids,
        now: this.#clock.now(),
        expectedVersion: options?.expectedVersion,
      }),
    );
  }
}

const incidentLock = (id: string): string => `incident:${id}`;
const COMMAND_ATTEMPTS = 5;

const checkActor = (actor: Actor): void => {
  if (actor.trim() === '')
    throw userError(INVALID_INPUT, 'every change is recorded with who made it: the actor must not be empty');
};

/**
 * One lifecycle command inside a transaction: refused moves and stale versions are conflicts (409);
 * the state change goes on the timeline as `state_changed` with `{ from, to }`. Shared with the
 * inbound-alert intake (an integration acknowledging).
 */
export const applyCommand = async (
  tx: StoreRepositories,
  input: {
    id: string;
    actor: Actor;
    command: IncidentCommand;
    ids: IdSource;
    now: number;
    expectedVersion?: number | undefined;
  },
): Promise<Incident> => {
  // Without an expected version, a write that loses to the rule cycle (which bumps the version as
  // evidence arrives) is retried on the fresh copy: the command still means what it meant.
  for (let attempt = 0; attempt < COMMAND_ATTEMPTS; attempt += 1) {
    const incident = await tx.incidents.get(input.id);
    if (incident === null) throw notFound(input.id);
    if (input.expectedVersion !== undefined && input.expectedVersion !== incident.version) {
      throw conflict(
        `incident ${input.id} changed (version ${incident.version}, you saw ${input.expectedVersion}); reload it and try again`,
      );
    }
    const result = transitionIncident(incident, input.command, input.now);
    if (!result.ok) throw conflict(`cannot ${input.command.kind} incident ${input.id}: ${result.reason}`);
    if (!(await tx.incidents.update(result.incident))) {
      if (input.expectedVersion === undefined) continue;
      throw conflict(
        `incident ${input.id} was changed by someone else at the same moment; reload it and try again`,
      );
    }
    await tx.timeline.append(
      timelineEntry(
        { tx, ids: input.ids, now: input.now },
        {
          incidentId: input.id,
          actor: input.actor,
          kind: 'state_changed',
          text: result.incident.state,
          data: { from: incident.state, to: result.incident.state, command: input.command.kind },
        },
      ),
    );
    return result.incident;
  }
  throw conflict(`incident ${input.id} kept changing while you changed it; reload it and try again`);
};
