import { parseIncidentListOptions } from '../../config/command-options.js';
import type { Incident } from '../../core/incident.js';
import { parseServerClientOptions } from '../../config/server-options.js';
import { systemClock } from '../../platform/system-clock.js';
import { renderIncidentDetail, renderIncidentTable, type IncidentDetail } from '../incident-view.js';
import { ServerClient } from '../server-client.js';
import { terminalText } from '../terminal-text.js';
import type { ServerFlags } from './incidents-command.js';

/** What the incident commands print to; tests hand in their own. */
export interface IncidentIo {
  readonly stdout: NodeJS.WritableStream & { columns?: number };
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

const defaultIo: IncidentIo = { stdout: process.stdout };

const client = (flags: ServerFlags, io: IncidentIo): ServerClient =>
  new ServerClient(parseServerClientOptions(flags), io.fetch);
const path = (id: string): string => `/api/v1/incidents/${encodeURIComponent(id)}`;

export async function listIncidents(
  flags: ServerFlags & { state: string; limit: string; json: boolean },
  io: IncidentIo = defaultIo,
): Promise<void> {
  const { state, limit } = parseIncidentListOptions(flags);
  const body = (await client(flags, io).get(
    `/api/v1/incidents?state=${state}&limit=${limit.toString()}`,
  )) as {
    incidents: Incident[];
  };
  if (flags.json) io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  else
    io.stdout.write(
      renderIncidentTable(
        body.incidents,
        (io.now ?? systemClock.now)(),
        io.stdout.columns ?? Number.POSITIVE_INFINITY,
      ),
    );
}

export async function showIncident(
  id: string,
  flags: ServerFlags & { json: boolean },
  io: IncidentIo = defaultIo,
): Promise<void> {
  const detail = (await client(flags, io).get(path(id))) as IncidentDetail;
  if (flags.json) io.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
  else io.stdout.write(renderIncidentDetail(detail, (io.now ?? systemClock.now)()));
}

export async function changeIncident(
  id: string,
  action: string,
  flags: ServerFlags,
  io: IncidentIo = defaultIo,
): Promise<void> {
  const incident = (await client(flags, io).post(`${path(id)}/${action}`)) as Incident;
  io.stdout.write(`${terminalText(incident.id)} is now ${incident.state}\n`);
}

export async function addNote(
  id: string,
  note: { readonly text: string; readonly deadEnd: boolean },
  flags: ServerFlags,
  io: IncidentIo = defaultIo,
): Promise<void> {
  await client(flags, io).post(`${path(id)}/notes`, note);
  io.stdout.write(`note added to ${terminalText(id)}${note.deadEnd ? ' (dead end)' : ''}\n`);
}
