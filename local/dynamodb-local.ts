import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  type AllTableNames,
  TABLE_DESIGNS,
  type TableDesign,
  toCreateTableInput,
} from '#shared/store/table-design.ts';

/**
 * Runs Amazon's DynamoDB Local (the jar installed in `.dynamodb-local/` by `npm install`) as a child
 * java process on a free loopback port, and creates pve-inventory's tables in it. The process is
 * killed by its PID on stop, on process exit and on SIGINT/SIGTERM: no java is left behind.
 */

/** The one line shown when Java is missing or too old. */
export const JAVA_REQUIRED_MESSAGE =
  'DynamoDB Local needs Java 11 or newer: install a JRE (e.g. apt-get install openjdk-17-jre-headless)';

export class JavaNotFoundError extends Error {
  override readonly name = 'JavaNotFoundError';
  constructor() {
    super(JAVA_REQUIRED_MESSAGE);
  }
}

export class DynamoDbLocalNotInstalledError extends Error {
  override readonly name = 'DynamoDbLocalNotInstalledError';
  constructor(dir: string) {
    super(`DynamoDB Local is not installed in ${dir}: run npm install (it fetches the jar)`);
  }
}

export class DynamoDbLocalStartError extends Error {
  override readonly name = 'DynamoDbLocalStartError';
}

export interface DynamoDbLocalOptions {
  /** port to listen on; 0 (default) picks a free one */
  port?: number;
  /** persist to this directory instead of running in memory */
  dbPath?: string;
  /** where the jar is installed (default: `.dynamodb-local/` at the project root) */
  installDir?: string;
  /** java executable (default `java` on the PATH) */
  java?: string;
  /** how long to wait until it answers (default 30 s) */
  startTimeoutMs?: number;
}

export interface DynamoDbLocal {
  /** e.g. http://127.0.0.1:8123 */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the java process (SIGTERM, then SIGKILL after 5 s) and removes its temp dir. */
  stop(): Promise<void>;
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Client options for a DynamoDB Local endpoint (any region, fake credentials). */
export function localClientConfig(endpoint: string) {
  return { endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}

/** Throws {@link JavaNotFoundError} unless `java -version` reports 11 or newer. */
export function assertJavaAvailable(java = 'java'): void {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (result.error || result.status !== 0) throw new JavaNotFoundError();
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  const major = match ? Number(match[1] === '1' ? match[2] : match[1]) : Number.NaN;
  if (!(major >= 11)) throw new JavaNotFoundError();
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kills registered children synchronously when this process goes away. */
const liveChildren = new Set<ChildProcess>();
let exitHooksInstalled = false;

function killAllChildren(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  liveChildren.clear();
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      killAllChildren();
      process.removeListener(signal, onSignal);
      // Keep the signal's default behaviour (terminate) unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Starts DynamoDB Local and resolves once it answers requests. */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const installDir = options.installDir ?? join(projectRoot, '.dynamodb-local');
  const jar = join(installDir, 'DynamoDBLocal.jar');
  const libDir = join(installDir, 'DynamoDBLocal_lib');
  if (!existsSync(jar) || !existsSync(libDir)) throw new DynamoDbLocalNotInstalledError(installDir);
  const java = options.java ?? 'java';
  assertJavaAvailable(java);

  // DynamoDB Local writes a metadata file into its working directory: give it its own.
  let tempDir: string | undefined;
  let cwd: string;
  if (options.dbPath) {
    cwd = resolve(options.dbPath);
    mkdirSync(cwd, { recursive: true });
  } else {
    tempDir = mkdtempSync(join(tmpdir(), 'pve-ddb-local-'));
    cwd = tempDir;
  }
  const storage = options.dbPath ? ['-dbPath', cwd] : ['-inMemory'];

  const attempts = options.port ? 1 : 3;
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = options.port || (await freePort());
    try {
      return await launch({
        java,
        jar,
        libDir,
        cwd,
        storage,
        port,
        tempDir,
        timeoutMs: options.startTimeoutMs ?? 30_000,
      });
    } catch (error) {
      lastError = error;
    }
  }
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  throw lastError;
}

interface LaunchInput {
  java: string;
  jar: string;
  libDir: string;
  cwd: string;
  storage: string[];
  port: number;
  tempDir: string | undefined;
  timeoutMs: number;
}

async function launch(input: LaunchInput): Promise<DynamoDbLocal> {
  const args = [
    `-Djava.library.path=${input.libDir}`,
    '-jar',
    input.jar,
    '-port',
    String(input.port),
    ...input.storage,
    '-sharedDb',
  ];
  const child = spawn(input.java, args, { cwd: input.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  installExitHooks();
  liveChildren.add(child);
  let output = '';
  const collect = (data: Buffer) => {
    output = `${output}${data.toString('utf8')}`.slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolveExit) => {
    if (child.exitCode !== null) resolveExit();
    child.once('exit', () => {
      liveChildren.delete(child);
      resolveExit();
    });
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });

  const endpoint = `http://127.0.0.1:${input.port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    liveChildren.delete(child);
    if (input.tempDir) rmSync(input.tempDir, { recursive: true, force: true });
  };

  const client = new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + input.timeoutMs;
  try {
    for (;;) {
      if (spawnError) throw new DynamoDbLocalStartError(`could not start java: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new DynamoDbLocalStartError(
          `DynamoDB Local exited (${child.exitCode ?? child.signalCode}): ${output.trim()}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(1_000) });
        break;
      } catch {
        if (Date.now() > deadline) {
          throw new DynamoDbLocalStartError(
            `DynamoDB Local did not answer on ${endpoint} within ${input.timeoutMs} ms`,
          );
        }
        await sleep(100);
      }
    }
  } catch (error) {
    // Keep the temp dir for the next attempt; only the process goes.
    const tempDir = input.tempDir;
    input.tempDir = undefined;
    await stop();
    input.tempDir = tempDir;
    throw error;
  } finally {
    client.destroy();
  }
  if (child.pid === undefined) throw new DynamoDbLocalStartError('java started without a PID');
  return { endpoint, port: input.port, pid: child.pid, stop };
}

/** Physical table names with a prefix, e.g. `pve-VmInventory`. */
export function prefixedTableNames(prefix: string): AllTableNames {
  return {
    inventory: `${prefix}VmInventory`,
    syncState: `${prefix}SyncState`,
    ownership: `${prefix}Ownership`,
    audit: `${prefix}AuditTrail`,
  };
}

function nameFor(design: TableDesign, names: AllTableNames): string {
  switch (design.id) {
    case 'VmInventory':
      return names.inventory;
    case 'SyncState':
      return names.syncState;
    case 'Ownership':
      return names.ownership;
    case 'AuditTrail':
      return names.audit;
  }
}

/**
 * Creates the tables (the audit trail included) from the single table design (skipping those that exist), with TTL
 * enabled where the design has it.
 */
export async function createTables(client: DynamoDBClient, names: AllTableNames): Promise<void> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);

  await Promise.all(
    TABLE_DESIGNS.map(async (design) => {
      const tableName = nameFor(design, names);
      if (existing.has(tableName)) return;
      await client.send(new CreateTableCommand(toCreateTableInput(design, tableName)));
      await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
      if (design.ttlAttribute) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: design.ttlAttribute, Enabled: true },
          }),
        );
      }
    }),
  );
}
