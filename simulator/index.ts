import { type Simulator, SimulatorRuntime } from '#simulator/simulator.ts';
import type { SimulatorOptions } from '#simulator/types.ts';

export type { PveMajor } from '#simulator/pve-version.ts';
export { DEFAULT_PVE_MAJOR, PVE_MAJORS } from '#simulator/pve-version.ts';
export type { SimClustersFile, Simulator, SimulatorFaults } from '#simulator/simulator.ts';
export { SimulatorLookupError } from '#simulator/simulator.ts';
export type {
  AgentMode,
  EndpointClass,
  ExtraToken,
  GroundTruthGuest,
  OsCategory,
  SimulatedCluster,
  SimulatedEndpoint,
  SimulatorOptions,
} from '#simulator/types.ts';
export { ENDPOINT_CLASSES } from '#simulator/types.ts';

/**
 * Starts a simulated multi-cluster Proxmox VE: one HTTPS listener per node endpoint, probe
 * listeners on reachable guests' loopback IPs and a control API. Everything is deterministic
 * from `options.seed`. Call `stop()` to close every listener.
 */
export async function startSimulator(options?: SimulatorOptions): Promise<Simulator> {
  const sim = new SimulatorRuntime(options);
  try {
    await sim.start();
  } catch (err) {
    await sim.stop();
    throw err;
  }
  return sim;
}
