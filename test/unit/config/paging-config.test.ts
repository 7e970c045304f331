import { describe, expect, it } from 'vitest';
import { describeProblem, parseConfig } from '../../../src/config/config-file.js';

const ISSUE_EXAMPLE = `
users:
  - { name: alice, email: alice@example.com, timeZone: Europe/Berlin }
  - { name: bob, email: bob@example.com }
  - { name: dora }
  - { name: dan }
teams:
  - { name: database, members: [dora, dan] }
schedules:
  - name: primary
    timeZone: Europe/Berlin
    rotation: { every: week, handoff: "Mon 09:00", users: [alice, bob] }
channels:
  - { name: ops-hook, type: webhook, url: "https://ops.example.com/hook", secret: "\${HOOK_SECRET}" }
  - { name: mail, type: email, smtp: "smtp://mail.example.com:587", from: "hindsight@example.com" }
escalationPolicies:
  - name: shop-oncall
    steps:
      - { after: 0m, notify: ["schedule:primary", "channel:ops-hook"] }
      - { after: 5m, notify: ["team:database"] }
    repeat: 1
    ackExpires: 30m
services:
  - { name: shop, escalationPolicy: shop-oncall }
`;

const problems = (text: string): string[] => {
  const result = parseConfig(text, { env: { HOOK_SECRET: 's3cret' } });
  return result.ok ? [] : result.problems.map(describeProblem);
};

describe('paging configuration', () => {
  it("parses the issue's example into users, teams, schedules, channels and policies", () => {
    const result = parseConfig(ISSUE_EXAMPLE, { env: { HOOK_SECRET: 's3cret' } });
    if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
    const { paging, services } = result.config;
    expect(paging.users[0]).toEqual({
      name: 'alice',
      email: 'alice@example.com',
      timeZone: 'Europe/Berlin',
      contacts: [],
    });
    expect(paging.teams).toEqual([{ name: 'database', members: ['dora', 'dan'] }]);
    expect(paging.schedules[0]?.layers[0]?.rotation).toEqual({
      every: 'week',
      weekday: 1,
      handoffMinute: 540,
      users: ['alice', 'bob'],
      start: null,
    });
    expect(paging.channels[0]).toEqual({
      name: 'ops-hook',
      type: 'webhook',
      settings: { url: 'https://ops.example.com/hook', secret: 's3cret' },
    });
    expect(paging.escalationPolicies[0]).toEqual({
      name: 'shop-oncall',
      steps: [
        {
          afterMs: 0,
          targets: [
            { kind: 'schedule', name: 'primary' },
            { kind: 'channel', name: 'ops-hook' },
          ],
        },
        { afterMs: 300_000, targets: [{ kind: 'team', name: 'database' }] },
      ],
      repeat: 1,
      ackExpiresMs: 1_800_000,
    });
    expect(services[0]?.escalationPolicy).toBe('shop-oncall');
  });

  it('reports every broken reference and shape at once, each with its path', () => {
    const broken = ISSUE_EXAMPLE.replace('users: [alice, bob]', 'users: [alice, bobby]')
      .replace('members: [dora, dan]', 'members: [dora, dana]')
      .replace('"team:database"', '"team:dba", "pager:x"')
      .replace('handoff: "Mon 09:00"', 'handoff: "09:00"')
      .replace('timeZone: Europe/Berlin }', 'timeZone: Europe/Berln }')
      .replace('escalationPolicy: shop-oncall', 'escalationPolicy: shop')
      .replace('ackExpires: 30m', 'ackExpires: 30');
    expect(problems(broken)).toEqual([
      'escalationPolicies[0].ackExpires: "30" is not a duration; write it with its unit: 30s, 10m, 1h, 500ms',
      'escalationPolicies[0].steps[1].notify[0]: unknown team "dba" (declared: database)',
      'escalationPolicies[0].steps[1].notify[1]: a target is user:NAME, schedule:NAME, team:NAME or channel:NAME',
      'schedules[0].rotation.handoff: a weekly rotation hands off on a weekday and time: "Mon 09:00" (got "09:00")',
      'schedules[0].rotation.users[1]: unknown user "bobby" (declared: alice, bob, dora, dan)',
      'services[0].escalationPolicy: unknown escalation policy "shop" (declared: shop-oncall)',
      'teams[0].members[1]: unknown user "dana" (declared: alice, bob, dora, dan)',
      'users[0].timeZone: not an IANA time zone this runtime knows (e.g. Europe/Berlin, America/New_York, UTC)',
    ]);
  });

  it('reports an unset secret variable by its name', () => {
    const result = parseConfig(ISSUE_EXAMPLE, { env: {} });
    expect(result.ok ? [] : result.problems.map(describeProblem)).toEqual([
      expect.stringMatching(/^channels\[0\]\.secret: .*HOOK_SECRET/),
    ]);
  });
});
