import { MissingSettingError } from '#shared/clients/dynamodb.ts';
import { type ClustersFile, loadClustersFile, parseClustersFile } from '#shared/config/clusters.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the clusters configuration from `CLUSTERS_CONFIG`: the JSON itself (as the CDK deployment
 * passes it, CA bundles inlined) or, locally, the path of a clusters file.
 */
export async function clustersFromEnv(env: Env): Promise<ClustersFile> {
  const value = env.CLUSTERS_CONFIG?.trim();
  if (!value) throw new MissingSettingError('environment variable CLUSTERS_CONFIG is not set');
  if (!value.startsWith('{')) return loadClustersFile(value);
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    throw new MissingSettingError(
      `CLUSTERS_CONFIG is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parseClustersFile(json, 'CLUSTERS_CONFIG');
}
