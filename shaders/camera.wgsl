// Camera: physically based shading of one pixel with `spp` stratified samples.
//  - rays through a Brown–Conrady lens (k1, k2, p1, p2), depth and labels from the centre ray;
//  - sun through a cone that widens with cloud cover (soft shadows), analytic sky, one bounce
//    (ambient occlusion ray that picks up the light of the surface it hits), lamps (street,
//    head- and tail-lights) with shadow rays, Blinn–Phong highlights, Fresnel reflections of
//    the traced scene and the sky on smooth or wet surfaces;
//  - procedural albedo variation (asphalt, paint wear, slabs, grass, facades with windows),
//    wetness and puddles, snow cover by accumulated depth;
//  - Koschmieder fog L = L0·T + A·(1 − T), T = exp(−σd), glow of lamps in fog;
//  - falling rain / snow: the large particles near the rig from the explicit particle field
//    (streaks of their motion over the shutter, shared/particle_grid.wgsl), the rest sampled
//    in depth slices around the camera;
//  - exposure, cos⁴ vignetting (camera_main, into `exposed`); then a second entry point,
//    camera_sensor: Gaussian point-spread function (lens + demosaic), shot + read noise
//    (counter RNG), full-scale clip, sRGB or linear 8-bit response.
// CPU twin: src/backend/cpu/camera.rs (loop for loop alike). Needs shared/types.wgsl, shared/rng.wgsl,
// shared/bvh.wgsl, shared/particle_grid.wgsl.

@group(1) @binding(0) var<uniform> cp: CameraParams;
@group(1) @binding(1) var<storage, read_write> pixels: array<PixelOut>;
@group(1) @binding(2) var<storage, read> lights: array<Light>;
// Exposed linear RGB per pixel (camera_main writes it, camera_sensor reads it).
@group(1) @binding(3) var<storage, read_write> exposed: array<vec4<f32>>;
// Lamp grid over the ground plane (sensors::camera_model::LightGrid): header, offsets, indices.
@group(1) @binding(4) var<storage, read> light_grid: array<u32>;

const PI: f32 = 3.14159265;

// Random streams (rng.wgsl): one per kind of decision.
// Exposed irradiance below which a lamp is dropped (camera_model::LAMP_CUTOFF).

fn luminance(c: vec3<f32>) -> f32 {
    return 0.2126 * c.x + 0.7152 * c.y + 0.0722 * c.z;
}

fn lerp3(a: vec3<f32>, b: vec3<f32>, t: f32) -> vec3<f32> {
    return a * (1.0 - t) + b * t;
}

fn lerp1(a: f32, b: f32, t: f32) -> f32 {
    return a * (1.0 - t) + b * t;
}

fn smooth01(e0: f32, e1: f32, x: f32) -> f32 {
    let t = clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

fn sky_radiance(d: vec3<f32>) -> vec3<f32> {
    let up = clamp(d.z, 0.0, 1.0);
    var c = lerp3(cp.sky_horizon, cp.sky_zenith, sqrt(up));
    let cos_sun = dot(d, cp.sun_dir);
    c += cp.sun_irradiance * (0.02 * pow(max(cos_sun, 0.0), 8.0));
    if cos_sun > 0.99996 {
        c += cp.sun_irradiance * (20.0 * (1.0 - cp.cloud_cover));
    }
    return c;
}

// Sky irradiance on a surface with normal n (open sky, no occlusion).
fn sky_irradiance(n: vec3<f32>) -> vec3<f32> {
    return (cp.sky_horizon + cp.sky_zenith) * (PI * 0.5 * (0.6 + 0.4 * n.z));
}

// Ray direction in the optical frame (z = 1) through pixel position (px, py): undistorts the
// Brown–Conrady model by fixed-point iteration (as OpenCV's undistortPoints).
fn camera_dir(px: f32, py: f32) -> vec3<f32> {
    let xd = (px - cp.cx) / cp.fx;
    let yd = (py - cp.cy) / cp.fy;
    var x = xd;
    var y = yd;
    if cp.k1 != 0.0 || cp.k2 != 0.0 || cp.p1 != 0.0 || cp.p2 != 0.0 {
        for (var i = 0u; i < 20u; i += 1u) {
            let r2 = x * x + y * y;
            let radial = 1.0 + r2 * (cp.k1 + r2 * cp.k2);
            let dx = 2.0 * cp.p1 * x * y + cp.p2 * (r2 + 2.0 * x * x);
            let dy = cp.p1 * (r2 + 2.0 * y * y) + 2.0 * cp.p2 * x * y;
            x = (xd - dx) / radial;
            y = (yd - dy) / radial;
        }
    }
    return vec3<f32>(x, y, 1.0);
}

// World direction to the optical frame (transpose of the rotation of world_from_camera).
fn camera_from_world_dir(v: vec3<f32>) -> vec3<f32> {
    let m = cp.world_from_camera;
    return vec3<f32>(
        m[0].x * v.x + m[1].x * v.y + m[2].x * v.z,
        m[0].y * v.x + m[1].y * v.y + m[2].y * v.z,
        m[0].z * v.x + m[1].z * v.y + m[2].z * v.z,
    );
}

fn lattice(ix: i32, iy: i32, salt: u32) -> f32 {
    return u01(hash3(bitcast<u32>(ix), bitcast<u32>(iy), salt));
}

fn value_noise(p: vec2<f32>, salt: u32) -> f32 {
    let fl = floor(p);
    let f = p - fl;
    let ix = i32(fl.x);
    let iy = i32(fl.y);
    let ux = f.x * f.x * (3.0 - 2.0 * f.x);
    let uy = f.y * f.y * (3.0 - 2.0 * f.y);
    let a = lattice(ix, iy, salt);
    let b = lattice(ix + 1, iy, salt);
    let c = lattice(ix, iy + 1, salt);
    let d = lattice(ix + 1, iy + 1, salt);
    return lerp1(lerp1(a, b, ux), lerp1(c, d, ux), uy);
}

fn fbm(p: vec2<f32>, salt: u32) -> f32 {
    let a = value_noise(p, salt);
    let b = value_noise(p * 2.03, salt + 1u);
    let c = value_noise(p * 4.01, salt + 2u);
    let d = value_noise(p * 8.05, salt + 3u);
    return (0.5 * a + 0.25 * b + 0.125 * c + 0.0625 * d) / 0.9375;
}

struct Surf {
    albedo: vec3<f32>,
    rough: f32,
    emissive: vec3<f32>,
    f0: f32,
}

// Material of a hit with procedural detail, weather (wetness, puddles, snow) applied.
fn surface(cls: u32, mat: Material, p: vec3<f32>, n: vec3<f32>) -> Surf {
    var s: Surf;
    s.albedo = mat.albedo;
    s.rough = mat.roughness;
    s.emissive = mat.emissive * cp.lamp_scale;
    s.f0 = 0.04;
    let q = p.xy;
    if cls == CLASS_ROAD {
        let patches = fbm(q * 0.15, 11u);
        let grain = value_noise(q * 9.0, 15u);
        s.albedo = s.albedo * (0.65 + 0.6 * patches + 0.3 * (grain - 0.5));
        if value_noise(q * 0.05, 16u) > 0.8 {
            s.albedo = s.albedo * 0.7;
        }
    } else if cls == CLASS_LANE || cls == CLASS_CROSSWALK {
        let wear = fbm(q * 1.3, 21u);
        s.albedo = lerp3(s.albedo, vec3<f32>(0.06, 0.06, 0.065), clamp(1.2 * wear - 0.35, 0.0, 0.8));
    } else if cls == CLASS_SIDEWALK {
        let j = fract(q / 1.5);
        let edge = min(min(j.x, 1.0 - j.x), min(j.y, 1.0 - j.y));
        s.albedo = s.albedo * (0.8 + 0.35 * fbm(q * 0.6, 31u));
        if edge < 0.015 && n.z > 0.5 {
            s.albedo = s.albedo * 0.55;
        }
    } else if cls == CLASS_TERRAIN {
        let g = fbm(q * 0.4, 41u);
        let dirt = value_noise(q * 0.07, 45u);
        s.albedo = lerp3(s.albedo * (0.55 + 0.9 * g), vec3<f32>(0.13, 0.11, 0.08), smooth01(0.6, 0.8, dirt));
    } else if cls == CLASS_VEGETATION {
        s.albedo = s.albedo * (0.45 + 1.1 * value_noise(vec2<f32>(p.x + 1.3 * p.z, p.y - 0.7 * p.z) * 2.5, 51u));
    } else if cls == CLASS_BUILDING && abs(n.z) < 0.3 {
        let u = dot(q, vec2<f32>(-n.y, n.x));
        let cu = u / 3.0;
        let cv = p.z / 3.2;
        let fu = fract(cu);
        let fv = fract(cv);
        s.albedo = s.albedo * (0.8 + 0.4 * value_noise(vec2<f32>(u, p.z) * 0.5, 61u));
        if fu > 0.22 && fu < 0.78 && fv > 0.3 && fv < 0.82 && p.z > 1.0 {
            s.albedo = vec3<f32>(0.035, 0.04, 0.045);
            s.rough = 0.05;
            let wall = i32(floor(dot(q, n.xy) * 0.5));
            let h = u01(hash3(bitcast<u32>(i32(floor(cu))), bitcast<u32>(i32(floor(cv))), 67u ^ bitcast<u32>(wall)));
            if h < 0.35 {
                // A lit window: ~30 cd/m² of warm light.
                s.emissive = s.emissive + vec3<f32>(1.0, 0.8, 0.55) * (3.0e-4 * cp.lamp_scale * (0.5 + h));
            }
        }
    }
    var cover = 0.0;
    if cp.snow_depth_m > 0.0 && n.z > 0.6 {
        var depth = cp.snow_depth_m * (0.5 + fbm(q * 0.5, 71u));
        if cls == CLASS_ROAD || cls == CLASS_LANE || cls == CLASS_CROSSWALK {
            depth = depth * 0.35; // traffic packs and clears the carriageway
        }
        cover = smooth01(0.0, 0.06, depth);
        s.albedo = lerp3(s.albedo, vec3<f32>(0.82, 0.85, 0.9), cover);
        s.rough = lerp1(s.rough, 0.9, cover);
    }
    if n.z > 0.6 {
        var wet = cp.wetness;
        for (var i = 0u; i < cp.puddle_count; i += 1u) {
            let pd = cp.puddles[i];
            let r = length(q - pd.xy);
            if r < pd.z * (0.8 + 0.4 * value_noise(q * 1.5, 81u)) {
                wet = 2.0;
            }
        }
        wet = wet * (1.0 - cover);
        if wet > 0.0 {
            let w = min(wet, 1.0);
            s.albedo = s.albedo * (1.0 - 0.5 * w);
            s.rough = lerp1(s.rough, 0.12, w);
            if wet > 1.5 {
                s.rough = 0.02;
                s.f0 = 0.02;
                s.albedo = s.albedo * 0.6;
            }
        }
    }
    return s;
}

// A direction in a cone of half-angle `angle` around unit `axis`.
fn cone_dir(axis: vec3<f32>, angle: f32, u1: f32, u2: f32) -> vec3<f32> {
    var helper = vec3<f32>(1.0, 0.0, 0.0);
    if abs(axis.z) < 0.9 {
        helper = vec3<f32>(0.0, 0.0, 1.0);
    }
    let t = normalize(cross(axis, helper));
    let b = cross(axis, t);
    let r = angle * sqrt(u1);
    let phi = 2.0 * PI * u2;
    return normalize(axis + t * (r * cos(phi)) + b * (r * sin(phi)));
}

// A cosine-weighted direction about unit normal n.
fn cosine_dir(n: vec3<f32>, u1: f32, u2: f32) -> vec3<f32> {
    var helper = vec3<f32>(1.0, 0.0, 0.0);
    if abs(n.z) < 0.9 {
        helper = vec3<f32>(0.0, 0.0, 1.0);
    }
    let t = normalize(cross(n, helper));
    let b = cross(n, t);
    let r = sqrt(u1);
    let phi = 2.0 * PI * u2;
    return normalize(t * (r * cos(phi)) + b * (r * sin(phi)) + n * sqrt(max(1.0 - u1, 0.0)));
}

// Normalised Blinn–Phong lobe for light direction l seen along d.
fn blinn(n: vec3<f32>, l: vec3<f32>, d: vec3<f32>, shin: f32) -> f32 {
    let h = normalize(l - d);
    return (shin + 8.0) / (8.0 * PI) * pow(max(dot(n, h), 0.0), shin);
}

fn cone_factor(lt: Light, to_receiver: vec3<f32>) -> f32 {
    return smooth01(lt.cos_outer, lt.cos_inner, dot(to_receiver, lt.direction));
}

// Radiance of lamp discs along a ray before t_max, with fog attenuation, plus the glow of
// single scattering around each lamp in fog: σ·I/(4π)·∫ds/r(s)², closed form with atan.
fn lamps_along(o: vec3<f32>, d: vec3<f32>, t_max: f32) -> vec3<f32> {
    var sum = vec3<f32>(0.0, 0.0, 0.0);
    let sigma = cp.fog_sigma_per_m;
    for (var i = 0u; i < cp.light_count; i += 1u) {
        let lt = lights[i];
        let oc = o - lt.position;
        let b = dot(oc, d);
        let c = dot(oc, oc) - lt.radius_m * lt.radius_m;
        let disc = b * b - c;
        if disc > 0.0 {
            let t = -b - sqrt(disc);
            if t > 0.0 && t < t_max {
                let cone = cone_factor(lt, -d);
                let area = PI * lt.radius_m * lt.radius_m;
                sum += lt.intensity * (cone / area * exp(-sigma * t));
            }
        }
        if sigma > 0.0 {
            let s0 = -b; // closest approach along the ray
            let h = sqrt(max(dot(oc, oc) - b * b, lt.radius_m * lt.radius_m));
            let span = (atan((t_max - s0) / h) - atan(-s0 / h)) / h;
            let at = o + d * max(s0, 0.0);
            let cone = cone_factor(lt, normalize(at - lt.position));
            sum += lt.intensity * (sigma * cone * span / (4.0 * PI) * exp(-sigma * max(s0, 0.0)));
        }
    }
    return sum;
}

// Slots [x, y) of the lamps to try at p: every lamp without a grid, else the lamps whose
// sphere of influence reaches p's grid cell (none outside the grid). With `lamp_index`.
fn lamp_range(p: vec3<f32>) -> vec2<u32> {
    if cp.light_grid_cells == 0u {
        return vec2<u32>(0u, cp.light_count);
    }
    let nx = light_grid[0];
    let ny = light_grid[1];
    let inv = bitcast<f32>(light_grid[4]);
    let gx = floor((p.x - bitcast<f32>(light_grid[2])) * inv);
    let gy = floor((p.y - bitcast<f32>(light_grid[3])) * inv);
    if gx < 0.0 || gy < 0.0 || gx >= f32(nx) || gy >= f32(ny) {
        return vec2<u32>(0u, 0u);
    }
    let c = LIGHT_GRID_HEADER + u32(gy) * nx + u32(gx);
    return vec2<u32>(light_grid[c], light_grid[c + 1u]);
}

fn lamp_index(k: u32) -> u32 {
    if cp.light_grid_cells == 0u {
        return k;
    }
    return light_grid[k];
}

// Irradiance at p (normal n) from the lamps, without shadows (for particles and bounces);
// lamps under LAMP_CUTOFF after exposure are dropped, as in shade().
fn lamp_irradiance(p: vec3<f32>, n: vec3<f32>, two_sided: bool) -> vec3<f32> {
    var e = vec3<f32>(0.0, 0.0, 0.0);
    let lr = lamp_range(p);
    for (var k = lr.x; k < lr.y; k += 1u) {
        let lt = lights[lamp_index(k)];
        let lv = lt.position - p;
        let d2 = max(dot(lv, lv), 0.01);
        let l = lv / sqrt(d2);
        var ndl = dot(n, l);
        if two_sided {
            ndl = 1.0;
        }
        if ndl > 0.0 {
            let el = lt.intensity * (cone_factor(lt, -l) * ndl / d2);
            if luminance(el) * cp.exposure >= LAMP_CUTOFF {
                e += el;
            }
        }
    }
    return e;
}

// Cheap radiance of a surface seen in a reflection: base albedo under open sky and sun.
fn quick_shade(h: Hit, d: vec3<f32>) -> vec3<f32> {
    let tri = triangles[h.tri];
    let mat = materials[tri.material];
    let n = hit_normal(h, d);
    var e = sky_irradiance(n);
    let ndl = dot(n, cp.sun_dir);
    if ndl > 0.0 {
        e += cp.sun_irradiance * ndl;
    }
    return mat.albedo / PI * e + mat.emissive * cp.lamp_scale;
}

// Outgoing radiance towards -d at hit h (before fog).
fn shade(o: vec3<f32>, d: vec3<f32>, h: Hit, px: u32, s: u32) -> vec3<f32> {
    let tri = triangles[h.tri];
    let mat = materials[tri.material];
    let n = hit_normal(h, d);
    let p = o + d * h.t;
    let cls = tri.class_id & 0xffffu;
    let sf = surface(cls, mat, p, n);
    let base = p + n * (0.002 + 1.0e-5 * h.t);
    let dr = s * 16u;
    let r4 = max(sf.rough * sf.rough * sf.rough * sf.rough, 1.0e-4);
    let shin = clamp(2.0 / r4 - 2.0, 1.0, 4000.0);
    let cos_v = max(dot(n, -d), 0.0);
    // Schlick's Fresnel with Lagarde's roughness term (rough surfaces lose the grazing sheen).
    let fres = sf.f0 + (max(1.0 - sf.rough, sf.f0) - sf.f0) * pow(1.0 - cos_v, 5.0);
    var irr = vec3<f32>(0.0, 0.0, 0.0);
    var spec = vec3<f32>(0.0, 0.0, 0.0);

    // Sun through a cone that widens with cloud cover.
    if cp.sun_irradiance.y > 0.0 && dot(n, cp.sun_dir) > 0.0 {
        let sd = cone_dir(cp.sun_dir, cp.sun_cone_rad, rand(cp.seed, S_SUN, px, dr), rand(cp.seed, S_SUN, px, dr + 1u));
        let ndl = dot(n, sd);
        if ndl > 0.0 {
            let sh = trace_at(base, sd, 1.0e4, true, cp.tlas_root, h.time_s);
            if sh.tri == NO_RETURN {
                irr += cp.sun_irradiance * ndl;
                spec += cp.sun_irradiance * (ndl * blinn(n, sd, d, shin));
            }
        }
    }

    // Sky and one bounce: a cosine-weighted ray; open sky within ao_radius gives the analytic
    // sky irradiance, a surface gives π times its radiance (E = πL for a cosine-weighted pick).
    let hd = cosine_dir(n, rand(cp.seed, S_AO, px, dr), rand(cp.seed, S_AO, px, dr + 1u));
    let ah = trace_at(base, hd, cp.ao_radius_m, false, cp.tlas_root, h.time_s);
    if ah.tri == NO_RETURN {
        irr += sky_irradiance(n);
    } else {
        let t2 = triangles[ah.tri];
        let m2 = materials[t2.material];
        let n2 = hit_normal(ah, hd);
        let p2 = base + hd * ah.t + n2 * 0.002;
        var e2 = sky_irradiance(n2) * 0.5 + lamp_irradiance(p2, n2, false);
        let ndl2 = dot(n2, cp.sun_dir);
        if cp.sun_irradiance.y > 0.0 && ndl2 > 0.0 {
            let sh2 = trace_at(p2, cp.sun_dir, 1.0e4, true, cp.tlas_root, h.time_s);
            if sh2.tri == NO_RETURN {
                e2 += cp.sun_irradiance * ndl2;
            }
        }
        // Half-strength occlusion keeps one sample per pixel from speckling.
        irr += sky_irradiance(n) * 0.5 + (m2.albedo * e2 + m2.emissive * (cp.lamp_scale * PI)) * 0.5;
    }

    // Lamps, with shadow rays for those that matter after exposure (the grid lists only lamps
    // that can reach LAMP_CUTOFF here).
    let lr = lamp_range(base);
    for (var k = lr.x; k < lr.y; k += 1u) {
        let lt = lights[lamp_index(k)];
        let lv = lt.position - base;
        let d2 = max(dot(lv, lv), 0.01);
        let dist = sqrt(d2);
        let l = lv / dist;
        let ndl = dot(n, l);
        if ndl <= 0.0 {
            continue;
        }
        let cone = cone_factor(lt, -l);
        if cone <= 0.0 {
            continue;
        }
        let e = lt.intensity * (cone * ndl / d2);
        if luminance(e) * cp.exposure < LAMP_CUTOFF {
            continue;
        }
        let sh = trace_at(base, l, dist - lt.radius_m, true, cp.tlas_root, h.time_s);
        if sh.tri != NO_RETURN {
            continue;
        }
        irr += e;
        spec += e * blinn(n, l, d, shin);
    }

    // Mirror-like reflection (glossy by roughness) on smooth or wet surfaces; rough ones
    // reflect the sky on average.
    var env = sky_irradiance(n) / PI;
    if sf.rough < 0.45 {
        let g = sf.rough * sf.rough;
        let j = vec3<f32>(
            rand(cp.seed, S_SPEC, px, dr) - 0.5,
            rand(cp.seed, S_SPEC, px, dr + 1u) - 0.5,
            rand(cp.seed, S_SPEC, px, dr + 2u) - 0.5,
        );
        var r = normalize(reflect(d, n) + j * (2.0 * g));
        if dot(r, n) < 0.0 {
            r = reflect(r, n);
        }
        let rh = trace_at(base, r, 300.0, false, cp.tlas_root, h.time_s);
        var lr: vec3<f32>;
        var t_r = 300.0;
        if rh.tri == NO_RETURN {
            lr = sky_radiance(r);
        } else {
            t_r = rh.t;
            lr = quick_shade(rh, r);
        }
        let tr = exp(-cp.fog_sigma_per_m * t_r);
        env = lr * tr + cp.sky_horizon * (1.0 - tr) + lamps_along(base, r, t_r);
    }
    return sf.albedo / PI * irr * (1.0 - fres) + (spec + env) * fres + sf.emissive;
}

fn u01h(h: u32, k: u32) -> f32 {
    return u01(pcg_hash(h ^ pcg_hash(k)));
}

// Radiance of a drop (kind 0) or flake (kind 1) at pw and its opacity from its coverage
// `alpha`: a drop refracts the environment towards the camera (sky and lamps, dimmed); a flake
// scatters sky, sun and lamps. Returns (radiance, opacity).
fn particle_light(kind: u32, alpha: f32, pw: vec3<f32>) -> vec4<f32> {
    let up = vec3<f32>(0.0, 0.0, 1.0);
    if kind == 0u {
        return vec4<f32>((cp.sky_horizon + cp.sky_zenith) * 0.45 + lamp_irradiance(pw, up, true) * (0.1 / PI), min(alpha * 0.6, 1.0));
    }
    return vec4<f32>(0.85 / PI * (sky_irradiance(up) + cp.sun_irradiance * 0.5 + lamp_irradiance(pw, up, true)), min(alpha, 1.0));
}

// Falling particles of one kind (0 rain, 1 snow) in depth slices around the camera,
// composited front to back over `background` until t_end. Drops fall at their terminal
// velocity relative to the moving camera; over the shutter each draws a streak whose pixel
// coverage is (diameter / footprint) x (footprint / streak length).
fn precip(kind: u32, density: f32, lambda: f32, o: vec3<f32>, dc: vec3<f32>, t_end: f32, background: vec3<f32>) -> vec3<f32> {
    let dclen = length(dc);
    var z = 0.5;
    var acc = vec3<f32>(0.0, 0.0, 0.0);
    var trans = 1.0;
    let vmax = select(1.6, 9.3, kind == 0u);
    let rel_max = vmax + length(cp.wind_m_per_s) + length(cp.velocity_m_per_s);
    for (var k = 0u; k < PRECIP_SLICES; k += 1u) {
        if z * dclen >= t_end {
            break;
        }
        let dz = z * 0.45;
        let w = z / cp.fx;
        let cell = max(rel_max * cp.shutter_s, 4.0 * w);
        let lam = density * cell * cell * dz;
        let q = dc.xy * z;
        let base_ix = i32(floor(q.x / cell - 0.5));
        let base_iy = i32(floor(q.y / cell - 0.5));
        // Up to 4 drops per cell, each present with probability lam / drops.
        let drops = u32(clamp(ceil(lam), 1.0, 4.0));
        let presence = lam / f32(drops);
        for (var c = 0u; c < 4u * drops; c += 1u) {
            let ix = base_ix + i32(c & 1u);
            let iy = base_iy + i32((c >> 1u) & 1u);
            let h = hash3(bitcast<u32>(ix), bitcast<u32>(iy), cp.seed ^ (k * 2u + kind + 0x9e37u + ((c >> 2u) << 8u)));
            if u01h(h, 1u) >= presence {
                continue;
            }
            let p0 = (vec2<f32>(f32(ix), f32(iy)) + vec2<f32>(u01h(h, 2u), u01h(h, 3u))) * cell;
            var d_mm: f32;
            var v_fall: f32;
            var d_size: f32; // drop diameter, melted diameter for snow
            if kind == 0u {
                let span = 1.0 - exp(-lambda * 5.5);
                d_mm = clamp(0.5 - log(1.0 - u01h(h, 4u) * span) / lambda, 0.5, 6.0);
                v_fall = 9.65 - 10.3 * exp(-0.6 * d_mm);
                d_size = d_mm;
            } else {
                let span = 1.0 - exp(-lambda * 4.8);
                let melted = clamp(0.2 - log(1.0 - u01h(h, 4u) * span) / lambda, 0.2, 5.0);
                d_mm = sqrt(melted * melted * melted / 0.17);
                v_fall = 0.8 * pow(d_mm, 0.16);
                d_size = melted;
            }
            let v_world = cp.wind_m_per_s - vec3<f32>(0.0, 0.0, v_fall) - cp.velocity_m_per_s;
            let lv = camera_from_world_dir(v_world).xy * cp.shutter_s;
            let ap = q - p0;
            let tt = clamp(dot(ap, lv) / max(dot(lv, lv), 1.0e-12), 0.0, 1.0);
            let dist = length(ap - lv * tt);
            let dm = d_mm * 1.0e-3;
            if dist > 0.5 * (dm + w) {
                continue;
            }
            var alpha = min(dm / w, 1.0) * min(w / max(length(lv), dm), 1.0) * max(presence, 1.0);
            let pw = o + xform_dir(cp.world_from_camera, vec3<f32>(p0.x, p0.y, z));
            // Inside the particle field its large particles are explicit (precip_field).
            if in_field(pw) && d_size >= grid.min_diameter_mm {
                continue;
            }
            let pl = particle_light(kind, alpha, pw);
            acc += pl.xyz * (trans * pl.w);
            trans = trans * (1.0 - pl.w);
        }
        z = z * 1.45;
    }
    return acc + background * trans;
}

// Explicit drops and flakes of the particle field along the ray, composited over `background`
// in walk order. Each draws the streak of its motion relative to the camera over the shutter,
// the segment a + e·s (s in [0, 1], e = (v − v_camera)·shutter, centred on its position at the
// frame time); a ray within (D + w)/2 of it (w the pixel footprint at that depth) is covered by
// (D / w) x (w / streak length across the ray), lit as the sampled particles.
fn precip_field(o: vec3<f32>, d: vec3<f32>, dc: vec3<f32>, t_end: f32, background: vec3<f32>) -> vec3<f32> {
    if grid.particle_count == 0u {
        return background;
    }
    let dclen = length(dc);
    var acc = vec3<f32>(0.0, 0.0, 0.0);
    var trans = 1.0;
    var walk = grid_walk_start(o, d, 0.05, t_end);
    while walk.live {
        let cell = grid_walk_cell(walk);
        for (var k = grid_cells[cell]; k < grid_cells[cell + 1u]; k += 1u) {
            let q = grid_particle(k);
            let e = (q.velocity_m_per_s - cp.velocity_m_per_s) * cp.shutter_s;
            let a = q.position_m - 0.5 * e;
            // Closest points of the ray o + t·d and the segment a + e·s.
            let r = o - a;
            let be = dot(d, e);
            let ce = dot(e, e);
            let dr = dot(d, r);
            let er = dot(e, r);
            let den = ce - be * be;
            var s = 0.0;
            if den > 1.0e-12 {
                s = clamp((er - be * dr) / den, 0.0, 1.0);
            }
            let t = be * s - dr;
            if !grid_walk_owns(walk, t) || t < 0.05 || t >= t_end {
                continue;
            }
            let off = r + d * t - e * s;
            let w = t / dclen / cp.fx;
            let dm = q.diameter_mm * 1.0e-3;
            let rad = min(0.5 * (dm + w), grid.margin_m);
            if dot(off, off) > rad * rad {
                continue;
            }
            let streak = length(e - d * be);
            var alpha = min(dm / w, 1.0) * min(w / max(streak, dm), 1.0);
            let pw = a + e * s;
            let pl = particle_light(q.kind, alpha, pw);
            acc += pl.xyz * (trans * pl.w);
            trans = trans * (1.0 - pl.w);
        }
        grid_walk_next(&walk);
    }
    return acc + background * trans;
}

// Radiance along one camera ray (dc: the optical-frame direction with z = 1).
fn radiance_along(o: vec3<f32>, d: vec3<f32>, dc: vec3<f32>, h: Hit, px: u32, s: u32) -> vec3<f32> {
    var l: vec3<f32>;
    var t_end: f32;
    if h.tri == NO_RETURN {
        l = sky_radiance(d);
        t_end = cp.max_depth_m;
    } else {
        l = shade(o, d, h, px, s);
        t_end = h.t;
    }
    let tr = exp(-cp.fog_sigma_per_m * t_end);
    l = l * tr + cp.sky_horizon * (1.0 - tr);
    l += lamps_along(o, d, t_end);
    l = precip_field(o, d, dc, t_end, l);
    if cp.rain_density_per_m3 > 0.0 {
        l = precip(0u, cp.rain_density_per_m3, cp.rain_lambda_per_mm, o, dc, t_end, l);
    }
    if cp.snow_density_per_m3 > 0.0 {
        l = precip(1u, cp.snow_density_per_m3, cp.snow_lambda_per_mm, o, dc, t_end, l);
    }
    return l;
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

// Shot noise (variance = signal electrons) plus read noise, one Gaussian per channel.
fn sensor_noise(x: f32, px: u32, ch: u32) -> f32 {
    if cp.electrons_at_unit <= 0.0 {
        return x;
    }
    let e = max(x, 0.0) * cp.electrons_at_unit;
    let u1 = max(rand(cp.seed, S_NOISE, px, 2u * ch), 1.0e-7);
    let u2 = rand(cp.seed, S_NOISE, px, 2u * ch + 1u);
    let g = sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
    return (e + sqrt(e + cp.read_noise_e * cp.read_noise_e) * g) / cp.electrons_at_unit;
}

@compute @workgroup_size(8, 8)
fn camera_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= cp.width || gid.y >= cp.height {
        return;
    }
    let px = gid.y * cp.width + gid.x;
    let o0 = xform_point(cp.world_from_camera, vec3<f32>(0.0, 0.0, 0.0));
    let dc0 = camera_dir(f32(gid.x) + 0.5, f32(gid.y) + 0.5);
    let d0 = normalize(xform_dir(cp.world_from_camera, dc0));
    let h0 = trace(o0, d0, cp.max_depth_m, false, cp.tlas_root);
    var out: PixelOut;
    if h0.tri == NO_RETURN {
        out.depth_m = 0.0;
        out.label = CLASS_SKY;
    } else {
        out.depth_m = h0.t / length(dc0);
        out.label = (triangles[h0.tri].class_id & 0xffffu) | (instances[h0.inst].instance_id << 16u);
    }
    var acc = vec3<f32>(0.0, 0.0, 0.0);
    if cp.spp <= 1u {
        acc = radiance_along(o0, d0, dc0, h0, px, 0u);
    } else {
        let n = u32(ceil(sqrt(f32(cp.spp))));
        let rows = (cp.spp + n - 1u) / n;
        for (var s = 0u; s < cp.spp; s += 1u) {
            let jx = (f32(s % n) + rand(cp.seed, S_JITTER, px, 2u * s)) / f32(n);
            let jy = (f32(s / n) + rand(cp.seed, S_JITTER, px, 2u * s + 1u)) / f32(rows);
            let dc = camera_dir(f32(gid.x) + jx, f32(gid.y) + jy);
            let d = normalize(xform_dir(cp.world_from_camera, dc));
            // Motion blur: the sample sees the ego and the actors at its time in the exposure.
            let tau = (f32(s) + rand(cp.seed, S_TIME, px, s)) / f32(cp.spp) - 0.5;
            let time_s = tau * cp.blur_shutter_s;
            let o = o0 + cp.velocity_m_per_s * time_s;
            let h = trace_at(o, d, cp.max_depth_m, false, cp.tlas_root, time_s);
            acc += radiance_along(o, d, dc, h, px, s);
        }
        acc = acc / f32(cp.spp);
    }
    let cos_t = 1.0 / length(dc0);
    let c4 = cos_t * cos_t * cos_t * cos_t;
    let x = acc * (cp.exposure * (1.0 - cp.vignetting * (1.0 - c4)));
    exposed[px] = vec4<f32>(x, 0.0);
    out.rgba = 0u;
    pixels[px] = out;
}

// 8-bit code of a clipped exposed value through the camera's response.
fn response_code(c: f32) -> u32 {
    let v = clamp(c, 0.0, 1.0);
    if cp.response == 1u {
        return u32(round(v * 255.0));
    }
    return to_u8(v);
}

// The sensor: the exposed image seen through a Gaussian point-spread function of standard
// deviation psf_sigma_px (truncated at ceil(2σ) ≤ 4 px, edges clamped, weights normalised),
// then shot + read noise, the full-scale clip and the response curve.
@compute @workgroup_size(8, 8)
fn camera_sensor(@builtin(global_invocation_id) gid: vec3<u32>) {
    if gid.x >= cp.width || gid.y >= cp.height {
        return;
    }
    let px = gid.y * cp.width + gid.x;
    var x = exposed[px].xyz;
    if cp.psf_sigma_px > 0.0 {
        let r = i32(clamp(ceil(2.0 * cp.psf_sigma_px), 1.0, 4.0));
        let k = -0.5 / (cp.psf_sigma_px * cp.psf_sigma_px);
        var sum = vec3<f32>(0.0, 0.0, 0.0);
        var wsum = 0.0;
        for (var dy = -r; dy <= r; dy += 1) {
            let yy = u32(clamp(i32(gid.y) + dy, 0, i32(cp.height) - 1));
            for (var dx = -r; dx <= r; dx += 1) {
                let xx = u32(clamp(i32(gid.x) + dx, 0, i32(cp.width) - 1));
                let w = exp(f32(dx * dx + dy * dy) * k);
                sum += exposed[yy * cp.width + xx].xyz * w;
                wsum += w;
            }
        }
        x = sum / wsum;
    }
    let xr = sensor_noise(x.x, px, 0u);
    let xg = sensor_noise(x.y, px, 1u);
    let xb = sensor_noise(x.z, px, 2u);
    pixels[px].rgba = response_code(xr) | (response_code(xg) << 8u) | (response_code(xb) << 16u);
}
