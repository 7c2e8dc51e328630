/** Canvas drawing: the projected points coloured by component with 1σ/2σ ellipses, and the log-likelihood curve. */
import type { GaussianMixture } from 'webgmm';
import { projectCovariance, projectPoint, type Projection } from './projection.js';

export const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324', '#469990', '#808000', '#000075', '#bfef45', '#fabed4', '#dcbeff', '#aaffc3', '#ffd8b1'];
const colour = (k: number): string => PALETTE[k % PALETTE.length]!;

/** Sizes a canvas's backing store to its CSS box times the device pixel ratio; returns the 2-D context in CSS pixels. */
function context(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const g = canvas.getContext('2d')!;
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  return { g, w, h };
}

/** Nice tick values covering [lo, hi], and the decimals their step needs. */
function ticks(lo: number, hi: number, count: number, integer = false): { values: number[]; decimals: number } {
  const span = hi - lo || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  if (integer) step = Math.max(1, Math.round(step));
  const values: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) values.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return { values, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

function fmt(t: number, decimals: number): string {
  const a = Math.abs(t);
  if (a >= 1e6 || (a < 1e-4 && t !== 0)) return t.toExponential(2);
  return t.toFixed(Math.min(decimals, 10));
}

interface Frame {
  g: CanvasRenderingContext2D;
  x: (u: number) => number;
  y: (v: number) => number;
  left: number; top: number; right: number; bottom: number;
}

function axes(canvas: HTMLCanvasElement, xr: [number, number], yr: [number, number], labels: [string, string], integerX = false): Frame {
  const { g, w, h } = context(canvas);
  g.font = '11px system-ui, sans-serif';
  const xt = ticks(xr[0], xr[1], 6, integerX), yt = ticks(yr[0], yr[1], 5);
  const yLabels = yt.values.map((t) => fmt(t, yt.decimals));
  // Room for the widest tick label, then the rotated axis title.
  const left = Math.ceil(Math.max(...yLabels.map((l) => g.measureText(l).width), 20)) + 30;
  const right = w - 12, top = 12, bottom = h - 44;
  const x = (u: number): number => left + ((u - xr[0]) / (xr[1] - xr[0] || 1)) * (right - left);
  const y = (v: number): number => bottom - ((v - yr[0]) / (yr[1] - yr[0] || 1)) * (bottom - top);
  g.strokeStyle = '#ddd';
  g.fillStyle = '#555';
  g.lineWidth = 1;
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const t of xt.values) {
    g.beginPath(); g.moveTo(x(t), top); g.lineTo(x(t), bottom); g.stroke();
    g.fillText(fmt(t, xt.decimals), x(t), bottom + 4);
  }
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  yt.values.forEach((t, i) => {
    g.beginPath(); g.moveTo(left, y(t)); g.lineTo(right, y(t)); g.stroke();
    g.fillText(yLabels[i]!, left - 4, y(t));
  });
  g.strokeStyle = '#888';
  g.strokeRect(left, top, right - left, bottom - top);
  g.fillStyle = '#222';
  g.font = '12px system-ui, sans-serif';
  g.textAlign = 'center';
  g.textBaseline = 'bottom';
  g.fillText(labels[0], (left + right) / 2, h - 4);
  g.save();
  g.translate(14, (top + bottom) / 2);
  g.rotate(-Math.PI / 2);
  g.textBaseline = 'middle';
  g.fillText(labels[1], 0, 0);
  g.restore();
  return { g, x, y, left, top, right, bottom };
}

export interface ScatterInput {
  /** Projected points (u, v interleaved). */
  uv: Float64Array;
  /** Component of each drawn point, or null for uncoloured. */
  assignment: Int32Array | null;
  projection: Projection;
  model: GaussianMixture | null;
  showTwoSigma: boolean;
  bounds: [number, number, number, number];
}

export function drawScatter(canvas: HTMLCanvasElement, s: ScatterInput): void {
  const [u0, u1, v0, v1] = s.bounds;
  const f = axes(canvas, [u0, u1], [v0, v1], s.projection.labels);
  const { g } = f;
  g.save();
  g.beginPath();
  g.rect(f.left, f.top, f.right - f.left, f.bottom - f.top);
  g.clip();
  g.globalAlpha = 0.55;
  const n = s.uv.length / 2;
  for (let i = 0; i < n; i++) {
    g.fillStyle = s.assignment ? colour(s.assignment[i]!) : '#666';
    g.fillRect(f.x(s.uv[2 * i]!) - 1.2, f.y(s.uv[2 * i + 1]!) - 1.2, 2.4, 2.4);
  }
  g.globalAlpha = 1;
  const m = s.model;
  if (m) {
    const d = m.dimensionality, diagonal = m.covarianceType === 'diagonal';
    for (let k = 0; k < m.gaussians; k++) {
      const [cu, cv] = projectPoint(s.projection, m.means, k * d);
      const [suu, suv, svv] = projectCovariance(s.projection, m.covariances, diagonal ? k * d : k * d * d, diagonal);
      // Principal axes of the 2×2 covariance, in closed form.
      const tr = (suu + svv) / 2, det = Math.sqrt(Math.max(((suu - svv) / 2) ** 2 + suv * suv, 0));
      const l1 = Math.max(tr + det, 0), l2 = Math.max(tr - det, 0);
      const angle = Math.atan2(l1 - suu, suv || 1e-300);
      const theta = suv === 0 ? (suu >= svv ? 0 : Math.PI / 2) : angle;
      g.strokeStyle = colour(k);
      for (const r of s.showTwoSigma ? [1, 2] : [1]) {
        g.lineWidth = r === 1 ? 2.2 : 1.4;
        g.setLineDash(r === 1 ? [] : [6, 4]);
        g.beginPath();
        for (let t = 0; t <= 64; t++) {
          const a = (t / 64) * 2 * Math.PI;
          const p = r * Math.sqrt(l1) * Math.cos(a), q = r * Math.sqrt(l2) * Math.sin(a);
          const u = cu + p * Math.cos(theta) - q * Math.sin(theta);
          const v = cv + p * Math.sin(theta) + q * Math.cos(theta);
          if (t === 0) g.moveTo(f.x(u), f.y(v)); else g.lineTo(f.x(u), f.y(v));
        }
        g.stroke();
      }
      g.setLineDash([]);
      g.fillStyle = '#000';
      g.beginPath();
      g.arc(f.x(cu), f.y(cv), 3.5, 0, 2 * Math.PI);
      g.fill();
      g.fillStyle = colour(k);
      g.beginPath();
      g.arc(f.x(cu), f.y(cv), 2.2, 0, 2 * Math.PI);
      g.fill();
    }
  }
  g.restore();
}

/** One curve per trial: log-likelihood per point against iteration. */
export function drawCurve(canvas: HTMLCanvasElement, trials: number[][]): void {
  const all = trials.flat();
  const maxIt = Math.max(1, ...trials.map((t) => t.length - 1));
  const lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
  const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.01 || 1;
  const f = axes(canvas, [0, maxIt], [lo - pad, hi + pad], ['EM iteration', 'log-likelihood per point'], true);
  const { g } = f;
  trials.forEach((t, i) => {
    g.strokeStyle = i === trials.length - 1 ? '#1f4e9c' : '#9db3d9';
    g.lineWidth = 2;
    g.beginPath();
    t.forEach((v, it) => (it === 0 ? g.moveTo(f.x(it), f.y(v)) : g.lineTo(f.x(it), f.y(v))));
    g.stroke();
    g.fillStyle = g.strokeStyle;
    for (let it = 0; it < t.length; it++) g.fillRect(f.x(it) - 1.5, f.y(t[it]!) - 1.5, 3, 3);
  });
}
