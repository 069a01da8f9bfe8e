import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  assertJavaAvailable,
  DynamoDbLocalNotInstalledError,
  JAVA_REQUIRED_MESSAGE,
  JavaNotFoundError,
  localClientConfig,
  startDynamoDbLocal,
} from '#local/dynamodb-local.ts';
import { dynamoDbEndpoint } from '../../helpers/dynamodb.ts';

describe('DynamoDB Local harness', () => {
  it('serves the run from one loopback endpoint', async () => {
    const endpoint = dynamoDbEndpoint();
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new DynamoDBClient(localClientConfig(endpoint));
    await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
    client.destroy();
  });

  it("listens on 127.0.0.1 only, not on the machine's other interfaces", async () => {
    const port = Number(new URL(dynamoDbEndpoint()).port);
    // The kernel's table of listening sockets: the one on this port is bound to 127.0.0.1.
    expect(listeningAddresses(port)).toEqual(['127.0.0.1']);
    // And every non-loopback address of this machine refuses the connection.
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
      .map((a) => (a === undefined ? '' : a.address));
    for (const address of others) {
      await expect(tryConnect(address, port), address).resolves.toBe('ECONNREFUSED');
    }
    await expect(tryConnect('127.0.0.1', port)).resolves.toBe('connected');
  });

  it('says in one line what to install when Java is missing', () => {
    expect(() => assertJavaAvailable('/nonexistent/java')).toThrow(JavaNotFoundError);
    expect(() => assertJavaAvailable('/nonexistent/java')).toThrow(JAVA_REQUIRED_MESSAGE);
    expect(JAVA_REQUIRED_MESSAGE).not.toContain('\n');
  });

  it('says to run npm install when the jar is missing', async () => {
    await expect(startDynamoDbLocal({ installDir: '/nonexistent/dir' })).rejects.toThrow(
      DynamoDbLocalNotInstalledError,
    );
    await expect(startDynamoDbLocal({ installDir: '/nonexistent/dir' })).rejects.toThrow(/run npm install/);
  });
});

/** Local addresses of the sockets listening on `port`, from /proc/net/tcp and tcp6 (Linux). */
function listeningAddresses(port: number): string[] {
  const found: string[] = [];
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local === undefined || state !== '0A' || !local.endsWith(`:${hexPort}`)) continue;
      found.push(decodeAddress(local.slice(0, local.lastIndexOf(':'))));
    }
  }
  return found;
}

/** Decodes a /proc/net address (little-endian 32-bit words); IPv4-mapped IPv6 becomes plain IPv4. */
function decodeAddress(hex: string): string {
  const bytes = (word: string) => (word.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)).reverse();
  const words = hex.match(/.{8}/g) ?? [];
  const all = words.flatMap(bytes);
  if (all.length === 4) return all.join('.');
  const mapped = all.slice(0, 10).every((b) => b === 0) && all[10] === 0xff && all[11] === 0xff;
  if (mapped) return all.slice(12).join('.');
  if (all.every((b) => b === 0)) return '::';
  const groups: string[] = [];
  for (let i = 0; i < all.length; i += 2) groups.push(((all[i] ?? 0) * 256 + (all[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}

function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolveResult) => {
    const socket = connect({ host, port, timeout: 3_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolveResult('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolveResult('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolveResult(error.code ?? error.message));
  });
}

describe('DynamoDB Local process', () => {
  it('ends when the process that started it is killed without a chance to stop it', async () => {
    const script = [
      "const { startDynamoDbLocal } = await import('#local/dynamodb-local.ts');",
      'const local = await startDynamoDbLocal();',
      'process.stdout.write(String(local.pid) + "\\n");',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const javaPid = await new Promise<number>((resolvePid, reject) => {
      let text = '';
      child.stdout?.on('data', (data: Buffer) => {
        text += data.toString('utf8');
        if (text.includes('\n')) resolvePid(Number(text.trim()));
      });
      child.once('exit', (code) => reject(new Error(`starter exited early (${code})`)));
    });
    expect(processExists(javaPid)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 30_000;
    while (processExists(javaPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const survived = processExists(javaPid);
    if (survived) process.kill(javaPid, 'SIGKILL');
    expect(survived).toBe(false);
  });
});

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
