// Two-level BVH ray traversal (TLAS of instances over per-mesh BLASes).
// CPU twin: src/backend/cpu/bvh.rs, written step for step alike. Needs shared/types.wgsl.

@group(0) @binding(0) var<storage, read> blas_nodes: array<BvhNode>;
@group(0) @binding(1) var<storage, read> triangles: array<Triangle>;
@group(0) @binding(2) var<storage, read> instances: array<Instance>;
@group(0) @binding(3) var<storage, read> tlas_nodes: array<BvhNode>;
@group(0) @binding(4) var<storage, read> materials: array<Material>;

// A 4-wide traversal needs at most 3 * depth + 1 stack entries.
// Stack entries: a node index, or a leaf LEAF_BIT | (count - 1) << LEAF_COUNT_SHIFT | first.
const LEAF_FIRST_MASK: u32 = 0x1fffffffu;

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

// Entry distances of a ray into a node's four boxes, MISS_T where it misses one or enters it
// at or beyond t_max. Each axis's near plane is picked by the direction's sign (the value
// min(t0, t1) would give); an empty slot's inverted box is entered only beyond any range.
fn slab4(n: BvhNode, o: vec3<f32>, inv: vec3<f32>, t_max: f32) -> vec4<f32> {
    let neg = inv < vec3<f32>(0.0);
    let tx0 = (select(n.min_x, n.max_x, neg.x) - vec4<f32>(o.x)) * inv.x;
    let tx1 = (select(n.max_x, n.min_x, neg.x) - vec4<f32>(o.x)) * inv.x;
    let ty0 = (select(n.min_y, n.max_y, neg.y) - vec4<f32>(o.y)) * inv.y;
    let ty1 = (select(n.max_y, n.min_y, neg.y) - vec4<f32>(o.y)) * inv.y;
    let tz0 = (select(n.min_z, n.max_z, neg.z) - vec4<f32>(o.z)) * inv.z;
    let tz1 = (select(n.max_z, n.min_z, neg.z) - vec4<f32>(o.z)) * inv.z;
    let t_near = max(max(tx0, ty0), max(tz0, vec4<f32>(0.0)));
    let t_far = min(min(tx1, ty1), tz1);
    return select(vec4<f32>(MISS_T), t_near, (t_near <= t_far) & (t_near < vec4<f32>(t_max)));
}

// The items first..first+count of a leaf stack entry (twin of leaf_items in src/backend/cpu/bvh.rs).
fn leaf_first(entry: u32) -> u32 {
    return entry & LEAF_FIRST_MASK;
}

fn leaf_count(entry: u32) -> u32 {
    return ((entry & ~LEAF_BIT) >> LEAF_COUNT_SHIFT) + 1u;
}

// The slots a ray enters, as stack entries sorted far first (so the nearest pops first);
// equal distances keep slot order (the later slot is nearer).
struct Slots {
    entry: array<u32, 4>,
    t: array<f32, 4>,
    n: u32,
}

fn entered_slots(node: BvhNode, t_near: vec4<f32>) -> Slots {
    var s: Slots;
    s.n = 0u;
    for (var k = 0u; k < 4u; k += 1u) {
        let t = t_near[k];
        if t >= MISS_T {
            continue;
        }
        var entry = node.child[k];
        if node.count[k] != 0u {
            entry = LEAF_BIT | ((node.count[k] - 1u) << LEAF_COUNT_SHIFT) | node.child[k];
        }
        var j = s.n;
        while j > 0u && s.t[j - 1u] < t {
            s.entry[j] = s.entry[j - 1u];
            s.t[j] = s.t[j - 1u];
            j -= 1u;
        }
        s.entry[j] = entry;
        s.t[j] = t;
        s.n += 1u;
    }
    return s;
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
    tstack[0] = tlas_root;
    tstack_t[0] = 0.0;
    var tsp = 1u;
    while tsp > 0u {
        tsp -= 1u;
        let t_entry = tstack_t[tsp];
        if t_entry >= best.t {
            continue;
        }
        let entry = tstack[tsp];
        if (entry & LEAF_BIT) == 0u {
            let node = tlas_nodes[entry];
            let s = entered_slots(node, slab4(node, o, inv_w, best.t));
            for (var i = 0u; i < s.n; i += 1u) {
                if tsp < TLAS_STACK { tstack[tsp] = s.entry[i]; tstack_t[tsp] = s.t[i]; tsp += 1u; }
            }
            continue;
        }
        let first = leaf_first(entry);
        for (var ii = first; ii < first + leaf_count(entry); ii += 1u) {
            let inst = instances[ii];
            let ray = instance_ray(inst, o, d, time_s);
            let oo = ray.o;
            let od = ray.d;
            let inv_o = safe_inv(od);
            var bstack: array<u32, BLAS_STACK>;
            var bstack_t: array<f32, BLAS_STACK>;
            bstack[0] = inst.blas_root;
            bstack_t[0] = t_entry;
            var bsp = 1u;
            while bsp > 0u {
                bsp -= 1u;
                if bstack_t[bsp] >= best.t {
                    continue;
                }
                let bentry = bstack[bsp];
                if (bentry & LEAF_BIT) == 0u {
                    let bn = blas_nodes[bentry];
                    let s = entered_slots(bn, slab4(bn, oo, inv_o, best.t));
                    for (var i = 0u; i < s.n; i += 1u) {
                        if bsp < BLAS_STACK { bstack[bsp] = s.entry[i]; bstack_t[bsp] = s.t[i]; bsp += 1u; }
                    }
                    continue;
                }
                let tfirst = leaf_first(bentry);
                for (var ti = tfirst; ti < tfirst + leaf_count(bentry); ti += 1u) {
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
