//! Lidar presets (real sensors' beam tables, timing and detection) and the resolution of what a
//! scenario writes ([`LidarSpecRaw`]) into a complete [`LidarSpec`].
//!
//! Sources for the numbers are given per preset; values marked "check" are engineering
//! estimates where the datasheet is silent. `docs/lidar.md` tabulates them.

use crate::scenario::{Elevations, LidarPreset, LidarSpec, LidarSpecRaw, ReturnMode};

/// Everything a preset fixes (the pose comes from the scenario).
#[derive(Clone, Debug, PartialEq)]
pub struct PresetValues {
    pub channels: u32,
    /// Beam elevations, degrees, top beam first.
    pub elevations_deg: Vec<f32>,
    pub rotation_hz: f32,
    /// Single-return firings per second (all lasers); sets the azimuth step with the rate.
    pub points_per_second: f32,
    pub min_range_m: f32,
    pub max_range_m: f32,
    pub noise_stddev_m: f32,
    pub detection_range_m: f32,
    pub beam_divergence_mrad: f32,
    pub pulse_duration_ns: f32,
    pub overlap_start_m: f32,
    pub overlap_full_m: f32,
    /// Gain to the sensor's reported intensity scale (see `LidarSpec::intensity_scale`).
    pub intensity_scale: f32,
}

/// HDL-64E S2 elevations (KITTI's sensor): the upper block's 32 lasers from +2.0° down in
/// 1/3° steps (HDL-64E S2 manual) to −8.33°, the lower block's 32 lasers spread evenly from
/// −8.83° to −24.9° (KITTI's quoted extent, Geiger et al. 2013). Individual units deviate
/// from the nominal design by up to ~0.2° per laser (their `db.xml` calibration): load such
/// a table with `elevations: Table([...])`.
pub fn hdl64e_elevations_deg() -> Vec<f32> {
    let upper = (0..32).map(|i| 2.0 - i as f32 / 3.0);
    let lower = (0..32).map(|i| -8.833 + (-24.9 + 8.833) * i as f32 / 31.0);
    upper.chain(lower).collect()
}

/// HDL-32E: 32 lasers from +10.67° to −30.67° in equal steps of 1.333° (HDL-32E manual),
/// top first.
pub fn hdl32e_elevations_deg() -> Vec<f32> {
    (0..32)
        .map(|i| 10.67 + (-30.67 - 10.67) * i as f32 / 31.0)
        .collect()
}

/// VLP-16: 16 lasers from +15° to −15° in 2° steps (VLP-16 manual), top first.
pub fn vlp16_elevations_deg() -> Vec<f32> {
    (0..16).map(|i| 15.0 - 2.0 * i as f32).collect()
}

/// OS1-128: 128 channels evenly over +22.5° to −22.5° (uniform beam spacing, Ouster OS1
/// datasheet; units report their own `beam_altitude_angles`).
pub fn os1_128_elevations_deg() -> Vec<f32> {
    (0..128).map(|i| 22.5 - 45.0 * i as f32 / 127.0).collect()
}

/// The values of a preset.
/// Gain from the physical return to the HDL-64E's reported intensity (KITTI reflectance).
pub const HDL64E_INTENSITY_SCALE: f32 = 2.15;

pub fn preset_values(p: LidarPreset) -> PresetValues {
    match p {
        // HDL-64E S2: each laser fires at ~20.8 kHz, so 64 × 20 833 ≈ 1.333 M firings/s;
        // 0.1728° at 10 Hz (KITTI), 0.0864° at 5 Hz, 0.3456° at 20 Hz. Range 120 m for cars
        // and foliage, 50 m for pavement; accuracy < 2 cm (datasheet). Beam divergence
        // ~2 mrad, pulse ~5 ns (check).
        LidarPreset::VelodyneHdl64e => PresetValues {
            channels: 64,
            elevations_deg: hdl64e_elevations_deg(),
            rotation_hz: 10.0,
            points_per_second: 64.0 * 20_833.33,
            min_range_m: 0.9,
            max_range_m: 120.0,
            noise_stddev_m: 0.02,
            detection_range_m: 65.0,
            beam_divergence_mrad: 2.0,
            pulse_duration_ns: 5.0,
            overlap_start_m: 0.9,
            overlap_full_m: 6.0,
            // Reported intensity on KITTI's reflectance scale: calibrated so that the quickstart
            // scene's mean intensity matches the shared KITTI frames (0.27; `verisim check`).
            intensity_scale: HDL64E_INTENSITY_SCALE,
        },
        // HDL-32E: a firing cycle of 46.08 µs per laser (21.7 kHz): 694 k points/s,
        // 0.166° at 10 Hz, 0.33° at 20 Hz (nuScenes). 80–100 m range, < 2 cm accuracy.
        LidarPreset::VelodyneHdl32e => PresetValues {
            channels: 32,
            elevations_deg: hdl32e_elevations_deg(),
            rotation_hz: 20.0,
            points_per_second: 32.0 / 46.08e-6,
            min_range_m: 1.0,
            max_range_m: 100.0,
            noise_stddev_m: 0.02,
            detection_range_m: 60.0,
            beam_divergence_mrad: 2.8,
            pulse_duration_ns: 5.0,
            overlap_start_m: 1.0,
            overlap_full_m: 6.0,
            // Not calibrated against real frames yet: physical units.
            intensity_scale: 1.0,
        },
        // VLP-16: firing cycle 55.296 µs per laser: 289 k points/s, 0.2° at 10 Hz.
        // 100 m range, ±3 cm accuracy, divergence 3.0 × 1.5 mrad (datasheet).
        LidarPreset::VelodyneVlp16 => PresetValues {
            channels: 16,
            elevations_deg: vlp16_elevations_deg(),
            rotation_hz: 10.0,
            points_per_second: 16.0 / 55.296e-6,
            min_range_m: 1.0,
            max_range_m: 100.0,
            noise_stddev_m: 0.03,
            detection_range_m: 55.0,
            beam_divergence_mrad: 3.0,
            pulse_duration_ns: 6.0,
            overlap_start_m: 1.0,
            overlap_full_m: 5.0,
            // Not calibrated against real frames yet: physical units.
            intensity_scale: 1.0,
        },
        // OS1-128: 1024 columns at 10 Hz (also 512/2048), 128 channels: 1.31 M points/s;
        // 0.3–120 m (check the revision), precision ±3 cm, divergence 0.18° ≈ 3.1 mrad. It
        // works at 865 nm; the 905 nm reflectivities are used as they are.
        LidarPreset::OusterOs1_128 => PresetValues {
            channels: 128,
            elevations_deg: os1_128_elevations_deg(),
            rotation_hz: 10.0,
            points_per_second: 128.0 * 1024.0 * 10.0,
            min_range_m: 0.3,
            max_range_m: 120.0,
            noise_stddev_m: 0.03,
            detection_range_m: 60.0,
            beam_divergence_mrad: 3.1,
            pulse_duration_ns: 5.0,
            overlap_start_m: 0.3,
            overlap_full_m: 4.0,
            // Not calibrated against real frames yet: physical units.
            intensity_scale: 1.0,
        },
    }
}

/// Azimuth step (degrees) of `points_per_second` firings spread over `channels` lasers at
/// `rotation_hz`: 360·channels·rotation_hz / points_per_second.
pub fn azimuth_step_deg(channels: u32, rotation_hz: f32, points_per_second: f32) -> f32 {
    360.0 * channels as f32 * rotation_hz / points_per_second
}

/// Resolves a scenario's lidar: preset values first, then the fields written beside them;
/// without a preset, the ideal defaults.
pub fn resolve(raw: LidarSpecRaw) -> Result<LidarSpec, String> {
    let base = raw.preset.map(preset_values);
    let channels = raw
        .channels
        .or(base.as_ref().map(|b| b.channels))
        .ok_or("`channels` is required without a `preset`")?;
    let elevations = match (&raw.elevations, raw.upper_fov, raw.lower_fov) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err("write either `elevations` or `upper_fov`/`lower_fov`, not both".into());
        }
        (Some(e), None, None) => e.clone(),
        (None, Some(upper_deg), Some(lower_deg)) => Elevations::Uniform {
            upper_deg,
            lower_deg,
        },
        (None, Some(_), None) | (None, None, Some(_)) => {
            return Err("`upper_fov` and `lower_fov` go together".into());
        }
        (None, None, None) => match &base {
            Some(b) => Elevations::Table(b.elevations_deg.clone()),
            None => {
                return Err(
                    "`elevations` (or `upper_fov`/`lower_fov`) is required without a `preset`"
                        .into(),
                );
            }
        },
    };
    let rotation_hz = raw
        .rotation_hz
        .or(base.as_ref().map(|b| b.rotation_hz))
        .unwrap_or(10.0);
    let azimuth_resolution_deg = match (raw.azimuth_resolution_deg, raw.points_per_second) {
        (Some(_), Some(_)) => {
            return Err(
                "write either `azimuth_resolution_deg` or `points_per_second`, not both".into(),
            );
        }
        (Some(a), None) => a,
        (None, Some(pps)) => azimuth_step_deg(channels, rotation_hz, pps),
        (None, None) => match &base {
            Some(b) => azimuth_step_deg(channels, rotation_hz, b.points_per_second),
            None => {
                return Err(
                    "`azimuth_resolution_deg` (or `points_per_second`) is required without a `preset`"
                        .into(),
                );
            }
        },
    };
    let pick = |v: Option<f32>, from_base: fn(&PresetValues) -> f32, ideal: f32| {
        v.or(base.as_ref().map(from_base)).unwrap_or(ideal)
    };
    Ok(LidarSpec {
        preset: raw.preset,
        channels,
        elevations,
        azimuth_resolution_deg,
        rotation_hz,
        min_range_m: pick(raw.min_range_m, |b| b.min_range_m, 0.9),
        max_range_m: pick(raw.max_range_m, |b| b.max_range_m, 120.0),
        noise_stddev_m: pick(raw.noise_stddev_m, |b| b.noise_stddev_m, 0.0),
        detection_range_m: pick(raw.detection_range_m, |b| b.detection_range_m, 0.0),
        dropoff_general_rate: raw.dropoff_general_rate.unwrap_or(0.0),
        dropoff_intensity_limit: raw.dropoff_intensity_limit.unwrap_or(0.0),
        dropoff_zero_intensity: raw.dropoff_zero_intensity.unwrap_or(0.0),
        return_mode: raw.return_mode.unwrap_or_default(),
        motion_distortion: raw.motion_distortion.unwrap_or(base.is_some()),
        beam_divergence_mrad: pick(raw.beam_divergence_mrad, |b| b.beam_divergence_mrad, 2.0),
        pulse_duration_ns: pick(raw.pulse_duration_ns, |b| b.pulse_duration_ns, 5.0),
        overlap_start_m: pick(raw.overlap_start_m, |b| b.overlap_start_m, 0.9),
        overlap_full_m: pick(raw.overlap_full_m, |b| b.overlap_full_m, 6.0),
        intensity_scale: pick(raw.intensity_scale, |b| b.intensity_scale, 1.0),
        pose: raw.pose,
        compensated_points: raw.compensated_points.unwrap_or(false),
    })
}

/// Shorthand used by [`ReturnMode`] consumers.
pub fn return_mode_id(m: ReturnMode) -> u32 {
    use crate::abi::{RETURN_DUAL, RETURN_LAST, RETURN_STRONGEST};
    match m {
        ReturnMode::Strongest => RETURN_STRONGEST,
        ReturnMode::Last => RETURN_LAST,
        ReturnMode::Dual => RETURN_DUAL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_the_documented_extents() {
        let cases = [
            (LidarPreset::VelodyneHdl64e, 64, 2.0, -24.9),
            (LidarPreset::VelodyneHdl32e, 32, 10.67, -30.67),
            (LidarPreset::VelodyneVlp16, 16, 15.0, -15.0),
            (LidarPreset::OusterOs1_128, 128, 22.5, -22.5),
        ];
        for (p, n, top, bottom) in cases {
            let v = preset_values(p);
            assert_eq!(v.channels, n);
            assert_eq!(v.elevations_deg.len(), n as usize);
            assert!((v.elevations_deg[0] - top).abs() < 1e-3, "{p:?}");
            assert!(
                (v.elevations_deg[n as usize - 1] - bottom).abs() < 1e-3,
                "{p:?}"
            );
            assert!(v.elevations_deg.windows(2).all(|w| w[0] > w[1]), "{p:?}");
        }
        // HDL-64E upper block spacing 1/3°, lower block about 0.52°.
        let e = hdl64e_elevations_deg();
        assert!((e[0] - e[1] - 1.0 / 3.0).abs() < 1e-5);
        assert!((e[40] - e[41] - 0.5183).abs() < 1e-3);
    }

    #[test]
    fn hdl64e_azimuth_step_follows_the_rotation_rate() {
        let v = preset_values(LidarPreset::VelodyneHdl64e);
        for (hz, step) in [(5.0, 0.0864), (10.0, 0.1728), (20.0, 0.3456)] {
            let s = azimuth_step_deg(64, hz, v.points_per_second);
            assert!((s - step).abs() < 1e-4, "{hz} Hz: {s}");
        }
    }
}
