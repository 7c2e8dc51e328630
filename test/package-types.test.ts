// The published type declarations, as a user's project sees them: `import 'webgmm'` resolved
// through package.json's exports by TypeScript itself (strict, no skipLibCheck), once as Node
// resolves it and once as a browser bundler does. Documented usage must type-check, and what the
// runtime refuses (the browser-only createWorker in Node) must not.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const NODE_USER = `
import { train, trainInWorker, readDataFile, useKMeansThreads, GaussianMixture, InvalidArgumentError, type TrainResult } from 'webgmm';
import { writeModelFile } from 'webgmm/node';
useKMeansThreads(false);
const rows = [new Float64Array([1, 2]), new Float64Array([3, 4]), new Float64Array([5, 7])];
const first: TrainResult = await train(rows, { gaussians: 1, seed: 1, backend: 'cpu' });
const warm = { weights: new Float64Array([1]), means: [new Float64Array([3, 4])], covariances: [[new Float64Array([1, 0]), new Float64Array([0, 1])]] };
await train(rows, { gaussians: 1, inputModel: warm });
const model: GaussianMixture = first.model;
const labels: Int32Array | number[] = model.predict(rows);
const loaded = await readDataFile('data.csv');
await trainInWorker(loaded, { gaussians: 2, onIteration: ({ logLikelihood }) => void logLikelihood });
// @ts-expect-error createWorker is the browser's option; Node's trainInWorker has none
await trainInWorker(loaded, { gaussians: 2, createWorker: () => null as never });
await writeModelFile('m.json', model);
// @ts-expect-error rows must be arrays or typed arrays (the run time refuses other array-likes)
await train([{ length: 2, 0: 1, 1: 2 }], { gaussians: 1 });
// @ts-expect-error so must a model's weights
new GaussianMixture({ weights: { length: 1, 0: 1 }, means: [[0, 0]], covariances: [[[1, 0], [0, 1]]] });
export const out = [labels, InvalidArgumentError];
`;

const BROWSER_USER = `
/// <reference types="@webgpu/types" />
import { train, trainInWorker, GaussianMixture, parseDelimited, setGpuProvider } from 'webgmm';
setGpuProvider(async () => navigator.gpu);
const data = parseDelimited(new ArrayBuffer(0), { format: 'csv' });
const result = await trainInWorker(data, { gaussians: 2, createWorker: () => new Worker('/w.js', { type: 'module' }) });
const model: GaussianMixture = result.model;
await train([[1, 2], [3, 4]], { gaussians: 1, inputModel: model.toJSON() });
export const gpu: GPU | undefined = navigator.gpu;
`;

function typecheck(source: string, resolution: 'nodenext' | 'bundler' | 'node10'): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'webgmm-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'webgmm'), 'dir');
    // A browser project that names WebGPU's types installs them itself.
    symlinkSync(join(ROOT, 'node_modules', '@webgpu'), join(dir, 'node_modules', '@webgpu'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(dir, 'user.ts'), source);
    const module = resolution === 'nodenext' ? 'nodenext' : 'esnext';
    // Node: no DOM library, as in a Node project that lists its libs; webgmm's declarations must
    // not need it (nor WebGPU's types, which need the DOM's).
    const lib = resolution === 'bundler' ? ['--lib', 'es2022,dom'] : ['--lib', 'es2023', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
    const r = spawnSync(
      process.execPath,
      [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', module, '--moduleResolution', resolution, ...lib, 'user.ts'],
      { cwd: dir, encoding: 'utf8' },
    );
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('published types (dist/*.d.ts through package.json exports)', () => {
  it('Node usage type-checks without skipLibCheck and without the DOM library, with the Node entry\'s types', () => {
    const r = typecheck(NODE_USER, 'nodenext');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('browser usage type-checks under bundler resolution, navigator.gpu as the GPU provider', () => {
    const r = typecheck(BROWSER_USER, 'bundler');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('node10 resolution (no "exports" support) finds webgmm/node\'s types through typesVersions', () => {
    const r = typecheck(`import { readDataFile, train } from 'webgmm/node';\nexport const f: typeof readDataFile = readDataFile;\nexport const t = train;\n`, 'node10');
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  it('a misuse is reported (the check can fail)', () => {
    const r = typecheck(`import { train } from 'webgmm';\nawait train([[1]], { gausians: 1 });\n`, 'nodenext');
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/gausians/);
  }, 60_000);
});

/**
 * Every name the published entries export, with every public member of its classes and
 * interfaces: those that carry no TSDoc in dist/*.d.ts (what an editor shows on hover).
 */
function undocumentedExports(entry: string): string[] {
  const program = ts.createProgram([entry], { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const documented = (s: ts.Symbol): boolean => ts.displayPartsToString(s.getDocumentationComment(checker)).trim() !== '';
  const missing: string[] = [];
  for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!)) {
    const s = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    if (!documented(s)) missing.push(exported.name);
    const declaration = s.declarations?.[0];
    if (!declaration || !(ts.isClassDeclaration(declaration) || ts.isInterfaceDeclaration(declaration))) continue;
    for (const member of checker.getDeclaredTypeOfSymbol(s).getProperties()) {
      const d = member.declarations?.[0];
      // Members inherited from the platform (Error's message, …) are documented there.
      if (!d || !d.getSourceFile().fileName.startsWith(join(ROOT, 'dist'))) continue;
      if (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      if (!documented(member)) missing.push(`${exported.name}.${member.name}`);
    }
  }
  return missing;
}

describe('published API documentation', () => {
  it('every export of the root and node entries, and every public member of their classes and interfaces, has TSDoc', () => {
    for (const entry of ['index.d.ts', 'node.d.ts']) expect(undocumentedExports(join(ROOT, 'dist', entry)), entry).toEqual([]);
  }, 60_000);

  it('finds an undocumented export (the check can fail)', () => {
    const dir = mkdtempSync(join(ROOT, 'dist', 'undocumented-'));
    try {
      writeFileSync(join(dir, 'entry.d.ts'), 'export declare const bare: number;\n/** Documented. */\nexport interface Shape {\n  /** Documented. */\n  a: number;\n  b: number;\n}\n');
      expect(undocumentedExports(join(dir, 'entry.d.ts'))).toEqual(['bare', 'Shape.b']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
