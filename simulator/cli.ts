import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseCli, USAGE } from '#simulator/cli-options.ts';
import { type Simulator, startSimulator } from '#simulator/index.ts';

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return;
  }
  const sim = await startSimulator(parsed.options);
  try {
    await announce(sim, parsed.writeConfig);
  } catch (err) {
    await sim.stop();
    throw err;
  }
  // State changes are applied lazily on each call; a tick keeps churn and probe listeners moving when idle.
  const tick = setInterval(() => sim.advance(0), 1000);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(tick);
    process.stdout.write(`${signal}: stopping simulator\n`);
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

async function announce(sim: Simulator, writeConfig: string | undefined): Promise<void> {
  const lines: string[] = ['Proxmox VE simulator running'];
  for (const c of sim.clusters) {
    lines.push(`  ${c.id} (${c.name})`);
    for (const e of c.endpoints) lines.push(`    ${e.node}: ${e.url}/api2/json`);
    lines.push(`    token id:    ${c.tokenId}`);
    lines.push(`    secret:      ${c.tokenSecret}`);
    lines.push(`    fingerprint: ${c.fingerprint}`);
  }
  lines.push(`  control API: ${sim.controlUrl}/_sim/  (counters, faults, ground-truth)`);
  if (writeConfig !== undefined) {
    const secretName = `${basename(writeConfig).replace(/\.json$/, '')}.secret`;
    const secretPath = join(dirname(writeConfig), secretName);
    await mkdir(dirname(writeConfig), { recursive: true });
    await writeFile(secretPath, `${sim.clusters[0]?.tokenSecret ?? ''}\n`, { mode: 0o600 });
    await writeFile(
      writeConfig,
      `${JSON.stringify(sim.clusterConfig({ secretFile: secretName }), null, 2)}\n`,
    );
    lines.push(`  wrote ${writeConfig} and ${secretPath}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
