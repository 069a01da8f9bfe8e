import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '#local/stack/index.ts';
import type { LiveServerMessage } from '#shared/live/protocol.ts';
import { connectLive, type LiveTestClient } from '../../test/helpers/live-client.ts';

/**
 * Live updates on the local stack (DynamoDB Local's streams → the stream poller → the notify
 * handler → the gateway's WebSocket): 50 connected admins (they see every change: the upper bound
 * of messages) through a number of quick passes, against the same 50 users polling `GET /api/vms`
 * every 10 s with If-None-Match and gzip (3 polls per user per 30 s pass). Latency: a status
 * change on the simulator, the quick pass that writes it, and the time from that pass's return
 * (the write committed) to the first client holding the delta.
 */

/** One scenario's figures per quick pass (push: server → client; polling: both directions). */
export interface LiveScenarioResult {
  messagesPerPass: number;
  bytesPerPass: number;
  /** of the messages: `delta` (field changes) and `runtime` (CPU/memory-only frames) */
  deltaMessagesPerPass: number;
  runtimeMessagesPerPass: number;
  pollRequestsPerPass: number;
  /** responses (status line, headers, gzip body) */
  pollBytesPerPass: number;
  /** requests (request line, Host, Authorization, Accept-Encoding, If-None-Match) */
  pollRequestBytesPerPass: number;
  notifyInvocationsPerPass: number;
}

/** The admins' figures at the top level (worst case), the students' under `students`. */
export interface LiveBenchResult extends LiveScenarioResult {
  users: number;
  guests: number;
  passes: number;
  students: LiveScenarioResult;
  /** write → client; `misses`: samples with no delta within 10 s */
  latencyMs: { p50: number; p99: number; n: number; misses: number };
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
};

/** One conditional, gzip-accepting GET: status and the bytes on the wire (body as sent). */
function poll(
  url: string,
  token: string,
  etag: string | null,
): Promise<{ etag: string | null; bytes: number; requestBytes: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' };
    if (etag !== null) headers['if-none-match'] = etag;
    // The request on the wire: request line, Host, these headers (the bearer token is most of it).
    const parsed = new URL(url);
    const requestBytes =
      `GET ${parsed.pathname}${parsed.search} HTTP/1.1\r\nhost: ${parsed.host}\r\nconnection: keep-alive\r\n`
        .length + Object.entries(headers).reduce((sum, [k, v]) => sum + k.length + v.length + 4, 2);
    const req = request(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => {
        const next = res.headers.etag ?? etag;
        // Status line and headers count too (both sides: the WebSocket frames carry only a 2–4 byte header).
        const headerBytes = Object.entries(res.headers).reduce(
          (sum, [k, v]) => sum + k.length + String(v).length + 4,
          16,
        );
        resolve({ etag: typeof next === 'string' ? next : null, bytes: bytes + headerBytes, requestBytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const settle = async (count: () => number, quietMs: number, maxMs: number): Promise<void> => {
  const started = Date.now();
  let last = count();
  let since = Date.now();
  while (Date.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
};

export async function measureLiveUpdates(options: {
  users: number;
  passes: number;
  latencySamples: number;
  log: (line: string) => void;
}): Promise<LiveBenchResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pve-bench-live-'));
  let notifyDeliveries = 0;
  const stack = await startLocalStack({
    port: 0,
    dataDir,
    inMemory: true,
    publishState: false,
    simulator: { clusters: 5, guestsPerCluster: 200, seed: 11 },
    schedules: false,
    logLevel: 'SILENT',
    live: {
      batchWindowMs: 1000,
      pollIntervalMs: 100,
      // one delivery = one notify invocation
      onDelivered: () => {
        notifyDeliveries += 1;
      },
    },
  });
  const clients: LiveTestClient[] = [];
  try {
    await stack.sync('full');
    const liveUrl = `${stack.apiUrl.replace(/^http/, 'ws')}/ws`;
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');

    /** One scenario: `users` connected clients of a role through the passes, and the same users polling. */
    const scenario = async (role: 'student' | 'admin'): Promise<LiveScenarioResult> => {
      const tokens: string[] = [];
      for (let i = 0; i < options.users; i++) {
        const username = `bench-${role}-${i}`;
        tokens.push(await stack.issuer.issueToken(username, { groups: role === 'admin' ? ['admins'] : [] }));
      }
      const own = clients.length;
      for (const token of tokens) {
        const client = await connectLive(liveUrl, token);
        clients.push(client);
        client.send({ action: 'hello' });
        await client.waitFor((m) => m.type === 'hello');
      }
      const mine = clients.slice(own);
      // Count from here: every frame each client gets (its JSON text as sent).
      const counted = mine.map((c) => c.messages.length);
      const countNow = () => mine.reduce((sum, c, i) => sum + c.messages.length - (counted[i] ?? 0), 0);
      const bytesNow = () =>
        mine.reduce(
          (sum, c, i) =>
            sum +
            c.messages
              .slice(counted[i] ?? 0)
              .reduce((s, m: LiveServerMessage) => s + Buffer.byteLength(JSON.stringify(m)) + 4, 0),
          0,
        );

      // Polling: each user keeps its ETag; 3 polls per 30 s pass.
      const etags: (string | null)[] = tokens.map(() => null);
      for (let i = 0; i < tokens.length; i++) {
        etags[i] = (await poll(`${stack.apiUrl}/api/vms`, tokens[i] as string, null)).etag;
      }
      let pollBytes = 0;
      let pollRequestBytes = 0;
      let pollRequests = 0;
      const deliveriesBefore = notifyDeliveries;
      for (let pass = 0; pass < options.passes; pass++) {
        await stack.sync('quick');
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < tokens.length; i++) {
            const result = await poll(`${stack.apiUrl}/api/vms`, tokens[i] as string, etags[i] ?? null);
            etags[i] = result.etag;
            pollBytes += result.bytes;
            pollRequestBytes += result.requestBytes;
            pollRequests += 1;
          }
        }
        await settle(countNow, 1500, 15_000);
      }
      const messages = countNow();
      const bytes = bytesNow();
      const ofType = (type: LiveServerMessage['type']) =>
        mine.reduce(
          (sum, c, i) => sum + c.messages.slice(counted[i] ?? 0).filter((m) => m.type === type).length,
          0,
        );
      options.log(
        `live (${role}s): ${messages} messages (${ofType('delta')} delta, ${ofType('runtime')} runtime; ${bytes} B) over ${options.passes} passes; polling ${pollRequests} requests (${pollRequestBytes} B up, ${pollBytes} B down)`,
      );
      return {
        messagesPerPass: messages / options.passes,
        bytesPerPass: bytes / options.passes,
        deltaMessagesPerPass: ofType('delta') / options.passes,
        runtimeMessagesPerPass: ofType('runtime') / options.passes,
        pollRequestsPerPass: pollRequests / options.passes,
        pollBytesPerPass: pollBytes / options.passes,
        pollRequestBytesPerPass: pollRequestBytes / options.passes,
        notifyInvocationsPerPass: (notifyDeliveries - deliveriesBefore) / options.passes,
      };
    };

    // Students: each owns 3 running VMs (spread over the clusters), the realistic lab.
    const running = (
      await Promise.all(simulator.clusters.map((c) => stack.repositories.inventory.listAllClusterVms(c.id)))
    )
      .flat()
      .filter((vm) => vm.status === 'running');
    const now = Date.now();
    await stack.repositories.ownership.putAssignments(
      Array.from({ length: options.users * 3 }, (_, j) => {
        const vm = running[(j * 7) % running.length];
        if (vm === undefined) throw new Error('no running VM to assign');
        return {
          username: `bench-student-${Math.floor(j / 3)}`,
          cluster_id: vm.cluster_id,
          vmid: vm.vmid,
          source: 'admin' as const,
          created_at: now,
        };
      }),
    );
    const students = await scenario('student');
    for (const client of clients.splice(0)) await client.close().catch(() => undefined);
    const admins = await scenario('admin');

    // Latency: one VM item written straight into DynamoDB Local (its status flipped), timed from
    // just before the write to the first client holding the delta. Bounded: each sample waits at
    // most 10 s (a miss is counted, not thrown) and the phase stops after 90 s whatever the count.
    // (Timing a whole quick pass instead measured nothing useful: the delta often arrived before
    // the pass returned, and each pass over 1,000 guests took ~30 s, so 10 samples ran > 5 min.)
    const latencies: number[] = [];
    let misses = 0;
    const watcher = clients[0] as LiveTestClient;
    const phaseStarted = performance.now();
    for (let i = 0; i < options.latencySamples && performance.now() - phaseStarted < 90_000; i++) {
      const cluster = simulator.clusters[i % simulator.clusters.length]?.id as string;
      const vms = await stack.repositories.inventory.listAllClusterVms(cluster);
      const vm = vms[i] ?? vms[0];
      if (vm === undefined) throw new Error('no VM');
      const status = vm.status === 'running' ? 'stopped' : 'running';
      // Skip what arrived before (earlier passes) so only this write's delta can match.
      await watcher.waitFor(() => false, 0).catch(() => undefined);
      const written = performance.now();
      await stack.repositories.inventory.batchPut([{ ...vm, status }]);
      try {
        await watcher.waitFor(
          (m) =>
            m.type === 'delta' &&
            m.vms.some((c) => c.vmid === vm.vmid && c.cluster_id === cluster && c.status === status),
          10_000,
        );
        latencies.push(performance.now() - written);
      } catch {
        misses += 1;
      }
    }
    return {
      users: options.users,
      guests: simulator.clusters.reduce((sum, c) => sum + simulator.groundTruth(c.id).length, 0),
      passes: options.passes,
      ...admins,
      students,
      latencyMs: {
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        n: latencies.length,
        misses,
      },
    };
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
