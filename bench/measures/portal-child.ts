/**
 * Child process of the portal benchmark: runs one scenario on its own local stack (the handlers
 * read their settings once per process) and prints the result as one JSON line on stdout.
 */
import { runPortalScenario } from './portal.ts';

const [scenario, samples] = process.argv.slice(2);
if (scenario !== 'navigation' && scenario !== 'search') {
  process.stderr.write('usage: portal-child.ts navigation|search SAMPLES\n');
  process.exit(2);
}
const result = await runPortalScenario(scenario, Number(samples ?? 3));
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
