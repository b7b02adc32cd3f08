//! CPU twin of `shaders/shared/bvh.wgsl`: two-level BVH traversal, step for step alike.

use glam::{Vec3, Vec3A};

use crate::gpu::types::{BvhNode, GpuMaterial, Instance, NO_RETURN, Triangle};

pub const MISS_T: f32 = 1.0e30;
const TLAS_STACK: usize = 32;
const BLAS_STACK: usize = 48;

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
pub fn slab(bmin: [f32; 3], bmax: [f32; 3], o: Vec3, inv: Vec3, t_max: f32) -> f32 {
    let t0 = (v3(bmin) - o) * inv;
    let t1 = (v3(bmax) - o) * inv;
    let tn = t0.min(t1);
    let tf = t0.max(t1);
    let t_near = tn.x.max(tn.y).max(tn.z.max(0.0));
    let t_far = tf.x.min(tf.y).min(tf.z);
    if t_near <= t_far && t_near < t_max {
        t_near
    } else {
        MISS_T
    }
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

/// [`slab`] on a node's box with SSE lanes (glam `Vec3A`); the same arithmetic, per lane.
#[inline(always)]
fn slab_node(n: &BvhNode, o: Vec3A, inv: Vec3A, t_max: f32) -> f32 {
    let t0 = (Vec3A::from_array(n.aabb_min) - o) * inv;
    let t1 = (Vec3A::from_array(n.aabb_max) - o) * inv;
    let t_near = t0.min(t1).max_element().max(0.0);
    let t_far = t0.max(t1).min_element();
    if t_near <= t_far && t_near < t_max {
        t_near
    } else {
        MISS_T
    }
}

/// Pushes node `i`, entered at `t`, unless the ray misses it or the stack is full.
#[inline(always)]
fn push_entered<const N: usize>(i: u32, t: f32, stack: &mut [(u32, f32); N], sp: &mut usize) {
    if t < MISS_T && *sp < N {
        stack[*sp] = (i, t);
        *sp += 1;
    }
}

/// Tests node `i`'s box and pushes it with its entry distance (the traversal's root step).
#[inline(always)]
fn push_node<const N: usize>(
    nodes: &[BvhNode],
    i: u32,
    o: Vec3A,
    inv: Vec3A,
    t_max: f32,
    stack: &mut [(u32, f32); N],
    sp: &mut usize,
) {
    push_entered(i, slab_node(&nodes[i as usize], o, inv, t_max), stack, sp);
}

/// Pushes the children of an inner node that the ray enters before `t_max`, far one first,
/// each with its entry distance (a pop skips it when a hit found since is nearer).
#[inline(always)]
fn push_children<const N: usize>(
    nodes: &[BvhNode],
    l: u32,
    o: Vec3A,
    inv: Vec3A,
    t_max: f32,
    stack: &mut [(u32, f32); N],
    sp: &mut usize,
) {
    let tl = slab_node(&nodes[l as usize], o, inv, t_max);
    let tr = slab_node(&nodes[l as usize + 1], o, inv, t_max);
    if tl <= tr {
        push_entered(l + 1, tr, stack, sp);
        push_entered(l, tl, stack, sp);
    } else {
        push_entered(l, tl, stack, sp);
        push_entered(l + 1, tr, stack, sp);
    }
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
    let o_a = Vec3A::from(o);
    let inv_w = Vec3A::from(safe_inv(d));
    let mut tstack = [(0u32, 0.0f32); TLAS_STACK];
    let mut tsp = 0usize;
    push_node(
        scene.tlas_nodes,
        scene.tlas_root,
        o_a,
        inv_w,
        best.t,
        &mut tstack,
        &mut tsp,
    );
    while tsp > 0 {
        tsp -= 1;
        let (ni, nt) = tstack[tsp];
        if nt >= best.t {
            continue;
        }
        let node = &scene.tlas_nodes[ni as usize];
        if node.count == 0 {
            push_children(
                scene.tlas_nodes,
                node.left_first,
                o_a,
                inv_w,
                best.t,
                &mut tstack,
                &mut tsp,
            );
            continue;
        }
        for k in 0..node.count {
            let ii = node.left_first + k;
            let inst = &scene.instances[ii as usize];
            let (oo, od) = instance_ray(inst, o, d, time_s);
            let oo_a = Vec3A::from(oo);
            let inv_o = Vec3A::from(safe_inv(od));
            let mut bstack = [(0u32, 0.0f32); BLAS_STACK];
            let mut bsp = 0usize;
            push_node(
                scene.blas_nodes,
                inst.blas_root,
                oo_a,
                inv_o,
                best.t,
                &mut bstack,
                &mut bsp,
            );
            while bsp > 0 {
                bsp -= 1;
                let (bi, bt) = bstack[bsp];
                if bt >= best.t {
                    continue;
                }
                let bn = &scene.blas_nodes[bi as usize];
                if bn.count == 0 {
                    push_children(
                        scene.blas_nodes,
                        bn.left_first,
                        oo_a,
                        inv_o,
                        best.t,
                        &mut bstack,
                        &mut bsp,
                    );
                    continue;
                }
                for j in 0..bn.count {
                    let ti = bn.left_first + j;
                    let (t, u, v) = intersect_triangle(oo, od, &scene.triangles[ti as usize]);
                    if t < best.t {
                        best = Hit {
                            t,
                            u,
                            v,
                            tri: ti,
                            inst: ii,
                            time_s,
                        };
                        if any_hit {
                            return best;
                        }
                    }
                }
            }
        }
    }
    best
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
