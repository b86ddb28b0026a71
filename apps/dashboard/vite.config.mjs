// The dashboard is built to static files that the gateway serves at /ui/ (apps/gateway/src/dashboard).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: here('../../dist/apps/dashboard'),
    emptyOutDir: true,
    // No data: URIs for fonts or scripts: the page's CSP allows files of its own origin only.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
