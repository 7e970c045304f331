import type { Alert } from '../../core/alert.js';
import type { Finding } from '../../core/finding.js';
import type { Actor, Incident, TimelineEntry } from '../../core/incident.js';
import type { IncidentLoad } from '../../core/incident-load.js';
import type { IncidentAppSide } from '../../core/incident-app-side.js';
import { actorOf } from '../middleware/auth/bearer-auth.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { errorBodySchema } from '../schemas/common-schemas.js';
import {
  commandBodySchema,
  idParamsSchema,
  incidentDetailSchema,
  incidentListQuerySchema,
  incidentListSchema,
  incidentSchema,
  noteBodySchema,
  timelineEntrySchema,
} from '../schemas/incident-schemas.js';

/** Optimistic concurrency: the version the caller saw; another one answers 409. */
interface CommandOptions {
  readonly expectedVersion?: number;
}

/** What the API needs of the incident use cases (app/'s IncidentService). */
export interface IncidentUseCases {
  list(query: {
    readonly state: 'open' | 'resolved' | 'all';
    readonly service?: string;
    readonly limit?: number;
  }): Promise<readonly Incident[]>;
  detail(id: string): Promise<{
    readonly incident: Incident;
    readonly timeline: readonly TimelineEntry[];
    readonly alerts: readonly Alert[];
    readonly evidence: readonly Finding[];
    readonly impact: IncidentAppSide['impact'];
    readonly attribution: IncidentAppSide['attribution'];
    readonly onsetDeploy: IncidentAppSide['onsetDeploy'];
    readonly load: IncidentLoad | null;
  }>;
  acknowledge(id: string, actor: Actor, options?: CommandOptions): Promise<Incident>;
  mitigate(id: string, actor: Actor, options?: CommandOptions): Promise<Incident>;
  resolve(id: string, actor: Actor, options?: CommandOptions): Promise<Incident>;
  close(id: string, actor: Actor, options?: CommandOptions): Promise<Incident>;
  cancel(id: string, actor: Actor, options?: CommandOptions): Promise<Incident>;
  reopen(id: string, actor: Actor, options?: CommandOptions): Promise<Incident>;
  addNote(
    id: string,
    actor: Actor,
    note: { readonly text: string; readonly deadEnd: boolean },
  ): Promise<TimelineEntry>;
}

const ACTIONS = ['acknowledge', 'mitigate', 'resolve', 'close', 'cancel', 'reopen'] as const;

const ACTION_SUMMARY: Readonly<Record<(typeof ACTIONS)[number], string>> = {
  acknowledge: 'Acknowledges the incident (someone is on it)',
  mitigate: 'Marks the incident mitigated (the impact is over, the cause may not be)',
  resolve: 'Resolves the incident',
  close: 'Closes a resolved incident (the record is complete)',
  cancel: 'Cancels the incident (a false alarm)',
  reopen: 'Reopens a resolved incident',
};

const tag = 'incidents';
const notFound = { description: 'No such incident', schema: errorBodySchema };
const conflict = {
  description: 'Not allowed from its current state, or changed concurrently',
  schema: errorBodySchema,
};

export const incidentRoutes = (incidents: IncidentUseCases): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/incidents',
    summary: 'Incidents, newest first: open (the default), resolved (resolved, closed, cancelled) or all',
    tag,
    access: 'viewer',
    query: incidentListQuerySchema,
    responses: { 200: { description: 'The incidents', schema: incidentListSchema } },
    handle: async ({ query }, c) => {
      const { state, service, limit } = query;
      return c.json({
        incidents: await incidents.list({
          state,
          ...(service === undefined ? {} : { service }),
          ...(limit === undefined ? {} : { limit }),
        }),
      });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/incidents/:id',
    summary:
      "One incident with its timeline, alerts, evidence (the findings behind it) and the web app's side: impact, attribution of failures, onset deploy",
    tag,
    access: 'viewer',
    params: idParamsSchema,
    responses: { 200: { description: 'The incident', schema: incidentDetailSchema }, 404: notFound },
    handle: async ({ params }, c) => c.json(await incidents.detail(params.id)),
  }),
  ...ACTIONS.map((action) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/incidents/:id/${action}`,
      summary: ACTION_SUMMARY[action],
      tag,
      access: 'responder',
      params: idParamsSchema,
      body: commandBodySchema,
      responses: {
        200: { description: 'The incident after the change', schema: incidentSchema },
        404: notFound,
        409: conflict,
      },
      handle: async ({ params, body }, c) =>
        c.json(
          await incidents[action](
            params.id,
            actorOf(c.var.token),
            body.version === undefined ? {} : { expectedVersion: body.version },
          ),
        ),
    }),
  ),
  defineRoute({
    method: 'post',
    path: '/api/v1/incidents/:id/notes',
    summary: 'Adds a note to the timeline; `deadEnd` marks a line of investigation that led nowhere',
    tag,
    access: 'responder',
    params: idParamsSchema,
    body: noteBodySchema,
    responses: { 201: { description: 'The timeline entry', schema: timelineEntrySchema }, 404: notFound },
    handle: async ({ params, body }, c) =>
      c.json(await incidents.addNote(params.id, actorOf(c.var.token), body), 201),
  }),
];
