import type { Incident, TimelineEntry } from '../src/core/incident.js';
import type { DemoNarrator } from './demo-narrator.js';
import type { HindsightClient, IncidentDetail } from './hindsight-client.js';

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
    if (evidence > 0) this.#narrator.say('hindsight', `${evidence} more finding${evidence === 1 ? '' : 's'} attached to the incident as evidence`);
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
