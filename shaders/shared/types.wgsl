// Structs shared with Rust: mirrors src/abi/mod.rs (a test compares every field offset).


// A 4-wide BVH node (see BvhNode in src/abi/mod.rs): slot k is an inner child (node
// child[k]) when count[k] == 0, a leaf of items child[k]..child[k]+count[k] when
// 1 <= count[k] <= MAX_LEAF, and empty when count[k] == EMPTY_SLOT.

struct BvhNode {
    min_x: vec4<f32>,
    max_x: vec4<f32>,
    min_y: vec4<f32>,
    max_y: vec4<f32>,
    min_z: vec4<f32>,
    max_z: vec4<f32>,
    child: vec4<u32>,
    count: vec4<u32>,
}

struct Triangle {
    v0: vec3<f32>,
    material: u32,
    e1: vec3<f32>,
    class_id: u32,
    e2: vec3<f32>,
    pad: u32,
}

struct Instance {
    object_from_world: mat3x4<f32>,
    world_from_object: mat3x4<f32>,
    blas_root: u32,
    instance_id: u32,
    pad0: u32,
    pad1: u32,
    velocity_m_per_s: vec3<f32>,
    yaw_rate_rad_per_s: f32,
}

struct Material {
    albedo: vec3<f32>,
    reflectivity: f32,
    emissive: vec3<f32>,
    roughness: f32,
    lidar_a: f32,
    lidar_b: f32,
    clearcoat_inv_m2: f32,
    lidar_transmittance: f32,
}

struct LidarParams {
    world_from_lidar: mat3x4<f32>,
    world_from_lidar_end: mat3x4<f32>,
    channels: u32,
    columns: u32,
    min_range_m: f32,
    max_range_m: f32,
    azimuth_start_rad: f32,
    azimuth_step_rad: f32,
    extinction_per_m: f32,
    falloff_range_m: f32,
    tlas_root: u32,
    seed: u32,
    frame: u32,
    return_mode: u32,
    min_power_per_m2: f32,
    noise_stddev_m: f32,
    overlap_start_m: f32,
    overlap_full_m: f32,
    fog_backscatter_per_m_sr: f32,
    pulse_length_m: f32,
    beam_divergence_rad: f32,
    beam_aperture_m: f32,
    rain_n0_per_m3_mm: f32,
    rain_lambda_per_mm: f32,
    snow_n0_per_m3_mm: f32,
    snow_lambda_per_mm: f32,
    precip_max_range_m: f32,
    wetness: f32,
    dropoff_general_rate: f32,
    dropoff_intensity_limit: f32,
    dropoff_zero_intensity: f32,
    snow_cover: f32,
    intensity_scale: f32,
    sweep_s: f32,
    pad2: u32,
    pad3: u32,
    pad4: u32,
    pad5: u32,
}


struct LidarHit {
    x: f32,
    y: f32,
    z: f32,
    intensity: f32,
    label: u32,
}

struct CameraParams {
    world_from_camera: mat3x4<f32>,
    fx: f32,
    fy: f32,
    cx: f32,
    cy: f32,
    width: u32,
    height: u32,
    tlas_root: u32,
    seed: u32,
    sun_dir: vec3<f32>,
    exposure: f32,
    sun_irradiance: vec3<f32>,
    fog_sigma_per_m: f32,
    sky_zenith: vec3<f32>,
    max_depth_m: f32,
    sky_horizon: vec3<f32>,
    frame: u32,
    k1: f32,
    k2: f32,
    p1: f32,
    p2: f32,
    spp: u32,
    light_count: u32,
    electrons_at_unit: f32,
    read_noise_e: f32,
    vignetting: f32,
    shutter_s: f32,
    cloud_cover: f32,
    sun_cone_rad: f32,
    velocity_m_per_s: vec3<f32>,
    wetness: f32,
    rain_density_per_m3: f32,
    rain_lambda_per_mm: f32,
    snow_density_per_m3: f32,
    snow_lambda_per_mm: f32,
    wind_m_per_s: vec3<f32>,
    snow_depth_m: f32,
    lamp_scale: f32,
    ao_radius_m: f32,
    puddle_count: u32,
    pad: u32,
    puddles: array<vec4<f32>, 8>,
    blur_shutter_s: f32,
    psf_sigma_px: f32,
    response: u32,
    light_grid_cells: u32,
}

struct Light {
    position: vec3<f32>,
    radius_m: f32,
    direction: vec3<f32>,
    cos_outer: f32,
    intensity: vec3<f32>,
    cos_inner: f32,
}

struct PixelOut {
    rgba: u32,
    depth_m: f32,
    label: u32,
}

// Row-major 3x4 affine transform applied to a point / a direction.
fn xform_point(m: mat3x4<f32>, p: vec3<f32>) -> vec3<f32> {
    let q = vec4<f32>(p, 1.0);
    return vec3<f32>(dot(m[0], q), dot(m[1], q), dot(m[2], q));
}

fn xform_dir(m: mat3x4<f32>, d: vec3<f32>) -> vec3<f32> {
    let q = vec4<f32>(d, 0.0);
    return vec3<f32>(dot(m[0], q), dot(m[1], q), dot(m[2], q));
}

// ParticleGrid in src/abi/mod.rs (96 bytes).
struct ParticleGrid {
    origin_m: vec3<f32>,
    cell_m: f32,
    dims: vec3<u32>,
    particle_count: u32,
    field_min_m: vec3<f32>,
    min_diameter_mm: f32,
    field_max_m: vec3<f32>,
    exposure_s: f32,
    ego_velocity_m_per_s: vec3<f32>,
    margin_m: f32,
    index_offset: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}
