import { NAME_PATTERN } from '../core/catalog.js';
import { z } from 'zod';
import { parseEscalationTarget, type EscalationPolicy } from '../core/escalation.js';
import type { NotificationChannel } from '../core/notification.js';
import {
  isTimeZone,
  parseHandoff,
  type PagingUser,
  type Rotation,
  type Schedule,
  type ScheduleLayer,
  type Team,
} from '../core/on-call-schedule.js';
import { duration } from './duration.js';

/**
 * The paging sections of the configuration file (issue 9): users, teams, on-call schedules,
 * channels and escalation policies, parsed into core's types. A channel's own settings are checked
 * by its notifier's schema where the notify registry is at hand (serve, `oncall`, `channel test`):
 * config/ is a leaf and does not import notify/.
 */

const name = z
  .string()
  .regex(NAME_PATTERN, 'a name is 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit');

const timeZone = z.string().refine(isTimeZone, {
  message: 'not an IANA time zone this runtime knows (e.g. Europe/Berlin, America/New_York, UTC)',
});

const instant = z.union([z.string(), z.date()]).transform((value, ctx) => {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms) || (typeof value === 'string' && !/(Z|[+-]\d{2}:?\d{2})$/.test(value.trim()))) {
    ctx.addIssue({
      code: 'custom',
      message: `"${String(value)}" is not a time with its offset; write 2026-03-29T09:00:00+02:00 or …Z`,
    });
    return z.NEVER;
  }
  return ms;
});

const user = z
  .strictObject({
    name,
    email: z.email({ error: 'not an email address' }).optional(),
    timeZone: timeZone.optional(),
    /** Channels a page to this user goes through (default: the email channels, to `email`). */
    contacts: z.array(name).default([]),
  })
  .transform((u): PagingUser => ({
    name: u.name,
    email: u.email ?? null,
    timeZone: u.timeZone ?? null,
    contacts: u.contacts,
  }));

const team = z
  .strictObject({ name, members: z.array(name).min(1, 'a team needs at least one member') })
  .transform((t): Team => t);

const rotation = z
  .strictObject({
    every: z.enum(['day', 'week'], { error: 'every is day or week' }),
    handoff: z.string(),
    users: z.array(name).min(1, 'a rotation needs at least one user'),
    /** The local date whose hand-off starts users[0]'s first shift. */
    start: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/, 'start is a local date: 2026-01-05')
      .optional(),
  })
  .transform((r, ctx): Rotation => {
    const handoff = parseHandoff(r.handoff, r.every);
    if (!handoff.ok) {
      ctx.addIssue({ code: 'custom', message: handoff.reason, path: ['handoff'] });
      return z.NEVER;
    }
    return {
      every: r.every,
      weekday: handoff.weekday,
      handoffMinute: handoff.minute,
      users: r.users,
      start: r.start ?? null,
    };
  });

const layer = z
  .strictObject({ rotation, from: instant.optional(), until: instant.optional() })
  .transform((l): ScheduleLayer => ({ rotation: l.rotation, from: l.from ?? null, until: l.until ?? null }));

const schedule = z
  .strictObject({
    name,
    timeZone,
    /** One rotation: shorthand for one layer. */
    rotation: rotation.optional(),
    layers: z.array(layer).default([]),
    overrides: z.array(z.strictObject({ user: name, from: instant, until: instant })).default([]),
  })
  .transform((s, ctx): Schedule => {
    const layers = [
      ...(s.rotation === undefined ? [] : [{ rotation: s.rotation, from: null, until: null }]),
      ...s.layers,
    ];
    if (layers.length === 0)
      ctx.addIssue({ code: 'custom', message: 'a schedule needs a rotation (or layers)', path: [] });
    s.overrides.forEach((o, i) => {
      if (o.until <= o.from)
        ctx.addIssue({
          code: 'custom',
          message: 'an override ends after it starts',
          path: ['overrides', i, 'until'],
        });
    });
    return { name: s.name, timeZone: s.timeZone, layers, overrides: s.overrides };
  });

/** `{ name, type, …settings }`: the settings are the notifier's to check. */
const channel = z
  .looseObject({ name, type: z.string().min(1, 'a channel needs a type') })
  .transform((c): NotificationChannel => {
    const { name: channelName, type, ...settings } = c;
    return { name: channelName, type, settings };
  });

const target = z.string().refine((t) => parseEscalationTarget(t) !== null, {
  message: 'a target is user:NAME, schedule:NAME, team:NAME or channel:NAME',
});

const policy = z
  .strictObject({
    name,
    steps: z
      .array(
        z.strictObject({
          after: duration,
          notify: z.array(target).min(1, 'a step notifies at least one target'),
        }),
      )
      .min(1, 'a policy needs at least one step'),
    repeat: z.number().int().min(0).max(100).default(0),
    ackExpires: duration.optional(),
  })
  .transform((p, ctx): EscalationPolicy => {
    p.steps.forEach((step, i) => {
      const previous = p.steps[i - 1];
      if (previous !== undefined && step.after < previous.after) {
        ctx.addIssue({
          code: 'custom',
          message:
            "a step's after is counted from the start of the round: it must not be less than the previous step's",
          path: ['steps', i, 'after'],
        });
      }
    });
    return {
      name: p.name,
      steps: p.steps.map((s) => ({
        afterMs: s.after,
        targets: s.notify.flatMap((t) => parseEscalationTarget(t) ?? []),
      })),
      repeat: p.repeat,
      ackExpiresMs: p.ackExpires ?? null,
    };
  });

export const pagingFields = {
  users: z.array(user).default([]),
  teams: z.array(team).default([]),
  schedules: z.array(schedule).default([]),
  channels: z.array(channel).default([]),
  escalationPolicies: z.array(policy).default([]),
};

/** Everything paging needs from the file, in core's types. */
export interface PagingConfig {
  readonly users: readonly PagingUser[];
  readonly teams: readonly Team[];
  readonly schedules: readonly Schedule[];
  /** Settings not yet checked by the channel type's notifier. */
  readonly channels: readonly NotificationChannel[];
  readonly escalationPolicies: readonly EscalationPolicy[];
}

export const EMPTY_PAGING: PagingConfig = {
  users: [],
  teams: [],
  schedules: [],
  channels: [],
  escalationPolicies: [],
};

type Loose = Readonly<Record<string, unknown>>;
type Problem = { path: (string | number)[]; message: string };
const list = (value: unknown): Loose[] =>
  Array.isArray(value) ? value.filter((v): v is Loose => typeof v === 'object' && v !== null) : [];
const names = (value: unknown): Set<string> =>
  new Set(list(value).flatMap((item) => (typeof item.name === 'string' ? [item.name] : [])));
const strings = (value: unknown): { value: string; index: number }[] =>
  Array.isArray(value)
    ? value.flatMap((v: unknown, index) => (typeof v === 'string' ? [{ value: v, index }] : []))
    : [];

/** Names across the paging sections: unique, and every reference to a declared one. Read loosely, like the main schema's. */
export function pagingReferenceProblems(config: Loose): Problem[] {
  const problems: Problem[] = [];
  for (const key of ['users', 'teams', 'schedules', 'channels', 'escalationPolicies'] as const) {
    const seen = new Set<string>();
    list(config[key]).forEach((item, index) => {
      if (typeof item.name !== 'string') return;
      if (seen.has(item.name))
        problems.push({
          path: [key, index, 'name'],
          message: `"${item.name}" is declared twice in ${key}; names must be unique`,
        });
      seen.add(item.name);
    });
  }
  const declared = {
    user: names(config.users),
    team: names(config.teams),
    schedule: names(config.schedules),
    channel: names(config.channels),
  };
  const unknown = (kind: keyof typeof declared, value: string, path: (string | number)[]): void => {
    if (declared[kind].has(value)) return;
    const known =
      declared[kind].size === 0 ? `no ${kind}s are declared` : `declared: ${[...declared[kind]].join(', ')}`;
    problems.push({ path, message: `unknown ${kind} "${value}" (${known})` });
  };
  list(config.users).forEach((u, i) => {
    for (const c of strings(u.contacts)) unknown('channel', c.value, ['users', i, 'contacts', c.index]);
  });
  list(config.teams).forEach((t, i) => {
    for (const m of strings(t.members)) unknown('user', m.value, ['teams', i, 'members', m.index]);
  });
  list(config.schedules).forEach((s, i) => {
    const rotations: { rotation: unknown; path: (string | number)[] }[] = [
      { rotation: s.rotation, path: ['schedules', i, 'rotation'] },
    ];
    list(s.layers).forEach((l, j) =>
      rotations.push({ rotation: l.rotation, path: ['schedules', i, 'layers', j, 'rotation'] }),
    );
    for (const r of rotations) {
      const rotationUsers =
        typeof r.rotation === 'object' && r.rotation !== null ? (r.rotation as Loose).users : undefined;
      for (const u of strings(rotationUsers)) unknown('user', u.value, [...r.path, 'users', u.index]);
    }
    list(s.overrides).forEach((o, j) => {
      if (typeof o.user === 'string') unknown('user', o.user, ['schedules', i, 'overrides', j, 'user']);
    });
  });
  list(config.escalationPolicies).forEach((p, i) => {
    list(p.steps).forEach((step, j) => {
      for (const t of strings(step.notify)) {
        const parsed = parseEscalationTarget(t.value);
        if (parsed !== null)
          unknown(parsed.kind, parsed.name, ['escalationPolicies', i, 'steps', j, 'notify', t.index]);
      }
    });
  });
  const policies = names(config.escalationPolicies);
  list(config.services).forEach((s, i) => {
    if (typeof s.escalationPolicy === 'string' && !policies.has(s.escalationPolicy)) {
      const known =
        policies.size === 0 ? 'no escalationPolicies are declared' : `declared: ${[...policies].join(', ')}`;
      problems.push({
        path: ['services', i, 'escalationPolicy'],
        message: `unknown escalation policy "${s.escalationPolicy}" (${known})`,
      });
    }
  });
  return problems;
}
