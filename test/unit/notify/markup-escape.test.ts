import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discordMessage } from '../../../src/notify/discord-notifier.js';
import { parseRetryAfter } from '../../../src/notify/http-delivery.js';
import {
  discordEscaper,
  type Escaper,
  escapeHtml,
  fitEscaped,
  slackEscaper,
  teamsEscaper,
  truncateUtf8,
} from '../../../src/notify/markup-escape.js';
import { scrubSecrets } from '../../../src/notify/secret-redaction.js';
import { slackMessage } from '../../../src/notify/slack-notifier.js';
import { teamsMessage } from '../../../src/notify/teams-notifier.js';
import { sampleIncident, triggered } from './notification-samples.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const escapers: [string, Escaper][] = [
  ['slack', slackEscaper],
  ['discord', discordEscaper],
  ['teams', teamsEscaper],
];
const text = fc.string({
  unit: fc.constantFrom('a', ' ', '\n', '*', '<', '&', '@', '{', '1', '.', '#', '\\', 'é', '😀'),
  maxLength: 300,
});

describe('fitEscaped', () => {
  it.each(escapers)(
    '%s: within the limit, whole escaped code points, an ellipsis only when cut',
    (_, escape) => {
      fc.assert(
        fc.property(text, fc.integer({ min: 2, max: 200 }), (input, max) => {
          const codePoints = Array.from(input);
          const pieces = codePoints.map((_c, i) => escape(codePoints, i));
          const whole = pieces.join('');
          const out = fitEscaped(input, max, escape);
          expect(out.length).toBeLessThanOrEqual(max);
          expect(out).not.toMatch(LONE_SURROGATE);
          if (whole.length <= max) {
            expect(out).toBe(whole);
            return;
          }
          expect(out.endsWith('…')).toBe(true);
          const kept = out.slice(0, -1);
          // The kept part is the escape of a prefix of the code points: no escape cut in half.
          let length = 0;
          const boundaries = new Set([0, ...pieces.map((piece) => (length += piece.length))]);
          expect(whole.startsWith(kept)).toBe(true);
          expect(boundaries.has(kept.length)).toBe(true);
        }),
      );
    },
  );

  it('truncateUtf8 keeps to the byte budget and whole code points', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 4, max: 200 }), (input, max) => {
        const out = truncateUtf8(input, max);
        expect(Buffer.byteLength(out, 'utf8')).toBeLessThanOrEqual(max);
        expect(out).not.toMatch(LONE_SURROGATE);
        if (Buffer.byteLength(input) <= max) expect(out).toBe(input);
      }),
    );
  });

  it('escapes Discord line-start markup only at line starts', () => {
    const escape = (input: string) => fitEscaped(input, 1000, discordEscaper);
    expect(escape('# h\n  - item\n> quote\n12. x')).toBe('\\# h\n  \\- item\n\\> quote\n12\\. x');
    expect(escape('a-b #3 > 2 v2.14.0')).toBe('a-b #3 > 2 v2.14.0');
  });

  it('escapes HTML text and attributes', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('channel limits', () => {
  const huge = triggered({
    incident: sampleIncident({ title: 'T*'.repeat(400), summary: '<x>'.repeat(3_000) }),
  });

  it('Slack: header 150, section 3000, fallback 3000', () => {
    const message = slackMessage(huge);
    const [header, summary] = message.blocks as { text: { text: string } }[];
    expect(header!.text.text).toHaveLength(150);
    expect(summary!.text.text.length).toBeLessThanOrEqual(3000);
    expect(summary!.text.text.endsWith('&gt;…')).toBe(true);
    expect(message.text.length).toBeLessThanOrEqual(3000);
  });

  it('Discord: title 256, description 4096, 6000 in all', () => {
    const [embed] = discordMessage(huge).embeds as {
      title: string;
      description: string;
      fields: { name: string; value: string }[];
      footer: { text: string };
    }[];
    expect(embed!.title.length).toBeLessThanOrEqual(256);
    expect(embed!.title.endsWith('…')).toBe(true);
    expect(embed!.description.length).toBeLessThanOrEqual(4096);
    const total =
      embed!.title.length +
      embed!.description.length +
      embed!.footer.text.length +
      embed!.fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
  });

  it('Teams: the whole message stays far under the 28 KB a Workflows webhook accepts', () => {
    expect(Buffer.byteLength(JSON.stringify(teamsMessage(huge)))).toBeLessThan(20_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, ignores nonsense', () => {
    const now = Date.UTC(2026, 10, 30, 16, 0, 0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter(new Date(now + 30_000).toUTCString(), now)).toBe(30_000);
    expect(parseRetryAfter(new Date(now - 30_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});

describe('scrubSecrets', () => {
  it('removes a secret URL whole, its path, query, password and long segments, raw or encoded', () => {
    const url =
      'https://user:pa%24%24word@hooks.example.com/services/T0/B0/abcdefghijklmnopqrstuvwx?sig=0123456789';
    const said = `POST ${url} failed; path /services/T0/B0/abcdefghijklmnopqrstuvwx; token abcdefghijklmnopqrstuvwx; password pa$$word; ${encodeURIComponent(url)}`;
    const out = scrubSecrets(said, [url]);
    for (const secret of ['abcdefghijklmnopqrstuvwx', 'pa$$word', 'pa%24%24word', '0123456789'])
      expect(out).not.toContain(secret);
    expect(out).toContain('failed');
  });
});
