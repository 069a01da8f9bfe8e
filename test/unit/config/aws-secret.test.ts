import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { secretsManagerFetcher } from '#shared/config/aws-secret.ts';

const sm = mockClient(SecretsManagerClient);

describe('secretsManagerFetcher', () => {
  afterEach(() => {
    sm.reset();
  });

  it('returns the secret string of the named secret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'pve/lab-a' }).resolves({ SecretString: 'abc' });
    const fetch = secretsManagerFetcher(new SecretsManagerClient({ region: 'eu-west-1' }));
    await expect(fetch('pve/lab-a')).resolves.toBe('abc');
  });

  it('reads a binary secret as UTF-8', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new TextEncoder().encode('xyz') });
    const fetch = secretsManagerFetcher(new SecretsManagerClient({ region: 'eu-west-1' }));
    await expect(fetch('pve/lab-b')).resolves.toBe('xyz');
  });

  it('fails for a secret without a value', async () => {
    sm.on(GetSecretValueCommand).resolves({});
    const fetch = secretsManagerFetcher(new SecretsManagerClient({ region: 'eu-west-1' }));
    await expect(fetch('pve/empty')).rejects.toThrow('secret pve/empty has no value');
  });
});
