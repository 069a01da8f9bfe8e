import { DEMO_USERS, type DemoOwnershipPlan } from '#local/seed/demo-ownership.ts';
import { formatDuration } from './durations.ts';

/** What the start banner shows. */
export interface BannerInput {
  /** the URL users type (http://localhost:PORT) */
  readonly apiUrl: string;
  readonly dynamodb: string;
  readonly proxmox: readonly string[];
  readonly fullIntervalMs: number;
  readonly quickIntervalMs: number;
  readonly tokens: Readonly<Record<string, string>>;
  readonly tokenTtlSeconds: number;
  readonly demo: DemoOwnershipPlan | null;
}

const envName = (username: string) => `${username.toUpperCase()}_TOKEN`;

/**
 * The text `npm start` prints once ready: URLs, one token per demo user (as shell exports) and
 * ready-to-paste curl commands. Pure.
 */
export function formatBanner(input: BannerInput): string {
  const api = input.apiUrl;
  const lines: string[] = [
    '',
    'pve-inventory is running locally',
    '',
    `  Portal     ${api}/   (open in a browser; sign in as alice, bob, carol or admin)`,
    `  API        ${api}   (OpenAPI document: ${api}/api/openapi.json)`,
    `  DynamoDB   ${input.dynamodb}`,
    ...input.proxmox.map((line, i) => `  ${i === 0 ? 'Proxmox ' : '        '}   ${line}`),
    `  Sync       full every ${formatDuration(input.fullIntervalMs)}, quick every ${formatDuration(input.quickIntervalMs)} (the CDK app's state machines, run locally)`,
    '',
    `Demo users (local issuer tokens, valid ${Math.round(input.tokenTtlSeconds / 86_400)} days) — paste these into your shell:`,
    '',
  ];
  for (const user of DEMO_USERS) {
    const token = input.tokens[user.username];
    if (token === undefined) continue;
    const role =
      user.role === 'admin' ? 'admin' : user.role === 'teacher' ? 'teacher of Networking 101' : 'student';
    lines.push(`  # ${user.username}: ${role}`);
    lines.push(`  export ${envName(user.username)}='${token}'`);
  }
  const auth = (username: string) => `-H "Authorization: Bearer $${envName(username)}"`;
  lines.push('', 'Try:', '');
  lines.push(`  curl -s ${api}/api/sync/health`);
  lines.push(`  curl -s ${auth('admin')} "${api}/api/vms?limit=5"`);
  lines.push(`  curl -s ${auth('alice')} ${api}/api/vms`);
  lines.push(`  curl -s ${auth('bob')} ${api}/api/vms`);
  const startable = input.demo?.aliceStartable;
  if (startable) {
    lines.push(
      `  curl -s -X POST ${auth('alice')} "${api}/api/vm/${startable.vmid}/start?cluster=${startable.cluster_id}"`,
    );
  }
  lines.push(`  curl -s ${auth('admin')} ${api}/api/sync/stats`);
  lines.push(`  curl -s -X POST ${auth('admin')} ${api}/api/sync/trigger`);
  lines.push('', '  npx pve-inventory stats        # the admin CLI (npx pve-inventory --help)');
  if (input.demo?.sharedVmid !== null && input.demo?.sharedVmid !== undefined) {
    lines.push(
      '',
      `VMID ${input.demo.sharedVmid} exists on two clusters: alice owns one, bob the other; each sees only theirs.`,
    );
  }
  lines.push('', 'Ctrl-C stops everything.', '');
  return lines.join('\n');
}
