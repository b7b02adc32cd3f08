//! Trees, hedges and bushes made of explicit leaves, so that the lidar sees partly through them.
//!
//! Leaves are small triangles (5–15 cm) with uniformly random orientation (a spherical leaf
//! angle distribution, projection function G = 0.5) scattered with a seeded generator in
//! ellipsoidal clusters around the branch ends. Their number follows from a target gap
//! probability for a horizontal beam through the crown centre, P = exp(−G·LAD·s) (Beer–Lambert,
//! objects.md section 6), within a triangle budget. Trunks and branches are bark prisms of class
//! Trunk; leaves are foliage of class Vegetation.

use std::f32::consts::TAU;

use glam::{Mat3, Quat, Vec3};

use super::mesh::Mesh;
use crate::classes::Class;
use crate::rng::SplitMix64;
use crate::scenario::materials::id as mat;

/// Most triangles one tree may have.
pub const TREE_TRIANGLE_BUDGET: usize = 6_000;
/// Most triangles per metre of hedge (≤ 4,000 for a 5 m hedge).
pub const HEDGE_TRIANGLES_PER_M: usize = 780;
/// Most triangles one bush may have.
pub const BUSH_TRIANGLE_BUDGET: usize = 3_000;
/// Leaf projection function of a spherical leaf angle distribution (objects.md section 6).
pub const LEAF_G: f32 = 0.5;
/// Side of a leaf triangle, metres: smallest and largest.
pub const LEAF_SIZE_M: (f32, f32) = (0.05, 0.15);
/// Gap probability aimed at for a horizontal beam through the middle of a tree crown (objects.md:
/// street trees leave ≈ 5–30 %); clustering of the leaves raises the measured value a little.
const TREE_TARGET_GAP: f32 = 0.15;
/// Gap probability aimed at across a hedge's depth and a bush's diameter: denser than crowns.
const HEDGE_TARGET_GAP: f32 = 0.08;
const BUSH_TARGET_GAP: f32 = 0.10;
/// Leaves never come closer to the ground than this.
const LEAF_MIN_Z_M: f32 = 0.02;

/// Uniform on the unit sphere.
fn on_sphere(rng: &mut SplitMix64) -> Vec3 {
    let z = rng.range(-1.0, 1.0);
    let a = rng.range(0.0, TAU);
    let r = (1.0 - z * z).max(0.0).sqrt();
    Vec3::new(r * a.cos(), r * a.sin(), z)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TreeKind {
    Broadleaf,
    Conifer,
}

/// The volume a tree's leaves fill: an ellipsoid (broadleaf) or a cone (conifer) on the z axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crown {
    pub kind: TreeKind,
    /// Where the crown is widest for a broadleaf, a third of the way up a conifer's crown:
    /// the height a "horizontal beam through the crown" is aimed at.
    pub center: Vec3,
    /// Horizontal radius at its widest.
    pub radius_m: f32,
    pub base_z: f32,
    pub top_z: f32,
}

impl Crown {
    /// The crown of a tree of total height `height_m` and crown radius `crown_radius_m`.
    pub fn of(kind: TreeKind, height_m: f32, crown_radius_m: f32) -> Self {
        match kind {
            TreeKind::Broadleaf => {
                let rz = (0.85 * crown_radius_m).min(0.4 * height_m);
                Crown {
                    kind,
                    center: Vec3::new(0.0, 0.0, height_m - rz),
                    radius_m: crown_radius_m,
                    base_z: height_m - 2.0 * rz,
                    top_z: height_m,
                }
            }
            TreeKind::Conifer => {
                let base_z = 0.18 * height_m;
                Crown {
                    kind,
                    center: Vec3::new(0.0, 0.0, base_z + 0.3 * (height_m - base_z)),
                    radius_m: crown_radius_m,
                    base_z,
                    top_z: height_m,
                }
            }
        }
    }

    /// Horizontal radius of the crown at height `z` (0 outside it).
    pub fn radius_at(&self, z: f32) -> f32 {
        if z < self.base_z || z > self.top_z {
            return 0.0;
        }
        match self.kind {
            TreeKind::Broadleaf => {
                let rz = 0.5 * (self.top_z - self.base_z);
                let t = (z - self.center.z) / rz;
                self.radius_m * (1.0 - t * t).max(0.0).sqrt()
            }
            TreeKind::Conifer => self.radius_m * (self.top_z - z) / (self.top_z - self.base_z),
        }
    }

    pub fn contains(&self, p: Vec3) -> bool {
        let r = self.radius_at(p.z);
        p.x * p.x + p.y * p.y <= r * r
    }

    pub fn volume_m3(&self) -> f32 {
        let h = self.top_z - self.base_z;
        let r2 = self.radius_m * self.radius_m;
        match self.kind {
            TreeKind::Broadleaf => std::f32::consts::PI * r2 * h * (2.0 / 3.0),
            TreeKind::Conifer => std::f32::consts::PI * r2 * h / 3.0,
        }
    }

    /// Length of the horizontal chord through the crown centre.
    pub fn center_chord_m(&self) -> f32 {
        2.0 * self.radius_at(self.center.z)
    }
}

/// Mean area of a leaf triangle whose side is uniform in [0.8, 1.2] × `size`.
fn mean_leaf_area(size: f32) -> f32 {
    // Equilateral: (√3/4)·s²; E[s²] = size²·(1 + 0.04/3).
    0.433 * size * size * (1.0 + 0.04 / 3.0)
}

/// How many leaves and how big, for a leaf area of `area_m2` within `max_leaves`: leaves of
/// `preferred` size if the budget allows, else larger (up to the largest leaf), else fewer.
fn leaf_plan(area_m2: f32, max_leaves: usize, preferred: f32) -> (usize, f32) {
    let (lo, hi) = (LEAF_SIZE_M.0 / 0.8, LEAF_SIZE_M.1 / 1.2);
    let n = (area_m2 / mean_leaf_area(preferred)).ceil() as usize;
    if n <= max_leaves {
        return (n, preferred);
    }
    let size = (area_m2 / (max_leaves as f32 * mean_leaf_area(1.0)))
        .sqrt()
        .clamp(lo, hi);
    (max_leaves, size)
}

/// An ellipsoidal clump of leaves around a branch end: centre, orientation and semi-axes.
#[derive(Clone, Copy, Debug)]
struct Cluster {
    center: Vec3,
    rot: Quat,
    radii: Vec3,
}

impl Cluster {
    fn round(center: Vec3, radii: Vec3) -> Self {
        Cluster {
            center,
            rot: Quat::IDENTITY,
            radii,
        }
    }

    /// 1 at the centre, falling to 0 at the surface and beyond.
    fn weight(&self, p: Vec3) -> f32 {
        let q = (self.rot.inverse() * (p - self.center)) / self.radii;
        (1.0 - q.length_squared()).max(0.0)
    }
}

/// Relative leaf density between the clumps (the clumps themselves reach 1).
const CLUMP_FLOOR: f32 = 0.3;

/// Leaf density in a crown with `clusters`: a floor everywhere, rising in the clumps.
fn clumped(clusters: &[Cluster], p: Vec3) -> f32 {
    let w = clusters.iter().map(|c| c.weight(p)).fold(0.0, f32::max);
    CLUMP_FLOOR + (1.0 - CLUMP_FLOOR) * w
}

/// Scatters `count` leaf triangles of side ≈ `size` (× 0.8–1.2): centres uniform in the box
/// `bounds` (min, max) thinned to the relative `density` (0–1), orientation uniform on the
/// sphere; a leaf with a corner outside `inside` is drawn again.
fn scatter_leaves(
    m: &mut Mesh,
    rng: &mut SplitMix64,
    (lo, hi): (Vec3, Vec3),
    density: &dyn Fn(Vec3) -> f32,
    (count, size): (usize, f32),
    inside: &dyn Fn(Vec3) -> bool,
) {
    let (foliage, class) = (mat("foliage"), Class::Vegetation);
    let mut placed = 0;
    for _ in 0..count * 100 {
        if placed == count {
            break;
        }
        let centre = Vec3::new(
            rng.range(lo.x, hi.x),
            rng.range(lo.y, hi.y),
            rng.range(lo.z, hi.z),
        );
        if !inside(centre) || rng.next_f32() >= density(centre) {
            continue;
        }
        let normal = on_sphere(rng);
        let (t1, t2) = normal.any_orthonormal_pair();
        let spin = rng.range(0.0, TAU);
        let side = size * rng.range(0.8, 1.2);
        // Circumradius of an equilateral triangle of this side.
        let r = side / 3f32.sqrt();
        let corner = |k: f32| {
            let a = spin + k * TAU / 3.0;
            centre + (t1 * a.cos() + t2 * a.sin()) * r
        };
        let v = [corner(0.0), corner(1.0), corner(2.0)];
        if v.iter().all(|&p| inside(p)) {
            m.tri(v[0], v[1], v[2], foliage, class);
            placed += 1;
        }
    }
}

/// A tapered bark prism from `a` (radius `ra`) to `b` (radius `rb`) with a cap at `b`.
fn bark_limb(m: &mut Mesh, a: (Vec3, f32), b: (Vec3, f32), sides: u32) {
    m.tube(a, b, sides, (false, true), mat("bark"), Class::Trunk);
}

/// A frame whose x axis runs along `dir`.
fn frame_along_x(dir: Vec3) -> Quat {
    let x = dir.normalize();
    let (y, z) = x.any_orthonormal_pair();
    Quat::from_mat3(&Mat3::from_cols(x, y, z))
}

/// Leaf count and size for a crown of volume `volume_m3` so that a horizontal beam along the
/// chord `chord_m` finds gap probability `gap` in a uniform leaf cloud: LAD = −ln(gap) / (G·s).
fn leaves_for_gap(
    volume_m3: f32,
    chord_m: f32,
    gap: f32,
    max_leaves: usize,
    preferred: f32,
) -> (usize, f32) {
    let lad = -gap.ln() / (LEAF_G * chord_m.max(0.1));
    leaf_plan(lad * volume_m3, max_leaves, preferred)
}

/// A street tree standing at the origin (base on z = 0): a tapered bark trunk, 4–8 branches
/// forking out of the trunk into the crown, and leaf clusters around the branch ends: small leaf
/// triangles (foliage, class Vegetation, 5–15 cm) in ellipsoidal clusters, enough that a
/// horizontal beam through the crown centre passes with a probability of roughly 10–30 %
/// (Beer–Lambert P = exp(−G·LAD·s), G = 0.5; larger crowns reach the triangle budget and get
/// sparser). Trunk and branches class Trunk. `height_m` is the total height, `crown_radius_m`
/// the widest horizontal radius; `seed` makes it reproducible.
pub fn tree_mesh(kind: TreeKind, height_m: f32, crown_radius_m: f32, seed: u64) -> Mesh {
    let crown = Crown::of(kind, height_m, crown_radius_m);
    let salt = match kind {
        TreeKind::Broadleaf => 0x6272_6f61_646c_6561,
        TreeKind::Conifer => 0x636f_6e69_6665_7200,
    };
    let mut rng = SplitMix64::new(seed ^ salt);
    let mut m = Mesh::default();
    let r = crown_radius_m;
    let r0 = (0.012 * height_m + 0.05).min(0.25 * r);
    let mut clusters = Vec::new();
    let top = crown.top_z;
    let depth = top - crown.base_z;
    match kind {
        TreeKind::Broadleaf => {
            let rz = 0.5 * depth;
            let cz = crown.center.z;
            // Trunk with a root flare, continuing as a leader into the upper crown.
            let leader_top = cz + 0.45 * rz;
            let trunk_r = |z: f32| r0 * (1.0 - 0.7 * (z / leader_top).clamp(0.0, 1.0));
            bark_limb(&mut m, (Vec3::ZERO, 1.25 * r0), (Vec3::Z * 0.3, r0), 8);
            bark_limb(
                &mut m,
                (Vec3::Z * 0.3, r0),
                (Vec3::Z * crown.base_z, trunk_r(crown.base_z)),
                8,
            );
            bark_limb(
                &mut m,
                (Vec3::Z * crown.base_z, trunk_r(crown.base_z)),
                (Vec3::Z * leader_top, trunk_r(leader_top)),
                8,
            );
            // Leaves gather in a shell around the branch ends; the inner crown is sparser.
            clusters.push(Cluster::round(
                Vec3::Z * (cz + 0.55 * rz),
                Vec3::new(0.4 * r, 0.4 * r, 0.4 * rz),
            ));
            let n = 4 + (rng.next_u64() % 5) as usize;
            for i in 0..n {
                let az = (i as f32 + rng.range(-0.3, 0.3)) * TAU / n as f32;
                let zs = crown.base_z + rng.range(0.15, 0.8) * rz;
                let ze = cz + rng.range(-0.35, 0.35) * rz;
                let rho = rng.range(0.55, 0.7) * crown.radius_at(ze);
                let start = Vec3::Z * zs;
                let end = Vec3::new(rho * az.cos(), rho * az.sin(), ze);
                let rs = 0.45 * trunk_r(zs);
                bark_limb(&mut m, (start, rs), (end, 0.25 * rs), 6);
                // A fork from partway along the branch, turning sideways and up.
                let fork = start.lerp(end, 0.55);
                let turn = rng.range(0.35, 0.6) * TAU / n as f32;
                let az2 = az + if rng.next_f32() < 0.5 { turn } else { -turn };
                let z2 = (ze + rng.range(0.15, 0.45) * rz).min(cz + 0.75 * rz);
                let rho2 = rng.range(0.55, 0.7) * crown.radius_at(z2);
                let end2 = Vec3::new(rho2 * az2.cos(), rho2 * az2.sin(), z2);
                bark_limb(&mut m, (fork, 0.6 * rs), (end2, 0.2 * rs), 6);
                for e in [end, end2] {
                    let k = 0.4 * rng.range(0.85, 1.15);
                    clusters.push(Cluster::round(e, Vec3::new(k * r, k * r, k * rz)));
                }
            }
        }
        TreeKind::Conifer => {
            let trunk_top = 0.97 * top;
            let trunk_r = |z: f32| r0 * (1.0 - 0.9 * z / trunk_top);
            bark_limb(&mut m, (Vec3::ZERO, 1.2 * r0), (Vec3::Z * 0.3, r0), 8);
            bark_limb(
                &mut m,
                (Vec3::Z * 0.3, r0),
                (Vec3::Z * trunk_top, trunk_r(trunk_top)),
                8,
            );
            // 4–8 drooping branches in a spiral, each with a clump of shoots along it.
            let n = 4 + (rng.next_u64() % 5) as usize;
            let golden = TAU * 0.381_966;
            for i in 0..n {
                let z = crown.base_z + (i as f32 + rng.range(0.2, 0.8)) / n as f32 * 0.85 * depth;
                let az = i as f32 * golden + rng.range(-0.3, 0.3);
                let rho = 0.85 * crown.radius_at(z);
                let end = Vec3::new(
                    rho * az.cos(),
                    rho * az.sin(),
                    z - rng.range(0.0, 0.15) * rho,
                );
                let start = Vec3::Z * z;
                bark_limb(
                    &mut m,
                    (start, 0.35 * trunk_r(z)),
                    (end, 0.1 * trunk_r(z)),
                    6,
                );
                let len = start.distance(end);
                clusters.push(Cluster {
                    center: start.lerp(end, 0.6),
                    rot: frame_along_x(end - start),
                    radii: Vec3::new(0.6 * len, 0.45 * len, 0.2 * depth),
                });
            }
        }
    }
    let preferred = match kind {
        TreeKind::Broadleaf => 0.12,
        TreeKind::Conifer => 0.10,
    };
    // The top leaf reaches exactly the requested height (an apex leaf on the leader).
    let apex = preferred;
    let (foliage, veg) = (mat("foliage"), Class::Vegetation);
    m.tri(
        Vec3::Z * top,
        Vec3::new(0.5 * apex, 0.0, top - 0.866 * apex),
        Vec3::new(-0.5 * apex, 0.0, top - 0.866 * apex),
        foliage,
        veg,
    );
    let budget = TREE_TRIANGLE_BUDGET - m.len();
    let plan = leaves_for_gap(
        crown.volume_m3(),
        crown.center_chord_m(),
        TREE_TARGET_GAP,
        budget,
        preferred,
    );
    let inside = |p: Vec3| p.z >= LEAF_MIN_Z_M && crown.contains(p);
    let bounds = (
        Vec3::new(-r, -r, crown.base_z),
        Vec3::new(r, r, crown.top_z),
    );
    let density = |p: Vec3| clumped(&clusters, p);
    scatter_leaves(&mut m, &mut rng, bounds, &density, plan, &inside);
    m
}

/// A hedge: a box-like leaf volume `length_m` (along x) × `depth_m` × `height_m` with rounded top
/// edges, standing on z = 0 centred on the origin; leaves as in trees but denser (a beam across
/// the depth passes with a probability of ≈ 8–25 %).
pub fn hedge_mesh(length_m: f32, depth_m: f32, height_m: f32, seed: u64) -> Mesh {
    let mut rng = SplitMix64::new(seed ^ 0x6865_6467_6500_0000);
    let mut m = Mesh::default();
    let (hl, hd) = (0.5 * length_m, 0.5 * depth_m);
    let round = 0.3 * depth_m.min(height_m);
    let inside = |p: Vec3| {
        if p.x.abs() > hl || p.y.abs() > hd || p.z < LEAF_MIN_Z_M || p.z > height_m {
            return false;
        }
        let (dy, dz) = (p.y.abs() - (hd - round), p.z - (height_m - round));
        dy <= 0.0 || dz <= 0.0 || dy * dy + dz * dz <= round * round
    };
    let max = ((HEDGE_TRIANGLES_PER_M as f32 * length_m) as usize).max(300);
    let plan = leaves_for_gap(
        length_m * depth_m * height_m,
        depth_m,
        HEDGE_TARGET_GAP,
        max,
        0.08,
    );
    // Uniform: a clipped hedge is an even leaf wall.
    let bounds = (Vec3::new(-hl, -hd, 0.0), Vec3::new(hl, hd, height_m));
    scatter_leaves(&mut m, &mut rng, bounds, &|_| 1.0, plan, &inside);
    m
}

/// A round bush of radius `radius_m` (height 1.6 × radius) on z = 0 at the origin: a few bark
/// stems and a dense leaf ellipsoid.
pub fn bush_mesh(radius_m: f32, seed: u64) -> Mesh {
    let mut rng = SplitMix64::new(seed ^ 0x6275_7368_0000_0000);
    let mut m = Mesh::default();
    let rz = 0.8 * radius_m;
    let center = Vec3::Z * rz;
    let stems = 3 + (rng.next_u64() % 3) as usize;
    for _ in 0..stems {
        let a = rng.range(0.0, TAU);
        let r = 0.025 * radius_m.max(0.4);
        // Starting one stem radius up keeps the tilted base ring above the ground.
        let foot = Vec3::new(0.1 * radius_m * a.cos(), 0.1 * radius_m * a.sin(), r);
        let tip = Vec3::new(
            0.45 * radius_m * a.cos(),
            0.45 * radius_m * a.sin(),
            rz * rng.range(0.9, 1.3),
        );
        bark_limb(&mut m, (foot, r), (tip, 0.4 * r), 5);
    }
    let radii = Vec3::new(radius_m, radius_m, rz);
    let inside = |p: Vec3| p.z >= LEAF_MIN_Z_M && ((p - center) / radii).length_squared() <= 1.0;
    let volume = 4.0 / 3.0 * std::f32::consts::PI * radius_m * radius_m * rz;
    let plan = leaves_for_gap(
        volume,
        2.0 * radius_m,
        BUSH_TARGET_GAP,
        BUSH_TRIANGLE_BUDGET - m.len(),
        0.07,
    );
    let bounds = (center - radii, center + radii);
    scatter_leaves(&mut m, &mut rng, bounds, &|_| 1.0, plan, &inside);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Index of the first triangle the ray meets.
    fn first_hit(m: &Mesh, o: Vec3, d: Vec3) -> Option<usize> {
        m.tris
            .iter()
            .enumerate()
            .filter_map(|(i, t)| crate::geometry::mesh::ray_triangle(o, d, t).map(|dist| (dist, i)))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, i)| i)
    }

    fn leaf_ids(m: &Mesh) -> Vec<usize> {
        (0..m.len())
            .filter(|&i| m.class[i] == Class::Vegetation)
            .collect()
    }

    fn area(t: &[Vec3; 3]) -> f32 {
        0.5 * (t[1] - t[0]).cross(t[2] - t[0]).length()
    }

    /// Fraction of `n` horizontal beams, aimed through the crown centre with random azimuth and
    /// lateral offsets within 0.3 × the crown radius, that pass without a hit.
    fn crown_gap(m: &Mesh, crown: &Crown, n: usize, seed: u64) -> f32 {
        let mut rng = SplitMix64::new(seed);
        let r = crown.radius_m;
        let mut gaps = 0;
        for _ in 0..n {
            let az = rng.range(0.0, TAU);
            let d = Vec3::new(az.cos(), az.sin(), 0.0);
            let side = Vec3::new(-az.sin(), az.cos(), 0.0);
            let o = crown.center + side * rng.range(-0.3, 0.3) * r - d * (r + 1.0);
            if first_hit(m, o, d).is_none() {
                gaps += 1;
            }
        }
        gaps as f32 / n as f32
    }

    const TREES: [(TreeKind, f32, f32); 4] = [
        (TreeKind::Broadleaf, 8.0, 2.5),
        (TreeKind::Broadleaf, 6.0, 1.8),
        (TreeKind::Conifer, 10.0, 2.2),
        (TreeKind::Conifer, 7.0, 1.6),
    ];

    #[test]
    fn trees_fit_their_bounds_classes_and_seed() {
        let (bark, foliage) = (mat("bark"), mat("foliage"));
        for (kind, height, r) in TREES {
            let m = tree_mesh(kind, height, r, 7);
            let what = format!("{kind:?} {height} m × {r} m");
            assert!(m.len() <= TREE_TRIANGLE_BUDGET, "{} tris: {what}", m.len());
            let (lo, hi) = m.bounds();
            assert!(
                (hi.z - height).abs() <= 0.02 * height,
                "max z {}: {what}",
                hi.z
            );
            assert!(lo.z.abs() < 1e-6, "min z {}: {what}", lo.z);
            let reach = m
                .tris
                .iter()
                .flatten()
                .map(|v| v.truncate().length())
                .fold(0.0f32, f32::max);
            assert!(reach <= 1.05 * r, "horizontal reach {reach}: {what}");
            let mut trunk = 0;
            for i in 0..m.len() {
                match m.class[i] {
                    Class::Trunk => {
                        assert_eq!(m.material[i], bark, "{what}");
                        trunk += 1;
                    }
                    Class::Vegetation => {
                        assert_eq!(m.material[i], foliage, "{what}");
                        let t = &m.tris[i];
                        let side = (0..3)
                            .map(|k| t[k].distance(t[(k + 1) % 3]))
                            .fold(0.0f32, f32::max);
                        assert!(side <= LEAF_SIZE_M.1 + 1e-4, "leaf of {side} m: {what}");
                    }
                    c => panic!("class {c:?} in a tree"),
                }
            }
            // Trunk, plus 4–8 branches (and forks) of 6-sided prisms.
            assert!(trunk >= 16 + 4 * 18, "{trunk} bark triangles: {what}");
            let again = tree_mesh(kind, height, r, 7);
            assert_eq!(again.tris, m.tris, "not reproducible: {what}");
            let other = tree_mesh(kind, height, r, 8);
            assert_ne!(other.tris, m.tris, "seed ignored: {what}");
        }
    }

    #[test]
    fn beams_pass_through_crowns_sometimes_and_trunks_never() {
        let mut gaps: Vec<(f32, String)> = Vec::new();
        for (kind, height, r) in TREES {
            let crown = Crown::of(kind, height, r);
            for seed in [1, 2] {
                let m = tree_mesh(kind, height, r, seed);
                let leaves = leaf_ids(&m);
                let leaf_area: f32 = leaves.iter().map(|&i| area(&m.tris[i])).sum();
                let lad = leaf_area / crown.volume_m3();
                let chord = crown.center_chord_m();
                let uniform = (-LEAF_G * lad * chord).exp();
                let gap = crown_gap(&m, &crown, 2_000, seed + 100);
                println!(
                    "{kind:?} {height} m × {r} m seed {seed}: {} tris, {} leaves, \
                     LAD {lad:.2} m²/m³, uniform-cloud gap {uniform:.3}, measured gap {gap:.3}",
                    m.len(),
                    leaves.len()
                );
                gaps.push((gap, format!("{kind:?} {height} m × {r} m seed {seed}")));
            }
            // Below the crown, any beam at the trunk hits bark.
            let m = tree_mesh(kind, height, r, 3);
            let z = 0.5 * crown.base_z;
            for k in 0..16 {
                let az = k as f32 / 16.0 * TAU;
                let d = Vec3::new(az.cos(), az.sin(), 0.0);
                let side = Vec3::new(-az.sin(), az.cos(), 0.0);
                let o = Vec3::new(0.0, 0.0, z) - d * (r + 2.0) + side * 0.03 * (k % 3) as f32;
                let hit = first_hit(&m, o, d).expect("beam at the trunk missed");
                assert_eq!(m.class[hit], Class::Trunk);
                assert_eq!(m.material[hit], mat("bark"));
            }
        }
        for (gap, what) in gaps {
            assert!((0.03..=0.40).contains(&gap), "gap {gap}: {what}");
        }
    }

    #[test]
    fn leaves_face_every_way() {
        for (kind, height, r) in TREES {
            let m = tree_mesh(kind, height, r, 5);
            let leaves = leaf_ids(&m);
            assert!(leaves.len() >= 300, "{} leaves", leaves.len());
            let mean_nz = leaves
                .iter()
                .map(|&i| {
                    let t = &m.tris[i];
                    (t[1] - t[0]).cross(t[2] - t[0]).normalize().z.abs()
                })
                .sum::<f32>()
                / leaves.len() as f32;
            // Spherical leaf angles: E|n·z| = 1/2.
            assert!((0.45..0.55).contains(&mean_nz), "mean |n·z| {mean_nz}");
            // Leaves fill the crown rather than skinning it: many lie deep inside.
            let crown = Crown::of(kind, height, r);
            let deep = leaves
                .iter()
                .filter(|&&i| {
                    let c = (m.tris[i][0] + m.tris[i][1] + m.tris[i][2]) / 3.0;
                    c.truncate().length() < 0.5 * crown.radius_at(c.z)
                })
                .count();
            assert!(
                deep * 20 > leaves.len(),
                "{deep} of {} leaves inside",
                leaves.len()
            );
        }
    }

    #[test]
    fn hedge_follows_beer_lambert_and_bush_stays_in_shape() {
        let (l, d, h) = (5.0, 0.8, 1.6);
        let m = hedge_mesh(l, d, h, 4);
        assert!(m.len() <= 4_000, "{} tris", m.len());
        assert!(m.class.iter().all(|&c| c == Class::Vegetation));
        let (lo, hi) = m.bounds();
        assert!(lo.x >= -0.5 * l && hi.x <= 0.5 * l && lo.y >= -0.5 * d && hi.y <= 0.5 * d);
        assert!(lo.z >= 0.0 && hi.z <= h && hi.z > 0.95 * h, "{lo} {hi}");
        // Beams across the depth, away from the ends and the rounded top: the leaves are a
        // uniform random cloud there, so the gap follows exp(−G·LAD·depth).
        let leaf_area: f32 = m.tris.iter().map(area).sum();
        let lad = leaf_area / (l * d * h);
        let expected = (-LEAF_G * lad * d).exp();
        let mut rng = SplitMix64::new(9);
        let n = 2_000;
        let gaps = (0..n)
            .filter(|_| {
                let o = Vec3::new(rng.range(-2.0, 2.0), -1.0, rng.range(0.2, 1.2));
                first_hit(&m, o, Vec3::Y).is_none()
            })
            .count() as f32
            / n as f32;
        println!(
            "hedge: {} tris, LAD {lad:.2}, gap {gaps:.3} vs {expected:.3}",
            m.len()
        );
        assert!(
            (gaps - expected).abs() < 0.05,
            "gap {gaps} vs Beer–Lambert {expected}"
        );
        assert!(gaps < 0.3, "hedge gap {gaps}");
        let tree_lad = {
            let crown = Crown::of(TreeKind::Broadleaf, 8.0, 2.5);
            let t = tree_mesh(TreeKind::Broadleaf, 8.0, 2.5, 4);
            leaf_ids(&t).iter().map(|&i| area(&t.tris[i])).sum::<f32>() / crown.volume_m3()
        };
        assert!(lad > 2.0 * tree_lad, "hedge LAD {lad} vs tree {tree_lad}");
        assert_eq!(hedge_mesh(l, d, h, 4).tris, m.tris);

        let r = 0.8;
        let b = bush_mesh(r, 2);
        assert!(
            b.len() <= BUSH_TRIANGLE_BUDGET && b.len() > 300,
            "{} tris",
            b.len()
        );
        let (lo, hi) = b.bounds();
        assert!(lo.z >= 0.0 && hi.z <= 1.6 * r + 1e-4, "{lo} {hi}");
        let reach = b
            .tris
            .iter()
            .flatten()
            .map(|v| v.truncate().length())
            .fold(0.0f32, f32::max);
        assert!(reach <= r + 1e-4, "bush reach {reach}");
        assert!(b.class.contains(&Class::Trunk) && b.class.contains(&Class::Vegetation));
        assert_ne!(bush_mesh(r, 3).tris, b.tris);
    }
}
