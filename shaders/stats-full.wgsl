// Sufficient statistics for full covariance, around each component's current mean c_k
// (d = x − c_k keeps float32 accurate however far the clusters lie from the origin):
//   S_k = Σ_n r_nk d dᵀ (upper 4×4 blocks),  s_k = Σ_n r_nk d,  N_k = Σ_n r_nk.
//
// Layout, chosen for how CPU drivers (lavapipe) run compute shaders — one invocation per SIMD
// lane — and good for GPUs too: an invocation is one component (lanes run across components), a
// workgroup is one 4×4 block (bi, bj) of S for all components over one contiguous range of points.
// Every point value a workgroup loads is then workgroup-uniform (one scalar load broadcast to all
// lanes, no gathers), the per-component mean sits in registers, and each point costs 16 FMAs per
// lane into 16 private accumulators; only r_nk differs per lane. Diagonal blocks also accumulate
// s_k and N_k. No barriers: each workgroup writes its own partials, summed by reduce.wgsl.
// Output: partials[((g·T + t)·K + k)·6 + 0..5] = S block columns 0..3, s block, (N, 0, 0, 0).

override DP4: u32;       // vec4 blocks per point
override K: u32;
override KW: u32;        // components per workgroup (= workgroup size), ≤ 256
override STRIDE: u32;    // component stride in params (vec4s); the mean comes first

// Points per plain float32 sum before it joins the compensated totals (64, as the subgroup kernel).
const BLOCK: u32 = 64u;

struct Chunk {
  n: u32,
  groups: u32,           // point ranges (workgroups along x)
  npad: u32,             // component k's values start at k·npad in `resp`
  perGroup: u32,         // points per range
  zero: u32,             // 0 (see `one` in main)
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> resp: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4f>;
@group(0) @binding(4) var<uniform> chunk: Chunk;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

@compute @workgroup_size(KW)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
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
  let rk = kk * chunk.npad;

  // Two-level summation keeps float32 accurate over long ranges: plain sums over blocks of
  // BLOCK points, added into Kahan-compensated totals once per block.
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
    let p1 = min(p0 + BLOCK, end);
    for (var p = p0; p < p1; p++) {
      let r = resp[rk + p] * scale[p];
      let di = points[p * DP4 + bi] - ci;
      let dj = points[p * DP4 + bj] - cj;
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
