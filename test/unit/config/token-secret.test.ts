import { describe, expect, it } from 'vitest';
import { parseClustersFile } from '#shared/config/clusters.ts';
import { resolveTokenSecret, TokenSecretError } from '#shared/config/token-secret.ts';

const SECRET = '0b9d5a34-1c2e-4f60-8a7b-9c0d1e2f3a4b';

function cluster(tokenSecret: Record<string, string>) {
  const file = parseClustersFile(
    {
      clusters: [
        {
          id: 'lab',
          name: 'Lab',
          endpoints: [{ url: 'https://pve1.example.org:8006' }],
          tokenId: 'a@pve!tok',
          tokenSecret,
        },
      ],
    },
    'test.json',
  );
  const c = file.clusters[0];
  if (c === undefined) throw new Error('no cluster');
  return c;
}

describe('resolveTokenSecret', () => {
  it('reads an environment variable', async () => {
    await expect(
      resolveTokenSecret(cluster({ env: 'PVE_TOKEN' }), { env: { PVE_TOKEN: `${SECRET}\n` } }),
    ).resolves.toBe(SECRET);
  });

  it('reads a file, trimming the newline', async () => {
    const seen: string[] = [];
    const value = await resolveTokenSecret(cluster({ file: '/run/secrets/pve' }), {
      readFile: async (p) => {
        seen.push(p);
        return `${SECRET}\n`;
      },
    });
    expect(value).toBe(SECRET);
    expect(seen).toEqual(['/run/secrets/pve']);
  });

  it.each([SECRET, JSON.stringify({ tokenSecret: SECRET }), JSON.stringify({ secret: SECRET })])(
    'reads a Secrets Manager string %s',
    async (stored) => {
      await expect(
        resolveTokenSecret(cluster({ awsSecret: 'pve/lab' }), { awsSecret: async () => stored }),
      ).resolves.toBe(SECRET);
    },
  );

  it('names the missing source without any value', async () => {
    const error = await resolveTokenSecret(cluster({ env: 'PVE_TOKEN' }), { env: {} }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenSecretError);
    expect(String(error)).toContain('environment variable PVE_TOKEN is not set');
  });

  it('fails clearly when a file cannot be read or Secrets Manager fails', async () => {
    await expect(
      resolveTokenSecret(cluster({ file: '/nope' }), {
        readFile: async () => {
          throw Object.assign(new Error('nope'), { code: 'ENOENT' });
        },
      }),
    ).rejects.toThrow('cluster lab: token secret file /nope cannot be read (ENOENT)');
    await expect(resolveTokenSecret(cluster({ awsSecret: 'pve/lab' }), {})).rejects.toThrow(
      /needs Secrets Manager/,
    );
  });

  it('rejects a secret that cannot go into a header, without echoing it', async () => {
    const bad = 'abc\r\nX-Injected: 1';
    const error = await resolveTokenSecret(cluster({ env: 'T' }), { env: { T: bad } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TokenSecretError);
    expect(String(error)).not.toContain('X-Injected');
  });
});
