import { describe, expect, it } from 'vitest';
import {
  parseDemoUsers,
  parseIncidentListOptions,
  parseOnCallAt,
} from '../../../src/config/command-options.js';

describe('the small commands’ options', () => {
  it('incidents: --state and --limit, both problems at once', () => {
    expect(parseIncidentListOptions({ state: 'open', limit: '20' })).toEqual({ state: 'open', limit: 20 });
    expect(() => parseIncidentListOptions({ state: 'closed', limit: 'ten' })).toThrow(
      /invalid options:\n {2}- --state must be open, resolved or all \(got "closed"\)\n {2}- --limit must be a whole number from 1 to 1000 \(got "ten"\)/,
    );
    expect(() => parseIncidentListOptions({ state: 'all', limit: '0' })).toThrow(
      expect.objectContaining({ code: 'INCIDENT_BAD_OPTIONS' }),
    );
  });

  it('oncall --at: epoch ms or ISO 8601', () => {
    expect(parseOnCallAt('2026-03-29T09:00:00+02:00')).toBe(Date.UTC(2026, 2, 29, 7));
    expect(parseOnCallAt('1700000000000')).toBe(1_700_000_000_000);
    expect(() => parseOnCallAt('tomorrow')).toThrow(expect.objectContaining({ code: 'ONCALL_BAD_OPTIONS' }));
    expect(() => parseOnCallAt('tomorrow')).toThrow(
      '--at must be a time such as 2026-03-29T09:00:00+02:00 (got "tomorrow")',
    );
  });

  it('demo --users: 10 to 2000', () => {
    expect(parseDemoUsers('200')).toBe(200);
    for (const bad of ['5', '2001', '1e3', ''])
      expect(() => parseDemoUsers(bad)).toThrow(expect.objectContaining({ code: 'DEMO_BAD_OPTIONS' }));
  });
});
