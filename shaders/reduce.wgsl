// Sums `groups` partial vectors of `m` vec4s each (partials[g·m + i]) into out[i], in a fixed
// order with Kahan compensation: deterministic, and accurate enough that the float32 statistics
// of a chunk lose nothing measurable to the reduction.

struct Shape {
  m: u32,
  groups: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<storage, read> partials: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<uniform> shape: Shape;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= shape.m) {
    return;
  }
  var sum = vec4f(0.0);
  var c = vec4f(0.0);
  for (var g = 0u; g < shape.groups; g++) {
    let y = partials[g * shape.m + i] - c;
    let t = sum + y;
    c = (t - sum) - y;
    sum = t;
  }
  out[i] = sum;
}
