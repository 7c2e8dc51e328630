// Sufficient statistics for diagonal covariance, around each component's current mean c_k:
// per vec4 block of dimensions s = Σ r (x − c_k) and q = Σ r (x − c_k)², and N = Σ r.
// Same layout as stats-full.wgsl: an invocation is one component, a workgroup one block b for all
// components over a contiguous range of points, so point loads are workgroup-uniform broadcasts
// and only r_nk differs per lane. Output: partials[((g·DP4 + b)·K + k)·3 + 0..2] = s, q, (N, 0, 0, 0).

override DP4: u32;
override K: u32;
override KW: u32;        // components per workgroup (= workgroup size), ≤ 256
override STRIDE: u32;

const BLOCK: u32 = 32u;

struct Chunk {
  n: u32,
  groups: u32,
  npad: u32,             // component k's values start at k·npad in `resp`
  perGroup: u32,         // points per range, a multiple of BLOCK
  zero: u32,             // 0 (see `one` in main)
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> resp: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4f>;
@group(0) @binding(4) var<uniform> chunk: Chunk;
@group(0) @binding(5) var<storage, read> scale: array<vec4f>;

@compute @workgroup_size(KW)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;
  let b = wid.y;
  let k = wid.z * KW + lid;
  let kk = min(k, K - 1u);
  let c = params[kk * STRIDE + b];
  let rk = kk * chunk.npad / 4u;
  // Two-level summation, as in stats-full.wgsl: block sums into Kahan-compensated totals.
  var s = vec4f(0.0);
  var q = vec4f(0.0);
  var nk = vec4f(0.0);
  var sComp = vec4f(0.0);
  var qComp = vec4f(0.0);
  var nkComp = vec4f(0.0);
  // The compensation needs the opaque `one` (1.0 from the uniform, unknown to the compiler): the
  // shader compiler applies the algebra of real numbers to (t + y) − t − y — Mesa's lavapipe folds
  // it to 0, which would leave plain float32 sums — but it cannot simplify ((t + y) · one − t) − y.
  let one = 1.0 + f32(chunk.zero);
  let start = g * chunk.perGroup;
  let end = min(start + chunk.perGroup, chunk.n);
  for (var p0 = start; p0 < end; p0 += BLOCK) {
    var bs = vec4f(0.0);
    var bq = vec4f(0.0);
    var bn = 0.0;
    // Four points per step, as in stats-full.wgsl.
    let q1 = (min(p0 + BLOCK, end) + 3u) / 4u;
    for (var q = p0 / 4u; q < q1; q++) {
      let r4 = resp[rk + q] * scale[q];
      bn += dot(r4, vec4f(1.0));
      for (var i = 0u; i < 4u; i++) {
        let d = points[(4u * q + i) * DP4 + b] - c;
        let a = r4[i] * d;
        bs += a;
        bq += a * d;
      }
    }
    let ys = bs - sComp;
    let ts = (s + ys) * one;
    sComp = (ts - s) - ys;
    s = ts;
    let yq = bq - qComp;
    let tq = (q + yq) * one;
    qComp = (tq - q) - yq;
    q = tq;
    let yn = vec4f(bn, 0.0, 0.0, 0.0) - nkComp;
    let tn = (nk + yn) * one;
    nkComp = (tn - nk) - yn;
    nk = tn;
  }
  if (k < K) {
    let o = ((g * DP4 + b) * K + k) * 3u;
    // Each total less the compensation of its last addition, which it leaves out.
    partials[o] = s - sComp;
    partials[o + 1u] = q - qComp;
    partials[o + 2u] = nk - nkComp;
  }
}
