// One EM pass over a range of points in one kernel for DIAGONAL covariance — the E-step and the
// sufficient statistics fused — for K ≤ KPL_MAX × the device's smallest subgroup and D ≤ 4·MAXB.
// The scheme of fused.wgsl (which the host uses for full covariance), walking FOUR points per loop
// step: a point's state is a vec4 per block of 4 dimensions, as in the points buffer, and the
// per-point scalars of a component — squared Mahalanobis distance, log p, exp, responsibility —
// are vec4s of the four points, so the log-sum-exp is one cross-lane sum of a vec4, and each
// statistic gets one update per four points. One loop step, branch and subgroup operation per
// four points instead of per point: on lavapipe (each invocation one SIMD lane, the cost the
// operation count, and every variable written in a loop a masked load-blend-store) that overhead
// was most of a diagonal pass.
//
// A workgroup is a single subgroup of LANES invocations; invocation l owns components l, l + LANES,
// … (KPL of them): their means μ_k and precisions 1/σ²_k sit in private memory. The four points'
// 4·DP4 vec4s are loaded one per lane (ROUNDS loads per lane) and broadcast from the lane that
// holds each with subgroupShuffle: lavapipe loads a storage buffer lane by lane, with bounds
// checks, unless the address is a compile-time constant, so a load shared by all lanes costs as
// much as LANES different ones. Per four points each lane evaluates log p_nk = log w_k +
// log N(x | μ_k, Σ_k) for its components (in base 2, relative to `cap` ≥ every log p_nk); the
// log-sum-exp across components is a butterfly of subgroupShuffleXor (laneSum: lavapipe's
// subgroupAdd is a scalar loop over the lanes, and was a third of the pass at 1M×8, K = 8), with a
// subgroupMax for the points where every term underflows. With LANES ≥ 4, lane l < 4 takes the log
// of point l's sum for the log-likelihood (one log per lane instead of four). Then each lane adds
// r_nk (x − μ_k), r_nk (x − μ_k)² and r_nk of the four points (summed across them) into plain sums
// over SUB points, which then join Kahan-compensated totals; so do each lane's w log p and
// w |log p| (one float32 running sum over a whole range drifts on data with repeated values).
// Statistics are taken around μ_k (shifted sums: no E[xxᵀ] − μμᵀ cancellation in float32), in the
// centred frame the points were uploaded in.
//
// Points are read four at a time from each workgroup's first point; those at or past the range's
// end are masked out, whatever their weights. Reads past the buffer (the last step of a chunk
// whose count is not a multiple of 4, lanes beyond the four points' vec4s) are clamped by robust
// buffer access and unused; the host pads points and weights to a multiple of 4 points and starts
// ranges at multiples of 32, so in practice only the spare lanes' reads are clamped.
//
// Output per workgroup g (as fused.wgsl, diagonal): partials[(g·K + k)·SLOTS·4 …] = [s] [q] [N]
// as consecutive floats, padded to SLOTS vec4s; llPartials[g] = (Σ w log p, zero-likelihood
// points, Σ w |log p|, 0).

enable subgroups;
// The cross-lane sum (laneSum) is the same in every lane, but the uniformity analysis cannot
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

// Private arrays need constant sizes. Each of a lane's components keeps its means, precisions
// and statistics as MAXB vec4 blocks of dimensions (the points' layout: padding dimensions are 0 in
// the points, the means and the precisions, so they add 0 everywhere and need no conditions).
// The per-component loops are in functions called with a constant slot q and have a constant trip
// count DP4 ≤ MAXB: the compiler unrolls them and every private index is static. (Four points
// per iteration make loop bodies four times longer; loops over dimensions one at a time, or a loop
// over q around them, then exceed lavapipe's unrolling budget at D = 32 and leave dynamically
// indexed private arrays, 3–5× slower.)
const KPL_MAX: u32 = 2u;
const MAXB: u32 = 8u;      // vec4 blocks of dimensions: D ≤ 32
const NEG_BIG: f32 = -3.0e38;
// Points per plain float32 sum of the statistics before it joins the compensated totals
// (a multiple of 4; 64 measured 3–6% faster than 32 on lavapipe, the sums' error still ~1e-7).
const SUB: u32 = 64u;
const ZERO_LIKELIHOOD: f32 = -1.0e37;
const UNDERFLOW: f32 = 1.0e-30;
// log p is carried in base 2 (exp2 and log2 are what lavapipe computes; the natural ones scale
// around them): log₂ e, and ½ log₂ e folded into the precisions.
const LOG2E: f32 = 1.4426950408889634;
const HALF_LOG2E: f32 = 0.7213475204444817;
const LN2: f32 = 0.6931471805599453;
// Loads per lane of the four points' vec4s and weights.
override ROUNDS: u32 = (4u * DP4 + LANES - 1u) / LANES;
override WEIGHT_ROUNDS: u32 = (4u + LANES - 1u) / LANES;

struct Chunk {
  n: u32,
  groups: u32,
  perGroup: u32,           // points per workgroup
  zero: u32,               // 0 (see `one` in main)
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<uniform> params: array<vec4f, 4096>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> llPartials: array<vec4f>;
@group(0) @binding(5) var<uniform> chunk: Chunk;

// This lane's components (slot q at q · MAXB): means, precisions times ½ log₂ e (½ log₂ e / σ²),
// and log₂ e · (log w − ½(D log 2π + log det Σ)) (NEG_BIG for a slot beyond K), less `cap` once
// that is known.
var<private> mu: array<vec4f, KPL_MAX * MAXB>;
var<private> prec: array<vec4f, KPL_MAX * MAXB>;
var<private> logConst: array<f32, KPL_MAX>;
// Statistics Σ r (x − μ), Σ r (x − μ)² and Σ r: plain sums over SUB points (blk*), then
// Kahan-compensated totals (tot*, comp*).
var<private> blks: array<vec4f, KPL_MAX * MAXB>;
var<private> blkS: array<vec4f, KPL_MAX * MAXB>;
var<private> tots: array<vec4f, KPL_MAX * MAXB>;
var<private> comps: array<vec4f, KPL_MAX * MAXB>;
var<private> totS: array<vec4f, KPL_MAX * MAXB>;
var<private> compS: array<vec4f, KPL_MAX * MAXB>;
var<private> blkN: array<f32, KPL_MAX>;
var<private> totN: array<f32, KPL_MAX>;
var<private> compN: array<f32, KPL_MAX>;

// The four current points, block b of point i at i · MAXB + b.
var<private> pts: array<vec4f, 4u * MAXB>;
// This lane's share of them as loaded: vec4 r · LANES + lane of the four points' 4 · DP4.
var<private> tile: array<vec4f, 4u * MAXB>;
var<private> wtile: array<f32, 4>;

fn hsum(v: vec4f) -> f32 {
  return (v.x + v.y) + (v.z + v.w);
}

// The sum of v across the LANES lanes, in every lane: a butterfly of subgroupShuffleXor
// (lavapipe's subgroupAdd is a scalar loop over the lanes, one branch per lane). For a power-of-two
// LANES every lane adds the same pairs (a + b = b + a), so every lane gets the same bits; otherwise
// a partner past LANES adds 0, which leaves the whole sum in lane 0, broadcast from there.
override POW2_LANES: bool = (LANES & (LANES - 1u)) == 0u;
fn laneSum(v: vec4f, lane: u32) -> vec4f {
  var s = v;
  for (var m = 1u; m < 128u; m <<= 1u) {
    if (m < LANES) {
      let o = subgroupShuffleXor(s, m);
      if (POW2_LANES) {
        s += o;
      } else {
        s += select(vec4f(0.0), o, (lane ^ m) < LANES);
      }
    }
  }
  if (POW2_LANES) {
    return s;
  }
  return subgroupBroadcast(s, 0u);
}

// Squared Mahalanobis distances of the four points to slot q.
fn distances(q: u32) -> vec4f {
  var m = vec4f(0.0);
  for (var b = 0u; b < DP4; b++) {
    let c = mu[q * MAXB + b];
    let h = prec[q * MAXB + b];
    let t0 = pts[b] - c;
    let t1 = pts[MAXB + b] - c;
    let t2 = pts[2u * MAXB + b] - c;
    let t3 = pts[3u * MAXB + b] - c;
    m += vec4f(dot(t0 * t0, h), dot(t1 * t1, h), dot(t2 * t2, h), dot(t3 * t3, h));
  }
  return m;
}

// Adds the four points' r (x − μ), r (x − μ)² and r (r: their responsibilities) to slot q.
fn accumulate(q: u32, r: vec4f) {
  blkN[q] += hsum(r);
  for (var b = 0u; b < DP4; b++) {
    let i = q * MAXB + b;
    let c = mu[i];
    let t0 = pts[b] - c;
    let t1 = pts[MAXB + b] - c;
    let t2 = pts[2u * MAXB + b] - c;
    let t3 = pts[3u * MAXB + b] - c;
    let a0 = r.x * t0;
    let a1 = r.y * t1;
    let a2 = r.z * t2;
    let a3 = r.w * t3;
    blks[i] += (a0 + a1) + (a2 + a3);
    blkS[i] += (a0 * t0 + a1 * t1) + (a2 * t2 + a3 * t3);
  }
}

fn clearBlock(q: u32) {
  blkN[q] = 0.0;
  for (var b = 0u; b < DP4; b++) {
    blks[q * MAXB + b] = vec4f(0.0);
    blkS[q * MAXB + b] = vec4f(0.0);
  }
}

// Kahan: the block sums join the totals (`one`: see main).
fn addBlock(q: u32, one: f32) {
  for (var b = 0u; b < DP4; b++) {
    let i = q * MAXB + b;
    let y = blks[i] - comps[i];
    let u = (tots[i] + y) * one;
    comps[i] = (u - tots[i]) - y;
    tots[i] = u;
    let yS = blkS[i] - compS[i];
    let uS = (totS[i] + yS) * one;
    compS[i] = (uS - totS[i]) - yS;
    totS[i] = uS;
  }
  let yn = blkN[q] - compN[q];
  let un = (totN[q] + yn) * one;
  compN[q] = (un - totN[q]) - yn;
  totN[q] = un;
}

fn loadComponent(q: u32, lane: u32) {
  let k = q * LANES + lane;
  logConst[q] = NEG_BIG;
  if (k < K) {
    let base = k * STRIDE;
    for (var b = 0u; b < DP4; b++) {
      mu[q * MAXB + b] = params[base + b];
      prec[q * MAXB + b] = params[base + DP4 + b] * HALF_LOG2E;
    }
    logConst[q] = params[base + STRIDE - 1u].x * LOG2E;
  }
}

// Output of slot q: [s] [q] [N] as consecutive floats, each total less the compensation of its
// last addition (which it leaves out).
fn store(q: u32, lane: u32, g: u32) {
  let k = q * LANES + lane;
  if (k >= K) {
    return;
  }
  let o = (g * K + k) * SLOTS * 4u;
  for (var j = 0u; j < D; j++) {
    partials[o + j] = tots[q * MAXB + j / 4u][j % 4u] - comps[q * MAXB + j / 4u][j % 4u];
    partials[o + D + j] = totS[q * MAXB + j / 4u][j % 4u] - compS[q * MAXB + j / 4u][j % 4u];
  }
  partials[o + 2u * D] = totN[q] - compN[q];
}

@compute @workgroup_size(LANES)
fn main(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;
  // KPL ≤ KPL_MAX = 2 slots, each by constant index (see above).
  loadComponent(0u, lane);
  if (KPL > 1u) {
    loadComponent(1u, lane);
  }
  // log₂ p_nk ≤ log₂ e · (log w_k − ½(D log 2π + log det Σ_k)) ≤ cap for every point.
  var top = logConst[0];
  if (KPL > 1u) {
    top = max(top, logConst[1]);
  }
  let cap = subgroupMax(top);
  // From here on log p is carried relative to cap.
  logConst[0] -= cap;
  if (KPL > 1u) {
    logConst[1] -= cap;
  }

  // This lane's (Σ w log p, Σ w |log p|): plain sums over SUB points, then Kahan-compensated totals.
  var blkLl = vec2f(0.0);
  var totLl = vec2f(0.0);
  var compLl = vec2f(0.0);
  var zeros = 0.0;
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
    clearBlock(0u);
    if (KPL > 1u) {
      clearBlock(1u);
    }
    for (var p0 = s0; p0 < min(s0 + SUB, end); p0 += 4u) {
      // The four points' 4 · DP4 vec4s: each lane loads every LANES-th, then each vec4 is
      // broadcast from the lane that holds it (see the top).
      let row = p0 * DP4;
      for (var r = 0u; r < ROUNDS; r++) {
        tile[r] = points[row + r * LANES + lane];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var b = 0u; b < DP4; b++) {
          let v = i * DP4 + b;
          if (LANES == 1u) {
            pts[i * MAXB + b] = tile[v];
          } else {
            pts[i * MAXB + b] = subgroupShuffle(tile[v / LANES], v % LANES);
          }
        }
      }
      // log p of the four points for each slot (a slot beyond K: NEG_BIG, e = 0).
      let d0 = distances(0u);
      var d1 = vec4f(0.0);
      if (KPL > 1u) {
        d1 = distances(1u);
      }
      // Log-sum-exp across the components = across the lanes and each lane's slots, shifted by
      // `cap`; only for a point where every term underflows (far from all components) is the
      // max needed, at the cost of a second pair of subgroup operations for the four points.
      var e0 = exp2(logConst[0] - d0);
      var e1 = vec4f(0.0);
      if (KPL > 1u) {
        e1 = exp2(logConst[1] - d1);
      }
      var s = laneSum(e0 + e1, lane);
      var mx = vec4f(0.0);
      // Points at or past `end` (padding) count nowhere; only the fallback can find a point of zero
      // likelihood (cap + mx ≤ ZERO_LIKELIHOOD: cap is finite, and mx = 0 outside it).
      let valid = vec4u(p0, p0 + 1u, p0 + 2u, p0 + 3u) < vec4u(end);
      var live = valid;
      let under = s < vec4f(UNDERFLOW);
      if (any(under)) {
        // (Distances capped: an infinite one would make mx and lp both −∞.)
        let lp0 = logConst[0] - min(d0, vec4f(1.0e30));
        var lp1 = vec4f(NEG_BIG);
        if (KPL > 1u) {
          lp1 = logConst[1] - min(d1, vec4f(1.0e30));
        }
        mx = select(mx, subgroupMax(max(lp0, lp1)), under);
        e0 = exp2(lp0 - mx);
        if (KPL > 1u) {
          e1 = exp2(lp1 - mx);
        }
        s = laneSum(e0 + e1, lane);
        live = valid & (mx + cap > vec4f(ZERO_LIKELIHOOD));
      }
      var w = vec4f(1.0);
      if (HAS_WEIGHTS) {
        // The same way as the points: one load per lane, then broadcasts.
        for (var r = 0u; r < WEIGHT_ROUNDS; r++) {
          wtile[r] = weights[p0 + r * LANES + lane];
        }
        for (var i = 0u; i < 4u; i++) {
          if (LANES == 1u) {
            w[i] = wtile[i];
          } else {
            w[i] = subgroupShuffle(wtile[i / LANES], i % LANES);
          }
        }
      }
      // Points whose every density underflowed (only the fallback finds them), unless of weight 0:
      // those take no part in the fit.
      zeros += hsum(select(vec4f(0.0), vec4f(1.0), valid & !live & (w != vec4f(0.0))));
      // log p of the four points: with LANES ≥ 4, lane l < 4 takes point l alone (one log per lane
      // rather than four), and the lanes' sums are added at the end.
      if (LANES >= 4u) {
        let i = lane & 3u;
        let logp = ((cap + mx[i]) + log2(s[i])) * LN2;
        let own = live[i] && lane < 4u;
        blkLl += select(vec2f(0.0), w[i] * vec2f(logp, abs(logp)), own);
      } else {
        let logp = ((cap + mx) + log2(s)) * LN2;
        blkLl += vec2f(hsum(select(vec4f(0.0), w * logp, live)), hsum(select(vec4f(0.0), w * abs(logp), live)));
      }
      let scale = select(vec4f(0.0), w / s, live);
      accumulate(0u, e0 * scale);
      if (KPL > 1u) {
        accumulate(1u, e1 * scale);
      }
    }
    let yl = blkLl - compLl;
    let ul = (totLl + yl) * one;
    compLl = (ul - totLl) - yl;
    totLl = ul;
    addBlock(0u, one);
    if (KPL > 1u) {
      addBlock(1u, one);
    }
  }

  store(0u, lane, g);
  if (KPL > 1u) {
    store(1u, lane, g);
  }
  // Every lane holds the same zero count, and (LANES < 4) the same log-likelihood sums.
  // (Less the compensation of the last addition, which the total leaves out.)
  var ll = totLl - compLl;
  if (LANES >= 4u) {
    ll = subgroupAdd(ll);
  }
  if (lane == 0u) {
    llPartials[g] = vec4f(ll.x, zeros, ll.y, 0.0);
  }
}
