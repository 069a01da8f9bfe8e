import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchDynamo, benchDynamoOn } from '../../../bench/harness/dynamo.ts';
import { type BenchFleet, startFleet } from '../../../bench/harness/fleet.ts';
import { runDynamoScenario } from '../../../bench/measures/dynamodb-writes.ts';
import { runFleetScenario } from '../../../bench/measures/fleet-scenario.ts';
import { dynamoDbEndpoint } from '../../helpers/dynamodb.ts';

/**
 * A small run of the benchmark's sync measurements (the real sync in a child process, the simulator
 * without modelled latency, DynamoDB Local): it checks what the report is built from — counts and
 * shapes — never a time.
 */
describe('benchmark sync measurements (small fleet)', () => {
  let dynamo: BenchDynamo;
  let fleet: BenchFleet;
  let churning: BenchFleet;
  const quiet = () => {};

  beforeAll(async () => {
    dynamo = benchDynamoOn(dynamoDbEndpoint());
    fleet = await startFleet({ clusters: 2, guestsPerCluster: 20, latency: false });
    churning = await startFleet({ clusters: 2, guestsPerCluster: 20, latency: false, churnPerMinute: 1 });
  });

  afterAll(async () => {
    await fleet.stop();
    await churning.stop();
    await dynamo.stop();
  });

  it('counts one Proxmox call per cluster per quick pass, and the baseline one per running guest', async () => {
    const tables = await dynamo.createTableSet('smoke');
    const result = await runFleetScenario({
      fleet,
      dynamo,
      tables,
      quickPasses: 1,
      steadyFulls: 2,
      baselinePolls: 1,
      log: quiet,
    });
    const running = fleet.clusters.reduce(
      (n, c) => n + fleet.sim.groundTruth(c.id).filter((g) => g.status === 'running').length,
      0,
    );
    expect(result.guests).toBe(40);
    expect(result.quick.callsPerCluster).toBe(1);
    expect(result.baseline.calls).toBe(running);
    expect(result.fullCold.byClass.resources).toBe(2);
    expect(result.fullSteady.n).toBe(2);
    expect(result.fullCold.failedRuns + result.fullSteady.failedRuns + result.quick.failedRuns).toBe(0);
    expect(result.job.passes.map((p) => p.label)).toEqual([
      'full-cold',
      'quick-1',
      'full-steady-1',
      'full-steady-2',
    ]);
    expect(result.job.maxRssBytes).toBeGreaterThan(0);
  });

  it('reports the write units DynamoDB Local consumed per pass next to rewriting every item', async () => {
    const tables = await dynamo.createTableSet('smoke-writes');
    const result = await runDynamoScenario({
      fleet,
      dynamo,
      tables,
      churnPerMinute: 1,
      windowMinutes: 5,
      log: quiet,
    });
    expect(result.quickWcu.n).toBe(10);
    expect(result.fullWcu.n).toBe(1);
    expect(result.coldFullWcu).toBeGreaterThan(0);
    expect(result.rewriteAllWcu).toBeGreaterThanOrEqual(result.guests - 10);
    expect(Object.keys(result.quickWcuByTable)).toContain('SyncState');
    expect(result.quickShareOfRewrite).toBeGreaterThan(0);
  });
});
