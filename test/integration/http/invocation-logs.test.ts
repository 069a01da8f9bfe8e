import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_DEV = '';
});

import type { LocalIssuer } from '#local/auth/issuer.ts';
import { type LocalGateway, startLocalGateway } from '#local/gateway/server.ts';
import { httpHandler } from '#shared/http/middleware.ts';
import { routeList, routes } from '#shared/http/routes.ts';
import { logger } from '#shared/observability/powertools.ts';
import { createTestIssuer, TEST_AUDIENCE } from '../../helpers/tokens.ts';

/**
 * Overlapping requests on the local gateway (one process, like concurrent async work in one
 * Lambda): each request's log lines carry its own function name, request id and username, also
 * when another request started, appended its keys and finished in between.
 */

let issuer: LocalIssuer;
let gateway: LocalGateway;
const gates = new Map<string, () => void>();
const entered = new Map<string, Promise<void>>();
const enteredResolvers = new Map<string, () => void>();

/** A handler that waits until the test opens its gate, then logs and fails. */
const gated = (route: (typeof routes)['listVms'] | (typeof routes)['listClasses']) =>
  httpHandler({
    route,
    handler: async ({ caller }) => {
      logger.info('handler started');
      enteredResolvers.get(caller.username)?.();
      await new Promise<void>((resolve) => gates.set(caller.username, resolve));
      logger.info('handler resumed');
      throw new Error(`failure of ${caller.username}`);
    },
  });

let lines: string[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer();
  gateway = await startLocalGateway({
    port: 0,
    routes: routeList,
    issuer,
    audience: TEST_AUDIENCE,
    handlers: { listVms: gated(routes.listVms), listClasses: gated(routes.listClasses) },
  });
});

afterAll(async () => {
  await gateway?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Collects the JSON log lines written to stdout and stderr (errors go to stderr). */
const captureLogs = () => {
  lines = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.trimStart().startsWith('{"level"')) {
        lines.push(...text.split('\n').filter((line) => line.trim() !== ''));
        return true;
      }
      return write(chunk, ...(rest as []));
    });
  }
};

interface LogLine {
  readonly message: string;
  readonly username?: string;
  readonly function_name?: string;
  readonly function_request_id?: string;
}

describe('per-invocation log context', () => {
  it('keeps function_name and username with their own request when requests overlap', async () => {
    captureLogs();
    for (const user of ['alice', 'bob']) {
      entered.set(user, new Promise<void>((resolve) => enteredResolvers.set(user, resolve)));
    }
    const token = (user: string) => issuer.issueToken(user, {});
    const alice = fetch(`${gateway.url}/api/vms`, {
      headers: { authorization: `Bearer ${await token('alice')}` },
    });
    await entered.get('alice');
    const bob = fetch(`${gateway.url}/api/classes`, {
      headers: { authorization: `Bearer ${await token('bob')}` },
    });
    await entered.get('bob');
    // bob started last and finishes first; alice then logs after bob's keys were set.
    gates.get('bob')?.();
    const bobResponse = await bob;
    gates.get('alice')?.();
    const aliceResponse = await alice;
    expect(aliceResponse.status).toBe(500);
    expect(bobResponse.status).toBe(500);
    const aliceId = aliceResponse.headers.get('apigw-requestid');
    const bobId = bobResponse.headers.get('apigw-requestid');

    const parsed = lines.map((line) => JSON.parse(line) as LogLine);
    const byUser = (user: string) =>
      parsed.filter((line) => line.message !== undefined && line.username === user);
    const expected = ['handler started', 'handler resumed', 'Request failed'];
    expect(byUser('alice').map((line) => line.message)).toEqual(expected);
    expect(byUser('bob').map((line) => line.message)).toEqual(expected);
    for (const line of byUser('alice')) {
      expect(line.function_name).toBe('listVms');
      expect(line.function_request_id).toBe(aliceId);
    }
    for (const line of byUser('bob')) {
      expect(line.function_name).toBe('listClasses');
      expect(line.function_request_id).toBe(bobId);
    }
    const failures = parsed.filter((line) => line.message === 'Request failed');
    expect(failures.map((line) => `${line.function_name}:${line.username}`).sort()).toEqual([
      'listClasses:bob',
      'listVms:alice',
    ]);
  });
});
