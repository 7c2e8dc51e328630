// stats-diagonal.wgsl for devices with subgroups: the same statistics, layout and output, with
// the points' values loaded once per subgroup instead of once per lane (see
// stats-full-subgroup.wgsl): every SG points, lane l of each subgroup loads point l's vec4 block
// and scale, and subgroupShuffle from a loop-constant lane hands them round. Each lane reads its
// own responsibilities four points at a time. Points past the range's end are masked out.
// Output: partials[((g·DP4 + b)·K + k)·3 + 0..2] = s, q, (N, 0, 0, 0).

enable subgroups;

override DP4: u32;
override K: u32;
override KW: u32;        // invocations per workgroup, a multiple of SG, ≤ 256 (lanes ≥ K idle)
override STRIDE: u32;
override SG: u32;        // points per shared load: 4, 8, 16 or 32, ≤ the smallest subgroup size

const BLOCK: u32 = 32u;

struct Chunk {
  n: u32,
  groups: u32,
  npad: u32,             // component k's values start at k·npad in `resp` (a multiple of 4)
  perGroup: u32,         // points per range, a multiple of BLOCK
  zero: u32,             // 0 (see `one` in main)
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> resp: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4f>;
@group(0) @binding(4) var<uniform> chunk: Chunk;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

@compute @workgroup_size(KW)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
        @builtin(subgroup_invocation_id) sid: u32) {
  let g = wid.x;
  let b = wid.y;
  let k = wid.z * KW + lid;
  let kk = min(k, K - 1u);
  let c = params[kk * STRIDE + b];
  let rk = kk * chunk.npad / 4u;
  let mine = sid % SG;
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
    for (var ps = p0; ps < min(p0 + BLOCK, end); ps += SG) {
      let pl = min(ps + mine, end - 1u);
      let x = points[pl * DP4 + b];
      let sl = scale[pl];
      for (var m = 0u; m < SG / 4u; m++) {
        let r4 = resp[rk + ps / 4u + m];
        for (var j = 0u; j < 4u; j++) {
          let i = 4u * m + j;
          let r = select(0.0, r4[j] * subgroupShuffle(sl, i), ps + i < end);
          let d = subgroupShuffle(x, i) - c;
          let a = r * d;
          bs += a;
          bq += a * d;
          bn += r;
        }
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
