import { ageAt } from './detector-context.js';
import type { DetectorContext } from './detector-context.js';
import type { IdleInTransactionFinding, LongTransactionFinding } from './finding.js';
import type { Sample, SessionSnapshot } from './sample.js';

/**
 * Long transactions and sessions idle in a transaction, each reported once per pid and
 * transaction start. Only client backends count, and never our own monitoring sessions.
 */
export interface TransactionWatch {
  onSample(sample: Sample): (LongTransactionFinding | IdleInTransactionFinding)[];
}

const isIdleInTransaction = (session: SessionSnapshot): boolean =>
  session.state === 'idle in transaction' || session.state === 'idle in transaction (aborted)';

export const createTransactionWatch = (ctx: DetectorContext): TransactionWatch => {
  let reportedLong = new Set<string>();
  let reportedIdle = new Set<string>();
  return {
    onSample(sample) {
      const findings: (LongTransactionFinding | IdleInTransactionFinding)[] = [];
      const nextLong = new Set<string>();
      const nextIdle = new Set<string>();
      for (const session of sample.sessions) {
        if (session.backendType !== 'client backend' || session.xactStart === null) continue;
        if (session.application === ctx.ownApplication) continue;
        const key = `${session.pid}@${session.xactStart}`;
        const ageMs = ageAt(sample, session.xactStart) ?? 0;
        if (reportedLong.has(key)) nextLong.add(key);
        else if (ageMs > ctx.thresholds.longTransactionMs) {
          nextLong.add(key);
          findings.push({
            kind: 'long_transaction',
            id: ctx.ids.next('long_transaction'),
            target: ctx.target,
            at: sample.takenAt,
            pid: session.pid,
            ageMs,
            state: session.state,
            query: session.query,
            application: session.application,
            ...(session.tags === undefined ? {} : { tags: session.tags }),
          });
        }
        if (reportedIdle.has(key)) nextIdle.add(key);
        else if (isIdleInTransaction(session)) {
          const idleMs = ageAt(sample, session.stateChange) ?? 0;
          if (idleMs <= ctx.thresholds.idleInTransactionMs) continue;
          nextIdle.add(key);
          findings.push({
            kind: 'idle_in_transaction',
            id: ctx.ids.next('idle_in_transaction'),
            target: ctx.target,
            at: sample.takenAt,
            pid: session.pid,
            idleMs,
            query: session.query,
            application: session.application,
            ...(session.tags === undefined ? {} : { tags: session.tags }),
          });
        }
      }
      // Forget transactions that ended, so memory stays bounded by the live sessions.
      reportedLong = nextLong;
      reportedIdle = nextIdle;
      return findings;
    },
  };
};
