// Sufficient statistics of one component for diagonal covariance over one block of tiles:
// per vec4 block of dimensions ("unit"), s = Σ r (x − c) and q = Σ r (x − c)², and N = Σ r.
// Lanes split a tile's points when there are fewer units than invocations and are summed in a
// fixed order. Output per (g, k, unit): three vec4s [s, q, (N, 0, 0, 0)].

override DP4: u32;
override K: u32;
override STRIDE: u32;
override TILE: u32;

const WG: u32 = 64u;

struct Chunk {
  n: u32,
  groups: u32,
  tiles: u32,
  pad: u32,
}

@group(0) @binding(0) var<storage, read> points: array<vec4f>;
@group(0) @binding(1) var<storage, read> params: array<vec4f>;
@group(0) @binding(2) var<storage, read> resp: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4f>;
@group(0) @binding(4) var<uniform> chunk: Chunk;

var<workgroup> tileX: array<vec4f, TILE * DP4>;
var<workgroup> tileR: array<f32, TILE>;
var<workgroup> laneAcc: array<vec4f, 3u * WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let g = wid.x;
  let k = wid.y;
  let units = DP4;
  let lanes = WG / units;
  let working = lid < units * lanes;
  let unit = lid % units;
  let lane = lid / units;

  var s = vec4f(0.0);
  var q2 = vec4f(0.0);
  var n = 0.0;
  let mean = k * STRIDE;
  for (var t = g; t < chunk.tiles; t += chunk.groups) {
    let p0 = t * TILE;
    for (var e = lid; e < TILE * DP4; e += WG) {
      let q = e / DP4;
      let b = e % DP4;
      let p = p0 + q;
      var v = vec4f(0.0);
      if (p < chunk.n) {
        v = points[p * DP4 + b] - params[mean + b];
      }
      tileX[e] = v;
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
        let r = tileR[q];
        let v = tileX[q * DP4 + unit];
        let rv = r * v;
        s += rv;
        q2 += rv * v;
        n += r;
      }
    }
    workgroupBarrier();
  }

  laneAcc[3u * lid] = s;
  laneAcc[3u * lid + 1u] = q2;
  laneAcc[3u * lid + 2u] = vec4f(n, 0.0, 0.0, 0.0);
  workgroupBarrier();
  if (working && lane == 0u) {
    var ts = s;
    var tq = q2;
    var tn = n;
    for (var l = 1u; l < lanes; l++) {
      let o = 3u * (l * units + lid);
      ts += laneAcc[o];
      tq += laneAcc[o + 1u];
      tn += laneAcc[o + 2u].x;
    }
    let out = 3u * ((g * K + k) * DP4 + unit);
    partials[out] = ts;
    partials[out + 1u] = tq;
    partials[out + 2u] = vec4f(tn, 0.0, 0.0, 0.0);
  }
}
