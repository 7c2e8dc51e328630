// One EM pass over a range of points in one kernel — the E-step and the sufficient statistics
// fused — for FULL covariance, K ≤ KPL_MAX × the device's smallest subgroup and D ≤ FULL_MAXD.
// The responsibilities never leave the invocation (no N×K buffer, no second dispatch), and each
// point is loaded once. (Diagonal covariance: fused-diagonal.wgsl, four points per loop step.)
//
// A workgroup is a single subgroup of LANES invocations; invocation l owns components l, l + LANES,
// … (KPL of them): their means μ_k and precision factors P_k = L_k⁻¹ sit in private
// memory. Point values are the same in every lane: lavapipe loads them lane by lane (with bounds
// checks; only compile-time constant addresses become one broadcast load), so where four points'
// vec4s fit one per lane (TILED), each lane loads one every fourth point and each point's vec4s
// are broadcast with subgroupShuffle. Per point each lane evaluates log p_nk = log w_k +
// log N(x | μ_k, Σ_k) for its components; the log-sum-exp across components is a cross-lane sum
// (laneSum; no barriers, no workgroup memory: on lavapipe a barrier makes the driver keep every
// invocation's private state in memory, which costs more than the arithmetic); then each lane adds
// r_nk (x − μ_k), the upper triangle of r_nk (x − μ_k)(x − μ_k)ᵀ and r_nk
// into plain sums over SUB points, which then join Kahan-compensated totals (two-level summation
// keeps float32 accurate over long ranges); so do w log p and w |log p| (one float32 running sum
// over a workgroup's whole range drifts on data with repeated values: 1e-5 of log L at N = 2e5).
// Statistics are taken around μ_k (shifted sums: no E[xxᵀ] − μμᵀ cancellation in float32), in the
// centred frame the points were uploaded in.
//
// Output per workgroup g: partials[(g·K + k)·SLOTS·4 …] = [S packed row by row] [s] [N] as
// consecutive floats, padded to SLOTS vec4s; llPartials[g] =
// (Σ w log p, zero-likelihood points, Σ w |log p|, 0).

enable subgroups;
// The sum of a subgroup operation is the same in every lane, but the uniformity analysis cannot
// know it: branching on it (the underflow fallback below) is subgroup-uniform.
diagnostic(off, subgroup_uniformity);

override D: u32;
override DP4: u32;
override K: u32;
override LANES: u32;       // workgroup size ≤ the subgroup size
override KPL: u32;         // components per lane, ⌈K / LANES⌉ ≤ KPL_MAX
override HAS_WEIGHTS: bool;
override STRIDE: u32;      // vec4s per component in params
override SLOTS: u32;       // vec4s per component in partials

// Private arrays need constant sizes. Each of a lane's components has a vector block of FULL_MAXD
// floats and a matrix block of MAT floats, stored square (row r, column j at r·FULL_MAXD + j); every
// loop has a constant trip count (KPL, D), with triangles selected by conditions on the loop
// indices: the compiler then unrolls the loops and every private index is static. Beyond D = 8
// lavapipe stops unrolling those nested loops and the kernel runs slower than the two-kernel path
// (D = 12: 1.8× slower), so it is used up to FULL_MAXD only.
const KPL_MAX: u32 = 2u;
const FULL_MAXD: u32 = 8u;
const MAT: u32 = 64u;      // FULL_MAXD²
const NEG_BIG: f32 = -3.0e38;
// Points per plain float32 sum of the statistics before it joins the compensated totals (64:
// the compensation's 45 terms per component cost 15% of a pass at 32), and of the log-likelihood
// (a power of two dividing SUB).
const SUB: u32 = 64u;
const LL_SUB: u32 = 32u;
const ZERO_LIKELIHOOD: f32 = -1.0e37;
const MAXB: u32 = FULL_MAXD / 4u;
// Four points' vec4s are loaded one per lane (see the point loop).
override TILED: bool = 4u * DP4 <= LANES;

struct Chunk {
  n: u32,
  groups: u32,
  perGroup: u32,           // points per workgroup
  zero: u32,               // 0 (see `one` below)
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<uniform> params: array<vec4f, 4096>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> llPartials: array<vec4f>;
@group(0) @binding(5) var<uniform> chunk: Chunk;

override POW2_LANES: bool = (LANES & (LANES - 1u)) == 0u;

// The sum of v over the workgroup's lanes, as a subgroupShuffleXor butterfly: Mesa 25's lavapipe
// lowers subgroupAdd to a scalar loop over the lanes (1M × 8, K = 8, full: 75 → 68 ms per pass).
// Where LANES is a power of two every lane adds the same pairs and gets the same bits; otherwise
// lane 0's total (the partners it lacks add 0) is broadcast. As in fused-diagonal.wgsl.
fn laneSum(v: f32, lane: u32) -> f32 {
  var s = v;
  for (var m = 1u; m < 128u; m <<= 1u) {
    if (m < LANES) {
      let o = subgroupShuffleXor(s, m);
      if (POW2_LANES) {
        s += o;
      } else {
        s += select(0.0, o, (lane ^ m) < LANES);
      }
    }
  }
  if (POW2_LANES) {
    return s;
  }
  return subgroupBroadcast(s, 0u);
}

fn element(v: vec4f, i: u32) -> f32 {
  return v[i];
}

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;

  // This lane's components: means, precision factors (row r of P holds r/4 + 1 vec4 in params),
  // and log w − ½(D log 2π + log det Σ); NEG_BIG for a slot beyond K.
  var mu: array<f32, KPL_MAX * FULL_MAXD>;
  var prec: array<f32, KPL_MAX * MAT>;
  var logConst: array<f32, KPL_MAX>;
  var top = NEG_BIG;
  for (var q = 0u; q < KPL; q++) {
    let k = q * LANES + lane;
    logConst[q] = NEG_BIG;
    if (k < K) {
      let base = k * STRIDE;
      for (var j = 0u; j < D; j++) {
        mu[q * FULL_MAXD + j] = element(params[base + j / 4u], j % 4u);
      }
      var row = base + DP4;
      for (var r = 0u; r < D; r++) {
        for (var j = 0u; j < D; j++) {
          if (j <= r) {
            prec[q * MAT + r * FULL_MAXD + j] = element(params[row + j / 4u], j % 4u);
          }
        }
        row += r / 4u + 1u;
      }
      logConst[q] = params[base + STRIDE - 1u].x;
    }
    top = max(top, logConst[q]);
  }
  // log p_nk ≤ log w_k − ½(D log 2π + log det Σ_k) ≤ cap for every point.
  let cap = subgroupMax(top);

  var totS: array<f32, KPL_MAX * MAT>;
  var compS: array<f32, KPL_MAX * MAT>;
  var blkS: array<f32, KPL_MAX * MAT>;
  var tots: array<f32, KPL_MAX * FULL_MAXD>;
  var comps: array<f32, KPL_MAX * FULL_MAXD>;
  var blks: array<f32, KPL_MAX * FULL_MAXD>;
  var diff: array<f32, KPL_MAX * FULL_MAXD>;
  var totN: array<f32, KPL_MAX>;
  var compN: array<f32, KPL_MAX>;
  var blkN: array<f32, KPL_MAX>;
  var lp: array<f32, KPL_MAX>;
  var e: array<f32, KPL_MAX>;
  // (Σ w log p, Σ w |log p|), the same in every lane: plain sums over SUB points, then
  // Kahan-compensated totals.
  var blkLl = vec2f(0.0);
  var totLl = vec2f(0.0);
  var compLl = vec2f(0.0);
  var zeros = 0.0;
  var tile = vec4f(0.0);
  var wtile = 0.0;
  var x: array<vec4f, MAXB>;

  // Every compensation (log-likelihood and statistics) needs the opaque `one` (1.0 from the
  // uniform, unknown to the compiler): the shader compiler applies the algebra of real numbers to
  // (t + y) − t − y — Mesa's lavapipe folds it to 0, so a plain compensation term is always 0 and
  // the "Kahan" sum a plain float32 sum (measured: bit for bit) — but it cannot simplify
  // ((t + y) · one − t) − y.
  let one = 1.0 + f32(chunk.zero);
  let start = g * chunk.perGroup;
  let end = min(start + chunk.perGroup, chunk.n);
  for (var s0 = start; s0 < end; s0 += SUB) {
    blkLl = vec2f(0.0);
    for (var q = 0u; q < KPL; q++) {
      blkN[q] = 0.0;
      for (var a0 = 0u; a0 < D; a0++) {
        blks[q * FULL_MAXD + a0] = 0.0;
        for (var b0 = 0u; b0 < D; b0++) {
          blkS[q * MAT + a0 * FULL_MAXD + b0] = 0.0;
        }
      }
    }
    for (var p = s0; p < min(s0 + SUB, end); p++) {
      // Lavapipe loads a storage buffer lane by lane (with bounds checks) unless the address is
      // a compile-time constant, so a load all LANES lanes share costs as much as one with LANES
      // different addresses. Where four points fit one vec4 per lane (TILED), every fourth point
      // each lane loads one vec4 of the next four points, and each point's vec4s are broadcast
      // from the lanes that hold them. (Reads past the buffer, of points past `end`, are
      // clamped by robust buffer access and unused; the host pads to 4 points anyway.) With
      // fewer lanes the saving is smaller than the cost of indexing a tile of several vec4s.
      let i = (p - start) % 4u;
      if (TILED) {
        if (i == 0u) {
          tile = points[p * DP4 + lane];
          if (HAS_WEIGHTS) {
            wtile = weights[p + lane];
          }
        }
        for (var b = 0u; b < DP4; b++) {
          x[b] = subgroupShuffle(tile, i * DP4 + b);
        }
      } else {
        for (var b = 0u; b < DP4; b++) {
          x[b] = points[p * DP4 + b];
        }
      }
      var top = NEG_BIG;
      for (var q = 0u; q < KPL; q++) {
        for (var j = 0u; j < D; j++) {
          diff[q * FULL_MAXD + j] = element(x[j / 4u], j % 4u) - mu[q * FULL_MAXD + j];
        }
        var m = 0.0;
        for (var r = 0u; r < D; r++) {
          var y = 0.0;
          for (var j = 0u; j < D; j++) {
            if (j <= r) {
              y += prec[q * MAT + r * FULL_MAXD + j] * diff[q * FULL_MAXD + j];
            }
          }
          m += y * y;
        }
        lp[q] = logConst[q] - 0.5 * min(m, 1.0e30);
        top = max(top, lp[q]);
      }
      // Log-sum-exp across the components = across the lanes and each lane's slots, shifted by
      // `cap` ≥ every log p_nk, so nothing overflows; only where every term underflows (a point
      // far from all components) is the max needed, at the cost of a second subgroup operation.
      var mx = cap;
      var local = 0.0;
      for (var q = 0u; q < KPL; q++) {
        e[q] = exp(lp[q] - cap);
        local += e[q];
      }
      var s = laneSum(local, lane);
      if (s < 1.0e-30) {
        mx = subgroupMax(top);
        local = 0.0;
        for (var q = 0u; q < KPL; q++) {
          e[q] = exp(lp[q] - mx);
          local += e[q];
        }
        s = laneSum(local, lane);
      }
      var w = 1.0;
      if (HAS_WEIGHTS) {
        if (TILED) {
          w = subgroupShuffle(wtile, i);
        } else {
          w = weights[p];
        }
      }
      var scale = 0.0;
      if (mx <= ZERO_LIKELIHOOD) {
        // Points of weight 0 take no part in the fit: not counted as lost either.
        zeros += select(0.0, 1.0, w != 0.0);
      } else {
        let logp = mx + log(s);
        blkLl += w * vec2f(logp, abs(logp));
        scale = w / s;
      }
      if (((p - s0) & (LL_SUB - 1u)) == LL_SUB - 1u) {
        // The log-likelihood joins its totals every LL_SUB points: a plain sum of SUB equal terms
        // (one point repeated) would cost more than a tenth of the reported bound.
        let yb = blkLl - compLl;
        let ub = (totLl + yb) * one;
        compLl = (ub - totLl) - yb;
        totLl = ub;
        blkLl = vec2f(0.0);
      }
      for (var q = 0u; q < KPL; q++) {
        let r = e[q] * scale;
        blkN[q] += r;
        for (var a0 = 0u; a0 < D; a0++) {
          let a = r * diff[q * FULL_MAXD + a0];
          blks[q * FULL_MAXD + a0] += a;
          for (var b0 = 0u; b0 < D; b0++) {
            if (b0 >= a0) {
              blkS[q * MAT + a0 * FULL_MAXD + b0] += a * diff[q * FULL_MAXD + b0];
            }
          }
        }
      }
    }
    let yl = blkLl - compLl;
    let ul = (totLl + yl) * one;
    compLl = (ul - totLl) - yl;
    totLl = ul;
    for (var q = 0u; q < KPL; q++) {
      for (var a0 = 0u; a0 < D; a0++) {
        for (var b0 = 0u; b0 < D; b0++) {
          if (b0 >= a0) {
            let i = q * MAT + a0 * FULL_MAXD + b0;
            let y = blkS[i] - compS[i];
            let u = (totS[i] + y) * one;
            compS[i] = (u - totS[i]) - y;
            totS[i] = u;
          }
        }
      }
      for (var j = 0u; j < D; j++) {
        let i = q * FULL_MAXD + j;
        let y = blks[i] - comps[i];
        let u = (tots[i] + y) * one;
        comps[i] = (u - tots[i]) - y;
        tots[i] = u;
      }
      let yn = blkN[q] - compN[q];
      let un = (totN[q] + yn) * one;
      compN[q] = (un - totN[q]) - yn;
      totN[q] = un;
    }
  }

  // Output: [S packed] [s] [N], padded to SLOTS vec4s (each total less the compensation of its
  // last addition, which it leaves out).
  for (var q = 0u; q < KPL; q++) {
    let k = q * LANES + lane;
    if (k >= K) {
      continue;
    }
    var o = (g * K + k) * SLOTS * 4u;
    for (var a0 = 0u; a0 < D; a0++) {
      for (var b0 = 0u; b0 < D; b0++) {
        if (b0 >= a0) {
          partials[o] = totS[q * MAT + a0 * FULL_MAXD + b0] - compS[q * MAT + a0 * FULL_MAXD + b0];
          o++;
        }
      }
    }
    for (var j = 0u; j < D; j++) {
      partials[o] = tots[q * FULL_MAXD + j] - comps[q * FULL_MAXD + j];
      o++;
    }
    partials[o] = totN[q] - compN[q];
  }

  // Every lane holds the same log-likelihood sums.
  if (lane == 0u) {
    // (Less the compensation of the last addition, which the total leaves out.)
    let tl = totLl - compLl;
    llPartials[g] = vec4f(tl.x, zeros, tl.y, 0.0);
  }
}
