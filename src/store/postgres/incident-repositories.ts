import { sql, type Kysely, type Selectable } from 'kysely';
import type { Alert, AlertSource, AlertStatus, Severity } from '../../core/alert.js';
import type { Incident, IncidentState, TimelineEntry, TimelineKind } from '../../core/incident.js';
import type { AlertRepository, IncidentRepository, TimelineRepository } from '../../core/incident-store.js';
import { listLimit } from '../list-limit.js';
import { conflictOn } from './unique-violation.js';
import type { AlertsTable, IncidentsTable, StoreDatabase, TimelineTable } from './store-database.js';

/** Rows per INSERT: 15 parameters an alert, 9 a timeline entry — far below PostgreSQL's 65,535 per statement. */
const BATCH = 2_000;

const alertRow = (a: Alert) => ({
  id: a.id,
  fingerprint: a.fingerprint,
  source: a.source,
  service: a.service,
  target: a.target,
  rule: a.rule,
  severity: a.severity,
  status: a.status,
  summary: a.summary,
  labels: JSON.stringify(a.labels),
  started_at: a.startedAt,
  updated_at: a.updatedAt,
  resolved_at: a.resolvedAt,
  incident_id: a.incidentId,
  evidence: [...a.evidence],
});

const toAlert = (r: Selectable<AlertsTable>): Alert => ({
  id: r.id,
  fingerprint: r.fingerprint,
  source: r.source as AlertSource,
  service: r.service,
  target: r.target,
  rule: r.rule,
  severity: r.severity as Severity,
  status: r.status as AlertStatus,
  summary: r.summary,
  labels: r.labels as Record<string, string>,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  resolvedAt: r.resolved_at,
  incidentId: r.incident_id,
  evidence: r.evidence,
});

export function postgresAlerts(db: Kysely<StoreDatabase>): AlertRepository {
  const firingConflict = (a: Alert) =>
    `alert ${a.id} or a firing alert for ${a.service} with fingerprint ${a.fingerprint}`;
  return {
    async insert(alert) {
      await db
        .insertInto('alerts')
        .values(alertRow(alert))
        .execute()
        .catch(conflictOn(firingConflict(alert)));
    },
    async insertMany(alerts) {
      for (let start = 0; start < alerts.length; start += BATCH) {
        const chunk = alerts.slice(start, start + BATCH);
        const named =
          chunk.length === 1 && chunk[0] !== undefined
            ? firingConflict(chunk[0])
            : `one of ${chunk.length} alerts (an id, or a second firing alert for a service and fingerprint)`;
        await db.insertInto('alerts').values(chunk.map(alertRow)).execute().catch(conflictOn(named));
      }
    },
    async update(alert) {
      const { id: _id, ...row } = alertRow(alert);
      await db
        .updateTable('alerts')
        .set(row)
        .where('id', '=', alert.id)
        .execute()
        .catch(conflictOn(firingConflict(alert)));
    },
    async get(id) {
      const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toAlert(row) : null;
    },
    async findFiring(service, fingerprint) {
      const row = await db
        .selectFrom('alerts')
        .selectAll()
        .where('service', '=', service)
        .where('fingerprint', '=', fingerprint)
        .where('status', '=', 'firing')
        .executeTakeFirst();
      return row ? toAlert(row) : null;
    },
    async findFiringMany(keys) {
      if (keys.length === 0) return [];
      // Two arrays as two parameters, however many keys; alerts_one_firing serves the lookup.
      const rows = await db
        .selectFrom('alerts')
        .selectAll()
        .where('status', '=', 'firing')
        .where(
          sql<boolean>`(service, fingerprint) IN (SELECT * FROM unnest(${keys.map((k) => k.service)}::text[], ${keys.map((k) => k.fingerprint)}::text[]))`,
        )
        .execute();
      return rows.map(toAlert);
    },
    async list({ status, service, incidentId, limit }) {
      let query = db.selectFrom('alerts').selectAll();
      if (status !== undefined) query = query.where('status', '=', status);
      if (service !== undefined) query = query.where('service', '=', service);
      if (incidentId !== undefined) query = query.where('incident_id', '=', incidentId);
      const rows = await query
        .orderBy('started_at', 'desc')
        .orderBy('id', 'desc')
        .limit(listLimit(limit))
        .execute();
      return rows.map(toAlert);
    },
    async countByStatus() {
      const rows = await db
        .selectFrom('alerts')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .execute();
      const counts: Record<AlertStatus, number> = { firing: 0, resolved: 0 };
      for (const r of rows) counts[r.status as AlertStatus] = r.n;
      return counts;
    },
  };
}

const incidentRow = (i: Incident) => ({
  id: i.id,
  service: i.service,
  group_key: i.groupKey,
  title: i.title,
  summary: i.summary,
  severity: i.severity,
  state: i.state,
  created_at: i.createdAt,
  acknowledged_at: i.acknowledgedAt,
  mitigated_at: i.mitigatedAt,
  resolved_at: i.resolvedAt,
  closed_at: i.closedAt,
  cancelled_at: i.cancelledAt,
  last_alert_at: i.lastAlertAt,
  version: i.version,
});

const toIncident = (r: Selectable<IncidentsTable>): Incident => ({
  id: r.id,
  service: r.service,
  groupKey: r.group_key,
  title: r.title,
  summary: r.summary,
  severity: r.severity as Severity,
  state: r.state as IncidentState,
  createdAt: r.created_at,
  acknowledgedAt: r.acknowledged_at,
  mitigatedAt: r.mitigated_at,
  resolvedAt: r.resolved_at,
  closedAt: r.closed_at,
  cancelledAt: r.cancelled_at,
  lastAlertAt: r.last_alert_at,
  version: r.version,
});

export function postgresIncidents(db: Kysely<StoreDatabase>): IncidentRepository {
  const updateFrom = async (incident: Incident, storedVersion: number): Promise<boolean> => {
    const { id: _id, ...row } = incidentRow(incident);
    const result = await db
      .updateTable('incidents')
      .set(row)
      .where('id', '=', incident.id)
      .where('version', '=', storedVersion)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  };
  return {
    async insert(incident) {
      await db
        .insertInto('incidents')
        .values(incidentRow(incident))
        .execute()
        .catch(conflictOn(`incident ${incident.id}`));
    },
    update(incident) {
      return updateFrom(incident, incident.version - 1);
    },
    updateFrom,
    async get(id) {
      const row = await db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toIncident(row) : null;
    },
    async list({ states, service, limit }) {
      if (states?.length === 0) return [];
      let query = db.selectFrom('incidents').selectAll();
      if (states !== undefined) query = query.where('state', 'in', [...states]);
      if (service !== undefined) query = query.where('service', '=', service);
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(listLimit(limit))
        .execute();
      return rows.map(toIncident);
    },
    async findForGrouping(service, groupKey, states) {
      if (states.length === 0) return [];
      const rows = await db
        .selectFrom('incidents')
        .selectAll()
        .where('service', '=', service)
        .where('group_key', '=', groupKey)
        .where('state', 'in', [...states])
        .orderBy('last_alert_at', 'desc')
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute();
      return rows.map(toIncident);
    },
    async countByState() {
      const rows = await db
        .selectFrom('incidents')
        .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('state')
        .execute();
      const counts: Record<IncidentState, number> = {
        triggered: 0,
        acknowledged: 0,
        mitigated: 0,
        resolved: 0,
        closed: 0,
        cancelled: 0,
      };
      for (const r of rows) counts[r.state as IncidentState] = r.n;
      return counts;
    },
  };
}

const toEntry = (r: Omit<Selectable<TimelineTable>, 'seq'>): TimelineEntry => ({
  id: r.id,
  incidentId: r.incident_id,
  at: r.at,
  actor: r.actor,
  kind: r.kind as TimelineKind,
  text: r.text,
  deadEnd: r.dead_end,
  alertId: r.alert_id,
  data: r.data as Record<string, unknown>,
});

const timelineRow = (entry: TimelineEntry) => ({
  id: entry.id,
  incident_id: entry.incidentId,
  at: entry.at,
  actor: entry.actor,
  kind: entry.kind,
  text: entry.text,
  dead_end: entry.deadEnd,
  alert_id: entry.alertId,
  data: JSON.stringify(entry.data),
});

export function postgresTimeline(db: Kysely<StoreDatabase>): TimelineRepository {
  return {
    async append(entry) {
      await db
        .insertInto('timeline')
        .values(timelineRow(entry))
        .execute()
        .catch(conflictOn(`timeline entry ${entry.id}`));
    },
    async appendMany(entries) {
      // One multi-row INSERT takes its identity values (seq) in the order of its rows.
      for (let start = 0; start < entries.length; start += BATCH) {
        const chunk = entries.slice(start, start + BATCH);
        await db
          .insertInto('timeline')
          .values(chunk.map(timelineRow))
          .execute()
          .catch(conflictOn(`one of ${chunk.length} timeline entries`));
      }
    },
    async list(incidentId) {
      const rows = await db
        .selectFrom('timeline')
        .select(['id', 'incident_id', 'at', 'actor', 'kind', 'text', 'dead_end', 'alert_id', 'data'])
        .where('incident_id', '=', incidentId)
        .orderBy('at')
        .orderBy('seq')
        .execute();
      return rows.map(toEntry);
    },
  };
}
