import type { EscalationTarget } from './escalation.js';
import { formatEscalationTarget } from './escalation.js';
import type { NotificationRecipient } from './notification.js';
import { onCallAt, type PagingUser } from './on-call-schedule.js';
import type { PagingDirectory } from './paging-records.js';

/** One delivery a step asks for: a channel, and who it is for. */
export interface Delivery {
  readonly channel: string;
  readonly recipient: NotificationRecipient;
}

/** A target that reached nobody, and why (for the timeline). */
export interface Unreachable {
  readonly target: string;
  readonly reason: string;
}

/**
 * The channels a user is paged through: their `contacts`, or else every email channel when they
 * have an address.
 */
export const userChannels = (user: PagingUser, directory: PagingDirectory): string[] => {
  if (user.contacts.length > 0) return [...user.contacts];
  if (user.email === null) return [];
  return directory.channels.filter((c) => c.type === 'email').map((c) => c.name);
};

/**
 * Resolves a step's targets at `now` into deliveries: a schedule to whoever is on call, a team to its
 * members, a user to their channels, a channel to itself. One person or channel reached through
 * several targets gets one delivery per channel.
 */
export const resolveDeliveries = (
  targets: readonly EscalationTarget[],
  directory: PagingDirectory,
  now: number,
): { readonly deliveries: readonly Delivery[]; readonly unreachable: readonly Unreachable[] } => {
  const deliveries = new Map<string, Delivery>();
  const unreachable: Unreachable[] = [];
  const users = new Map(directory.users.map((u) => [u.name, u]));
  const channels = new Set(directory.channels.map((c) => c.name));
  const pageUser = (name: string, target: string): void => {
    const user = users.get(name);
    if (user === undefined) {
      unreachable.push({ target, reason: `no user "${name}" in the configuration` });
      return;
    }
    const through = userChannels(user, directory).filter((c) => channels.has(c));
    if (through.length === 0) {
      unreachable.push({
        target,
        reason: `${name} has no contact channel (give them contacts: [channel] or an email and an email channel)`,
      });
      return;
    }
    for (const channel of through) {
      const key = `${channel}\u0000${name}`;
      if (!deliveries.has(key))
        deliveries.set(key, { channel, recipient: { target, user: { name, email: user.email } } });
    }
  };
  for (const t of targets) {
    const target = formatEscalationTarget(t);
    switch (t.kind) {
      case 'user':
        pageUser(t.name, target);
        break;
      case 'team': {
        const team = directory.teams.find((x) => x.name === t.name);
        if (team === undefined)
          unreachable.push({ target, reason: `no team "${t.name}" in the configuration` });
        else for (const member of team.members) pageUser(member, target);
        break;
      }
      case 'schedule': {
        const schedule = directory.schedules.find((x) => x.name === t.name);
        const shift = schedule === undefined ? null : onCallAt(schedule, now);
        if (shift === null)
          unreachable.push({ target, reason: `no schedule "${t.name}" in the configuration` });
        else if (shift.user === null)
          unreachable.push({ target, reason: `nobody is on call for ${t.name} now` });
        else pageUser(shift.user, target);
        break;
      }
      case 'channel': {
        if (!channels.has(t.name))
          unreachable.push({ target, reason: `no channel "${t.name}" in the configuration` });
        else if (!deliveries.has(`${t.name}\u0000`))
          deliveries.set(`${t.name}\u0000`, { channel: t.name, recipient: { target, user: null } });
        break;
      }
    }
  }
  return { deliveries: [...deliveries.values()], unreachable };
};
