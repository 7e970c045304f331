import { insightOf, type IncidentDetail } from './hindsight-client.js';

/** What the demo knows of its own run, to hold the incident against. */
export interface DemoFacts {
  /** Incidents of service shop opened during the run. */
  readonly incidentsOpened: number;
  /** When the fix (v2.1) went out, epoch ms; null when the run did not get that far. */
  readonly fixAt: number | null;
}

/**
 * `hindsight demo --ci`'s verdict on the final incident (the issue's "Done means"): one incident;
 * its summary names both deadlocking statements and their call sites; deploy v2 as the onset;
 * 20–40% of users affected; the database team paged on the timeline; resolved after the fix.
 * Returns what is wrong, each as a sentence; empty when all holds.
 */
export function checkDemoIncident(detail: IncidentDetail | null, facts: DemoFacts): string[] {
  if (detail === null) return ['no incident was opened: Hindsight did not detect the outage'];
  const problems: string[] = [];
  if (facts.incidentsOpened !== 1) {
    problems.push(
      `${facts.incidentsOpened} incidents were opened for service shop; expected one (app errors and deadlocks should join one incident)`,
    );
  }
  const { summary } = detail.incident;
  const names: [RegExp, string][] = [
    [
      /POST \/checkout \([^)]*checkout\.[jt]s:\d+: `UPDATE products …`\)/,
      "checkout's UPDATE products with its call site (checkout.ts:LINE)",
    ],
    [
      /job restock \([^)]*restock-job\.[jt]s:\d+: `INSERT INTO inventory …`\)/,
      "the restock job's INSERT INTO inventory with its call site (restock-job.ts:LINE)",
    ],
  ];
  for (const [pattern, what] of names) {
    if (!pattern.test(summary)) problems.push(`the summary does not name ${what}: "${summary}"`);
  }
  const insight = insightOf(detail);
  if (insight.onsetDeploy?.version !== 'v2') {
    problems.push(
      `the onset deploy is ${insight.onsetDeploy ? `"${insight.onsetDeploy.version}"` : 'missing'}; expected v2`,
    );
  }
  const share = insight.impact?.share;
  if (share === undefined || share < 0.2 || share > 0.4) {
    problems.push(
      `the impact is ${share === undefined ? 'missing' : `${Math.round(share * 100)}% of users`}; expected 20–40%`,
    );
  }
  if (!detail.timeline.some((e) => e.kind === 'escalated' && e.text.includes('team:database'))) {
    problems.push('the timeline shows no escalation to the database team (team:database)');
  }
  const { state, resolvedAt } = detail.incident;
  if (state !== 'resolved' || resolvedAt === null) problems.push(`the incident is ${state}, not resolved`);
  else if (facts.fixAt === null || resolvedAt < facts.fixAt)
    problems.push('the incident resolved before the fix deploy');
  return problems;
}
