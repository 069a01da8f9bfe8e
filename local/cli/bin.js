#!/usr/bin/env node
// The `pve-inventory` command: runs the TypeScript CLI through tsx's loader, so `npx pve-inventory`
// works without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
