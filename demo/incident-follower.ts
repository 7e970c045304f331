import type { Incident, TimelineEntry } from '../src/core/incident.js';
import type { DemoNarrator } from './demo-narrator.js';
import { sleep } from '../src/platform/abortable-sleep.js';
import { insightOf, type HindsightClient, type IncidentDetail } from './hindsight-client.js';

/**
 * Follows the service's incidents through serve's API, as someone watching `hindsight incidents`
 * and `hindsight incident show` would, and narrates each new timeline entry as it appears.
 */
export class IncidentFollower {
  readonly #client: HindsightClient;
  readonly #service: string;
  readonly #narrator: DemoNarrator;
  readonly #seenEntries = new Set<string>();
  /** Incidents of the service opened since the demo started, oldest first. */
  incidents: readonly Incident[] = [];
  /** The first incident's record as last read. */
  detail: IncidentDetail | null = null;
  /** Called once when the first incident is seen. */
  onOpened: ((detail: IncidentDetail) => void) | null = null;

  constructor(options: { client: HindsightClient; service: string; narrator: DemoNarrator }) {
    this.#client = options.client;
    this.#service = options.service;
    this.#narrator = options.narrator;
  }

  /** Polls every half second, narrating what is new, until `signal` aborts; never rejects. */
  async follow(signal: AbortSignal): Promise<void> {
    const stopped = (): boolean => signal.aborted;
    let failing = false;
    while (!stopped()) {
      try {
        await this.poll();
        failing = false;
      } catch (error) {
        if (!failing && !stopped())
          this.#narrator.say(
            'problem',
            `could not read the incidents from serve: ${error instanceof Error ? error.message : String(error)}`,
          );
        failing = true;
      }
      await sleep(500, signal);
    }
  }

  /** One look: the incident list, then the first incident's record; new timeline entries narrated. */
  async poll(): Promise<void> {
    const all = await this.#client.incidents(this.#service);
    this.incidents = [...all].sort((a, b) => a.createdAt - b.createdAt);
    const first = this.incidents[0];
    if (first === undefined) return;
    const detail = await this.#client.detail(first.id);
    const opened = this.detail === null;
    this.detail = detail;

    if (opened) {
      // The opening itself is told by onOpened, with the summary; what followed it is told below.
      for (const entry of detail.timeline) if (entry.kind === 'opened') this.#seenEntries.add(entry.id);
      this.onOpened?.(detail);
    }
    const fresh = detail.timeline.filter((e) => !this.#seenEntries.has(e.id));
    for (const entry of fresh) this.#seenEntries.add(entry.id);
    let evidence = 0;
    const sent: string[] = [];
    for (const entry of fresh) {
      if (entry.kind === 'evidence_added') evidence++;
      else if (entry.kind === 'notification_sent') sent.push(entry.text.replace(/^sent /, ''));
      else this.#tell(entry);
    }
    if (sent.length > 0) this.#narrator.say('page', `delivered: ${sent.join('; ')}`);
    if (evidence > 0)
      this.#narrator.say(
        'hindsight',
        `${evidence} more finding${evidence === 1 ? '' : 's'} attached to the incident as evidence`,
      );
  }

  #tell(entry: TimelineEntry): void {
    const n = this.#narrator;
    const kind: string = entry.kind;
    switch (kind) {
      case 'escalated':
      case 'notification_failed':
      case 'notification_unknown':
        n.say('page', entry.text);
        return;
      case 'note':
        n.say('note', `${entry.actor}: ${entry.text}${entry.deadEnd ? '  [marked dead end]' : ''}`);
        return;
      case 'state_changed':
        n.say('hindsight', `incident ${entry.text} (by ${entry.actor})`);
        return;
      case 'summary_updated':
        n.say('hindsight', `summary now: ${entry.text}`);
        return;
      case 'alert_added':
        n.say('hindsight', `an alert joins the incident: ${entry.text}`);
        return;
      case 'alert_resolved':
        n.say('hindsight', `alert ${entry.text}`);
        return;
      default:
        n.say('hindsight', `${kind.replaceAll('_', ' ')}: ${entry.text}`);
    }
  }
}

const pct = (share: number): string => `${Math.round(share * 100)}%`;

/** An incident as its responder first sees it: the summary, who is hit, by what, since which deploy. */
export function tellIncident(detail: IncidentDetail, narrator: DemoNarrator): void {
  narrator.detail(`summary: ${detail.incident.summary}`);
  const { impact, attribution, onsetDeploy } = insightOf(detail);
  if (impact)
    narrator.detail(
      `impact so far: ${impact.affectedUsers} of ${impact.activeUsers} users (${pct(impact.share)})`,
    );
  for (const a of attribution?.slice(0, 2) ?? []) {
    narrator.detail(
      `failures: ${pct(a.share)} on ${a.route} are ${a.sqlstate ?? 'no SQL error'} at ${a.callSite ?? 'an unknown call site'}${a.query ? ` (${a.query})` : ''}`,
    );
  }
  if (onsetDeploy) {
    const m = onsetDeploy.minutesBeforeOnset;
    narrator.detail(
      `onset: ${m < 1 ? `${(m * 60).toFixed(1)} s` : `${m.toFixed(1)} min`} after deploy ${onsetDeploy.version}`,
    );
  }
}
