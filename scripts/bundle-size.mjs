#!/usr/bin/env node
// Size of webgmm in a browser app: the root entry and the training worker, each bundled for the
// browser with esbuild (minified), raw and gzip-compressed. Run after `npm run build`.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const entries = [
  ['root entry (webgmm)', 'dist/index.js'],
  ['training worker', 'dist/worker/worker-entry.js'],
];
const root = fileURLToPath(new URL('..', import.meta.url));
const rows = [];
for (const [name, entry] of entries) {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  rows.push({ bundle: name, entry, minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length });
}
const kb = (b) => `${(b / 1024).toFixed(1)} KiB`;
console.log('bundle                 minified     gzip');
for (const r of rows) console.log(`${r.bundle.padEnd(22)} ${kb(r.minifiedBytes).padStart(10)} ${kb(r.gzipBytes).padStart(10)}`);
if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
