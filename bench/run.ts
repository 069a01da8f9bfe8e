/**
 * `npm run bench` entry: benchmarks and the cost model (see bench/main.ts). Flags: `--json` (the
 * JSON document only, on stdout), `--quick` (under 2 minutes: 1,000 guests, concurrency 1, fewer
 * samples), `--only=latency,proxmox,dynamodb,sync,lambda,cost`, `--save=DIR` (also write
 * report.md and report.json there).
 *
 * Everything runs on loopback: DynamoDB Local, the Proxmox simulator and the local API gateway.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// Settings read when the handler and sync modules load: keep Powertools' EMF and logs off the report (the child processes inherit them).
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_TRACE_ENABLED ??= 'false';
process.env.CDK_DISABLE_VERSION_CHECK ??= '1';

const json = process.argv.includes('--json');
// Nothing but the report may reach stdout: anything else any module prints goes to stderr.
const writeStdout = process.stdout.write.bind(process.stdout);
const writeStderr = process.stderr.write.bind(process.stderr);
// Powertools warns on every request that a handler published no metric (they are disabled here).
const NOISE = /No application metrics to publish/;
const toStderr = ((chunk: string | Uint8Array, ...rest: never[]) =>
  typeof chunk === 'string' && NOISE.test(chunk)
    ? true
    : writeStderr(chunk, ...rest)) as typeof process.stderr.write;
process.stderr.write = toStderr;
process.stdout.write = toStderr;
const log = (line: string): void => {
  writeStderr(`${line}\n`);
};

const { runBenchmark } = await import('./main.ts');
const { renderMarkdown } = await import('./lib/markdown.ts');
try {
  const { doc, report, save } = await runBenchmark(process.argv.slice(2), log);
  const jsonText = `${JSON.stringify(doc, null, 2)}\n`;
  const markdown = renderMarkdown(report);
  if (save !== null) {
    await mkdir(save, { recursive: true });
    await writeFile(join(save, 'report.json'), jsonText);
    await writeFile(join(save, 'report.md'), markdown);
    log(`report written to ${join(save, 'report.md')} and report.json`);
  }
  const text = json ? jsonText : markdown;
  await new Promise<void>((resolve) => writeStdout(text, () => resolve()));
  process.exit(doc.errors.length > 0 ? 1 : 0);
} catch (error) {
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(2);
}
