//! The height of the walkable surface under a point: the static world's road, sidewalk,
//! marking and terrain triangles, binned on a grid. Actors stand on it (a pedestrian on a
//! sidewalk stands on the kerb's top, not inside it at road height), and so do their labels.

use glam::{Vec2, Vec3};

use super::mesh::Mesh;
use crate::classes::Class;

/// Grid cell side, metres.
const CELL_M: f32 = 4.0;

/// Ground triangles on an xy grid.
#[derive(Clone, Debug, Default)]
pub struct GroundMap {
    tris: Vec<[Vec3; 3]>,
    origin: Vec2,
    nx: usize,
    ny: usize,
    /// Per cell, the triangles whose xy bounds touch it.
    cells: Vec<Vec<u32>>,
}

fn is_ground(c: Class) -> bool {
    matches!(
        c,
        Class::Road | Class::Sidewalk | Class::LaneMarking | Class::Crosswalk | Class::Terrain
    )
}

impl GroundMap {
    /// The ground of `mesh`: its triangles of ground classes that face up (kerb faces and
    /// walls excluded).
    pub fn from_mesh(mesh: &Mesh) -> Self {
        let tris: Vec<[Vec3; 3]> = mesh
            .tris
            .iter()
            .zip(&mesh.class)
            .filter(|(t, c)| {
                let n = (t[1] - t[0]).cross(t[2] - t[0]);
                is_ground(**c) && n.length() > 0.0 && n.normalize().z.abs() > 0.7
            })
            .map(|(t, _)| *t)
            .collect();
        if tris.is_empty() {
            return GroundMap::default();
        }
        let (mut lo, mut hi) = (Vec2::splat(f32::MAX), Vec2::splat(f32::MIN));
        for t in &tris {
            for p in t {
                lo = lo.min(p.truncate());
                hi = hi.max(p.truncate());
            }
        }
        let nx = (((hi.x - lo.x) / CELL_M).ceil() as usize).max(1);
        let ny = (((hi.y - lo.y) / CELL_M).ceil() as usize).max(1);
        let mut cells = vec![Vec::new(); nx * ny];
        let cell = |v: f32, o: f32, n: usize| (((v - o) / CELL_M) as usize).min(n - 1);
        for (i, t) in tris.iter().enumerate() {
            let (mut a, mut b) = (Vec2::splat(f32::MAX), Vec2::splat(f32::MIN));
            for p in t {
                a = a.min(p.truncate());
                b = b.max(p.truncate());
            }
            for y in cell(a.y, lo.y, ny)..=cell(b.y, lo.y, ny) {
                for x in cell(a.x, lo.x, nx)..=cell(b.x, lo.x, nx) {
                    cells[y * nx + x].push(i as u32);
                }
            }
        }
        GroundMap {
            tris,
            origin: lo,
            nx,
            ny,
            cells,
        }
    }

    /// The highest ground surface over `p` (a sidewalk over the terrain under it), or None off
    /// the ground.
    pub fn height_at(&self, p: Vec2) -> Option<f32> {
        if self.cells.is_empty() {
            return None;
        }
        let d = (p - self.origin) / CELL_M;
        if d.x < 0.0 || d.y < 0.0 || d.x >= self.nx as f32 || d.y >= self.ny as f32 {
            return None;
        }
        let (x, y) = (d.x as usize, d.y as usize);
        let mut best: Option<f32> = None;
        for &i in &self.cells[y * self.nx + x] {
            let [a, b, c] = self.tris[i as usize];
            // Barycentric coordinates in the xy plane.
            let (v0, v1, v2) = ((b - a).truncate(), (c - a).truncate(), p - a.truncate());
            let den = v0.perp_dot(v1);
            if den.abs() < 1e-12 {
                continue;
            }
            let s = v2.perp_dot(v1) / den;
            let t = v0.perp_dot(v2) / den;
            if s >= -1e-5 && t >= -1e-5 && s + t <= 1.0 + 1e-5 {
                let z = a.z + s * (b.z - a.z) + t * (c.z - a.z);
                best = Some(best.map_or(z, |z0: f32| z0.max(z)));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kerb_top_is_above_the_road_and_walls_do_not_count() {
        let mut m = Mesh::default();
        let q = |x0: f32, x1: f32, z: f32| {
            [
                Vec3::new(x0, -10.0, z),
                Vec3::new(x1, -10.0, z),
                Vec3::new(x1, 10.0, z),
                Vec3::new(x0, 10.0, z),
            ]
        };
        let [a, b, c, d] = q(-20.0, 20.0, -0.05);
        m.quad(a, b, c, d, 0, Class::Terrain);
        let [a, b, c, d] = q(-4.0, 4.0, 0.0);
        m.quad(a, b, c, d, 0, Class::Road);
        let [a, b, c, d] = q(4.0, 6.5, 0.15);
        m.quad(a, b, c, d, 0, Class::Sidewalk);
        // A building's roof over the sidewalk is not ground.
        let [a, b, c, d] = q(5.0, 6.0, 9.0);
        m.quad(a, b, c, d, 0, Class::Building);
        // A sloped ramp: z rises 1 m over 4 m.
        m.tri(
            Vec3::new(8.0, -2.0, 0.0),
            Vec3::new(12.0, -2.0, 1.0),
            Vec3::new(12.0, 2.0, 1.0),
            0,
            Class::Terrain,
        );
        let g = GroundMap::from_mesh(&m);
        assert_eq!(g.height_at(Vec2::new(0.0, 3.0)), Some(0.0));
        assert_eq!(g.height_at(Vec2::new(5.5, 3.0)), Some(0.15));
        assert_eq!(g.height_at(Vec2::new(15.0, 0.0)), Some(-0.05));
        let ramp = g.height_at(Vec2::new(11.0, -1.0)).unwrap();
        assert!((ramp - 0.75).abs() < 1e-5, "{ramp}");
        assert_eq!(g.height_at(Vec2::new(50.0, 0.0)), None);
    }
}
