//! Scenario schema v1: the RON types a user writes in `scenes/*.ron`.
//!
//! Every field carries its unit in its name. Range checks that concern one value run while the
//! file is parsed (through `deserialize_with`), so a bad value is reported at its line and
//! column; checks that relate several values run afterwards in [`super::validate`].

use serde::{Deserialize, Serialize};

use super::checks::{
    angle_deg, channels, non_negative, positive, positive_u32, rate_hz, unit_interval,
};

/// Current schema version; files may omit it.
pub const SCHEMA_VERSION: u32 = 1;

fn default_schema() -> u32 {
    SCHEMA_VERSION
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Schema version of this file (1).
    #[serde(default = "default_schema")]
    pub schema: u32,
    /// Short name; used in dataset manifests.
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub map: MapSpec,
    #[serde(default)]
    pub actors: Vec<ActorSpec>,
    #[serde(default)]
    pub weather: Weather,
    pub ego: EgoSpec,
    pub rig: Rig,
    pub run: RunSpec,
}

// ---------------------------------------------------------------- map

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MapSpec {
    /// Side of the square terrain plane centred on the origin, metres (0 = no ground).
    #[serde(default = "default_ground", deserialize_with = "non_negative")]
    pub ground_size_m: f32,
    #[serde(default)]
    pub roads: Vec<RoadSpec>,
    #[serde(default)]
    pub intersections: Vec<IntersectionSpec>,
    /// Free-standing boxes (walls, test targets, extra buildings).
    #[serde(default)]
    pub boxes: Vec<BoxSpec>,
}

fn default_ground() -> f32 {
    600.0
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub enum RoadShape {
    /// A straight road from one point to another (x, y in metres).
    Straight { from: (f32, f32), to: (f32, f32) },
    /// A circular arc, counter-clockwise from `start_deg` to `end_deg` (degrees from +x).
    Arc {
        center: (f32, f32),
        radius_m: f32,
        start_deg: f32,
        end_deg: f32,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoadSpec {
    pub shape: RoadShape,
    /// Lanes in each direction (a two-way road with 1 has two lanes).
    #[serde(default = "one", deserialize_with = "positive_u32")]
    pub lanes_per_direction: u32,
    #[serde(default = "lane_width", deserialize_with = "positive")]
    pub lane_width_m: f32,
    /// Sidewalk on each side (0 = none).
    #[serde(default = "sidewalk_width", deserialize_with = "non_negative")]
    pub sidewalk_width_m: f32,
    #[serde(default = "speed_limit", deserialize_with = "positive")]
    pub speed_limit_m_per_s: f32,
    #[serde(default)]
    pub roadside: Roadside,
}

fn one() -> u32 {
    1
}
fn lane_width() -> f32 {
    3.5
}
fn sidewalk_width() -> f32 {
    2.5
}
fn speed_limit() -> f32 {
    13.9
}

/// What stands beside a road, placed deterministically from the scenario seed.
/// A spacing of 0 disables that kind of object.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Roadside {
    #[serde(deserialize_with = "non_negative")]
    pub building_spacing_m: f32,
    /// Distance from the sidewalk's outer edge to the building front.
    #[serde(deserialize_with = "non_negative")]
    pub building_setback_m: f32,
    #[serde(deserialize_with = "positive")]
    pub building_min_height_m: f32,
    #[serde(deserialize_with = "positive")]
    pub building_max_height_m: f32,
    #[serde(deserialize_with = "non_negative")]
    pub tree_spacing_m: f32,
    #[serde(deserialize_with = "non_negative")]
    pub pole_spacing_m: f32,
    #[serde(deserialize_with = "non_negative")]
    pub parked_car_spacing_m: f32,
}

impl Default for Roadside {
    fn default() -> Self {
        Roadside {
            building_spacing_m: 0.0,
            building_setback_m: 2.0,
            building_min_height_m: 6.0,
            building_max_height_m: 18.0,
            tree_spacing_m: 0.0,
            pole_spacing_m: 0.0,
            parked_car_spacing_m: 0.0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IntersectionSpec {
    pub center: (f32, f32),
    /// Directions of the arms, degrees from +x: four for a 4-way, three for a T.
    pub arms_deg: Vec<f32>,
    /// Side of the paved square, metres.
    #[serde(default = "intersection_size", deserialize_with = "positive")]
    pub size_m: f32,
    #[serde(default = "yes")]
    pub crosswalks: bool,
    #[serde(default)]
    pub signals: bool,
}

fn intersection_size() -> f32 {
    14.0
}
fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BoxSpec {
    /// Centre of the footprint on the ground (x, y) and yaw.
    pub center: (f32, f32),
    #[serde(default, deserialize_with = "angle_deg")]
    pub yaw_deg: f32,
    /// Length (along yaw), width, height in metres.
    pub size_m: (f32, f32, f32),
    #[serde(default)]
    pub class: BoxClass,
    /// Material name from `assets/materials.ron`; default follows the class.
    #[serde(default)]
    pub material: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum BoxClass {
    #[default]
    Building,
    Wall,
    TrafficSign,
}

// ---------------------------------------------------------------- actors

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum ActorKind {
    Car,
    Van,
    Truck,
    Bus,
    Pedestrian,
    Cyclist,
}

impl ActorKind {
    /// Length, width, height in metres of a typical actor of this kind.
    pub fn default_size_m(self) -> (f32, f32, f32) {
        match self {
            ActorKind::Car => (4.5, 1.8, 1.5),
            ActorKind::Van => (5.1, 2.0, 2.1),
            ActorKind::Truck => (8.5, 2.5, 3.4),
            ActorKind::Bus => (12.0, 2.55, 3.2),
            ActorKind::Pedestrian => (0.5, 0.6, 1.75),
            ActorKind::Cyclist => (1.8, 0.6, 1.75),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ActorSpec {
    pub kind: ActorKind,
    /// Length, width, height in metres; default from the kind.
    #[serde(default)]
    pub size_m: Option<(f32, f32, f32)>,
    /// Body material from `assets/materials.ron` (e.g. "paint_red"); default by kind.
    #[serde(default)]
    pub material: Option<String>,
    /// Spawn pose (x m, y m, yaw deg). Default: the first route point, facing the second.
    #[serde(default)]
    pub spawn: Option<(f32, f32, f32)>,
    /// Waypoints (x, y) in metres followed at `speed_m_per_s`; empty = parked.
    #[serde(default)]
    pub route: Vec<(f32, f32)>,
    #[serde(default, deserialize_with = "non_negative")]
    pub speed_m_per_s: f32,
    /// Start again from the first waypoint after the last one.
    #[serde(default)]
    pub loop_route: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EgoSpec {
    #[serde(default)]
    pub spawn: Option<(f32, f32, f32)>,
    #[serde(default)]
    pub route: Vec<(f32, f32)>,
    #[serde(default, deserialize_with = "non_negative")]
    pub speed_m_per_s: f32,
    #[serde(default)]
    pub loop_route: bool,
}

// ---------------------------------------------------------------- weather

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Weather {
    /// Sun elevation above the horizon; negative is night.
    #[serde(deserialize_with = "angle_deg")]
    pub sun_elevation_deg: f32,
    /// Sun azimuth, degrees counter-clockwise from +x (world).
    #[serde(deserialize_with = "angle_deg")]
    pub sun_azimuth_deg: f32,
    /// Fraction of the sky covered by cloud, 0–1.
    #[serde(deserialize_with = "unit_interval")]
    pub cloud_cover: f32,
    /// Meteorological optical range in metres; absent = clear air.
    #[serde(deserialize_with = "super::checks::optional_positive")]
    pub fog_visibility_m: Option<f32>,
    #[serde(deserialize_with = "non_negative")]
    pub rain_mm_per_h: f32,
    /// Snowfall as melted-water equivalent.
    #[serde(deserialize_with = "non_negative")]
    pub snow_mm_per_h: f32,
    /// Road wetness, 0 (dry) to 1 (standing water).
    #[serde(deserialize_with = "unit_interval")]
    pub wetness: f32,
    #[serde(deserialize_with = "non_negative")]
    pub wind_m_per_s: f32,
    /// Direction the wind blows towards, degrees counter-clockwise from +x.
    #[serde(deserialize_with = "angle_deg")]
    pub wind_dir_deg: f32,
    /// Accumulated snow depth on the ground, sidewalks and roofs, metres (0 = none).
    #[serde(deserialize_with = "non_negative")]
    pub snow_depth_m: f32,
    /// Standing water on the ground (mirror-like, wetness 1), at most 8.
    pub puddles: Vec<Puddle>,
    /// Street lights on the map's poles: `Auto` lights them when the sun is below 2°.
    pub street_lights: LightSwitch,
    /// Head- and tail-lights of every vehicle, the ego's included.
    pub vehicle_lights: LightSwitch,
}

/// A disc of standing water on the ground.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Puddle {
    pub center: (f32, f32),
    #[serde(deserialize_with = "positive")]
    pub radius_m: f32,
}

/// Whether a kind of lamp is lit.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum LightSwitch {
    /// On when the sun is below 2° of elevation.
    #[default]
    Auto,
    On,
    Off,
}

impl Default for Weather {
    fn default() -> Self {
        Weather {
            sun_elevation_deg: 45.0,
            sun_azimuth_deg: 135.0,
            cloud_cover: 0.2,
            fog_visibility_m: None,
            rain_mm_per_h: 0.0,
            snow_mm_per_h: 0.0,
            wetness: 0.0,
            wind_m_per_s: 0.0,
            wind_dir_deg: 0.0,
            snow_depth_m: 0.0,
            puddles: Vec::new(),
            street_lights: LightSwitch::Auto,
            vehicle_lights: LightSwitch::Auto,
        }
    }
}

// ---------------------------------------------------------------- rig

/// Mounting pose relative to the ego vehicle frame (x forward, y left, z up, origin on the
/// ground below the vehicle centre). `rpy_deg` rotates the sensor body (x forward, y left,
/// z up) by roll about x, pitch about y, yaw about z.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MountPose {
    pub xyz_m: (f32, f32, f32),
    #[serde(default)]
    pub rpy_deg: (f32, f32, f32),
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rig {
    /// Up to two cameras: the first writes `image_2`, the second `image_3`.
    #[serde(default)]
    pub cameras: Vec<CameraSpec>,
    /// At most one lidar, written to `velodyne`.
    #[serde(default)]
    pub lidars: Vec<LidarSpec>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub enum Intrinsics {
    /// Horizontal field of view; square pixels, principal point at the image centre.
    Fov { horizontal_deg: f32 },
    /// Pinhole parameters in pixels.
    Pinhole { fx: f32, fy: f32, cx: f32, cy: f32 },
    /// KITTI camera 2 (P2 of the 2011_09_26 drives): fx = fy = 721.5377, cx = 609.5593,
    /// cy = 172.854, for a 1242x375 image.
    KittiP2,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    #[serde(deserialize_with = "super::checks::image_side")]
    pub width: u32,
    #[serde(deserialize_with = "super::checks::image_side")]
    pub height: u32,
    pub intrinsics: Intrinsics,
    pub pose: MountPose,
    /// Exposure compensation: a factor on the exposure the mode chooses (1 = none).
    #[serde(default = "one_f32", deserialize_with = "positive")]
    pub exposure: f32,
    /// Auto exposure on a mean-luminance target (default) or a manual EV100.
    #[serde(default)]
    pub exposure_mode: ExposureMode,
    /// Brown–Conrady lens distortion (k1, k2, p1, p2) on normalised image coordinates, as
    /// OpenCV's `distCoeffs` (k3 = 0). Zero = an ideal pinhole.
    #[serde(default)]
    pub distortion: (f32, f32, f32, f32),
    /// Stratified samples per pixel (1–64); labels and depth come from the pixel centre.
    #[serde(default = "one_u32", deserialize_with = "super::checks::positive_u32")]
    pub samples_per_pixel: u32,
    /// Exposure (shutter) time, seconds: length of rain streaks and of motion blur.
    #[serde(default = "shutter_s", deserialize_with = "positive")]
    pub shutter_s: f32,
    /// Blur from the ego's motion during the shutter time.
    #[serde(default)]
    pub motion_blur: bool,
    /// Strength of cos⁴ vignetting: 0 = none, 1 = the full natural cos⁴θ fall-off.
    #[serde(
        default = "vignetting",
        deserialize_with = "super::checks::unit_interval"
    )]
    pub vignetting: f32,
    #[serde(default)]
    pub sensor: SensorNoise,
}

fn one_f32() -> f32 {
    1.0
}
fn one_u32() -> u32 {
    1
}
fn shutter_s() -> f32 {
    0.01
}
fn vignetting() -> f32 {
    0.35
}

/// How the camera picks its exposure. EV100 follows the saturation-based convention: the
/// luminance that reaches 1.0 before the tone curve is `1.2·2^EV100` cd/m².
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub enum ExposureMode {
    /// Meter the frame and scale its mean linear luminance to `target`, within the camera's
    /// EV100 range (at night the exposure stops at `min_ev100`, so night frames are darker).
    Auto {
        target: f32,
        min_ev100: f32,
        max_ev100: f32,
    },
    /// A fixed exposure value at ISO 100.
    Manual { ev100: f32 },
}

impl Default for ExposureMode {
    fn default() -> Self {
        ExposureMode::Auto {
            target: 0.14,
            min_ev100: 4.0,
            max_ev100: 17.0,
        }
    }
}

/// Sensor noise: photon shot noise (Poisson, as a Gaussian of variance = signal electrons)
/// plus Gaussian read noise. `electrons_at_unit` = 0 turns noise off.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SensorNoise {
    /// Photo-electrons collected at linear exposure 1.0 (before the tone curve).
    #[serde(deserialize_with = "non_negative")]
    pub electrons_at_unit: f32,
    /// Read noise, electrons RMS.
    #[serde(deserialize_with = "non_negative")]
    pub read_noise_e: f32,
}

impl Default for SensorNoise {
    fn default() -> Self {
        SensorNoise {
            electrons_at_unit: 8000.0,
            read_noise_e: 3.0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Elevations {
    /// `channels` beams evenly spaced from `upper_deg` down to `lower_deg`.
    Uniform { upper_deg: f32, lower_deg: f32 },
    /// One elevation per beam, degrees (up positive); length must equal `channels`.
    Table(Vec<f32>),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LidarSpec {
    #[serde(deserialize_with = "channels")]
    pub channels: u32,
    pub elevations: Elevations,
    /// Azimuth step between firings, degrees.
    #[serde(deserialize_with = "positive")]
    pub azimuth_resolution_deg: f32,
    #[serde(default = "ten", deserialize_with = "rate_hz")]
    pub rotation_hz: f32,
    #[serde(default = "min_range", deserialize_with = "non_negative")]
    pub min_range_m: f32,
    #[serde(default = "max_range", deserialize_with = "positive")]
    pub max_range_m: f32,
    pub pose: MountPose,
}

fn ten() -> f32 {
    10.0
}
fn min_range() -> f32 {
    0.9
}
fn max_range() -> f32 {
    120.0
}

// ---------------------------------------------------------------- run

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    #[serde(deserialize_with = "positive_u32")]
    pub frames: u32,
    #[serde(default = "ten", deserialize_with = "rate_hz")]
    pub sensor_rate_hz: f32,
    #[serde(default = "physics_dt", deserialize_with = "positive")]
    pub physics_dt_s: f32,
    #[serde(default)]
    pub seed: u64,
}

fn physics_dt() -> f32 {
    0.01
}
