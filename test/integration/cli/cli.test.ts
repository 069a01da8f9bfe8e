import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import initSqlJs from 'sql.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CliIo, runCli } from '#local/cli/run.ts';
import { type LocalStack, startLocalStack } from '#local/stack/index.ts';
import { SyncStatsResponseSchema } from '#shared/http/schemas/sync.ts';

/**
 * The admin CLI against a local stack started in process (the run's DynamoDB Local, the simulator,
 * the real state machines and handlers). The stack starts without schedules, so `migrate` runs the
 * first sync. The CLI finds the stack through the state file in the data folder and signs its own
 * admin token with the local issuer's key, as it does next to `npm start`.
 */

let stack: LocalStack;
let dataDir: string;
const probeBase = 20_000 + Math.floor(Math.random() * 20_000);

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: { PVE_INVENTORY_DATA_DIR: dataDir },
    isTTY: false,
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

function json(run: CliRun): unknown {
  expect(run.stderr).not.toMatch(/^error/m);
  return JSON.parse(run.stdout);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pve-cli-'));
  stack = await startLocalStack({
    port: 0,
    dataDir,
    dynamodbEndpoint: inject('dynamodbEndpoint'),
    tablePrefix: `cli-${process.pid}-${Date.now()}-`,
    simulator: {
      clusters: 2,
      guestsPerCluster: 20,
      seed: 11,
      probePorts: { rdp: probeBase, ssh: probeBase + 1 },
    },
    schedules: false,
    healthMaxConsecutiveErrors: 1,
    publishState: true,
    logLevel: 'SILENT',
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('pve-inventory (admin CLI)', () => {
  it('migrate: ensures the tables, runs the first full sync with progress, prints statistics', async () => {
    const run = await cli('migrate');
    expect(run.stderr).toContain('tables ready');
    expect(run.stderr).toMatch(/\[#+\] 2\/2 clusters synced/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('VMs: 40');
    expect(run.stdout).toMatch(/sim-1\s+Simulated Cluster 1\s+20/);
  });

  it('stats --json answers the API statistics', async () => {
    const stats = SyncStatsResponseSchema.parse(json(await cli('stats', '--json')));
    expect(stats.total_vms).toBe(40);
    expect(stats.clusters.map((c) => c.cluster_id)).toEqual(['sim-1', 'sim-2']);
  });

  it('vms --stale lists only the VMs of a cluster that is down, and health exits non-zero', async () => {
    const none = json(await cli('vms', '--stale', '--json'));
    expect(none).toMatchObject({ count: 0 });
    stack.simulator?.faults.setClusterDown('sim-2', true);
    await stack.sync('full', 'sim-2');
    const stale = json(await cli('vms', '--stale', '--json'));
    expect(stale).toMatchObject({ count: 20 });
    const text = await cli('vms', '--stale', '--cluster', 'sim-1');
    // Nothing stale there: one summary line, nothing else.
    expect(text.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^0 stale VMs of \d+$/)]);
    const listed = await cli('vms', '--stale');
    const lines = listed.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^20 stale VMs of \d+$/);
    expect(lines.filter((line) => / VMs( of \d+)?$/.test(line))).toHaveLength(1);
    const health = await cli('health');
    expect(health.code).toBe(3);
    expect(health.stdout).toMatch(/^UNHEALTHY/);
    expect(health.stdout).toContain('sim-2');
    stack.simulator?.faults.setClusterDown('sim-2', false);
  });

  it('import-mappings imports a good file and refuses a bad one with one clear line', async () => {
    const good = join(dataDir, 'mappings.json');
    writeFileSync(good, JSON.stringify({ 'Dave@pve': [101, 'sim-2:102'], erin: ['sim-1:103'] }));
    const ok = await cli('import-mappings', good, '--cluster', 'sim-1', '--json');
    expect(ok.code).toBe(0);
    expect(json(ok)).toMatchObject({ dry_run: false, users: 2, assignments: 3 });
    const dave = await stack.repositories.ownership.listAssignmentsOfUser('dave');
    expect(dave.map((a) => `${a.cluster_id}/${a.vmid}`).sort()).toEqual(['sim-1/101', 'sim-2/102']);

    const bad = join(dataDir, 'bad-mappings.json');
    writeFileSync(bad, JSON.stringify({ frank: [101, 'sim-1:99999'] }));
    const refused = await cli('import-mappings', bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^error: /);
    expect(await stack.repositories.ownership.listAssignmentsOfUser('frank')).toEqual([]);

    const notJson = join(dataDir, 'broken.json');
    writeFileSync(notJson, '{ not json');
    const broken = await cli('import-mappings', notJson);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('not valid JSON');
  });

  it("import-legacy reads the original portal's SQLite database: dry run, then import", async () => {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    db.exec(`
      CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(80) UNIQUE NOT NULL, password_hash VARCHAR(256) NOT NULL,
        role VARCHAR(20) NOT NULL DEFAULT 'user', created_at DATETIME);
      CREATE TABLE classes (id INTEGER PRIMARY KEY, name VARCHAR(120) NOT NULL, description TEXT, teacher_id INTEGER NOT NULL REFERENCES users(id),
        template_id INTEGER, join_token VARCHAR(128), token_expires_at DATETIME, token_never_expires BOOLEAN, pool_size INTEGER,
        cpu_cores INTEGER, memory_mb INTEGER, disk_size_gb INTEGER, vmid_prefix INTEGER, clone_task_id VARCHAR(64),
        deployment_node VARCHAR(80), deployment_cluster VARCHAR(50), auto_shutdown_enabled BOOLEAN, created_at DATETIME, updated_at DATETIME);
      CREATE TABLE class_enrollments (user_id INTEGER REFERENCES users(id), class_id INTEGER REFERENCES classes(id), enrolled_at DATETIME,
        PRIMARY KEY (user_id, class_id));
      CREATE TABLE class_co_owners (user_id INTEGER REFERENCES users(id), class_id INTEGER REFERENCES classes(id), added_at DATETIME,
        PRIMARY KEY (user_id, class_id));
      CREATE TABLE vm_assignments (id INTEGER PRIMARY KEY, class_id INTEGER REFERENCES classes(id), proxmox_vmid INTEGER NOT NULL,
        vm_name VARCHAR(120), mac_address VARCHAR(17), cached_ip VARCHAR(45), ip_updated_at DATETIME, node VARCHAR(80),
        assigned_user_id INTEGER REFERENCES users(id), status VARCHAR(20) DEFAULT 'available', is_template_vm BOOLEAN,
        is_teacher_vm BOOLEAN, manually_added BOOLEAN, hostname_configured BOOLEAN, target_hostname VARCHAR(63),
        usage_hours FLOAT, usage_last_reset DATETIME, created_at DATETIME, assigned_at DATETIME);
      CREATE TABLE clusters (id INTEGER PRIMARY KEY, cluster_id VARCHAR(50) UNIQUE, name VARCHAR(120), host VARCHAR(255), port INTEGER,
        user VARCHAR(80), password VARCHAR(255));
      INSERT INTO users VALUES (1, 'root', 'x', 'adminer', NULL), (2, 'Gina@pve', 'x', 'teacher', NULL),
        (3, 'hank', 'x', 'user', NULL), (4, 'ivy', 'x', 'user', NULL), (5, 'jack', 'x', 'teacher', NULL);
      INSERT INTO classes (id, name, description, teacher_id, deployment_cluster) VALUES
        (1, 'Linux Basics', 'Shell and services', 2, 'sim-2'), (2, 'Old Class', NULL, 5, NULL);
      INSERT INTO class_enrollments VALUES (3, 1, NULL), (4, 1, NULL), (4, 2, NULL);
      INSERT INTO class_co_owners VALUES (5, 1, NULL);
      INSERT INTO vm_assignments (id, class_id, proxmox_vmid, vm_name, assigned_user_id, status, is_template_vm, is_teacher_vm) VALUES
        (1, 1, 104, 'lb-hank', 3, 'assigned', 0, 0),
        (2, 1, 105, 'lb-ivy', 4, 'assigned', 0, 0),
        (3, 1, 106, 'lb-template', NULL, 'available', 1, 0),
        (4, NULL, 107, 'ivy-direct', 4, 'assigned', 0, 0),
        (5, 2, 108, 'old-ivy', 4, 'assigned', 0, 0),
        (6, NULL, 99999, 'ghost', 3, 'assigned', 0, 0);
      INSERT INTO clusters VALUES (1, 'sim-2', 'Lab', 'pve.example', 8006, 'root@pam', 'do-not-print-me');
    `);
    const file = join(dataDir, 'app.db');
    writeFileSync(file, db.export());
    db.close();

    const dry = await cli('import-legacy', file, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run');
    expect(dry.stdout).toContain('linux-basics-1');
    expect(dry.stdout).toMatch(/unresolvable[\s\S]*#4[\s\S]*#5/);
    expect(dry.stdout).toContain('template VMs are not assigned');
    expect(dry.stdout).toContain('root');
    expect(dry.stdout).not.toContain('do-not-print-me');
    expect(await stack.repositories.ownership.getClass('linux-basics-1')).toBeNull();

    const run = await cli('import-legacy', file, '--cluster', 'sim-1', '--json');
    expect(run.code).toBe(0);
    expect(json(run)).toMatchObject({ dry_run: false, result: { classes: 2, classVms: 3, assignments: 1 } });
    // A VM the inventory does not hold is refused and reported, never assigned.
    expect(JSON.stringify(json(run))).toContain('VM sim-1:99999 is not in the inventory');
    const hank = await stack.repositories.ownership.listAssignmentsOfUser('hank');
    expect(hank.map((a) => `${a.cluster_id}/${a.vmid}`)).toEqual(['sim-2/104']);
    const linux = await stack.repositories.ownership.getClass('linux-basics-1');
    expect(linux?.teachers.sort()).toEqual(['gina', 'jack']);
    expect(linux?.students.sort()).toEqual(['hank', 'ivy']);
    const ivy = await stack.repositories.ownership.listAssignmentsOfUser('ivy');
    expect(ivy.map((a) => `${a.cluster_id}/${a.vmid}/${a.source}`).sort()).toEqual([
      'sim-1/107/admin',
      'sim-1/108/class',
      'sim-2/105/class',
    ]);
  });

  it('assign adds and removes an assignment through the API', async () => {
    const added = await cli('assign', 'kim', 'sim-1', '101');
    expect(added.code).toBe(0);
    expect((await stack.repositories.ownership.listAssignmentsOfUser('kim')).map((a) => a.vmid)).toEqual([
      101,
    ]);
    const removed = await cli('assign', 'kim', 'sim-1', '101', '--remove');
    expect(removed.code).toBe(0);
    expect(await stack.repositories.ownership.listAssignmentsOfUser('kim')).toEqual([]);
  });

  it('assign echoes the normalized name, and --remove of a missing assignment says so and fails', async () => {
    const added = await cli('assign', 'Lee@PVE', 'sim-1', '102');
    expect(added.code).toBe(0);
    expect(added.stdout.trim()).toBe('assigned: lee ← sim-1:102');
    const missing = await cli('assign', 'lee', 'sim-1', '103', '--remove');
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('error: no assignment of sim-1:103 to lee: nothing removed');
    const removed = await cli('assign', 'LEE', 'sim-1', '102', '--remove');
    expect(removed.code).toBe(0);
    expect(removed.stdout.trim()).toBe('removed: lee ✗ sim-1:102');
    expect(await stack.repositories.ownership.listAssignmentsOfUser('lee')).toEqual([]);
  });

  it('token --ttl accepts minutes, hours and days; a bad lifetime is a usage mistake', async () => {
    for (const [ttl, seconds] of [
      ['30m', 1800],
      ['12h', 43_200],
      ['7d', 604_800],
    ] as const) {
      const run = await cli('token', 'dana', '--ttl', ttl);
      expect(run.code, ttl).toBe(0);
      const payload = JSON.parse(
        Buffer.from(run.stdout.trim().split('.')[1] ?? '', 'base64url').toString(),
      ) as {
        iat: number;
        exp: number;
      };
      expect(payload.exp - payload.iat, ttl).toBe(seconds);
    }
    const bad = await cli('token', 'dana', '--ttl', '7 weeks');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--ttl: "7 weeks" is not a lifetime');
    const badTimeout = await cli('migrate', '--timeout', 'soon');
    expect(badTimeout.code).toBe(2);
  });

  it('--api http://localhost:N of the local stack signs its own admin token', async () => {
    const port = new URL(stack.apiUrl).port;
    const run = await cli('stats', '--json', '--api', `http://localhost:${port}`);
    expect(run.code).toBe(0);
    expect(SyncStatsResponseSchema.parse(JSON.parse(run.stdout)).total_vms).toBe(40);
  });

  it('token prints a token the local API accepts, with the asked role', async () => {
    const run = await cli('token', 'carol', '--teacher');
    expect(run.code).toBe(0);
    const response = await fetch(`${stack.apiUrl}/api/classes`, {
      headers: { authorization: `Bearer ${run.stdout.trim()}` },
    });
    expect(response.status).not.toBe(401);
  });

  it('answers usage mistakes and unreachable APIs with one line and a non-zero exit', async () => {
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown command "frobnicate"/);
    const both = await cli('sync', '--full', '--quick');
    expect(both.code).toBe(2);
    // An unknown cluster is refused by the API at once (no 5-minute wait for a sync that cannot run).
    const unknownCluster = await cli('sync', '--full', '--cluster', 'no-such-cluster', '--wait');
    expect(unknownCluster.code).toBe(1);
    expect(unknownCluster.stderr).toContain('body.cluster_id');
    const away = await cli('stats', '--api', 'http://127.0.0.1:9', '--token', 'x');
    expect(away.code).toBe(1);
    expect(away.stderr.trim().split('\n')).toHaveLength(1);
    expect(away.stderr).toContain('cannot reach the API');
  });

  it('runs as the package bin (node local/cli/bin.js)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['local/cli/bin.js', 'stats', '--json'], {
      env: { ...process.env, PVE_INVENTORY_DATA_DIR: dataDir },
    });
    expect(SyncStatsResponseSchema.parse(JSON.parse(stdout)).total_vms).toBe(40);
  });
});
