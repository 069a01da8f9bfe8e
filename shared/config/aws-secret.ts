import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The `awsSecret` source of `resolveTokenSecret` (token-secret.ts): fetches a Secrets Manager secret string by
 * name or ARN with the caller's (module-scope) client. Binary secrets are read as UTF-8.
 */
export function secretsManagerFetcher(client: SecretsManagerClient): (secretId: string) => Promise<string> {
  return async (secretId) => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (out.SecretString !== undefined) return out.SecretString;
    if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary).toString('utf8');
    throw new Error(`secret ${secretId} has no value`);
  };
}
