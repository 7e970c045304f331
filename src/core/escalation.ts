import type { Incident } from './incident.js';

/**
 * Escalation policies and the escalation state of one incident. A policy is ordered steps, each
 * with targets and an `after` delay counted from the start of its round (step 1 `0m`, step 2 `5m`);
 * the steps repeat `repeat` more times; an acknowledgement expires after `ackExpiresMs` and
 * escalation starts again. `stepEscalation` is the one transition function: given the state the
 * store holds, the incident as it is now, the policy and the time, it returns the next state and
 * what to do (pages, announcements, an acknowledgement to expire). It never pages one step of one
 * run twice: each page names its step `{ run, round, index }` and the state moves past it.
 */

export type EscalationTargetKind = 'user' | 'schedule' | 'team' | 'channel';

export interface EscalationTarget {
  readonly kind: EscalationTargetKind;
  readonly name: string;
}

export interface EscalationStep {
  /** Delay from the start of the round (ms); non-decreasing along the steps. */
  readonly afterMs: number;
  readonly targets: readonly EscalationTarget[];
}

export interface EscalationPolicy {
  readonly name: string;
  readonly steps: readonly EscalationStep[];
  /** How many more rounds after the first. */
  readonly repeat: number;
  /** An acknowledgement lapses after this long (ms) and escalation starts again; null: never. */
  readonly ackExpiresMs: number | null;
}

/** Which occurrence of a step: `run` counts restarts (an acknowledgement expiring), `round` the policy's repeats. */
export interface StepRef {
  readonly run: number;
  readonly round: number;
  readonly index: number;
}

/** `user:alice` → `{ kind: 'user', name: 'alice' }`; null when it is not of that form. */
export const parseEscalationTarget = (text: string): EscalationTarget | null => {
  const match = /^(user|schedule|team|channel):(.+)$/.exec(text);
  if (match === null) return null;
  return { kind: match[1] as EscalationTargetKind, name: match[2] ?? '' };
};

export const formatEscalationTarget = (target: EscalationTarget): string => `${target.kind}:${target.name}`;

/**
 * How long one round lasts: until its last step plus the gap before that step (a policy
 * `0m, 5m` repeats at 10m), at least one minute, so that repeats never page back to back.
 */
export const roundLengthMs = (policy: EscalationPolicy): number => {
  const afters = policy.steps.map((s) => s.afterMs);
  const last = afters.at(-1) ?? 0;
  const previous = afters.at(-2) ?? 0;
  return Math.max(last + (last - previous), 60_000);
};

/** When step `round`/`index` of a run that started at `startedAt` is due. */
export const stepDueAt = (
  policy: EscalationPolicy,
  startedAt: number,
  step: { round: number; index: number },
): number => startedAt + step.round * roundLengthMs(policy) + (policy.steps[step.index]?.afterMs ?? 0);

/** The step after `step`, or null when the policy is exhausted. */
export const nextStep = (policy: EscalationPolicy, step: StepRef): StepRef | null => {
  if (step.index + 1 < policy.steps.length) return { ...step, index: step.index + 1 };
  if (step.round < policy.repeat) return { run: step.run, round: step.round + 1, index: 0 };
  return null;
};

/**
 * The escalation state of an incident, as the store keeps it:
 * - `paging`: a run is under way; `next` is due at `stepDueAt(policy, startedAt, next)`;
 * - `exhausted`: every step of every round was taken and nobody acknowledged;
 * - `acknowledged`: someone took it (or mitigated it); paging waits, until `expiresAt` if set;
 * - `stopped`: resolved, closed or cancelled — nothing more is sent until it re-opens.
 */
export type EscalationState =
  | { readonly kind: 'paging'; readonly run: number; readonly startedAt: number; readonly next: StepRef }
  | { readonly kind: 'exhausted'; readonly run: number; readonly startedAt: number }
  | {
      readonly kind: 'acknowledged';
      readonly run: number;
      readonly acknowledgedAt: number;
      readonly expiresAt: number | null;
    }
  | { readonly kind: 'stopped'; readonly run: number; readonly at: number };

/** What the cycle must do for one incident. */
export type EscalationEffect =
  /** Page the step's targets. */
  | {
      readonly kind: 'page';
      readonly step: StepRef;
      readonly targets: readonly EscalationTarget[];
      readonly manual: boolean;
    }
  /** Tell the channels that want it that the incident was acknowledged or resolved. */
  | { readonly kind: 'announce'; readonly what: 'acknowledged' | 'resolved' }
  /** The acknowledgement lapsed: move the incident back to triggered (escalation restarts). */
  | { readonly kind: 'unacknowledge' }
  /** The policy ran out of steps. */
  | { readonly kind: 'exhausted'; readonly run: number };

export interface EscalationInput {
  readonly policy: EscalationPolicy;
  /** The incident as it is now. */
  readonly incident: Incident;
  readonly now: number;
  /** A person asked to escalate now (`POST …/escalate`): take the next step at once. */
  readonly escalateNow?: boolean;
}

export interface EscalationOutcome {
  readonly state: EscalationState;
  readonly effects: readonly EscalationEffect[];
}

/**
 * The state of an incident seen for the first time: paging starts at its creation — unless it was
 * opened longer ago than the whole policy lasts (paging configured for incidents already open, or
 * the engine down for long): then a run starts now, instead of every overdue step at once.
 */
export const initialEscalation = (
  incident: Incident,
  policy?: EscalationPolicy,
  now?: number,
): EscalationState => {
  const span = policy === undefined ? Number.POSITIVE_INFINITY : (policy.repeat + 1) * roundLengthMs(policy);
  const startedAt = now !== undefined && now - incident.createdAt > span ? now : incident.createdAt;
  return { kind: 'paging', run: 0, startedAt, next: { run: 0, round: 0, index: 0 } };
};

const CLOSED = new Set<Incident['state']>(['resolved', 'closed', 'cancelled']);

/**
 * The one transition function of escalation. Total over (state kind × incident state); running it
 * twice with the same inputs after applying its result yields no further effects (idempotent).
 */
export const stepEscalation = (state: EscalationState, input: EscalationInput): EscalationOutcome => {
  const { incident, policy, now } = input;
  const effects: EscalationEffect[] = [];

  if (CLOSED.has(incident.state)) {
    if (state.kind === 'stopped') return { state, effects };
    return {
      state: { kind: 'stopped', run: state.run, at: now },
      effects: [{ kind: 'announce', what: 'resolved' }],
    };
  }

  if (incident.state === 'acknowledged' || incident.state === 'mitigated') {
    const acknowledgedAt = incident.acknowledgedAt ?? incident.mitigatedAt ?? now;
    // Mitigated incidents stop paging without expiry; an acknowledgement lapses after ackExpires.
    const expiresAt =
      incident.state === 'acknowledged' && policy.ackExpiresMs !== null
        ? acknowledgedAt + policy.ackExpiresMs
        : null;
    let current: EscalationState = state;
    if (
      state.kind !== 'acknowledged' ||
      state.acknowledgedAt !== acknowledgedAt ||
      state.expiresAt !== expiresAt
    ) {
      // Announced once per acknowledgement: not again when a run started by hand while it held.
      const since =
        state.kind === 'paging' || state.kind === 'exhausted'
          ? state.startedAt
          : state.kind === 'stopped'
            ? state.at
            : Number.POSITIVE_INFINITY;
      if (state.kind !== 'acknowledged' && incident.state === 'acknowledged' && acknowledgedAt >= since) {
        effects.push({ kind: 'announce', what: 'acknowledged' });
      }
      current = { kind: 'acknowledged', run: state.run, acknowledgedAt, expiresAt };
    }
    if (input.escalateNow === true) return restart(current.run + 1, now, policy, effects, true);
    if (expiresAt !== null && now >= expiresAt) {
      effects.push({ kind: 'unacknowledge' });
      return restart(current.run + 1, now, policy, effects, false);
    }
    return { state: current, effects };
  }

  // Triggered.
  if (state.kind === 'acknowledged' || state.kind === 'stopped') {
    // Un-acknowledged or re-opened: a new run from the first step.
    return restart(state.run + 1, now, policy, effects, input.escalateNow === true);
  }
  if (state.kind === 'exhausted') {
    if (input.escalateNow !== true) return { state, effects };
    return restart(state.run + 1, now, policy, effects, true);
  }
  return advance(state, policy, now, effects, input.escalateNow === true);
};

/** A new run starting at `now`: its first step is due at once when its delay is 0 or paging was asked for. */
const restart = (
  run: number,
  now: number,
  policy: EscalationPolicy,
  effects: EscalationEffect[],
  manual: boolean,
): EscalationOutcome => {
  const state: EscalationState = { kind: 'paging', run, startedAt: now, next: { run, round: 0, index: 0 } };
  return advance(state, policy, now, effects, manual);
};

/** Takes every step that is due (or the next one at once, by hand), each exactly once. */
const advance = (
  state: Extract<EscalationState, { kind: 'paging' }>,
  policy: EscalationPolicy,
  now: number,
  effects: EscalationEffect[],
  manual: boolean,
): EscalationOutcome => {
  if (policy.steps.length === 0) {
    effects.push({ kind: 'exhausted', run: state.run });
    return { state: { kind: 'exhausted', run: state.run, startedAt: state.startedAt }, effects };
  }
  let startedAt = state.startedAt;
  let next: StepRef | null = state.next;
  let forced = manual;
  while (next !== null) {
    const due = stepDueAt(policy, startedAt, next);
    if (due > now && !forced) break;
    if (due > now) {
      // Escalated by hand: the run's clock moves so that later steps keep their delays from this one.
      startedAt -= due - now;
    }
    effects.push({
      kind: 'page',
      step: next,
      targets: policy.steps[next.index]?.targets ?? [],
      manual: forced,
    });
    forced = false;
    next = nextStep(policy, next);
  }
  if (next === null) {
    effects.push({ kind: 'exhausted', run: state.run });
    return { state: { kind: 'exhausted', run: state.run, startedAt }, effects };
  }
  return { state: { kind: 'paging', run: state.run, startedAt, next }, effects };
};

/** When the cycle should look at this incident again (null: only when something changes). */
export const escalationWakeAt = (state: EscalationState, policy: EscalationPolicy): number | null => {
  switch (state.kind) {
    case 'paging':
      return stepDueAt(policy, state.startedAt, state.next);
    case 'acknowledged':
      return state.expiresAt;
    case 'exhausted':
    case 'stopped':
      return null;
  }
};
