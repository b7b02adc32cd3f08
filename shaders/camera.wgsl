// Camera: one pinhole ray per pixel; sun + sky + hard shadows + albedo, Koschmieder fog,
// exposure, tone curve and sRGB; depth and labels from the same ray.
// CPU twin: src/cpu/camera.rs. Needs shared/types.wgsl, shared/rng.wgsl, shared/bvh.wgsl.

@group(1) @binding(0) var<uniform> cp: CameraParams;
@group(1) @binding(1) var<storage, read_write> pixels: array<PixelOut>;

const PI: f32 = 3.14159265;
const CLASS_SKY: u32 = 13u;

fn sky_radiance(d: vec3<f32>) -> vec3<f32> {
    let up = clamp(d.z, 0.0, 1.0);
    var c = mix(cp.sky_horizon, cp.sky_zenith, sqrt(up));
    let cos_sun = dot(d, cp.sun_dir);
    c += cp.sun_irradiance * (0.02 * pow(max(cos_sun, 0.0), 8.0));
    if cos_sun > 0.99996 {
        c += cp.sun_irradiance * 20.0;
    }
    return c;
}

fn srgb_encode(c: f32) -> f32 {
    if c <= 0.0031308 {
        return 12.92 * c;
    }
    return 1.055 * pow(c, 1.0 / 2.4) - 0.055;
}

fn to_u8(c: f32) -> u32 {
    return u32(round(clamp(srgb_encode(clamp(c, 0.0, 1.0)), 0.0, 1.0) * 255.0));
}

@compute @workgroup_size(8, 8)
fn camera_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= cp.width || gid.y >= cp.height {
        return;
    }
    let px = gid.y * cp.width + gid.x;
    let dc = vec3<f32>((f32(gid.x) + 0.5 - cp.cx) / cp.fx, (f32(gid.y) + 0.5 - cp.cy) / cp.fy, 1.0);
    let o = xform_point(cp.world_from_camera, vec3<f32>(0.0, 0.0, 0.0));
    let d = normalize(xform_dir(cp.world_from_camera, dc));
    let h = trace(o, d, cp.max_depth_m, false, cp.tlas_root);
    var radiance: vec3<f32>;
    var out: PixelOut;
    if h.tri == NO_RETURN {
        radiance = sky_radiance(d);
        out.depth_m = 0.0;
        out.label = CLASS_SKY;
    } else {
        let tri = triangles[h.tri];
        let mat = materials[tri.material];
        let n = hit_normal(h, d);
        let p = o + d * h.t;
        var direct = vec3<f32>(0.0, 0.0, 0.0);
        let ndl = dot(n, cp.sun_dir);
        if ndl > 0.0 && cp.sun_irradiance.y > 0.0 {
            let shadow_o = p + n * (0.002 + 1.0e-5 * h.t);
            let s = trace(shadow_o, cp.sun_dir, 1.0e4, true, cp.tlas_root);
            if s.tri == NO_RETURN {
                direct = cp.sun_irradiance * ndl;
            }
        }
        let sky_irr = PI * 0.5 * (cp.sky_horizon + cp.sky_zenith) * (0.6 + 0.4 * n.z);
        radiance = mat.albedo / PI * (direct + sky_irr) + mat.emissive;
        out.depth_m = h.t / length(dc);
        out.label = (tri.class_id & 0xffffu) | (instances[h.inst].instance_id << 16u);
        let transmittance = exp(-cp.fog_sigma_per_m * h.t);
        radiance = radiance * transmittance + cp.sky_horizon * (1.0 - transmittance);
    }
    let x = radiance * cp.exposure;
    let mapped = vec3<f32>(1.0) - exp(-x);
    out.rgba = to_u8(mapped.x) | (to_u8(mapped.y) << 8u) | (to_u8(mapped.z) << 16u);
    pixels[px] = out;
}
