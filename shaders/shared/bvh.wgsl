// Two-level BVH ray traversal (TLAS of instances over per-mesh BLASes).
// CPU twin: src/cpu/bvh.rs, written step for step alike. Needs shared/types.wgsl.

@group(0) @binding(0) var<storage, read> blas_nodes: array<BvhNode>;
@group(0) @binding(1) var<storage, read> triangles: array<Triangle>;
@group(0) @binding(2) var<storage, read> instances: array<Instance>;
@group(0) @binding(3) var<storage, read> tlas_nodes: array<BvhNode>;
@group(0) @binding(4) var<storage, read> materials: array<Material>;

const MISS_T: f32 = 1.0e30;
const TLAS_STACK: u32 = 32u;
const BLAS_STACK: u32 = 48u;

struct Hit {
    t: f32,
    u: f32,
    v: f32,
    tri: u32,
    inst: u32,
    time_s: f32, // time of the ray, s from the frame time (pose of moving instances)
}

// Reciprocal of a direction with zero components nudged away from zero.
fn safe_inv(d: vec3<f32>) -> vec3<f32> {
    let eps = vec3<f32>(1.0e-20);
    let nudged = select(-eps, eps, d >= vec3<f32>(0.0));
    let dd = select(d, nudged, abs(d) < eps);
    return vec3<f32>(1.0) / dd;
}

// Entry distance of a ray into a box, or MISS_T when it misses or enters beyond t_max.
fn slab(bmin: vec3<f32>, bmax: vec3<f32>, o: vec3<f32>, inv: vec3<f32>, t_max: f32) -> f32 {
    let t0 = (bmin - o) * inv;
    let t1 = (bmax - o) * inv;
    let tn = min(t0, t1);
    let tf = max(t0, t1);
    let t_near = max(max(tn.x, tn.y), max(tn.z, 0.0));
    let t_far = min(min(tf.x, tf.y), tf.z);
    if t_near <= t_far && t_near < t_max {
        return t_near;
    }
    return MISS_T;
}

// Möller–Trumbore, two-sided. Returns (t, u, v) with t = MISS_T on a miss.
fn intersect_triangle(o: vec3<f32>, d: vec3<f32>, tri: Triangle) -> vec3<f32> {
    let pvec = cross(d, tri.e2);
    let det = dot(tri.e1, pvec);
    if abs(det) < 1.0e-12 {
        return vec3<f32>(MISS_T, 0.0, 0.0);
    }
    let inv_det = 1.0 / det;
    let tvec = o - tri.v0;
    let u = dot(tvec, pvec) * inv_det;
    if u < 0.0 || u > 1.0 {
        return vec3<f32>(MISS_T, 0.0, 0.0);
    }
    let qvec = cross(tvec, tri.e1);
    let v = dot(d, qvec) * inv_det;
    if v < 0.0 || u + v > 1.0 {
        return vec3<f32>(MISS_T, 0.0, 0.0);
    }
    let t = dot(tri.e2, qvec) * inv_det;
    if t <= 1.0e-4 {
        return vec3<f32>(MISS_T, 0.0, 0.0);
    }
    return vec3<f32>(t, u, v);
}

// The ray in an instance's object frame, the instance posed at time_s (s from the frame
// time): its origin moved by velocity·time_s, turned by yaw_rate·time_s about its vertical
// axis, world_from_object(t) = [Rz(a)·R | p + v·t]. Returns (origin, direction).
struct ObjectRay {
    o: vec3<f32>,
    d: vec3<f32>,
}

fn instance_ray(inst: Instance, o: vec3<f32>, d: vec3<f32>, time_s: f32) -> ObjectRay {
    var ow = o - inst.velocity_m_per_s * time_s;
    var dw = d;
    let a = inst.yaw_rate_rad_per_s * time_s;
    if a != 0.0 {
        let pivot = vec3<f32>(inst.world_from_object[0].w, inst.world_from_object[1].w, inst.world_from_object[2].w);
        let sa = sin(a);
        let ca = cos(a);
        let r = ow - pivot;
        ow = pivot + vec3<f32>(ca * r.x + sa * r.y, ca * r.y - sa * r.x, r.z);
        dw = vec3<f32>(ca * d.x + sa * d.y, ca * d.y - sa * d.x, d.z);
    }
    var out: ObjectRay;
    out.o = xform_point(inst.object_from_world, ow);
    out.d = xform_dir(inst.object_from_world, dw);
    return out;
}

// Closest hit along o + t d for t < t_max (or the first hit found when any_hit is true),
// with every instance at its frame-time pose.
// Each stack entry carries the entry distance its box was tested with when pushed, so a box
// is tested once: on pop it is skipped when a hit found since is nearer (t >= best.t).
fn trace(o: vec3<f32>, d: vec3<f32>, t_max: f32, any_hit: bool, tlas_root: u32) -> Hit {
    return trace_at(o, d, t_max, any_hit, tlas_root, 0.0);
}

// As trace, for a ray cast at time_s seconds from the frame time: moving instances are met
// where they are then (the TLAS bounds them over their swept motion).
fn trace_at(o: vec3<f32>, d: vec3<f32>, t_max: f32, any_hit: bool, tlas_root: u32, time_s: f32) -> Hit {
    var best: Hit;
    best.t = t_max;
    best.u = 0.0;
    best.v = 0.0;
    best.tri = NO_RETURN;
    best.inst = NO_RETURN;
    best.time_s = time_s;
    let inv_w = safe_inv(d);
    var tstack: array<u32, TLAS_STACK>;
    var tstack_t: array<f32, TLAS_STACK>;
    var tsp = 0u;
    let t_root = slab(tlas_nodes[tlas_root].aabb_min, tlas_nodes[tlas_root].aabb_max, o, inv_w, best.t);
    if t_root < MISS_T {
        tstack[0] = tlas_root;
        tstack_t[0] = t_root;
        tsp = 1u;
    }
    while tsp > 0u {
        tsp -= 1u;
        if tstack_t[tsp] >= best.t {
            continue;
        }
        let node = tlas_nodes[tstack[tsp]];
        if node.count == 0u {
            let l = node.left_first;
            let tl = slab(tlas_nodes[l].aabb_min, tlas_nodes[l].aabb_max, o, inv_w, best.t);
            let tr = slab(tlas_nodes[l + 1u].aabb_min, tlas_nodes[l + 1u].aabb_max, o, inv_w, best.t);
            // Push the far child first so the near one is visited first.
            if tl <= tr {
                if tr < MISS_T && tsp < TLAS_STACK { tstack[tsp] = l + 1u; tstack_t[tsp] = tr; tsp += 1u; }
                if tl < MISS_T && tsp < TLAS_STACK { tstack[tsp] = l; tstack_t[tsp] = tl; tsp += 1u; }
            } else {
                if tl < MISS_T && tsp < TLAS_STACK { tstack[tsp] = l; tstack_t[tsp] = tl; tsp += 1u; }
                if tr < MISS_T && tsp < TLAS_STACK { tstack[tsp] = l + 1u; tstack_t[tsp] = tr; tsp += 1u; }
            }
            continue;
        }
        for (var k = 0u; k < node.count; k += 1u) {
            let ii = node.left_first + k;
            let inst = instances[ii];
            let ray = instance_ray(inst, o, d, time_s);
            let oo = ray.o;
            let od = ray.d;
            let inv_o = safe_inv(od);
            var bstack: array<u32, BLAS_STACK>;
            var bstack_t: array<f32, BLAS_STACK>;
            var bsp = 0u;
            let t_blas = slab(blas_nodes[inst.blas_root].aabb_min, blas_nodes[inst.blas_root].aabb_max, oo, inv_o, best.t);
            if t_blas < MISS_T {
                bstack[0] = inst.blas_root;
                bstack_t[0] = t_blas;
                bsp = 1u;
            }
            while bsp > 0u {
                bsp -= 1u;
                if bstack_t[bsp] >= best.t {
                    continue;
                }
                let bn = blas_nodes[bstack[bsp]];
                if bn.count == 0u {
                    let l = bn.left_first;
                    let tl = slab(blas_nodes[l].aabb_min, blas_nodes[l].aabb_max, oo, inv_o, best.t);
                    let tr = slab(blas_nodes[l + 1u].aabb_min, blas_nodes[l + 1u].aabb_max, oo, inv_o, best.t);
                    if tl <= tr {
                        if tr < MISS_T && bsp < BLAS_STACK { bstack[bsp] = l + 1u; bstack_t[bsp] = tr; bsp += 1u; }
                        if tl < MISS_T && bsp < BLAS_STACK { bstack[bsp] = l; bstack_t[bsp] = tl; bsp += 1u; }
                    } else {
                        if tl < MISS_T && bsp < BLAS_STACK { bstack[bsp] = l; bstack_t[bsp] = tl; bsp += 1u; }
                        if tr < MISS_T && bsp < BLAS_STACK { bstack[bsp] = l + 1u; bstack_t[bsp] = tr; bsp += 1u; }
                    }
                    continue;
                }
                for (var j = 0u; j < bn.count; j += 1u) {
                    let ti = bn.left_first + j;
                    let r = intersect_triangle(oo, od, triangles[ti]);
                    if r.x < best.t {
                        best.t = r.x;
                        best.u = r.y;
                        best.v = r.z;
                        best.tri = ti;
                        best.inst = ii;
                        if any_hit {
                            return best;
                        }
                    }
                }
            }
        }
    }
    return best;
}

// Unit normal of the hit triangle in world space (its instance posed at the hit's time),
// facing against the ray.
fn hit_normal(h: Hit, d: vec3<f32>) -> vec3<f32> {
    let tri = triangles[h.tri];
    let n_obj = cross(tri.e1, tri.e2);
    let inst = instances[h.inst];
    var n = normalize(xform_dir(inst.world_from_object, n_obj));
    let a = inst.yaw_rate_rad_per_s * h.time_s;
    if a != 0.0 {
        let sa = sin(a);
        let ca = cos(a);
        n = vec3<f32>(ca * n.x - sa * n.y, sa * n.x + ca * n.y, n.z);
    }
    return select(n, -n, dot(n, d) > 0.0);
}
