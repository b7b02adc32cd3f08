//! Lidar frame assembly around the compute stage: the per-frame [`LidarParams`] from the
//! scenario's sensor and physical weather, per-point firing times, motion compensation, and
//! LISA-style weather summaries. Equations and sources: `docs/lidar.md`.

use glam::{Affine3A, Vec3};

use crate::abi::{LidarHit, LidarParams, NO_RETURN, affine_rows};
use crate::classes::Class;
use crate::frame::LidarFrame;
use crate::physics::precip;
use crate::scenario::{LidarSpec, Weather};

/// Speed of light, m/s.
pub const SPEED_OF_LIGHT_M_PER_S: f32 = 299_792_458.0;
/// Reflectivity of the reference target that defines `detection_range_m`.
pub const DETECTION_REFERENCE_REFLECTIVITY: f32 = 0.1;
/// Fog backscatter β = k / MOR (m⁻¹·sr⁻¹), k = 0.046 (Hahner et al., ICCV 2021; range
/// 0.023–0.092).
pub const FOG_BACKSCATTER_PER_MOR: f32 = 0.046;
/// Exit aperture (beam diameter at the window), metres.
pub const BEAM_APERTURE_M: f32 = 0.01;
/// Farthest range at which drops and flakes are sampled along a beam, metres (beyond it no
/// drop is large enough to pass the threshold of any preset).
pub const PRECIP_MAX_RANGE_M: f32 = 40.0;
/// Intensity gain range: reported intensity = ρ·cosθ·ξ·T²·R_f²/(R_f² + R²).
pub const INTENSITY_FALLOFF_RANGE_M: f32 = 60.0;

/// Received power threshold (m⁻²) of a detector that sees a 10% Lambertian target at normal
/// incidence up to `detection_range_m` in clear air: P_min = 0.1 / R_det². 0 = ideal.
pub fn min_power_per_m2(detection_range_m: f32) -> f32 {
    if detection_range_m <= 0.0 {
        0.0
    } else {
        DETECTION_REFERENCE_REFLECTIVITY / (detection_range_m * detection_range_m)
    }
}

/// Sweep duration, seconds.
/// The share of a ground return that crosses a water film of `wetness` (0–1) both ways: the
/// film's Fresnel transmission (Schlick, n = 1.33) squared, blended with a dry road by the
/// wetness. The CPU backend's lane version (`backend::cpu::lidar`) is tested against this.
pub fn wet_return_factor(cos_inc: f32, wetness: f32) -> f32 {
    let m = 1.0 - cos_inc;
    let t = 1.0 - (0.02 + 0.98 * (m * m * m * m * m));
    1.0 + (t * t - 1.0) * wetness
}

/// The backscatter of a surface with Oren–Nayar terms `(a, b)` (`GpuMaterial::lidar_a`,
/// `lidar_b`) at incidence `cos_inc`: `a·cos θ + b·sin² θ`, the factor that Lambert's `cos θ`
/// becomes for a rough surface seen along the ray that lights it.
pub fn backscatter(a: f32, b: f32, cos_inc: f32) -> f32 {
    a * cos_inc + b * (1.0 - cos_inc * cos_inc)
}

/// What a surface returns, `ρ·backscatter` (`rho_shape`), under a clear coat with facet slopes
/// of `1/m² = inv_m2` (0: no coat, `rho_shape` unchanged bit for bit). The coat's mirror lobe
/// (Cook–Torrance with Beckmann facets, seen along the ray that lights it: the facets that
/// return are those facing the sensor) adds `F(θ)·exp(−tan²θ/m²)/(4·m²·cos⁵θ)` in the same
/// units as `ρ·cos θ`, and the diffuse base under the coat loses the coat's two Fresnel
/// passes, `(1 − F)²`; `F` is Schlick's with `CLEARCOAT_F0`. At m = 0.05 the lobe is 4 at
/// normal incidence and below 10⁻³ beyond 9°: a coated body returns brightly only where it
/// faces the sensor. `shaders/lidar.wgsl` and the CPU backend compute the same.
pub fn coated_reflectance(rho_shape: f32, inv_m2: f32, cos_inc: f32) -> f32 {
    use crate::abi::shared::CLEARCOAT_F0;
    if inv_m2 <= 0.0 {
        return rho_shape;
    }
    let c = cos_inc.max(1e-3);
    let m = 1.0 - c;
    let f = CLEARCOAT_F0 + (1.0 - CLEARCOAT_F0) * (m * m * m * m * m);
    let c2 = c * c;
    let tan2 = (1.0 - c2) / c2;
    let lobe = f * (-tan2 * inv_m2).exp() * inv_m2 / (4.0 * c2 * c2 * c);
    rho_shape * (1.0 - f) * (1.0 - f) + lobe
}

pub fn sweep_time_s(spec: &LidarSpec) -> f32 {
    1.0 / spec.rotation_hz
}

/// The parameters of one sweep. `world_from_lidar` is the pose at the frame time, which is
/// when the forward-looking column fires (KITTI triggers its cameras there); with motion
/// distortion on, the sweep runs from half a sweep before to half a sweep after, the ego
/// moving at `ego_velocity` (world frame, constant over the sweep).
pub fn lidar_params(
    spec: &LidarSpec,
    weather: &Weather,
    world_from_lidar: &Affine3A,
    ego_velocity: Vec3,
    seed: u32,
    frame: u32,
) -> LidarParams {
    let (columns, step) = super::columns(spec);
    let half = if spec.motion_distortion {
        0.5 * sweep_time_s(spec)
    } else {
        0.0
    };
    let shift = |dt: f32| Affine3A::from_translation(ego_velocity * dt) * *world_from_lidar;
    let fog_alpha = weather
        .fog_visibility_m
        .map_or(0.0, precip::fog_alpha_per_m);
    let alpha = fog_alpha
        + precip::rain_extinction_per_m(weather.rain_mm_per_h)
        + precip::snow_extinction_per_m(weather.snow_mm_per_h);
    let beta = weather
        .fog_visibility_m
        .map_or(0.0, |v| FOG_BACKSCATTER_PER_MOR / v);
    let rain = weather.rain_mm_per_h > 1e-4;
    let snow = weather.snow_mm_per_h > 1e-4;
    let snowing = snow;
    LidarParams {
        world_from_lidar: affine_rows(&shift(-half)),
        world_from_lidar_end: affine_rows(&shift(half)),
        channels: spec.channels,
        columns,
        min_range_m: spec.min_range_m,
        max_range_m: spec.max_range_m,
        azimuth_start_rad: -std::f32::consts::PI,
        azimuth_step_rad: step,
        extinction_per_m: alpha,
        falloff_range_m: INTENSITY_FALLOFF_RANGE_M,
        tlas_root: 0,
        seed,
        frame,
        return_mode: crate::scenario::lidar_presets::return_mode_id(spec.return_mode),
        min_power_per_m2: min_power_per_m2(spec.detection_range_m),
        noise_stddev_m: spec.noise_stddev_m,
        overlap_start_m: spec.overlap_start_m,
        overlap_full_m: spec.overlap_full_m.max(spec.overlap_start_m),
        fog_backscatter_per_m_sr: beta,
        pulse_length_m: 0.5 * SPEED_OF_LIGHT_M_PER_S * spec.pulse_duration_ns * 1e-9,
        beam_divergence_rad: spec.beam_divergence_mrad * 1e-3,
        beam_aperture_m: BEAM_APERTURE_M,
        rain_n0_per_m3_mm: if rain {
            precip::MARSHALL_PALMER_N0_PER_M3_PER_MM
        } else {
            0.0
        },
        rain_lambda_per_mm: precip::rain_lambda_per_mm(weather.rain_mm_per_h),
        snow_n0_per_m3_mm: if snow {
            precip::snow_n0_per_m3_per_mm(weather.snow_mm_per_h) as f32
        } else {
            0.0
        },
        snow_lambda_per_mm: precip::snow_lambda_per_mm(weather.snow_mm_per_h),
        precip_max_range_m: PRECIP_MAX_RANGE_M.min(spec.max_range_m),
        wetness: if snowing { 0.0 } else { weather.wetness },
        dropoff_general_rate: spec.dropoff_general_rate,
        dropoff_intensity_limit: spec.dropoff_intensity_limit,
        dropoff_zero_intensity: spec.dropoff_zero_intensity,
        snow_cover: if snowing { weather.wetness } else { 0.0 },
        intensity_scale: spec.intensity_scale,
        sweep_s: 2.0 * half,
        _pad: [0; 4],
    }
}

/// Fraction of the sweep at which column `col` fires: (col + 0.5) / columns.
pub fn column_fraction(col: u32, columns: u32) -> f32 {
    (col as f32 + 0.5) / columns as f32
}

/// Firing time of every slot relative to the frame time (seconds; the forward column fires
/// at ≈ 0), for a sweep of `sweep_s` seconds. Slot layout as [`LidarFrame::hits`].
pub fn slot_time_s(slot: usize, channels: u32, columns: u32, sweep_s: f32) -> f32 {
    let rays = (channels * columns) as usize;
    let col = ((slot % rays) / channels as usize) as u32;
    (column_fraction(col, columns) - 0.5) * sweep_s
}

/// Firing times (s, relative to the frame time) of the returns of `frame`, in the order of
/// [`LidarFrame::points`].
pub fn point_times_s(frame: &LidarFrame, sweep_s: f32) -> Vec<f32> {
    frame
        .hits
        .iter()
        .enumerate()
        .filter(|(_, h)| h.label != NO_RETURN)
        .map(|(i, _)| slot_time_s(i, frame.channels, frame.columns, sweep_s))
        .collect()
}

fn rows_to_affine(m: &[[f32; 4]; 3]) -> Affine3A {
    Affine3A::from_cols_array(&[
        m[0][0], m[1][0], m[2][0], m[0][1], m[1][1], m[2][1], m[0][2], m[1][2], m[2][2], m[0][3],
        m[1][3], m[2][3],
    ])
}

/// The lidar's pose at `fraction` of the sweep: it moves linearly from the sweep's start pose
/// to its end pose (as the shader moves it; column `c` fires at [`column_fraction`]).
pub fn world_from_lidar_at(params: &LidarParams, fraction: f32) -> Affine3A {
    let w0 = rows_to_affine(&params.world_from_lidar);
    let w1 = rows_to_affine(&params.world_from_lidar_end);
    Affine3A::from_mat3_translation(
        w0.matrix3.into(),
        Vec3::from(w0.translation).lerp(Vec3::from(w1.translation), fraction),
    )
}

/// The sweep's points moved into the lidar frame at the frame time (the mid-sweep pose):
/// each point is taken from the pose its column fired at (interpolated between the sweep's
/// start and end poses, as the shader does) to the world, then into the reference frame.
/// Slots without a return are kept as they are.
pub fn motion_compensate(frame: &LidarFrame, params: &LidarParams) -> Vec<LidarHit> {
    let reference_from_world = world_from_lidar_at(params, 0.5).inverse();
    let rays = (frame.channels * frame.columns) as usize;
    frame
        .hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if h.label == NO_RETURN {
                return *h;
            }
            let col = ((i % rays) / frame.channels as usize) as u32;
            let s = column_fraction(col, frame.columns);
            let world_from_fire = world_from_lidar_at(params, s);
            let p =
                (reference_from_world * world_from_fire).transform_point3(Vec3::new(h.x, h.y, h.z));
            LidarHit {
                x: p.x,
                y: p.y,
                z: p.z,
                ..*h
            }
        })
        .collect()
}

/// Per-frame weather effect on the rays, LISA's convention (Kilic et al.): rays *lost*
/// (a target detected in clear air hidden by extinction), *scattered* (the reported return is
/// a fog, rain or snow return) and *unaffected* (every other ray with a return). Dual-return
/// second slots are not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WeatherSummary {
    pub rays: u64,
    pub lost: u64,
    pub scattered: u64,
    pub unaffected: u64,
    pub fog_points: u64,
    pub rain_points: u64,
    pub snow_points: u64,
}

pub fn weather_summary(frame: &LidarFrame) -> WeatherSummary {
    let rays = (frame.channels * frame.columns) as usize;
    let mut s = WeatherSummary {
        rays: rays as u64,
        ..Default::default()
    };
    for h in frame.hits.iter().take(rays) {
        if h.label == NO_RETURN {
            if h.intensity < 0.0 {
                s.lost += 1;
            }
            continue;
        }
        let class = (h.label & 0xFFFF) as u16;
        if class == Class::Fog as u16 {
            s.fog_points += 1;
        } else if class == Class::Rain as u16 {
            s.rain_points += 1;
        } else if class == Class::Snow as u16 {
            s.snow_points += 1;
        } else {
            s.unaffected += 1;
            continue;
        }
        s.scattered += 1;
    }
    s
}
