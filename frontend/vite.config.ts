/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { precompress } from './precompress.mjs';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// Django serves the built files under /static/ and reads dist/.vite/manifest.json
// (entry "src/main.tsx"). In dev, Django's page loads
// http://localhost:5173/static/@vite/client and /static/src/main.tsx from this server.
export default defineConfig({
  base: '/static/',
  plugins: [react(), tailwindcss(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    // React + router + markdown are ~150 kB gzip together; the highlighter is split off lazily.
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      input: 'src/main.tsx',
    },
  },
  server: {
    host: 'localhost',
    port: 5173,
    strictPort: true,
    origin: 'http://localhost:5173',
    cors: true,
  },
  test: {
    environment: 'jsdom',
    globals: false,
    setupFiles: ['./src/test/setup.ts'],
    css: false,
    // One jsdom per worker, not one per file: setting it up was half of the run (49 s →
    // 15 s). setup.ts cleans the DOM and storage after each test; modules keep no page state.
    isolate: false,
  },
});
