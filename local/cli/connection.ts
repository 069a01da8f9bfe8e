import { existsSync } from 'node:fs';
import { createLocalIssuer } from '#local/auth/issuer.ts';
import { DEFAULT_DATA_DIR, dataPaths } from '#local/stack/paths.ts';
import { readStackState, type StackState } from '#local/stack/stack-state.ts';
import { identityOptionsFromEnv } from '#shared/http/identity.ts';

/**
 * Where the CLI sends its requests. By default the local stack: the API URL from the running
 * stack's state file (else http://localhost:8080) and an admin token signed with the local issuer's
 * key kept in the data folder. A deployed stack: `--api URL` (or `PVE_INVENTORY_API`) with a token
 * of a user in the admins group from `--token` (or `PVE_INVENTORY_TOKEN`).
 */

/** The username of the CLI's local admin tokens. */
export const CLI_ADMIN_USERNAME = 'pve-inventory-cli';

/** Default API of the local stack. */
export const DEFAULT_LOCAL_API = 'http://localhost:8080';

/** The CLI cannot work out where or how to connect. */
export class CliConnectionError extends Error {
  override readonly name = 'CliConnectionError';
}

/** Global options of the CLI that decide the connection. */
export interface ConnectionOptions {
  readonly api?: string;
  readonly token?: string;
  readonly dataDir?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** A resolved connection. */
export interface Connection {
  readonly apiUrl: string;
  readonly token: string;
  /** true when talking to the local stack (no --api given) */
  readonly local: boolean;
  /** the running local stack, when there is one */
  readonly stack: StackState | null;
  readonly dataDir: string;
}

/** The data folder: `--data-dir`, `PVE_INVENTORY_DATA_DIR`, else `.data/` of the project. */
export function resolveDataDir(options: Pick<ConnectionOptions, 'dataDir' | 'env'>): string {
  return options.dataDir ?? options.env.PVE_INVENTORY_DATA_DIR ?? DEFAULT_DATA_DIR;
}

/** Resolves the API URL and the token (issuing a local admin token when talking to the local stack). */
export async function resolveConnection(options: ConnectionOptions): Promise<Connection> {
  const dataDir = resolveDataDir(options);
  const paths = dataPaths(dataDir);
  const explicitApi = options.api ?? options.env.PVE_INVENTORY_API;
  const local = explicitApi === undefined;
  const stack = await readStackState(paths.stackState);
  const apiUrl = explicitApi ?? stack?.apiUrl ?? DEFAULT_LOCAL_API;
  try {
    new URL(apiUrl);
  } catch {
    throw new CliConnectionError(`--api: "${apiUrl}" is not a URL`);
  }
  const given = options.token ?? options.env.PVE_INVENTORY_TOKEN;
  if (given !== undefined && given.trim() !== '') {
    return { apiUrl, token: given.trim(), local, stack, dataDir };
  }
  if (!local) {
    throw new CliConnectionError(
      'no token for the deployed API: pass --token or set PVE_INVENTORY_TOKEN (an ID token of a user in the admins group)',
    );
  }
  if (!existsSync(paths.issuerKey)) {
    throw new CliConnectionError(
      `no local issuer key in ${dataDir}: start the local stack once (npm start), or pass --token`,
    );
  }
  const issuer = await createLocalIssuer({
    keyFile: paths.issuerKey,
    ...(stack === null ? {} : { issuerUrl: stack.issuerUrl, clientId: stack.clientId }),
  });
  const adminGroup = stack?.groups.admin ?? identityOptionsFromEnv(options.env).adminGroup;
  const token = await issuer.issueToken(CLI_ADMIN_USERNAME, { groups: [adminGroup], expiresIn: 3600 });
  return { apiUrl, token, local, stack, dataDir };
}
