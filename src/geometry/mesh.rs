//! Triangle soups with a material and a semantic class per triangle, and builders for the
//! simple solids the procedural world is made of.

use glam::{Affine3A, Quat, Vec2, Vec3};

use crate::classes::Class;

#[derive(Clone, Debug, Default)]
pub struct Mesh {
    pub tris: Vec<[Vec3; 3]>,
    pub material: Vec<u32>,
    pub class: Vec<Class>,
}

impl Mesh {
    pub fn len(&self) -> usize {
        self.tris.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tris.is_empty()
    }

    pub fn tri(&mut self, a: Vec3, b: Vec3, c: Vec3, material: u32, class: Class) {
        self.tris.push([a, b, c]);
        self.material.push(material);
        self.class.push(class);
    }

    /// A planar quad a-b-c-d (in order around its edge).
    pub fn quad(&mut self, a: Vec3, b: Vec3, c: Vec3, d: Vec3, material: u32, class: Class) {
        self.tri(a, b, c, material, class);
        self.tri(a, c, d, material, class);
    }

    /// A horizontal quad strip piece at height `z` between two cross-sections, each given by
    /// its left and right points.
    #[allow(clippy::too_many_arguments)] // plain geometric parameters
    pub fn flat_segment(
        &mut self,
        l0: Vec2,
        r0: Vec2,
        l1: Vec2,
        r1: Vec2,
        z: f32,
        material: u32,
        class: Class,
    ) {
        self.quad(
            l0.extend(z),
            r0.extend(z),
            r1.extend(z),
            l1.extend(z),
            material,
            class,
        );
    }

    /// A box standing on `bottom_center`, `size` = (length along yaw, width, height).
    /// The top face gets `top_material`, the others `side_material`.
    pub fn oriented_box(
        &mut self,
        bottom_center: Vec3,
        size: Vec3,
        yaw_rad: f32,
        side_material: u32,
        top_material: u32,
        class: Class,
    ) {
        let h = size * 0.5;
        let rot = Quat::from_rotation_z(yaw_rad);
        let corner = |sx: f32, sy: f32, z: f32| {
            bottom_center + rot * Vec3::new(sx * h.x, sy * h.y, 0.0) + Vec3::new(0.0, 0.0, z)
        };
        let (z0, z1) = (0.0, size.z);
        let b = [
            corner(-1., -1., z0),
            corner(1., -1., z0),
            corner(1., 1., z0),
            corner(-1., 1., z0),
        ];
        let t = [
            corner(-1., -1., z1),
            corner(1., -1., z1),
            corner(1., 1., z1),
            corner(-1., 1., z1),
        ];
        self.quad(t[0], t[1], t[2], t[3], top_material, class);
        self.quad(b[3], b[2], b[1], b[0], side_material, class);
        for i in 0..4 {
            let j = (i + 1) % 4;
            self.quad(b[i], b[j], t[j], t[i], side_material, class);
        }
    }

    /// A vertical prism (cylinder approximation) with `sides` faces.
    pub fn prism(
        &mut self,
        bottom_center: Vec3,
        radius: f32,
        height: f32,
        sides: u32,
        material: u32,
        class: Class,
    ) {
        let ring = |i: u32, z: f32| {
            let a = i as f32 / sides as f32 * std::f32::consts::TAU;
            bottom_center + Vec3::new(radius * a.cos(), radius * a.sin(), z)
        };
        let top = bottom_center + Vec3::new(0.0, 0.0, height);
        for i in 0..sides {
            let (a0, a1) = (ring(i, 0.0), ring(i + 1, 0.0));
            let (b0, b1) = (ring(i, height), ring(i + 1, height));
            self.quad(a0, a1, b1, b0, material, class);
            self.tri(top, b0, b1, material, class);
        }
    }

    /// A wheel: a prism lying along the y axis (of the given yaw), centred at `center`.
    pub fn wheel(
        &mut self,
        center: Vec3,
        radius: f32,
        width: f32,
        yaw_rad: f32,
        material: u32,
        class: Class,
    ) {
        let sides = 10;
        let rot = Quat::from_rotation_z(yaw_rad);
        let p = |i: u32, y: f32| {
            let a = i as f32 / sides as f32 * std::f32::consts::TAU;
            center + rot * Vec3::new(radius * a.cos(), y, radius * a.sin())
        };
        let hw = width * 0.5;
        let (c0, c1) = (
            center + rot * Vec3::new(0.0, -hw, 0.0),
            center + rot * Vec3::new(0.0, hw, 0.0),
        );
        for i in 0..sides {
            self.quad(
                p(i, -hw),
                p(i + 1, -hw),
                p(i + 1, hw),
                p(i, hw),
                material,
                class,
            );
            self.tri(c0, p(i + 1, -hw), p(i, -hw), material, class);
            self.tri(c1, p(i, hw), p(i + 1, hw), material, class);
        }
    }

    /// A crown of foliage: an octahedron stretched to the given radii.
    pub fn crown(
        &mut self,
        center: Vec3,
        radius_xy: f32,
        radius_z: f32,
        material: u32,
        class: Class,
    ) {
        let ring: Vec<Vec3> = (0..8)
            .map(|i| {
                let a = i as f32 / 8.0 * std::f32::consts::TAU;
                center + Vec3::new(radius_xy * a.cos(), radius_xy * a.sin(), 0.0)
            })
            .collect();
        let top = center + Vec3::new(0.0, 0.0, radius_z);
        let bottom = center - Vec3::new(0.0, 0.0, radius_z);
        for i in 0..8 {
            let j = (i + 1) % 8;
            self.tri(top, ring[i], ring[j], material, class);
            self.tri(bottom, ring[j], ring[i], material, class);
        }
    }

    pub fn append(&mut self, other: &Mesh) {
        self.tris.extend_from_slice(&other.tris);
        self.material.extend_from_slice(&other.material);
        self.class.extend_from_slice(&other.class);
    }

    pub fn transformed(&self, m: &Affine3A) -> Mesh {
        Mesh {
            tris: self
                .tris
                .iter()
                .map(|t| t.map(|p| m.transform_point3(p)))
                .collect(),
            material: self.material.clone(),
            class: self.class.clone(),
        }
    }

    /// Axis-aligned bounds (min, max); (0, 0) for an empty mesh.
    pub fn bounds(&self) -> (Vec3, Vec3) {
        let mut lo = Vec3::splat(f32::INFINITY);
        let mut hi = Vec3::splat(f32::NEG_INFINITY);
        for t in &self.tris {
            for p in t {
                lo = lo.min(*p);
                hi = hi.max(*p);
            }
        }
        if self.tris.is_empty() {
            (Vec3::ZERO, Vec3::ZERO)
        } else {
            (lo, hi)
        }
    }

    /// A tapered prism of `sides` faces from `a` (radius `ra`) to `b` (radius `rb`), with a cap
    /// at either end when asked (limbs, branches, bicycle tubes).
    #[allow(clippy::too_many_arguments)]
    pub fn tube(
        &mut self,
        (a, ra): (Vec3, f32),
        (b, rb): (Vec3, f32),
        sides: u32,
        (cap_a, cap_b): (bool, bool),
        material: u32,
        class: Class,
    ) {
        let axis = (b - a).normalize_or_zero();
        if axis == Vec3::ZERO {
            return;
        }
        let (u, v) = axis.any_orthonormal_pair();
        let ring = |i: u32, c: Vec3, r: f32| {
            let t = i as f32 / sides as f32 * std::f32::consts::TAU;
            c + (u * t.cos() + v * t.sin()) * r
        };
        for i in 0..sides {
            self.quad(
                ring(i, a, ra),
                ring(i + 1, a, ra),
                ring(i + 1, b, rb),
                ring(i, b, rb),
                material,
                class,
            );
            if cap_a {
                self.tri(a, ring(i + 1, a, ra), ring(i, a, ra), material, class);
            }
            if cap_b {
                self.tri(b, ring(i, b, rb), ring(i + 1, b, rb), material, class);
            }
        }
    }
}

/// Distance along `dir` from `o` to the triangle, both sides counted (Möller–Trumbore); None
/// when it misses or lies behind.
pub fn ray_triangle(o: Vec3, dir: Vec3, t: &[Vec3; 3]) -> Option<f32> {
    let (e1, e2) = (t[1] - t[0], t[2] - t[0]);
    let p = dir.cross(e2);
    let det = e1.dot(p);
    if det.abs() < 1e-12 {
        return None;
    }
    let inv = 1.0 / det;
    let s = o - t[0];
    let u = s.dot(p) * inv;
    let q = s.cross(e1);
    let v = dir.dot(q) * inv;
    let eps = 1e-5;
    if u < -eps || v < -eps || u + v > 1.0 + eps {
        return None;
    }
    let dist = e2.dot(q) * inv;
    (dist > 1e-6).then_some(dist)
}
