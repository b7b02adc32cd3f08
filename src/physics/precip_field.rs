//! The precipitation field the sensors see: explicit rain drops and snowflakes in a box around
//! the ego rig (advanced every physics tick; the ticks between two rendered frames in one pass,
//! [`super::precip::advance_particles_cpu_steps`]), and the uniform grid over them that the lidar
//! and camera walk (3D DDA, `shaders/shared/particle_grid.wgsl` and its twin
//! `src/cpu/particle_grid.rs`).
//!
//! # Which particles are explicit
//!
//! Only where single drops matter: in a box of ±[`FIELD_HALF_XY_M`] around the ego, from the
//! ground to [`FIELD_HEIGHT_M`], and only drops (flakes, by melted diameter) of at least
//! [`FIELD_MIN_DIAMETER_MM`]. That is a Poisson thinning of the Marshall–Palmer / Gunn–Marshall
//! field, so the explicit population is again Poisson with `N(D)` cut at the bound, and its
//! count follows the rate (`volume × ∫_{D_min} N(D) dD`, e.g. ≈ 1.0 M drops at 50 mm/h,
//! 0.24 M at 10 mm/h, 0.03 M at 2 mm/h). The sensors' per-beam / per-slice samplers keep drawing
//! the complement (smaller particles inside the box, all particles outside it), so the
//! statistics of the sum stay those of the full distribution.
//!
//! The field is advanced on the CPU (the twin of `shaders/particles.wgsl`) and extracted once
//! into the frame inputs (`frame::FrameInputs`): both backends read the same bytes.

use std::sync::atomic::{AtomicU32, Ordering};

use glam::Vec3;

use super::precip::{
    Particle, PrecipConfig, PrecipError, PrecipParams, rain_number_density_above_per_m3,
    snow_number_density_above_per_m3,
};
use crate::abi::ParticleGrid;

/// Half width of the field box around the ego, metres (x and y).
pub const FIELD_HALF_XY_M: f32 = 12.0;
/// Height of the field box above the ego's ground, metres.
pub const FIELD_HEIGHT_M: f32 = 6.0;
/// Poisson thinning bound: explicit drops have D ≥ this (snow: melted D), mm.
pub const FIELD_MIN_DIAMETER_MM: f32 = 1.5;
/// Most explicit particles (an absurd rate fails with a clear error instead).
pub const MAX_FIELD_PARTICLES: usize = 4_000_000;
/// Grid margin: particles are filed in every cell within this distance of their exposure
/// segment; the sensors' test radii (beam radius, pixel footprint + drop radius) are clamped
/// to it so that every hit is found, metres.
pub const GRID_MARGIN_M: f32 = 0.05;
/// Mean particles per grid cell aimed at.
const PARTICLES_PER_CELL: f32 = 2.0;
/// Grid resolution limits.
const MAX_CELLS_PER_AXIS: u32 = 512;
const MIN_CELL_M: f32 = 0.1;
const MAX_CELL_M: f32 = 2.0;

/// The field's box config at this tick (centre above the ego's ground point).
pub fn field_config(
    ego_position_m: Vec3,
    rain_mm_per_h: f32,
    snow_mm_per_h: f32,
    wind_m_per_s: Vec3,
    dt_s: f32,
    seed: u32,
    tick: u32,
) -> PrecipConfig {
    PrecipConfig {
        center_m: ego_position_m + Vec3::new(0.0, 0.0, 0.5 * FIELD_HEIGHT_M),
        half_extents_m: Vec3::new(FIELD_HALF_XY_M, FIELD_HALF_XY_M, 0.5 * FIELD_HEIGHT_M),
        wind_m_per_s,
        dt_s,
        rain_mm_per_h,
        snow_mm_per_h,
        seed,
        tick,
        min_diameter_mm: FIELD_MIN_DIAMETER_MM,
        ..Default::default()
    }
}

/// Expected explicit particles at these rates (rain + snow).
pub fn expected_field_particles(rain_mm_per_h: f32, snow_mm_per_h: f32) -> f64 {
    let volume = 4.0 * FIELD_HALF_XY_M as f64 * FIELD_HALF_XY_M as f64 * FIELD_HEIGHT_M as f64;
    volume
        * (rain_number_density_above_per_m3(rain_mm_per_h, FIELD_MIN_DIAMETER_MM)
            + snow_number_density_above_per_m3(snow_mm_per_h, FIELD_MIN_DIAMETER_MM))
}

/// Fails when the field would hold more than [`MAX_FIELD_PARTICLES`] at these rates.
pub fn check_field_rates(rain_mm_per_h: f32, snow_mm_per_h: f32) -> Result<(), PrecipError> {
    let n = expected_field_particles(rain_mm_per_h, snow_mm_per_h);
    if n.round() > MAX_FIELD_PARTICLES as f64 {
        return Err(PrecipError::TooManyParticles {
            expected: n.round() as u64,
            limit: MAX_FIELD_PARTICLES,
        });
    }
    Ok(())
}

/// The explicit particles and their per-frame grid, as the backends read them (same bytes for
/// both).
#[derive(Clone, Debug, Default)]
pub struct PrecipInputs {
    pub grid: ParticleGrid,
    pub particles: Vec<Particle>,
    /// `cell_count + 1` cell starts (CSR: cell `c` holds `indices[start[c]..start[c + 1]]`), then
    /// the particle indices sorted by cell, from `grid.index_offset`.
    pub cells: Vec<u32>,
}

/// An empty grid: no field (samplers draw the whole distribution everywhere).
pub fn empty_grid() -> ParticleGrid {
    ParticleGrid {
        origin_m: [0.0; 3],
        cell_m: 1.0,
        dims: [1, 1, 1],
        particle_count: 0,
        field_min_m: [1.0; 3],
        min_diameter_mm: FIELD_MIN_DIAMETER_MM,
        field_max_m: [-1.0; 3],
        exposure_s: 0.0,
        ego_velocity_m_per_s: [0.0; 3],
        margin_m: GRID_MARGIN_M,
        index_offset: 2,
        _pad: [0; 3],
    }
}

/// Inputs with no field.
pub fn no_field() -> PrecipInputs {
    PrecipInputs {
        grid: empty_grid(),
        particles: Vec::new(),
        cells: vec![0, 0],
    }
}

/// The grid's cell size and cell counts over the bounds `lo`..`hi` of `particle_count`
/// particles' segment boxes: about [`PARTICLES_PER_CELL`] particles per cell, cells of
/// 0.1–2 m, at most 512 per axis. Both backends' grid builders use it, so equal bounds give
/// equal grids.
pub fn grid_layout(lo: Vec3, hi: Vec3, particle_count: usize) -> (f32, [u32; 3]) {
    let size = hi - lo;
    let volume = (size.x * size.y * size.z).max(1e-6);
    let mut cell = (PARTICLES_PER_CELL * volume / particle_count.max(1) as f32)
        .cbrt()
        .clamp(MIN_CELL_M, MAX_CELL_M);
    cell = cell.max(size.max_element() / MAX_CELLS_PER_AXIS as f32);
    let dims = [
        ((size.x / cell).ceil() as u32).clamp(1, MAX_CELLS_PER_AXIS),
        ((size.y / cell).ceil() as u32).clamp(1, MAX_CELLS_PER_AXIS),
        ((size.z / cell).ceil() as u32).clamp(1, MAX_CELLS_PER_AXIS),
    ];
    (cell, dims)
}

/// The grid of a field box with no particles: the box is still where the explicit sizes live
/// (samplers leave them out there).
pub fn empty_field_grid(params: &PrecipParams) -> ParticleGrid {
    let mut grid = empty_grid();
    let c = Vec3::from(params.center_m);
    let h = Vec3::from(params.half_extents_m);
    grid.field_min_m = (c - h).to_array();
    grid.field_max_m = (c + h).to_array();
    grid.min_diameter_mm = params.min_diameter_mm;
    grid
}

/// Whether a frame with these field parameters has a field at all: a box whose explicit
/// sizes the samplers leave out. Without one (no precipitation ever sized it) the samplers
/// draw the whole distribution everywhere.
pub fn has_field_box(params: &PrecipParams) -> bool {
    params.min_diameter_mm > 0.0
}

/// The header of the grid over a non-empty field before its bounds are known: the box, the
/// exposure, the ego's velocity and the margin; [`grid_layout`] fills in the rest.
pub fn field_grid_header(
    particle_count: usize,
    params: &PrecipParams,
    exposure_s: f32,
    ego_velocity_m_per_s: Vec3,
) -> ParticleGrid {
    let center = Vec3::from(params.center_m);
    let half = Vec3::from(params.half_extents_m);
    ParticleGrid {
        origin_m: (center - half).to_array(),
        cell_m: 1.0,
        dims: [1, 1, 1],
        particle_count: particle_count as u32,
        field_min_m: (center - half).to_array(),
        min_diameter_mm: params.min_diameter_mm,
        field_max_m: (center + half).to_array(),
        exposure_s: exposure_s.max(0.0),
        ego_velocity_m_per_s: ego_velocity_m_per_s.to_array(),
        margin_m: GRID_MARGIN_M,
        index_offset: 2,
        _pad: [0; 3],
    }
}

/// Builds the uniform grid over the field's particles. Each particle is filed in every cell
/// that the box of its exposure segments touches, grown by [`GRID_MARGIN_M`]: the segments are
/// `p + (v − u)·τ`, `τ ∈ [−exposure_s/2, exposure_s/2]`, for a camera at rest (`u = 0`) and one
/// moving with the ego (`u = ego_velocity`). Deterministic (a counting sort, particles in
/// index order within a cell).
pub fn build_particle_grid(
    particles: &[Particle],
    params: &PrecipParams,
    exposure_s: f32,
    ego_velocity_m_per_s: Vec3,
) -> PrecipInputs {
    if particles.is_empty() {
        return PrecipInputs {
            grid: empty_field_grid(params),
            ..no_field()
        };
    }
    let center = Vec3::from(params.center_m);
    let half = Vec3::from(params.half_extents_m);
    let half_t = 0.5 * exposure_s.max(0.0);
    let segment_box = |p: &Particle| {
        let pos = Vec3::from(p.position_m);
        let v = Vec3::from(p.velocity_m_per_s);
        let mut lo = pos;
        let mut hi = pos;
        for u in [Vec3::ZERO, ego_velocity_m_per_s] {
            for tau in [-half_t, half_t] {
                let q = pos + (v - u) * tau;
                lo = lo.min(q);
                hi = hi.max(q);
            }
        }
        (
            lo - Vec3::splat(GRID_MARGIN_M),
            hi + Vec3::splat(GRID_MARGIN_M),
        )
    };
    use rayon::prelude::*;
    // The bounds first, then each particle's cell range from its box computed again (cheaper
    // than keeping a million boxes).
    let (lo, hi) = particles.par_iter().map(segment_box).reduce(
        || (center - half, center + half),
        |a, b| (a.0.min(b.0), a.1.max(b.1)),
    );
    let (cell, dims) = grid_layout(lo, hi, particles.len());
    let cell_count = (dims[0] * dims[1] * dims[2]) as usize;
    // Truncation is the floor here: negative and NaN coordinates go to cell 0 either way (and
    // `floor` is a libm call on the baseline x86-64 target).
    let cell_of = |q: Vec3| -> [u32; 3] {
        let r = (q - lo) / cell;
        [
            (r.x.max(0.0) as u32).min(dims[0] - 1),
            (r.y.max(0.0) as u32).min(dims[1] - 1),
            (r.z.max(0.0) as u32).min(dims[2] - 1),
        ]
    };
    let ranges: Vec<([u32; 3], [u32; 3])> = particles
        .par_iter()
        .map(|p| {
            let (a, b) = segment_box(p);
            (cell_of(a), cell_of(b))
        })
        .collect();
    let index = |x: u32, y: u32, z: u32| ((z * dims[1] + y) * dims[0] + x) as usize;
    // Calls f with every cell of a particle's range, in z, y, x order (plain loops: nested
    // iterator adaptors over inclusive ranges cost more than the filing itself).
    let for_each_cell = |(a, b): &([u32; 3], [u32; 3]), f: &mut dyn FnMut(usize)| {
        for z in a[2]..b[2] + 1 {
            for y in a[1]..b[1] + 1 {
                let row = index(0, y, z);
                for x in a[0]..b[0] + 1 {
                    f(row + x as usize);
                }
            }
        }
    };
    // A parallel counting sort: the particles in chunks (in index order), each chunk's count
    // per cell, then each chunk's first slot in every cell, then each chunk files its
    // particles. Every cell lists its particles in ascending index order whatever the chunk
    // count, the layout a serial counting sort gives.
    // One chunk per thread, at least 64 k particles each, and at most 64 MB of counts in all
    // (a dense field at the particle cap has about 2 M cells).
    let max_chunks = ((1usize << 24) / cell_count.max(1)).max(1);
    let chunk_len = ranges
        .len()
        .div_ceil(rayon::current_num_threads().clamp(1, max_chunks))
        .max(1 << 16);
    let mut slots: Vec<Vec<u32>> = ranges
        .par_chunks(chunk_len)
        .map(|chunk| {
            let mut count = vec![0u32; cell_count];
            for r in chunk {
                for_each_cell(r, &mut |c| count[c] += 1);
            }
            count
        })
        .collect();
    let offset = cell_count + 1;
    // starts[c] = number of entries in the cells below c.
    let mut starts = vec![0u32; offset];
    starts[1..]
        .par_iter_mut()
        .enumerate()
        .for_each(|(c, s)| *s = slots.iter().map(|k| k[c]).sum());
    for c in 0..cell_count {
        starts[c + 1] += starts[c];
    }
    let total = starts[cell_count] as usize;
    // Counts become first slots, cell block by cell block in parallel.
    const BLOCK: usize = 4096;
    let mut blocks: Vec<Vec<&mut [u32]>> = (0..cell_count.div_ceil(BLOCK))
        .map(|_| Vec::with_capacity(slots.len()))
        .collect();
    for k in slots.iter_mut() {
        for (b, part) in k.chunks_mut(BLOCK).enumerate() {
            blocks[b].push(part);
        }
    }
    blocks
        .into_par_iter()
        .zip(starts.par_chunks(BLOCK))
        .for_each(|(mut parts, first)| {
            for j in 0..parts.first().map_or(0, |p| p.len()) {
                let mut next = first[j];
                for p in parts.iter_mut() {
                    let n = p[j];
                    p[j] = next;
                    next += n;
                }
            }
        });
    // Chunks write disjoint slots (relaxed atomic stores are plain stores on x86 and ARM).
    let members: Vec<AtomicU32> = (0..total)
        .into_par_iter()
        .map(|_| AtomicU32::new(0))
        .collect();
    ranges
        .par_chunks(chunk_len)
        .zip(slots.par_iter_mut())
        .enumerate()
        .for_each(|(k, (chunk, next))| {
            for (j, r) in chunk.iter().enumerate() {
                let i = (k * chunk_len + j) as u32;
                for_each_cell(r, &mut |c| {
                    members[next[c] as usize].store(i, Ordering::Relaxed);
                    next[c] += 1;
                });
            }
        });
    drop(slots);
    drop(ranges);
    let mut cells = starts;
    cells.reserve_exact(total);
    cells.extend(members.into_iter().map(AtomicU32::into_inner));
    let mut grid = field_grid_header(particles.len(), params, exposure_s, ego_velocity_m_per_s);
    grid.origin_m = lo.to_array();
    grid.cell_m = cell;
    grid.dims = dims;
    grid.index_offset = offset as u32;
    PrecipInputs {
        grid,
        particles: particles.to_vec(),
        cells,
    }
}

/// One change to the particle field, as the world records it for the backend that owns the
/// particles (the CPU twin or the GPU stage) to replay in order.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldOp {
    /// Drop every particle.
    Clear,
    /// Replace the population (tests place single drops this way).
    Replace(Vec<Particle>),
    /// [`resize_population`](super::precip::resize_population) with this config, from the
    /// field's parameters at that tick.
    Resize {
        config: PrecipConfig,
        params: PrecipParams,
    },
    /// One physics tick of [`advance_particles_cpu`](super::precip::advance_particles_cpu).
    Step(PrecipParams),
}

/// Names a state of the field: which world made it and after how many of its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldVersion {
    pub world: u64,
    pub frame: u64,
}

impl FieldVersion {
    /// A version no other field has had in this process.
    pub fn fresh_world() -> u64 {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}

/// The precipitation field's part of a frame: what happened to the particles since the
/// previous frame, and what this frame's grid needs. The world never holds particles; the
/// backend keeps them and replays `ops` onto the state named `before` (`None`: an empty
/// field), which gives the state `after`.
#[derive(Clone, Debug, PartialEq)]
pub struct PrecipFrame {
    pub before: Option<FieldVersion>,
    pub after: FieldVersion,
    pub ops: Vec<FieldOp>,
    /// The field's box and step at this frame.
    pub params: PrecipParams,
    /// Longest camera shutter of the frame (s): particles are filed along their streaks.
    pub exposure_s: f32,
    pub ego_velocity_m_per_s: Vec3,
}

impl PrecipFrame {
    /// No field: samplers draw the whole distribution everywhere.
    pub fn none() -> Self {
        Self::explicit(Vec::new(), PrecipParams::default(), 0.0, Vec3::ZERO)
    }

    /// A field of exactly these particles (from an empty one).
    pub fn explicit(
        particles: Vec<Particle>,
        params: PrecipParams,
        exposure_s: f32,
        ego_velocity_m_per_s: Vec3,
    ) -> Self {
        PrecipFrame {
            before: None,
            after: FieldVersion {
                world: FieldVersion::fresh_world(),
                frame: 0,
            },
            ops: vec![FieldOp::Replace(particles)],
            params,
            exposure_s,
            ego_velocity_m_per_s,
        }
    }
}

/// The field ops of a frame grouped for replay: runs of steps come as one slice.
pub enum ReplayOp<'a> {
    Clear,
    Replace(&'a [Particle]),
    Resize(&'a PrecipConfig, &'a PrecipParams),
    Steps(Vec<PrecipParams>),
}

/// `ops` with consecutive steps grouped.
pub fn replay_ops(ops: &[FieldOp]) -> Vec<ReplayOp<'_>> {
    let mut out: Vec<ReplayOp> = Vec::new();
    for op in ops {
        match op {
            FieldOp::Step(p) => match out.last_mut() {
                Some(ReplayOp::Steps(steps)) => steps.push(*p),
                _ => out.push(ReplayOp::Steps(vec![*p])),
            },
            FieldOp::Clear => out.push(ReplayOp::Clear),
            FieldOp::Replace(p) => out.push(ReplayOp::Replace(p)),
            FieldOp::Resize { config, params } => out.push(ReplayOp::Resize(config, params)),
        }
    }
    out
}

/// Which state a backend's field must be in to replay a frame: `Ok(true)` when it must
/// replay the frame's ops (from an empty field when `before` is `None`), `Ok(false)` when it
/// already holds the frame's state (the same frame rendered again), an error when frames
/// were skipped or came out of order.
pub fn replay_needed(held: Option<FieldVersion>, frame: &PrecipFrame) -> Result<bool, PrecipError> {
    if held == Some(frame.after) {
        return Ok(false);
    }
    match frame.before {
        None => Ok(true),
        Some(b) if held == Some(b) => Ok(true),
        Some(b) => Err(PrecipError::OutOfSequence { expected: b, held }),
    }
}

/// The CPU twin's particle field: the particles a CPU backend keeps between frames.
#[derive(Clone, Debug, Default)]
pub struct ParticleField {
    particles: Vec<Particle>,
    version: Option<FieldVersion>,
}

impl ParticleField {
    /// Replays the frame's ops (see [`replay_needed`]).
    pub fn apply(&mut self, frame: &PrecipFrame) -> Result<(), PrecipError> {
        if !replay_needed(self.version, frame)? {
            return Ok(());
        }
        if frame.before.is_none() {
            self.particles.clear();
        }
        for op in replay_ops(&frame.ops) {
            match op {
                ReplayOp::Clear => self.particles.clear(),
                ReplayOp::Replace(p) => self.particles = p.to_vec(),
                ReplayOp::Resize(config, params) => {
                    let mut p = *params;
                    super::precip::resize_population(
                        &mut self.particles,
                        config,
                        &mut p,
                        MAX_FIELD_PARTICLES,
                    )?;
                }
                ReplayOp::Steps(steps) => {
                    super::precip::advance_particles_cpu_steps(&mut self.particles, &steps)
                }
            }
        }
        self.version = Some(frame.after);
        Ok(())
    }

    pub fn particles(&self) -> &[Particle] {
        &self.particles
    }

    /// The frame's grid over the particles (after [`ParticleField::apply`]).
    pub fn inputs(&self, frame: &PrecipFrame) -> PrecipInputs {
        if self.particles.is_empty() && !has_field_box(&frame.params) {
            no_field()
        } else {
            build_particle_grid(
                &self.particles,
                &frame.params,
                frame.exposure_s,
                frame.ego_velocity_m_per_s,
            )
        }
    }

    /// Applies the frame and builds its grid.
    pub fn frame_inputs(&mut self, frame: &PrecipFrame) -> Result<PrecipInputs, PrecipError> {
        self.apply(frame)?;
        Ok(self.inputs(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::precip::KIND_RAIN;

    #[test]
    fn field_counts_follow_the_rate_and_cap() {
        let n5 = expected_field_particles(5.0, 0.0);
        let n50 = expected_field_particles(50.0, 0.0);
        assert!(n5 > 1000.0 && n50 > 5.0 * n5, "{n5} {n50}");
        assert!(check_field_rates(50.0, 0.0).is_ok());
        assert!(matches!(
            check_field_rates(5000.0, 0.0),
            Err(PrecipError::TooManyParticles { .. })
        ));
    }

    /// The parallel counting sort (particles in chunks) lays the grid out as a serial one:
    /// each cell lists every particle whose grown box touches it, in ascending index order.
    #[test]
    fn grid_equals_a_serial_counting_sort() {
        let config = field_config(Vec3::ZERO, 50.0, 0.0, Vec3::ZERO, 0.01, 1, 0);
        let params = config.params(0).unwrap();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        // More particles than one chunk holds, so several chunks file into shared cells.
        let particles: Vec<Particle> = (0..200_000)
            .map(|_| Particle {
                position_m: [24.0 * next() - 12.0, 24.0 * next() - 12.0, 6.0 * next()],
                diameter_mm: 2.0,
                velocity_m_per_s: [0.0, 0.0, -6.5],
                kind: KIND_RAIN,
            })
            .collect();
        let g = build_particle_grid(&particles, &params, 0.0, Vec3::ZERO);
        let grid = g.grid;
        let dims = grid.dims.map(|d| d as usize);
        let n = dims[0] * dims[1] * dims[2];
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
        let origin = Vec3::from(grid.origin_m);
        let cell_of = |q: Vec3| {
            let r = (q - origin) / grid.cell_m;
            [r.x, r.y, r.z].map(|v| v.floor().max(0.0) as usize)
        };
        for (i, p) in particles.iter().enumerate() {
            let pos = Vec3::from(p.position_m);
            let a = cell_of(pos - Vec3::splat(GRID_MARGIN_M));
            let b = cell_of(pos + Vec3::splat(GRID_MARGIN_M));
            for z in a[2]..=b[2].min(dims[2] - 1) {
                for y in a[1]..=b[1].min(dims[1] - 1) {
                    for x in a[0]..=b[0].min(dims[0] - 1) {
                        lists[(z * dims[1] + y) * dims[0] + x].push(i as u32);
                    }
                }
            }
        }
        let mut expect = vec![0u32; n + 1];
        for c in 0..n {
            expect[c + 1] = expect[c] + lists[c].len() as u32;
        }
        expect.extend(lists.concat());
        assert!(
            g.cells.len() > n + 1 + particles.len(),
            "every particle filed"
        );
        assert!(
            g.cells == expect,
            "grid differs from the serial counting sort"
        );
    }

    #[test]
    fn grid_files_every_particle_where_it_is() {
        let config = field_config(Vec3::ZERO, 10.0, 0.0, Vec3::ZERO, 0.01, 1, 0);
        let params = config.params(0).unwrap();
        let particles: Vec<Particle> = (0..50)
            .map(|i| Particle {
                position_m: [i as f32 * 0.4 - 10.0, 0.3 * i as f32 - 7.0, 0.1 * i as f32],
                diameter_mm: 2.0,
                velocity_m_per_s: [0.0, 0.0, -6.5],
                kind: KIND_RAIN,
            })
            .collect();
        let g = build_particle_grid(&particles, &params, 0.01, Vec3::new(10.0, 0.0, 0.0));
        let grid = g.grid;
        let n = (grid.dims[0] * grid.dims[1] * grid.dims[2]) as usize;
        assert_eq!(grid.index_offset as usize, n + 1);
        assert_eq!(g.cells.len(), n + 1 + g.cells[n] as usize);
        for (i, p) in particles.iter().enumerate() {
            let q = (Vec3::from(p.position_m) - Vec3::from(grid.origin_m)) / grid.cell_m;
            let c = ((q.z as u32 * grid.dims[1] + q.y as u32) * grid.dims[0] + q.x as u32) as usize;
            let list = &g.cells[n + 1 + g.cells[c] as usize..n + 1 + g.cells[c + 1] as usize];
            assert!(list.contains(&(i as u32)), "particle {i} not in its cell");
        }
    }

    fn small_population() -> (Vec<Particle>, PrecipConfig, PrecipParams) {
        let config = field_config(Vec3::ZERO, 10.0, 1.0, Vec3::new(1.0, 0.0, 0.0), 0.01, 3, 0);
        let mut particles = Vec::new();
        let mut params = PrecipParams::default();
        super::super::precip::resize_population(&mut particles, &config, &mut params, 1 << 22)
            .unwrap();
        (particles, config, params)
    }

    /// A frame's ops replayed by the twin give what one pass per tick gives, and the field
    /// checks that frames come in order, each once.
    #[test]
    fn replay_equals_one_pass_per_tick_and_keeps_frames_in_order() {
        let (start, mut config, params0) = small_population();
        let mut stepped = start.clone();
        let mut ops = vec![FieldOp::Replace(start)];
        for tick in 1..=30 {
            config.tick = tick;
            config.center_m.x += 0.07;
            let p = config.params(params0.particle_count).unwrap();
            super::super::precip::advance_particles_cpu(&mut stepped, &p);
            ops.push(FieldOp::Step(p));
        }
        let v = |frame| FieldVersion { world: 9, frame };
        let first = PrecipFrame {
            before: None,
            after: v(0),
            ops,
            params: params0,
            exposure_s: 0.0,
            ego_velocity_m_per_s: Vec3::ZERO,
        };
        let mut field = ParticleField::default();
        field.apply(&first).unwrap();
        assert!(
            bytemuck::cast_slice::<Particle, u8>(field.particles())
                == bytemuck::cast_slice::<Particle, u8>(&stepped)
        );
        // The same frame again changes nothing.
        field.apply(&first).unwrap();
        assert!(
            bytemuck::cast_slice::<Particle, u8>(field.particles())
                == bytemuck::cast_slice::<Particle, u8>(&stepped)
        );
        // A frame that continues another state is refused.
        let skipped = PrecipFrame {
            before: Some(v(1)),
            after: v(2),
            ops: vec![FieldOp::Clear],
            ..first.clone()
        };
        let e = field.apply(&skipped).unwrap_err();
        assert!(matches!(e, PrecipError::OutOfSequence { .. }), "{e}");
        assert_eq!(field.particles().len(), stepped.len(), "nothing applied");
        // The next one is applied; a clear empties the field.
        let next = PrecipFrame {
            before: Some(v(0)),
            after: v(1),
            ..skipped.clone()
        };
        field.apply(&next).unwrap();
        assert!(field.particles().is_empty());
        assert!(field.inputs(&next).particles.is_empty());
    }
}
