// End to end in a real browser: Debian's Chromium (headless, WebGPU through SwiftShader when there
// is no GPU) loads the built demo, trains the `separated` fixture on the WebGPU backend in a worker,
// and must reach the log-likelihood Node's float64 CPU backend reaches from the same start. Then a
// long run checks that the page answers clicks mid-training and that Cancel stops the worker.
// Screenshots go to test-artifacts/.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview, type PreviewServer } from 'vite';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { train } from '../src/index.js';
import { FIXTURES, readCsv, relErr } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.WEBGMM_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
if (!HAVE_BROWSER) {
  if (process.env.WEBGMM_REQUIRE_GPU === '1') throw new Error(`WEBGMM_REQUIRE_GPU=1 but there is no Chromium at ${CHROMIUM} for the browser test (apt-get install chromium)`);
  console.warn(`\n*** Browser e2e test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium). ***\n`);
}

const SEPARATED = join(FIXTURES, 'mlpack-em', 'separated_N3000_D2_K3.csv');

describe.skipIf(!HAVE_BROWSER)('demo in headless Chromium', () => {
  let server: PreviewServer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const configFile = join(ROOT, 'demo', 'vite.config.ts');
    await build({ configFile, logLevel: 'warn' });
    server = await preview({ configFile, logLevel: 'warn', preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('vite preview gave no URL');
    profile = mkdtempSync(join(tmpdir(), 'webgmm-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    await page.goto(url);
    await page.waitForSelector('#status[data-redraws]');
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await new Promise<void>((resolve) => (server ? server.httpServer.close(() => resolve()) : resolve()));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const fill = async (values: Record<string, string>): Promise<void> => {
    for (const [id, v] of Object.entries(values)) await page.fill(`#${id}`, v);
  };
  const state = (): Promise<string | null> => page.getAttribute('#status', 'data-state');

  it('trains a CSV on WebGPU and matches Node\'s CPU backend from the same start', async () => {
    await page.setInputFiles('#file', SEPARATED);
    await page.waitForFunction(() => document.getElementById('data-info')!.textContent!.includes('3,000 points'));
    await fill({ k: '3', trials: '1', seed: '1', 'max-it': '300', tol: '1e-8' });
    await page.selectOption('#backend', 'webgpu');
    await page.selectOption('#cov', 'full');
    await page.click('#train');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status')!.dataset.state!), undefined, { timeout: 150_000 });
    const message = await page.textContent('#message');
    expect(await state(), message ?? '').toBe('done');
    const adapter = await page.getAttribute('#status', 'data-adapter');
    const backend = await page.getAttribute('#status', 'data-backend');
    const ll = Number(await page.getAttribute('#status', 'data-ll'));
    const iterations = Number(await page.getAttribute('#status', 'data-iterations'));
    console.log(`browser e2e: WebGPU adapter "${adapter}", backend ${backend}, ${iterations} iterations, log-likelihood ${ll}`);
    expect(backend).toBe('webgpu');
    expect(adapter).toBeTruthy();

    const expected = await train(readCsv(SEPARATED), { gaussians: 3, seed: 1, maxIterations: 300, tolerance: 1e-8, backend: 'cpu' });
    console.log(`node CPU: ${expected.iterations} iterations, log-likelihood ${expected.logLikelihood}`);
    expect(relErr(ll, expected.logLikelihood)).toBeLessThan(1e-6);

    // The downloads are the model: mlpack JSON names mlpack's class, webgmm JSON its own format.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-mlpack')]);
    expect(download.suggestedFilename()).toBe('model.mlpack.json');
    await page.screenshot({ path: join(ARTIFACTS, 'demo-separated.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 200_000);

  it('reads a dropped CSV with its header, and names the line of a bad one', async () => {
    const drop = async (name: string, text: string): Promise<void> => {
      const transfer = await page.evaluateHandle(([n, t]) => {
        const dt = new DataTransfer();
        dt.items.add(new File([t!], n!, { type: 'text/csv' }));
        return dt;
      }, [name, text]);
      await page.dispatchEvent('#drop', 'drop', { dataTransfer: transfer });
    };
    await drop('heights.csv', 'height_cm,weight_kg\n170,65\n180,80\n165,55\n');
    await page.waitForFunction(() => document.getElementById('data-info')!.textContent!.startsWith('heights.csv: 3 points'));
    expect(await page.getAttribute('#scatter', 'aria-label')).toBe('scatter plot of height_cm against weight_kg');
    await drop('broken.csv', '1,2\n3,x\n');
    await page.waitForFunction(() => document.getElementById('message')!.textContent !== '');
    expect(await page.textContent('#message')).toBe('broken.csv: line 2, column 2: "x" is not a number');
    expect(await page.textContent('#data-info')).toMatch(/^heights\.csv/); // the good data stays loaded
  }, 60_000);

  it('projects D > 2 data on principal components with labelled axes', async () => {
    await fill({ 'gen-n': '4000', 'gen-d': '5', 'gen-c': '3', 'gen-seed': '3' });
    await page.click('#generate');
    await fill({ k: '3', 'max-it': '60', tol: '1e-6' });
    await page.selectOption('#backend', 'webgpu');
    await page.click('#train');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status')!.dataset.state!), undefined, { timeout: 150_000 });
    expect(await state(), (await page.textContent('#message')) ?? '').toBe('done');
    const label = await page.getAttribute('#scatter', 'aria-label');
    expect(label).toMatch(/PC1 \([\d.]+% of variance\).*PC2/);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-pca.png'), fullPage: true });
  }, 200_000);

  it('stays responsive while training, and Cancel stops the worker', async () => {
    await fill({ 'gen-n': '400000', 'gen-d': '2', 'gen-c': '5', 'gen-seed': '11' });
    await page.click('#generate');
    await fill({ k: '5', 'max-it': '0', tol: '0' });
    await page.selectOption('#backend', 'webgpu');
    await page.click('#train');
    await page.waitForFunction(() => Number(document.getElementById('status')!.dataset.iteration ?? -1) >= 2, undefined, { timeout: 150_000 });
    expect(await state()).toBe('training');

    // A control clicked mid-training responds at once: the checkbox flips and the view redraws.
    const redrawsBefore = Number(await page.getAttribute('#status', 'data-redraws'));
    const clickedAt = Date.now();
    await page.click('#two-sigma');
    await page.waitForFunction((n) => document.getElementById('status')!.dataset.twoSigma === 'false' && Number(document.getElementById('status')!.dataset.redraws) > n, redrawsBefore, { timeout: 5_000 });
    const responseMs = Date.now() - clickedAt;
    expect(await page.isChecked('#two-sigma')).toBe(false);
    expect(await state()).toBe('training');
    console.log(`browser e2e: control answered ${responseMs} ms after the click, mid-training`);

    await page.click('#cancel');
    await page.waitForFunction(() => document.getElementById('status')!.dataset.state === 'cancelled', undefined, { timeout: 5_000 });
    const stoppedAt = await page.getAttribute('#status', 'data-iteration');
    await page.waitForTimeout(2_000);
    expect(await page.getAttribute('#status', 'data-iteration')).toBe(stoppedAt);
    expect(await page.isEnabled('#train')).toBe(true);
    expect(pageErrors).toEqual([]);
  }, 200_000);
});
