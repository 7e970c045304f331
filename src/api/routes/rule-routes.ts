import { z } from 'zod';
import type { AnyRoute } from '../route-registry.js';
import { defineRoute } from '../route-registry.js';

/** What the API needs to show the rules in effect. */
export interface RuleQueries {
  list(): Promise<readonly unknown[]>;
}

const ruleListSchema = z.object({ rules: z.array(z.record(z.string(), z.unknown())) });

export const ruleRoutes = (rules: RuleQueries): AnyRoute[] => [
  defineRoute({
    method: 'get',
    path: '/api/v1/rules',
    summary: 'The rules in effect: built-in defaults with the overrides of each service and target',
    tag: 'rules',
    access: 'viewer',
    responses: { 200: { description: 'The rules', schema: ruleListSchema } },
    handle: async (_input, c) => c.json({ rules: await rules.list() }),
  }),
];
