import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification, NotificationChannel } from '../../../src/core/notification.js';
import { createNotifierRegistry } from '../../../src/notify/notifier-registry.js';
import { FakeClock } from '../../support/fake-clock.js';
import { HOSTILE_SUMMARY, sampleIncident, T0, triggered } from './notification-samples.js';
import { startRecordingServer, type RecordingServer } from './recording-server.js';

// Text from the monitored world — HTML, every channel's markup, mentions, ANSI escapes — must
// arrive as the characters it is, on every channel. (Email: see email-notifier.test.ts.)

const TITLE = 'Deadlocks on <b>shop-db</b> *now* @channel';
const hostile: Notification = triggered({
  incident: sampleIncident({ title: TITLE, summary: HOSTILE_SUMMARY }),
});

let server: RecordingServer;
const lines: string[] = [];
const registry = createNotifierRegistry({
  clock: new FakeClock(T0),
  timeoutMs: 2_000,
  writeLine: (line) => lines.push(line),
});

beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(async () => {
  await server.close();
});

async function deliver(type: string, settings: Record<string, unknown>, notification = hostile) {
  const channel: NotificationChannel = { name: `hostile-${type}`, type, settings };
  server.requests.length = 0;
  expect(await registry.notifierFor(type)!.send(channel, notification, new AbortController().signal)).toEqual(
    { outcome: 'sent' },
  );
  return server.requests[0];
}

/** Every string property named `key`, anywhere in a JSON value, with the object holding it. */
function collect(
  value: unknown,
  key: string,
  out: { holder: Record<string, unknown>; value: unknown }[] = [],
) {
  if (Array.isArray(value)) value.forEach((item) => collect(item, key, out));
  else if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (key in record) out.push({ holder: record, value: record[key] });
    Object.values(record).forEach((item) => collect(item, key, out));
  }
  return out;
}

describe('markup from the monitored world arrives as text', () => {
  it('Slack: only plain_text objects, & < > escaped, fallback not mrkdwn', async () => {
    const message = JSON.parse((await deliver('slack', { url: `${server.url}/services/x` }))!.body) as Record<
      string,
      unknown
    >;
    expect(message.mrkdwn).toBe(false);
    expect(message).not.toHaveProperty('link_names');
    for (const { holder } of collect(message.blocks, 'text').filter(
      ({ value }) => typeof value === 'string',
    )) {
      expect(holder.type).toBe('plain_text');
    }
    const texts = [message.text, ...collect(message.blocks, 'text').map(({ value }) => value)].filter(
      (v): v is string => typeof v === 'string',
    );
    for (const text of texts) {
      expect(text).not.toMatch(/[<>]/);
      expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    expect(texts).toContain(
      '&lt;script&gt;alert(1)&lt;/script&gt; *bold* _it_ @here @everyone &lt;!channel&gt; &lt;@123&gt; [x](https://evil.example) {{DATE(2017-02-14T06:08:39Z, SHORT)}} &amp; done\n# heading\n1. list',
    );
    expect(texts).toContain('[CRITICAL] Triggered: Deadlocks on &lt;b&gt;shop-db&lt;/b&gt; *now* @channel');
  });

  it('Discord: markdown escaped, mentions disabled', async () => {
    const message = JSON.parse(
      (await deliver('discord', { url: `${server.url}/api/webhooks/1/t` }))!.body,
    ) as {
      allowed_mentions: unknown;
      embeds: { title: string; description: string }[];
    };
    expect(message.allowed_mentions).toEqual({ parse: [] });
    const [embed] = message.embeds;
    expect(embed!.description).toBe(
      '\\<script>alert(1)\\</script> \\*bold\\* \\_it\\_ \\@here \\@everyone \\<!channel> \\<\\@123> \\[x\\](https://evil.example) {{DATE(2017-02-14T06:08:39Z, SHORT)}} & done\n\\# heading\n1\\. list',
    );
    expect(embed!.title).toBe(
      '\\[CRITICAL\\] Triggered: Deadlocks on \\<b>shop-db\\</b> \\*now\\* \\@channel',
    );
    for (const text of [embed!.title, embed!.description]) expect(text).not.toMatch(/(^|[^\\])[<*_@`[]/);
  });

  it('Teams: untrusted text only in TextRuns (no markdown), date functions defused', async () => {
    const message = JSON.parse(
      (await deliver('teams', { url: `${server.url}/workflows/x` }))!.body,
    ) as unknown;
    const types = collect(message, 'type').map(({ value }) => value);
    expect(types).not.toContain('TextBlock');
    expect(types).not.toContain('FactSet');
    const runs = collect(message, 'text').map(({ value }) => value);
    expect(runs).toContain(HOSTILE_SUMMARY.replace('{{', '{\u200B{'));
    expect(runs).toContain(`[CRITICAL] Triggered: ${TITLE}`);
    expect(JSON.stringify(runs)).not.toContain('{{');
  });

  it('webhook and PagerDuty: JSON carries the text unchanged', async () => {
    const hook = JSON.parse((await deliver('webhook', { url: `${server.url}/hook` }))!.body) as {
      incident: { summary: string; title: string };
    };
    expect(hook.incident).toMatchObject({ summary: HOSTILE_SUMMARY, title: TITLE });
    const pd = JSON.parse(
      (await deliver('pagerduty', { routingKey: 'R0UTINGKEY00000', url: `${server.url}/v2/enqueue` }))!.body,
    ) as {
      payload: { summary: string; custom_details: { summary: string } };
    };
    expect(pd.payload.summary).toBe(`${TITLE}: ${HOSTILE_SUMMARY}`);
    expect(pd.payload.custom_details.summary).toBe(HOSTILE_SUMMARY);
  });

  it('ntfy: a plain-text body (no Markdown header), the title in a header', async () => {
    const request = (await deliver('ntfy', { url: `${server.url}/topic-0123456789` }))!;
    expect(request.headers.markdown).toBeUndefined();
    expect(request.headers['x-markdown']).toBeUndefined();
    expect(request.body.startsWith(`${HOSTILE_SUMMARY}\n`)).toBe(true);
    expect(request.headers.title).toBe(`[CRITICAL] Triggered: ${TITLE}`);
  });

  it('console: control characters shown escaped, one line per message', async () => {
    lines.length = 0;
    const ansi = triggered({
      incident: sampleIncident({ summary: 'rows \u001b[2J\u001b[31mgone\u001b[0m\rforged line\u0007' }),
    });
    await deliver('console', { format: 'text' }, ansi);
    expect(lines).toHaveLength(1);
    // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
    expect(lines[0]).not.toMatch(/[\u0000-\u001f]/);
    expect(lines[0]).toContain('rows \\x1b[2J\\x1b[31mgone\\x1b[0m forged line\\x07');
  });
});
