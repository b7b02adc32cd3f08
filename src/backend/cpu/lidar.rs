//! CPU twin of `shaders/lidar.wgsl`, line for line alike (`lidar_ray`), parallel over rays
//! with rayon. The sweep differs in how, not in what: it traces a beam's rays four
//! neighbouring columns at a time (`super::packet`), and where a ray can return only from
//! its hard hit (`hard_only`: clear air) it shades the four across SSE lanes
//! (`hard_returns`). Both give every slot the bits `lidar_ray` gives it
//! (`tests/engine/packet_traversal.rs`). Physics and symbols: `docs/lidar.md`.

use crate::sensors::lidar::coated_reflectance;
use glam::{Vec3, Vec4};
use rayon::prelude::*;

use super::bvh::{Hit, SceneView, hit_normal, trace_at, xform_dir, xform_point};
use super::lanes::{LANES, Lane, Lanes3};
use super::packet::{PacketStacks, trace_packet};
use super::particle_grid::{
    GridView, grid_walk_cell, grid_walk_next, grid_walk_owns, grid_walk_start,
};
use crate::abi::{LidarHit, LidarParams, NO_RETURN, RETURN_DUAL, RETURN_LAST};
use crate::rng::rand;

use crate::abi::shared::{
    CLASS_FOG, CLASS_RAIN, CLASS_SNOW, FOG_MAX_STEPS, FOG_SAMPLES_PER_PULSE, GLASS_MAX_PANES,
    GLASS_STEP_M, GROUND_SNOW_REFLECTIVITY, HOLROYD_DENSITY_COEFF, PRECIP_BINS, RAIN_D_MAX_MM,
    RAIN_D_MIN_MM, RAIN_REFLECTIVITY, SNOW_MELTED_D_MAX_MM, SNOW_MELTED_D_MIN_MM,
    SNOW_REFLECTIVITY, STREAM_DROPOFF, STREAM_FOG, STREAM_NOISE, STREAM_PRECIP,
};
use std::f32::consts::PI;

const NONE: LidarHit = LidarHit {
    x: 0.0,
    y: 0.0,
    z: 0.0,
    intensity: 0.0,
    label: NO_RETURN,
};

fn overlap<T: Lane>(lp: &LidarParams, r: T) -> T {
    if lp.overlap_full_m <= lp.overlap_start_m {
        return r.step(lp.overlap_start_m);
    }
    ((r - T::splat(lp.overlap_start_m)) / T::splat(lp.overlap_full_m - lp.overlap_start_m))
        .clamp01()
}

fn transmission2(lp: &LidarParams, r: f32) -> f32 {
    if lp.extinction_per_m == 0.0 {
        return 1.0; // exp(0), without the call
    }
    (-2.0 * lp.extinction_per_m * r).exp()
}

fn fresnel_water<T: Lane>(cos_i: T) -> T {
    let m = T::splat(1.0) - cos_i;
    T::splat(0.02) + T::splat(0.98) * (m * m * m * m * m)
}

/// The share of a ground return that crosses a water film of `wetness` (0–1) both ways: the
/// film's Fresnel transmission squared, blended with a dry road by the wetness.
pub fn wet_return_factor<T: Lane>(cos_inc: T, wetness: f32) -> T {
    let t = T::splat(1.0) - fresnel_water(cos_inc);
    T::splat(1.0) + (t * t - T::splat(1.0)) * T::splat(wetness)
}

/// The reflectivity of ground (a surface facing up) of reflectivity `rho`: snow cover, then
/// the water film.
fn ground_reflectivity<T: Lane>(lp: &LidarParams, rho: T, cos_inc: T) -> T {
    (rho + (T::splat(GROUND_SNOW_REFLECTIVITY) - rho) * T::splat(lp.snow_cover))
        * wet_return_factor(cos_inc, lp.wetness)
}

fn surface_reflectivity(lp: &LidarParams, rho: f32, n: Vec3, cos_inc: f32) -> f32 {
    if n.z > 0.7 {
        return ground_reflectivity(lp, rho, cos_inc);
    }
    rho
}

/// The backscatter of a material with Oren–Nayar terms `(a, b)` at incidence `cos_inc`:
/// `a·cos θ + b·sin² θ` (Lambert, `(1, 0)`, gives `cos θ` bit for bit). The lane version of
/// `sensors::lidar::backscatter`.
fn backscatter<T: Lane>(a: T, b: T, cos_inc: T) -> T {
    a * cos_inc + b * (T::splat(1.0) - cos_inc * cos_inc)
}

/// The power of a hard return from a surface returning `rho_shape` (reflectivity times
/// [`backscatter`], with a clear coat's lobe where there is one) at range `r`, before the air's
/// transmission.
fn hard_power<T: Lane>(lp: &LidarParams, rho_shape: T, r: T) -> T {
    rho_shape * overlap(lp, r) / (r * r)
}

fn gauss(lp: &LidarParams, stream: u32, index: u32, draw: u32) -> f32 {
    let u1 = 1.0 - rand(lp.seed, stream, index, draw);
    let u2 = rand(lp.seed, stream, index, draw + 1);
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

/// `gauss` for several indices at once, each stage over every lane before the next; the same
/// bits as one at a time.
fn gauss_lanes(lp: &LidarParams, stream: u32, index: [u32; LANES], draw: u32) -> [f32; LANES] {
    let u1: [f32; LANES] = std::array::from_fn(|l| 1.0 - rand(lp.seed, stream, index[l], draw));
    let u2: [f32; LANES] = std::array::from_fn(|l| rand(lp.seed, stream, index[l], draw + 1));
    std::array::from_fn(|l| (-2.0 * u1[l].ln()).sqrt() * (2.0 * PI * u2[l]).cos())
}

/// The reported intensity of a return of power `p` at range `r`.
fn intensity<T: Lane>(lp: &LidarParams, r: T, p: T) -> T {
    let f2 = T::splat(lp.falloff_range_m * lp.falloff_range_m);
    (T::splat(lp.intensity_scale) * p * r * r * f2 / (f2 + r * r)).clamp01()
}

fn emit(
    lp: &LidarParams,
    dir_l: Vec3,
    r: f32,
    p: f32,
    label: u32,
    slot: u32,
    draw: u32,
) -> LidarHit {
    let mut noise = 0.0;
    if lp.noise_stddev_m > 0.0 {
        noise = gauss(lp, STREAM_NOISE, slot, draw);
    }
    report(lp, dir_l, r, intensity(lp, r, p), label, slot, draw, noise)
}

/// The point of a return at range `r` with `intensity`: its range noise (`noise` is the
/// draw `gauss(STREAM_NOISE, slot, draw)`, unused without noise) and its drop-out.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn report(
    lp: &LidarParams,
    dir_l: Vec3,
    r: f32,
    intensity: f32,
    label: u32,
    slot: u32,
    draw: u32,
    noise: f32,
) -> LidarHit {
    let mut rm = r;
    if lp.noise_stddev_m > 0.0 {
        rm = (r + lp.noise_stddev_m * noise).max(0.0);
    }
    if lp.dropoff_general_rate > 0.0 || lp.dropoff_zero_intensity > 0.0 {
        let u = rand(lp.seed, STREAM_DROPOFF, slot, draw);
        if u < lp.dropoff_general_rate {
            return NONE;
        }
        if intensity < lp.dropoff_intensity_limit {
            let q = lp.dropoff_zero_intensity * (1.0 - intensity / lp.dropoff_intensity_limit);
            if rand(lp.seed, STREAM_DROPOFF, slot, draw + 1) < q {
                return NONE;
            }
        }
    }
    LidarHit {
        x: dir_l.x * rm,
        y: dir_l.y * rm,
        z: dir_l.z * rm,
        intensity,
        label,
    }
}

/// The fog's backscatter over a ray's first `n` samples (pulse centres every quarter pulse
/// from the overlap's start): the strongest sample's power, and the nearest and farthest
/// pulse centres whose power reaches the detection threshold (-1 and 0 where none does).
#[derive(Clone, Copy)]
struct FogScan {
    p: f32,
    r_first: f32,
    r_last: f32,
}

fn fog_scan(lp: &LidarParams, n: u32) -> FogScan {
    let step = lp.pulse_length_m / FOG_SAMPLES_PER_PULSE;
    let r_lo = lp.overlap_start_m;
    let (mut g1, mut g2, mut g3) = (0.0f32, 0.0f32, 0.0f32);
    let mut scan = FogScan {
        p: 0.0,
        r_first: -1.0,
        r_last: 0.0,
    };
    for j in 0..n {
        let r = r_lo + (j as f32 + 0.5) * step;
        let g0 = overlap(lp, r) * transmission2(lp, r) / (r * r);
        let p = PI * lp.fog_backscatter_per_m_sr * step * (g0 + g1 + g2 + g3);
        let r_c = r_lo + (j as f32 + 1.0) * step - 0.5 * lp.pulse_length_m;
        if r_c >= lp.min_range_m {
            if p > scan.p {
                scan.p = p;
            }
            if p >= lp.min_power_per_m2 {
                if scan.r_first < 0.0 {
                    scan.r_first = r_c;
                }
                scan.r_last = r_c;
            }
        }
        g3 = g2;
        g2 = g1;
        g1 = g0;
    }
    scan
}

/// `fog_scan` for every sample count, once per sweep: every ray takes the same samples and
/// only stops them at its own hard hit, so a ray's scan is a lookup instead of up to 64 `exp`.
pub struct FogTable([FogScan; FOG_MAX_STEPS as usize + 1]);

impl FogTable {
    pub fn new(lp: &LidarParams) -> Self {
        FogTable(std::array::from_fn(|n| fog_scan(lp, n as u32)))
    }
}

/// A lidar ray: its direction in the lidar frame, its world origin and unit direction
/// (the lidar's pose interpolated over the sweep) and its time from the frame time.
#[derive(Clone, Copy)]
pub struct LidarRay {
    pub dir_l: Vec3,
    pub o: Vec3,
    pub d: Vec3,
    pub time_s: f32,
}

/// Where and when a column's rays leave: the sensor origin interpolated over the sweep, the
/// sweep fraction `s` and the time from the frame time.
#[derive(Clone, Copy)]
pub struct ColumnPose {
    s: f32,
    o: Vec3,
    time_s: f32,
}

/// The pose of column `col`.
pub fn column_pose(lp: &LidarParams, col: u32) -> ColumnPose {
    let s = (col as f32 + 0.5) / lp.columns as f32;
    let o0 = xform_point(&lp.world_from_lidar, Vec3::ZERO);
    let o1 = xform_point(&lp.world_from_lidar_end, Vec3::ZERO);
    ColumnPose {
        s,
        o: o0 + (o1 - o0) * s,
        time_s: (s - 0.5) * lp.sweep_s,
    }
}

/// The ray of beam `b` (its elevation's cos and sin) in column `c` (its azimuth's cos and
/// sin), posed `at`.
#[inline]
pub fn lidar_ray_from(lp: &LidarParams, b: [f32; 2], c: [f32; 2], at: &ColumnPose) -> LidarRay {
    let dir_l = Vec3::new(b[0] * c[0], b[0] * c[1], b[1]);
    let d0 = xform_dir(&lp.world_from_lidar, dir_l);
    let d1 = xform_dir(&lp.world_from_lidar_end, dir_l);
    let d = (d0 + (d1 - d0) * at.s).normalize();
    LidarRay {
        dir_l,
        o: at.o,
        d,
        time_s: at.time_s,
    }
}

/// The ray of `slot = column * channels + beam`.
pub fn lidar_ray_at(
    lp: &LidarParams,
    beams: &[[f32; 2]],
    columns: &[[f32; 2]],
    slot: u32,
) -> LidarRay {
    let col = slot / lp.channels;
    let beam = slot % lp.channels;
    let at = column_pose(lp, col);
    lidar_ray_from(lp, beams[beam as usize], columns[col as usize], &at)
}

/// The rays of beam `b` (its elevation's cos and sin) in the columns `c` (their azimuths'
/// cos and sin) posed `at`, four at a time: each lane is `lidar_ray_from`, bit for bit.
fn lidar_rays_from(
    lp: &LidarParams,
    b: [f32; 2],
    c: [[f32; 2]; LANES],
    at: [&ColumnPose; LANES],
) -> [LidarRay; LANES] {
    let dir_l = Lanes3 {
        x: Vec4::splat(b[0]) * Vec4::from(c.map(|c| c[0])),
        y: Vec4::splat(b[0]) * Vec4::from(c.map(|c| c[1])),
        z: Vec4::splat(b[1]),
    };
    let d0 = Lanes3::xform_dir(&lp.world_from_lidar, &dir_l);
    let d1 = Lanes3::xform_dir(&lp.world_from_lidar_end, &dir_l);
    let s = Vec4::from(at.map(|a| a.s));
    let d = d0.add(&d1.sub(&d0).scale(s)).normalize();
    std::array::from_fn(|l| LidarRay {
        dir_l: dir_l.lane(l),
        o: at[l].o,
        d: d.lane(l),
        time_s: at[l].time_s,
    })
}

/// What a hard hit `h` of a ray along `d` returns: its reflectivity times its backscatter,
/// through a clear coat where there is one (`ρ·g` of `docs/lidar.md`), and the share of the
/// beam that crosses it (a pane's one-way transmittance; 0 for an opaque surface).
fn shade_hard(scene: &SceneView, lp: &LidarParams, h: &Hit, d: Vec3) -> (f32, f32) {
    let n = hit_normal(scene, h, d);
    let cos_inc = (-n.dot(d)).clamp(0.0, 1.0);
    let mat = &scene.materials[scene.triangles[h.tri as usize].material as usize];
    let rho = surface_reflectivity(lp, mat.reflectivity, n, cos_inc);
    let shape = backscatter(mat.lidar_a, mat.lidar_b, cos_inc);
    let rho_shape = coated_reflectance(rho * shape, mat.clearcoat_inv_m2, cos_inc);
    (rho_shape, mat.lidar_transmittance)
}

/// Whether hit `h` is on a pane the lidar sees through.
fn is_pane(scene: &SceneView, h: &Hit) -> bool {
    h.tri != NO_RETURN
        && scene.materials[scene.triangles[h.tri as usize].material as usize].lidar_transmittance
            > 0.0
}

/// The hard target of a ray whose first hit is `h`, looking through glass, and what it returns
/// (`ρ·g` times the two-way transmittance of the panes crossed before it). A pane returns
/// only its coat's mirror lobe, near normal incidence; the rest of the beam crosses it
/// (`Material::lidar_transmittance`, once each way) to what lies behind: a car's interior or
/// the far side. The target is the candidate of greatest power, or (last-return mode) the one
/// farthest that is detected; after `GLASS_MAX_PANES` panes the ray stops at the last.
/// `shaders/lidar.wgsl` does the same.
fn hard_target(scene: &SceneView, lp: &LidarParams, ray: &LidarRay, h: &Hit) -> (Hit, f32) {
    if h.tri == NO_RETURN {
        return (*h, 0.0);
    }
    let (rho_shape, pass) = shade_hard(scene, lp, h, ray.d);
    if pass <= 0.0 {
        return (*h, rho_shape);
    }
    let power = |rs: f32, r: f32| hard_power(lp, rs, r) * transmission2(lp, r);
    let mut best = (*h, rho_shape);
    let mut best_p = power(rho_shape, h.t);
    let mut cur = *h;
    let mut gain = pass * pass;
    for _ in 0..GLASS_MAX_PANES {
        let t0 = cur.t + GLASS_STEP_M;
        if t0 >= lp.max_range_m {
            break;
        }
        let mut next = trace_at(
            scene,
            ray.o + ray.d * t0,
            ray.d,
            lp.max_range_m - t0,
            false,
            ray.time_s,
        );
        if next.tri == NO_RETURN {
            break;
        }
        next.t += t0;
        let (rs, pass) = shade_hard(scene, lp, &next, ray.d);
        let rs = rs * gain;
        let p = power(rs, next.t);
        let detected = lp.min_power_per_m2 <= 0.0 || p >= lp.min_power_per_m2;
        if p > best_p || (lp.return_mode == RETURN_LAST && detected) {
            best = (next, rs);
            best_p = p;
        }
        if pass <= 0.0 {
            break;
        }
        cur = next;
        gain *= pass * pass;
    }
    best
}

/// Casts one ray; returns its primary slot and (dual mode) its second-return slot.
/// `slot = column * channels + beam`.
pub fn lidar_ray(
    scene: &SceneView,
    field: &GridView,
    lp: &LidarParams,
    beams: &[[f32; 2]],
    columns: &[[f32; 2]],
    slot: u32,
) -> [LidarHit; 2] {
    let ray = lidar_ray_at(lp, beams, columns, slot);
    let h = trace_at(scene, ray.o, ray.d, lp.max_range_m, false, ray.time_s);
    lidar_returns(scene, field, lp, None, slot, &ray, &h)
}

/// The returns of ray `slot`, whose closest hard hit (within the maximum range) is `h`; `fog`
/// is the sweep's `FogTable`, if made (the same returns, sooner).
#[allow(clippy::too_many_arguments)]
pub fn lidar_returns(
    scene: &SceneView,
    field: &GridView,
    lp: &LidarParams,
    fog: Option<&FogTable>,
    slot: u32,
    ray: &LidarRay,
    h: &Hit,
) -> [LidarHit; 2] {
    let LidarRay { dir_l, o, d, .. } = *ray;
    let ideal = lp.min_power_per_m2 <= 0.0;

    let mut hard_hit = false;
    let mut hard_r = 0.0;
    let mut hard_p = 0.0;
    let mut hard_p_clear = 0.0;
    let mut hard_label = NO_RETURN;
    let (target, rho_shape) = hard_target(scene, lp, ray, h);
    let h = &target;
    if h.tri != NO_RETURN && h.t >= lp.min_range_m {
        hard_hit = true;
        let r = h.t;
        let tri = &scene.triangles[h.tri as usize];
        hard_r = r;
        hard_p_clear = hard_power(lp, rho_shape, r);
        hard_p = hard_p_clear * transmission2(lp, r);
        hard_label = (tri.class & 0xffff) | (scene.instances[h.inst as usize].instance_id << 16);
    }
    let hard_det = hard_hit && (ideal || hard_p >= lp.min_power_per_m2);
    let mut r_end = lp.max_range_m;
    if h.tri != NO_RETURN {
        r_end = h.t;
    }

    let mut soft_p = 0.0f32;
    let mut soft_r = 0.0f32;
    let mut soft_class = 0u32;
    if !ideal && lp.fog_backscatter_per_m_sr > 0.0 {
        let step = lp.pulse_length_m / FOG_SAMPLES_PER_PULSE;
        let r_lo = lp.overlap_start_m;
        let r_hi = r_end.min(lp.overlap_full_m + 8.0 * lp.pulse_length_m);
        let n = (((r_hi - r_lo).max(0.0) / step) as u32).min(FOG_MAX_STEPS);
        let scan = fog.map_or_else(|| fog_scan(lp, n), |t| t.0[n as usize]);
        soft_p = scan.p;
        if soft_p >= lp.min_power_per_m2 {
            let u = rand(lp.seed, STREAM_FOG, slot, 0);
            soft_r = (scan.r_first + u * (scan.r_last - scan.r_first)).min(r_end);
            soft_class = CLASS_FOG;
        } else {
            soft_p = 0.0;
        }
    }

    if !ideal && (lp.rain_n0_per_m3_mm > 0.0 || lp.snow_n0_per_m3_mm > 0.0) {
        let r_lo = lp.min_range_m.max(lp.overlap_start_m);
        let r_hi = r_end.min(lp.precip_max_range_m);
        if r_hi > r_lo {
            let dr = (r_hi - r_lo) / PRECIP_BINS as f32;
            for k in 0..PRECIP_BINS {
                for kind in 0..2u32 {
                    let mut n0 = lp.rain_n0_per_m3_mm;
                    let mut lam = lp.rain_lambda_per_mm;
                    let mut rho = RAIN_REFLECTIVITY;
                    let mut d_min = RAIN_D_MIN_MM;
                    let mut d_max = RAIN_D_MAX_MM;
                    if kind == 1 {
                        n0 = lp.snow_n0_per_m3_mm;
                        lam = lp.snow_lambda_per_mm;
                        rho = SNOW_REFLECTIVITY;
                        d_min = SNOW_MELTED_D_MIN_MM;
                        d_max = SNOW_MELTED_D_MAX_MM;
                    }
                    if n0 <= 0.0 {
                        continue;
                    }
                    let r = r_lo + (k as f32 + 0.5) * dr;
                    let w = lp.beam_aperture_m + lp.beam_divergence_rad * r;
                    let t2 = overlap(lp, r) * transmission2(lp, r);
                    let dcs_min =
                        1000.0 * w * r * (lp.min_power_per_m2 / (rho * t2).max(1.0e-30)).sqrt();
                    let mut dmin = dcs_min;
                    if kind == 1 {
                        dmin = (HOLROYD_DENSITY_COEFF * dcs_min * dcs_min).powf(1.0 / 3.0);
                    }
                    let lo = d_min.max(dmin);
                    if lo >= d_max {
                        continue;
                    }
                    let mu = 0.25 * PI * w * w * dr * n0 / lam
                        * ((-lam * lo).exp() - (-lam * d_max).exp());
                    let u = rand(lp.seed, STREAM_PRECIP + kind, slot, k);
                    if u < 1.0 - (-mu).exp() {
                        let span = 1.0 - (-lam * (d_max - lo)).exp();
                        let ud = rand(lp.seed, STREAM_PRECIP + kind, slot, k + 32);
                        let dd = (lo - (1.0 - ud * span).ln() / lam).clamp(lo, d_max);
                        let rr = r_lo
                            + (k as f32 + rand(lp.seed, STREAM_PRECIP + kind, slot, k + 64)) * dr;
                        let ww = lp.beam_aperture_m + lp.beam_divergence_rad * rr;
                        let mut dcs = dd;
                        if kind == 1 {
                            dcs = (dd * dd * dd / HOLROYD_DENSITY_COEFF).sqrt();
                        }
                        let frac = (dcs * 1.0e-3 / ww).min(1.0);
                        let p =
                            rho * frac * frac * overlap(lp, rr) * transmission2(lp, rr) / (rr * rr);
                        let field_drop =
                            field.in_field(o + d * rr) && dd >= field.grid.min_diameter_mm;
                        if p >= lp.min_power_per_m2 && p > soft_p && !field_drop {
                            soft_p = p;
                            soft_r = rr;
                            soft_class = if kind == 1 { CLASS_SNOW } else { CLASS_RAIN };
                        }
                    }
                }
            }
        }
    }
    if !ideal && field.grid.particle_count > 0 {
        let r_lo = lp.min_range_m.max(lp.overlap_start_m);
        let r_hi = r_end.min(lp.precip_max_range_m);
        let mut walk = grid_walk_start(field, o, d, r_lo, r_hi);
        while walk.live {
            let cell = grid_walk_cell(field, &walk) as usize;
            for k in field.cells[cell]..field.cells[cell + 1] {
                let q = field.particle(k);
                let rel = Vec3::from(q.position_m) - o;
                let t = rel.dot(d);
                if !grid_walk_owns(&walk, t) || t < r_lo || t > r_hi {
                    continue;
                }
                let ww = lp.beam_aperture_m + lp.beam_divergence_rad * t;
                let off = rel - d * t;
                let rad = (0.5 * ww).min(field.grid.margin_m);
                if off.dot(off) > rad * rad {
                    continue;
                }
                let mut rho = RAIN_REFLECTIVITY;
                if q.kind == 1 {
                    rho = SNOW_REFLECTIVITY;
                }
                let frac = (q.diameter_mm * 1.0e-3 / ww).min(1.0);
                let p = rho * frac * frac * overlap(lp, t) * transmission2(lp, t) / (t * t);
                if p >= lp.min_power_per_m2 && p > soft_p {
                    soft_p = p;
                    soft_r = t;
                    soft_class = if q.kind == 1 { CLASS_SNOW } else { CLASS_RAIN };
                }
            }
            grid_walk_next(field, &mut walk);
        }
    }
    let soft_det = soft_p > 0.0;

    let mut first = 0u32;
    let mut second = 0u32;
    if lp.return_mode == RETURN_LAST {
        if hard_det {
            first = 1;
        } else if soft_det {
            first = 2;
        }
    } else if hard_det && (!soft_det || hard_p >= soft_p) {
        first = 1;
        if soft_det {
            second = 2;
        }
    } else if soft_det {
        first = 2;
        if hard_det {
            second = 1;
        }
    }
    let mut out = NONE;
    if first == 1 {
        out = emit(lp, dir_l, hard_r, hard_p, hard_label, slot, 0);
    } else if first == 2 {
        out = emit(lp, dir_l, soft_r, soft_p, soft_class, slot, 0);
    } else if hard_hit && !ideal && hard_p_clear >= lp.min_power_per_m2 {
        out.x = hard_r;
        out.intensity = -1.0;
    }
    let mut out2 = NONE;
    if lp.return_mode == RETURN_DUAL {
        if second == 1 {
            out2 = emit(lp, dir_l, hard_r, hard_p, hard_label, slot, 2);
        } else if second == 2 {
            out2 = emit(lp, dir_l, soft_r, soft_p, soft_class, slot, 2);
        }
    }
    [out, out2]
}

/// Whether a ray's only possible return is its hard hit's, in clear air: no fog backscatter,
/// drops or flakes to return from and no extinction (or an ideal lidar, which sees through
/// them), so `hard_returns` gives what `lidar_returns` does.
pub fn hard_only(lp: &LidarParams, field: &GridView) -> bool {
    let ideal = lp.min_power_per_m2 <= 0.0;
    let soft = lp.fog_backscatter_per_m_sr > 0.0
        || lp.rain_n0_per_m3_mm > 0.0
        || lp.snow_n0_per_m3_mm > 0.0
        || field.grid.particle_count > 0;
    lp.extinction_per_m == 0.0 && (ideal || !soft)
}

/// `lidar_returns` of four rays at once where `hard_only` holds (first returns; a second
/// return never exists there): the hit's normal, reflectivity, power and intensity computed
/// across the lanes, with the same operations in the same order, so each lane gets the bits
/// `lidar_returns` gives it. Lanes `n..` are not computed.
fn hard_returns(
    scene: &SceneView,
    lp: &LidarParams,
    slots: [u32; LANES],
    n: usize,
    rays: &[LidarRay; LANES],
    hits: &[Hit; LANES],
) -> [LidarHit; LANES] {
    let ideal = lp.min_power_per_m2 <= 0.0;
    let hit: [bool; LANES] =
        std::array::from_fn(|l| l < n && hits[l].tri != NO_RETURN && hits[l].t >= lp.min_range_m);
    let Some(first) = hit.iter().position(|&h| h) else {
        return [NONE; LANES];
    };
    // Lanes without a hit compute on the first hit's numbers, and are dropped at the end.
    let h: [&Hit; LANES] = std::array::from_fn(|l| &hits[if hit[l] { l } else { first }]);
    let tri = h.map(|h| &scene.triangles[h.tri as usize]);
    let inst = h.map(|h| &scene.instances[h.inst as usize]);

    // hit_normal
    let n_obj = Lanes3::from(tri.map(|t| t.e1)).cross(&Lanes3::from(tri.map(|t| t.e2)));
    let mut nrm = if h.iter().all(|x| x.inst == h[0].inst) {
        Lanes3::xform_dir(&inst[0].world_from_object, &n_obj)
    } else {
        Lanes3::from(std::array::from_fn(|l| {
            xform_dir(&inst[l].world_from_object, n_obj.lane(l))
        }))
    }
    .normalize();
    let turn: [f32; LANES] = std::array::from_fn(|l| inst[l].yaw_rate_rad_per_s * h[l].time_s);
    if turn.iter().any(|&a| a != 0.0) {
        let mut v = nrm.lanes();
        for (n, &a) in v.iter_mut().zip(&turn) {
            if a != 0.0 {
                let (sa, ca) = a.sin_cos();
                *n = Vec3::new(ca * n.x - sa * n.y, sa * n.x + ca * n.y, n.z);
            }
        }
        nrm = Lanes3::from(v);
    }
    let d = Lanes3::from(rays.map(|r| r.d));
    nrm = nrm.negate_where(nrm.dot(&d).cmpgt(Vec4::ZERO));

    let cos_inc = (-nrm.dot(&d)).clamp01();
    let mats = tri.map(|t| &scene.materials[t.material as usize]);
    let rho = Vec4::from(mats.map(|m| m.reflectivity));
    let shape = backscatter(
        Vec4::from(mats.map(|m| m.lidar_a)),
        Vec4::from(mats.map(|m| m.lidar_b)),
        cos_inc,
    );
    let rho = Vec4::select(
        nrm.z.cmpgt(Vec4::splat(0.7)),
        ground_reflectivity(lp, rho, cos_inc),
        rho,
    );
    let r = Vec4::from(h.map(|h| h.t));
    // With no extinction `transmission2` is 1, so this is also the clear-air power, and a hit
    // too weak to detect is too weak to block.
    let mut rho_shape = rho * shape;
    if mats.iter().any(|m| m.clearcoat_inv_m2 > 0.0) {
        rho_shape = Vec4::from(std::array::from_fn::<f32, LANES, _>(|l| {
            coated_reflectance(rho_shape[l], mats[l].clearcoat_inv_m2, cos_inc[l])
        }));
    }
    let p = hard_power(lp, rho_shape, r);
    let intensity = intensity(lp, r, p);

    let noise = if lp.noise_stddev_m > 0.0 {
        gauss_lanes(lp, STREAM_NOISE, slots, 0)
    } else {
        [0.0; LANES]
    };
    std::array::from_fn(|l| {
        if !hit[l] || !(ideal || p[l] >= lp.min_power_per_m2) {
            return NONE;
        }
        let label = (tri[l].class & 0xffff) | (inst[l].instance_id << 16);
        report(
            lp,
            rays[l].dir_l,
            r[l],
            intensity[l],
            label,
            slots[l],
            0,
            noise[l],
        )
    })
}

/// Number of output slots of a sweep: one per ray, two with dual returns.
pub fn output_slots(lp: &LidarParams) -> usize {
    let rays = (lp.channels * lp.columns) as usize;
    if lp.return_mode == RETURN_DUAL {
        2 * rays
    } else {
        rays
    }
}

/// A whole sweep without a particle field (every drop sampled per beam).
pub fn lidar_sweep(
    scene: &SceneView,
    lp: &LidarParams,
    beams: &[[f32; 2]],
    columns: &[[f32; 2]],
) -> Vec<LidarHit> {
    lidar_sweep_with_field(scene, &GridView::empty(), lp, beams, columns)
}

/// Columns per parallel task; fixed, so the tasks do not depend on the number of threads.
const COLUMNS_PER_TASK: usize = 16;

/// A whole sweep: one slot per ray (then one more per ray with dual returns), each ray
/// writing its slots in place, traced four neighbouring columns of a beam at a time; the
/// large drops and flakes inside the field's box come from
/// `field`.
pub fn lidar_sweep_with_field(
    scene: &SceneView,
    field: &GridView,
    lp: &LidarParams,
    beams: &[[f32; 2]],
    columns: &[[f32; 2]],
) -> Vec<LidarHit> {
    let channels = lp.channels as usize;
    let rays = channels * lp.columns as usize;
    let mut out = vec![NONE; output_slots(lp)];
    let (first, second) = out.split_at_mut(rays);
    let task = channels * COLUMNS_PER_TASK;
    let hard_only = hard_only(lp, field);
    // As `lidar_returns`: an ideal lidar takes no fog return.
    let fog_table =
        (lp.min_power_per_m2 > 0.0 && lp.fog_backscatter_per_m_sr > 0.0).then(|| FogTable::new(lp));
    let fog = fog_table.as_ref();
    // Rays `base..base + a.len()` (whole columns), their second returns into `b` (dual
    // mode): each beam's rays in packets of neighbouring columns.
    let run = |base: usize, a: &mut [LidarHit], mut b: Option<&mut [LidarHit]>| {
        let mut stacks = PacketStacks::default();
        let cols = a.len() / channels;
        let col0 = base / channels;
        let poses: Vec<ColumnPose> = (col0..col0 + cols)
            .map(|c| column_pose(lp, c as u32))
            .collect();
        for (beam, &elevation) in beams.iter().enumerate().take(channels) {
            for c0 in (0..cols).step_by(LANES) {
                let n = LANES.min(cols - c0);
                // Lanes past the last column repeat it, untraced.
                let c: [usize; LANES] = std::array::from_fn(|l| c0 + l.min(n - 1));
                let index = |l: usize| c[l] * channels + beam;
                let slots: [u32; LANES] = std::array::from_fn(|l| (base + index(l)) as u32);
                let ray = lidar_rays_from(
                    lp,
                    elevation,
                    c.map(|c| columns[col0 + c]),
                    c.map(|c| &poses[c]),
                );
                let hits = trace_packet(
                    scene,
                    &ray.map(|r| r.o),
                    &ray.map(|r| r.d),
                    &ray.map(|r| r.time_s),
                    lp.max_range_m,
                    (1 << n) - 1,
                    &mut stacks,
                );
                if hard_only {
                    // Second returns stay empty. A pane's rays look through it, one at a time
                    // (`lidar_returns`).
                    let out = hard_returns(scene, lp, slots, n, &ray, &hits);
                    for l in 0..n {
                        a[index(l)] = if is_pane(scene, &hits[l]) {
                            lidar_returns(scene, field, lp, fog, slots[l], &ray[l], &hits[l])[0]
                        } else {
                            out[l]
                        };
                    }
                    continue;
                }
                for l in 0..n {
                    let [h1, h2] =
                        lidar_returns(scene, field, lp, fog, slots[l], &ray[l], &hits[l]);
                    a[index(l)] = h1;
                    if let Some(b) = b.as_deref_mut() {
                        b[index(l)] = h2;
                    }
                }
            }
        }
    };
    if lp.return_mode == RETURN_DUAL {
        first
            .par_chunks_mut(task)
            .zip(second.par_chunks_mut(task))
            .enumerate()
            .for_each(|(t, (a, b))| run(t * task, a, Some(b)));
    } else {
        first
            .par_chunks_mut(task)
            .enumerate()
            .for_each(|(t, a)| run(t * task, a, None));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_laws_equal_the_scalar_laws_of_sensors_lidar() {
        let (a, b) = (0.67, 0.39);
        for k in 0..=100 {
            let c = k as f32 / 100.0;
            // Lambert's (1, 0) is cos θ bit for bit, so Lambertian materials render as before.
            assert_eq!(backscatter(1.0f32, 0.0, c).to_bits(), c.to_bits());
            let lanes = backscatter(Vec4::splat(a), Vec4::splat(b), Vec4::splat(c));
            let one = crate::sensors::lidar::backscatter(a, b, c);
            assert_eq!(lanes.x.to_bits(), one.to_bits(), "cos {c}");
            let w = wet_return_factor(Vec4::splat(c), 0.7);
            let w1 = crate::sensors::lidar::wet_return_factor(c, 0.7);
            assert_eq!(w.w.to_bits(), w1.to_bits(), "cos {c}");
        }
    }
}
