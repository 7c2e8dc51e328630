// Sufficient statistics of one component for full covariance. With b_n = [x_n − c_k; 1] (the
// augmented, shifted point), the upper triangle of
//   Σ_n r_nk b_n b_nᵀ
// holds S_k = Σ r (x − c)(x − c)ᵀ, s_k = Σ r (x − c) (last column) and N_k = Σ r (corner), so one
// kind of accumulator — a mat4x4 per 4×4 block of the upper triangle — computes all of them.
//
// Workgroup (g, k): g strides over the chunk's points, k is the component. Each pipeline handles
// up to 8 blocks, whose coordinates (BI*, BJ*) are override constants, so every index below is
// static after specialization and the accumulators stay in registers. Each invocation accumulates
// its own points with no barrier; the workgroup's 64 partials are then summed by a fixed-order tree.
// Output: partials[(g·K + k)·NB + U0 + j], reduced over g by reduce.wgsl.

override D: u32;
override DP4: u32;      // vec4 blocks per point
override DA4: u32;      // vec4 blocks per augmented point
override NB: u32;       // upper-triangular 4×4 blocks in all
override K: u32;
override STRIDE: u32;   // component stride in params (vec4s); the mean comes first
override U0: u32;       // first block of this pipeline
override BLOCKS: u32;   // blocks of this pipeline (≤ 8)
override BI0: u32 = 0u; override BJ0: u32 = 0u;
override BI1: u32 = 0u; override BJ1: u32 = 0u;
override BI2: u32 = 0u; override BJ2: u32 = 0u;
override BI3: u32 = 0u; override BJ3: u32 = 0u;
override BI4: u32 = 0u; override BJ4: u32 = 0u;
override BI5: u32 = 0u; override BJ5: u32 = 0u;
override BI6: u32 = 0u; override BJ6: u32 = 0u;
override BI7: u32 = 0u; override BJ7: u32 = 0u;

const WG: u32 = 64u;
const MAX_BLOCKS: u32 = 8u;
const MAX_DA4: u32 = 17u;

struct Chunk {
  n: u32,
  groups: u32,        // workgroups along x
  npad: u32,          // component k's values start at k·npad in `resp`
  reduceSlots: u32,   // MAX_BLOCKS, from a uniform: see the reduction loop below
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> resp: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<mat4x4f>;
@group(0) @binding(4) var<uniform> chunk: Chunk;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

var<workgroup> tree: array<mat4x4f, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;
  let k = wid.y;
  let bi = array<u32, MAX_BLOCKS>(BI0, BI1, BI2, BI3, BI4, BI5, BI6, BI7);
  let bj = array<u32, MAX_BLOCKS>(BJ0, BJ1, BJ2, BJ3, BJ4, BJ5, BJ6, BJ7);
  var acc: array<mat4x4f, MAX_BLOCKS>;
  var b: array<vec4f, MAX_DA4>;
  let mean = k * STRIDE;
  for (var p = g * WG + lid; p < chunk.n; p += chunk.groups * WG) {
    let r = resp[k * chunk.npad + p] * scale[p];
    for (var j = 0u; j < DA4; j++) {
      var v = vec4f(0.0);
      if (j < DP4) {
        v = points[p * DP4 + j] - params[mean + j];
      }
      if (j == D / 4u) {
        v[D % 4u] = 1.0;
      }
      b[j] = v;
    }
    for (var j = 0u; j < BLOCKS; j++) {
      let a = r * b[bi[j]];
      let c = b[bj[j]];
      acc[j][0] += a * c.x;
      acc[j][1] += a * c.y;
      acc[j][2] += a * c.z;
      acc[j][3] += a * c.w;
    }
  }

  // The bound comes from a uniform so that the compiler keeps this a loop: unrolled, its barriers
  // multiply, and CPU drivers (lavapipe) take minutes to compile the result.
  for (var j = 0u; j < chunk.reduceSlots; j++) {
    // Pick acc[j] with static indices only: a dynamic index would move all of acc out of
    // registers into indexable memory, slowing the accumulation loop above.
    var mine = mat4x4f();
    for (var i = 0u; i < MAX_BLOCKS; i++) {
      if (i == j) {
        mine = acc[i];
      }
    }
    tree[lid] = mine;
    workgroupBarrier();
    for (var half = WG / 2u; half > 0u; half /= 2u) {
      if (lid < half) {
        tree[lid] += tree[lid + half];
      }
      workgroupBarrier();
    }
    if (lid == 0u && j < BLOCKS) {
      partials[(g * K + k) * NB + U0 + j] = tree[0];
    }
    workgroupBarrier();
  }
}
