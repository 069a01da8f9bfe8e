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

export interface LiveBenchResult {
  users: number;
  guests: number;
  passes: number;
  messagesPerPass: number;
  bytesPerPass: number;
  pollRequestsPerPass: number;
  pollBytesPerPass: number;
  notifyInvocationsPerPass: number;
  latencyMs: { p50: number; p99: number; n: number };
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
): Promise<{ etag: string | null; bytes: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' };
    if (etag !== null) headers['if-none-match'] = etag;
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
        resolve({ etag: typeof next === 'string' ? next : null, bytes: bytes + headerBytes });
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
    const tokens: string[] = [];
    for (let i = 0; i < options.users; i++) {
      tokens.push(await stack.issuer.issueToken(`bench-admin-${i}`, { groups: ['admins'] }));
    }
    for (const token of tokens) {
      const client = await connectLive(liveUrl, token);
      clients.push(client);
      client.send({ action: 'hello' });
      await client.waitFor((m) => m.type === 'hello');
    }
    // Count from here: every frame each client gets (its JSON text as sent).
    const counted = clients.map((c) => c.messages.length);
    const countNow = () => clients.reduce((sum, c, i) => sum + c.messages.length - (counted[i] ?? 0), 0);
    const bytesNow = () =>
      clients.reduce(
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
    let pollRequests = 0;
    const deliveriesBefore = notifyDeliveries;
    for (let pass = 0; pass < options.passes; pass++) {
      await stack.sync('quick');
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < tokens.length; i++) {
          const result = await poll(`${stack.apiUrl}/api/vms`, tokens[i] as string, etags[i] ?? null);
          etags[i] = result.etag;
          pollBytes += result.bytes;
          pollRequests += 1;
        }
      }
      await settle(countNow, 1500, 15_000);
    }
    const messages = countNow();
    const bytes = bytesNow();
    const notifyPerPass = (notifyDeliveries - deliveriesBefore) / options.passes;
    options.log(
      `live: ${messages} messages (${bytes} B) over ${options.passes} passes; polling ${pollRequests} requests (${pollBytes} B)`,
    );

    // Latency: flip one guest's status, run the quick pass, time until the first client has it.
    const simulator = stack.simulator;
    if (simulator === undefined) throw new Error('no simulator');
    const latencies: number[] = [];
    const watcher = clients[0] as LiveTestClient;
    for (let i = 0; i < options.latencySamples; i++) {
      const cluster = simulator.clusters[i % simulator.clusters.length]?.id as string;
      const guest =
        simulator.groundTruth(cluster).filter((g) => !g.template)[i] ?? simulator.groundTruth(cluster)[0];
      if (guest === undefined) throw new Error('no guest');
      const status = simulator.guest(cluster, guest.vmid)?.status === 'running' ? 'stopped' : 'running';
      simulator.setGuestStatus(cluster, guest.vmid, status);
      await stack.sync('quick');
      const written = performance.now();
      await watcher.waitFor(
        (m) =>
          m.type === 'delta' &&
          m.vms.some((vm) => vm.vmid === guest.vmid && vm.cluster_id === cluster && vm.status === status),
        30_000,
      );
      latencies.push(performance.now() - written);
    }
    return {
      users: options.users,
      guests: simulator.clusters.reduce((sum, c) => sum + simulator.groundTruth(c.id).length, 0),
      passes: options.passes,
      messagesPerPass: messages / options.passes,
      bytesPerPass: bytes / options.passes,
      pollRequestsPerPass: pollRequests / options.passes,
      pollBytesPerPass: pollBytes / options.passes,
      notifyInvocationsPerPass: notifyPerPass,
      latencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), n: latencies.length },
    };
  } finally {
    for (const client of clients) await client.close().catch(() => undefined);
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
