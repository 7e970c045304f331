import { z } from 'zod';
import type { AlertRule } from '../../core/alert-rule.js';
import type { ErrorRateRule } from '../../core/error-rate-rule.js';
import type { MetricRule } from '../../core/metric-rules.js';
import type { RuleState } from '../../core/rule-state.js';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';
import { nameSchema, severitySchema } from '../schemas/common-schemas.js';

/** What the API needs to show the rules in effect (app/'s RuleQueries). */
export interface RuleQueries {
  /** The built-in rules with the configuration's top-level overrides. */
  listRules(): readonly (AlertRule | ErrorRateRule | MetricRule)[];
  /** The rules in force for a service and, when named, one of its targets. */
  effectiveRules(
    service: string | null,
    target?: string | null,
  ): Promise<readonly (AlertRule | ErrorRateRule | MetricRule)[]>;
  /** Where every rule stands for every target. */
  states(): Promise<readonly RuleState[]>;
}

const ruleStateSchema = z.object({
  key: z.string(),
  rule: z.string(),
  target: z.string(),
  service: z.string(),
  phase: z.enum(['ok', 'pending', 'firing']),
  since: z.number(),
  value: z.number(),
  alertId: z.string().nullable(),
  evaluatedAt: z.number(),
});

const ruleStateListSchema = z.object({ states: z.array(ruleStateSchema) });

const ruleSchema = z.object({
  name: z.string(),
  description: z.string(),
  unit: z.enum(['deadlocks', 'seconds', 'waiters', 'ratio', 'times baseline']),
  enabled: z.boolean(),
  threshold: z.number(),
  resolveThreshold: z.number(),
  windowMs: z.number(),
  forMs: z.number(),
  severity: severitySchema,
  baselineMs: z.number().optional().meta({
    description: 'error_rate and metric rules: how far back the baseline looks, before the window.',
  }),
  baselineFactor: z
    .number()
    .optional()
    .meta({ description: 'error_rate: the value is the ratio less this many times the baseline.' }),
  minRequests: z
    .number()
    .optional()
    .meta({ description: 'error_rate: requests in the window below which it never fires.' }),
  minVolume: z.number().optional().meta({
    description:
      'Metric rules: the volume in the window below which it never fires (transactions, active sessions, calls).',
  }),
  floor: z
    .number()
    .optional()
    .meta({ description: 'statement_latency: a mean time (ms) under which it never fires.' }),
});

const ruleListSchema = z.object({ rules: z.array(ruleSchema) });

const ruleQuerySchema = z.object({
  service: nameSchema.optional().meta({ description: "Apply this service's overrides." }),
  target: nameSchema.optional().meta({ description: "Apply this target's overrides too." }),
});

export const ruleRoutes = (rules: RuleQueries): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/rules',
    summary:
      'The rules in effect: built-in defaults with the overrides of the configuration, and of a service and target when named',
    tag: 'rules',
    access: 'viewer',
    query: ruleQuerySchema,
    responses: { 200: { description: 'The rules', schema: ruleListSchema } },
    handle: async ({ query }, c) =>
      c.json({
        rules:
          query.service === undefined && query.target === undefined
            ? rules.listRules()
            : await rules.effectiveRules(query.service ?? null, query.target ?? null),
      }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/rules/states',
    summary:
      'Where every rule stands for every target: ok, pending (over the threshold, waiting out `for`) or firing',
    tag: 'rules',
    access: 'viewer',
    responses: { 200: { description: 'The rule states', schema: ruleStateListSchema } },
    handle: async (_input, c) => c.json({ states: await rules.states() }),
  }),
];
