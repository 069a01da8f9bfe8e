import { describe, expect, it } from 'vitest';
import {
  dynamoItemBytes,
  historyMonthlyCost,
  type LiveInputs,
  liveCost,
  liveScheduleOf,
  monthlyCost,
  type ShapeInputs,
  scheduleOf,
  type Workload,
} from '../../../../bench/lib/cost-model.ts';

const workload: Workload = {
  clusters: 5,
  guests: 1000,
  listLoadsPerMonth: 300_000,
  quickSyncSeconds: 30,
  fullSyncMinutes: 5,
};

const design: ShapeInputs = {
  name: 'design',
  architecture: 'arm64',
  quickWorkflow: 'express',
  quickTransitionsPerExecution: 17,
  fullTransitionsPerExecution: 8,
  quickExecutionSeconds: 31,
  lambda: {
    syncMemoryMb: 1024,
    auxMemoryMb: 256,
    apiMemoryMb: 1024,
    quickMsPerCluster: 100,
    fullMsPerCluster: 1000,
    listClustersMs: 5,
    recordRunMs: 10,
    apiMsPerRequest: 50,
  },
  dynamodb: {
    quickWcuPerPass: 10,
    quickRcuPerPass: 0,
    fullWcuPerRun: 20,
    fullRcuPerRun: 0,
    apiRcuPerRequest: 0,
  },
  apiResponseBytes: 40 * 1024,
  interfaceEndpointAzs: 2,
  customMetrics: 36,
  quickSyncTraced: true,
  secrets: 5,
  secretApiCallsPerMonth: 0,
  logBytesPerInvocation: 0,
  logBytesPerTransition: 0,
};

const lineOf = (cost: ReturnType<typeof monthlyCost>, service: string, item: string) => {
  const found = cost.lines.find((l) => l.service === service && l.item.startsWith(item));
  if (found === undefined) throw new Error(`no line ${service}: ${item}`);
  return found;
};

describe('scheduleOf', () => {
  it('runs one quick execution a minute with 60/interval passes and a full sync every N minutes', () => {
    expect(scheduleOf(workload)).toEqual({
      quickExecutions: 43_200,
      quickPassesPerExecution: 2,
      quickPasses: 86_400,
      fullRuns: 8_640,
    });
  });
});

describe('monthlyCost', () => {
  const cost = monthlyCost(workload, design);

  it('prices DynamoDB write units per pass and per full run at the on-demand rate', () => {
    const writes = lineOf(cost, 'DynamoDB', 'write');
    expect(writes.quantity).toBe(86_400 * 10 + 8_640 * 20);
    expect(writes.usd).toBeCloseTo(1_036_800 * 0.625e-6, 6);
  });

  it('bills Standard transitions of the full sync after the 4,000 free ones, and Express by execution and duration', () => {
    expect(lineOf(cost, 'Step Functions', 'Standard').usd).toBeCloseTo((8_640 * 8 - 4_000) * 0.000025, 6);
    expect(lineOf(cost, 'Step Functions', 'Express executions').usd).toBeCloseTo(0.0432, 6);
    expect(lineOf(cost, 'Step Functions', 'Express duration').usd).toBeCloseTo(
      43_200 * 31 * 0.0625 * 0.00001667,
      6,
    );
  });

  it('counts Lambda requests of every function and keeps them in the free tier here', () => {
    const requests = lineOf(cost, 'Lambda', 'requests');
    // Quick: ListClusters and RecordRun per execution, SyncCluster per cluster and pass.
    expect(requests.quantity).toBe(43_200 * 2 + 86_400 * 5 + 8_640 * 7 + 300_000);
    expect(requests.usd).toBe(0);
  });

  it('meters API responses per 512 KB and bills data out beyond 100 GB', () => {
    const big = monthlyCost(workload, { ...design, apiResponseBytes: 600 * 1024 });
    expect(lineOf(big, 'API Gateway', 'HTTP API').quantity).toBe(600_000);
    const gb = (300_000 * 600 * 1024) / 1024 ** 3;
    expect(lineOf(big, 'Data transfer', 'API').usd).toBeCloseTo((gb - 100) * 0.09, 6);
    expect(lineOf(cost, 'API Gateway', 'HTTP API').quantity).toBe(300_000);
  });

  it('charges the interface endpoint per AZ-hour and custom metrics beyond the free 10', () => {
    expect(lineOf(cost, 'VPC', 'interface').usd).toBeCloseTo(14.6, 6);
    expect(lineOf(cost, 'CloudWatch', 'custom metrics').usd).toBeCloseTo(26 * 0.3, 6);
  });

  it('records X-Ray traces of the quick sync only when it is traced', () => {
    const all = 43_200 * 2 + 86_400 * 5 + 43_200 + 8_640 * 7 + 8_640 + 300_000;
    expect(lineOf(cost, 'X-Ray', 'traces').quantity).toBe(all);
    const untraced = monthlyCost(workload, { ...design, quickSyncTraced: false });
    const traces = lineOf(untraced, 'X-Ray', 'traces');
    expect(traces.quantity).toBe(8_640 * 7 + 8_640 + 300_000);
    expect(traces.usd).toBeCloseTo((traces.quantity - 100_000) * 5e-6, 9);
  });

  it('bills every quick execution as Standard transitions in the naive shape', () => {
    const naive = monthlyCost(workload, { ...design, quickWorkflow: 'standard' });
    expect(lineOf(naive, 'Step Functions', 'Standard').quantity).toBe(8_640 * 8 + 43_200 * 17);
    expect(naive.lines.some((l) => l.item.startsWith('Express'))).toBe(false);
  });

  it('totals the lines and groups them by service', () => {
    const sum = cost.lines.reduce((s, l) => s + l.usd, 0);
    expect(cost.totalUsd).toBeCloseTo(sum, 9);
    expect(Object.values(cost.byService).reduce((s, v) => s + v, 0)).toBeCloseTo(sum, 9);
  });

  it('charges x86 compute at the x86 rate', () => {
    const heavy = { ...design, lambda: { ...design.lambda, quickMsPerCluster: 10_000 } };
    const arm = lineOf(monthlyCost(workload, heavy), 'Lambda', 'compute');
    const x86 = lineOf(monthlyCost(workload, { ...heavy, architecture: 'x86_64' }), 'Lambda', 'compute');
    expect(arm.quantity).toBe(x86.quantity);
    expect(x86.usd / arm.usd).toBeGreaterThan(1.2);
  });
});

describe('live updates cost (50 connected users)', () => {
  const live: LiveInputs = {
    connectedUsers: 50,
    hoursPerDay: 8,
    daysPerMonth: 22,
    messagesPerUserPerPass: 2,
    messagesBasis: 'measured',
    messageBytes: 600,
    notifyInvocationsPerPass: 1,
    notifyBasis: 'measured',
    liveWcuPerPass: 2,
    connectionsQueryRcu: 0.5,
    lambda: { notifyMemoryMb: 512, notifyMs: 40, socketMemoryMb: 256, socketMs: 10 },
  };
  const lineOf = (cost: ReturnType<typeof liveCost>, item: string) => {
    const found = cost.lines.find((l) => l.item.startsWith(item));
    if (found === undefined) throw new Error(`no line ${item}`);
    return found;
  };

  it('counts connection minutes, connections (2 h cap) and messages over the connected hours only', () => {
    const s = liveScheduleOf(workload, live);
    expect(s.connectionMinutes).toBe(50 * 8 * 22 * 60);
    expect(s.connections).toBe(50 * 22 * 4);
    // 2 quick passes a minute while connected
    expect(s.connectedPasses).toBe(2 * 60 * 8 * 22);
    expect(s.deltaMessages).toBe(50 * 2 * 60 * 8 * 22 * 2);
    // hello per connection, 12 pings and 1 reauth per connected hour, each answered
    expect(s.controlMessages).toBe((4400 + 8800 * 13) * 2);
  });

  it('prices the WebSocket API, the functions and the connections table', () => {
    const cost = liveCost(workload, live);
    expect(lineOf(cost, 'WebSocket connection minutes').usd).toBeCloseTo(528_000 * 0.25e-6, 6);
    expect(lineOf(cost, 'WebSocket change messages (deltas and runtime frames)').quantity).toBe(2_112_000);
    expect(lineOf(cost, 'WebSocket change messages (deltas and runtime frames)').usd).toBeCloseTo(2.112, 6);
    expect(lineOf(cost, 'WebSocket change messages (deltas and runtime frames)').basis).toBe('measured');
    // notify on every quick pass of the month (86,400), the sweep every minute, socket and authorizer
    expect(lineOf(cost, 'requests').quantity).toBe(86_400 + 43_200 + (8800 + 118_800) + 4400);
    // versions and log entries every pass; put, delete per connection and a reauth update per hour
    expect(lineOf(cost, 'live table write units').quantity).toBe(86_400 * 2 + 4400 * 2 + 8800);
    expect(cost.totalUsd).toBeCloseTo(
      cost.lines.reduce((sum, l) => sum + l.usd, 0),
      9,
    );
    expect(cost.totalUsd).toBeGreaterThan(2.5);
    expect(cost.totalUsd).toBeLessThan(4);
  });

  it('meters a message over 32 KB as more than one', () => {
    const big = liveCost(workload, { ...live, messageBytes: 40 * 1024 });
    expect(lineOf(big, 'WebSocket change messages (deltas and runtime frames)').quantity).toBe(2 * 2_112_000);
  });
});

describe('historyMonthlyCost', () => {
  const units = {
    minuteWcu: 15,
    quarterWcu: 30,
    quarterRcu: 20,
    minuteItemsPerMinute: 15,
    quarterItemsPerQuarter: 15,
    minuteItemBytes: 1000,
    quarterItemBytes: 1500,
    windowMinutes: 30,
  };

  it('prices a minute of buckets every minute and a quarter of aggregates every 15 minutes', () => {
    const cost = historyMonthlyCost(units);
    expect(cost.writeUnits).toBe(15 * 43_200 + 30 * 2_880);
    expect(cost.readUnits).toBe(20 * 2_880);
    const writes = cost.lines.find((l) => l.item === 'history write request units');
    expect(writes?.usd).toBeCloseTo((15 * 43_200 + 30 * 2_880) * 0.625e-6, 9);
  });

  it('keeps 25 hours of minute items and 15 days of quarter items in storage', () => {
    const cost = historyMonthlyCost(units);
    expect(cost.storageGb * 1024 ** 3).toBeCloseTo(15 * 1_500 * 1000 + 15 * 1_440 * 1500, 3);
    expect(cost.totalUsd).toBeCloseTo(
      cost.lines.reduce((s, l) => s + l.usd, 0),
      12,
    );
  });
});

describe('dynamoItemBytes', () => {
  it("counts names, strings' UTF-8 bytes, numbers by significant digits, and 100 bytes per item", () => {
    expect(dynamoItemBytes({})).toBe(100);
    expect(dynamoItemBytes({ pk: 'abc' })).toBe(105);
    expect(dynamoItemBytes({ n: 12345 })).toBe(100 + 1 + 3 + 1);
    expect(dynamoItemBytes({ g: 'é' })).toBe(103);
  });
});
