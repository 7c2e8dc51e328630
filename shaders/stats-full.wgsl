// Sufficient statistics of one component for full covariance, over one block of tiles of points.
// With b_n = [x_n − c_k; 1] (the augmented, shifted point), the upper triangle of
//   Σ_n r_nk b_n b_nᵀ
// holds S_k = Σ r (x − c)(x − c)ᵀ, s_k = Σ r (x − c) (last column) and N_k = Σ r (corner), so one
// kind of accumulator — a mat4x4 per 4×4 block of the upper triangle — computes all of them.
//
// Workgroup (g, k, z): g = block of tiles (grid stride over the chunk), k = component,
// z = group of up to 64 blocks ("units"). When there are fewer units than invocations, several
// lanes share a unit and split the tile's points; lanes are then summed in a fixed order.
// Output: partials[(g·K + k)·NB + unit], reduced over g by reduce.wgsl.

override D: u32;
override DP4: u32;      // vec4 blocks per point
override DA4: u32;      // vec4 blocks per augmented point = blocks per side of b bᵀ
override NB: u32;       // upper-triangular 4×4 blocks: DA4 (DA4 + 1) / 2
override K: u32;
override STRIDE: u32;   // component stride in params (vec4s); the mean comes first
override TILE: u32;     // points per tile in workgroup memory

const WG: u32 = 64u;

struct Chunk {
  n: u32,
  groups: u32,  // workgroups along x (blocks of tiles)
  tiles: u32,   // ceil(n / TILE)
  pad: u32,
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> resp: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<mat4x4f>;
@group(0) @binding(4) var<uniform> chunk: Chunk;

var<workgroup> tileB: array<vec4f, TILE * DA4>;
var<workgroup> tileR: array<f32, TILE>;
var<workgroup> laneAcc: array<mat4x4f, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;
  let k = wid.y;
  let unitBase = wid.z * WG;
  let units = min(WG, NB - unitBase);
  let lanes = WG / units;
  let working = lid < units * lanes;
  let unit = unitBase + lid % units;
  let lane = lid / units;

  // Block (bi, bj), bi ≤ bj, of this unit: units enumerate the upper triangle row by row.
  var bi = 0u;
  var rem = unit;
  loop {
    let len = DA4 - bi;
    if (rem < len || bi + 1u >= DA4) {
      break;
    }
    rem -= len;
    bi += 1u;
  }
  let bj = bi + rem;

  var acc = mat4x4f();
  let mean = k * STRIDE;
  for (var t = g; t < chunk.tiles; t += chunk.groups) {
    let p0 = t * TILE;
    for (var e = lid; e < TILE * DA4; e += WG) {
      let q = e / DA4;
      let b = e % DA4;
      let p = p0 + q;
      var v = vec4f(0.0);
      if (p < chunk.n) {
        if (b < DP4) {
          v = points[p * DP4 + b] - params[mean + b];
        }
        if (b == D / 4u) {
          v[D % 4u] = 1.0;
        }
      }
      tileB[e] = v;
    }
    for (var q = lid; q < TILE; q += WG) {
      let p = p0 + q;
      var r = 0.0;
      if (p < chunk.n) {
        r = resp[p * K + k];
      }
      tileR[q] = r;
    }
    workgroupBarrier();
    if (working) {
      for (var q = lane; q < TILE; q += lanes) {
        let a = tileR[q] * tileB[q * DA4 + bi];
        let b = tileB[q * DA4 + bj];
        acc[0] += a * b.x;
        acc[1] += a * b.y;
        acc[2] += a * b.z;
        acc[3] += a * b.w;
      }
    }
    workgroupBarrier();
  }

  laneAcc[lid] = acc;
  workgroupBarrier();
  if (working && lane == 0u) {
    var total = acc;
    for (var l = 1u; l < lanes; l++) {
      total += laneAcc[l * units + lid];
    }
    partials[(g * K + k) * NB + unit] = total;
  }
}
