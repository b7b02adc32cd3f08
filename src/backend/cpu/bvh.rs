//! CPU twin of `shaders/shared/bvh.wgsl`: two-level BVH traversal, step for step alike.

use glam::{Vec3, Vec4};

use crate::abi::{BvhNode, GpuMaterial, Instance, NO_RETURN, Triangle};

pub use crate::abi::shared::MISS_T;
/// Stack sizes: a 4-wide traversal needs at most `3 * depth + 1` entries.
pub const TLAS_STACK: usize = crate::abi::shared::TLAS_STACK as usize;
pub const BLAS_STACK: usize = crate::abi::shared::BLAS_STACK as usize;

/// The buffers a frame is traced against (the same ones the GPU binds in group 0).
#[derive(Clone, Copy)]
pub struct SceneView<'a> {
    pub blas_nodes: &'a [BvhNode],
    pub triangles: &'a [Triangle],
    pub instances: &'a [Instance],
    pub tlas_nodes: &'a [BvhNode],
    pub materials: &'a [GpuMaterial],
    pub tlas_root: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    pub t: f32,
    pub u: f32,
    pub v: f32,
    pub tri: u32,
    pub inst: u32,
    /// Time of the ray, seconds from the frame time (the pose of moving instances).
    pub time_s: f32,
}

impl Hit {
    pub fn is_hit(&self) -> bool {
        self.tri != NO_RETURN
    }
}

#[inline]
fn v3(a: [f32; 3]) -> Vec3 {
    Vec3::new(a[0], a[1], a[2])
}

#[inline]
pub fn xform_point(m: &[[f32; 4]; 3], p: Vec3) -> Vec3 {
    let row = |r: &[f32; 4]| r[0] * p.x + r[1] * p.y + r[2] * p.z + r[3];
    Vec3::new(row(&m[0]), row(&m[1]), row(&m[2]))
}

#[inline]
pub fn xform_dir(m: &[[f32; 4]; 3], d: Vec3) -> Vec3 {
    let row = |r: &[f32; 4]| r[0] * d.x + r[1] * d.y + r[2] * d.z;
    Vec3::new(row(&m[0]), row(&m[1]), row(&m[2]))
}

#[inline]
pub fn safe_inv(d: Vec3) -> Vec3 {
    let eps = 1.0e-20f32;
    let fix = |c: f32| {
        if c.abs() < eps {
            if c >= 0.0 { eps } else { -eps }
        } else {
            c
        }
    };
    Vec3::new(1.0 / fix(d.x), 1.0 / fix(d.y), 1.0 / fix(d.z))
}

#[inline]
pub fn intersect_triangle(o: Vec3, d: Vec3, tri: &Triangle) -> (f32, f32, f32) {
    let e1 = v3(tri.e1);
    let e2 = v3(tri.e2);
    let pvec = d.cross(e2);
    let det = e1.dot(pvec);
    if det.abs() < 1.0e-12 {
        return (MISS_T, 0.0, 0.0);
    }
    let inv_det = 1.0 / det;
    let tvec = o - v3(tri.v0);
    let u = tvec.dot(pvec) * inv_det;
    if !(0.0..=1.0).contains(&u) {
        return (MISS_T, 0.0, 0.0);
    }
    let qvec = tvec.cross(e1);
    let v = d.dot(qvec) * inv_det;
    if v < 0.0 || u + v > 1.0 {
        return (MISS_T, 0.0, 0.0);
    }
    let t = e2.dot(qvec) * inv_det;
    if t <= 1.0e-4 {
        return (MISS_T, 0.0, 0.0);
    }
    (t, u, v)
}

/// A ray splatted across four lanes, for testing a node's four boxes at once, with the
/// planes each axis enters and leaves by (the direction's sign: min then max when it is
/// positive), as indices into a node's six plane arrays.
#[derive(Clone, Copy)]
pub(super) struct Ray4 {
    o: [Vec4; 3],
    inv: [Vec4; 3],
    near: [usize; 3],
}

impl Ray4 {
    #[inline(always)]
    pub(super) fn new(o: Vec3, inv: Vec3) -> Self {
        let plane = |axis: usize, c: f32| 2 * axis + usize::from(c < 0.0);
        Ray4 {
            o: [Vec4::splat(o.x), Vec4::splat(o.y), Vec4::splat(o.z)],
            inv: [Vec4::splat(inv.x), Vec4::splat(inv.y), Vec4::splat(inv.z)],
            near: [plane(0, inv.x), plane(1, inv.y), plane(2, inv.z)],
        }
    }
}

/// The slab test on a node's four boxes, one per SSE lane: the entry distances and a bit mask
/// of the boxes entered before `t_max` (twin of `slab4` in bvh.wgsl, which returns `MISS_T`
/// where this mask is clear). Each axis's near plane is picked by the direction's sign, the
/// plane `min(t0, t1)` would pick; an empty slot's inverted box is therefore entered only
/// beyond any traced range.
#[inline(always)]
pub(super) fn slab4(n: &BvhNode, r: &Ray4, t_max: f32) -> (Vec4, u32) {
    let (t_near, mask) = slab4_lanes(n, r, t_max);
    (t_near, mask.bitmask())
}

/// As [`slab4`], the entry distances with `MISS_T` where the ray misses a box or enters it at
/// or beyond `t_max` (as the shader's `slab4` returns them).
#[inline(always)]
pub(super) fn slab4_t(n: &BvhNode, r: &Ray4, t_max: f32) -> Vec4 {
    let (t_near, mask) = slab4_lanes(n, r, t_max);
    Vec4::select(mask, t_near, Vec4::splat(MISS_T))
}

#[inline(always)]
fn slab4_lanes(n: &BvhNode, r: &Ray4, t_max: f32) -> (Vec4, glam::BVec4A) {
    let planes: &[[f32; 4]; 8] = bytemuck::cast_ref(n);
    let t = |axis: usize, plane: usize| (Vec4::from_array(planes[plane]) - r.o[axis]) * r.inv[axis];
    let tx0 = t(0, r.near[0]);
    let tx1 = t(0, r.near[0] ^ 1);
    let ty0 = t(1, r.near[1]);
    let ty1 = t(1, r.near[1] ^ 1);
    let tz0 = t(2, r.near[2]);
    let tz1 = t(2, r.near[2] ^ 1);
    let t_near = tx0.max(ty0).max(tz0.max(Vec4::ZERO));
    let t_far = tx1.min(ty1).min(tz1);
    (
        t_near,
        t_near.cmple(t_far) & t_near.cmplt(Vec4::splat(t_max)),
    )
}

/// Stack entries: a node index, or a leaf `LEAF_BIT | (count - 1) << LEAF_COUNT_SHIFT | first`.
pub use crate::abi::shared::{LEAF_BIT, LEAF_COUNT_SHIFT};
/// Leaf items (triangles, instances) must have indices below this.
pub const LEAF_FIRST_LIMIT: u32 = 1 << LEAF_COUNT_SHIFT;

/// The stack entry of slot `k`: its node, or its leaf's items.
#[inline(always)]
pub(super) fn slot_entry(n: &BvhNode, k: usize) -> u32 {
    let c = n.count[k];
    if c == 0 {
        n.child[k]
    } else {
        LEAF_BIT | ((c - 1) << LEAF_COUNT_SHIFT) | n.child[k]
    }
}

/// Of the slots of `n` the ray enters (bits of `mask`, entry distances `t_near`), returns the
/// nearest and pushes the others far first, so they pop nearest first; equal distances keep
/// slot order (the later slot is nearer). `mask` must not be empty. This visits the slots in
/// the order the shader's push-all-then-pop does.
#[inline(always)]
fn nearest_and_push<const N: usize>(
    n: &BvhNode,
    t_near: Vec4,
    mask: u32,
    stack: &mut [(u32, f32); N],
    sp: &mut usize,
) -> u32 {
    if mask & (mask - 1) == 0 {
        return slot_entry(n, mask.trailing_zeros() as usize);
    }
    let t = t_near.to_array();
    let mut e = [(0u32, 0.0f32); 4];
    let mut m = 0usize;
    let mut bits = mask;
    while bits != 0 {
        let k = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        let item = (slot_entry(n, k), t[k]);
        let mut j = m;
        while j > 0 && e[j - 1].1 < item.1 {
            e[j] = e[j - 1];
            j -= 1;
        }
        e[j] = item;
        m += 1;
    }
    for &item in &e[..m - 1] {
        if *sp < N {
            stack[*sp] = item;
            *sp += 1;
        }
    }
    e[m - 1].0
}

/// From stack entry `entry`, goes down to the nearest leaf the ray enters before `t_max`,
/// pushing the other entered slots on the way; None when it enters none.
#[inline(always)]
fn descend<const N: usize>(
    nodes: &[BvhNode],
    mut entry: u32,
    ray: &Ray4,
    t_max: f32,
    stack: &mut [(u32, f32); N],
    sp: &mut usize,
) -> Option<u32> {
    while entry & LEAF_BIT == 0 {
        let node = &nodes[entry as usize];
        let (t_near, mask) = slab4(node, ray, t_max);
        if mask == 0 {
            return None;
        }
        entry = nearest_and_push(node, t_near, mask, stack, sp);
    }
    Some(entry)
}

/// The items `first..first+count` of a leaf stack entry.
#[inline(always)]
pub(super) fn leaf_items(entry: u32) -> std::ops::Range<u32> {
    let first = entry & (LEAF_FIRST_LIMIT - 1);
    let count = ((entry & !LEAF_BIT) >> LEAF_COUNT_SHIFT) + 1;
    first..first + count
}

/// The ray in an instance's object frame, the instance posed at `time_s` (seconds from the
/// frame time): its origin moved by `velocity·time_s`, turned by `yaw_rate·time_s` about its
/// vertical axis. Static instances (no motion, or time 0) take the plain transform.
#[inline]
pub fn instance_ray(inst: &Instance, o: Vec3, d: Vec3, time_s: f32) -> (Vec3, Vec3) {
    let mut ow = o - v3(inst.velocity_m_per_s) * time_s;
    let mut dw = d;
    let a = inst.yaw_rate_rad_per_s * time_s;
    if a != 0.0 {
        // Undo the turn about the instance origin: world_from_object(t) = [Rz(a)·R | p + v·t].
        let m = &inst.world_from_object;
        let pivot = Vec3::new(m[0][3], m[1][3], m[2][3]);
        let (sa, ca) = a.sin_cos();
        let r = ow - pivot;
        ow = pivot + Vec3::new(ca * r.x + sa * r.y, ca * r.y - sa * r.x, r.z);
        dw = Vec3::new(ca * d.x + sa * d.y, ca * d.y - sa * d.x, d.z);
    }
    (
        xform_point(&inst.object_from_world, ow),
        xform_dir(&inst.object_from_world, dw),
    )
}

/// Closest hit along `o + t d` for `t < t_max`, or the first found when `any_hit`, with every
/// instance at its frame-time pose.
///
/// Each stack entry carries the entry distance its box was tested with when pushed, so a
/// box is tested once: on pop it is skipped when a hit found since is nearer (`t >= best.t`),
/// which is exactly what testing it again would decide.
pub fn trace(scene: &SceneView, o: Vec3, d: Vec3, t_max: f32, any_hit: bool) -> Hit {
    trace_at(scene, o, d, t_max, any_hit, 0.0)
}

/// As [`trace`], for a ray cast at `time_s` seconds from the frame time: moving instances are
/// met where they are then (the TLAS bounds them over their swept motion).
pub fn trace_at(
    scene: &SceneView,
    o: Vec3,
    d: Vec3,
    t_max: f32,
    any_hit: bool,
    time_s: f32,
) -> Hit {
    let mut best = Hit {
        t: t_max,
        u: 0.0,
        v: 0.0,
        tri: NO_RETURN,
        inst: NO_RETURN,
        time_s,
    };
    let ray_w = Ray4::new(o, safe_inv(d));
    let mut tstack = [(0u32, 0.0f32); TLAS_STACK];
    tstack[0] = (scene.tlas_root, 0.0);
    let mut tsp = 1usize;
    while tsp > 0 {
        tsp -= 1;
        let (entry, t_entry) = tstack[tsp];
        if t_entry >= best.t {
            continue;
        }
        let Some(entry) = descend(
            scene.tlas_nodes,
            entry,
            &ray_w,
            best.t,
            &mut tstack,
            &mut tsp,
        ) else {
            continue;
        };
        for ii in leaf_items(entry) {
            let inst = &scene.instances[ii as usize];
            let (oo, od) = instance_ray(inst, o, d, time_s);
            if trace_blas(scene, ii, oo, od, t_entry, any_hit, &mut best) {
                return best;
            }
        }
    }
    best
}

/// Closest hit in instance `ii`'s BLAS of the object-space ray `oo + t od`, updating `best`;
/// true when `any_hit` and a hit was found. `t_entry` is where the ray enters the TLAS leaf.
#[inline(always)]
fn trace_blas(
    scene: &SceneView,
    ii: u32,
    oo: Vec3,
    od: Vec3,
    t_entry: f32,
    any_hit: bool,
    best: &mut Hit,
) -> bool {
    let ray_o = Ray4::new(oo, safe_inv(od));
    let mut bstack = [(0u32, 0.0f32); BLAS_STACK];
    bstack[0] = (scene.instances[ii as usize].blas_root, t_entry);
    let mut bsp = 1usize;
    while bsp > 0 {
        bsp -= 1;
        let (entry, t_node) = bstack[bsp];
        if t_node >= best.t {
            continue;
        }
        let Some(entry) = descend(
            scene.blas_nodes,
            entry,
            &ray_o,
            best.t,
            &mut bstack,
            &mut bsp,
        ) else {
            continue;
        };
        for ti in leaf_items(entry) {
            let (t, u, v) = intersect_triangle(oo, od, &scene.triangles[ti as usize]);
            if t < best.t {
                *best = Hit {
                    t,
                    u,
                    v,
                    tri: ti,
                    inst: ii,
                    time_s: best.time_s,
                };
                if any_hit {
                    return true;
                }
            }
        }
    }
    false
}

/// Unit world-space normal of the hit triangle (its instance posed at the hit's time), facing
/// against the ray.
pub fn hit_normal(scene: &SceneView, h: &Hit, d: Vec3) -> Vec3 {
    let tri = &scene.triangles[h.tri as usize];
    let n_obj = v3(tri.e1).cross(v3(tri.e2));
    let inst = &scene.instances[h.inst as usize];
    let mut n = xform_dir(&inst.world_from_object, n_obj).normalize();
    let a = inst.yaw_rate_rad_per_s * h.time_s;
    if a != 0.0 {
        let (sa, ca) = a.sin_cos();
        n = Vec3::new(ca * n.x - sa * n.y, sa * n.x + ca * n.y, n.z);
    }
    if n.dot(d) > 0.0 { -n } else { n }
}
