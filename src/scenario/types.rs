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
    /// Dataset metadata and policy written to `manifest.json`.
    #[serde(default)]
    pub dataset: DatasetSpec,
    /// Randomized sweeps: values drawn per episode (see `docs/datasets.md`).
    #[serde(default)]
    pub variations: Option<Variations>,
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
    /// Exposure scale applied before tone mapping (1 = auto-balanced for daylight).
    #[serde(default = "one_f32", deserialize_with = "positive")]
    pub exposure: f32,
}

fn one_f32() -> f32 {
    1.0
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

// ---------------------------------------------------------------- dataset

/// What the data is for (recorded in the manifest; `verify` prints it).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum IntendedUse {
    Pretraining,
    FineTuning,
    Testing,
}

/// Dataset metadata and policy: Croissant fields and the data's shelf life.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetSpec {
    /// SPDX licence id of the generated data.
    pub license: String,
    pub creator: String,
    /// Dataset version (semantic versioning is advised).
    pub version: String,
    /// Where the dataset is published; default `urn:verisim:<name>:<version>`.
    pub url: Option<String>,
    pub intended_use: Vec<IntendedUse>,
    /// Use tier (e.g. `smoke`, `perception-training`), as in the reality-check policy.
    pub tier: String,
    /// Date (YYYY-MM-DD) after which `verisim verify` warns that the data has expired.
    pub expires: Option<String>,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        DatasetSpec {
            license: "CC-BY-4.0".into(),
            creator: "verisim".into(),
            version: "1.0.0".into(),
            url: None,
            intended_use: Vec::new(),
            tier: "unrated".into(),
            expires: None,
        }
    }
}

// ---------------------------------------------------------------- variations

/// Randomized sweeps. The frames are cut into episodes of `episode_frames`; each episode gets
/// its own draw (keyed by the scenario seed and the episode index only, so shards agree),
/// applied like `--set` overrides and validated like the file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Variations {
    /// Frames per episode; 1 draws new values for every frame.
    #[serde(default = "one", deserialize_with = "positive_u32")]
    pub episode_frames: u32,
    #[serde(default)]
    pub params: Vec<VariedParam>,
    /// Rare combinations over-sampled on purpose: each is applied to an episode with
    /// probability `weight` (the weights sum to at most 1), after `params`.
    #[serde(default)]
    pub rare: Vec<RareCase>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VariedParam {
    /// Dotted field path, as for `--set` (e.g. `weather.rain_mm_per_h`).
    pub set: String,
    pub values: Distribution,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Distribution {
    /// A number drawn uniformly in [lo, hi).
    Uniform { lo: f32, hi: f32 },
    /// One of several RON values (`"Some(50.0)"`, `"Van"`, `"\"paint_red\""`) with weights.
    Choice(Vec<(String, f32)>),
    /// Every value in turn; several grids combine full-factorially, episode after episode.
    Grid(Vec<String>),
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RareCase {
    pub name: String,
    #[serde(deserialize_with = "unit_interval")]
    pub weight: f32,
    /// `KEY=VALUE` assignments, as for `--set`.
    pub sets: Vec<String>,
}
