//! Per-value range checks run while a scenario is parsed, so errors carry a line and column.

use serde::{Deserialize, Deserializer, de::Error};

/// Largest image side accepted, pixels.
pub const MAX_IMAGE_SIDE: u32 = 16384;
/// Most lidar channels accepted.
pub const MAX_CHANNELS: u32 = 512;

fn check<'de, D, T, F>(d: D, ok: F, expected: &str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + std::fmt::Display + Copy,
    F: Fn(T) -> bool,
{
    let v = T::deserialize(d)?;
    if ok(v) {
        Ok(v)
    } else {
        Err(D::Error::custom(format!("expected {expected}, found {v}")))
    }
}

pub fn non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    check(d, |v: f32| v.is_finite() && v >= 0.0, "a finite number ≥ 0")
}

pub fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    check(d, |v: f32| v.is_finite() && v > 0.0, "a finite number > 0")
}

pub fn optional_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    let v = Option::<f32>::deserialize(d)?;
    match v {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(D::Error::custom(format!(
            "expected a finite number > 0, found {x}"
        ))),
        _ => Ok(v),
    }
}

pub fn optional_non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    let v = Option::<f32>::deserialize(d)?;
    match v {
        Some(x) if !(x.is_finite() && x >= 0.0) => Err(D::Error::custom(format!(
            "expected a finite number ≥ 0, found {x}"
        ))),
        _ => Ok(v),
    }
}

pub fn unit_interval<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    check(d, |v: f32| (0.0..=1.0).contains(&v), "a number in [0, 1]")
}

pub fn psf_sigma_px<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    check(
        d,
        |v: f32| (0.0..=2.0).contains(&v),
        "a PSF standard deviation in pixels within [0, 2]",
    )
}

pub fn angle_deg<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    check(
        d,
        |v: f32| v.is_finite() && v.abs() <= 360.0,
        "an angle in degrees within [-360, 360]",
    )
}

pub fn rate_hz<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    check(
        d,
        |v: f32| v.is_finite() && v > 0.0 && v <= 1000.0,
        "a rate in Hz within (0, 1000]",
    )
}

pub fn positive_u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    check(d, |v: u32| v > 0, "an integer ≥ 1")
}

pub fn image_side<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    check(
        d,
        |v: u32| (1..=MAX_IMAGE_SIDE).contains(&v),
        "an image side in pixels within [1, 16384]",
    )
}

pub fn channels<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    check(
        d,
        |v: u32| (1..=MAX_CHANNELS).contains(&v),
        "a channel count within [1, 512]",
    )
}

// Optional fields written plainly (`noise_stddev_m: 0.02`, not `Some(0.02)`), checked like the
// required ones; an absent field stays `None` (with `#[serde(default)]`).

pub fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

pub fn some_non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    non_negative(d).map(Some)
}

pub fn some_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    positive(d).map(Some)
}

pub fn some_unit_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    unit_interval(d).map(Some)
}

pub fn some_rate_hz<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    rate_hz(d).map(Some)
}

pub fn some_channels<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    channels(d).map(Some)
}

pub fn some_elevation_deg<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    check(
        d,
        |v: f32| v.is_finite() && v.abs() <= 90.0,
        "an elevation in degrees within [-90, 90]",
    )
    .map(Some)
}
