import { userError } from '../core/errors.js';
import {
  escalationWakeAt,
  initialEscalation,
  stepEscalation,
  type EscalationEffect,
  type EscalationPolicy,
  type EscalationState,
  type StepRef,
} from '../core/escalation.js';
import type { StoreRepositories } from '../core/incident-store.js';
import type { IncidentStore } from '../core/incident-store.js';
import type { Actor, Incident } from '../core/incident.js';
import { OPEN_STATES } from '../core/incident.js';
import type { IncidentNotification, NotifiedIncident } from '../core/notification.js';
import type {
  AcknowledgeLinks,
  EscalationRecord,
  OutboxMessage,
  PagingDirectory,
} from '../core/paging-records.js';
import { resolveDeliveries, type Delivery } from '../core/paging-recipients.js';
import type { IdSource } from '../core/ports.js';
import { applyCommand, INCIDENT_CONFLICT, INCIDENT_NOT_FOUND } from './incident-service.js';
import { timelineEntry } from './incident-recorder.js';

/** The lock every escalation change holds: replicas and the manual "escalate now" take turns on it. */
export const ESCALATION_LOCK = 'escalation';
const MAX_INCIDENTS = 1000;
const SYSTEM: Actor = 'system';

export interface EscalationCycleReport {
  /** Incidents looked at. */
  readonly incidents: number;
  /** Messages written to the outbox. */
  readonly enqueued: number;
  /** Steps taken. */
  readonly steps: number;
}

export interface EscalationCycleDeps {
  readonly store: IncidentStore;
  readonly ids: IdSource;
  /** Where the dashboard lives: a page links `${baseUrl}/incidents/ID`. */
  readonly baseUrl: string;
  /** Signed one-click acknowledge links for pages; absent: pages offer none. */
  readonly acknowledgeLinks?: AcknowledgeLinks;
}

/**
 * The escalation engine's cycle (GoAlert's model): it recomputes, from the store, what is due for
 * every open incident of a service with a policy — and for those it still escalates, whatever
 * became of them — under one advisory lock, so that replicas take turns and each step is taken
 * once. Each message goes to the outbox in the same transaction as the escalation state that took
 * the step (or saw the acknowledgement or resolution), with an idempotency key naming the step and
 * the recipient: a step re-run by a second replica inserts nothing.
 */
export class EscalationCycle {
  readonly #deps: EscalationCycleDeps;

  constructor(deps: EscalationCycleDeps) {
    this.#deps = deps;
  }

  run(now: number): Promise<EscalationCycleReport> {
    return this.#deps.store.transact(ESCALATION_LOCK, async (tx) => {
      const [directory, services, open, active] = await Promise.all([
        tx.paging.get(),
        tx.services.list(),
        tx.incidents.list({ states: OPEN_STATES, limit: MAX_INCIDENTS }),
        tx.escalations.listActive(MAX_INCIDENTS),
      ]);
      const policyOf = new Map(services.map((s) => [s.name, s.escalationPolicy]));
      const records = new Map(active.map((r) => [r.incidentId, r]));
      const incidents = new Map(open.map((i) => [i.id, i]));
      for (const record of active) {
        if (!incidents.has(record.incidentId)) {
          const incident = await tx.incidents.get(record.incidentId);
          if (incident !== null) incidents.set(incident.id, incident);
        }
      }
      let enqueued = 0;
      let steps = 0;
      for (const incident of incidents.values()) {
        let record = records.get(incident.id) ?? null;
        // A record not listed as active is stopped (or absent): an open incident re-opened meanwhile.
        if (record === null && OPEN_STATES.includes(incident.state))
          record = await tx.escalations.get(incident.id);
        const policyName = record?.policy ?? policyOf.get(incident.service) ?? null;
        if (policyName === null) continue;
        const policy = directory.escalationPolicies.find((p) => p.name === policyName);
        if (policy === undefined) continue;
        const result = await this.#step(tx, {
          incident,
          record,
          policy,
          directory,
          now,
          escalateNow: false,
          actor: SYSTEM,
        });
        enqueued += result.enqueued;
        steps += result.steps;
      }
      return { incidents: incidents.size, enqueued, steps };
    });
  }

  /**
   * "Escalate now" by hand: takes the incident's next step at once (or, acknowledged or exhausted,
   * starts a new run from the first step). 404 for an unknown incident, 409 when it is not open or
   * its service has no escalation policy.
   */
  escalateNow(
    incidentId: string,
    actor: Actor,
    now: number,
  ): Promise<{ readonly steps: number; readonly enqueued: number }> {
    return this.#deps.store.transact(ESCALATION_LOCK, async (tx) => {
      const incident = await tx.incidents.get(incidentId);
      if (incident === null)
        throw userError(
          INCIDENT_NOT_FOUND,
          `no incident ${incidentId}; list incidents with GET /api/v1/incidents`,
        );
      if (!OPEN_STATES.includes(incident.state))
        throw userError(
          INCIDENT_CONFLICT,
          `incident ${incidentId} is ${incident.state}: only an open incident can be escalated`,
        );
      const [directory, service, record] = await Promise.all([
        tx.paging.get(),
        tx.services.get(incident.service),
        tx.escalations.get(incidentId),
      ]);
      const policyName = record?.policy ?? service?.escalationPolicy ?? null;
      const policy = directory.escalationPolicies.find((p) => p.name === policyName);
      if (policy === undefined) {
        throw userError(
          INCIDENT_CONFLICT,
          `service ${incident.service} has no escalation policy: give it one (services[].escalationPolicy) to escalate its incidents`,
        );
      }
      // Catch up first, so that a step already due is not mistaken for the one asked for.
      const caught = await this.#step(tx, {
        incident,
        record,
        policy,
        directory,
        now,
        escalateNow: false,
        actor: SYSTEM,
      });
      const fresh = (await tx.incidents.get(incidentId)) ?? incident;
      const manual = await this.#step(tx, {
        incident: fresh,
        record: await tx.escalations.get(incidentId),
        policy,
        directory,
        now,
        escalateNow: true,
        actor,
      });
      return { steps: caught.steps + manual.steps, enqueued: caught.enqueued + manual.enqueued };
    });
  }

  async #step(
    tx: StoreRepositories,
    input: {
      incident: Incident;
      record: EscalationRecord | null;
      policy: EscalationPolicy;
      directory: PagingDirectory;
      now: number;
      escalateNow: boolean;
      actor: Actor;
    },
  ): Promise<{ steps: number; enqueued: number }> {
    const { incident, policy, now } = input;
    const before: EscalationState = input.record?.state ?? initialEscalation(incident, policy, now);
    const outcome = stepEscalation(before, { policy, incident, now, escalateNow: input.escalateNow });
    let enqueued = 0;
    let steps = 0;
    let current = incident;
    for (const effect of outcome.effects) {
      if (effect.kind === 'unacknowledge') {
        current = await applyCommand(tx, {
          id: incident.id,
          actor: 'system',
          command: { kind: 'unacknowledge' },
          ids: this.#deps.ids,
          now,
        });
        continue;
      }
      const written = await this.#apply(tx, {
        incident: current,
        effect,
        directory: input.directory,
        policy,
        now,
        actor: input.actor,
      });
      enqueued += written;
      if (effect.kind === 'page') steps += 1;
    }
    const record: EscalationRecord = {
      incidentId: incident.id,
      policy: policy.name,
      state: outcome.state,
      wakeAt: escalationWakeAt(outcome.state, policy),
      updatedAt: now,
    };
    if (
      input.record === null ||
      JSON.stringify(input.record.state) !== JSON.stringify(outcome.state) ||
      input.record.policy !== policy.name
    ) {
      await tx.escalations.save(record);
    }
    return { steps, enqueued };
  }

  async #apply(
    tx: StoreRepositories,
    input: {
      incident: Incident;
      effect: Exclude<EscalationEffect, { kind: 'unacknowledge' }>;
      directory: PagingDirectory;
      policy: EscalationPolicy;
      now: number;
      actor: Actor;
    },
  ): Promise<number> {
    const { incident, effect, now } = input;
    const ctx = { tx, ids: this.#deps.ids, now };
    switch (effect.kind) {
      case 'page': {
        const { deliveries, unreachable } = resolveDeliveries(effect.targets, input.directory, now);
        const first =
          effect.step.run === 0 && effect.step.round === 0 && effect.step.index === 0 && !effect.manual;
        const messages = deliveries.map((d) =>
          this.#message(incident, d, {
            kind: first ? 'triggered' : 'escalated',
            step: effect.step,
            now,
            key: stepKey(incident.id, effect.step, d),
          }),
        );
        const inserted = await tx.outbox.enqueue(messages);
        const who = deliveries.map((d) =>
          d.recipient.user === null ? d.channel : `${d.recipient.user.name} via ${d.channel}`,
        );
        const targets = effect.targets.map((t) => `${t.kind}:${t.name}`).join(', ');
        await tx.timeline.append(
          timelineEntry(ctx, {
            incidentId: incident.id,
            actor: effect.manual ? input.actor : SYSTEM,
            kind: 'escalated',
            text:
              `${effect.manual ? 'escalated by hand: ' : ''}step ${effect.step.index + 1}${effect.step.round > 0 ? ` (repeat ${effect.step.round})` : ''} of ${input.policy.name} — ${targets}: ` +
              (who.length === 0 ? 'nobody reachable' : `paging ${who.join(', ')}`) +
              (unreachable.length === 0
                ? ''
                : `; not reached: ${unreachable.map((u) => `${u.target} (${u.reason})`).join('; ')}`),
            data: {
              step: effect.step,
              policy: input.policy.name,
              deliveries: deliveries.length,
              unreachable,
            },
          }),
        );
        return inserted.length;
      }
      case 'exhausted': {
        await tx.timeline.append(
          timelineEntry(ctx, {
            incidentId: incident.id,
            actor: SYSTEM,
            kind: 'escalated',
            text: `${input.policy.name} has no more steps and nobody has acknowledged`,
            data: { exhausted: true, run: effect.run },
          }),
        );
        return 0;
      }
      case 'announce': {
        // Those paged for it hear how it ended: one message per channel and person reached before.
        const earlier = await tx.outbox.list({ incidentId: incident.id, limit: 1000 });
        const seen = new Map<string, Delivery>();
        for (const m of earlier) {
          if (m.notification.kind !== 'triggered' && m.notification.kind !== 'escalated') continue;
          if (m.notification.recipient === null) continue;
          const key = `${m.channel}\u0000${m.notification.recipient.user?.name ?? ''}`;
          if (!seen.has(key)) seen.set(key, { channel: m.channel, recipient: m.notification.recipient });
        }
        const round = earlier.filter((m) => m.notification.kind === effect.what).length;
        const messages = [...seen.values()].map((d) =>
          this.#message(incident, d, {
            kind: effect.what,
            step: null,
            now,
            key: `${incident.id}/${effect.what}/${String(incident.version)}/${String(round)}/${d.channel}/${d.recipient.user?.name ?? '-'}`,
          }),
        );
        return (await tx.outbox.enqueue(messages)).length;
      }
    }
  }

  #message(
    incident: Incident,
    delivery: Delivery,
    m: { kind: IncidentNotification['kind']; step: StepRef | null; now: number; key: string },
  ): OutboxMessage {
    const notified: NotifiedIncident = {
      id: incident.id,
      title: incident.title,
      summary: incident.summary,
      severity: incident.severity,
      service: incident.service,
      state: incident.state,
      createdAt: incident.createdAt,
      // The signed page when links are signed; else the API's record (a token reads it).
      url:
        this.#deps.acknowledgeLinks?.view(incident.id, m.now).url ??
        `${this.#deps.baseUrl.replace(/\/$/, '')}/api/v1/incidents/${encodeURIComponent(incident.id)}`,
    };
    return {
      id: this.#deps.ids.next('message'),
      idempotencyKey: m.key,
      incidentId: incident.id,
      channel: delivery.channel,
      notification: {
        kind: m.kind,
        idempotencyKey: m.key,
        at: m.now,
        recipient: delivery.recipient,
        incident: notified,
        acknowledge:
          (m.kind === 'triggered' || m.kind === 'escalated') && this.#deps.acknowledgeLinks !== undefined
            ? this.#deps.acknowledgeLinks.link(incident.id, m.now)
            : null,
        step: m.step === null ? null : { index: m.step.index, round: m.step.round },
        actor: null,
      },
      state: 'pending',
      attempts: 0,
      nextAttemptAt: m.now,
      createdAt: m.now,
      updatedAt: m.now,
      claimedAt: null,
      sentAt: null,
      lastError: null,
    };
  }
}

const stepKey = (incidentId: string, step: StepRef, d: Delivery): string =>
  `${incidentId}/step/${String(step.run)}/${String(step.round)}/${String(step.index)}/${d.channel}/${d.recipient.user?.name ?? '-'}`;
