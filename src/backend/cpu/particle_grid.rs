//! CPU twin of `shaders/shared/particle_grid.wgsl`: the 3D DDA walk of a ray through the
//! uniform grid over the explicit precipitation particles, step for step alike. The grid is
//! built by `physics::precip_field::build_particle_grid`.

use glam::{IVec3, Vec3};

use crate::abi::ParticleGrid;
use crate::physics::precip::Particle;
use crate::physics::precip_field::{PrecipInputs, empty_grid};

/// The grid buffers as the shaders see them (group 2: uniform, particles, cells).
#[derive(Clone, Copy, Debug)]
pub struct GridView<'a> {
    pub grid: &'a ParticleGrid,
    pub particles: &'a [Particle],
    pub cells: &'a [u32],
}

static EMPTY_GRID: std::sync::LazyLock<ParticleGrid> = std::sync::LazyLock::new(empty_grid);
static EMPTY_CELLS: [u32; 2] = [0, 0];

impl<'a> GridView<'a> {
    pub fn new(inputs: &'a PrecipInputs) -> Self {
        GridView {
            grid: &inputs.grid,
            particles: &inputs.particles,
            cells: &inputs.cells,
        }
    }

    /// No field: the samplers draw every particle.
    pub fn empty() -> GridView<'static> {
        GridView {
            grid: &EMPTY_GRID,
            particles: &[],
            cells: &EMPTY_CELLS,
        }
    }

    /// Whether `p` lies in the field's box (where the large particles are explicit).
    #[inline]
    pub fn in_field(&self, p: Vec3) -> bool {
        let lo = Vec3::from(self.grid.field_min_m);
        let hi = Vec3::from(self.grid.field_max_m);
        p.cmpge(lo).all() && p.cmple(hi).all()
    }

    /// Particle index `k` of the sorted index list.
    #[inline]
    pub fn particle(&self, k: u32) -> &Particle {
        &self.particles[self.cells[(self.grid.index_offset + k) as usize] as usize]
    }
}

/// State of a walk through the grid.
#[derive(Clone, Copy, Debug)]
pub struct GridWalk {
    pub cell: IVec3,
    pub step: IVec3,
    pub t_next: Vec3,
    pub t_delta: Vec3,
    /// Entry distance of the current cell.
    pub t_in: f32,
    pub t_end: f32,
    pub live: bool,
}

fn safe_inv(d: Vec3) -> Vec3 {
    let eps = 1.0e-20f32;
    let f = |c: f32| {
        let nudged = if c >= 0.0 { eps } else { -eps };
        1.0 / if c.abs() < eps { nudged } else { c }
    };
    Vec3::new(f(d.x), f(d.y), f(d.z))
}

/// Starts a walk over the cells that the ray `o + t·d` (d unit) crosses for t in [t0, t1].
pub fn grid_walk_start(g: &GridView, o: Vec3, d: Vec3, t0: f32, t1: f32) -> GridWalk {
    let mut w = GridWalk {
        cell: IVec3::ZERO,
        step: IVec3::ZERO,
        t_next: Vec3::ZERO,
        t_delta: Vec3::ZERO,
        t_in: 0.0,
        t_end: 0.0,
        live: false,
    };
    let grid = g.grid;
    if grid.particle_count == 0 {
        return w;
    }
    let inv = safe_inv(d);
    let bmin = Vec3::from(grid.origin_m);
    let dims_f = Vec3::new(
        grid.dims[0] as f32,
        grid.dims[1] as f32,
        grid.dims[2] as f32,
    );
    let bmax = bmin + dims_f * grid.cell_m;
    let ta = (bmin - o) * inv;
    let tb = (bmax - o) * inv;
    let t_near =
        ta.x.min(tb.x)
            .max(ta.y.min(tb.y))
            .max(ta.z.min(tb.z))
            .max(t0);
    let t_far =
        ta.x.max(tb.x)
            .min(ta.y.max(tb.y))
            .min(ta.z.max(tb.z))
            .min(t1);
    if t_near > t_far {
        return w;
    }
    let p = o + d * t_near;
    let dims = IVec3::new(
        grid.dims[0] as i32,
        grid.dims[1] as i32,
        grid.dims[2] as i32,
    );
    let c = ((p - bmin) / grid.cell_m).floor();
    w.cell = IVec3::new(c.x as i32, c.y as i32, c.z as i32).clamp(IVec3::ZERO, dims - IVec3::ONE);
    let pos = d.cmpge(Vec3::ZERO);
    w.step = IVec3::select(pos, IVec3::ONE, IVec3::NEG_ONE);
    let cf = Vec3::new(w.cell.x as f32, w.cell.y as f32, w.cell.z as f32);
    let next_bound = bmin + (cf + Vec3::select(pos, Vec3::ONE, Vec3::ZERO)) * grid.cell_m;
    w.t_next = (next_bound - o) * inv;
    w.t_delta = (Vec3::splat(grid.cell_m) * inv).abs();
    w.t_in = t_near;
    w.t_end = t_far;
    w.live = true;
    w
}

/// Exit distance of the current cell (at most the walk's end).
#[inline]
pub fn grid_walk_exit(w: &GridWalk) -> f32 {
    w.t_next.x.min(w.t_next.y).min(w.t_next.z).min(w.t_end)
}

/// Index of the current cell.
#[inline]
pub fn grid_walk_cell(g: &GridView, w: &GridWalk) -> u32 {
    let d = g.grid.dims;
    (w.cell.z as u32 * d[1] + w.cell.y as u32) * d[0] + w.cell.x as u32
}

/// Whether a particle whose closest approach to the ray is at `t` belongs to the current cell
/// (each particle is filed in several cells; it counts in the one its closest point lies in).
#[inline]
pub fn grid_walk_owns(w: &GridWalk, t: f32) -> bool {
    let t_exit = grid_walk_exit(w);
    t >= w.t_in && (t < t_exit || t_exit >= w.t_end)
}

/// Moves to the next cell along the ray.
pub fn grid_walk_next(g: &GridView, w: &mut GridWalk) {
    let t_exit = grid_walk_exit(w);
    if t_exit >= w.t_end {
        w.live = false;
        return;
    }
    w.t_in = t_exit;
    if w.t_next.x <= w.t_next.y && w.t_next.x <= w.t_next.z {
        w.cell.x += w.step.x;
        w.t_next.x += w.t_delta.x;
    } else if w.t_next.y <= w.t_next.z {
        w.cell.y += w.step.y;
        w.t_next.y += w.t_delta.y;
    } else {
        w.cell.z += w.step.z;
        w.t_next.z += w.t_delta.z;
    }
    let d = g.grid.dims;
    if w.cell.x < 0
        || w.cell.y < 0
        || w.cell.z < 0
        || w.cell.x >= d[0] as i32
        || w.cell.y >= d[1] as i32
        || w.cell.z >= d[2] as i32
    {
        w.live = false;
    }
}
