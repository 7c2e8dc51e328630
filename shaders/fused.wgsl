// One EM pass over a range of points in one kernel — the E-step and the sufficient statistics
// fused — for K ≤ the device's smallest subgroup and D ≤ FULL_MAXD (full) or MAXD (diagonal).
// The responsibilities never leave the invocation (no N×K buffer, no second dispatch), and each
// point is loaded and differenced once.
//
// A workgroup is a single subgroup and an invocation is one component k: its mean μ_k and
// precision factor P_k = L_k⁻¹ (or 1/σ²) sit in private memory and every point value is a
// workgroup-uniform load (a broadcast on CPU drivers such as lavapipe, no gathers). Per point each
// lane evaluates log p_nk = log w_k + log N(x | μ_k, Σ_k); the log-sum-exp across components is a
// subgroup sum (no barriers, no workgroup memory: on lavapipe a barrier makes the driver keep
// every invocation's private state in memory, which costs more than the arithmetic); then each
// lane adds r_nk (x − μ_k), the upper triangle of r_nk (x − μ_k)(x − μ_k)ᵀ (diagonal: the squares)
// and r_nk into plain sums over SUB points, which then join Kahan-compensated totals (two-level
// summation keeps float32 accurate over long ranges). Statistics are taken around μ_k (design §2),
// in the centred frame the points were uploaded in.
//
// Output per workgroup g: partials[(g·K + k)·SLOTS·4 …] = [S packed row by row (full only)] [s] [N]
// (diagonal: [s] [q] [N]) as consecutive floats, padded to SLOTS vec4s; llPartials[g] =
// (Σ w log p, zero-likelihood points, Σ w |log p|, 0).

enable subgroups;
// The sum of a subgroup operation is the same in every lane, but the uniformity analysis cannot
// know it: branching on it (the underflow fallback below) is subgroup-uniform.
diagnostic(off, subgroup_uniformity);

override D: u32;
override DP4: u32;
override K: u32;           // components = workgroup size ≤ the subgroup size
override DIAGONAL: bool;
override HAS_WEIGHTS: bool;
override STRIDE: u32;      // vec4s per component in params
override SLOTS: u32;       // vec4s per component in partials

// Private arrays need constant sizes. Full covariance stores its matrices square (row r, column
// j at r·FULL_MAXD + j) and every loop has a constant trip count (D), with triangles selected by
// conditions on the loop indices: the compiler then unrolls the loops and every private index is
// static. Beyond D = 8 lavapipe stops unrolling those nested loops and the kernel runs slower than
// the two-kernel path (D = 12: 1.8× slower), so full covariance uses it up to FULL_MAXD only;
// diagonal statistics are vectors (entry j at j), with single loops, up to MAXD.
const MAXD: u32 = 32u;
const FULL_MAXD: u32 = 8u;
const MAXT: u32 = 64u;     // FULL_MAXD², ≥ MAXD
// Points per plain float32 sum of the statistics before it joins the compensated totals.
const SUB: u32 = 32u;
const ZERO_LIKELIHOOD: f32 = -1.0e37;

struct Chunk {
  n: u32,
  groups: u32,
  perGroup: u32,           // points per workgroup
  unused: u32,
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<uniform> params: array<vec4f, 4096>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> llPartials: array<vec4f>;
@group(0) @binding(5) var<uniform> chunk: Chunk;


fn element(v: vec4f, i: u32) -> f32 {
  return v[i];
}

@compute @workgroup_size(K)
fn main(@builtin(local_invocation_index) k: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;
  let base = k * STRIDE;

  // This lane's component: mean, precision factor (row r of P holds r/4 + 1 vec4 in params),
  // and log w − ½(D log 2π + log det Σ).
  var mu: array<f32, MAXD>;
  var prec: array<f32, MAXT>;
  for (var j = 0u; j < D; j++) {
    mu[j] = element(params[base + j / 4u], j % 4u);
  }
  if (DIAGONAL) {
    for (var j = 0u; j < D; j++) {
      prec[j] = element(params[base + DP4 + j / 4u], j % 4u);
    }
  } else {
    var row = base + DP4;
    for (var r = 0u; r < D; r++) {
      for (var j = 0u; j < D; j++) {
        if (j <= r) {
          prec[r * FULL_MAXD + j] = element(params[row + j / 4u], j % 4u);
        }
      }
      row += r / 4u + 1u;
    }
  }
  let logConst = params[base + STRIDE - 1u].x;
  // log p_nk ≤ log w_k − ½(D log 2π + log det Σ_k) ≤ cap for every point.
  let cap = subgroupMax(logConst);

  var totS: array<f32, MAXT>;
  var compS: array<f32, MAXT>;
  var blkS: array<f32, MAXT>;
  var tots: array<f32, MAXD>;
  var comps: array<f32, MAXD>;
  var blks: array<f32, MAXD>;
  var diff: array<f32, MAXD>;
  var totN = 0.0;
  var compN = 0.0;
  var ll = vec4f(0.0);

  let start = g * chunk.perGroup;
  let end = min(start + chunk.perGroup, chunk.n);
  for (var s0 = start; s0 < end; s0 += SUB) {
    for (var a0 = 0u; a0 < D; a0++) {
      blks[a0] = 0.0;
      if (DIAGONAL) {
        blkS[a0] = 0.0;
      } else {
        for (var b0 = 0u; b0 < D; b0++) {
          blkS[a0 * FULL_MAXD + b0] = 0.0;
        }
      }
    }
    var blkN = 0.0;
    for (var p = s0; p < min(s0 + SUB, end); p++) {
      let row = p * DP4;
      for (var j = 0u; j < D; j++) {
        diff[j] = element(points[row + j / 4u], j % 4u) - mu[j];
      }
      var m = 0.0;
      if (DIAGONAL) {
        for (var j = 0u; j < D; j++) {
          m += diff[j] * diff[j] * prec[j];
        }
      } else {
        for (var r = 0u; r < D; r++) {
          var y = 0.0;
          for (var j = 0u; j < D; j++) {
            if (j <= r) {
              y += prec[r * FULL_MAXD + j] * diff[j];
            }
          }
          m += y * y;
        }
      }
      let lp = logConst - 0.5 * min(m, 1.0e30);
      // Log-sum-exp across the components = across the subgroup's lanes, shifted by `cap` ≥ every
      // log p_nk, so nothing overflows; only where every term underflows (a point far from all
      // components) is the max needed, at the cost of a second subgroup operation.
      var mx = cap;
      var e = exp(lp - cap);
      var s = subgroupAdd(e);
      if (s < 1.0e-30) {
        mx = subgroupMax(lp);
        e = exp(lp - mx);
        s = subgroupAdd(e);
      }
      var w = 1.0;
      if (HAS_WEIGHTS) {
        w = weights[p];
      }
      var r = 0.0;
      if (mx <= ZERO_LIKELIHOOD) {
        ll.y += 1.0;
      } else {
        let logp = mx + log(s);
        ll.x += w * logp;
        ll.z += w * abs(logp);
        r = e * (w / s);
      }
      blkN += r;
      if (DIAGONAL) {
        for (var j = 0u; j < D; j++) {
          let a = r * diff[j];
          blks[j] += a;
          blkS[j] += a * diff[j];
        }
      } else {
        for (var a0 = 0u; a0 < D; a0++) {
          let a = r * diff[a0];
          blks[a0] += a;
          for (var b0 = 0u; b0 < D; b0++) {
            if (b0 >= a0) {
              blkS[a0 * FULL_MAXD + b0] += a * diff[b0];
            }
          }
        }
      }
    }
    if (DIAGONAL) {
      for (var t = 0u; t < D; t++) {
        let y = blkS[t] - compS[t];
        let u = totS[t] + y;
        compS[t] = (u - totS[t]) - y;
        totS[t] = u;
      }
    } else {
      for (var a0 = 0u; a0 < D; a0++) {
        for (var b0 = 0u; b0 < D; b0++) {
          if (b0 >= a0) {
            let t = a0 * FULL_MAXD + b0;
            let y = blkS[t] - compS[t];
            let u = totS[t] + y;
            compS[t] = (u - totS[t]) - y;
            totS[t] = u;
          }
        }
      }
    }
    for (var j = 0u; j < D; j++) {
      let y = blks[j] - comps[j];
      let u = tots[j] + y;
      comps[j] = (u - tots[j]) - y;
      tots[j] = u;
    }
    let yn = blkN - compN;
    let un = totN + yn;
    compN = (un - totN) - yn;
    totN = un;
  }

  // Output: [S packed (full only)] [s] [N], padded to SLOTS vec4s.
  var o = (g * K + k) * SLOTS * 4u;
  if (!DIAGONAL) {
    for (var a0 = 0u; a0 < D; a0++) {
      for (var b0 = 0u; b0 < D; b0++) {
        if (b0 >= a0) {
          partials[o] = totS[a0 * FULL_MAXD + b0];
          o++;
        }
      }
    }
  }
  for (var j = 0u; j < D; j++) {
    partials[o] = tots[j];
    o++;
  }
  if (DIAGONAL) {
    for (var j = 0u; j < D; j++) {
      partials[o] = totS[j];
      o++;
    }
  }
  partials[o] = totN;

  // Every lane holds the same log-likelihood sums.
  if (k == 0u) {
    llPartials[g] = ll;
  }
}
