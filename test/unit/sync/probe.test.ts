import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackAddress, probeGuests, tcpProbe } from '#shared/sync/probe.ts';

let server: Server;
let openPort: number;
let closedPort: number;

async function listen(): Promise<Server> {
  const s = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return s;
}

function portOf(s: Server): number {
  const address = s.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  server = await listen();
  openPort = portOf(server);
  const closed = await listen();
  closedPort = portOf(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('tcpProbe', () => {
  it('reports an accepting port as reachable and a refusing one as not', async () => {
    expect(await tcpProbe('127.0.0.1', openPort, 1_000)).toBe(true);
    expect(await tcpProbe('127.0.0.1', closedPort, 1_000)).toBe(false);
  });
});

describe('probeGuests', () => {
  it('probes both ports of every guest with bounded concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await probeGuests(
      Array.from({ length: 20 }, (_, i) => ({ vmid: 100 + i, ip: `127.0.0.${i + 2}` })),
      {
        ports: { rdp: 1, ssh: 2 },
        concurrency: 4,
        probe: async (_host, port) => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 1));
          inFlight--;
          return port === 2;
        },
      },
    );
    expect(peak).toBeLessThanOrEqual(4);
    expect(results.size).toBe(20);
    expect(results.get(100)).toEqual({ rdp: false, ssh: true });
  });

  it('never probes an address the policy refuses', async () => {
    const probed: string[] = [];
    const results = await probeGuests([{ vmid: 100, ip: '10.0.0.5' }], {
      ports: { rdp: 1, ssh: 2 },
      allowAddress: isLoopbackAddress,
      probe: async (host) => {
        probed.push(host);
        return true;
      },
    });
    expect(probed).toEqual([]);
    expect(results.get(100)).toEqual({ rdp: false, ssh: false });
  });

  it('recognizes loopback addresses', () => {
    expect(isLoopbackAddress('127.3.2.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
  });
});
