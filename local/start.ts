/**
 * `npm start`: the whole system on one machine (see local/stack). Prints the URLs, a token per demo
 * user and curl commands, keeps one live status line, and stops everything on Ctrl-C / SIGTERM.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { formatBanner } from '#local/stack/banner.ts';
import {
  fitToWidth,
  formatFailureReasons,
  formatStatusLine,
  type LocalStack,
  type LocalStackOptions,
  PreflightError,
  parseDuration,
  startLocalStack,
} from '#local/stack/index.ts';
import { ensurePortalBuilt } from '#local/web/build-portal.ts';
import { PVE_MAJORS } from '#simulator/index.ts';

const USAGE = `Usage: npm start -- [options]

  --config FILE          sync real Proxmox clusters from FILE (clusters.json) instead of the simulator
  --port N               API port (default 8080)
  --host ADDR            address the API listens on (default 127.0.0.1; another address exposes it
                         to the network, still behind the JWT check)
  --in-memory            keep nothing: DynamoDB Local in memory (default: data kept in .data/dynamodb)
  --data-dir DIR         data folder (default .data)
  --full-interval D      full sync period (default 5m; D like 90s, 5m)
  --quick-interval D     quick sync period (default 30s)
  --stale-after D        staleness cutoff of the API (default 10m)
  --guests N             simulator guests per cluster (default 100)
  --pve-version 8|9      Proxmox VE major version the simulator speaks (default 9)
  --demo                 with --config: seed the demo ownership and print the demo users' tokens
  --no-seed              simulator: no demo ownership, only the admin token
  --log-level LEVEL      handler log level (DEBUG, INFO, WARN, ERROR, SILENT; default ERROR)
  --verbose              print one line per API request
  -h, --help             this help`;

/** The handler log levels `--log-level` accepts (Powertools' names). */
const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'];

/** Colour on a terminal unless NO_COLOR is set (any value), plain otherwise. */
function painter(
  stream: NodeJS.WriteStream,
): (style: 'red' | 'green' | 'bold' | 'dim', text: string) => string {
  const on = stream.isTTY === true && (process.env.NO_COLOR ?? '') === '';
  const codes = { red: [31, 39], green: [32, 39], bold: [1, 22], dim: [2, 22] } as const;
  return (style, text) => (on ? `\x1b[${codes[style][0]}m${text}\x1b[${codes[style][1]}m` : text);
}

const clockOf = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function parseOptions(argv: string[]): { options: LocalStackOptions; verbose: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'in-memory': { type: 'boolean' },
      'data-dir': { type: 'string' },
      'full-interval': { type: 'string' },
      'quick-interval': { type: 'string' },
      'stale-after': { type: 'string' },
      guests: { type: 'string' },
      'pve-version': { type: 'string' },
      'no-seed': { type: 'boolean' },
      demo: { type: 'boolean' },
      'log-level': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return null;
  const logLevel = values['log-level']?.trim().toUpperCase();
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel))
    throw new UsageError(
      `--log-level: expected one of ${LOG_LEVELS.join(', ')}, got "${values['log-level']}"`,
    );
  if (values.demo && values['no-seed']) throw new UsageError('--demo and --no-seed contradict each other');
  const int = (name: string, raw: string | undefined, min: number, max: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`--${name}: expected a whole number ${min}–${max}, got "${raw}"`);
    return n;
  };
  const port = int('port', values.port, 1, 65_535);
  const guests = int('guests', values.guests, 1, 5_000);
  if (values.host !== undefined && isIP(values.host) === 0 && values.host !== 'localhost')
    throw new UsageError(`--host: expected an IP address or localhost, got "${values.host}"`);
  const pveVersion =
    values['pve-version'] === undefined
      ? undefined
      : PVE_MAJORS.find((m) => String(m) === values['pve-version']?.trim());
  if (values['pve-version'] !== undefined && pveVersion === undefined)
    throw new UsageError(`--pve-version: expected 8 or 9, got "${values['pve-version']}"`);
  const simulator = {
    ...(guests === undefined ? {} : { guestsPerCluster: guests }),
    ...(pveVersion === undefined ? {} : { pveVersion }),
  };
  const options: LocalStackOptions = {
    ...(port === undefined ? {} : { port }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.config === undefined ? {} : { clustersFile: values.config }),
    ...(values['in-memory'] ? { inMemory: true } : {}),
    ...(values['data-dir'] === undefined ? {} : { dataDir: values['data-dir'] }),
    ...(values['full-interval'] === undefined
      ? {}
      : { fullIntervalMs: parseDuration('--full-interval', values['full-interval']) }),
    ...(values['quick-interval'] === undefined
      ? {}
      : { quickIntervalMs: parseDuration('--quick-interval', values['quick-interval']) }),
    ...(values['stale-after'] === undefined
      ? {}
      : { staleAfterMs: parseDuration('--stale-after', values['stale-after']) }),
    ...(Object.keys(simulator).length === 0 ? {} : { simulator }),
    ...(values['no-seed'] ? { seed: false } : {}),
    ...(values.demo ? { seed: true } : {}),
    ...(logLevel === undefined ? {} : { logLevel }),
  };
  return { options, verbose: values.verbose === true };
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function describeProxmox(stack: LocalStack, configFile: string | undefined): string[] {
  if (stack.simulator === undefined) {
    return [
      `${stack.clusters.clusters.length} cluster(s) from ${configFile}: ${stack.clusters.clusters.map((c) => c.id).join(', ')}`,
    ];
  }
  const sim = stack.simulator;
  return sim.clusters.map(
    (c) =>
      `simulator ${c.id} (${c.name}): ${c.url}, ${c.nodes.length} nodes, ${sim.groundTruth(c.id).length} guests`,
  );
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === null) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { options, verbose } = parsed;
  const tty = process.stdout.isTTY === true;
  const paint = painter(process.stdout);
  let statusShown = false;
  // Log lines must not land in the middle of the live status line.
  const print = (line: string) => {
    if (tty && statusShown) process.stdout.write('\r\x1b[2K');
    process.stdout.write(`${line}\n`);
    statusShown = false;
  };
  const started = Date.now();
  process.stdout.write(
    'Starting DynamoDB Local, the Proxmox simulator, the sync state machines and the API…\n',
  );

  let stopping: Promise<void> | null = null;
  let stack: LocalStack | null = null;
  let stopRequestedAt = 0;
  const shutdown = (signal: string) => {
    if (stopping !== null) {
      // npm relays the terminal's Ctrl-C as another signal at once: only a later Ctrl-C means
      // "the clean stop is taking too long".
      if (Date.now() - stopRequestedAt > 2_000) process.exit(130);
      return;
    }
    stopRequestedAt = Date.now();
    print(`\n${signal}: stopping…`);
    stopping = (async () => {
      clearInterval(statusTimer);
      await stack?.stop();
      print('Stopped: DynamoDB Local, simulator, API and schedules are down.');
      // Nothing should be left, but never hang on a stray handle.
      setTimeout(() => process.exit(0), 2_000).unref();
    })();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  let statusTimer: NodeJS.Timeout | undefined;

  try {
    if (await ensurePortalBuilt())
      print(`  ${((Date.now() - started) / 1000).toFixed(1)} s  portal built (web/dist)`);
  } catch (error) {
    print(
      `  portal build failed, / will answer 503: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  try {
    stack = await startLocalStack({
      ...options,
      onProgress: (step) => print(`  ${((Date.now() - started) / 1000).toFixed(1)} s  ${step}`),
      ...(verbose ? { log: print } : { log: (line) => (line.includes('failed') ? print(line) : undefined) }),
    });
  } catch (error) {
    if (error instanceof PreflightError) {
      const fail = painter(process.stderr);
      for (const problem of error.problems) process.stderr.write(`${fail('red', 'error:')} ${problem}\n`);
      process.exitCode = 1;
      return;
    }
    const inUse = error instanceof Error && 'code' in error && error.code === 'EADDRINUSE';
    const message = inUse
      ? `port ${options.port ?? 8080} is already in use: stop the other process or pass --port N`
      : error instanceof Error
        ? error.message
        : String(error);
    process.stderr.write(`error: ${message}\n`);
    process.exitCode = 1;
    return;
  }
  if (stopping !== null) return;
  const running = stack;
  const port = new URL(running.apiUrl).port;
  const host = options.host ?? '127.0.0.1';
  const exposed = !isLoopbackHost(host);
  const dataDescription = options.inMemory
    ? `${running.dynamodbEndpoint} (in memory: nothing is kept)`
    : `${running.dynamodbEndpoint} (data kept in ${options.dataDir ?? '.data'}/dynamodb)`;

  // The tokens are usable as soon as the API listens: the first full sync reports when it is done.
  print(
    formatBanner({
      apiUrl: exposed && !['0.0.0.0', '::'].includes(host) ? running.apiUrl : `http://localhost:${port}`,
      dynamodb: dataDescription,
      proxmox: describeProxmox(running, options.clustersFile),
      fullIntervalMs: options.fullIntervalMs ?? 300_000,
      quickIntervalMs: options.quickIntervalMs ?? 30_000,
      tokens: running.tokens,
      tokenTtlSeconds: options.tokenTtlSeconds ?? 30 * 86_400,
      demo: running.demo,
    }),
  );
  if (exposed) {
    print(
      `Note: the API listens on ${host}, reachable from other machines (every route but the health check needs a token; DynamoDB Local stays on 127.0.0.1).`,
    );
  }
  print(
    `Tokens printed ${((Date.now() - started) / 1000).toFixed(1)} s after start; the first full sync is running (the API answers from the table meanwhile).`,
  );
  await running.firstSync.catch(() => {});
  if (stopping !== null) return;
  const full = running.runner.status().lastFull;
  const endedAt = Date.now();
  const after = `${((endedAt - started) / 1000).toFixed(1)} s after start`;
  print(
    full !== null && full.error === null
      ? `${paint('green', 'First full sync done')} at ${clockOf(endedAt)} UTC (${after}).`
      : `${paint('red', 'First full sync failed')} at ${clockOf(endedAt)} UTC (${after}):\n  ${full?.error ?? 'it did not run'}`,
  );

  let lastPlain = '';
  let lastReasons = '';
  let shownAlerts = 0;
  const showStatus = async () => {
    if (stopping !== null) return;
    let line: string;
    let reasons: string[] = [];
    try {
      const clusters = await running.repositories.syncState.listClusterStates();
      line = formatStatusLine({
        runner: running.runner.status(),
        clusters,
        nowMs: Date.now(),
        alerts: running.alerts,
      });
      // Each alert is also printed whole, once, on its own line.
      for (const alert of running.alerts.slice(shownAlerts)) print(paint('red', `ALERT ${alert.message}`));
      shownAlerts = running.alerts.length;
      reasons = formatFailureReasons(clusters);
    } catch (error) {
      line = `status unavailable: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (stopping !== null) return;
    // Failure reasons are printed whole on their own lines when they change, never cut.
    const reasonText = reasons.join('\n');
    if (reasonText !== lastReasons && reasons.length > 0)
      for (const reason of reasons) print(paint('red', reason));
    lastReasons = reasonText;
    if (tty) {
      const fitted = fitToWidth(line, (process.stdout.columns ?? 200) - 1);
      process.stdout.write(`\r\x1b[2K${fitted.replace(/FAILED|failing \(×\d+\)/g, (m) => paint('red', m))}`);
      statusShown = true;
    } else {
      // Without a terminal, print a line only when something other than the clock changed.
      const content = line.replace(/^\[[^\]]*\] /, '');
      if (content !== lastPlain) print(line);
      lastPlain = content;
    }
  };
  await showStatus();
  statusTimer = setInterval(() => void showStatus(), 2_000);
}

await main();
