/** The hosted pages, built into dist/web and served by Causeway itself (src/http/pages/web.ts). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/web/',
  plugins: [react()],
  build: {
    outDir: path.resolve(here, '../../dist/web'),
    emptyOutDir: true,
    rollupOptions: {
      input: { connect: path.join(here, 'connect.html'), manage: path.join(here, 'manage.html'), dashboard: path.join(here, 'dashboard.html') },
    },
  },
});
