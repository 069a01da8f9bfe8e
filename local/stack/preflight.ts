import { createServer } from 'node:net';
import { assertJavaAvailable, JavaNotFoundError } from '#local/dynamodb-local.ts';
import { ClusterConfigError, type ClustersFile, loadClustersFile } from '#shared/config/clusters.ts';
import { resolveTokenSecret, type TokenSecretSources } from '#shared/config/token-secret.ts';

/**
 * The cheap checks of `npm start`, run before DynamoDB Local starts or anything is synthesized: the
 * API port is free, Java is there when DynamoDB Local is needed, and a `--config` file is valid with
 * every token secret resolvable. Every problem is collected, not just the first.
 */

/** What {@link preflight} checks. */
export interface PreflightInput {
  /** API port; 0 (a free one) is not checked. */
  readonly port: number;
  /** Interface the API binds. @default 127.0.0.1 */
  readonly host?: string;
  /** Whether DynamoDB Local will be started (so Java is needed). */
  readonly needsJava: boolean;
  /** `--config`: a clusters.json of real clusters. */
  readonly clustersFile?: string;
  /** Where token secrets are looked up (entry points pass `process.env`). */
  readonly secrets?: TokenSecretSources;
  /** java executable. @default 'java' */
  readonly java?: string;
}

/** One or more start-up problems, each a line naming what to fix. */
export class PreflightError extends Error {
  override readonly name = 'PreflightError';

  constructor(readonly problems: readonly string[]) {
    super(
      problems.length === 1
        ? (problems[0] ?? '')
        : `${problems.length} problems:\n  ${problems.join('\n  ')}`,
    );
  }
}

/** Resolves when `port` can be bound on `host`, with a problem line otherwise. */
function checkPort(port: number, host: string): Promise<string | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(
        error.code === 'EADDRINUSE'
          ? `port ${port} is already in use: stop the other process or pass --port N`
          : `port ${port} cannot be bound on ${host} (${error.code ?? error.message})`,
      );
    });
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

function checkJava(java: string): string | null {
  try {
    assertJavaAvailable(java);
    return null;
  } catch (error) {
    if (error instanceof JavaNotFoundError) return error.message;
    throw error;
  }
}

async function checkClusters(
  path: string,
  secrets: TokenSecretSources,
): Promise<{ problems: string[]; clusters?: ClustersFile }> {
  let clusters: ClustersFile;
  try {
    clusters = await loadClustersFile(path);
  } catch (error) {
    if (error instanceof ClusterConfigError) return { problems: error.problems.map((p) => `${path}: ${p}`) };
    throw error;
  }
  const problems: string[] = [];
  for (const cluster of clusters.clusters) {
    try {
      await resolveTokenSecret(cluster, secrets);
    } catch (error) {
      problems.push(`${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { problems, clusters };
}

/** Runs every check; throws {@link PreflightError} listing all problems, or returns the parsed clusters file. */
export async function preflight(input: PreflightInput): Promise<{ clusters?: ClustersFile }> {
  const [port, java, config] = await Promise.all([
    input.port === 0 ? null : checkPort(input.port, input.host ?? '127.0.0.1'),
    input.needsJava ? checkJava(input.java ?? 'java') : null,
    input.clustersFile === undefined
      ? { problems: [] as string[], clusters: undefined }
      : checkClusters(input.clustersFile, input.secrets ?? { env: process.env }),
  ]);
  const problems = [port, java, ...config.problems].filter((p): p is string => p !== null);
  if (problems.length > 0) throw new PreflightError(problems);
  return config.clusters === undefined ? {} : { clusters: config.clusters };
}
