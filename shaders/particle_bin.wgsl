// Compute stages that grid the precipitation particles for a frame on the GPU, where the
// particle stage (particles.wgsl) keeps them: the counting sort of
// src/physics/precip_field.rs `build_particle_grid`, whose output layout this reproduces:
// `cells[0..=cell_count]` are the cell starts (CSR), the sorted particle indices follow from
// `grid.index_offset`, and every cell lists its particles in ascending index order.
//
// Passes, in order (src/backend/gpu/particles.rs runs them):
//   bin_bounds      the segment boxes' bounds (starting from the field box), read back so that
//                   the host lays out the grid with precip_field::grid_layout;
//   bin_count       each particle's cell range, counted per cell;
//   scan_blocks, scan_sums, scan_add
//                   exclusive prefix sum of the counts into cells[0..=cell_count];
//   bin_scatter     each particle's index into every cell of its range (any order);
//   bin_sort        each cell's indices in ascending order (so the layout does not depend on
//                   the order in which the scatter's atomics ran).
//
// Needs shared/particle.wgsl and shared/types.wgsl (ParticleGrid) and the shared constants.

@group(0) @binding(0) var<uniform> grid: ParticleGrid;
@group(0) @binding(1) var<storage, read> particles: array<Particle>;
// lo.xyz, hi.xyz as order-preserving u32 keys of the f32 bounds.
@group(0) @binding(2) var<storage, read_write> bounds: array<atomic<u32>, 6>;
@group(0) @binding(3) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> cells: array<u32>;
@group(0) @binding(5) var<storage, read_write> block_sums: array<u32>;

const BIN_WORKGROUP: u32 = 256u;
// Elements per scan block: 4 per thread.
const SCAN_BLOCK: u32 = 1024u;

fn flat_index(gid: vec3<u32>, num_workgroups: vec3<u32>) -> u32 {
    return gid.x + gid.y * num_workgroups.x * BIN_WORKGROUP;
}

fn cell_count() -> u32 {
    return grid.dims.x * grid.dims.y * grid.dims.z;
}

// The box of a particle's exposure segments p + (v − u)·τ, τ in ±exposure/2, u in {0, ego},
// grown by the margin (precip_field.rs segment_box).
fn segment_lo_hi(p: Particle) -> array<vec3<f32>, 2> {
    let half_t = 0.5 * grid.exposure_s;
    var lo = p.position_m;
    var hi = p.position_m;
    for (var k = 0u; k < 2u; k = k + 1u) {
        var u = vec3<f32>(0.0);
        if (k == 1u) {
            u = grid.ego_velocity_m_per_s;
        }
        let a = p.position_m + (p.velocity_m_per_s - u) * -half_t;
        let b = p.position_m + (p.velocity_m_per_s - u) * half_t;
        lo = min(lo, min(a, b));
        hi = max(hi, max(a, b));
    }
    let m = vec3<f32>(grid.margin_m);
    return array<vec3<f32>, 2>(lo - m, hi + m);
}

// f32 -> u32 key with the same order (negative values reversed below the positive ones).
fn order_key(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b & 0x80000000u) != 0u) {
        return ~b;
    }
    return b | 0x80000000u;
}

var<workgroup> wg_lo: array<vec3<f32>, 256>;
var<workgroup> wg_hi: array<vec3<f32>, 256>;

@compute @workgroup_size(256)
fn bin_bounds(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
) {
    let i = flat_index(gid, num_workgroups);
    // The field box is where the reduction starts (so a thread past the end adds nothing).
    var lo = grid.field_min_m;
    var hi = grid.field_max_m;
    if (i < grid.particle_count) {
        let s = segment_lo_hi(particles[i]);
        lo = min(lo, s[0]);
        hi = max(hi, s[1]);
    }
    wg_lo[lid] = lo;
    wg_hi[lid] = hi;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            wg_lo[lid] = min(wg_lo[lid], wg_lo[lid + stride]);
            wg_hi[lid] = max(wg_hi[lid], wg_hi[lid + stride]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let l = wg_lo[0];
        let h = wg_hi[0];
        atomicMin(&bounds[0], order_key(l.x));
        atomicMin(&bounds[1], order_key(l.y));
        atomicMin(&bounds[2], order_key(l.z));
        atomicMax(&bounds[3], order_key(h.x));
        atomicMax(&bounds[4], order_key(h.y));
        atomicMax(&bounds[5], order_key(h.z));
    }
}

// The cell holding q (clamped into the grid), as precip_field.rs cell_of.
fn cell_of(q: vec3<f32>) -> vec3<u32> {
    let r = max((q - grid.origin_m) / grid.cell_m, vec3<f32>(0.0));
    return min(vec3<u32>(r), grid.dims - vec3<u32>(1u));
}

fn cell_index(x: u32, y: u32, z: u32) -> u32 {
    return (z * grid.dims.y + y) * grid.dims.x + x;
}

@compute @workgroup_size(256)
fn bin_count(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
) {
    let i = flat_index(gid, num_workgroups);
    if (i >= grid.particle_count) {
        return;
    }
    let s = segment_lo_hi(particles[i]);
    let a = cell_of(s[0]);
    let b = cell_of(s[1]);
    for (var z = a.z; z <= b.z; z = z + 1u) {
        for (var y = a.y; y <= b.y; y = y + 1u) {
            for (var x = a.x; x <= b.x; x = x + 1u) {
                atomicAdd(&counts[cell_index(x, y, z)], 1u);
            }
        }
    }
}

var<workgroup> wg_sum: array<u32, 256>;

// Exclusive scan of the 256 values in wg_sum (Hillis–Steele); returns this thread's prefix
// and leaves the workgroup total in wg_sum[255] + the last value.
fn workgroup_exclusive_scan(lid: u32, value: u32) -> u32 {
    wg_sum[lid] = value;
    workgroupBarrier();
    for (var offset = 1u; offset < 256u; offset = offset * 2u) {
        var add = 0u;
        if (lid >= offset) {
            add = wg_sum[lid - offset];
        }
        workgroupBarrier();
        wg_sum[lid] = wg_sum[lid] + add;
        workgroupBarrier();
    }
    // wg_sum now holds inclusive prefixes.
    return wg_sum[lid] - value;
}

// Per block of SCAN_BLOCK counts: the exclusive prefix within the block into cells, and the
// block's total into block_sums.
@compute @workgroup_size(256)
fn scan_blocks(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
) {
    let block = wid.x + wid.y * num_workgroups.x;
    let n = cell_count();
    if (block * SCAN_BLOCK >= n) {
        return;
    }
    let first = block * SCAN_BLOCK + 4u * lid;
    var v = array<u32, 4>(0u, 0u, 0u, 0u);
    for (var k = 0u; k < 4u; k = k + 1u) {
        if (first + k < n) {
            v[k] = atomicLoad(&counts[first + k]);
        }
    }
    let own = v[0] + v[1] + v[2] + v[3];
    var prefix = workgroup_exclusive_scan(lid, own);
    for (var k = 0u; k < 4u; k = k + 1u) {
        if (first + k < n) {
            cells[first + k] = prefix;
        }
        prefix = prefix + v[k];
    }
    if (lid == 255u) {
        block_sums[block] = prefix;
    }
}

// One workgroup: the exclusive prefix of the block totals, in chunks of 256 with a carry; the
// grand total goes to cells[cell_count].
@compute @workgroup_size(256)
fn scan_sums(@builtin(local_invocation_index) lid: u32) {
    let blocks = (cell_count() + SCAN_BLOCK - 1u) / SCAN_BLOCK;
    var carry = 0u;
    for (var start = 0u; start < blocks; start = start + 256u) {
        var own = 0u;
        if (start + lid < blocks) {
            own = block_sums[start + lid];
        }
        let prefix = workgroup_exclusive_scan(lid, own);
        let total = wg_sum[255];
        if (start + lid < blocks) {
            block_sums[start + lid] = carry + prefix;
        }
        carry = carry + total;
        workgroupBarrier();
    }
    if (lid == 0u) {
        cells[cell_count()] = carry;
    }
}

@compute @workgroup_size(256)
fn scan_add(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
) {
    let c = flat_index(gid, num_workgroups);
    if (c >= cell_count()) {
        return;
    }
    cells[c] = cells[c] + block_sums[c / SCAN_BLOCK];
}

// counts must be zero again (the host clears them) before this pass: they become each cell's
// next free slot.
@compute @workgroup_size(256)
fn bin_scatter(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
) {
    let i = flat_index(gid, num_workgroups);
    if (i >= grid.particle_count) {
        return;
    }
    let s = segment_lo_hi(particles[i]);
    let a = cell_of(s[0]);
    let b = cell_of(s[1]);
    for (var z = a.z; z <= b.z; z = z + 1u) {
        for (var y = a.y; y <= b.y; y = y + 1u) {
            for (var x = a.x; x <= b.x; x = x + 1u) {
                let c = cell_index(x, y, z);
                let slot = atomicAdd(&counts[c], 1u);
                cells[grid.index_offset + cells[c] + slot] = i;
            }
        }
    }
}

@compute @workgroup_size(256)
fn bin_sort(
    @builtin(global_invocation_id) gid: vec3<u32>,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
) {
    let c = flat_index(gid, num_workgroups);
    if (c >= cell_count()) {
        return;
    }
    let lo = grid.index_offset + cells[c];
    let hi = grid.index_offset + cells[c + 1u];
    // Insertion sort: a cell holds a few particles.
    for (var j = lo + 1u; j < hi; j = j + 1u) {
        let v = cells[j];
        var k = j;
        while (k > lo && cells[k - 1u] > v) {
            cells[k] = cells[k - 1u];
            k = k - 1u;
        }
        cells[k] = v;
    }
}
