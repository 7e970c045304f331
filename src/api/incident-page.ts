import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { formatDuration } from '../core/duration-format.js';
import { findingTime } from '../core/incident-store.js';
import { describeIncidentLoad } from '../core/incident-load.js';
import { formatMinutes, formatPercent } from '../core/share-format.js';
import type { IncidentUseCases } from './routes/incident-routes.js';

export type IncidentPageDetail = Awaited<ReturnType<IncidentUseCases['detail']>>;

const time = (at: number): string =>
  new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#1b1f24}
h1{font-size:1.35em;margin:.2em 0}.meta{color:#57606a}.summary{white-space:pre-wrap;font-size:1.05em}
.state{display:inline-block;padding:.1em .5em;border-radius:.3em;background:#eaeef2;font-weight:600}
.critical{background:#ffebe9;color:#a40e26}table{border-collapse:collapse;width:100%}
td,th{text-align:left;vertical-align:top;padding:.25em .6em .25em 0;border-bottom:1px solid #eaeef2}
td.t{white-space:nowrap;color:#57606a;font-variant-numeric:tabular-nums}.dead{text-decoration:line-through}
code{font-size:.92em}section{margin-top:1.6em}button{font-size:1em;padding:.4em 1em}`;

/**
 * The incident's page a notification links to (`GET /incidents/:id`, a signed view link): what
 * `hindsight incident show` prints, for a phone. Server-rendered and static. Every string from the
 * monitored world (titles, summaries, queries, notes, routes) goes through hono/html's escaping:
 * it is shown as text, never read as markup.
 */
export function incidentPage(
  detail: IncidentPageDetail,
  options: { readonly now: number; readonly acknowledgeUrl: string | null },
): HtmlEscapedString | Promise<HtmlEscapedString> {
  const i = detail.incident;
  const facts: (HtmlEscapedString | Promise<HtmlEscapedString>)[] = [];
  if (detail.impact !== null) {
    const im = detail.impact;
    facts.push(
      html`<li>
        <b>Impact</b>: ${formatPercent(im.share)} of users affected (${im.affectedUsers} of ${im.activeUsers}
        active in ${formatDuration(im.windowMs)})${im.truncated ? ', at least' : ''}
      </li>`,
    );
  }
  if (detail.load !== null)
    facts.push(html`<li><b>Load</b>: ${describeIncidentLoad(detail.load)} (${detail.load.target})</li>`);
  if (detail.onsetDeploy !== null) {
    const d = detail.onsetDeploy;
    facts.push(
      html`<li>
        <b>Onset</b>: began ${formatMinutes(d.minutesBeforeOnset * 60_000)} after deploy ${d.version}
        ${d.commit === null ? '' : html`(<code>${d.commit}</code>)`} at ${time(d.at)}
      </li>`,
    );
  }
  const causes = detail.attribution.map(
    (a) =>
      html`<tr>
        <td>${formatPercent(a.share)}</td>
        <td>${a.route} (${a.failures})</td>
        <td>${[a.sqlstate, a.errorClass].filter((x) => x !== null).join(' ') || 'unknown'}</td>
        <td>${a.callSite ?? ''}</td>
        <td><code>${a.query ?? ''}</code></td>
      </tr>`,
  );
  const ended = [
    ['acknowledged', i.acknowledgedAt],
    ['mitigated', i.mitigatedAt],
    ['resolved', i.resolvedAt],
    ['closed', i.closedAt],
    ['cancelled', i.cancelledAt],
  ].filter((e): e is [string, number] => e[1] !== null);
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${i.title} · Hindsight</title>
        <style>
          ${STYLE}
        </style>
      </head>
      <body>
        <p class="meta"><code>${i.id}</code> · service ${i.service}</p>
        <h1>${i.title}</h1>
        <p>
          <span class="state ${i.severity === 'critical' ? 'critical' : ''}">${i.state}</span>
          ${i.severity} · opened ${time(i.createdAt)} (${formatDuration(options.now - i.createdAt)} ago)
          ${ended.map(([label, at]) => html` · ${label} ${time(at)}`)}
        </p>
        ${
          options.acknowledgeUrl === null
            ? ''
            : html`<form method="post" action="${options.acknowledgeUrl}">
                <button type="submit">Acknowledge</button>
              </form>`
        }
        <p class="summary">${i.summary}</p>
        ${
          facts.length === 0
            ? ''
            : html`<ul>
                ${facts}
              </ul>`
        }
        ${
          causes.length === 0
            ? ''
            : html`<section>
                <h2>Failures by cause</h2>
                <table>
                  ${causes}
                </table>
              </section>`
        }
        ${
          detail.alerts.length === 0
            ? ''
            : html`<section>
                <h2>Alerts (${detail.alerts.length})</h2>
                <table>
                  ${detail.alerts.map(
                    (a) =>
                      html`<tr>
                        <td>${a.status}</td>
                        <td>${a.severity}</td>
                        <td>${a.summary}</td>
                        <td>${a.source}${a.rule === null ? '' : ` ${a.rule}`}</td>
                      </tr>`,
                  )}
                </table>
              </section>`
        }
        <section>
          <h2>Timeline</h2>
          <table>
            ${detail.timeline.map(
              (e) =>
                html`<tr>
                  <td class="t">${time(e.at)}</td>
                  <td>${e.actor}</td>
                  <td>${e.kind}</td>
                  <td>
                    <span class="${e.deadEnd ? 'dead' : ''}">${e.text}</span>${e.deadEnd ? ' (dead end)' : ''}
                  </td>
                </tr>`,
            )}
          </table>
        </section>
        ${
          detail.evidence.length === 0
            ? ''
            : html`<section>
                <h2>Evidence (${detail.evidence.length} findings)</h2>
                <table>
                  ${detail.evidence.map(
                    (f) =>
                      html`<tr>
                        <td class="t">${time(findingTime(f))}</td>
                        <td>${f.kind.replace(/_/g, ' ')}</td>
                        <td>${f.target}</td>
                        <td><code>${f.id}</code></td>
                      </tr>`,
                  )}
                </table>
              </section>`
        }
        <p class="meta">
          Read-only link, valid until it expires. Act with <code>hindsight incident ack ${i.id}</code>
          or the API.
        </p>
      </body>
    </html>`;
}
