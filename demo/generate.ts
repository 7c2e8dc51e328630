/** The demo's built-in data: well-separated Gaussian clusters with random shapes, seeded. */

/** mulberry32: a tiny seeded PRNG; the demo only needs reproducible, decent-looking samples. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedData {
  data: Float64Array;
  rows: number;
  cols: number;
  labels: Int32Array;
}

/** `n` points in `d` dimensions from `clusters` Gaussians with random centres, weights and shapes. */
export function generateClusters(n: number, d: number, clusters: number, seed: number): GeneratedData {
  const rand = prng(seed);
  const normal = (): number => {
    const u = 1 - rand(), v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const centres = Array.from({ length: clusters }, () => Array.from({ length: d }, () => (rand() * 2 - 1) * 10));
  // Cholesky-like factors: random lower-triangular with a positive diagonal, scaled per cluster.
  const factors = Array.from({ length: clusters }, () => {
    const scale = 0.5 + rand() * 1.5;
    return Array.from({ length: d }, (_, r) => Array.from({ length: d }, (_, c) => (c < r ? normal() * 0.6 : c === r ? 0.4 + rand() : 0) * scale));
  });
  const raw = Array.from({ length: clusters }, () => 0.3 + rand());
  const total = raw.reduce((a, b) => a + b, 0);
  const weights = raw.map((w) => w / total);
  const data = new Float64Array(n * d);
  const labels = new Int32Array(n);
  const z = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let u = rand(), c = 0;
    while (c < clusters - 1 && u >= weights[c]!) u -= weights[c++]!;
    labels[i] = c;
    for (let j = 0; j < d; j++) z[j] = normal();
    const L = factors[c]!;
    for (let r = 0; r < d; r++) {
      let s = centres[c]![r]!;
      for (let j = 0; j <= r; j++) s += L[r]![j]! * z[j]!;
      data[i * d + r] = s;
    }
  }
  return { data, rows: n, cols: d, labels };
}
