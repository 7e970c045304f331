import { z } from 'zod';
import type { Grouping, RuleOverride } from '../../core/catalog.js';
import { epochMsSchema, nameSchema, roleSchema, severitySchema } from './common-schemas.js';

const durationMs = z
  .number()
  .int()
  .positive()
  .max(7 * 24 * 3_600_000);

export const ruleOverrideSchema = z
  .object({
    enabled: z.boolean().exactOptional(),
    threshold: z.number().exactOptional(),
    resolveThreshold: z.number().exactOptional(),
    windowMs: durationMs.exactOptional(),
    forMs: z.number().int().nonnegative().exactOptional(),
    severity: severitySchema.exactOptional(),
  })
  .strict();

export const ruleOverridesSchema = z.record(z.string().min(1).max(100), ruleOverrideSchema);

export const groupingSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('window'),
    windowMs: durationMs,
    by: z.array(z.string().min(1).max(200)).max(20).default([]),
  }),
  z.object({ kind: z.literal('off') }),
]);

export const integrationInputSchema = z.object({
  type: z.enum(['alertmanager', 'pagerduty']),
  secret: z.string().min(1).max(1000).meta({
    description: 'Alertmanager: its bearer credentials; PagerDuty: the routing_key. Stored hashed.',
  }),
});

export const serviceParamsSchema = z.object({ name: nameSchema });

/** A service as PUT declares it (the same object the configuration file declares). */
export const serviceBodySchema = z.object({
  grouping: groupingSchema.exactOptional(),
  integrations: z
    .array(integrationInputSchema)
    .max(20)
    .exactOptional()
    .meta({ description: 'Left out: keep the current integrations.' }),
  rules: ruleOverridesSchema.exactOptional(),
  escalationPolicy: z.string().min(1).max(200).nullable().exactOptional(),
});

export const serviceSchema = z.object({
  name: z.string(),
  grouping: z.union([
    z.object({ kind: z.literal('window'), windowMs: z.number(), by: z.array(z.string()) }),
    z.object({ kind: z.literal('off') }),
  ]),
  integrations: z.array(z.object({ type: z.enum(['alertmanager', 'pagerduty']) })),
  rules: z.record(z.string(), ruleOverrideSchema),
  escalationPolicy: z.string().nullable(),
});

export const serviceListSchema = z.object({ services: z.array(serviceSchema) });

export const targetBodySchema = z.object({
  url: z
    .string()
    .max(2000)
    .regex(/^postgres(ql)?:\/\//, 'expected postgres://user:password@host:5432/database')
    .meta({
      description:
        'Kept only with its password redacted; the agent that watches the target holds the real URL.',
    }),
  service: nameSchema,
  log: z.string().min(1).max(4096).nullable().exactOptional(),
  rules: ruleOverridesSchema.exactOptional(),
});

export const targetHealthSchema = z.object({
  target: z.string(),
  reachable: z.boolean(),
  problem: z.string().nullable(),
  lastSampleAt: epochMsSchema.nullable(),
  agent: z.string(),
  reportedAt: epochMsSchema,
});

export const targetSchema = z.object({
  name: z.string(),
  redactedUrl: z.string(),
  service: z.string(),
  log: z.string().nullable(),
  rules: z.record(z.string(), ruleOverrideSchema),
  health: targetHealthSchema
    .nullable()
    .meta({ description: 'What its agent last reported; null before any report.' }),
});

export const targetListSchema = z.object({ targets: z.array(targetSchema) });

export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  createdAt: epochMsSchema,
});

export const tokenListSchema = z.object({ tokens: z.array(tokenSchema) });

export const tokenCreateBodySchema = z.object({ name: nameSchema, role: roleSchema });

export const tokenCreatedSchema = z.object({
  token: tokenSchema,
  secret: z.string().meta({ description: 'The bearer secret. Shown this once; only its hash is kept.' }),
});

export const tokenParamsSchema = z.object({ id: z.string().min(1).max(200) });

// The schemas must produce core's types: a change to either side fails the build here.
type Assignable<T extends U, U> = T;
export type ParsedGrouping = Assignable<z.output<typeof groupingSchema>, Grouping>;
export type ParsedRuleOverride = Assignable<z.output<typeof ruleOverrideSchema>, RuleOverride>;
