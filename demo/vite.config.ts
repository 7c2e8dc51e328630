// The demo imports the built package (dist/), as an app that installed webgmm would, so the
// browser bundle it makes is the real root entry plus its module worker.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

export default defineConfig({
  root,
  resolve: { alias: { webgmm: dist } },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  worker: { format: 'es' },
  build: { outDir: fileURLToPath(new URL('./dist', import.meta.url)), emptyOutDir: true, target: 'es2022' },
  clearScreen: false,
});
