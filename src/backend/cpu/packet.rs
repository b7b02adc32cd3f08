//! Four rays traced together through the two-level BVH (CPU only; the shaders trace one ray
//! per thread). For nearly parallel rays, such as a lidar beam's rays in neighbouring
//! columns: the four walk mostly the same nodes, so each node is fetched, ordered and pushed
//! once for all of them, while each ray still tests the boxes with its own slab test and its
//! own nearest hit so far. Each ray gets the closest hit [`super::bvh::trace_at`] gives it:
//! only the order of the visits differs, which matters only where two triangles lie at the
//! same distance to rounding (the first found wins, and a box entered at exactly the distance
//! of a hit already found is not opened). On quickstart's HDL-64E sweep every ray's hit is
//! bit for bit the one-ray hit (`tests/engine/packet_traversal.rs`).

use glam::{Mat4, Vec3, Vec4};

use super::bvh::{
    BLAS_STACK, Hit, LEAF_BIT, MISS_T, Ray4, SceneView, TLAS_STACK, instance_ray, leaf_items,
    safe_inv, slab4_t, slot_entry,
};
use super::lanes::Lanes3;
use crate::abi::{BvhNode, Instance, NO_RETURN, Triangle};

pub use super::lanes::LANES;

/// A stack entry: a node or leaf entry, and each lane's entry distance into its box
/// (`MISS_T` for a lane that does not enter it).
type Entry = (u32, Vec4);

/// The traversal stacks of a packet, kept between packets (clearing them for each one costs
/// more than a short trace).
pub struct PacketStacks {
    tlas: [Entry; TLAS_STACK + LANES],
    blas: [Entry; BLAS_STACK + LANES],
}

impl Default for PacketStacks {
    fn default() -> Self {
        PacketStacks {
            tlas: [(0, Vec4::ZERO); TLAS_STACK + LANES],
            blas: [(0, Vec4::ZERO); BLAS_STACK + LANES],
        }
    }
}

/// The nearest hit of each lane so far, and its distance as a lane of `t` (0 for lanes not
/// traced, so they enter no box).
struct Best {
    t: Vec4,
    hit: [Hit; LANES],
}

impl Best {
    /// The lanes whose entry distance `t` is nearer than their nearest hit so far.
    #[inline(always)]
    fn active(&self, t: Vec4) -> u32 {
        t.cmplt(self.t).bitmask()
    }
}

/// Closest hits of up to four rays `o[l] + t d[l]` for `t < t_max`, lane `l` cast at
/// `time_s[l]`; lanes outside `live` (bit `l`) are not traced and come back as misses.
pub fn trace_packet(
    scene: &SceneView,
    o: &[Vec3; LANES],
    d: &[Vec3; LANES],
    time_s: &[f32; LANES],
    t_max: f32,
    live: u32,
    stacks: &mut PacketStacks,
) -> [Hit; LANES] {
    let mut best = Best {
        t: lanes_at(live, t_max, 0.0),
        hit: std::array::from_fn(|l| Hit {
            t: t_max,
            u: 0.0,
            v: 0.0,
            tri: NO_RETURN,
            inst: NO_RETURN,
            time_s: time_s[l],
        }),
    };
    let rays: [Ray4; LANES] = std::array::from_fn(|l| Ray4::new(o[l], safe_inv(d[l])));
    let (wo, wd) = (Lanes3::from(*o), Lanes3::from(*d));
    let stack = &mut stacks.tlas;
    stack[0] = (scene.tlas_root, lanes_at(live, 0.0, MISS_T));
    let mut sp = 1usize;
    while sp > 0 {
        sp -= 1;
        let (entry, t) = stack[sp];
        let Some((entry, t)) = descend(scene.tlas_nodes, entry, t, &rays, &best, stack, &mut sp)
        else {
            continue;
        };
        for ii in leaf_items(entry) {
            let inst = &scene.instances[ii as usize];
            if is_world_frame(inst) {
                // The map: its object frame is the world's, so the world rays serve as they
                // are (`instance_ray` would return them, but for the sign of a zero).
                trace_blas(scene, ii, &wo, &wd, &rays, t, &mut best, &mut stacks.blas);
                continue;
            }
            let mut oo = [Vec3::ZERO; LANES];
            let mut od = [Vec3::ZERO; LANES];
            let mut obj = rays;
            for l in lanes(best.active(t)) {
                (oo[l], od[l]) = instance_ray(inst, o[l], d[l], time_s[l]);
                obj[l] = Ray4::new(oo[l], safe_inv(od[l]));
            }
            let (oo, od) = (Lanes3::from(oo), Lanes3::from(od));
            trace_blas(scene, ii, &oo, &od, &obj, t, &mut best, &mut stacks.blas);
        }
    }
    best.hit
}

/// Whether `inst` stands still with its object frame the world frame.
#[inline(always)]
fn is_world_frame(inst: &Instance) -> bool {
    const IDENTITY: [[f32; 4]; 3] = [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ];
    inst.object_from_world == IDENTITY
        && inst.velocity_m_per_s == [0.0; 3]
        && inst.yaw_rate_rad_per_s == 0.0
}

/// Closest hits in instance `ii`'s BLAS of the object-space rays `oo[l] + t od[l]` (slab
/// rays `obj`), updating `best`; `t` holds where each lane enters the TLAS leaf.
#[allow(clippy::too_many_arguments)]
fn trace_blas(
    scene: &SceneView,
    ii: u32,
    oo: &Lanes3,
    od: &Lanes3,
    obj: &[Ray4; LANES],
    t: Vec4,
    best: &mut Best,
    stack: &mut [Entry; BLAS_STACK + LANES],
) {
    stack[0] = (scene.instances[ii as usize].blas_root, t);
    let mut sp = 1usize;
    while sp > 0 {
        sp -= 1;
        let (entry, t) = stack[sp];
        let Some((entry, t)) = descend(scene.blas_nodes, entry, t, obj, best, stack, &mut sp)
        else {
            continue;
        };
        let live = best.active(t);
        for ti in leaf_items(entry) {
            let (th, u, v) = intersect_lanes(oo, od, &scene.triangles[ti as usize]);
            for l in lanes(th.cmplt(best.t).bitmask() & live) {
                best.hit[l] = Hit {
                    t: th[l],
                    u: u[l],
                    v: v[l],
                    tri: ti,
                    inst: ii,
                    time_s: best.hit[l].time_s,
                };
                best.t[l] = th[l];
            }
        }
    }
}

/// [`super::bvh::intersect_triangle`] for the four lanes at once, bit for bit: each lane's `(t, u, v)`,
/// `t = MISS_T` where it misses.
#[inline(always)]
fn intersect_lanes(o: &Lanes3, d: &Lanes3, tri: &Triangle) -> (Vec4, Vec4, Vec4) {
    let e1 = Lanes3::splat(tri.e1);
    let e2 = Lanes3::splat(tri.e2);
    let pvec = d.cross(&e2);
    let det = e1.dot(&pvec);
    let inv_det = Vec4::ONE / det;
    let tvec = o.sub(&Lanes3::splat(tri.v0));
    let u = tvec.dot(&pvec) * inv_det;
    let qvec = tvec.cross(&e1);
    let v = d.dot(&qvec) * inv_det;
    let t = e2.dot(&qvec) * inv_det;
    // The one-ray test's early outs, as masks (a NaN compares false in both).
    let miss = det.abs().cmplt(Vec4::splat(1.0e-12))
        | !(u.cmpge(Vec4::ZERO) & u.cmple(Vec4::ONE))
        | v.cmplt(Vec4::ZERO)
        | (u + v).cmpgt(Vec4::ONE)
        | t.cmple(Vec4::splat(1.0e-4));
    (Vec4::select(miss, Vec4::splat(MISS_T), t), u, v)
}

/// `a` in the lanes of `live`, `b` in the others.
#[inline(always)]
fn lanes_at(live: u32, a: f32, b: f32) -> Vec4 {
    let bits = glam::UVec4::splat(live) & glam::UVec4::new(1, 2, 4, 8);
    let on = bits.cmpne(glam::UVec4::ZERO);
    Vec4::select(
        glam::BVec4A::new(on.x, on.y, on.z, on.w),
        Vec4::splat(a),
        Vec4::splat(b),
    )
}

/// The lane indices set in `mask`, lowest first.
#[inline(always)]
fn lanes(mut mask: u32) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let l = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            l
        })
    })
}

/// From stack entry `entry` (lane entry distances `t`), goes down to the nearest leaf that
/// a lane enters before its nearest hit, pushing the other entered slots on the way, nearest
/// on top; the leaf's entry and lane distances, or None when no lane enters anything.
/// A slot's distance, for the order, is the nearest of its lanes'; equal distances keep
/// slot order (the later slot is nearer), as the single-ray traversal orders its slots.
#[inline(always)]
fn descend<const N: usize>(
    nodes: &[BvhNode],
    mut entry: u32,
    mut t: Vec4,
    rays: &[Ray4; LANES],
    best: &Best,
    stack: &mut [Entry; N],
    sp: &mut usize,
) -> Option<Entry> {
    loop {
        if best.active(t) == 0 {
            return None;
        }
        if entry & LEAF_BIT != 0 {
            return Some((entry, t));
        }
        let node = &nodes[entry as usize];
        // Row l: lane l's entry distances into the four boxes (MISS_T where it misses).
        // Every lane is tested: one that is not active here entered this box beyond its
        // nearest hit, so it enters none of the boxes inside before that hit (rounding
        // aside, which only costs it a needless visit).
        let rows: [Vec4; LANES] = std::array::from_fn(|l| slab4_t(node, &rays[l], best.t[l]));
        let nearest = rows[0].min(rows[1]).min(rows[2].min(rows[3]));
        let mask = nearest.cmplt(Vec4::splat(MISS_T)).bitmask();
        if mask == 0 {
            return None;
        }
        // Column k: each lane's entry distance into box k.
        let cols = Mat4::from_cols(rows[0], rows[1], rows[2], rows[3]).transpose();
        let ks = order(nearest, mask);
        let n = mask.count_ones() as usize;
        for &k in ks[1..n].iter().rev() {
            if *sp < N - LANES {
                stack[*sp] = (slot_entry(node, k), cols.col(k));
                *sp += 1;
            }
        }
        entry = slot_entry(node, ks[0]);
        t = cols.col(ks[0]);
    }
}

/// The slots of `mask` nearest first by `t`, equal distances later slot first.
#[inline(always)]
fn order(t: Vec4, mask: u32) -> [usize; 4] {
    let t = t.to_array();
    let mut ks = [0usize; 4];
    for (n, k) in lanes(mask).enumerate() {
        let mut j = n;
        while j > 0 && t[ks[j - 1]] >= t[k] {
            ks[j] = ks[j - 1];
            j -= 1;
        }
        ks[j] = k;
    }
    ks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_nearest_first_with_later_slots_first_on_ties() {
        let t = Vec4::new(3.0, 1.0, 3.0, 2.0);
        assert_eq!(order(t, 0b1111), [1, 3, 2, 0]);
        assert_eq!(order(t, 0b0101), [2, 0, 0, 0]);
        assert_eq!(order(t, 0b1001)[..2], [3, 0]);
    }
}
