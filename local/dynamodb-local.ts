import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
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
 *
 * DynamoDB Local has no option to choose its listening address (its Jetty listens on every
 * interface, without authentication). It is therefore started through a small Java launcher
 * (`dynamodb-local/LoopbackDynamoDbLocal.java`) that binds it to 127.0.0.1 before it starts and
 * exits when this process is gone, and with `-disableTelemetry` so that it never sends anything off
 * the machine. The launcher is compiled once with the runtime's own compiler module
 * (`java -m jdk.compiler/...`, no JDK needed) into `.dynamodb-local/launcher/<hash of its source>/`.
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

/** The launcher that binds DynamoDB Local to one address (see the module comment). */
export const LOOPBACK_LAUNCHER = join(
  dirname(fileURLToPath(import.meta.url)),
  'dynamodb-local',
  'LoopbackDynamoDbLocal.java',
);

/** The only address DynamoDB Local listens on. */
export const DYNAMODB_LOCAL_HOST = '127.0.0.1';

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

/** The launcher could not be compiled (e.g. a Java runtime without the jdk.compiler module). */
export class DynamoDbLocalLauncherError extends Error {
  override readonly name = 'DynamoDbLocalLauncherError';
}

function runJava(java: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (data: Buffer) => {
      output = `${output}${data.toString('utf8')}`.slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (error) => resolveRun({ code: -1, output: error.message }));
    child.once('exit', (code) => resolveRun({ code, output }));
  });
}

/**
 * Compiles the loopback launcher for this install (once per version of its source) and returns the
 * folder holding its class. Compiled into a temporary folder and renamed into place, so concurrent
 * starts never see half a class.
 */
export async function ensureLoopbackLauncher(installDir: string, java = 'java'): Promise<string> {
  const source = await readFile(LOOPBACK_LAUNCHER);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const classDir = join(installDir, 'launcher', hash);
  if (existsSync(join(classDir, 'LoopbackDynamoDbLocal.class'))) return classDir;
  await mkdir(dirname(classDir), { recursive: true });
  const temp = await mkdtemp(`${classDir}.tmp-`);
  try {
    const classPath = [join(installDir, 'DynamoDBLocal.jar'), join(installDir, 'DynamoDBLocal_lib', '*')];
    const result = await runJava(java, [
      '-m',
      'jdk.compiler/com.sun.tools.javac.Main',
      '--release',
      '11',
      '-proc:none',
      '-d',
      temp,
      '-cp',
      classPath.join(delimiter),
      LOOPBACK_LAUNCHER,
    ]);
    if (result.code !== 0) {
      throw new DynamoDbLocalLauncherError(
        `could not compile the DynamoDB Local launcher (Java's jdk.compiler module is needed): ${result.output.trim()}`,
      );
    }
    try {
      await rename(temp, classDir);
    } catch (error) {
      // Another start compiled it at the same time.
      if (!existsSync(join(classDir, 'LoopbackDynamoDbLocal.class'))) throw error;
    }
    return classDir;
  } finally {
    await rm(temp, { recursive: true, force: true });
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
  const launcherDir = await ensureLoopbackLauncher(installDir, java);

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
        launcherDir,
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
  launcherDir: string;
  cwd: string;
  storage: string[];
  port: number;
  tempDir: string | undefined;
  timeoutMs: number;
}

async function launch(input: LaunchInput): Promise<DynamoDbLocal> {
  const args = [
    `-Dpve.bindHost=${DYNAMODB_LOCAL_HOST}`,
    // The launcher exits when this process ends, however it ends (even SIGKILL).
    `-Dpve.ownerPid=${process.pid}`,
    `-Djava.library.path=${input.libDir}`,
    '-cp',
    [input.launcherDir, input.jar, join(input.libDir, '*')].join(delimiter),
    'LoopbackDynamoDbLocal',
    '-port',
    String(input.port),
    ...input.storage,
    '-sharedDb',
    '-disableTelemetry',
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

  const endpoint = `http://${DYNAMODB_LOCAL_HOST}:${input.port}`;
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
    live: `${prefix}LiveConnections`,
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
    case 'LiveConnections':
      return names.live;
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
