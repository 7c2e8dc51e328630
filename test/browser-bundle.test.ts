// The root entry and the training worker bundle for browsers: nothing reachable imports a Node
// built-in (esbuild's browser platform fails the build on one) or ml-matrix, and the WGSL shaders
// are inside.
import { describe, it, expect } from 'vitest';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function bundle(entry: string): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [entry], absWorkingDir: ROOT, bundle: true, format: 'esm', platform: 'browser',
    target: 'es2022', write: false, metafile: true, logLevel: 'silent',
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

describe('browser bundle', () => {
  it.each(['dist/index.js', 'dist/worker/worker-entry.js'])('%s bundles for the browser without Node built-ins', async (entry) => {
    const { code, inputs } = await bundle(entry);
    expect(inputs.filter((i) => i.startsWith('node:') || /(^|\/)node_modules\/webgpu\//.test(i))).toEqual([]);
    // Nor ml-matrix, whose ES module entry re-exports CommonJS: a worker served unbundled (Vite's
    // dev server) failed on it with "exports is not defined".
    expect(inputs.filter((i) => /(^|\/)node_modules\/ml-matrix\//.test(i))).toEqual([]);
    expect(inputs.some((i) => i.endsWith('dist/backends/webgpu/shaders.generated.js'))).toBe(true);
    expect(code).toMatch(/@compute/); // the embedded WGSL
  });

  it('the root entry finds its worker script with the bundler-recognised URL pattern', async () => {
    const { code } = await bundle('dist/index.js');
    expect(code).toMatch(/new Worker\(new URL\("\.\/worker-entry\.js", import\.meta\.url\)/);
  });

  it('the worker is exported as webgmm/worker, for bundlers that need it as an entry point of its own (esbuild, Rollup)', async () => {
    // Resolved through package.json's exports from a project that depends on webgmm.
    const dir = mkdtempSync(join(tmpdir(), 'webgmm-worker-entry-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(ROOT, join(dir, 'node_modules', 'webgmm'), 'dir');
      const result = await build({
        entryPoints: { 'worker-entry': 'webgmm/worker' }, absWorkingDir: dir, bundle: true, format: 'esm', platform: 'browser',
        target: 'es2022', write: false, metafile: true, logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.some((i) => i.endsWith('dist/worker/worker-entry.js'))).toBe(true);
      expect(result.outputFiles[0]!.text).toMatch(/@compute/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a Node built-in reachable from the root entry would fail the build (the check can fail)', async () => {
    await expect(
      build({ stdin: { contents: "import 'node:fs'; export * from './dist/index.js';", resolveDir: ROOT }, bundle: true, platform: 'browser', write: false, logLevel: 'silent' }),
    ).rejects.toThrow(/node:fs/);
  });
});
