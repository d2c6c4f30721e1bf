import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The engine serves the built console at /admin (src/http/routes/admin/console.ts): no CDN, no inline
// script or style, so it runs under the admin pages' Content-Security-Policy.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // The polyfill would be bundled, not inlined, but every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    // Fonts and images stay files rather than data: URIs (the CSP allows both; files cache better).
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
});
