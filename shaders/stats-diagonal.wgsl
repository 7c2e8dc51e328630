// Sufficient statistics of one component for diagonal covariance: per vec4 block of dimensions,
// s = Σ r (x − c) and q = Σ r (x − c)², and N = Σ r. Each invocation accumulates its own points
// with no barrier; the workgroup's partials are then summed by a fixed-order tree.
// Output per (g, k, block): three vec4s [s, q, (N, 0, 0, 0)].

override DP4: u32;
override K: u32;
override STRIDE: u32;

const WG: u32 = 64u;
const MAX_DP4: u32 = 16u;

struct Chunk {
  n: u32,
  groups: u32,
  npad: u32,          // component k's values start at k·npad in `resp`
  reduceSlots: u32,   // DP4 + 1, from a uniform: see the reduction loop below
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> resp: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4f>;
@group(0) @binding(4) var<uniform> chunk: Chunk;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

var<workgroup> tree: array<vec4f, 2u * WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;
  let k = wid.y;
  var s: array<vec4f, MAX_DP4>;
  var q: array<vec4f, MAX_DP4>;
  var n = 0.0;
  let mean = k * STRIDE;
  for (var p = g * WG + lid; p < chunk.n; p += chunk.groups * WG) {
    let r = resp[k * chunk.npad + p] * scale[p];
    n += r;
    for (var j = 0u; j < DP4; j++) {
      let v = points[p * DP4 + j] - params[mean + j];
      let rv = r * v;
      s[j] += rv;
      q[j] += rv * v;
    }
  }

  // The bound comes from a uniform so that the compiler keeps this a loop: unrolled, its barriers
  // multiply, and CPU drivers (lavapipe) take minutes to compile the result.
  for (var j = 0u; j < chunk.reduceSlots; j++) {
    if (j < DP4) {
      // Static indices only (see stats-full.wgsl): pick s[j] and q[j] by comparison.
      var sj = vec4f(0.0);
      var qj = vec4f(0.0);
      for (var i = 0u; i < DP4; i++) {
        if (i == j) {
          sj = s[i];
          qj = q[i];
        }
      }
      tree[lid] = sj;
      tree[WG + lid] = qj;
    } else {
      tree[lid] = vec4f(n, 0.0, 0.0, 0.0);
      tree[WG + lid] = vec4f(0.0);
    }
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
      if (lid < half) {
        tree[lid] += tree[lid + half];
        tree[WG + lid] += tree[WG + lid + half];
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      let out = 3u * ((g * K + k) * DP4);
      if (j < DP4) {
        partials[out + 3u * j] = tree[0];
        partials[out + 3u * j + 1u] = tree[WG];
      } else {
        for (var u = 0u; u < DP4; u++) {
          partials[out + 3u * u + 2u] = tree[0];
        }
      }
    }
    workgroupBarrier();
  }
}
