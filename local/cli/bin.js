#!/usr/bin/env node
// The `pve-inventory` command: runs the TypeScript CLI through tsx's loader, so `npx pve-inventory`
// works without a build step. The AWS SDK's Node-version notice would otherwise precede every answer.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('./main.ts');
