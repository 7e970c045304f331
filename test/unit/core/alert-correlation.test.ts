import { describe, expect, it } from 'vitest';
import {
  correlateAlert,
  groupKeyFor,
  openIncident,
  recordAlertActivity,
} from '../../../src/core/alert-correlation.js';
import { DEFAULT_GROUPING } from '../../../src/core/catalog.js';
import { alert, incident } from '../../support/finding-builder.js';

const MIN = 60_000;

describe('groupKeyFor', () => {
  it('groups on the service by default, on `by` labels (or alert fields) when asked, and per alert when off', () => {
    const a = alert({ labels: { region: 'eu' } });
    expect(groupKeyFor(a, DEFAULT_GROUPING)).toBe('shop');
    expect(groupKeyFor(a, { kind: 'window', windowMs: MIN, by: ['region', 'target', 'team'] })).toBe(
      'region=eu,target=shop-db,team=',
    );
    expect(groupKeyFor(a, { kind: 'off' })).toBe('alert:rule:deadlocks:shop-db');
  });
});

describe('correlateAlert', () => {
  const window = DEFAULT_GROUPING;

  it('joins the open incident whose last alert is within the window', () => {
    const open = incident({ lastAlertAt: 0 });
    expect(correlateAlert([open], window, 10 * MIN)).toEqual({ kind: 'join', incident: open });
    expect(correlateAlert([open], window, 10 * MIN + 1)).toEqual({ kind: 'open' });
  });

  it('prefers an open incident to a resolved one, re-opens a resolved one within the window, never a closed or cancelled one', () => {
    const resolved = incident({ id: 'r', state: 'resolved', lastAlertAt: 9 * MIN });
    const open = incident({ id: 'o', state: 'acknowledged', lastAlertAt: 5 * MIN });
    expect(correlateAlert([resolved, open], window, 10 * MIN)).toMatchObject({
      kind: 'join',
      incident: { id: 'o' },
    });
    expect(correlateAlert([resolved], window, 10 * MIN)).toMatchObject({
      kind: 'reopen',
      incident: { id: 'r' },
    });
    expect(correlateAlert([resolved], window, 20 * MIN)).toEqual({ kind: 'open' });
    expect(correlateAlert([incident({ state: 'closed', lastAlertAt: 9 * MIN })], window, 10 * MIN)).toEqual({
      kind: 'open',
    });
    expect(
      correlateAlert([incident({ state: 'cancelled', lastAlertAt: 9 * MIN })], window, 10 * MIN),
    ).toEqual({ kind: 'open' });
  });

  it('with grouping off, joins only an open incident of the same alert and never re-opens', () => {
    const open = incident({ lastAlertAt: 0 });
    expect(correlateAlert([open], { kind: 'off' }, 60 * MIN)).toEqual({ kind: 'join', incident: open });
    expect(correlateAlert([incident({ state: 'resolved', lastAlertAt: 0 })], { kind: 'off' }, 1)).toEqual({
      kind: 'open',
    });
  });
});

describe('incident updates from alerts', () => {
  it('opens at version 1 and records activity with the higher severity, never moving lastAlertAt back', () => {
    const i = openIncident({
      id: 'i',
      service: 'shop',
      groupKey: 'shop',
      title: 't',
      summary: 's',
      severity: 'warning',
      at: 5_000,
    });
    expect(i).toMatchObject({ state: 'triggered', version: 1, createdAt: 5_000, lastAlertAt: 5_000 });
    const later = recordAlertActivity(i, { severity: 'critical' }, 4_000);
    expect(later).toMatchObject({ severity: 'critical', lastAlertAt: 5_000, version: 2 });
    expect(recordAlertActivity(later, { severity: 'info' }, 7_000)).toMatchObject({
      severity: 'critical',
      lastAlertAt: 7_000,
      version: 3,
    });
  });
});
