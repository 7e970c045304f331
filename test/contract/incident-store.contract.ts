import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IncidentStore } from '../../src/core/incident-store.js';
import { findingCursor } from '../../src/core/incident-store.js';
import {
  alert,
  deadlock,
  entry,
  episode,
  health,
  incident,
  ruleState,
  service,
  target,
  token,
} from './store-fixtures.js';

/**
 * The one contract every IncidentStore adapter passes (memory-store.test.ts, postgres-store.test.ts).
 * `open` returns an empty store for each test; the suite closes it afterwards.
 */
export function incidentStoreContract(name: string, open: () => Promise<IncidentStore>): void {
  describe(`IncidentStore contract: ${name}`, () => {
    let store: IncidentStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    it('answers ping', async () => {
      expect(await store.ping()).toBe(true);
    });

    describe('findings', () => {
      it('gets saved findings by id in the order asked, leaving unknown ids out', async () => {
        const a = deadlock('d1', 1_000);
        const b = episode('e1', 2_000, 5_000);
        await store.findings.save([a, b], 9_000);
        expect(await store.findings.get(['e1', 'nope', 'd1'])).toEqual([b, a]);
        expect(await store.findings.get([])).toEqual([]);
      });

      it('keeps a finding saved twice once, and a closed episode replaces its open report', async () => {
        await store.findings.save([deadlock('d1', 1_000)], 1_100);
        await store.findings.save([deadlock('d1', 1_000)], 1_200);
        const open = episode('e1', 2_000, null);
        const closed = episode('e1', 2_000, 8_000);
        await store.findings.save([open], 2_100);
        await store.findings.save([closed], 8_100);
        expect(await store.findings.list({ since: 0 })).toEqual([deadlock('d1', 1_000), closed]);
      });

      it('keeps the closed report when one batch holds both reports of an episode, in either order', async () => {
        await store.findings.save([episode('e1', 2_000, null), episode('e1', 2_000, 8_000)], 8_100);
        await store.findings.save([episode('e2', 2_000, 9_000), episode('e2', 2_000, null)], 9_100);
        expect(await store.findings.get(['e1', 'e2'])).toEqual([
          episode('e1', 2_000, 8_000),
          episode('e2', 2_000, 9_000),
        ]);
      });

      it('does not reopen a closed episode when a retried open report arrives late', async () => {
        const closed = episode('e1', 2_000, 8_000);
        await store.findings.save([closed], 8_100);
        await store.findings.save([episode('e1', 2_000, null)], 8_200);
        expect(await store.findings.get(['e1'])).toEqual([closed]);
      });

      it('lists findings active since a time, oldest first, by target and kind', async () => {
        await store.findings.save(
          [
            deadlock('before', 900),
            deadlock('at-since', 1_000),
            deadlock('later', 3_000),
            deadlock('other-target', 2_000, { target: 'billing-db' }),
            episode('ended-before', 100, 999),
            episode('ended-after', 500, 1_500),
            episode('still-open', 200, null),
          ],
          5_000,
        );
        const ids = async (query: Parameters<IncidentStore['findings']['list']>[0]) =>
          (await store.findings.list(query)).map((f) => f.id);
        expect(await ids({ since: 1_000 })).toEqual([
          'still-open',
          'ended-after',
          'at-since',
          'other-target',
          'later',
        ]);
        expect(await ids({ since: 1_000, target: 'billing-db' })).toEqual(['other-target']);
        expect(await ids({ since: 1_000, kinds: ['blocking_episode'] })).toEqual([
          'still-open',
          'ended-after',
        ]);
        expect(await ids({ since: 0, kinds: ['deadlock'], target: 'shop-db', limit: 2 })).toEqual([
          'before',
          'at-since',
        ]);
        expect(await ids({ since: 0, kinds: [] })).toEqual([]);
      });

      it('bounds lists: 100 by default, never more than 1000', async () => {
        const many = Array.from({ length: 1_005 }, (_, i) =>
          deadlock(`d${String(i).padStart(4, '0')}`, 1_000 + i),
        );
        await store.findings.save(many, 5_000);
        expect(await store.findings.list({ since: 0 })).toHaveLength(100);
        expect(await store.findings.list({ since: 0, limit: 5_000 })).toHaveLength(1_000);
        expect((await store.findings.list({ since: 0, limit: 3 })).map((f) => f.id)).toEqual([
          'd0000',
          'd0001',
          'd0002',
        ]);
      });

      it('pages with a keyset cursor (time, id): findings sharing one millisecond are each read once', async () => {
        // 25 findings in one millisecond (ids out of code-unit order when saved), around others.
        const burst = Array.from({ length: 25 }, (_, i) =>
          deadlock(`b${String((i * 7) % 25).padStart(2, '0')}`, 2_000),
        );
        await store.findings.save(
          [
            deadlock('a-early', 1_500),
            ...burst,
            deadlock('c-late', 2_500),
            episode('open-since-before', 500, null),
            deadlock('B-upper', 2_000),
          ],
          5_000,
        );
        const pages: string[][] = [];
        let after: { at: number; id: string } | undefined;
        for (;;) {
          const page = await store.findings.list(
            after === undefined ? { since: 1_000, limit: 10 } : { since: 1_000, limit: 10, after },
          );
          pages.push(page.map((f) => f.id));
          const last = page[page.length - 1];
          if (page.length < 10 || last === undefined) break;
          after = findingCursor(last);
        }
        const expected = [
          'open-since-before',
          'a-early',
          'B-upper',
          ...burst.map((f) => f.id).sort(),
          'c-late',
        ];
        expect(pages.flat()).toEqual(expected);
        expect(pages.map((p) => p.length)).toEqual([10, 10, 9]);
        // The cursor composes with the other filters, and is strict: the finding it names is not repeated.
        expect(
          (await store.findings.list({ since: 0, kinds: ['deadlock'], after: { at: 2_000, id: 'b23' } })).map(
            (f) => f.id,
          ),
        ).toEqual(['b24', 'c-late']);
        expect(
          await store.findings.list({ since: 0, target: 'billing-db', after: { at: 0, id: '' } }),
        ).toEqual([]);
        expect(
          (await store.findings.list({ since: 0, after: { at: 2_000, id: 'b24' } })).map((f) => f.id),
        ).toEqual(['c-late']);
      });

      it('prunes findings that ended before a time, keeping those that back an alert or an incident', async () => {
        await store.findings.save(
          [
            deadlock('old', 100),
            deadlock('old-evidence', 200),
            deadlock('old-alert-evidence', 300),
            episode('old-open', 50, null),
            episode('old-closed', 50, 400),
            deadlock('recent', 2_000),
            deadlock('at-cutoff', 1_000),
          ],
          5_000,
        );
        await store.incidents.insert(incident('i1'));
        await store.evidence.link('i1', ['old-evidence'], 5_000);
        await store.alerts.insert(alert('a1', { evidence: ['old-alert-evidence'] }));
        expect(await store.findings.prune(1_000)).toBe(2);
        const left = (await store.findings.list({ since: 0 })).map((f) => f.id).sort();
        expect(left).toEqual(['at-cutoff', 'old-alert-evidence', 'old-evidence', 'old-open', 'recent']);
        expect(await store.findings.prune(1_000)).toBe(0);
      });

      it('returns copies: changing a returned finding changes nothing stored', async () => {
        await store.findings.save([deadlock('d1', 1_000)], 1_100);
        const [got] = await store.findings.get(['d1']);
        (got as { target: string }).target = 'changed';
        const [listed] = await store.findings.list({ since: 0 });
        (listed as { target: string }).target = 'changed';
        expect((await store.findings.get(['d1']))[0]?.target).toBe('shop-db');
      });
    });

    describe('alerts', () => {
      it('inserts, gets, updates, and finds the firing alert of a fingerprint', async () => {
        const firing = alert('a1', { fingerprint: 'rule:deadlocks:shop-db' });
        await store.alerts.insert(firing);
        expect(await store.alerts.get('a1')).toEqual(firing);
        expect(await store.alerts.get('nope')).toBeNull();
        expect(await store.alerts.findFiring('shop', 'rule:deadlocks:shop-db')).toEqual(firing);
        expect(await store.alerts.findFiring('billing', 'rule:deadlocks:shop-db')).toBeNull();
        const resolved = {
          ...firing,
          status: 'resolved' as const,
          resolvedAt: 2_000,
          updatedAt: 2_000,
          incidentId: 'i1',
          evidence: ['d1', 'd2'],
        };
        await store.alerts.update(resolved);
        expect(await store.alerts.get('a1')).toEqual(resolved);
        expect(await store.alerts.findFiring('shop', 'rule:deadlocks:shop-db')).toBeNull();
        await store.alerts.update(alert('never-inserted'));
        expect(await store.alerts.get('never-inserted')).toBeNull();
      });

      it('keeps one firing alert per service and fingerprint; a resolved one may fire again as a new alert', async () => {
        await store.alerts.insert(alert('a1', { fingerprint: 'fp' }));
        await expect(store.alerts.insert(alert('a2', { fingerprint: 'fp' }))).rejects.toMatchObject({
          code: 'STORE_CONFLICT',
        });
        await store.alerts.insert(alert('b1', { fingerprint: 'fp', service: 'billing' }));
        await store.alerts.insert(alert('a3', { fingerprint: 'fp', status: 'resolved', resolvedAt: 1_500 }));
        await expect(store.alerts.update(alert('a3', { fingerprint: 'fp' }))).rejects.toMatchObject({
          code: 'STORE_CONFLICT',
        });
        await store.alerts.update(alert('a1', { fingerprint: 'fp', status: 'resolved', resolvedAt: 2_000 }));
        await store.alerts.insert(alert('a4', { fingerprint: 'fp', startedAt: 3_000 }));
        expect((await store.alerts.findFiring('shop', 'fp'))?.id).toBe('a4');
        await expect(store.alerts.insert(alert('a4'))).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
      });

      it('inserts many at once, all or nothing, and finds the firing alerts of many fingerprints', async () => {
        const a1 = alert('a1', { fingerprint: 'fp1' });
        const a2 = alert('a2', { fingerprint: 'fp2', evidence: ['d1'] });
        const b1 = alert('b1', { fingerprint: 'fp1', service: 'billing' });
        const old = alert('r1', { fingerprint: 'fp3', status: 'resolved', resolvedAt: 1_500 });
        await store.alerts.insertMany([a1, a2, b1, old]);
        await store.alerts.insertMany([]);
        expect(await store.alerts.get('a2')).toEqual(a2);
        const keys = [
          { service: 'shop', fingerprint: 'fp1' },
          { service: 'billing', fingerprint: 'fp1' },
          { service: 'shop', fingerprint: 'fp3' },
          { service: 'nope', fingerprint: 'fp2' },
        ];
        expect((await store.alerts.findFiringMany(keys)).map((a) => a.id).sort()).toEqual(['a1', 'b1']);
        expect(await store.alerts.findFiringMany([])).toEqual([]);
        // A second firing alert of a fingerprint (stored, or within the batch), or a known id: nothing of the batch is kept.
        await expect(
          store.alerts.insertMany([alert('c1'), alert('a3', { fingerprint: 'fp1' })]),
        ).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        await expect(
          store.alerts.insertMany([alert('c1'), alert('c2', { fingerprint: 'fp-c1' })]),
        ).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        await expect(
          store.alerts.insertMany([alert('c1'), alert('a1', { fingerprint: 'other' })]),
        ).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        expect(await store.alerts.get('c1')).toBeNull();
      });

      it('lists newest first with filters and a limit, and counts by status', async () => {
        await store.alerts.insert(alert('a1', { startedAt: 1_000, incidentId: 'i1' }));
        await store.alerts.insert(
          alert('a2', { startedAt: 3_000, status: 'resolved', resolvedAt: 4_000, incidentId: 'i1' }),
        );
        await store.alerts.insert(alert('a3', { startedAt: 2_000, service: 'billing' }));
        const ids = async (query: Parameters<IncidentStore['alerts']['list']>[0]) =>
          (await store.alerts.list(query)).map((a) => a.id);
        expect(await ids({})).toEqual(['a2', 'a3', 'a1']);
        expect(await ids({ status: 'firing' })).toEqual(['a3', 'a1']);
        expect(await ids({ service: 'shop' })).toEqual(['a2', 'a1']);
        expect(await ids({ incidentId: 'i1', status: 'resolved' })).toEqual(['a2']);
        expect(await ids({ limit: 1 })).toEqual(['a2']);
        expect(await store.alerts.countByStatus()).toEqual({ firing: 2, resolved: 1 });
      });

      it('counts zero of each status when empty', async () => {
        expect(await store.alerts.countByStatus()).toEqual({ firing: 0, resolved: 0 });
      });
    });

    describe('incidents', () => {
      it('keeps what was written, whatever the caller does with its objects afterwards', async () => {
        const written = { ...incident('i1'), title: 'as written' };
        await store.incidents.insert(written);
        (written as { title: string }).title = 'changed after insert';
        const [listed] = await store.incidents.list({});
        (listed as { title: string }).title = 'changed after list';
        const labels = { team: 'db' };
        await store.alerts.insert(alert('a1', { labels }));
        labels.team = 'changed';
        const got = await store.alerts.get('a1');
        (got!.labels as Record<string, string>).team = 'changed too';
        expect((await store.incidents.get('i1'))?.title).toBe('as written');
        expect((await store.alerts.get('a1'))?.labels).toEqual({ team: 'db' });
      });

      it('inserts and gets; an id inserted twice is a conflict', async () => {
        const i1 = incident('i1');
        await store.incidents.insert(i1);
        expect(await store.incidents.get('i1')).toEqual(i1);
        expect(await store.incidents.get('nope')).toBeNull();
        await expect(store.incidents.insert(i1)).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
      });

      it('updates only from the stored version (optimistic concurrency)', async () => {
        await store.incidents.insert(incident('i1', { version: 1 }));
        const acked = incident('i1', { state: 'acknowledged', acknowledgedAt: 2_000, version: 2 });
        expect(await store.incidents.update(acked)).toBe(true);
        const stale = incident('i1', { state: 'resolved', resolvedAt: 3_000, version: 2 });
        expect(await store.incidents.update(stale)).toBe(false);
        expect(await store.incidents.update(incident('i1', { version: 4 }))).toBe(false);
        expect(await store.incidents.update(incident('nope', { version: 2 }))).toBe(false);
        expect(await store.incidents.get('i1')).toEqual(acked);
      });

      it('updates from a stored version several behind (a batch of changes written at once), and from no other', async () => {
        await store.incidents.insert(incident('i1', { version: 1 }));
        const third = incident('i1', { state: 'acknowledged', acknowledgedAt: 2_000, version: 4 });
        expect(await store.incidents.updateFrom(third, 2)).toBe(false);
        expect(await store.incidents.updateFrom(third, 1)).toBe(true);
        expect(await store.incidents.get('i1')).toEqual(third);
        expect(await store.incidents.updateFrom(incident('i1', { version: 6 }), 1)).toBe(false);
        expect(await store.incidents.updateFrom(incident('nope', { version: 6 }), 5)).toBe(false);
        expect(await store.incidents.update(incident('i1', { version: 5 }))).toBe(true);
      });

      it('lists newest first by state and service, with a limit, and counts by state', async () => {
        await store.incidents.insert(incident('i1', { createdAt: 1_000 }));
        await store.incidents.insert(
          incident('i2', { createdAt: 3_000, state: 'resolved', resolvedAt: 4_000 }),
        );
        await store.incidents.insert(
          incident('i3', { createdAt: 2_000, service: 'billing', state: 'acknowledged' }),
        );
        const ids = async (query: Parameters<IncidentStore['incidents']['list']>[0]) =>
          (await store.incidents.list(query)).map((i) => i.id);
        expect(await ids({})).toEqual(['i2', 'i3', 'i1']);
        expect(await ids({ states: ['triggered', 'acknowledged'] })).toEqual(['i3', 'i1']);
        expect(await ids({ states: [] })).toEqual([]);
        expect(await ids({ service: 'shop' })).toEqual(['i2', 'i1']);
        expect(await ids({ limit: 2 })).toEqual(['i2', 'i3']);
        expect(await store.incidents.countByState()).toEqual({
          triggered: 1,
          acknowledged: 1,
          mitigated: 0,
          resolved: 1,
          closed: 0,
          cancelled: 0,
        });
      });

      it('finds incidents for grouping: same service and key, in the states asked, latest alert first', async () => {
        await store.incidents.insert(incident('old', { lastAlertAt: 1_000 }));
        await store.incidents.insert(incident('new', { lastAlertAt: 5_000 }));
        await store.incidents.insert(incident('done', { lastAlertAt: 9_000, state: 'resolved' }));
        await store.incidents.insert(incident('other-key', { lastAlertAt: 9_000, groupKey: 'shop/eu' }));
        await store.incidents.insert(incident('other-service', { lastAlertAt: 9_000, service: 'billing' }));
        const found = await store.incidents.findForGrouping('shop', 'shop', [
          'triggered',
          'acknowledged',
          'mitigated',
        ]);
        expect(found.map((i) => i.id)).toEqual(['new', 'old']);
        expect(
          (await store.incidents.findForGrouping('shop', 'shop', ['resolved'])).map((i) => i.id),
        ).toEqual(['done']);
      });
    });

    describe('timeline', () => {
      it('lists an incident’s entries oldest first, equal times in insertion order', async () => {
        await store.timeline.append(entry('t-b', 'i1', 2_000));
        await store.timeline.append(
          entry('t-a', 'i1', 2_000, {
            kind: 'state_changed',
            data: { from: 'triggered', to: 'acknowledged' },
          }),
        );
        await store.timeline.append(
          entry('t-first', 'i1', 1_000, { deadEnd: true, actor: 'token:ci', alertId: 'a1' }),
        );
        await store.timeline.append(entry('t-c', 'i1', 2_000));
        await store.timeline.append(entry('elsewhere', 'i2', 1_500));
        const list = await store.timeline.list('i1');
        expect(list.map((e) => e.id)).toEqual(['t-first', 't-b', 't-a', 't-c']);
        expect(list[0]).toEqual(
          entry('t-first', 'i1', 1_000, { deadEnd: true, actor: 'token:ci', alertId: 'a1' }),
        );
        expect(list[2]?.data).toEqual({ from: 'triggered', to: 'acknowledged' });
        expect(await store.timeline.list('nope')).toEqual([]);
      });

      it('appends many in the order given, after what was appended before; a known id rejects the batch', async () => {
        await store.timeline.append(entry('t-first', 'i1', 2_000));
        await store.timeline.appendMany([
          entry('t-z', 'i1', 2_000),
          entry('t-a', 'i1', 2_000),
          entry('t-early', 'i1', 1_000),
          entry('t-other', 'i2', 2_000),
        ]);
        await store.timeline.appendMany([]);
        expect((await store.timeline.list('i1')).map((e) => e.id)).toEqual([
          't-early',
          't-first',
          't-z',
          't-a',
        ]);
        await expect(
          store.timeline.appendMany([entry('t-new', 'i1', 3_000), entry('t-a', 'i1', 3_000)]),
        ).rejects.toMatchObject({ code: 'STORE_CONFLICT' });
        expect((await store.timeline.list('i1')).map((e) => e.id)).toEqual([
          't-early',
          't-first',
          't-z',
          't-a',
        ]);
      });
    });

    describe('evidence', () => {
      it('links findings once each and returns them oldest first', async () => {
        await store.findings.save(
          [deadlock('d2', 2_000), episode('e1', 1_500, 2_500), deadlock('d3', 3_000)],
          4_000,
        );
        await store.evidence.link('i1', ['d2', 'e1'], 4_000);
        await store.evidence.link('i1', ['d2'], 4_100);
        await store.evidence.link('i2', ['d3'], 4_100);
        expect((await store.evidence.findings('i1')).map((f) => f.id)).toEqual(['e1', 'd2']);
        expect(await store.evidence.findings('none')).toEqual([]);
      });

      it('links many at once for several incidents, each pair once', async () => {
        await store.findings.save(
          [deadlock('d2', 2_000), episode('e1', 1_500, 2_500), deadlock('d3', 3_000)],
          4_000,
        );
        await store.evidence.link('i1', ['d3'], 4_000);
        await store.evidence.linkMany([
          { incidentId: 'i1', findingIds: ['d2', 'd3', 'd2'], at: 4_100 },
          { incidentId: 'i2', findingIds: ['e1'], at: 4_100 },
          { incidentId: 'i1', findingIds: ['e1'], at: 4_200 },
          { incidentId: 'i3', findingIds: [], at: 4_200 },
        ]);
        await store.evidence.linkMany([]);
        expect((await store.evidence.findings('i1')).map((f) => f.id)).toEqual(['e1', 'd2', 'd3']);
        expect((await store.evidence.findings('i2')).map((f) => f.id)).toEqual(['e1']);
      });
    });

    describe('rule states', () => {
      it('upserts by key and lists by key', async () => {
        await store.ruleStates.save(ruleState('deadlocks:shop-db'));
        await store.ruleStates.save(ruleState('blocking:shop-db'));
        const firing = ruleState('deadlocks:shop-db', {
          phase: 'firing',
          since: 2_000,
          value: 2.5,
          alertId: 'a1',
          evaluatedAt: 2_000,
        });
        await store.ruleStates.save(firing);
        expect(await store.ruleStates.get('deadlocks:shop-db')).toEqual(firing);
        expect(await store.ruleStates.get('nope')).toBeNull();
        expect((await store.ruleStates.list()).map((s) => s.key)).toEqual([
          'blocking:shop-db',
          'deadlocks:shop-db',
        ]);
      });

      it('upserts many at once, inserting new keys and replacing known ones', async () => {
        await store.ruleStates.save(ruleState('deadlocks:shop-db'));
        const firing = ruleState('deadlocks:shop-db', {
          phase: 'firing',
          since: 2_000,
          value: 3,
          alertId: 'a1',
          evaluatedAt: 2_000,
        });
        const pending = ruleState('blocking:billing-db', {
          phase: 'pending',
          since: 2_000,
          value: 1,
          evaluatedAt: 2_000,
        });
        await store.ruleStates.saveMany([firing, pending]);
        await store.ruleStates.saveMany([]);
        expect(await store.ruleStates.list()).toEqual([pending, firing]);
      });
    });

    describe('services', () => {
      it('upserts, gets, lists by name and deletes', async () => {
        await store.services.save(service('shop'));
        await store.services.save(service('billing', { grouping: { kind: 'off' } }));
        const changed = service('shop', {
          grouping: { kind: 'window', windowMs: 300_000, by: ['region'] },
          rules: { deadlocks: { threshold: 3, severity: 'error' } },
          escalationPolicy: 'db-team',
        });
        await store.services.save(changed);
        expect(await store.services.get('shop')).toEqual(changed);
        expect((await store.services.list()).map((s) => s.name)).toEqual(['billing', 'shop']);
        expect(await store.services.delete('billing')).toBe(true);
        expect(await store.services.delete('billing')).toBe(false);
        expect(await store.services.get('billing')).toBeNull();
      });

      it('finds the service and integration type by an integration secret hash', async () => {
        await store.services.save(
          service('shop', {
            integrations: [
              { type: 'alertmanager', secretHash: 'am-hash' },
              { type: 'pagerduty', secretHash: 'pd-hash' },
            ],
          }),
        );
        await store.services.save(
          service('billing', { integrations: [{ type: 'alertmanager', secretHash: 'billing-hash' }] }),
        );
        const found = await store.services.findByIntegrationSecret('pd-hash');
        expect(found?.service.name).toBe('shop');
        expect(found?.type).toBe('pagerduty');
        expect((await store.services.findByIntegrationSecret('billing-hash'))?.type).toBe('alertmanager');
        expect(await store.services.findByIntegrationSecret('unknown')).toBeNull();
      });
    });

    describe('targets', () => {
      it('upserts, gets, lists by name and deletes', async () => {
        await store.targets.save(target('shop-db'));
        await store.targets.save(target('billing-db', { service: 'billing' }));
        const changed = target('shop-db', {
          log: '/var/log/postgresql/postgresql-18-main.log',
          rules: { blocking: { forMs: 30_000 } },
        });
        await store.targets.save(changed);
        expect(await store.targets.get('shop-db')).toEqual(changed);
        expect(await store.targets.get('nope')).toBeNull();
        expect((await store.targets.list()).map((t) => t.name)).toEqual(['billing-db', 'shop-db']);
        expect(await store.targets.delete('billing-db')).toBe(true);
        expect(await store.targets.delete('billing-db')).toBe(false);
      });

      it('keeps the last health reported per target', async () => {
        await store.targets.reportHealth(health('shop-db'));
        await store.targets.reportHealth(health('billing-db', { agent: 'eu-agent' }));
        const down = health('shop-db', {
          reachable: false,
          problem: 'connection refused',
          reportedAt: 2_000,
        });
        await store.targets.reportHealth(down);
        expect(await store.targets.health()).toEqual([health('billing-db', { agent: 'eu-agent' }), down]);
      });
    });

    describe('tokens', () => {
      it('inserts, finds by secret hash, lists oldest first, counts and deletes', async () => {
        await store.tokens.insert(token('t2', { createdAt: 2_000, role: 'admin' }));
        await store.tokens.insert(token('t1', { createdAt: 1_000 }));
        expect(await store.tokens.findBySecretHash('hash-t2')).toEqual(
          token('t2', { createdAt: 2_000, role: 'admin' }),
        );
        expect(await store.tokens.findBySecretHash('nope')).toBeNull();
        expect((await store.tokens.list()).map((t) => t.id)).toEqual(['t1', 't2']);
        expect(await store.tokens.count()).toBe(2);
        expect(await store.tokens.delete('t1')).toBe(true);
        expect(await store.tokens.delete('t1')).toBe(false);
        expect(await store.tokens.count()).toBe(1);
      });

      it('refuses a second token with the same secret', async () => {
        await store.tokens.insert(token('t1', { secretHash: 'same' }));
        await expect(store.tokens.insert(token('t2', { secretHash: 'same' }))).rejects.toMatchObject({
          code: 'STORE_CONFLICT',
        });
        expect(await store.tokens.count()).toBe(1);
      });
    });

    describe('transact', () => {
      it('commits what its work wrote and returns its result', async () => {
        const result = await store.transact('incident:i1', async (tx) => {
          await tx.incidents.insert(incident('i1'));
          await tx.timeline.append(entry('t1', 'i1', 1_000, { kind: 'opened' }));
          return 'done';
        });
        expect(result).toBe('done');
        expect(await store.incidents.get('i1')).not.toBeNull();
        expect(await store.timeline.list('i1')).toHaveLength(1);
      });

      it('rolls back everything its work wrote when the work rejects, and rethrows', async () => {
        await store.services.save(service('shop'));
        await store.ruleStates.save(ruleState('deadlocks:shop-db', { value: 1 }));
        const failure = new Error('rule cycle failed');
        await expect(
          store.transact('rules', async (tx) => {
            await tx.incidents.insert(incident('i1'));
            await tx.alerts.insert(alert('a1'));
            await tx.timeline.append(entry('t1', 'i1', 1_000));
            await tx.findings.save([deadlock('d1', 1_000)], 1_000);
            await tx.evidence.link('i1', ['d1'], 1_000);
            await tx.ruleStates.save(ruleState('deadlocks:shop-db', { value: 99 }));
            expect(await tx.services.delete('shop')).toBe(true);
            await tx.tokens.insert(token('t1'));
            expect(await tx.incidents.get('i1')).not.toBeNull(); // it sees its own writes
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await store.incidents.get('i1')).toBeNull();
        expect(await store.alerts.get('a1')).toBeNull();
        expect(await store.timeline.list('i1')).toEqual([]);
        expect(await store.findings.get(['d1'])).toEqual([]);
        expect(await store.evidence.findings('i1')).toEqual([]);
        expect((await store.ruleStates.get('deadlocks:shop-db'))?.value).toBe(1);
        expect(await store.services.get('shop')).not.toBeNull();
        expect(await store.tokens.count()).toBe(0);
      });

      it('serializes transactions on the same lock: concurrent read-then-write increments lose nothing', async () => {
        await store.ruleStates.save(ruleState('counter:x', { value: 0 }));
        const increment = () =>
          store.transact('counter', async (tx) => {
            const current = await tx.ruleStates.get('counter:x');
            await sleep(20); // widen the window another transaction would race into
            await tx.ruleStates.save(ruleState('counter:x', { value: (current?.value ?? 0) + 1 }));
          });
        await Promise.all([increment(), increment(), increment(), increment(), increment()]);
        expect((await store.ruleStates.get('counter:x'))?.value).toBe(5);
      });

      it('does not serialize different locks, and a rejected transaction releases its lock', async () => {
        const order: string[] = [];
        let releaseA!: () => void;
        const aHolds = new Promise<void>((resolve) => (releaseA = resolve));
        const a = store.transact('lock-a', async () => {
          order.push('a start');
          await aHolds;
          order.push('a end');
        });
        await sleep(20);
        await store.transact('lock-b', () => {
          order.push('b');
          return Promise.resolve();
        });
        releaseA();
        await a;
        expect(order).toEqual(['a start', 'b', 'a end']);
        await expect(store.transact('lock-a', () => Promise.reject(new Error('boom')))).rejects.toThrow(
          'boom',
        );
        expect(await store.transact('lock-a', () => Promise.resolve(7))).toBe(7);
      });
    });
  });
}
