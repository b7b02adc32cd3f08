// Lidar sweep: one ray per (beam, column); writes one LidarHit slot per ray.
// CPU twin: src/cpu/lidar.rs. Needs shared/types.wgsl, shared/rng.wgsl, shared/bvh.wgsl.

@group(1) @binding(0) var<uniform> lp: LidarParams;
@group(1) @binding(1) var<storage, read> beams: array<vec2<f32>>;
@group(1) @binding(2) var<storage, read> columns: array<vec2<f32>>;
@group(1) @binding(3) var<storage, read_write> hits: array<LidarHit>;

// Slot layout: column-major, slot = column * channels + beam.
@compute @workgroup_size(64)
fn lidar_main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    // Large sweeps are dispatched as a 2D grid of workgroups.
    let slot = gid.x + gid.y * groups.x * 64u;
    if slot >= lp.channels * lp.columns {
        return;
    }
    let col = slot / lp.channels;
    let beam = slot % lp.channels;
    let b = beams[beam];
    let c = columns[col];
    let dir_l = vec3<f32>(b.x * c.x, b.x * c.y, b.y);
    let o = xform_point(lp.world_from_lidar, vec3<f32>(0.0, 0.0, 0.0));
    let d = normalize(xform_dir(lp.world_from_lidar, dir_l));
    let h = trace(o, d, lp.max_range_m, false, lp.tlas_root);
    var out: LidarHit;
    out.x = 0.0;
    out.y = 0.0;
    out.z = 0.0;
    out.intensity = 0.0;
    out.label = NO_RETURN;
    if h.tri != NO_RETURN && h.t >= lp.min_range_m {
        let r = h.t;
        let n = hit_normal(h, d);
        let cos_inc = clamp(-dot(n, d), 0.0, 1.0);
        let tri = triangles[h.tri];
        let refl = materials[tri.material].reflectivity;
        let q = r / lp.falloff_range_m;
        let falloff = 1.0 / (1.0 + q * q);
        let atten = exp(-2.0 * lp.extinction_per_m * r);
        out.x = dir_l.x * r;
        out.y = dir_l.y * r;
        out.z = dir_l.z * r;
        out.intensity = clamp(refl * cos_inc * falloff * atten, 0.0, 1.0);
        out.label = (tri.class_id & 0xffffu) | (instances[h.inst].instance_id << 16u);
    }
    hits[slot] = out;
}
