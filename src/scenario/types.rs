//! Scenario schema v1: the RON types a user writes in `scenes/*.ron`.
//!
//! Every field carries its unit in its name. Range checks that concern one value run while the
//! file is parsed (through `deserialize_with`), so a bad value is reported at its line and
//! column; checks that relate several values run afterwards in [`super::validate`].

use serde::{Deserialize, Serialize};

use super::checks::{
    angle_deg, non_negative, positive, positive_u32, rate_hz, some, some_channels,
    some_elevation_deg, some_non_negative, some_positive, some_rate_hz, some_unit_interval,
    unit_interval,
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
    /// Vehicles spawned on the lanes and driven by the traffic model.
    #[serde(default)]
    pub traffic: Option<TrafficSpec>,
    /// Weather that changes during the run (e.g. rain that stops).
    #[serde(default)]
    pub weather_changes: Vec<WeatherChange>,
    /// Dataset metadata and policy written to `manifest.json`.
    #[serde(default)]
    pub dataset: DatasetSpec,
    /// Randomized sweeps: values drawn per episode (see `docs/datasets.md`).
    #[serde(default)]
    pub variations: Option<Variations>,
    /// Scripted rare events that involve several road users (pedestrian stepping out, ...).
    #[serde(default)]
    pub rare_events: Vec<RareEvent>,
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
    /// Static imported models (glTF 2.0): trees, signs, street furniture, buildings.
    #[serde(default)]
    pub props: Vec<PropSpec>,
    /// An ASAM OpenDRIVE road network drawn as the map's roads (with `roads` and the rest).
    #[serde(default)]
    pub opendrive: Option<OpenDriveSpec>,
    /// Road-marking conventions of the region (KITTI was recorded in Karlsruhe: `Eu`).
    #[serde(default)]
    pub markings: Markings,
}

/// Road markings by region (shared/reference/objects.md section 8).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum Markings {
    /// US (MUTCD): a double yellow centre line between the directions, white 0.15 m edge
    /// lines, white lane lines of 3 m dashes every 12 m.
    #[default]
    Us,
    /// Germany (RMS): white only; a broken 0.12 m centre line and lane lines of 3 m dashes
    /// with 6 m gaps (urban), solid 0.12 m edge lines.
    Eu,
}

fn default_ground() -> f32 {
    600.0
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
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

impl RoadShape {
    /// Length of the centre line, metres (`geometry::map::Centerline` walks the same line).
    pub fn length_m(&self) -> f32 {
        match *self {
            RoadShape::Straight { from, to } => (to.0 - from.0).hypot(to.1 - from.1),
            RoadShape::Arc {
                radius_m,
                start_deg,
                end_deg,
                ..
            } => radius_m * (end_deg.to_radians() - start_deg.to_radians()),
        }
    }
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
    /// Force the road surface (Dry, Wet, Snow, Ice) instead of evolving it from the weather.
    #[serde(default)]
    pub surface: Option<crate::physics::friction::SurfaceKind>,
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

/// An OpenDRIVE file and where its coordinates put verisim's origin.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OpenDriveSpec {
    /// The `.xodr` file; a relative path is relative to the scenario file's folder.
    pub path: std::path::PathBuf,
    /// The map coordinates (x, y) that become verisim's origin (maps far from theirs lose
    /// precision in 32-bit floats).
    #[serde(default)]
    pub origin_m: (f64, f64),
}

/// A static glTF model standing on the ground, unlabelled in `label_2` (instance 0) like the
/// procedural trees; its points and pixels carry `class`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropSpec {
    pub mesh: MeshSpec,
    /// Centre of the footprint on the ground (x, y).
    pub center: (f32, f32),
    #[serde(default, deserialize_with = "angle_deg")]
    pub yaw_deg: f32,
    /// Scales the model uniformly to fit this box (length, width, height); default the file's
    /// scale.
    #[serde(default)]
    pub size_m: Option<(f32, f32, f32)>,
    pub class: PropClass,
}

/// The semantic class of a prop's points and pixels.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum PropClass {
    Vegetation,
    Pole,
    TrafficSign,
    TrafficLight,
    Building,
    Wall,
    Terrain,
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
    /// A plain box of `size_m` (material `wall_target` unless given): a moving test target or
    /// obstacle. Class `wall`, so `label_2` lists no object for it; points and pixels carry
    /// its instance id.
    Target,
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
            ActorKind::Target => (1.0, 1.0, 1.0),
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
    /// Drive on a lane with the traffic model (IDM, signals, friction) instead of a route.
    #[serde(default)]
    pub drive: Option<DriveSpec>,
    /// A glTF 2.0 model (`.gltf` or `.glb`) instead of the procedural look; `size_m` then
    /// scales it uniformly to fit that box (see `docs/assets.md`).
    #[serde(default)]
    pub mesh: Option<MeshSpec>,
}

/// An imported glTF 2.0 model and how it maps onto verisim's axes and materials.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MeshSpec {
    /// The `.gltf` or `.glb` file; a relative path is relative to the scenario file's folder.
    pub path: std::path::PathBuf,
    /// Which glTF axis the model's front faces (glTF's convention, and the default: `PlusZ`).
    #[serde(default)]
    pub front: ModelFront,
    /// Per glTF material name, a material of `assets/materials.ron` whose 905 nm properties
    /// (reflectivity, roughness, clear coat, transmittance) replace the colour rule; the camera
    /// keeps the model's colour.
    #[serde(default)]
    pub lidar_materials: std::collections::BTreeMap<String, String>,
    /// Distance covered per cycle of the model's first animation, metres (a walk's two
    /// strides); without it the animation is not played.
    #[serde(default, deserialize_with = "super::checks::optional_positive")]
    pub cycle_m: Option<f32>,
}

/// The glTF axis a model's front faces (glTF's up is +Y).
#[derive(
    Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq, Hash, clap::ValueEnum,
)]
#[value(rename_all = "PascalCase")]
pub enum ModelFront {
    #[default]
    PlusZ,
    MinusZ,
    PlusX,
    MinusX,
}

/// A vehicle placed on a lane and driven by the traffic model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DriveSpec {
    /// Index of the road in `map.roads`.
    pub road: usize,
    /// Lane: 0, 1, ... in the road's direction (0 next to the centre line); -1, -2, ... in the
    /// opposite direction.
    #[serde(default)]
    pub lane: i32,
    /// Distance along the lane from its start, metres.
    #[serde(default, deserialize_with = "non_negative")]
    pub s_m: f32,
    /// Desired speed; default the road's speed limit.
    #[serde(default, deserialize_with = "super::checks::optional_positive")]
    pub desired_speed_m_per_s: Option<f32>,
    #[serde(default)]
    pub events: Vec<DriveEvent>,
    /// Change lanes by MOBIL on multi-lane roads (default true).
    #[serde(default = "yes")]
    pub lane_changes: bool,
    /// Way through intersections, where offered (default: drawn per vehicle and lane).
    #[serde(default)]
    pub turn: Option<TurnChoice>,
}

/// A way through an intersection.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum TurnChoice {
    Straight,
    Left,
    Right,
}

/// Rare events scripted on a driven vehicle.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum DriveEvent {
    /// Full braking at the friction limit (μ·g) from `at_s` until standstill.
    BrakeHard { at_s: f32 },
    /// The vehicle brakes to a stop at `at_s` and stays there (a stalled vehicle).
    Stall { at_s: f32 },
    /// A cut-in: from `at_s` on, once the ego rides the adjacent lane of the same road and
    /// direction behind this vehicle with a bumper gap of at most `gap_m`, the vehicle merges
    /// into the ego's lane in front of it (MOBIL's safety criterion is not applied).
    CutIn {
        #[serde(deserialize_with = "non_negative")]
        at_s: f32,
        #[serde(deserialize_with = "positive")]
        gap_m: f32,
    },
    /// A swerve (e.g. a cyclist avoiding a pothole): from `at_s` the rider leaves the lane centre
    /// by `amplitude_m` (positive to the left) and comes back, a half sine over `duration_s`.
    Swerve {
        #[serde(deserialize_with = "non_negative")]
        at_s: f32,
        amplitude_m: f32,
        #[serde(deserialize_with = "positive")]
        duration_s: f32,
    },
}

impl DriveEvent {
    pub fn at_s(&self) -> f32 {
        match *self {
            DriveEvent::BrakeHard { at_s }
            | DriveEvent::Stall { at_s }
            | DriveEvent::CutIn { at_s, .. }
            | DriveEvent::Swerve { at_s, .. } => at_s,
        }
    }
}

/// Rare events that involve more than one driven vehicle (see `DriveEvent` for those of one).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub enum RareEvent {
    /// A pedestrian steps out from behind a car parked at the kerb beside lane `lane` of road
    /// `road` at `s_m` and crosses the lane (and the road) at `speed_m_per_s`. It starts at
    /// `at_s`, or when the ego comes within `ego_within_m` of it (whichever comes first; give at
    /// least one).
    PedestrianStepOut {
        road: usize,
        lane: i32,
        #[serde(deserialize_with = "non_negative")]
        s_m: f32,
        #[serde(default, deserialize_with = "some_non_negative")]
        at_s: Option<f32>,
        #[serde(default, deserialize_with = "some_positive")]
        ego_within_m: Option<f32>,
        #[serde(default = "default_step_out_speed", deserialize_with = "positive")]
        speed_m_per_s: f32,
    },
}

fn default_step_out_speed() -> f32 {
    1.5
}

/// Background traffic on every lane.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrafficSpec {
    /// Vehicles spawned per kilometre of lane.
    #[serde(deserialize_with = "non_negative")]
    pub vehicles_per_km_per_lane: f32,
    /// Relative shares of vehicle kinds.
    pub mix: Vec<(ActorKind, f32)>,
    /// Signal timing: green, yellow and all-red seconds per phase.
    #[serde(deserialize_with = "positive")]
    pub signal_green_s: f32,
    #[serde(deserialize_with = "positive")]
    pub signal_yellow_s: f32,
    #[serde(deserialize_with = "non_negative")]
    pub signal_all_red_s: f32,
}

impl Default for TrafficSpec {
    fn default() -> Self {
        TrafficSpec {
            vehicles_per_km_per_lane: 20.0,
            mix: vec![
                (ActorKind::Car, 0.8),
                (ActorKind::Van, 0.1),
                (ActorKind::Truck, 0.05),
                (ActorKind::Bus, 0.05),
            ],
            signal_green_s: 20.0,
            signal_yellow_s: 3.0,
            signal_all_red_s: 2.0,
        }
    }
}

/// A change of precipitation at a time.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeatherChange {
    #[serde(deserialize_with = "non_negative")]
    pub at_s: f32,
    #[serde(default, deserialize_with = "super::checks::optional_non_negative")]
    pub rain_mm_per_h: Option<f32>,
    #[serde(default, deserialize_with = "super::checks::optional_non_negative")]
    pub snow_mm_per_h: Option<f32>,
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
    /// Drive the ego with the traffic model (it then takes part in car following).
    #[serde(default)]
    pub drive: Option<DriveSpec>,
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
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
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
#[serde(deny_unknown_fields)]
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
    /// Standard deviation (pixels) of the Gaussian point-spread function of lens and Bayer
    /// demosaic, applied to the exposed image before the sensor noise; 0 = ideal optics.
    #[serde(default, deserialize_with = "super::checks::psf_sigma_px")]
    pub psf_sigma_px: f32,
    /// How exposed linear values become 8-bit codes.
    #[serde(default)]
    pub response: CameraResponse,
}

/// The camera's response curve after the full-scale clip.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum CameraResponse {
    /// The sRGB OETF (an sRGB-encoded image).
    #[default]
    Srgb,
    /// Raw linear 8-bit values (gamma 1), as machine-vision cameras deliver by default (the
    /// KITTI rig's Point Grey Flea2 images are linear 8-bit Bayer data, demosaiced).
    Linear,
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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub enum Elevations {
    /// `channels` beams evenly spaced from `upper_deg` down to `lower_deg`.
    Uniform { upper_deg: f32, lower_deg: f32 },
    /// One elevation per beam, degrees (up positive); length must equal `channels`.
    Table(Vec<f32>),
}

/// A lidar as the scenario describes it, resolved: a `preset` fills every field with the real
/// sensor's values, and any field written beside it overrides the preset. Without a preset the
/// lidar is ideal (no range noise, every hit returns, no weather returns, no motion
/// distortion) unless fields say otherwise. Field names follow CARLA's lidar attributes where
/// CARLA has one (`range`, `rotation_frequency`, `upper_fov`, `lower_fov`,
/// `points_per_second`, `noise_stddev`, `dropoff_*` are accepted as written in CARLA).
/// See `docs/lidar.md`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(try_from = "LidarSpecRaw")]
pub struct LidarSpec {
    /// The preset the values came from (not written back: the values are complete).
    #[serde(skip_serializing)]
    pub preset: Option<LidarPreset>,
    pub channels: u32,
    pub elevations: Elevations,
    /// Azimuth step between firings, degrees.
    pub azimuth_resolution_deg: f32,
    pub rotation_hz: f32,
    pub min_range_m: f32,
    pub max_range_m: f32,
    /// Standard deviation of the range noise along the ray, metres (CARLA `noise_stddev`).
    pub noise_stddev_m: f32,
    /// Range at which a 10% Lambertian target at normal incidence in clear air sits at the
    /// detection threshold, metres; 0 = ideal detector.
    pub detection_range_m: f32,
    pub dropoff_general_rate: f32,
    pub dropoff_intensity_limit: f32,
    pub dropoff_zero_intensity: f32,
    pub return_mode: ReturnMode,
    /// Each column sees the world from the ego pose at its own firing time.
    pub motion_distortion: bool,
    /// Full-angle beam divergence, milliradians.
    pub beam_divergence_mrad: f32,
    /// Laser pulse duration (full width), nanoseconds.
    pub pulse_duration_ns: f32,
    /// Transmitter/receiver overlap: none below `overlap_start_m`, full beyond `overlap_full_m`.
    pub overlap_start_m: f32,
    pub overlap_full_m: f32,
    /// Gain from the physical return (reflectivity-like units) to the sensor's reported
    /// intensity scale; calibrated per preset against real frames (1 = physical units).
    pub intensity_scale: f32,
    pub pose: MountPose,
    /// Also write the points moved to the lidar pose at the frame time (ego motion removed,
    /// KITTI-style `velodyne_compensated/`); needs `motion_distortion`.
    pub compensated_points: bool,
}

/// Real sensors whose beam pattern, timing and detection verisim knows (values in
/// `src/sensors/lidar_presets.rs`, documented in `docs/lidar.md`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum LidarPreset {
    /// Velodyne HDL-64E S2 as on the KITTI car: 64 lasers, +2.0° to −24.9°, 10 Hz, 120 m.
    VelodyneHdl64e,
    /// Velodyne HDL-32E as on the nuScenes car: 32 lasers, +10.67° to −30.67°, 20 Hz.
    VelodyneHdl32e,
    /// Velodyne VLP-16 (Puck): 16 lasers, ±15° in 2° steps, 10 Hz, 100 m.
    VelodyneVlp16,
    /// Ouster OS1-128: 128 channels over ±22.5°, 1024 columns at 10 Hz.
    OusterOs1_128,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum ReturnMode {
    #[default]
    Strongest,
    Last,
    /// Strongest and last (or second strongest) return per ray.
    Dual,
}

/// What a scenario file may write for a lidar; [`LidarSpec`] is its resolution.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LidarSpecRaw {
    #[serde(default, deserialize_with = "some")]
    pub preset: Option<LidarPreset>,
    #[serde(default, deserialize_with = "some_channels")]
    pub channels: Option<u32>,
    #[serde(default, deserialize_with = "some")]
    pub elevations: Option<Elevations>,
    /// CARLA: highest / lowest beam elevation, degrees (evenly spaced beams).
    #[serde(default, deserialize_with = "some_elevation_deg")]
    pub upper_fov: Option<f32>,
    #[serde(default, deserialize_with = "some_elevation_deg")]
    pub lower_fov: Option<f32>,
    #[serde(default, deserialize_with = "some_positive")]
    pub azimuth_resolution_deg: Option<f32>,
    /// CARLA: rays per second (sets the azimuth step with channels and rotation rate).
    #[serde(default, deserialize_with = "some_positive")]
    pub points_per_second: Option<f32>,
    #[serde(
        default,
        alias = "rotation_frequency",
        deserialize_with = "some_rate_hz"
    )]
    pub rotation_hz: Option<f32>,
    #[serde(default, deserialize_with = "some_non_negative")]
    pub min_range_m: Option<f32>,
    #[serde(default, alias = "range", deserialize_with = "some_positive")]
    pub max_range_m: Option<f32>,
    #[serde(
        default,
        alias = "noise_stddev",
        deserialize_with = "some_non_negative"
    )]
    pub noise_stddev_m: Option<f32>,
    #[serde(default, deserialize_with = "some_non_negative")]
    pub detection_range_m: Option<f32>,
    #[serde(default, deserialize_with = "some_unit_interval")]
    pub dropoff_general_rate: Option<f32>,
    #[serde(default, deserialize_with = "some_unit_interval")]
    pub dropoff_intensity_limit: Option<f32>,
    #[serde(default, deserialize_with = "some_unit_interval")]
    pub dropoff_zero_intensity: Option<f32>,
    #[serde(default, deserialize_with = "some")]
    pub return_mode: Option<ReturnMode>,
    #[serde(default, deserialize_with = "some")]
    pub motion_distortion: Option<bool>,
    #[serde(default, deserialize_with = "some_positive")]
    pub beam_divergence_mrad: Option<f32>,
    #[serde(default, deserialize_with = "some_positive")]
    pub pulse_duration_ns: Option<f32>,
    #[serde(default, deserialize_with = "some_non_negative")]
    pub overlap_start_m: Option<f32>,
    #[serde(default, deserialize_with = "some_non_negative")]
    pub overlap_full_m: Option<f32>,
    #[serde(default, deserialize_with = "some_positive")]
    pub intensity_scale: Option<f32>,
    pub pose: MountPose,
    #[serde(default, deserialize_with = "some")]
    pub compensated_points: Option<bool>,
}

impl TryFrom<LidarSpecRaw> for LidarSpec {
    type Error = String;

    fn try_from(raw: LidarSpecRaw) -> Result<Self, String> {
        crate::scenario::lidar_presets::resolve(raw)
    }
}

impl LidarSpec {
    /// A preset mounted at `pose`, every value from the preset.
    pub fn from_preset(preset: LidarPreset, pose: MountPose) -> Self {
        crate::scenario::lidar_presets::resolve(LidarSpecRaw {
            preset: Some(preset),
            pose,
            ..Default::default()
        })
        .expect("presets resolve (tested)")
    }
}

fn ten() -> f32 {
    10.0
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
    /// Shares of the episodes in the training, validation and test splits
    /// (`ImageSets/*.txt`, the SemanticKITTI YAML's `split`); whole episodes, never frames of
    /// one episode in two splits.
    pub splits: Splits,
}

/// Shares of episodes per split; they sum to 1.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Splits {
    pub train: f32,
    pub val: f32,
    pub test: f32,
}

impl Default for Splits {
    fn default() -> Self {
        Splits {
            train: 0.8,
            val: 0.2,
            test: 0.0,
        }
    }
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
            splits: Splits::default(),
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
#[serde(deny_unknown_fields)]
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
