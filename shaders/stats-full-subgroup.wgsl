// stats-full.wgsl for devices with subgroups: the same statistics, layout and output, with the
// points' values loaded once per subgroup instead of once per lane.
//
// Every lane (component) of a workgroup needs the same point values. Lavapipe loads a storage
// buffer address that all lanes share lane by lane, with a bounds check each, unless the address
// is a compile-time constant, so a shared load costs as much as one with a different address per
// lane. Here, every SG points, lane l of each subgroup loads point l's two vec4 blocks and scale
// (l < SG ≤ the subgroup size; lanes beyond SG duplicate them), and the points are then handed
// round with subgroupShuffle from a loop-constant lane: one load per SG points instead of one per
// point. Each lane also reads its own responsibilities four points at a time (vec4). Points past
// the range's end are masked out (r = 0) and their loads clamped to its last point.
// Output: partials[((g·T + t)·K + k)·6 + 0..5] = S block columns 0..3, s block, (N, 0, 0, 0).

enable subgroups;

override DP4: u32;       // vec4 blocks per point
override K: u32;
override KW: u32;        // invocations per workgroup, a multiple of SG, ≤ 256 (lanes ≥ K idle)
override STRIDE: u32;    // component stride in params (vec4s); the mean comes first
override SG: u32;        // points per shared load: 4, 8, 16 or 32, ≤ the smallest subgroup size

// Points per plain float32 sum before it joins the compensated totals: 64, as in fused.wgsl (with
// the compensation live, 32 cost ~10% of a 100k × 32, K = 16 pass).
const BLOCK: u32 = 64u;

struct Chunk {
  n: u32,
  groups: u32,           // point ranges (workgroups along x)
  npad: u32,             // component k's values start at k·npad in `resp` (a multiple of 4)
  perGroup: u32,         // points per range, a multiple of 32 (the host's STATS_BLOCK; SG divides it)
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
  let t = wid.y;
  let k = wid.z * KW + lid;
  let kk = min(k, K - 1u);
  // Block t of the upper triangle, enumerated row by row.
  var bi = 0u;
  var rest = t;
  while (rest >= DP4 - bi) {
    rest -= DP4 - bi;
    bi++;
  }
  let bj = bi + rest;
  let diagonal = bi == bj;
  let ci = params[kk * STRIDE + bi];
  let cj = params[kk * STRIDE + bj];
  let rk = kk * chunk.npad / 4u;
  let mine = sid % SG;

  // Two-level summation, as in stats-full.wgsl.
  var total = mat4x4f();
  var totalComp = mat4x4f();
  var sum = vec4f(0.0);
  var sumComp = vec4f(0.0);
  var nk = 0.0;
  var nkComp = 0.0;
  // The compensation needs the opaque `one` (1.0 from the uniform, unknown to the compiler): the
  // shader compiler applies the algebra of real numbers to (t + y) − t − y — Mesa's lavapipe folds
  // it to 0, which would leave plain float32 sums — but it cannot simplify ((t + y) · one − t) − y.
  let one = 1.0 + f32(chunk.zero);
  let start = g * chunk.perGroup;
  let end = min(start + chunk.perGroup, chunk.n);
  for (var p0 = start; p0 < end; p0 += BLOCK) {
    var s0 = vec4f(0.0);
    var s1 = vec4f(0.0);
    var s2 = vec4f(0.0);
    var s3 = vec4f(0.0);
    var bs = vec4f(0.0);
    var bn = 0.0;
    for (var ps = p0; ps < min(p0 + BLOCK, end); ps += SG) {
      // This lane's point of the next SG (clamped to the range; masked below).
      let pl = min(ps + mine, end - 1u);
      let xi = points[pl * DP4 + bi];
      let xj = points[pl * DP4 + bj];
      let sl = scale[pl];
      for (var m = 0u; m < SG / 4u; m++) {
        let r4 = resp[rk + ps / 4u + m];
        for (var c = 0u; c < 4u; c++) {
          let i = 4u * m + c;
          let r = select(0.0, r4[c] * subgroupShuffle(sl, i), ps + i < end);
          let di = subgroupShuffle(xi, i) - ci;
          let dj = subgroupShuffle(xj, i) - cj;
          let a = r * di;
          s0 += a * dj.x;
          s1 += a * dj.y;
          s2 += a * dj.z;
          s3 += a * dj.w;
          if (diagonal) {
            bs += a;
            bn += r;
          }
        }
      }
    }
    let y = mat4x4f(s0, s1, s2, s3) - totalComp;
    let t = (total + y) * one;
    totalComp = (t - total) - y;
    total = t;
    if (diagonal) {
      let ys = bs - sumComp;
      let ts = (sum + ys) * one;
      sumComp = (ts - sum) - ys;
      sum = ts;
      let yn = bn - nkComp;
      let tn = (nk + yn) * one;
      nkComp = (tn - nk) - yn;
      nk = tn;
    }
  }
  if (k < K) {
    let o = ((g * ((DP4 * (DP4 + 1u)) / 2u) + t) * K + k) * 6u;
    // Each total less the compensation of its last addition, which it leaves out.
    partials[o] = total[0] - totalComp[0];
    partials[o + 1u] = total[1] - totalComp[1];
    partials[o + 2u] = total[2] - totalComp[2];
    partials[o + 3u] = total[3] - totalComp[3];
    partials[o + 4u] = sum - sumComp;
    partials[o + 5u] = vec4f(nk - nkComp, 0.0, 0.0, 0.0);
  }
}
