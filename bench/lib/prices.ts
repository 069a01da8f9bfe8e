/**
 * AWS unit prices used by the cost model: us-east-1, on-demand list prices as published on each
 * service's pricing page, read in November 2026 (the figures in the team's AWS notes were
 * cross-checked against them). Free tiers are the always-free ones only (not the 12-month trial).
 * Confirm in the AWS Pricing Calculator before quoting a bill.
 */
export const PRICES_AS_OF = '2026-11 (us-east-1, on-demand list prices)';

/** One unit price with where it comes from. */
export interface UnitPrice {
  readonly usd: number;
  readonly per: string;
  readonly source: string;
}

const price = (usd: number, per: string, source: string): UnitPrice => ({ usd, per, source });

/** Every unit price the model uses. */
export const PRICES = {
  lambdaRequest: price(0.2 / 1e6, 'request', 'AWS Lambda pricing: $0.20 per 1M requests'),
  lambdaGbSecondArm: price(0.0000133334, 'GB-second', 'AWS Lambda pricing: Arm, first 7.5B GB-s/month'),
  lambdaGbSecondX86: price(0.0000166667, 'GB-second', 'AWS Lambda pricing: x86, first 6B GB-s/month'),
  sfnStandardTransition: price(0.025 / 1000, 'state transition', 'AWS Step Functions pricing: Standard'),
  sfnExpressRequest: price(1 / 1e6, 'execution', 'AWS Step Functions pricing: Express requests'),
  sfnExpressGbSecond: price(
    0.00001667,
    'GB-second',
    'AWS Step Functions pricing: Express duration, first 1,000 GB-hours',
  ),
  dynamoWriteUnit: price(
    0.625 / 1e6,
    'write request unit',
    'Amazon DynamoDB pricing: on-demand (Nov 2024 price cut)',
  ),
  dynamoReadUnit: price(
    0.125 / 1e6,
    'read request unit',
    'Amazon DynamoDB pricing: on-demand (Nov 2024 price cut)',
  ),
  dynamoStorageGbMonth: price(
    0.25,
    'GB-month',
    'Amazon DynamoDB pricing: Standard table class storage beyond the always-free 25 GB (not applied: shared with the other tables)',
  ),
  httpApiRequest: price(
    1 / 1e6,
    'request (512 KB metering unit)',
    'Amazon API Gateway pricing: HTTP APIs, first 300M',
  ),
  dataTransferOutGb: price(0.09, 'GB', 'Amazon EC2 data transfer pricing: internet out, first 10 TB'),
  schedulerInvocation: price(1 / 1e6, 'invocation', 'Amazon EventBridge Scheduler pricing'),
  secretMonth: price(0.4, 'secret-month', 'AWS Secrets Manager pricing'),
  secretApiCall: price(0.05 / 10_000, 'API call', 'AWS Secrets Manager pricing'),
  interfaceEndpointAzHour: price(0.01, 'endpoint-AZ-hour', 'AWS PrivateLink pricing: interface endpoint'),
  customMetricMonth: price(0.3, 'metric-month', 'Amazon CloudWatch pricing: first 10,000 metrics'),
  logIngestGb: price(0.5, 'GB ingested', 'Amazon CloudWatch pricing: Logs standard ingestion'),
  xrayTrace: price(5 / 1e6, 'trace recorded', 'AWS X-Ray pricing'),
  websocketMessage: price(
    1 / 1e6,
    'message (32 KB metering unit)',
    'Amazon API Gateway pricing: WebSocket APIs, first 1B messages',
  ),
  websocketConnectionMinute: price(
    0.25 / 1e6,
    'connection minute',
    'Amazon API Gateway pricing: WebSocket APIs, connection minutes',
  ),
} as const;

/** Always-free monthly allowances. */
export const FREE_TIER = {
  lambdaRequests: 1_000_000,
  lambdaGbSeconds: 400_000,
  sfnStandardTransitions: 4_000,
  dataTransferOutGb: 100,
  schedulerInvocations: 14_000_000,
  customMetrics: 10,
  logIngestGb: 5,
  xrayTraces: 100_000,
} as const;

/** Hours in the billing month the model uses (AWS bills 730 h a month for hourly resources). */
export const HOURS_PER_MONTH = 730;
/** Minutes in the modelled month (30 days) for scheduled work. */
export const MINUTES_PER_MONTH = 30 * 24 * 60;
/** Express workflows are billed in 64 MB memory steps; a Map over a few clusters stays in the first. */
export const EXPRESS_BILLED_GB = 64 / 1024;
/** API Gateway meters HTTP API responses in 512 KB units. */
export const HTTP_API_METERING_BYTES = 512 * 1024;
/** API Gateway meters WebSocket messages in 32 KB units. */
export const WEBSOCKET_METERING_BYTES = 32 * 1024;
