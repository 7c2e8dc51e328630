// Sums `groups` partial vectors of `m` vec4s each (partials[g·m + i]) into out[i], in a fixed
// order with Kahan compensation: deterministic, and accurate enough that the float32 statistics
// of a chunk lose nothing measurable to the reduction.

struct Shape {
  m: u32,
  groups: u32,
  zero: u32,             // 0 (see `one` below)
  pad1: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<uniform> shape: Shape;

// Partials first, first + step, … of output i, summed in that order with Kahan compensation.
fn kahanSum(i: u32, first: u32, step: u32) -> vec4f {
  // The compensation needs the opaque `one` (1.0 from the uniform, unknown to the compiler): the
  // shader compiler applies the algebra of real numbers to (t + y) − t − y — Mesa's lavapipe folds
  // it to 0, which would leave a plain float32 sum — but it cannot simplify ((t + y) · one − t) − y.
  let one = 1.0 + f32(shape.zero);
  var sum = vec4f(0.0);
  var c = vec4f(0.0);
  for (var g = first; g < shape.groups; g += step) {
    let y = partials[g * shape.m + i] - c;
    let t = (sum + y) * one;
    c = (t - sum) - y;
    sum = t;
  }
  // Less the compensation of the last addition, which the sum leaves out.
  return sum - c;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= shape.m) {
    return;
  }
  out[i] = kahanSum(i, 0u, 1u);
}

// The same sums for many groups (a GPU's thousands of short point ranges): one workgroup of WIDE
// invocations per output vec4, lane t adding groups t, t + WIDE, … with Kahan compensation, then
// a fixed pairwise tree over the lanes — as deterministic as `main`, in a different order. The
// workgroups run in rows of at most 65535 (a dispatch dimension's limit), output i at
// (i mod rows' width, i / width): large models have more statistics vec4s than one row holds
// (816 per full 64-dimensional component). The tree is not compensated: 6 levels of lane sums,
// each already a compensated total, add at most 6 roundings of the largest.
const WIDE: u32 = 64u;
var<workgroup> lanes: array<vec4f, WIDE>;

@compute @workgroup_size(WIDE)
fn wide(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) rows: vec3u, @builtin(local_invocation_index) t: u32) {
  let i = wid.x + wid.y * rows.x;
  // Uniform per workgroup: every lane of a workgroup past the end returns, before any barrier.
  if (i >= shape.m) {
    return;
  }
  lanes[t] = kahanSum(i, t, WIDE);
  for (var half = WIDE / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (t < half) {
      lanes[t] = lanes[t] + lanes[t + half];
    }
  }
  if (t == 0u) {
    out[i] = lanes[0];
  }
}
