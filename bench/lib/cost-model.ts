import {
  EXPRESS_BILLED_GB,
  FREE_TIER,
  HOURS_PER_MONTH,
  HTTP_API_METERING_BYTES,
  MINUTES_PER_MONTH,
  PRICES,
  type UnitPrice,
  WEBSOCKET_METERING_BYTES,
} from './prices.ts';

/**
 * The monthly AWS bill of one deployment shape, from counts measured by the benchmark and the unit
 * prices in prices.ts. Pure arithmetic: every input is a number the run measured (or a stated
 * assumption), every output line says which.
 */

/** The workload: the reference fleet and its users. */
export interface Workload {
  clusters: number;
  guests: number;
  /** GET /api/vms calls a month (e.g. 50 users × 200 a day × 30 days). */
  listLoadsPerMonth: number;
  /** Quick-sync interval (s): one execution a minute runs 60/interval passes. */
  quickSyncSeconds: number;
  fullSyncMinutes: number;
}

/** Where a figure comes from. */
export type Basis = 'measured' | 'configured' | 'assumed';

/** One deployment shape (this design or the naive one) with its measured unit counts. */
export interface ShapeInputs {
  name: string;
  architecture: 'arm64' | 'x86_64';
  quickWorkflow: 'express' | 'standard';
  /** Step Functions state transitions of one quick execution (all passes) and one full execution. */
  quickTransitionsPerExecution: number;
  fullTransitionsPerExecution: number;
  /** Wall time of one quick execution (passes and waits), seconds: Express duration billing. */
  quickExecutionSeconds: number;
  lambda: {
    syncMemoryMb: number;
    auxMemoryMb: number;
    apiMemoryMb: number;
    /** Duration of one cluster's quick pass (ms). */
    quickMsPerCluster: number;
    /** Duration of one cluster's full sync (ms). */
    fullMsPerCluster: number;
    listClustersMs: number;
    recordRunMs: number;
    apiMsPerRequest: number;
  };
  dynamodb: {
    /** Write/read units of one quick pass over all clusters. */
    quickWcuPerPass: number;
    quickRcuPerPass: number;
    /** Write/read units of one full sync over all clusters. */
    fullWcuPerRun: number;
    fullRcuPerRun: number;
    apiRcuPerRequest: number;
  };
  /** Bytes of one list response as sent (gzip or not). */
  apiResponseBytes: number;
  /** Interface endpoints × AZs (Secrets Manager endpoint in the sync VPC). */
  interfaceEndpointAzs: number;
  /**
   * Whether every quick-sync execution and its task invocations are traced (`quickSyncTracing`).
   * False: X-Ray records the full sync and the API only (the sync functions trace in PassThrough).
   */
  quickSyncTraced: boolean;
  /** Custom metric series (metric names × dimension values). */
  customMetrics: number;
  secrets: number;
  /** Assumed Secrets Manager calls a month (secrets cached in the function instances). */
  secretApiCallsPerMonth: number;
  /** Assumed log bytes per Lambda invocation (platform lines + JSON logs) and per state transition (ALL logging). */
  logBytesPerInvocation: number;
  logBytesPerTransition: number;
}

/** One line of the bill. */
export interface CostLine {
  service: string;
  item: string;
  quantity: number;
  unit: string;
  free: number;
  unitUsd: number;
  usd: number;
  basis: Basis;
}

/** A shape's monthly bill. */
export interface MonthlyCost {
  name: string;
  lines: CostLine[];
  byService: Record<string, number>;
  totalUsd: number;
}

/** Monthly counts derived from the workload's schedule. */
export interface Schedule {
  quickExecutions: number;
  quickPassesPerExecution: number;
  quickPasses: number;
  fullRuns: number;
}

/** Quick sync: one execution a minute running 60/interval passes; full sync every N minutes. */
export function scheduleOf(workload: Workload): Schedule {
  const passes = Math.max(1, Math.floor(60 / workload.quickSyncSeconds));
  return {
    quickExecutions: MINUTES_PER_MONTH,
    quickPassesPerExecution: passes,
    quickPasses: MINUTES_PER_MONTH * passes,
    fullRuns: MINUTES_PER_MONTH / workload.fullSyncMinutes,
  };
}

function line(
  service: string,
  item: string,
  quantity: number,
  price: UnitPrice,
  basis: Basis,
  free = 0,
): CostLine {
  const billable = Math.max(0, quantity - free);
  return {
    service,
    item,
    quantity,
    unit: price.per,
    free,
    unitUsd: price.usd,
    usd: billable * price.usd,
    basis,
  };
}

const GIB = 1024 ** 3;

/** The monthly bill of one shape for the workload, itemized per service. */
export function monthlyCost(workload: Workload, shape: ShapeInputs): MonthlyCost {
  const s = scheduleOf(workload);
  const c = workload.clusters;
  const L = shape.lambda;
  const lines: CostLine[] = [];

  // Lambda: ListClusters and RecordRun once per execution, SyncCluster per cluster and pass.
  const quickInvocations = s.quickExecutions * 2 + s.quickPasses * c;
  const fullInvocations = s.fullRuns * (c + 2);
  const apiInvocations = workload.listLoadsPerMonth;
  const invocations = quickInvocations + fullInvocations + apiInvocations;
  const gbs = (mb: number, ms: number, count: number): number => (mb / 1024) * (ms / 1000) * count;
  const gbSeconds =
    gbs(L.syncMemoryMb, L.quickMsPerCluster, s.quickPasses * c) +
    gbs(L.syncMemoryMb, L.fullMsPerCluster, s.fullRuns * c) +
    gbs(L.auxMemoryMb, L.listClustersMs, s.quickExecutions + s.fullRuns) +
    gbs(L.auxMemoryMb, L.recordRunMs, s.quickExecutions + s.fullRuns) +
    gbs(L.apiMemoryMb, L.apiMsPerRequest, apiInvocations);
  lines.push(
    line('Lambda', 'requests', invocations, PRICES.lambdaRequest, 'measured', FREE_TIER.lambdaRequests),
  );
  lines.push(
    line(
      'Lambda',
      `compute (${shape.architecture})`,
      gbSeconds,
      shape.architecture === 'arm64' ? PRICES.lambdaGbSecondArm : PRICES.lambdaGbSecondX86,
      'measured',
      FREE_TIER.lambdaGbSeconds,
    ),
  );

  // Step Functions: the full sync is Standard; the quick sync Express (or Standard in the naive shape).
  const standardTransitions =
    s.fullRuns * shape.fullTransitionsPerExecution +
    (shape.quickWorkflow === 'standard' ? s.quickExecutions * shape.quickTransitionsPerExecution : 0);
  lines.push(
    line(
      'Step Functions',
      'Standard state transitions',
      standardTransitions,
      PRICES.sfnStandardTransition,
      'measured',
      FREE_TIER.sfnStandardTransitions,
    ),
  );
  if (shape.quickWorkflow === 'express') {
    lines.push(
      line('Step Functions', 'Express executions', s.quickExecutions, PRICES.sfnExpressRequest, 'configured'),
    );
    lines.push(
      line(
        'Step Functions',
        'Express duration (64 MB steps)',
        s.quickExecutions * shape.quickExecutionSeconds * EXPRESS_BILLED_GB,
        PRICES.sfnExpressGbSecond,
        'measured',
      ),
    );
  }

  // DynamoDB on demand.
  const D = shape.dynamodb;
  lines.push(
    line(
      'DynamoDB',
      'write request units',
      s.quickPasses * D.quickWcuPerPass + s.fullRuns * D.fullWcuPerRun,
      PRICES.dynamoWriteUnit,
      'measured',
    ),
  );
  lines.push(
    line(
      'DynamoDB',
      'read request units',
      s.quickPasses * D.quickRcuPerPass + s.fullRuns * D.fullRcuPerRun + apiInvocations * D.apiRcuPerRequest,
      PRICES.dynamoReadUnit,
      'measured',
    ),
  );

  // API Gateway HTTP API (metered per 512 KB of response) and data out.
  const metered = Math.max(1, Math.ceil(shape.apiResponseBytes / HTTP_API_METERING_BYTES));
  lines.push(
    line('API Gateway', 'HTTP API requests', apiInvocations * metered, PRICES.httpApiRequest, 'measured'),
  );
  lines.push(
    line(
      'Data transfer',
      'API responses out',
      (apiInvocations * shape.apiResponseBytes) / GIB,
      PRICES.dataTransferOutGb,
      'measured',
      FREE_TIER.dataTransferOutGb,
    ),
  );

  lines.push(
    line(
      'EventBridge Scheduler',
      'invocations',
      s.quickExecutions + s.fullRuns,
      PRICES.schedulerInvocation,
      'configured',
      FREE_TIER.schedulerInvocations,
    ),
  );
  lines.push(line('Secrets Manager', 'secrets', shape.secrets, PRICES.secretMonth, 'configured'));
  lines.push(
    line('Secrets Manager', 'API calls', shape.secretApiCallsPerMonth, PRICES.secretApiCall, 'assumed'),
  );
  lines.push(
    line(
      'VPC',
      'interface endpoint hours',
      shape.interfaceEndpointAzs * HOURS_PER_MONTH,
      PRICES.interfaceEndpointAzHour,
      'configured',
    ),
  );
  lines.push(
    line(
      'CloudWatch',
      'custom metrics',
      shape.customMetrics,
      PRICES.customMetricMonth,
      'configured',
      FREE_TIER.customMetrics,
    ),
  );
  const transitions =
    s.fullRuns * shape.fullTransitionsPerExecution + s.quickExecutions * shape.quickTransitionsPerExecution;
  const logGb = (invocations * shape.logBytesPerInvocation + transitions * shape.logBytesPerTransition) / GIB;
  lines.push(
    line('CloudWatch', 'log ingestion', logGb, PRICES.logIngestGb, 'assumed', FREE_TIER.logIngestGb),
  );
  const tracedQuick = shape.quickSyncTraced ? quickInvocations + s.quickExecutions : 0;
  lines.push(
    line(
      'X-Ray',
      shape.quickSyncTraced
        ? 'traces (every invocation and execution)'
        : 'traces (full sync and API; quick sync untraced)',
      tracedQuick + fullInvocations + s.fullRuns + apiInvocations,
      PRICES.xrayTrace,
      'assumed',
      FREE_TIER.xrayTraces,
    ),
  );

  const byService: Record<string, number> = {};
  for (const l of lines) byService[l.service] = (byService[l.service] ?? 0) + l.usd;
  const totalUsd = lines.reduce((sum, l) => sum + l.usd, 0);
  return { name: shape.name, lines, byService, totalUsd };
}

/** Live updates (WebSocket API, stream consumer, connections table) for connected users. */
export interface LiveInputs {
  /** Users with the portal open (and so a connection). */
  connectedUsers: number;
  /** Hours a day each of them is connected, and days a month. */
  hoursPerDay: number;
  daysPerMonth: number;
  /**
   * Change messages (`delta` and `runtime` frames) per connected user per quick pass (measured by
   * the live benchmark, or derived).
   */
  messagesPerUserPerPass: number;
  messagesBasis: Basis;
  /** Mean bytes of a pushed message (metered in 32 KB units). */
  messageBytes: number;
  /** Stream-consumer (notify) invocations per quick pass: one per stream batch. */
  notifyInvocationsPerPass: number;
  notifyBasis: Basis;
  /** Live table write units per quick pass (version counters and log entries). */
  liveWcuPerPass: number;
  /** Read units of the connections Query of one notify invocation (and of one sweep). */
  connectionsQueryRcu: number;
  lambda: { notifyMemoryMb: number; notifyMs: number; socketMemoryMb: number; socketMs: number };
}

/** The connection-level counts of a month, from the schedule API Gateway imposes. */
export interface LiveSchedule {
  connectionMinutes: number;
  /** Connections opened: one per user per day and one more every 2 h (API Gateway's duration cap). */
  connections: number;
  /** Quick passes while users are connected. */
  connectedPasses: number;
  deltaMessages: number;
  /** Client frames (hello, ping every 5 min, reauth every hour) and their answers. */
  controlMessages: number;
  /** Socket-function invocations: $connect, $disconnect and every client frame. */
  socketInvocations: number;
}

/** Connection minutes, connections, messages and socket invocations of a month. */
export function liveScheduleOf(workload: Workload, live: LiveInputs): LiveSchedule {
  const s = scheduleOf(workload);
  const userHours = live.connectedUsers * live.hoursPerDay * live.daysPerMonth;
  const connections = live.connectedUsers * live.daysPerMonth * Math.ceil(live.hoursPerDay / 2);
  const connectedPasses = (s.quickPasses / MINUTES_PER_MONTH) * 60 * live.hoursPerDay * live.daysPerMonth;
  const deltaMessages = live.connectedUsers * connectedPasses * live.messagesPerUserPerPass;
  // Per connection a hello and its answer; per connected hour 12 pings and 1 reauth, each answered.
  const clientFrames = connections + userHours * (12 + 1);
  return {
    connectionMinutes: userHours * 60,
    connections,
    connectedPasses,
    deltaMessages,
    controlMessages: clientFrames * 2,
    socketInvocations: connections * 2 + clientFrames,
  };
}

/**
 * The monthly bill of live updates for connected users: WebSocket connection minutes and messages,
 * the authorizer, socket, notify (every quick pass, all month: the streams carry every change) and
 * sweep (every minute) functions, and the connections table's reads and writes. DynamoDB Streams
 * reads by a Lambda event source mapping are free.
 */
export function liveCost(workload: Workload, live: LiveInputs): MonthlyCost {
  const s = scheduleOf(workload);
  const l = liveScheduleOf(workload, live);
  const lines: CostLine[] = [];
  const meteredPerMessage = Math.max(1, Math.ceil(live.messageBytes / WEBSOCKET_METERING_BYTES));
  lines.push(
    line(
      'API Gateway',
      'WebSocket connection minutes',
      l.connectionMinutes,
      PRICES.websocketConnectionMinute,
      'assumed',
    ),
    line(
      'API Gateway',
      'WebSocket change messages (deltas and runtime frames)',
      l.deltaMessages * meteredPerMessage,
      PRICES.websocketMessage,
      live.messagesBasis,
    ),
    line(
      'API Gateway',
      'WebSocket control messages (hello, ping, reauth and answers)',
      l.controlMessages,
      PRICES.websocketMessage,
      'assumed',
    ),
  );
  const notifyInvocations = s.quickPasses * live.notifyInvocationsPerPass;
  const sweepInvocations = MINUTES_PER_MONTH;
  const invocations = notifyInvocations + sweepInvocations + l.socketInvocations + l.connections;
  const L = live.lambda;
  const gbSeconds =
    (L.notifyMemoryMb / 1024) * (L.notifyMs / 1000) * notifyInvocations +
    (L.socketMemoryMb / 1024) *
      (L.socketMs / 1000) *
      (l.socketInvocations + l.connections + sweepInvocations);
  // Charged in full: the always-free Lambda allowance is already counted by the sync and API.
  lines.push(
    line(
      'Lambda',
      'requests (notify, socket, authorizer, sweep)',
      invocations,
      PRICES.lambdaRequest,
      live.notifyBasis,
    ),
    line('Lambda', 'GB-seconds (arm64)', gbSeconds, PRICES.lambdaGbSecondArm, 'assumed'),
  );
  // Writes: versions and log entries per pass; a connection put, a delete and a reauth update per hour.
  const connectionWrites = l.connections * 2 + (l.connectionMinutes / 60) * 1;
  lines.push(
    line(
      'DynamoDB',
      'live table write units',
      s.quickPasses * live.liveWcuPerPass + connectionWrites,
      PRICES.dynamoWriteUnit,
      live.notifyBasis,
    ),
    line(
      'DynamoDB',
      'live table read units (connections Query per notify and sweep; hello reads)',
      (notifyInvocations + sweepInvocations + l.connections) * live.connectionsQueryRcu,
      PRICES.dynamoReadUnit,
      'assumed',
    ),
  );
  const byService: Record<string, number> = {};
  for (const c of lines) byService[c.service] = (byService[c.service] ?? 0) + c.usd;
  return {
    name: `live updates (${live.connectedUsers} connected users)`,
    lines,
    byService,
    totalUsd: lines.reduce((sum, c) => sum + c.usd, 0),
  };
}

/** The metrics history's measured units on the reference fleet (bench/measures/history-units.ts). */
export interface HistoryUnits {
  /** write units of one minute's buckets over the fleet (one packed item per cluster) */
  minuteWcu: number;
  /** write units of one quarter hour's aggregate buckets over the fleet */
  quarterWcu: number;
  /** read units of one quarter hour's aggregation Queries over the fleet */
  quarterRcu: number;
  minuteItemsPerMinute: number;
  quarterItemsPerQuarter: number;
  /** mean stored size of an item, DynamoDB's 100-byte overhead included */
  minuteItemBytes: number;
  quarterItemBytes: number;
  /** minutes the measurement saw */
  windowMinutes: number;
}

/** The metrics history's monthly share of the bill. */
export interface HistoryCost {
  writeUnits: number;
  readUnits: number;
  /** GB kept at steady state: 25 h of minute buckets and 15 days of quarter buckets */
  storageGb: number;
  lines: CostLine[];
  totalUsd: number;
}

/**
 * The metrics history's monthly cost: a minute's buckets every minute, a quarter's aggregates
 * (and the Query they read) every 15 minutes, and the storage of the items kept until their TTL.
 * Its write and read units are part of the quick passes the main model prices (they are measured
 * with them); this breaks them out, and adds the storage the main model leaves out. History reads
 * by the API depend on how often users open the chart and are priced with the API's reads.
 */
export function historyMonthlyCost(units: HistoryUnits): HistoryCost {
  const quartersPerMonth = MINUTES_PER_MONTH / 15;
  const writeUnits = units.minuteWcu * MINUTES_PER_MONTH + units.quarterWcu * quartersPerMonth;
  const readUnits = units.quarterRcu * quartersPerMonth;
  const storageBytes =
    units.minuteItemsPerMinute * 25 * 60 * units.minuteItemBytes +
    units.quarterItemsPerQuarter * 15 * 24 * 4 * units.quarterItemBytes;
  const storageGb = storageBytes / GIB;
  const lines = [
    line('DynamoDB', 'history write request units', writeUnits, PRICES.dynamoWriteUnit, 'measured'),
    line(
      'DynamoDB',
      'history read request units (aggregation)',
      readUnits,
      PRICES.dynamoReadUnit,
      'measured',
    ),
    line('DynamoDB', 'history storage (steady state)', storageGb, PRICES.dynamoStorageGbMonth, 'measured'),
  ];
  return { writeUnits, readUnits, storageGb, lines, totalUsd: lines.reduce((s, l) => s + l.usd, 0) };
}

/**
 * The stored size of an item of string, number and binary attributes by DynamoDB's rules: each attribute's
 * name and value (strings: UTF-8 bytes; binary: its bytes; numbers: 1 byte per two significant digits, plus 1), plus
 * the 100 bytes of overhead DynamoDB bills per item for storage.
 */
export function dynamoItemBytes(item: Readonly<Record<string, string | number | Uint8Array>>): number {
  let bytes = 100;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (value instanceof Uint8Array) bytes += value.length;
    else {
      const digits = String(Math.abs(value)).replace(/[.-]/g, '').replace(/^0+/, '').replace(/0+$/, '');
      bytes += Math.ceil(Math.max(1, digits.length) / 2) + 1;
    }
  }
  return bytes;
}
