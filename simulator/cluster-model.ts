import { createHash, createHmac } from 'node:crypto';
import { categoryOf, generateGuest, isUp, type SimGuest } from '#simulator/fleet.ts';
import { mixSeed, Prng } from '#simulator/prng.ts';
import {
  DEFAULT_PVE_MAJOR,
  type PveMajor,
  type PveVersionProfile,
  pveProfile,
} from '#simulator/pve-version.ts';
import { ENDPOINT_CLASSES, type EndpointClass, type ExtraToken } from '#simulator/types.ts';

/** A node of a simulated cluster. */
export interface SimNode {
  name: string;
  nodeid: number;
  online: boolean;
  ip: string;
  bootAt: number;
  /** Simulated time the node went offline. */
  offlineSince?: number;
  /** Proxmox VE major version the node runs (differs from the others part-way through an upgrade). */
  pveMajor: PveMajor;
}

/** A power-action task. */
export interface SimTask {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  tokenid?: string;
  endsAt: number;
  exitstatus: string;
  done: boolean;
  log: string[];
}

/** Faults switched at run time for one cluster. */
export interface ClusterFaults {
  down: boolean;
  endpointsDown: Set<string>;
  latency: Map<EndpointClass, number>;
  errorRate: Map<EndpointClass, { rate: number; status: number }>;
  hang: Set<EndpointClass>;
  malformed: Set<EndpointClass>;
  tokenRevoked: boolean;
}

/** Fresh, fault-free state. */
export function emptyFaults(): ClusterFaults {
  return {
    down: false,
    endpointsDown: new Set(),
    latency: new Map(),
    errorRate: new Map(),
    hang: new Set(),
    malformed: new Set(),
    tokenRevoked: false,
  };
}

/** A scheduled state change (task completion, HA transition). */
interface Scheduled {
  at: number;
  seq: number;
  run: () => void;
}

/** Runtime stats of a guest at one instant. */
export interface GuestStats {
  uptime: number;
  cpu: number;
  mem: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  disk: number;
}

/** Settings shared by every cluster model. */
export interface ModelSettings {
  seed: number;
  taskDelayMs: number;
  drift: boolean;
  churnPerMinute: number;
  startedAt: number;
  /** How long guests of an offline node keep their last stats before showing 'unknown' (default 0). */
  offlineStaleMs?: number;
  /** How long after its boot a QEMU guest's agent starts answering (default 0). */
  agentStartDelayMs?: number;
  /** Proxmox VE major version of every node at start (default {@link DEFAULT_PVE_MAJOR}). */
  pveMajor?: PveMajor;
}

function hash01(...parts: number[]): number {
  return mixSeed(...parts) / 4294967296;
}

/** Parses a UPID, or returns null when it is malformed. */
export function parseUpid(upid: string): { node: string; type: string; id: string; user: string } | null {
  const m =
    /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/.exec(
      upid,
    );
  if (m === null) return null;
  return { node: m[1] ?? '', type: m[6] ?? '', id: m[7] ?? '', user: m[8] ?? '' };
}

/** The state of one simulated Proxmox VE cluster: nodes, guests, tasks, tokens, faults, counters. */
export class ClusterModel {
  readonly id: string;
  readonly name: string;
  readonly index: number;
  readonly nodes: SimNode[];
  readonly guests = new Map<number, SimGuest>();
  readonly tasks = new Map<string, SimTask>();
  readonly tokens = new Map<string, ExtraToken>();
  faults: ClusterFaults = emptyFaults();
  counts: Record<EndpointClass, number>;
  readonly secretKey: string;
  private scheduled: Scheduled[] = [];
  private seq = 0;
  private nextSlot: number;
  private pidCounter: number;
  private churnApplied = 0;
  private readonly churnRng: Prng;
  private readonly errorRng: Prng;
  /** Called whenever guest run states change (probe listeners follow). */
  onChange: () => void = () => {};

  constructor(
    index: number,
    nodeNames: string[],
    guests: SimGuest[],
    private readonly settings: ModelSettings,
    readonly mainToken: ExtraToken,
  ) {
    this.index = index;
    this.id = `sim-${index + 1}`;
    this.name = `Simulated Cluster ${index + 1}`;
    this.nodes = nodeNames.map((name, i) => ({
      name,
      nodeid: i + 1,
      online: true,
      ip: `127.${index + 1}.0.${i + 2}`,
      bootAt: settings.startedAt - (30 + i) * 86400_000,
      pveMajor: settings.pveMajor ?? DEFAULT_PVE_MAJOR,
    }));
    for (const g of guests) this.guests.set(g.vmid, g);
    this.nextSlot = guests.length;
    this.pidCounter = 0x10000 + index * 0x1000;
    this.counts = this.zeroCounts();
    this.churnRng = new Prng(mixSeed(settings.seed, index, 0xc4c4));
    this.errorRng = new Prng(mixSeed(settings.seed, index, 0xe4e4));
    this.secretKey = createHash('sha256').update(`sim-key-${settings.seed}-${index}`).digest('hex');
    this.tokens.set(mainToken.tokenId, mainToken);
  }

  /** Zeroed counters. */
  zeroCounts(): Record<EndpointClass, number> {
    const c = {} as Record<EndpointClass, number>;
    for (const k of ENDPOINT_CLASSES) c[k] = 0;
    return c;
  }

  /** Whether an injected error should be returned for this call (deterministic sequence). */
  rollError(cls: EndpointClass): { status: number } | null {
    const e = this.faults.errorRate.get(cls);
    if (e === undefined || e.rate <= 0) return null;
    return this.errorRng.next() < e.rate ? { status: e.status } : null;
  }

  /** See {@link ModelSettings.offlineStaleMs}. */
  get offlineStaleMs(): number {
    return this.settings.offlineStaleMs ?? 0;
  }

  /** True while the guest agent of a guest that just booted is still starting (see {@link ModelSettings.agentStartDelayMs}). */
  agentStarting(g: SimGuest, now: number): boolean {
    return g.type === 'qemu' && isUp(g) && now < g.bootAt + (this.settings.agentStartDelayMs ?? 0);
  }

  /** Marks a node offline (remembering since when) or back online. */
  setNodeOnline(name: string, online: boolean, now: number): boolean {
    const n = this.node(name);
    if (n === undefined) return false;
    if (n.online && !online) n.offlineSince = now;
    if (online) delete n.offlineSince;
    n.online = online;
    this.onChange();
    return true;
  }

  node(name: string): SimNode | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  /** The cluster's version profile (the version it was started with). */
  get profile(): PveVersionProfile {
    return pveProfile(this.settings.pveMajor ?? DEFAULT_PVE_MAJOR);
  }

  /** The version profile of a node (the cluster's for an unknown node). */
  profileOf(nodeName: string): PveVersionProfile {
    const n = this.node(nodeName);
    return n === undefined ? this.profile : pveProfile(n.pveMajor);
  }

  /** Sets the major version one node runs (a mixed-version cluster part-way through an upgrade). */
  setNodeVersion(name: string, major: PveMajor): boolean {
    const n = this.node(name);
    if (n === undefined) return false;
    n.pveMajor = major;
    return true;
  }

  /**
   * Puts a guest under HA (`ha-manager add`): the listing shows the requested state at once, while
   * the HA manager only processes the resource `crmDelayMs` later (until then `status/current`
   * has no HA state on versions that say so).
   */
  addToHa(g: SimGuest, now: number, crmDelayMs: number): void {
    g.ha = { group: 'ha-default' };
    g.hastate = isUp(g) ? 'started' : 'stopped';
    g.haPendingUntil = now + crmDelayMs;
  }

  /** Runs every scheduled change and churn event due at `now`. */
  settle(now: number): void {
    let changed = false;
    if (this.scheduled.length > 0) {
      this.scheduled.sort((a, b) => a.at - b.at || a.seq - b.seq);
      while (this.scheduled.length > 0 && (this.scheduled[0]?.at ?? Number.POSITIVE_INFINITY) <= now) {
        const s = this.scheduled.shift();
        s?.run();
        changed = true;
      }
    }
    if (this.settings.churnPerMinute > 0) {
      const due = Math.floor(((now - this.settings.startedAt) * this.settings.churnPerMinute) / 60_000);
      while (this.churnApplied < due) {
        this.churnApplied++;
        this.churnOnce(now);
        changed = true;
      }
    }
    if (changed) this.onChange();
  }

  private schedule(at: number, run: () => void): void {
    this.scheduled.push({ at, seq: this.seq++, run });
  }

  private churnOnce(now: number): void {
    const list = [...this.guests.values()];
    const action = this.churnRng.pick(['create', 'destroy', 'start', 'stop'] as const);
    if (action === 'create' || list.length === 0) {
      this.createGuest(now);
      return;
    }
    const g = this.churnRng.pick(list);
    if (action === 'destroy') this.guests.delete(g.vmid);
    else if (action === 'start' && !g.template && g.status === 'stopped') this.setStatus(g, 'running', now);
    else if (action === 'stop' && isUp(g)) this.setStatus(g, 'stopped', now);
  }

  /** Creates a guest at the lowest free VMID >= 100 (so a destroyed VMID is reused). */
  createGuest(
    now: number,
    partial?: Partial<Pick<SimGuest, 'name' | 'node' | 'status' | 'type' | 'ostype'>>,
  ): number {
    let vmid = 100;
    while (this.guests.has(vmid)) vmid++;
    const g = generateGuest(
      {
        seed: this.settings.seed,
        clusterIndex: this.index,
        nodes: this.nodes.map((n) => n.name),
        guests: 0,
        now,
        profile: this.profile,
      },
      this.nextSlot++,
      vmid,
    );
    if (partial?.name !== undefined) g.name = partial.name;
    if (partial?.node !== undefined) g.node = partial.node;
    if (partial?.type !== undefined && partial.type !== g.type) {
      g.type = partial.type;
      if (g.type === 'lxc') {
        g.ostype = 'debian';
        g.category = 'linux';
        g.agent = null;
        delete g.agentConfig;
        g.windowsNaming = false;
        g.rdpOpen = false;
        delete g.noBalloonStats;
      } else {
        delete g.rawLxc;
        delete g.oci;
      }
    }
    if (partial?.ostype !== undefined) {
      g.ostype = partial.ostype;
      g.category = categoryOf(g.type, g.ostype);
    }
    g.template = false;
    g.ctime = Math.floor(now / 1000);
    g.status = partial?.status ?? 'running';
    if (g.ha !== undefined) g.hastate = isUp(g) ? 'started' : 'stopped';
    g.bootAt = now;
    this.guests.set(vmid, g);
    this.onChange();
    return vmid;
  }

  /** Sets a guest's run state, keeping boot time and HA state consistent. */
  setStatus(g: SimGuest, status: string, now: number): void {
    const wasUp = isUp(g);
    g.status = status;
    if (!wasUp && isUp(g)) g.bootAt = now;
    if (g.ha !== undefined) g.hastate = isUp(g) ? 'started' : 'stopped';
    this.onChange();
  }

  /** Stats of a guest at `now`; drift uses 10 s buckets like pvestatd. */
  stats(g: SimGuest, now: number): GuestStats {
    if (!isUp(g))
      return { uptime: 0, cpu: 0, mem: 0, netin: 0, netout: 0, diskread: 0, diskwrite: 0, disk: 0 };
    const t = this.settings.drift ? now : this.settings.startedAt;
    const bucket = Math.floor(t / 10_000);
    const uptime = Math.max(0, Math.floor((t - g.bootAt) / 1000));
    const maxmem = g.memoryMiB * 1048576;
    const rate = 1000 + (g.statSeed % 50_000);
    return {
      uptime,
      cpu: Math.round(hash01(g.statSeed, bucket) * (g.status === 'running' ? 0.6 : 0) * 10_000) / 10_000,
      mem: Math.floor(maxmem * (0.15 + 0.6 * hash01(g.statSeed, bucket, 7))),
      netin: uptime * rate,
      netout: Math.floor(uptime * rate * 0.4),
      diskread: uptime * 512,
      diskwrite: uptime * 256,
      disk: g.type === 'lxc' ? Math.floor(g.bootDiskBytes * (0.2 + 0.3 * hash01(g.statSeed, 3))) : 0,
    };
  }

  /** maxcpu as /cluster/resources reports it. */
  maxcpu(g: SimGuest): number {
    return g.type === 'qemu' ? (g.vcpus ?? g.sockets * g.cores) : g.cores;
  }

  private newTask(node: string, type: string, vmid: number, tokenFull: string, now: number): SimTask {
    const pid = this.pidCounter++;
    const starttime = Math.floor(now / 1000);
    const pstart = 0x3c4d5e6 + ((pid * 37) % 0x100000);
    const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
    const upid = `UPID:${node}:${hex8(pid)}:${hex8(pstart)}:${hex8(starttime)}:${type}:${vmid}:${tokenFull}:`;
    const bang = tokenFull.indexOf('!');
    const task: SimTask = {
      upid,
      node,
      pid,
      pstart,
      starttime,
      type,
      id: String(vmid),
      user: bang >= 0 ? tokenFull.slice(0, bang) : tokenFull,
      endsAt: now + this.settings.taskDelayMs,
      exitstatus: 'OK',
      done: false,
      log: [],
    };
    if (bang >= 0) task.tokenid = tokenFull.slice(bang + 1);
    this.tasks.set(upid, task);
    return task;
  }

  private finish(task: SimTask, exitstatus: string, effect?: () => void): void {
    task.exitstatus = exitstatus;
    this.schedule(task.endsAt, () => {
      effect?.();
      task.done = true;
      task.log.push(exitstatus === 'OK' ? 'TASK OK' : `TASK ERROR: ${exitstatus}`);
    });
  }

  /**
   * Applies a power action with Proxmox's rules. Returns the UPID, or an immediate error
   * (HTTP 500 with the PVE message) for the cases PVE rejects before creating a task.
   */
  power(
    g: SimGuest,
    action: 'start' | 'stop' | 'shutdown' | 'reboot',
    tokenFull: string,
    now: number,
  ): { upid: string } | { status: number; message: string } {
    const up = isUp(g);
    const paused = g.status === 'paused' || g.status === 'prelaunch' || g.status === 'suspended';
    const vmid = g.vmid;
    if (g.type === 'lxc') {
      if (action === 'start' && up) return { status: 500, message: `CT ${vmid} already running` };
      if ((action === 'stop' || action === 'shutdown') && !up && g.ha === undefined)
        return { status: 500, message: `CT ${vmid} not running` };
      if (action === 'reboot' && !up) return { status: 500, message: `VM ${vmid} not running` };
    } else {
      if (action === 'reboot' && !up) return { status: 500, message: `VM ${vmid} not running` };
      if ((action === 'reboot' || action === 'shutdown') && paused)
        return { status: 500, message: 'VM is paused - cannot shutdown' };
    }
    const prefix = g.type === 'qemu' ? 'qm' : 'vz';
    // HA-managed guests: the task only records the request; the HA stack acts later.
    if (g.ha !== undefined && action !== 'reboot') {
      const haType = action === 'start' ? 'hastart' : 'hastop';
      const task = this.newTask(g.node, haType, vmid, tokenFull, now);
      const target = action === 'start' ? 'started' : 'stopped';
      // The HA stack acts on the request only once its manager has processed the resource.
      const actsAt = Math.max(task.endsAt + this.settings.taskDelayMs, g.haPendingUntil ?? 0);
      this.finish(task, 'OK', () => {
        g.hastate = action === 'start' ? 'request_start' : 'request_stop';
        this.schedule(actsAt, () => {
          if (g.template || g.lock !== undefined) {
            g.hastate = 'error';
            return;
          }
          this.setStatus(g, target === 'started' ? 'running' : 'stopped', actsAt);
        });
      });
      return { upid: task.upid };
    }
    const task = this.newTask(g.node, `${prefix}${action}`, vmid, tokenFull, now);
    const label = g.type === 'qemu' ? 'VM' : 'CT';
    if (g.lock !== undefined) {
      this.finish(task, `${label} is locked (${g.lock})`);
    } else if (action === 'start') {
      if (g.template) this.finish(task, `you can't start a vm if it's a template`);
      else if (up) this.finish(task, `VM ${vmid} already running`);
      else this.finish(task, 'OK', () => this.setStatus(g, 'running', task.endsAt));
    } else if (action === 'stop' || action === 'shutdown') {
      this.finish(task, 'OK', () => {
        if (isUp(g)) this.setStatus(g, 'stopped', task.endsAt);
      });
    } else {
      this.finish(task, 'OK', () => {
        g.bootAt = task.endsAt;
        this.onChange();
      });
    }
    return { upid: task.upid };
  }

  /** Password-login ticket for a user. */
  makeTicket(user: string, now: number): { ticket: string; csrf: string } {
    const time = Math.floor(now / 1000)
      .toString(16)
      .toUpperCase()
      .padStart(8, '0');
    const sig = createHmac('sha256', this.secretKey).update(`ticket:${user}:${time}`).digest('base64');
    const csrfSig = createHmac('sha256', this.secretKey).update(`csrf:${user}:${time}`).digest('base64');
    return { ticket: `PVE:${user}:${time}::${sig}`, csrf: `${time}:${csrfSig}` };
  }

  /** Verifies a ticket (2 h lifetime); returns the user or null. */
  verifyTicket(ticket: string, now: number): string | null {
    const m = /^PVE:([^:]+):([0-9A-F]{8})::(.+)$/.exec(ticket);
    if (m === null) return null;
    const user = m[1] ?? '';
    const time = m[2] ?? '';
    const expected = createHmac('sha256', this.secretKey).update(`ticket:${user}:${time}`).digest('base64');
    if (expected !== m[3]) return null;
    const age = now / 1000 - Number.parseInt(time, 16);
    if (age > 7200 || age < -300) return null;
    return user;
  }

  /** Verifies a CSRF prevention token for a user. */
  verifyCsrf(user: string, token: string | undefined): boolean {
    if (token === undefined) return false;
    const [time, sig] = token.split(':');
    if (time === undefined || sig === undefined) return false;
    const expected = createHmac('sha256', this.secretKey).update(`csrf:${user}:${time}`).digest('base64');
    return expected === token.slice(time.length + 1);
  }
}
