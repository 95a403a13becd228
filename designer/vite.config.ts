/**
 * The web viewer's build: `vite build --config designer/vite.config.ts` (part of `npm run build`)
 * writes dist/designer/, which the server serves (server/static.ts). For development,
 * `npx vite --config designer/vite.config.ts` serves the app with the API proxied to a running
 * `tracereport serve` on $TRACEREPORT_API (default http://127.0.0.1:8080).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = path.dirname(fileURLToPath(import.meta.url));
const api = process.env.TRACEREPORT_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  build: {
    outDir: path.join(here, '..', 'dist', 'designer'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // The server's CSP allows only same-origin script files: nothing inline.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: true,
    target: 'es2022',
  },
  server: {
    proxy: { '/api': api, '/healthz': api, '/metrics': api, '/embed': api },
  },
});
