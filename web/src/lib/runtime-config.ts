import * as z from 'zod';

/**
 * The portal's runtime configuration, fetched from `/config.json`: written by `npm start` from the
 * local stack and by the CDK app at deploy time, so one build runs against any stack.
 */
export const RuntimeConfigSchema = z.object({
  /** API base URL, without a trailing slash. */
  apiUrl: z.url().transform((url) => url.replace(/\/+$/, '')),
  /** OIDC authority (the Cognito user pool's issuer URL, or the local issuer). */
  authority: z.url(),
  clientId: z.string().min(1),
  /** The live updates' WebSocket URL (`ws://…/ws`, `wss://…/prod`); without it the VM list polls. */
  liveUrl: z.url({ protocol: /^wss?$/, error: 'liveUrl must be a ws:// or wss:// URL' }).optional(),
});
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** The config file is missing or malformed. */
export class RuntimeConfigError extends Error {
  override readonly name = 'RuntimeConfigError';
}

/** Fetches and validates `/config.json`. */
export async function loadRuntimeConfig(fetchImpl: typeof fetch = fetch): Promise<RuntimeConfig> {
  const response = await fetchImpl('/config.json', { cache: 'no-store' });
  if (!response.ok) throw new RuntimeConfigError(`/config.json answered ${response.status}`);
  const parsed = RuntimeConfigSchema.safeParse(await response.json());
  if (!parsed.success) {
    throw new RuntimeConfigError(`/config.json is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
