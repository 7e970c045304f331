import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_NOTIFIERS, createNotifierRegistry } from '../../../src/notify/notifier-registry.js';
import { triggered } from './notification-samples.js';

const registry = createNotifierRegistry({ writeLine: () => undefined });

describe('notifier registry', () => {
  it('knows the eight channel types, each a core Notifier', () => {
    expect(registry.types).toEqual([
      'console',
      'webhook',
      'slack',
      'discord',
      'teams',
      'email',
      'pagerduty',
      'ntfy',
    ]);
    for (const type of registry.types) expect(registry.notifierFor(type)?.type).toBe(type);
    expect(registry.notifierFor('sms')).toBeUndefined();
  });

  it("parses the paging issue's example channels, applying defaults", () => {
    expect(
      registry.parseChannel({
        name: 'ops-hook',
        type: 'webhook',
        url: 'https://ops.example.com/hook',
        secret: 'hook-secret',
      }),
    ).toEqual({
      ok: true,
      channel: {
        name: 'ops-hook',
        type: 'webhook',
        settings: { url: 'https://ops.example.com/hook', secret: 'hook-secret' },
      },
    });
    expect(
      registry.parseChannel({
        name: 'mail',
        type: 'email',
        smtp: 'smtp://mail.example.com:587',
        from: 'hindsight@example.com',
      }),
    ).toEqual({
      ok: true,
      channel: {
        name: 'mail',
        type: 'email',
        settings: { smtp: 'smtp://mail.example.com:587', from: 'hindsight@example.com', requireTls: false },
      },
    });
  });

  it('reports every problem of an entry at once, with the setting path', () => {
    expect(
      registry.parseChannel({ name: 'bad name!', type: 'slack', url: 'not a url', colour: 'red' }),
    ).toEqual({
      ok: false,
      issues: [
        { path: 'name', message: expect.stringContaining('a channel name is') as unknown },
        { path: 'url', message: 'expected an http:// or https:// URL' },
        { path: '', message: expect.stringContaining('colour') as unknown },
      ],
    });
    expect(registry.parseChannel({ name: 'x', type: 'sms' })).toEqual({
      ok: false,
      issues: [
        {
          path: 'type',
          message:
            'unknown channel type "sms"; expected one of console, webhook, slack, discord, teams, email, pagerduty, ntfy',
        },
      ],
    });
    const email = registry.parseChannel({
      name: 'mail',
      type: 'email',
      smtp: 'http://mail',
      from: 'h@x.y',
      to: ['not-an-address'],
    });
    expect(!email.ok && email.issues.map((issue) => issue.path)).toEqual(['smtp', 'to.0']);
    const blankSecret = registry.parseChannel({
      name: 'hook',
      type: 'webhook',
      url: 'https://x.example/h',
      secret: '  ',
    });
    expect(!blankSecret.ok && blankSecret.issues).toEqual([{ path: 'secret', message: 'must not be empty' }]);
  });

  it('never repeats a secret value in an issue', () => {
    const token = 'https://hooks.slack.com/services/T0/B0/SECRETSECRETSECRET';
    const parsed = registry.parseChannel({
      name: 'ops',
      type: 'discord',
      url: token.replace('https', 'ftp'),
    });
    expect(JSON.stringify(parsed)).not.toContain('SECRETSECRETSECRET');
  });

  it('channelSchema embeds in a configuration schema, issues under the entry path', () => {
    const config = z.object({ channels: z.array(registry.channelSchema) });
    const good = config.parse({ channels: [{ name: 'c', type: 'console' }] });
    expect(good.channels).toEqual([{ name: 'c', type: 'console', settings: { format: 'text' } }]);
    const bad = config.safeParse({
      channels: [
        { name: 'c', type: 'console' },
        { name: 'p', type: 'pagerduty' },
      ],
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((issue) => issue.path)).toEqual([['channels', 1, 'routingKey']]);
  });

  it('shows channels without their secrets', () => {
    const slack = {
      name: 's',
      type: 'slack',
      settings: { url: 'https://hooks.slack.com/services/T0/B0/SECRETSECRET' },
    };
    expect(registry.redactedSettings(slack)).toEqual({ url: 'https://hooks.slack.com/***' });
    expect(registry.notifierFor('slack')!.describe(slack)).toBe('slack via hooks.slack.com');
    const pd = { name: 'p', type: 'pagerduty', settings: { routingKey: 'R0UTINGKEY', source: 'shop' } };
    expect(registry.redactedSettings(pd)).toEqual({ routingKey: '***', source: 'shop' });
    const mail = {
      name: 'm',
      type: 'email',
      settings: { smtp: 'smtp://u:pw-secret@mail.example.com:587', from: 'h@example.com', requireTls: false },
    };
    expect(JSON.stringify(registry.redactedSettings(mail))).not.toContain('pw-secret');
    expect(registry.notifierFor('email')!.describe(mail)).toBe('email via mail.example.com:587');
    const hook = {
      name: 'h',
      type: 'webhook',
      settings: {
        url: 'https://ops.example.com/hook?token=abc',
        secret: 'k',
        headers: { authorization: 'Bearer x' },
      },
    };
    expect(registry.redactedSettings(hook)).toEqual({
      url: 'https://ops.example.com/***',
      secret: '***',
      headers: '***',
    });
  });

  it('refuses two notifiers of one type', () => {
    const [consoleNotifier] = BUILT_IN_NOTIFIERS;
    expect(() => createNotifierRegistry({ definitions: [consoleNotifier!, consoleNotifier!] })).toThrow(
      'two notifiers declare the channel type "console"',
    );
  });

  it('a channel given to the notifier of another type fails, not retryable', async () => {
    const result = await registry
      .notifierFor('slack')!
      .send({ name: 'c', type: 'console', settings: {} }, triggered(), new AbortController().signal);
    expect(result).toMatchObject({ outcome: 'failed', retryable: false });
  });
});
