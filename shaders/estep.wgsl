// E-step over one chunk of points: per point, the log-density of every component through its
// precision factor (full: ‖P_k (x − μ_k)‖², P_k = L_k⁻¹ lower-triangular; diagonal: Σ (x − μ)²/σ²),
// a max-shifted log-sum-exp; leaves e_nk = exp(log p_nk − max_n) in `resp` ([k][point]) and
// w_n / Σ_k e_nk in `scale`, so the statistics kernels form r_nk = e_nk · scale_n. Each workgroup also reduces
// its points' weighted log-likelihood, zero-likelihood count and Σ w|log p| (which bounds the
// float32 rounding error of the log-likelihood) with a fixed-order tree (deterministic).
//
// Each invocation evaluates PPI = 4 points at once, as the four lanes of vec4 values: every
// parameter load then feeds four independent chains of arithmetic (what CPU drivers such as
// lavapipe vectorize well, and what hides latency on GPUs). Parameters sit in a uniform buffer
// (a storage buffer where they exceed its 64 KiB: LARGE_PARAMS),
// per component: [mean: DP4 vec4][full: P's rows packed (row r: r/4 + 1 vec4) | diagonal: DP4
// vec4 of 1/σ²][vec4(log w − ½(D log 2π + log det Σ), 0, 0, 0)]. Points are centred on upload
// (float32 then keeps its precision however far the data lie from the origin) and padded to vec4
// blocks with zeros. Diagonal covariance with D ≥ 45 and K ≤ 32 walks the dimension blocks
// outside the components instead (DIMS_OUTER); beyond 64 dimensions with
// K > 32 it reads the points' blocks from storage for every group of 32 components (GROUPED), or
// for every component where it stages them (DIRECT).

override D: u32;
override DP4: u32;
override K: u32;
override DIAGONAL: bool;
override HAS_WEIGHTS: bool;
override TRI4: u32;

const WG: u32 = 64u;
const PPI: u32 = 4u;
// Largest D of full covariance is 4 × MAX_DP4 (private arrays need a constant size); diagonal
// covariance beyond it keeps no point in private memory (DIMS_OUTER, DIRECT); its limit is the
// statistics kernels' (one dispatch row per 4 dimensions: D ≤ 262 140).
const MAX_DP4: u32 = 16u;
// Stands in for −∞ (WGSL does not promise IEEE infinities): log-weight of an empty component.
const NEG_BIG: f32 = -3.0e38;
// Up to this many components keep their log-densities in private memory between the two passes
// over k (with K constant the loops unroll and the indices are static); more go through `resp`.
const MAX_K_PRIVATE: u32 = 32u;
const ZERO_LIKELIHOOD: f32 = -1.0e37;
// Diagonal with many dimensions: the loop over dimension blocks outside the loop over components,
// so the four points need no private copy x (PPI·DP4 vec4s). With D ≥ 45 (48 vec4s and more)
// lavapipe no longer keeps x in registers and indexes it dynamically; measured on 1M points
// (A/B alternated, lavapipe): D = 64, K = 8 E-step 320 against 572 ms, D = 64, K = 2 178 against
// 246 ms, D = 48, K = 32 (300k) 298 against 448 ms; below, where x fits, it was slower
// (D = 16, K = 24 331 against 252 ms, D = 32 and 40, K = 24 ~1.3×).
override DIMS_OUTER: bool = DIAGONAL && K <= MAX_K_PRIVATE && DP4 >= 12u;
// Diagonal, more dimensions than x holds and too many components for DIMS_OUTER's private sums:
// each component's loop loads the four points' blocks from storage (cached: the same addresses
// for every component).
override DIRECT: bool = DIAGONAL && !DIMS_OUTER && DP4 > MAX_DP4;
// DIRECT with parameters not staged (see STAGE_PARAMS, which holds one component at a time):
// components in groups of MAX_K_PRIVATE, each group walking the dimension blocks as DIMS_OUTER
// does, so that a point's block is loaded once per group instead of once per component.
override GROUPED: bool = DIRECT && !STAGE_PARAMS;

struct Chunk {
  n: u32,            // points in this chunk
  groups: u32,       // workgroups dispatched (grid stride)
  npad: u32,         // component k's values start at k·npad in `resp` (a multiple of 4)
  unused: u32,
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> weights: array<vec4f>;
@group(0) @binding(2) var<uniform> params: array<vec4f, 4096>;
@group(0) @binding(3) var<storage, read_write> resp: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> llPartials: array<vec4f>;
@group(0) @binding(5) var<uniform> chunk: Chunk;
// Per point w_n / Σ_k exp(log p_nk − max_n): r_nk = resp[k][n] · scale[n] (0 for points that add nothing).
@group(0) @binding(6) var<storage, read_write> scale: array<vec4f>;

// Parameters beyond the uniform block's 64 KiB (e.g. K > 7 full components at D = 64): read from a storage
// binding of the same buffer instead. Not always: on lavapipe the E-step ran 13% slower reading
// them from storage (200k × 16, K = 8, full: 45 → 51 ms).
override LARGE_PARAMS: bool;
@group(0) @binding(7) var<storage, read> paramsLarge: array<vec4f>;

fn param(i: u32) -> vec4f {
  if (LARGE_PARAMS) {
    return paramsLarge[i];
  }
  return params[i];
}

// On GPUs, parameters read from storage cost 1.5–2.3× per component what the uniform block's do
// (H200): every invocation loads the same component's vec4s through its own storage reads. With
// STAGE_PARAMS the workgroup copies one component at a time (STAGE_VEC4S = its stride) into
// workgroup memory and every invocation reads it from there. Not on lavapipe, whose barriers make
// it keep each invocation's private state in memory.
override STAGE_PARAMS: bool = false;
override STAGE_VEC4S: u32 = 1u;
var<workgroup> staged: array<vec4f, STAGE_VEC4S>;

// Component k's parameter `o` (an offset within its stride): staged, or from the binding.
fn comp(k: u32, o: u32) -> vec4f {
  if (STAGE_PARAMS) {
    return staged[o];
  }
  return param(k * componentStride() + o);
}

var<workgroup> llShared: array<vec4f, WG>;

fn componentStride() -> u32 {
  if (DIAGONAL) {
    return 2u * DP4 + 1u;
  }
  return DP4 + TRI4 + 1u;
}

// Diagonal: Σ (x − μ_k)² / σ²_k of the four points whose blocks start at q, for the components
// g … g + MAX_K_PRIVATE − 1 below K: blocks of dimensions outer, components inner, so that each
// block's four point vec4s are loaded once for the group.
fn groupSums(g: u32, q: vec4<u32>, sums: ptr<function, array<vec4f, MAX_K_PRIVATE>>) {
  let stride = componentStride();
  for (var j = 0u; j < MAX_K_PRIVATE; j++) {
    (*sums)[j] = vec4f(0.0);
  }
  for (var b = 0u; b < DP4; b++) {
    let x0 = points[q.x + b];
    let x1 = points[q.y + b];
    let x2 = points[q.z + b];
    let x3 = points[q.w + b];
    for (var j = 0u; j < MAX_K_PRIVATE; j++) {
      if (g + j < K) {
        let base = (g + j) * stride;
        let mu = param(base + b);
        let iv = param(base + DP4 + b);
        let d0 = x0 - mu;
        let d1 = x1 - mu;
        let d2 = x2 - mu;
        let d3 = x3 - mu;
        (*sums)[j] += vec4f(dot(d0 * d0, iv), dot(d1 * d1, iv), dot(d2 * d2, iv), dot(d3 * d3, iv));
      }
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  var x: array<vec4f, PPI * MAX_DP4>;
  var lps: array<vec4f, MAX_K_PRIVATE>;
  var diff: array<vec4f, PPI * MAX_DP4>;
  var ll = 0.0;
  var zero = 0.0;
  var absLl = 0.0;
  let stride = componentStride();
  let n = chunk.n;
  // The loop runs over blocks of WG · PPI points, the same count for the whole workgroup (the
  // staging barriers need uniform control flow); an invocation past the chunk's end computes on
  // clamped loads and writes nothing.
  for (var block = wid.x * WG * PPI; block < n; block += chunk.groups * WG * PPI) {
    let p0 = block + lid * PPI;
    let inside = p0 < n;
    let valid = vec4<bool>(p0 < n, p0 + 1u < n, p0 + 2u < n, p0 + 3u < n);
    for (var i = 0u; i < PPI; i++) {
      if (DIMS_OUTER || DIRECT) {
        break;
      }
      let p = min(p0 + i, n - 1u);
      for (var b = 0u; b < DP4; b++) {
        x[i * DP4 + b] = points[p * DP4 + b];
      }
    }
    var mx = vec4f(NEG_BIG);
    // Where the four points' blocks start in `points` (DIMS_OUTER and DIRECT load them as used).
    let q0 = min(p0, n - 1u) * DP4;
    let q1 = min(p0 + 1u, n - 1u) * DP4;
    let q2 = min(p0 + 2u, n - 1u) * DP4;
    let q3 = min(p0 + 3u, n - 1u) * DP4;
    let q = vec4<u32>(q0, q1, q2, q3);
    // DIMS_OUTER and GROUPED (see their definitions): each component's sum in a private vec4.
    var msum: array<vec4f, MAX_K_PRIVATE>;
    if (DIMS_OUTER) {
      groupSums(0u, q, &msum);
    }
    if (GROUPED) {
      for (var g = 0u; g < K; g += MAX_K_PRIVATE) {
        groupSums(g, q, &msum);
        for (var j = 0u; j < MAX_K_PRIVATE; j++) {
          let k = g + j;
          if (k < K) {
            let lp = vec4f(param(k * stride + stride - 1u).x) - 0.5 * min(msum[j], vec4f(1.0e30));
            if (inside) {
              resp[(k * chunk.npad + p0) / 4u] = lp;
            }
            mx = max(mx, lp);
          }
        }
      }
    }
    for (var k = 0u; k < K; k++) {
      if (GROUPED) {
        break;
      }
      if (STAGE_PARAMS) {
        workgroupBarrier();
        for (var i = lid; i < stride; i += WG) {
          staged[i] = paramsLarge[k * stride + i];
        }
        workgroupBarrier();
      }
      var m = vec4f(0.0);
      if (DIMS_OUTER) {
        m = msum[min(k, MAX_K_PRIVATE - 1u)];
      } else if (DIRECT) {
        for (var b = 0u; b < DP4; b++) {
          let mu = comp(k, b);
          let iv = comp(k, DP4 + b);
          let d0 = points[q0 + b] - mu;
          let d1 = points[q1 + b] - mu;
          let d2 = points[q2 + b] - mu;
          let d3 = points[q3 + b] - mu;
          m += vec4f(dot(d0 * d0, iv), dot(d1 * d1, iv), dot(d2 * d2, iv), dot(d3 * d3, iv));
        }
      } else if (DIAGONAL) {
        for (var b = 0u; b < DP4; b++) {
          let mu = comp(k, b);
          let iv = comp(k, DP4 + b);
          let d0 = x[b] - mu;
          let d1 = x[DP4 + b] - mu;
          let d2 = x[2u * DP4 + b] - mu;
          let d3 = x[3u * DP4 + b] - mu;
          m += vec4f(dot(d0 * d0, iv), dot(d1 * d1, iv), dot(d2 * d2, iv), dot(d3 * d3, iv));
        }
      } else {
        for (var b = 0u; b < DP4; b++) {
          let mu = comp(k, b);
          diff[b] = x[b] - mu;
          diff[DP4 + b] = x[DP4 + b] - mu;
          diff[2u * DP4 + b] = x[2u * DP4 + b] - mu;
          diff[3u * DP4 + b] = x[3u * DP4 + b] - mu;
        }
        // Both loops have constant bounds, so the compiler unrolls them and every array index
        // is static (dynamically indexed private arrays are slow on every driver); the test on b
        // skips the zero blocks above P's diagonal at compile time.
        var row = DP4;
        for (var r = 0u; r < D; r++) {
          var y = vec4f(0.0);
          for (var b = 0u; b < DP4; b++) {
            if (b <= r / 4u) {
              let pr = comp(k, row + b);
              y += vec4f(dot(pr, diff[b]), dot(pr, diff[DP4 + b]), dot(pr, diff[2u * DP4 + b]), dot(pr, diff[3u * DP4 + b]));
            }
          }
          m += y * y;
          row += r / 4u + 1u;
        }
      }
      let lp = vec4f(comp(k, stride - 1u).x) - 0.5 * min(m, vec4f(1.0e30));
      if (K <= MAX_K_PRIVATE) {
        lps[min(k, MAX_K_PRIVATE - 1u)] = lp;
      } else if (inside) {
        resp[(k * chunk.npad + p0) / 4u] = lp;
      }
      mx = max(mx, lp);
    }
    // One exp per component and point: e = exp(log p_k − max) serves both the sum and r_nk.
    var s = vec4f(0.0);
    for (var k = 0u; k < K; k++) {
      let i = (k * chunk.npad + p0) / 4u;
      var lp: vec4f;
      if (K <= MAX_K_PRIVATE) {
        lp = lps[min(k, MAX_K_PRIVATE - 1u)];
      } else if (inside) {
        lp = resp[i];
      }
      let e = exp(lp - mx);
      s += e;
      if (inside) {
        resp[i] = e;
      }
    }
    var w = vec4f(1.0);
    if (HAS_WEIGHTS) {
      w = weights[min(p0, n - 1u) / 4u];
    }
    let lost = mx <= vec4f(ZERO_LIKELIHOOD);
    let counted = valid & !lost;
    // Points of weight 0 take no part in the fit: not counted as lost either.
    zero += dot(select(vec4f(0.0), vec4f(1.0), valid & lost & (w != vec4f(0.0))), vec4f(1.0));
    let logp = select(vec4f(0.0), mx + log(s), counted);
    w = select(vec4f(0.0), w, counted);
    ll += dot(w, logp);
    absLl += dot(w, abs(logp));
    if (inside) {
      scale[p0 / 4u] = select(vec4f(0.0), w / s, counted);
    }
  }

  llShared[lid] = vec4f(ll, zero, absLl, 0.0);
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      llShared[lid] += llShared[lid + half];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    llPartials[wid.x] = llShared[0];
  }
}
