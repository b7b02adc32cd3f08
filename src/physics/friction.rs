//! Road surface state driven by the weather, and the tyre–road friction coefficient μ it gives.
//!
//! The surface is three reservoirs, each per unit road area:
//!
//! * **Water film** `water_film_mm` (depth of liquid water). A linear reservoir:
//!   `dW/dt = R_rain/3600 + melt − W/τ_dry`, with `τ_dry = ` [`WATER_FILM_TIME_CONSTANT_S`]
//!   (300 s) standing for drainage (cross-fall, texture) and evaporation together. In steady rain
//!   the film settles at `W = R·τ/3600` (1 mm/h → 0.08 mm, 10 mm/h → 0.8 mm, 50 mm/h → 4.2 mm,
//!   the range of water-film depths that Gallaway et al. (1979) and PIARC report for rain on
//!   ordinary cross-falls), capped at [`MAX_WATER_FILM_MM`]. After the rain stops the film decays
//!   as `exp(−t/τ)`: a road wet from 10 mm/h rain reads [`SurfaceKind::Dry`] after
//!   `τ·ln(0.83/0.05) ≈ 14 min`, in line with how long a road stays visibly wet. τ is a modelling
//!   choice, not a measured constant: tune it per scene if a drive says otherwise.
//! * **Snow cover** `snow_depth_mm` (depth of the snow layer, not its water equivalent). Snowfall is
//!   given as a melted-water rate (mm/h, as in Gunn–Marshall) and accumulates with the fresh-snow
//!   density ratio [`SNOW_DEPTH_PER_WATER_MM`] = 10 ("ten-to-one rule": fresh snow about
//!   100 kg/m³ against water's 1000 kg/m³; Roebber et al. 2003 give a climatological mean near
//!   this). Above 0 °C it melts at [`SNOW_MELT_MM_WATER_PER_H_PER_C`] (degree-hour factor of a
//!   trafficked, warm pavement; a modelling choice) into the water film.
//! * **Ice fraction** `ice_fraction` in [0, 1]. Below 0 °C the water film freezes to ice with the
//!   time constant [`FREEZE_TIME_CONSTANT_S`] while the film is at least [`FREEZE_MIN_FILM_MM`]
//!   deep; above 0 °C ice melts back with
//!   [`THAW_TIME_CONSTANT_S`].
//!
//! Without an air temperature (`air_temp_c: None`) there are no phase changes: snow stays, water
//! does not freeze, existing ice stays. Temperatures are air temperatures, used as a proxy for the
//! pavement temperature.
//!
//! Friction values ([`mu_dry`] …) follow the ranges in REFERENCE.md "Road and vehicle", which come
//! from the road-safety literature: Wallman & Åström (2001), *Friction measurement methods and the
//! correlation between road friction and traffic safety*, VTI meddelande 911A (dry asphalt 0.8–0.9,
//! wet 0.5–0.7, packed snow 0.2–0.3, ice 0.05–0.15); the PIARC international friction experiment
//! (1995) for the fall of wet friction with speed and water-film depth; and Bosch, *Automotive
//! Handbook* (tyre–road adhesion table: dry 0.85, wet 0.45–0.65 falling with speed and film depth,
//! packed snow 0.3, ice 0.1).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Time constant of water-film drainage plus evaporation (s). See the module docs.
pub const WATER_FILM_TIME_CONSTANT_S: f32 = 300.0;
/// Deepest water film the road holds (mm): beyond this water runs off as fast as it falls.
pub const MAX_WATER_FILM_MM: f32 = 5.0;
/// Snow depth per millimetre of melted water (fresh-snow density 100 kg/m³, the 10:1 rule).
pub const SNOW_DEPTH_PER_WATER_MM: f32 = 10.0;
/// Melt rate of road snow in mm of water per hour per °C above freezing (modelling choice).
pub const SNOW_MELT_MM_WATER_PER_H_PER_C: f32 = 0.5;
/// Time constant for a water film to freeze below 0 °C (s).
pub const FREEZE_TIME_CONSTANT_S: f32 = 600.0;
/// Thinnest water film (mm) that freezes into ice: a merely damp road does not ice over.
pub const FREEZE_MIN_FILM_MM: f32 = 0.01;
/// Time constant for ice to melt above 0 °C (s).
pub const THAW_TIME_CONSTANT_S: f32 = 900.0;

/// Water film (mm) from which the road counts as wet rather than damp/dry.
pub const WET_FILM_THRESHOLD_MM: f32 = 0.05;
/// Snow depth (mm) at which snow covers the whole tyre contact patch (μ is then packed snow's).
pub const SNOW_FULL_COVER_MM: f32 = 5.0;
/// Ice fraction from which the surface is classified as ice.
pub const ICE_FRACTION_THRESHOLD: f32 = 0.5;
/// Film depth (mm) beyond which extra water no longer lowers μ (wet μ is at its floor).
pub const WET_FILM_SATURATION_MM: f32 = 2.0;
/// Speed (m/s) beyond which wet μ no longer falls with speed (100 km/h).
pub const WET_SPEED_SATURATION_M_PER_S: f32 = 100.0 / 3.6;

/// Errors in weather input for the surface model.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FrictionError {
    #[error("surface weather field `{field}` must be finite and >= 0, got {value}")]
    BadRate { field: &'static str, value: f32 },
    #[error("surface weather field `air_temp_c` must be finite, got {value}")]
    BadTemperature { value: f32 },
    #[error("time step `dt_s` must be finite and >= 0, got {value}")]
    BadTimeStep { value: f32 },
}

/// Weather as seen by the road surface during one step.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SurfaceWeather {
    /// Rainfall rate (mm/h of water).
    pub rain_mm_per_h: f32,
    /// Snowfall rate as melted water (mm/h), as in Gunn–Marshall.
    pub snow_mm_per_h: f32,
    /// Air temperature (°C); `None`: no freezing or melting.
    pub air_temp_c: Option<f32>,
}

impl SurfaceWeather {
    /// Checks the rates and temperature.
    pub fn validate(&self) -> Result<(), FrictionError> {
        for (field, value) in [
            ("rain_mm_per_h", self.rain_mm_per_h),
            ("snow_mm_per_h", self.snow_mm_per_h),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(FrictionError::BadRate { field, value });
            }
        }
        if let Some(t) = self.air_temp_c
            && !t.is_finite()
        {
            return Err(FrictionError::BadTemperature { value: t });
        }
        Ok(())
    }
}

/// What the surface is, for labels and for μ at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SurfaceKind {
    Dry,
    Wet,
    Snow,
    Ice,
}

impl SurfaceKind {
    /// Representative μ for the kind at low speed (dry 0.8, wet 0.55, packed snow 0.3, ice 0.1).
    pub fn nominal_mu(self) -> f32 {
        match self {
            SurfaceKind::Dry => MU_DRY,
            SurfaceKind::Wet => 0.5 * (MU_WET_MAX + MU_WET_MIN),
            SurfaceKind::Snow => MU_PACKED_SNOW,
            SurfaceKind::Ice => MU_ICE,
        }
    }
}

/// μ on dry asphalt (0.7–0.9).
pub const MU_DRY: f32 = 0.8;
/// μ on a damp road at low speed (top of the wet range 0.45–0.65).
pub const MU_WET_MAX: f32 = 0.65;
/// μ on a flooded road at 100 km/h and above (bottom of the wet range).
pub const MU_WET_MIN: f32 = 0.45;
/// μ on packed snow (0.25–0.35).
pub const MU_PACKED_SNOW: f32 = 0.3;
/// μ on ice (0.05–0.15).
pub const MU_ICE: f32 = 0.1;

/// μ on dry asphalt.
pub fn mu_dry() -> f32 {
    MU_DRY
}

/// μ on a wet road: 0.65 for a thin film at low speed, falling linearly by 0.10 with film depth up
/// to [`WET_FILM_SATURATION_MM`] and by 0.10 with speed up to 100 km/h, to 0.45 (PIARC 1995; Bosch
/// Automotive Handbook). Hydroplaning (μ → 0 above ~80–90 km/h in deep puddles) is not modelled.
pub fn mu_wet(water_film_mm: f32, speed_m_per_s: f32) -> f32 {
    let film = (water_film_mm.max(0.0) / WET_FILM_SATURATION_MM).min(1.0);
    let speed = (speed_m_per_s.abs() / WET_SPEED_SATURATION_M_PER_S).min(1.0);
    let span = MU_WET_MAX - MU_WET_MIN;
    MU_WET_MAX - 0.5 * span * film - 0.5 * span * speed
}

/// State of one stretch of road surface.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RoadSurface {
    /// Liquid water film depth (mm).
    pub water_film_mm: f32,
    /// Snow layer depth (mm of snow, not water equivalent).
    pub snow_depth_mm: f32,
    /// Fraction of the surface covered by ice, in [0, 1].
    pub ice_fraction: f32,
}

impl RoadSurface {
    /// A dry road.
    pub fn dry() -> Self {
        Self::default()
    }

    /// Advances the surface by `dt_s` under `weather`. Exact for constant inputs over the step
    /// (exponential relaxation), so any `dt_s` is stable.
    pub fn step(&mut self, weather: &SurfaceWeather, dt_s: f32) -> Result<(), FrictionError> {
        weather.validate()?;
        if !dt_s.is_finite() || dt_s < 0.0 {
            return Err(FrictionError::BadTimeStep { value: dt_s });
        }
        let dt_h = dt_s / 3600.0;

        // Snow: accumulate, then melt above 0 °C into the water film.
        self.snow_depth_mm += weather.snow_mm_per_h * dt_h * SNOW_DEPTH_PER_WATER_MM;
        let mut melt_water_mm = 0.0;
        if let Some(t) = weather.air_temp_c
            && t > 0.0
        {
            let melt_capacity_mm = SNOW_MELT_MM_WATER_PER_H_PER_C * t * dt_h;
            melt_water_mm = melt_capacity_mm.min(self.snow_depth_mm / SNOW_DEPTH_PER_WATER_MM);
            self.snow_depth_mm -= melt_water_mm * SNOW_DEPTH_PER_WATER_MM;
            self.snow_depth_mm = self.snow_depth_mm.max(0.0);
        }

        // Water film: linear reservoir, solved exactly for a constant inflow over the step.
        let inflow_mm_per_s = weather.rain_mm_per_h / 3600.0 + melt_water_mm / dt_s.max(1e-9);
        let equilibrium_mm = inflow_mm_per_s * WATER_FILM_TIME_CONSTANT_S;
        let decay = (-dt_s / WATER_FILM_TIME_CONSTANT_S).exp();
        self.water_film_mm = equilibrium_mm + (self.water_film_mm - equilibrium_mm) * decay;
        self.water_film_mm = self.water_film_mm.clamp(0.0, MAX_WATER_FILM_MM);

        // Ice: freeze the film below 0 °C, thaw above.
        if let Some(t) = weather.air_temp_c {
            if t < 0.0 && self.water_film_mm >= FREEZE_MIN_FILM_MM {
                let target = 1.0;
                let k = (-dt_s / FREEZE_TIME_CONSTANT_S).exp();
                self.ice_fraction = target + (self.ice_fraction - target) * k;
            } else if t > 0.0 {
                let k = (-dt_s / THAW_TIME_CONSTANT_S).exp();
                self.ice_fraction *= k;
            }
        }
        self.ice_fraction = self.ice_fraction.clamp(0.0, 1.0);
        Ok(())
    }

    /// What the surface is: ice first, then snow, then wet, else dry.
    pub fn kind(&self) -> SurfaceKind {
        if self.ice_fraction >= ICE_FRACTION_THRESHOLD {
            SurfaceKind::Ice
        } else if self.snow_depth_mm >= 0.5 * SNOW_FULL_COVER_MM {
            SurfaceKind::Snow
        } else if self.water_film_mm >= WET_FILM_THRESHOLD_MM {
            SurfaceKind::Wet
        } else {
            SurfaceKind::Dry
        }
    }

    /// Tyre–road friction coefficient at `speed_m_per_s`. Continuous in the state: the bare road
    /// (dry, or wet by [`mu_wet`] once the film passes [`WET_FILM_THRESHOLD_MM`], blended in over
    /// the first threshold's depth) is blended toward packed snow by snow cover
    /// (`snow_depth_mm / SNOW_FULL_COVER_MM`) and toward ice by `ice_fraction`.
    pub fn mu(&self, speed_m_per_s: f32) -> f32 {
        let wetness = (self.water_film_mm / WET_FILM_THRESHOLD_MM).clamp(0.0, 1.0);
        let bare = MU_DRY + (mu_wet(self.water_film_mm, speed_m_per_s) - MU_DRY) * wetness;
        let snow_cover = (self.snow_depth_mm / SNOW_FULL_COVER_MM).clamp(0.0, 1.0);
        let with_snow = bare + (MU_PACKED_SNOW - bare) * snow_cover;
        with_snow + (MU_ICE - with_snow) * self.ice_fraction.clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_table_values() {
        let dry = RoadSurface::dry();
        assert_eq!(dry.kind(), SurfaceKind::Dry);
        assert!((dry.mu(20.0) - 0.8).abs() < 1e-6);
        let ice = RoadSurface {
            ice_fraction: 1.0,
            ..Default::default()
        };
        assert_eq!(ice.kind(), SurfaceKind::Ice);
        assert!((ice.mu(20.0) - 0.1).abs() < 1e-6);
        let snow = RoadSurface {
            snow_depth_mm: 20.0,
            ..Default::default()
        };
        assert_eq!(snow.kind(), SurfaceKind::Snow);
        assert!((snow.mu(20.0) - 0.3).abs() < 1e-6);
    }

    #[test]
    fn wet_mu_falls_with_film_and_speed_inside_published_range() {
        let mut last = f32::INFINITY;
        for film in [0.05, 0.2, 0.5, 1.0, 2.0, 4.0] {
            let mu = mu_wet(film, 10.0);
            assert!(mu <= last && (0.45..=0.65).contains(&mu));
            last = mu;
        }
        assert!(mu_wet(1.0, 5.0) > mu_wet(1.0, 30.0));
        assert!((mu_wet(3.0, 40.0) - 0.45).abs() < 1e-6);
    }

    #[test]
    fn bad_weather_is_an_error() {
        let mut s = RoadSurface::dry();
        let w = SurfaceWeather {
            rain_mm_per_h: f32::NAN,
            ..Default::default()
        };
        assert!(s.step(&w, 1.0).is_err());
        assert!(s.step(&SurfaceWeather::default(), -1.0).is_err());
    }

    #[test]
    fn freezing_water_turns_to_ice_and_thaws() {
        let mut s = RoadSurface {
            water_film_mm: 0.5,
            ..Default::default()
        };
        let cold = SurfaceWeather {
            air_temp_c: Some(-5.0),
            ..Default::default()
        };
        for _ in 0..3600 {
            s.step(&cold, 1.0).unwrap();
        }
        assert_eq!(s.kind(), SurfaceKind::Ice);
        let warm = SurfaceWeather {
            air_temp_c: Some(5.0),
            ..Default::default()
        };
        for _ in 0..7200 {
            s.step(&warm, 1.0).unwrap();
        }
        assert_ne!(s.kind(), SurfaceKind::Ice);
    }
}
