import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import * as z from 'zod';
import { apiSettingsFromEnv } from '#shared/api/settings.ts';
import { getDocumentClient, tableNamesFromEnv } from '#shared/clients/dynamodb.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';
import { createDynamoDbRepositories } from '#shared/store/dynamodb/index.ts';
import { DynamoDbLiveStore } from '#shared/store/dynamodb/live-repository.ts';
import { createManagementPoster } from './adapters/management-poster.ts';
import type { LiveSource } from './changes.ts';
import { createLiveFanout, type LiveFanout } from './fanout.ts';
import { createLiveService, type LiveService } from './service.ts';
import { type LiveTokenOptions, type VerifiedLiveToken, verifyLiveToken } from './token.ts';

/**
 * The live handlers' dependencies, wired once per process from the environment (the adapter edge).
 * Settings: `LIVE_TABLE`, `LIVE_CALLBACK_URL` (the stage's `https://…/prod`, or the local gateway),
 * `LIVE_JWT_ISSUER`, `LIVE_JWT_AUDIENCE` (comma-separated), `LIVE_JWKS_URL` (default: the issuer's
 * `/.well-known/jwks.json`), `LIVE_LOG_TTL_SECONDS` (default 3600), plus the tables, cadence and
 * identity settings the API reads.
 */

export const LIVE_ENV = {
  table: 'LIVE_TABLE',
  callbackUrl: 'LIVE_CALLBACK_URL',
  issuer: 'LIVE_JWT_ISSUER',
  audience: 'LIVE_JWT_AUDIENCE',
  jwksUrl: 'LIVE_JWKS_URL',
  logTtlSeconds: 'LIVE_LOG_TTL_SECONDS',
} as const;

/** A live setting is missing or invalid. */
export class LiveSettingError extends Error {
  override readonly name = 'LiveSettingError';
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '')
    throw new LiveSettingError(`environment variable ${name} is not set`);
  return value;
}

/** Token settings from the environment; `keys` defaults to the issuer's remote JWKS. */
export function liveTokenOptionsFromEnv(env: Env, keys?: JWTVerifyGetKey): LiveTokenOptions {
  const issuer = required(env, LIVE_ENV.issuer);
  const audience = required(env, LIVE_ENV.audience)
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
  const jwksUrl = env[LIVE_ENV.jwksUrl]?.trim() || `${issuer.replace(/\/$/, '')}/.well-known/jwks.json`;
  return {
    issuer,
    audience,
    keys: keys ?? createRemoteJWKSet(new URL(jwksUrl)),
    identity: identityOptionsFromEnv(env),
  };
}

/** Which live source a table name is, from the table environment variables. */
export function liveSourcesFromEnv(env: Env): (table: string) => LiveSource | undefined {
  const names = tableNamesFromEnv(env);
  const sources = new Map<string, LiveSource>([
    [names.inventory, 'inventory'],
    [names.syncState, 'syncState'],
    [names.ownership, 'ownership'],
  ]);
  return (table) => sources.get(table);
}

function logTtlMs(env: Env): number {
  const raw = env[LIVE_ENV.logTtlSeconds];
  if (raw === undefined) return 3_600_000;
  const parsed = z.coerce.number().int().positive().safeParse(raw.trim());
  if (!parsed.success || raw.trim() === '')
    throw new LiveSettingError(
      `${LIVE_ENV.logTtlSeconds} must be a positive whole number, got ${JSON.stringify(raw)}`,
    );
  return parsed.data * 1000;
}

/** Everything the live handlers use. */
export interface LiveWiring {
  readonly fanout: LiveFanout;
  readonly service: LiveService;
  readonly sourceOfTable: (table: string) => LiveSource | undefined;
}

/** Wires the fan-out and the WebSocket service from the environment. */
export function liveWiringFromEnv(env: Env, options: { keys?: JWTVerifyGetKey } = {}): LiveWiring {
  const documentClient = getDocumentClient();
  const repositories = createDynamoDbRepositories(documentClient, tableNamesFromEnv(env));
  const store = new DynamoDbLiveStore(documentClient, required(env, LIVE_ENV.table), {
    logTtlMs: logTtlMs(env),
  });
  const callbackUrl = required(env, LIVE_ENV.callbackUrl);
  // The local gateway (plain http on loopback) needs no real credentials; in Lambda the runtime's apply.
  const management = new ApiGatewayManagementApiClient(
    callbackUrl.startsWith('http://')
      ? {
          endpoint: callbackUrl,
          region: env.AWS_REGION ?? 'local',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : { endpoint: callbackUrl },
  );
  const poster = createManagementPoster(management);
  const readers = { inventory: repositories.inventory, syncState: repositories.syncState };
  const settings = apiSettingsFromEnv(env);
  let tokenOptions: LiveTokenOptions | undefined;
  const verify = (token: string): Promise<VerifiedLiveToken> => {
    tokenOptions ??= liveTokenOptionsFromEnv(env, options.keys);
    return verifyLiveToken(token, tokenOptions);
  };
  return {
    fanout: createLiveFanout({
      store,
      poster,
      ownership: repositories.ownership,
      readers,
      now: Date.now,
      staleAfterMs: settings.staleAfterMs,
    }),
    service: createLiveService({
      store,
      poster,
      ownership: repositories.ownership,
      readers,
      now: Date.now,
      verify,
    }),
    sourceOfTable: liveSourcesFromEnv(env),
  };
}
