// Uniform grid over the explicit precipitation particles of a frame, and the 3D DDA walk of a
// ray through it. CPU twin: src/backend/cpu/particle_grid.rs (step for step alike); the grid is built by
// src/physics/precip_field.rs. Needs shared/types.wgsl and shared/bvh.wgsl (safe_inv).
//
// Cells: grid_cells[c] .. grid_cells[c + 1] is cell c's range in the sorted particle indices,
// which start at grid_cells[grid.index_offset]. A particle is filed in every cell within
// grid.margin_m of its exposure segment, so a walk finds it wherever a test within that radius
// succeeds; it counts only in the cell where its closest approach lies (grid_walk_owns).

@group(2) @binding(0) var<uniform> grid: ParticleGrid;
@group(2) @binding(1) var<storage, read> field_particles: array<Particle>;
@group(2) @binding(2) var<storage, read> grid_cells: array<u32>;

struct GridWalk {
    cell: vec3<i32>,
    step: vec3<i32>,
    t_next: vec3<f32>,
    t_delta: vec3<f32>,
    t_in: f32,
    t_end: f32,
    live: bool,
}

// Whether p lies in the field's box (where the large particles are explicit).
fn in_field(p: vec3<f32>) -> bool {
    return all(p >= grid.field_min_m) && all(p <= grid.field_max_m);
}

// Particle k of the sorted index list.
fn grid_particle(k: u32) -> Particle {
    return field_particles[grid_cells[grid.index_offset + k]];
}

// Starts a walk over the cells that the ray o + t·d (d unit) crosses for t in [t0, t1].
fn grid_walk_start(o: vec3<f32>, d: vec3<f32>, t0: f32, t1: f32) -> GridWalk {
    var w: GridWalk;
    w.cell = vec3<i32>(0);
    w.step = vec3<i32>(0);
    w.t_next = vec3<f32>(0.0);
    w.t_delta = vec3<f32>(0.0);
    w.t_in = 0.0;
    w.t_end = 0.0;
    w.live = false;
    if grid.particle_count == 0u {
        return w;
    }
    let inv = safe_inv(d);
    let bmin = grid.origin_m;
    let bmax = bmin + vec3<f32>(grid.dims) * grid.cell_m;
    let ta = (bmin - o) * inv;
    let tb = (bmax - o) * inv;
    let t_near = max(max(max(min(ta.x, tb.x), min(ta.y, tb.y)), min(ta.z, tb.z)), t0);
    let t_far = min(min(min(max(ta.x, tb.x), max(ta.y, tb.y)), max(ta.z, tb.z)), t1);
    if t_near > t_far {
        return w;
    }
    let p = o + d * t_near;
    let dims = vec3<i32>(grid.dims);
    let c = floor((p - bmin) / grid.cell_m);
    w.cell = clamp(vec3<i32>(c), vec3<i32>(0), dims - vec3<i32>(1));
    let pos = d >= vec3<f32>(0.0);
    w.step = select(vec3<i32>(-1), vec3<i32>(1), pos);
    let next_bound = bmin + (vec3<f32>(w.cell) + select(vec3<f32>(0.0), vec3<f32>(1.0), pos)) * grid.cell_m;
    w.t_next = (next_bound - o) * inv;
    w.t_delta = abs(vec3<f32>(grid.cell_m) * inv);
    w.t_in = t_near;
    w.t_end = t_far;
    w.live = true;
    return w;
}

// Exit distance of the current cell (at most the walk's end).
fn grid_walk_exit(w: GridWalk) -> f32 {
    return min(min(min(w.t_next.x, w.t_next.y), w.t_next.z), w.t_end);
}

// Index of the current cell.
fn grid_walk_cell(w: GridWalk) -> u32 {
    return (u32(w.cell.z) * grid.dims.y + u32(w.cell.y)) * grid.dims.x + u32(w.cell.x);
}

// Whether a particle whose closest approach to the ray is at t belongs to the current cell.
fn grid_walk_owns(w: GridWalk, t: f32) -> bool {
    let t_exit = grid_walk_exit(w);
    return t >= w.t_in && (t < t_exit || t_exit >= w.t_end);
}

// Moves to the next cell along the ray.
fn grid_walk_next(w: ptr<function, GridWalk>) {
    let t_exit = grid_walk_exit(*w);
    if t_exit >= (*w).t_end {
        (*w).live = false;
        return;
    }
    (*w).t_in = t_exit;
    if (*w).t_next.x <= (*w).t_next.y && (*w).t_next.x <= (*w).t_next.z {
        (*w).cell.x += (*w).step.x;
        (*w).t_next.x += (*w).t_delta.x;
    } else if (*w).t_next.y <= (*w).t_next.z {
        (*w).cell.y += (*w).step.y;
        (*w).t_next.y += (*w).t_delta.y;
    } else {
        (*w).cell.z += (*w).step.z;
        (*w).t_next.z += (*w).t_delta.z;
    }
    let dims = vec3<i32>(grid.dims);
    if any((*w).cell < vec3<i32>(0)) || any((*w).cell >= dims) {
        (*w).live = false;
    }
}
