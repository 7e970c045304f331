import type { Alert, AlertStatus } from '../../core/alert.js';
import type { Finding } from '../../core/finding.js';
import type { Incident, IncidentState } from '../../core/incident.js';
import {
  findingTime,
  type AlertRepository,
  type EvidenceRepository,
  type FindingRepository,
  type IncidentRepository,
  type RuleStateRepository,
  type ServiceRepository,
  type StoreRepositories,
  type TargetRepository,
  type TimelineRepository,
  type TokenRepository,
} from '../../core/incident-store.js';
import { listLimit } from '../list-limit.js';
import { storeConflict } from '../store-conflict.js';
import type { StoredFinding, TableAccess } from './memory-tables.js';
import { memoryEscalations, memoryOutbox, memoryPaging } from './memory-paging-repositories.js';
import { memoryDeploys, memorySignals } from './memory-signal-repositories.js';
import { memoryMetrics } from './memory-metrics-repository.js';

/** Code-unit order, as PostgreSQL's `COLLATE "C"` sorts (the PostgreSQL store's text columns use it). */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const endOf = (finding: Finding): number | null =>
  finding.kind === 'blocking_episode' ? finding.endedAt : finding.at;

/** What a repository returns: a clone, so that callers never hold (or change) the stored rows. */
const out = <T>(value: T): Promise<T> => Promise.resolve(structuredClone(value));

/** Runs a synchronous write as the port's promise, a thrown conflict becoming a rejection. */
const attempt = <T>(write: () => T): Promise<T> => {
  try {
    return Promise.resolve(write());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
};

const firingKey = (a: { readonly service: string; readonly fingerprint: string }): string =>
  `${a.service}\u0000${a.fingerprint}`;

const byFindingTime = (a: Finding, b: Finding): number =>
  findingTime(a) - findingTime(b) || byText(a.id, b.id);

function findings(t: TableAccess): FindingRepository {
  return {
    save(list, receivedAt) {
      for (const finding of list) {
        const stored = t.get('findings', finding.id);
        // A retried `open` report arriving after the `closed` one must not reopen the episode.
        if (stored && stored.endedAt !== null && endOf(finding) === null) continue;
        const row: StoredFinding = { finding, receivedAt, endedAt: endOf(finding) };
        t.set('findings', finding.id, row);
      }
      return Promise.resolve();
    },
    get(ids) {
      const found = ids.flatMap((id) => t.get('findings', id)?.finding ?? []);
      return out(found);
    },
    list({ since, until, target, kinds, limit, after }) {
      const rows: Finding[] = [];
      for (const r of t.values('findings')) {
        if (r.endedAt !== null && r.endedAt < since) continue;
        if (until !== undefined && findingTime(r.finding) >= until) continue;
        if (target !== undefined && r.finding.target !== target) continue;
        if (kinds !== undefined && !kinds.includes(r.finding.kind)) continue;
        if (after !== undefined) {
          const at = findingTime(r.finding);
          if (at < after.at || (at === after.at && r.finding.id <= after.id)) continue;
        }
        rows.push(r.finding);
      }
      return out(rows.sort(byFindingTime).slice(0, listLimit(limit)));
    },
    prune(before) {
      const linked = new Set([
        ...t.rows('evidence').map((link) => link.findingId),
        ...t.rows('alerts').flatMap((alert) => alert.evidence),
      ]);
      let dropped = 0;
      for (const row of t.rows('findings')) {
        if (row.endedAt !== null && row.endedAt < before && !linked.has(row.finding.id)) {
          t.delete('findings', row.finding.id);
          dropped += 1;
        }
      }
      return out(dropped);
    },
  };
}

function alerts(t: TableAccess): AlertRepository {
  const assertOneFiring = (alert: {
    id: string;
    service: string;
    fingerprint: string;
    status: AlertStatus;
  }) => {
    if (alert.status !== 'firing') return;
    const other = t
      .rows('alerts')
      .find(
        (a) =>
          a.id !== alert.id &&
          a.status === 'firing' &&
          a.service === alert.service &&
          a.fingerprint === alert.fingerprint,
      );
    if (other)
      throw storeConflict(`a firing alert for ${alert.service} with fingerprint ${alert.fingerprint}`);
  };
  return {
    insert(alert) {
      return attempt(() => {
        if (t.has('alerts', alert.id)) throw storeConflict(`alert ${alert.id}`);
        assertOneFiring(alert);
        t.set('alerts', alert.id, alert);
      });
    },
    insertMany(list) {
      return attempt(() => {
        // One scan for the firing keys, then every check before any write: all or nothing, as one INSERT.
        const firing = new Set<string>();
        for (const a of t.values('alerts')) if (a.status === 'firing') firing.add(firingKey(a));
        const ids = new Set<string>();
        for (const alert of list) {
          if (t.has('alerts', alert.id) || ids.has(alert.id)) throw storeConflict(`alert ${alert.id}`);
          ids.add(alert.id);
          if (alert.status !== 'firing') continue;
          if (firing.has(firingKey(alert)))
            throw storeConflict(`a firing alert for ${alert.service} with fingerprint ${alert.fingerprint}`);
          firing.add(firingKey(alert));
        }
        for (const alert of list) t.set('alerts', alert.id, alert);
      });
    },
    update(alert) {
      return attempt(() => {
        if (!t.has('alerts', alert.id)) return;
        assertOneFiring(alert);
        t.set('alerts', alert.id, alert);
      });
    },
    get(id) {
      return out(t.get('alerts', id) ?? null);
    },
    findFiring(service, fingerprint) {
      const found = t
        .rows('alerts')
        .find((a) => a.status === 'firing' && a.service === service && a.fingerprint === fingerprint);
      return out(found ?? null);
    },
    findFiringMany(keys) {
      const wanted = new Set(keys.map(firingKey));
      const found: Alert[] = [];
      for (const a of t.values('alerts'))
        if (a.status === 'firing' && wanted.has(firingKey(a))) found.push(a);
      return out(found);
    },
    list({ status, service, incidentId, limit }) {
      const rows: Alert[] = [];
      for (const a of t.values('alerts')) {
        if (
          (status === undefined || a.status === status) &&
          (service === undefined || a.service === service) &&
          (incidentId === undefined || a.incidentId === incidentId)
        )
          rows.push(a);
      }
      rows.sort((a, b) => b.startedAt - a.startedAt || byText(b.id, a.id));
      return out(rows.slice(0, listLimit(limit)));
    },
    countByStatus() {
      const counts: Record<AlertStatus, number> = { firing: 0, resolved: 0 };
      for (const a of t.rows('alerts')) counts[a.status] += 1;
      return out(counts);
    },
  };
}

function incidents(t: TableAccess): IncidentRepository {
  const updateFrom = (incident: Incident, storedVersion: number): Promise<boolean> => {
    const stored = t.get('incidents', incident.id);
    if (stored?.version !== storedVersion) return out(false);
    t.set('incidents', incident.id, incident);
    return out(true);
  };
  return {
    insert(incident) {
      if (t.has('incidents', incident.id)) return Promise.reject(storeConflict(`incident ${incident.id}`));
      t.set('incidents', incident.id, incident);
      return Promise.resolve();
    },
    update(incident) {
      return updateFrom(incident, incident.version - 1);
    },
    updateFrom,
    get(id) {
      return out(t.get('incidents', id) ?? null);
    },
    list({ states, service, limit }) {
      const rows = t
        .rows('incidents')
        .filter((i) => states === undefined || states.includes(i.state))
        .filter((i) => service === undefined || i.service === service)
        .sort((a, b) => b.createdAt - a.createdAt || byText(b.id, a.id));
      return out(rows.slice(0, listLimit(limit)));
    },
    findForGrouping(service, groupKey, states) {
      const rows = t
        .rows('incidents')
        .filter((i) => i.service === service && i.groupKey === groupKey && states.includes(i.state))
        .sort((a, b) => b.lastAlertAt - a.lastAlertAt || b.createdAt - a.createdAt || byText(b.id, a.id));
      return out(rows);
    },
    countByState() {
      const counts: Record<IncidentState, number> = {
        triggered: 0,
        acknowledged: 0,
        mitigated: 0,
        resolved: 0,
        closed: 0,
        cancelled: 0,
      };
      for (const i of t.rows('incidents')) counts[i.state] += 1;
      return out(counts);
    },
  };
}

function timeline(t: TableAccess): TimelineRepository {
  return {
    append(entry) {
      if (t.has('timeline', entry.id)) return Promise.reject(storeConflict(`timeline entry ${entry.id}`));
      t.set('timeline', entry.id, { entry, seq: t.nextSeq() });
      return Promise.resolve();
    },
    appendMany(entries) {
      const ids = new Set<string>();
      for (const entry of entries) {
        if (t.has('timeline', entry.id) || ids.has(entry.id))
          return Promise.reject(storeConflict(`timeline entry ${entry.id}`));
        ids.add(entry.id);
      }
      for (const entry of entries) t.set('timeline', entry.id, { entry, seq: t.nextSeq() });
      return Promise.resolve();
    },
    list(incidentId) {
      const rows = t
        .rows('timeline')
        .filter((r) => r.entry.incidentId === incidentId)
        .sort((a, b) => a.entry.at - b.entry.at || a.seq - b.seq)
        .map((r) => r.entry);
      return out(rows);
    },
  };
}

function evidence(t: TableAccess): EvidenceRepository {
  const link = (incidentId: string, findingIds: readonly string[], at: number): void => {
    for (const findingId of findingIds) {
      const key = `${incidentId}\u0000${findingId}`;
      if (!t.has('evidence', key)) t.set('evidence', key, { incidentId, findingId, at });
    }
  };
  return {
    link(incidentId, findingIds, at) {
      link(incidentId, findingIds, at);
      return Promise.resolve();
    },
    linkMany(links) {
      for (const { incidentId, findingIds, at } of links) link(incidentId, findingIds, at);
      return Promise.resolve();
    },
    findings(incidentId) {
      // Each linked finding by its key, not a scan of every finding per incident.
      const found: Finding[] = [];
      for (const l of t.values('evidence')) {
        if (l.incidentId !== incidentId) continue;
        const row = t.get('findings', l.findingId);
        if (row !== undefined) found.push(row.finding);
      }
      return out(found.sort(byFindingTime));
    },
  };
}

function ruleStates(t: TableAccess): RuleStateRepository {
  return {
    get(key) {
      return out(t.get('ruleStates', key) ?? null);
    },
    list() {
      return out(t.rows('ruleStates').sort((a, b) => byText(a.key, b.key)));
    },
    save(state) {
      t.set('ruleStates', state.key, state);
      return Promise.resolve();
    },
    saveMany(states) {
      for (const state of states) t.set('ruleStates', state.key, state);
      return Promise.resolve();
    },
  };
}

function services(t: TableAccess): ServiceRepository {
  return {
    save(service) {
      t.set('services', service.name, service);
      return Promise.resolve();
    },
    get(name) {
      return out(t.get('services', name) ?? null);
    },
    list() {
      return out(t.rows('services').sort((a, b) => byText(a.name, b.name)));
    },
    delete(name) {
      return out(t.delete('services', name));
    },
    findByIntegrationSecret(secretHash) {
      for (const service of t.rows('services').sort((a, b) => byText(a.name, b.name))) {
        const integration = service.integrations.find((i) => i.secretHash === secretHash);
        if (integration) return out({ service, type: integration.type });
      }
      return out(null);
    },
  };
}

function targets(t: TableAccess): TargetRepository {
  return {
    save(target) {
      t.set('targets', target.name, target);
      return Promise.resolve();
    },
    get(name) {
      return out(t.get('targets', name) ?? null);
    },
    list() {
      return out(t.rows('targets').sort((a, b) => byText(a.name, b.name)));
    },
    delete(name) {
      return out(t.delete('targets', name));
    },
    reportHealth(health) {
      t.set('health', health.target, health);
      return Promise.resolve();
    },
    health() {
      return out(t.rows('health').sort((a, b) => byText(a.target, b.target)));
    },
  };
}

function tokens(t: TableAccess): TokenRepository {
  return {
    insert(token) {
      if (t.has('tokens', token.id)) return Promise.reject(storeConflict(`token ${token.id}`));
      if (t.rows('tokens').some((other) => other.secretHash === token.secretHash)) {
        return Promise.reject(storeConflict('a token with this secret'));
      }
      t.set('tokens', token.id, token);
      return Promise.resolve();
    },
    findBySecretHash(secretHash) {
      return out(t.rows('tokens').find((token) => token.secretHash === secretHash) ?? null);
    },
    list() {
      return out(t.rows('tokens').sort((a, b) => a.createdAt - b.createdAt || byText(a.id, b.id)));
    },
    delete(id) {
      return out(t.delete('tokens', id));
    },
    count() {
      return out(t.rows('tokens').length);
    },
  };
}

/** The repositories over one view of the tables (the store's own, or a transaction's journaled one). */
export const memoryRepositories = (t: TableAccess): StoreRepositories => ({
  findings: findings(t),
  alerts: alerts(t),
  incidents: incidents(t),
  timeline: timeline(t),
  evidence: evidence(t),
  ruleStates: ruleStates(t),
  services: services(t),
  targets: targets(t),
  tokens: tokens(t),
  paging: memoryPaging(t),
  escalations: memoryEscalations(t),
  outbox: memoryOutbox(t),
  signals: memorySignals(t),
  metrics: memoryMetrics(t),
  deploys: memoryDeploys(t),
});
