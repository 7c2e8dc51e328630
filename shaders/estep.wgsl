// E-step over one chunk of points: per point, the log-density of every component through its
// precision factor (full: ‖P_k (x − μ_k)‖², P_k = L_k⁻¹ lower-triangular; diagonal: Σ (x − μ)²/σ²),
// an online max-shifted log-sum-exp, and the responsibilities r_nk (times the point's observation
// weight) written to `resp` for the statistics kernels. Each workgroup also reduces its points'
// weighted log-likelihood, zero-likelihood count and Σ w|log p| (which bounds the float32 rounding
// error of the log-likelihood) with a fixed-order tree (deterministic).
//
// Points are centred on upload (design §2) and padded to vec4 blocks with zeros; parameters are
// laid out per component as [mean: DP4 vec4][full: D rows × DP4 vec4 of P | diagonal: DP4 vec4 of
// 1/σ²][vec4(log w − ½(D log 2π + log det Σ), 0, 0, 0)].

override D: u32;
override DP4: u32;
override K: u32;
override DIAGONAL: bool;
override HAS_WEIGHTS: bool;

const WG: u32 = 64u;
// Largest supported D is 4 × MAX_DP4; private arrays need a constant size.
const MAX_DP4: u32 = 16u;
// Stands in for −∞ (WGSL does not promise IEEE infinities): log-weight of an empty component.
const NEG_BIG: f32 = -3.0e38;
const ZERO_LIKELIHOOD: f32 = -1.0e37;

struct Chunk {
  n: u32,        // points in this chunk
  groups: u32,   // workgroups dispatched (grid stride)
  tiles: u32,    // unused here
  pad: u32,
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> resp: array<f32>;
@group(0) @binding(4) var<storage, read_write> llPartials: array<vec4f>;
@group(0) @binding(5) var<uniform> chunk: Chunk;

var<workgroup> llShared: array<vec4f, WG>;

fn componentStride() -> u32 {
  if (DIAGONAL) {
    return 2u * DP4 + 1u;
  }
  return DP4 + D * DP4 + 1u;
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  var x: array<vec4f, MAX_DP4>;
  var diff: array<vec4f, MAX_DP4>;
  var ll = 0.0;
  var zero = 0.0;
  var absLl = 0.0;
  let stride = componentStride();
  for (var p = wid.x * WG + lid; p < chunk.n; p += chunk.groups * WG) {
    for (var b = 0u; b < DP4; b++) {
      x[b] = points[p * DP4 + b];
    }
    var mx = NEG_BIG;
    var s = 0.0;
    for (var k = 0u; k < K; k++) {
      let base = k * stride;
      for (var b = 0u; b < DP4; b++) {
        diff[b] = x[b] - params[base + b];
      }
      var m = 0.0;
      if (DIAGONAL) {
        for (var b = 0u; b < DP4; b++) {
          let t = diff[b];
          m += dot(t * t, params[base + DP4 + b]);
        }
      } else {
        var row = base + DP4;
        for (var r = 0u; r < D; r++) {
          var y = 0.0;
          let blocks = r / 4u + 1u;
          for (var b = 0u; b < blocks; b++) {
            y += dot(params[row + b], diff[b]);
          }
          m += y * y;
          row += DP4;
        }
      }
      let lp = params[base + stride - 1u].x - 0.5 * min(m, 1.0e30);
      resp[p * K + k] = lp;
      if (lp > mx) {
        s = s * exp(mx - lp) + 1.0;
        mx = lp;
      } else {
        s += exp(lp - mx);
      }
    }
    if (mx <= ZERO_LIKELIHOOD) {
      zero += 1.0;
      for (var k = 0u; k < K; k++) {
        resp[p * K + k] = 0.0;
      }
      continue;
    }
    var w = 1.0;
    if (HAS_WEIGHTS) {
      w = weights[p];
    }
    let logp = mx + log(s);
    ll += w * logp;
    absLl += w * abs(logp);
    for (var k = 0u; k < K; k++) {
      resp[p * K + k] = w * exp(resp[p * K + k] - logp);
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
