import type { BundleResult } from '../measures/bundles.ts';
import type { DynamoScenarioResult } from '../measures/dynamodb-writes.ts';
import type { FleetScenarioResult } from '../measures/fleet-scenario.ts';
import type { LatencyResult } from '../measures/latency.ts';
import type { MonthlyCost, ShapeInputs, Workload } from './cost-model.ts';
import type { GoalOutcome } from './goals.ts';

/** The whole result document (also the --json output). */
export interface BenchDocument {
  schema: 'pve-inventory-bench/1';
  mode: 'full' | 'quick';
  started_at: string;
  duration_s: number;
  machine: {
    cpus: number;
    cpu_model: string;
    memory_gb: number;
    node: string;
    platform: string;
    load_average_start: number[];
    load_average_end: number[];
  };
  modelled_latency_ms: Record<string, number>;
  latency: Record<string, unknown> | null;
  proxmox: Record<string, unknown> | null;
  dynamodb: Record<string, unknown> | null;
  sync: Record<string, unknown> | null;
  lambda: Record<string, unknown> | null;
  cost: Record<string, unknown> | null;
  /** The limits scenario (5,000 guests, Lambda deadline, slow agents): full runs or `--only=limits`. */
  limits: Record<string, unknown> | null;
  portal: Record<string, unknown> | null;
  /** A 10,000-user mappings import beside a concurrent student list. */
  import: Record<string, unknown> | null;
  /** Live updates: push vs polling for 50 users, write → client latency. */
  live: Record<string, unknown> | null;
  /** A 30-VM class start through the bulk action (Proxmox calls, per-node peak, wall time). */
  bulk: Record<string, unknown> | null;
  goals: GoalOutcome[];
  errors: string[];
  notes: string[];
}

/** Everything the markdown report shows, typed. */
export interface ReportInputs {
  doc: BenchDocument;
  bundles: BundleResult | null;
  scenarios: FleetScenarioResult[];
  latencies: LatencyResult[];
  dyn: DynamoScenarioResult | null;
  cost: {
    workload: Workload;
    design: MonthlyCost;
    naive: MonthlyCost;
    designInputs: ShapeInputs;
    naiveInputs: ShapeInputs;
    variants: { name: string; monthly_usd: number }[];
    savings: { setting: string; saves_usd: number; trades: string }[];
  } | null;
}
