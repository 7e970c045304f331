import { NAME_PATTERN } from '../../core/catalog.js';
import { z } from 'zod';

/** Names of services, targets, tokens: what a URL path and a label can carry safely. */
export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, 'use 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit');

export const severitySchema = z.enum(['critical', 'error', 'warning', 'info']);

export const roleSchema = z.enum(['viewer', 'responder', 'admin', 'ingest']).meta({
  description:
    'viewer reads; responder also acts on incidents; admin also manages tokens and the catalog; ingest only sends (app events, OTLP, agent pushes, deploys)',
});

/** Epoch milliseconds. */
export const epochMsSchema = z.number().int().nonnegative();

export const errorBodySchema = z.object({
  code: z
    .string()
    .meta({ description: 'Stable error code, e.g. INCIDENT_NOT_FOUND, INVALID_REQUEST, UNAUTHENTICATED.' }),
  message: z.string().meta({ description: 'What went wrong and what to do.' }),
  details: z
    .record(z.string(), z.unknown())
    .meta({ description: 'For INVALID_REQUEST: `issues`, each `{ field, message }`.' }),
});

export const limitQuerySchema = z.coerce.number().int().min(1).max(1000).optional();
