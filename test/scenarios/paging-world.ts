import { EscalationCycle } from '../../src/app/escalation-cycle.js';
import { OutboxSender, type DeliveryOutcome, type OutboxSenderOptions } from '../../src/app/outbox-sender.js';
import { parseConfig, describeProblem } from '../../src/config/config-file.js';
import { openIncident } from '../../src/core/alert-correlation.js';
import type { Incident } from '../../src/core/incident.js';
import type {
  DeliveryResult,
  Notification,
  NotificationChannel,
  Notifier,
  NotifierLookup,
} from '../../src/core/notification.js';
import { delivered } from '../../src/core/notification.js';
import { IncidentWorld } from './incident-world.js';

/** What a recording notifier received. */
export interface Received {
  readonly channel: string;
  readonly notification: Notification;
}

/**
 * A notifier for every channel type that records what it was asked to send, and answers what the
 * test scripts (`failNext`) — the same promises as the real ones: it never throws, and a failure
 * says whether to retry.
 */
export class RecordingNotifiers implements NotifierLookup {
  readonly received: Received[] = [];
  readonly #script: DeliveryResult[] = [];
  /** Runs during every send (e.g. a slow channel moving the fake clock on). */
  duringSend: (() => void) | null = null;

  failNext(...results: DeliveryResult[]): void {
    this.#script.push(...results);
  }

  notifierFor(type: string): Notifier {
    return {
      type,
      describe: (channel: NotificationChannel) => `${type} ${channel.name}`,
      send: (channel, notification) => {
        this.duringSend?.();
        const scripted = this.#script.shift();
        if (scripted !== undefined) return Promise.resolve(scripted);
        this.received.push({ channel: channel.name, notification });
        return Promise.resolve(delivered);
      },
    };
  }

  /** Who got what, as `kind → user@channel` lines in order (channels as such: `kind → #channel`). */
  lines(): string[] {
    return this.received.map(({ channel, notification: n }) => {
      const user = n.recipient?.user?.name;
      return `${n.kind} → ${user === undefined ? `#${channel}` : `${user}@${channel}`}`;
    });
  }

  take(): string[] {
    const lines = this.lines();
    this.received.length = 0;
    return lines;
  }
}

/** The issue's configuration, with a rotation anchored so that alice is on call on 2026-03-01. */
export const SHOP_PAGING = `
users:
  - { name: alice, email: alice@example.com, timeZone: Europe/Berlin }
  - { name: bob, email: bob@example.com }
  - { name: dora, email: dora@example.com }
  - { name: dan, email: dan@example.com }
teams:
  - { name: database, members: [dora, dan] }
schedules:
  - name: primary
    timeZone: Europe/Berlin
    rotation: { every: week, handoff: "Mon 09:00", users: [alice, bob], start: "2026-02-23" }
  - name: weekend
    timeZone: Europe/Berlin
    rotation: { every: week, handoff: "Sun 09:00", users: [alice, bob], start: "2026-03-22" }
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
  - name: weekend-oncall
    steps:
      - { after: 0m, notify: ["schedule:weekend"] }
services:
  - { name: shop, escalationPolicy: shop-oncall }
  - { name: weekend, escalationPolicy: weekend-oncall }
`;

/** The incident world plus paging: the escalation cycle and the outbox sender over a recording notifier. */
export class PagingWorld extends IncidentWorld {
  readonly notifiers = new RecordingNotifiers();
  readonly outcomes: DeliveryOutcome[] = [];
  readonly escalation = new EscalationCycle({
    store: this.store,
    ids: this.ids,
    baseUrl: 'https://hindsight.example.com',
  });
  sender: OutboxSender;

  constructor(senderOptions: OutboxSenderOptions = {}) {
    super();
    this.sender = this.newSender(senderOptions);
  }

  newSender(options: OutboxSenderOptions = {}): OutboxSender {
    return new OutboxSender(
      {
        store: this.store,
        notifiers: this.notifiers,
        ids: this.ids,
        clock: this.clock,
        onOutcome: (o) => this.outcomes.push(o),
      },
      options,
    );
  }

  /** Applies the configuration as serve does at start: services and the paging directory. */
  async configure(text = SHOP_PAGING): Promise<void> {
    const result = parseConfig(text, { env: { HOOK_SECRET: 'hook-secret' } });
    if (!result.ok) throw new Error(result.problems.map(describeProblem).join('\n'));
    for (const s of result.config.services) {
      await this.store.services.save({
        name: s.name,
        grouping: s.grouping,
        integrations: [],
        rules: s.rules,
        escalationPolicy: s.escalationPolicy ?? null,
      });
    }
    await this.store.paging.save(result.config.paging, this.clock.now());
  }

  /** One escalation cycle, then one sender pass, at the current time. */
  async page(): Promise<string[]> {
    await this.escalation.run(this.clock.now());
    await this.sender.run(this.clock.now(), new AbortController().signal);
    return this.notifiers.take();
  }

  /** Moves time on by `ms` in steps of `stepMs`, paging at each, and returns everything sent. */
  async pass(ms: number, stepMs = 60_000): Promise<string[]> {
    const sent: string[] = [];
    for (let done = 0; done < ms; done += stepMs) {
      this.clock.advance(Math.min(stepMs, ms - done));
      sent.push(...(await this.page()));
    }
    return sent;
  }

  /** An incident opened directly (detection is not what these scenarios are about). */
  async openIncident(service: string, id: string): Promise<Incident> {
    const incident = openIncident({
      id,
      service,
      groupKey: service,
      title: `Deadlocks on ${service}-db`,
      summary: 'deadlocks',
      severity: 'critical',
      at: this.clock.now(),
    });
    await this.store.incidents.insert(incident);
    return incident;
  }
}
