/**
 * The benchmark as an SVG bar chart: seconds per EM iteration for each case, one bar per backend
 * and peer, on a log scale (cases span four orders of magnitude). Plain SVG text, no dependencies,
 * so the README can show the file as it is.
 */

interface Timed {
  secondsPerIteration?: number;
  error?: string;
}

export interface ChartCase {
  case: string;
  webgpu?: Timed;
  cpu?: Timed;
  sklearn?: Timed;
}

const SERIES = [
  { key: 'webgpu', label: 'webgmm WebGPU', colour: '#1f4e9c' },
  { key: 'cpu', label: 'webgmm CPU (float64)', colour: '#7fa3d9' },
  { key: 'sklearn', label: 'scikit-learn', colour: '#e08a2b' },
] as const;

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function chartSvg(cases: ChartCase[], meta: { adapter?: string | undefined; cpu: string; date: string }): string {
  const values = cases.flatMap((c) => SERIES.map((s) => c[s.key]?.secondsPerIteration).filter((v): v is number => v !== undefined && v > 0));
  const lo = values.length ? 10 ** Math.floor(Math.log10(Math.min(...values))) : 1e-3;
  const hi = values.length ? 10 ** Math.ceil(Math.log10(Math.max(...values))) : 1;
  const group = 22 * SERIES.length + 26;
  const left = 70, top = 70, plotH = 300, bottom = 150;
  const width = Math.max(520, left + 20 + cases.length * group);
  const height = top + plotH + bottom;
  const y = (v: number): number => top + plotH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  out.push(`<text x="${left}" y="18" font-size="14" font-weight="600">Seconds per EM iteration (log scale; lower is better)</text>`);
  const clip = (t: string): string => (t.length > 64 ? `${t.slice(0, 63)}…` : t);
  out.push(`<text x="${left}" y="34" fill="#555">${esc(`${meta.date} · WebGPU adapter: ${clip(meta.adapter ?? 'none')}`)}</text>`);
  out.push(`<text x="${left}" y="49" fill="#555">${esc(`CPU: ${clip(meta.cpu)}`)}</text>`);
  for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${left}" x2="${width - 10}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#444">${v >= 1 ? v.toFixed(0) : v.toPrecision(1)} s</text>`);
  }
  cases.forEach((c, i) => {
    const x0 = left + 14 + i * group;
    SERIES.forEach((s, j) => {
      const v = c[s.key]?.secondsPerIteration;
      const x = x0 + j * 22;
      if (v === undefined || !(v > 0)) {
        if (c[s.key]) out.push(`<text x="${x + 9}" y="${top + plotH - 4}" text-anchor="middle" fill="#a00">×</text>`);
        return;
      }
      const yy = y(v);
      out.push(`<rect x="${x}" y="${yy.toFixed(1)}" width="18" height="${(top + plotH - yy).toFixed(1)}" fill="${s.colour}"><title>${esc(`${c.case}: ${s.label} ${v.toPrecision(3)} s`)}</title></rect>`);
    });
    const cx = x0 + (22 * SERIES.length) / 2;
    out.push(`<text transform="translate(${cx},${top + plotH + 10}) rotate(40)" fill="#222">${esc(c.case)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${width - 10}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`);
  SERIES.forEach((s, j) => {
    const x = left + j * 170;
    out.push(`<rect x="${x}" y="${height - 22}" width="12" height="12" fill="${s.colour}"/><text x="${x + 18}" y="${height - 12}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
