import { readFile } from 'node:fs/promises';
import type { ClusterConfig } from '#shared/config/clusters.ts';

/** The token secret of a cluster could not be resolved. The message names the source, never a value. */
export class TokenSecretError extends Error {
  readonly clusterId: string;

  constructor(clusterId: string, message: string) {
    super(`cluster ${clusterId}: token secret ${message}`);
    this.name = 'TokenSecretError';
    this.clusterId = clusterId;
  }
}

/** Where {@link resolveTokenSecret} may look; each source is injected so tests need no real environment. */
export interface TokenSecretSources {
  /** Environment variables (entry points pass `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Reads a secret file (default: fs). Paths are absolute after `loadClustersFile`. */
  readFile?: (path: string) => Promise<string>;
  /** Fetches a Secrets Manager secret string by name or ARN (the sync's adapter provides it). */
  awsSecret?: (secretId: string) => Promise<string>;
}

/** Characters PVE accepts in a token secret (a UUID in practice); anything else would corrupt the header. */
const SECRET = /^[\x21-\x7e]{1,512}$/;

/**
 * Extracts the secret from a Secrets Manager string: either the bare secret, or JSON with a
 * `tokenSecret`, `secret` or `value` string field.
 */
function fromSecretString(raw: string): string {
  const text = raw.trim();
  if (!text.startsWith('{')) return text;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) {
      for (const key of ['tokenSecret', 'secret', 'value']) {
        const v: unknown = Reflect.get(parsed, key);
        if (typeof v === 'string') return v.trim();
      }
    }
  } catch {
    // Not JSON after all: use the raw text.
  }
  return text;
}

/**
 * Resolves a cluster's API token secret from its `tokenSecret` reference. The value goes only into
 * the client's Authorization header; errors name the env var, file or secret id but never the value.
 */
export async function resolveTokenSecret(
  cluster: ClusterConfig,
  sources: TokenSecretSources,
): Promise<string> {
  const ref = cluster.tokenSecret;
  let value: string;
  if (ref.env !== undefined) {
    const v = sources.env?.[ref.env];
    if (v === undefined || v.trim() === '')
      throw new TokenSecretError(cluster.id, `environment variable ${ref.env} is not set`);
    value = v.trim();
  } else if (ref.file !== undefined) {
    const read = sources.readFile ?? ((p: string) => readFile(p, 'utf8'));
    try {
      value = (await read(ref.file)).trim();
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
      throw new TokenSecretError(cluster.id, `file ${ref.file} cannot be read (${code})`);
    }
  } else if (ref.awsSecret !== undefined) {
    if (sources.awsSecret === undefined)
      throw new TokenSecretError(
        cluster.id,
        `needs Secrets Manager (${ref.awsSecret}) but none is configured`,
      );
    try {
      value = fromSecretString(await sources.awsSecret(ref.awsSecret));
    } catch (error) {
      const name = error instanceof Error ? error.name : 'error';
      throw new TokenSecretError(cluster.id, `secret ${ref.awsSecret} cannot be fetched (${name})`);
    }
  } else {
    throw new TokenSecretError(cluster.id, 'has no source');
  }
  if (!SECRET.test(value))
    throw new TokenSecretError(cluster.id, 'has characters that cannot be sent in a header');
  return value;
}
