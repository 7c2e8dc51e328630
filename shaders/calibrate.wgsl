// Calibration: what this adapter can execute at best — independent chains of vec4 multiply-adds
// with no memory traffic in the loop, CHAINS per invocation so latency never stalls issue. The
// bench divides the flops (ITERATIONS × CHAINS × 4 lanes × 2) by the time to get the adapter's
// attainable GFLOP/s, the yardstick for the EM kernels' efficiency, and takes the best over
// several CHAINS: too few leave latency exposed, too many spill registers (on lavapipe with AVX2,
// 3–4 chains measured ~30% faster than 8).

override ITERATIONS: u32 = 4096u;
override CHAINS: u32 = 8u;
const MAX_CHAINS: u32 = 16u;

@group(0) @binding(0) var<storage, read_write> sink: array<vec4f>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let seed = f32(gid.x) * 1.0e-7;
  let m = vec4f(0.999999, 0.9999995, 0.9999998, 0.9999999);
  let c = vec4f(seed, 1.0e-7, 2.0e-7, 3.0e-7);
  var a: array<vec4f, MAX_CHAINS>;
  for (var i = 0u; i < CHAINS; i++) {
    a[i] = vec4f(f32(i) + seed);
  }
  for (var it = 0u; it < ITERATIONS; it++) {
    // Constant bound: unrolled, each a[i] stays in a register.
    for (var i = 0u; i < CHAINS; i++) {
      a[i] = fma(a[i], m, c);
    }
  }
  var s = vec4f(0.0);
  for (var i = 0u; i < CHAINS; i++) {
    s += a[i];
  }
  // Written so the compiler cannot drop the chains.
  sink[gid.x] = s;
}
