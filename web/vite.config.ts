import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The portal's build: the SPA in web/ with the API's zod schemas from shared/ (resolved through the
 * same `#shared/*` alias the server uses). The output in web/dist is what the local gateway and the
 * deployed CloudFront distribution serve; the runtime config is fetched from /config.json, never
 * baked in.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [react()],
  resolve: {
    alias: [
      { find: /^#shared\/(.*)$/, replacement: fileURLToPath(new URL('../shared/$1', import.meta.url)) },
    ],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
});
