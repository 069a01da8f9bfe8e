import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * X-Ray tracer of the sync functions (active only inside Lambda with tracing enabled), in its own
 * module so that the API handlers do not load it: the X-Ray SDK it pulls in is about 110 KB of
 * every bundle, while the Lambda platform already records each API invocation's segment (Active
 * tracing) and the API handlers add no subsegment of their own.
 */
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'pve-inventory' });
