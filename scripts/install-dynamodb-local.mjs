#!/usr/bin/env node
// Fetches Amazon's DynamoDB Local (the jar shipped inside the npm package
// amplify-dynamodb-simulator) into .dynamodb-local/ during `npm install` / `npm ci`.
// Taking only the jar avoids the ~280 transitive packages that a plain dependency would pull.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = 'amplify-dynamodb-simulator@2.9.30';
// sha512 integrity of the tarball as published in the registry.
const INTEGRITY =
  'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.dynamodb-local');
const marker = join(target, 'VERSION');

if (process.env.PVE_INVENTORY_SKIP_DYNAMODB_LOCAL === '1') process.exit(0);
if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === PACKAGE) process.exit(0);

const work = mkdtempSync(join(tmpdir(), 'ddb-local-'));
try {
  const out = execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: work, encoding: 'utf8' });
  const tarball = join(work, out.trim().split('\n').pop() ?? '');
  const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  if (digest !== INTEGRITY) {
    throw new Error(`integrity mismatch for ${PACKAGE}: got ${digest}`);
  }
  execFileSync('tar', ['-xzf', tarball, '-C', work, 'package/emulator']);
  rmSync(target, { recursive: true, force: true });
  cpSync(join(work, 'package', 'emulator'), target, { recursive: true });
  writeFileSync(marker, `${PACKAGE}\n`);
  console.log(`DynamoDB Local installed in .dynamodb-local (${PACKAGE})`);
} catch (error) {
  console.error(`Could not install DynamoDB Local: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
} finally {
  rmSync(work, { recursive: true, force: true });
}
