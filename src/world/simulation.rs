//! The simulation: scenario → ECS world → per-frame [`FrameInputs`] (plain structs that both
//! backends consume).

use std::collections::HashMap;

use bevy_ecs::prelude::*;
use glam::{Affine3A, Vec2, Vec3};

use crate::abi::{CameraParams, GpuLight, affine_rows};
use crate::classes::Class;
use crate::frame::{CameraInputs, FrameInputs, LidarInputs, ObjectState};
use crate::geometry::actors::{LookKey, ModelLook, build_look, class_of, imported_look, look_key};
use crate::geometry::ground::GroundMap;
use crate::geometry::imported::{self, ImportError};
use crate::geometry::map::{build_static_world, tree_variant};
use crate::geometry::{GeometryPool, MeshId, Placement, build_tlas_swept};
use crate::physics::friction::RoadSurface;
use crate::physics::lateral::{BicycleParams, Pose2};
use crate::physics::longitudinal::IdmParams;
use crate::physics::vehicle::VehicleType;
use crate::rng::{hash3, seed32, u01};
use crate::scenario::PropClass;
use crate::scenario::materials;
use crate::scenario::{ActorKind, ActorSpec, DriveSpec, RareEvent, Scenario, TrafficSpec};
use crate::sensors::{self, sky};
use crate::world::components::*;
use crate::world::lanes::LaneGraph;
use crate::world::resources::*;
use crate::world::schedule::build_schedule;
use crate::world::systems::pedestrians::{StepOut, Walker, route_crossings};

/// One actor's state at a tick (for `verisim simulate`).
#[derive(Clone, Debug, PartialEq)]
pub struct ActorState {
    /// Label instance id; 0 for the ego.
    pub id: u32,
    pub kind: String,
    pub position: Vec3,
    pub yaw_rad: f32,
    pub speed_m_per_s: f32,
    pub accel_m_per_s2: f32,
    /// Lane id on the lane graph, -1 off the graph.
    pub lane: i64,
    /// dry, wet, snow, ice; `-` off the graph.
    pub surface: String,
    /// Tyre–road friction (NaN off the graph).
    pub mu: f32,
}

/// Geometry shared by all frames (uploaded to the GPU once).
pub struct SceneAssets {
    pub pool: GeometryPool,
    pub static_mesh: MeshId,
    /// The walkable surface actors stand on.
    pub ground: GroundMap,
    /// Static instanced props (roadside trees): mesh and pose, unlabeled (instance 0).
    pub props: Vec<(MeshId, Affine3A)>,
}

pub struct Simulation {
    pub scenario: Scenario,
    pub assets: SceneAssets,
    world: World,
    schedule: Schedule,
    frame: u32,
    lidar_tables: Option<sensors::DirectionTables>,
    /// Street-light heads of the map.
    street_lamps: Vec<Vec3>,
    /// The hardest braking in each frame's ticks, by frame, until the frame's inputs take it
    /// (frames skipped by a shard are dropped then).
    braking: std::collections::BTreeMap<u32, BrakingSample>,
}

fn spawn_pose(spawn: Option<(f32, f32, f32)>, route: &[(f32, f32)]) -> (Pose, usize) {
    match spawn {
        Some((x, y, yaw_deg)) => (
            Pose {
                position: Vec3::new(x, y, 0.0),
                yaw_rad: yaw_deg.to_radians(),
            },
            0,
        ),
        None => {
            let p0 = Vec2::new(route[0].0, route[0].1);
            let yaw = route
                .get(1)
                .map(|&(x, y)| Vec2::new(x, y) - p0)
                .filter(|d| d.length() > 1e-6)
                .map_or(0.0, |d| d.y.atan2(d.x));
            (
                Pose {
                    position: p0.extend(0.0),
                    yaw_rad: yaw,
                },
                1,
            )
        }
    }
}

/// Poses of an animated model over its cycle (as many as a procedural person has).
const MODEL_POSES: u32 = crate::geometry::actors::GAIT_PHASES;

/// The models the scenario's actors and props import, and which is whose.
struct ScenarioModels {
    models: Vec<ModelLook>,
    /// Per scenario actor, the index of its model.
    of_actor: Vec<Option<u32>>,
    /// Per map prop, the index of its model.
    of_prop: Vec<u32>,
}

/// Imports every distinct model the scenario's actors and props name, adding their materials
/// to the pool.
fn import_models(
    scenario: &Scenario,
    pool: &mut GeometryPool,
) -> Result<ScenarioModels, ImportError> {
    let mut specs: Vec<&crate::scenario::MeshSpec> = Vec::new();
    let mut models: Vec<ModelLook> = Vec::new();
    let mut model_of = Vec::new();
    let named = scenario
        .actors
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("actors[{i}].mesh"), a.mesh.as_ref()))
        .chain(
            scenario
                .map
                .props
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("map.props[{i}].mesh"), Some(&p.mesh))),
        );
    for (field, spec) in named {
        let Some(spec) = spec else {
            model_of.push(None);
            continue;
        };
        if let Some(k) = specs.iter().position(|s| *s == spec) {
            model_of.push(Some(k as u32));
            continue;
        }
        let poses = if spec.cycle_m.is_some() {
            MODEL_POSES
        } else {
            1
        };
        let model = imported::import(&spec.path, spec.front, poses).map_err(|e| ImportError {
            message: format!("{field}: {}", e.message),
            ..e
        })?;
        let material_ids = model
            .materials
            .iter()
            .map(|m| {
                // Validation checked that the names exist.
                let over = spec
                    .lidar_materials
                    .get(&m.name)
                    .and_then(|n| materials::lookup(n).ok())
                    .map(|id| &materials::table()[id as usize]);
                pool.add_material(imported::lidar_material(m, over).gpu())
            })
            .collect();
        specs.push(spec);
        models.push(ModelLook {
            model,
            material_ids,
            cycle_m: spec.cycle_m.unwrap_or(0.0),
        });
        model_of.push(Some(models.len() as u32 - 1));
    }
    let of_prop = model_of
        .split_off(scenario.actors.len())
        .into_iter()
        .map(|m| m.expect("every prop has a model"))
        .collect();
    Ok(ScenarioModels {
        models,
        of_actor: model_of,
        of_prop,
    })
}

fn prop_class(c: PropClass) -> Class {
    match c {
        PropClass::Vegetation => Class::Vegetation,
        PropClass::Pole => Class::Pole,
        PropClass::TrafficSign => Class::TrafficSign,
        PropClass::TrafficLight => Class::TrafficLight,
        PropClass::Building => Class::Building,
        PropClass::Wall => Class::Wall,
        PropClass::Terrain => Class::Terrain,
    }
}

fn vehicle_type(kind: ActorKind) -> VehicleType {
    match kind {
        ActorKind::Van => VehicleType::Van,
        ActorKind::Truck => VehicleType::Truck,
        ActorKind::Bus => VehicleType::Bus,
        ActorKind::Cyclist => VehicleType::Cyclist,
        ActorKind::Car | ActorKind::Pedestrian | ActorKind::Target => VehicleType::Car,
    }
}

/// Components of a vehicle placed on a lane.
fn place_on_lane(
    graph: &LaneGraph,
    d: &DriveSpec,
    kind: ActorKind,
    length_m: f32,
    salt: u32,
) -> (LaneRider, Driver, Pose) {
    // Validation guarantees the road and lane exist.
    let lane = graph.lane_id(d.road, d.lane).unwrap_or(0);
    let (p, yaw) = graph.lanes[lane as usize].pose_at(d.s_m);
    let vt = vehicle_type(kind);
    let bicycle = BicycleParams::for_type(vt);
    let rear = Pose2 {
        position_m: p - Vec2::from_angle(yaw) * 0.5 * bicycle.wheelbase_m,
        heading_rad: yaw,
    };
    (
        LaneRider {
            lane,
            s_m: d.s_m,
            hint: 0,
            waiting_since: None,
            change: None,
            last_change_tick: None,
        },
        Driver {
            idm: IdmParams::for_type(vt),
            bicycle,
            desired_speed_m_per_s: d.desired_speed_m_per_s,
            events: d.events.clone(),
            length_m,
            mode: DriveMode::Normal,
            rear_axle: rear,
            mu: crate::physics::friction::MU_DRY,
            salt,
            mobil: crate::physics::mobil::MobilParams::for_type(vt),
            lane_changes: d.lane_changes,
            keeps_line: kind != ActorKind::Cyclist,
            turn: d.turn,
            fired: 0,
        },
        Pose {
            position: p.extend(0.0),
            yaw_rad: yaw,
        },
    )
}

/// Actors the rare events bring: a pedestrian stepping out (with its trigger) from behind a car
/// parked at the kerb.
fn rare_event_actors(graph: &LaneGraph, scenario: &Scenario) -> Vec<(ActorSpec, Option<StepOut>)> {
    let mut out = Vec::new();
    for e in &scenario.rare_events {
        match *e {
            RareEvent::PedestrianStepOut {
                road,
                lane,
                s_m,
                at_s,
                ego_within_m,
                speed_m_per_s,
            } => {
                // Validation guarantees the road and lane exist.
                let Some(id) = graph.lane_id(road, lane) else {
                    continue;
                };
                let l = &graph.lanes[id as usize];
                let spec = &scenario.map.roads[road];
                let (p, yaw) = l.pose_at(s_m);
                let (fwd, left) = (Vec2::from_angle(yaw), Vec2::from_angle(yaw).perp());
                // The kerb on the right of the lane's direction; the car parked beyond it, the
                // pedestrian hidden just past the car, crossing the whole road to the left.
                let to_kerb = (spec.lanes_per_direction as f32 - lane.max(-lane - 1) as f32 - 0.5)
                    * spec.lane_width_m;
                let car = p - left * (to_kerb + 1.3);
                let ped = p - left * (to_kerb + 1.0) + fwd * 3.2;
                let across = 2.0 * spec.lanes_per_direction as f32 * spec.lane_width_m + 2.0;
                let end = ped + left * across;
                out.push((
                    ActorSpec {
                        kind: ActorKind::Car,
                        size_m: None,
                        material: Some("paint_silver".into()),
                        spawn: Some((car.x, car.y, yaw.to_degrees())),
                        route: Vec::new(),
                        speed_m_per_s: 0.0,
                        loop_route: false,
                        drive: None,
                        mesh: None,
                    },
                    None,
                ));
                out.push((
                    ActorSpec {
                        kind: ActorKind::Pedestrian,
                        size_m: None,
                        material: None,
                        spawn: None,
                        route: vec![(ped.x, ped.y), (end.x, end.y)],
                        speed_m_per_s: 0.0,
                        loop_route: false,
                        drive: None,
                        mesh: None,
                    },
                    Some(StepOut {
                        at_s,
                        ego_within_m,
                        speed_m_per_s,
                        started_s: None,
                    }),
                ));
            }
        }
    }
    out
}

/// Background vehicles spread along every road lane at the requested density.
fn spawn_traffic(graph: &LaneGraph, t: &TrafficSpec, scenario: &Scenario) -> Vec<ActorSpec> {
    let seed = seed32(scenario.run.seed);
    let total: f32 = t.mix.iter().map(|(_, w)| w).sum();
    let mut out = Vec::new();
    for (road, (fwd, bwd)) in graph.road_lanes.iter().enumerate() {
        let lanes = fwd
            .iter()
            .enumerate()
            .map(|(k, &l)| (k as i32, l))
            .chain(bwd.iter().enumerate().map(|(k, &l)| (-(k as i32) - 1, l)));
        for (index, lane) in lanes {
            let len = graph.lanes[lane as usize].length_m;
            let n = (len / 1000.0 * t.vehicles_per_km_per_lane).floor() as u32;
            if n == 0 {
                continue;
            }
            let spacing = len / n as f32;
            for k in 0..n {
                let r = |d: u32| crate::rng::rand(seed, 0x7AFF1C, lane * 4096 + k, d);
                let s_m = ((k as f32 + 0.5 + 0.3 * (r(0) - 0.5)) * spacing)
                    .clamp(0.0, (len - 15.0).max(0.0));
                let mut pick = r(1) * total;
                let kind = t
                    .mix
                    .iter()
                    .find(|(_, w)| {
                        pick -= w;
                        pick < 0.0
                    })
                    .map_or(ActorKind::Car, |(k, _)| *k);
                let limit = graph.lanes[lane as usize].speed_limit_m_per_s;
                // Background traffic keeps the kinds' default sizes (its body type and paint are
                // drawn): with drawn lengths, traffic_city's ten minutes held a merge into a
                // negative gap (tests/engine/traffic.rs), which the lane-change model has to answer
                // first.
                out.push(ActorSpec {
                    kind,
                    size_m: Some(kind.default_size_m()),
                    material: None,
                    spawn: None,
                    route: Vec::new(),
                    speed_m_per_s: 0.7 * limit,
                    loop_route: false,
                    drive: Some(DriveSpec {
                        road,
                        lane: index,
                        s_m,
                        desired_speed_m_per_s: Some(limit * (0.9 + 0.2 * r(3))),
                        events: Vec::new(),
                        lane_changes: true,
                        turn: None,
                    }),
                    mesh: None,
                });
            }
        }
    }
    out
}

/// Per-frame camera parameters from the camera spec and the weather (exposure still to meter).
pub fn camera_params(
    spec: &crate::scenario::CameraSpec,
    weather: &crate::scenario::Weather,
    world_from_camera: &Affine3A,
    ego_velocity: Vec3,
    seed: u32,
    frame: u32,
    light_count: u32,
) -> CameraParams {
    use crate::physics::precip;
    use crate::sensors::camera_model;
    let light = sky::sky_light(weather);
    let (fx, fy, cx, cy) = sensors::intrinsics(spec);
    // Koschmieder σ = 3.912/V for the camera, plus the extinction of rain and snow.
    let fog_sigma = weather.fog_visibility_m.map_or(0.0, |v| 3.912 / v)
        + precip::rain_extinction_per_m(weather.rain_mm_per_h)
        + precip::snow_extinction_per_m(weather.snow_mm_per_h);
    // Drops of D ≥ 0.5 mm (smaller ones do not show); snowflakes of every size.
    let rain_lambda = precip::rain_lambda_per_mm(weather.rain_mm_per_h);
    let rain_density = if weather.rain_mm_per_h > 0.0 {
        precip::MARSHALL_PALMER_N0_PER_M3_PER_MM / rain_lambda
            * ((-0.5 * rain_lambda).exp() - (-6.0 * rain_lambda).exp())
    } else {
        0.0
    };
    let wind_dir = weather.wind_dir_deg.to_radians();
    let mut puddles = [[0.0f32; 4]; 8];
    for (slot, p) in puddles.iter_mut().zip(&weather.puddles) {
        *slot = [p.center.0, p.center.1, p.radius_m, 0.0];
    }
    let night = camera_model::lamps_on(
        crate::scenario::LightSwitch::Auto,
        weather.sun_elevation_deg,
    );
    CameraParams {
        world_from_camera: affine_rows(world_from_camera),
        fx,
        fy,
        cx,
        cy,
        width: spec.width,
        height: spec.height,
        tlas_root: 0,
        seed,
        sun_dir: light.sun_dir.to_array(),
        exposure: camera_model::exposure_from_ev100(4.0),
        sun_irradiance: light.sun_irradiance.to_array(),
        fog_sigma_per_m: fog_sigma,
        sky_zenith: light.sky_zenith.to_array(),
        max_depth_m: 1000.0,
        sky_horizon: light.sky_horizon.to_array(),
        frame,
        k1: spec.distortion.0,
        k2: spec.distortion.1,
        p1: spec.distortion.2,
        p2: spec.distortion.3,
        spp: spec.samples_per_pixel,
        light_count,
        electrons_at_unit: spec.sensor.electrons_at_unit,
        read_noise_e: spec.sensor.read_noise_e,
        vignetting: spec.vignetting,
        shutter_s: spec.shutter_s,
        cloud_cover: weather.cloud_cover,
        sun_cone_rad: sky::sun_cone_rad(weather.cloud_cover),
        velocity_m_per_s: if spec.motion_blur {
            ego_velocity.to_array()
        } else {
            [0.0; 3]
        },
        wetness: weather.wetness,
        rain_density_per_m3: rain_density,
        rain_lambda_per_mm: rain_lambda,
        snow_density_per_m3: precip::snow_number_density_per_m3(weather.snow_mm_per_h) as f32,
        snow_lambda_per_mm: precip::snow_lambda_per_mm(weather.snow_mm_per_h),
        wind_m_per_s: [
            weather.wind_m_per_s * wind_dir.cos(),
            weather.wind_m_per_s * wind_dir.sin(),
            0.0,
        ],
        snow_depth_m: weather.snow_depth_m,
        lamp_scale: if night { 1.0 } else { 0.0 },
        ao_radius_m: 3.0,
        puddle_count: weather.puddles.len().min(8) as u32,
        _pad: 0,
        puddles,
        blur_shutter_s: if spec.motion_blur {
            spec.shutter_s
        } else {
            0.0
        },
        psf_sigma_px: spec.psf_sigma_px,
        response: match spec.response {
            crate::scenario::CameraResponse::Srgb => 0,
            crate::scenario::CameraResponse::Linear => 1,
        },
        light_grid_cells: 0,
    }
}

impl Simulation {
    /// Lamps lit in this frame: street lights and vehicle head/tail-lights, as the weather's
    /// switches say.
    fn frame_lights(
        &self,
        weather: &crate::scenario::Weather,
        objects: &[ObjectState],
        world_from_ego: &Affine3A,
    ) -> Vec<GpuLight> {
        use crate::sensors::camera_model::{lamps_on, street_light, vehicle_lights};
        let mut lights = Vec::new();
        if lamps_on(weather.street_lights, weather.sun_elevation_deg) {
            lights.extend(self.street_lamps.iter().map(|&p| street_light(p)));
        }
        if lamps_on(weather.vehicle_lights, weather.sun_elevation_deg) {
            let (l, w, h) = ActorKind::Car.default_size_m();
            lights.extend(vehicle_lights(world_from_ego, Vec3::new(l, w, h), true));
            for o in objects {
                if matches!(
                    o.kind,
                    ActorKind::Car | ActorKind::Van | ActorKind::Truck | ActorKind::Bus
                ) {
                    lights.extend(vehicle_lights(&o.world_from_object, o.size_m, false));
                }
            }
        }
        lights
    }

    /// Builds the world of a validated scenario whose actors import no model (tests and
    /// benches; the pipeline calls [`Simulation::try_new`]).
    pub fn new(scenario: Scenario) -> Self {
        Self::try_new(scenario).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the world of a validated scenario, importing the models its actors name (the
    /// one step that reads files, so the one that can fail).
    pub fn try_new(scenario: Scenario) -> Result<Self, ImportError> {
        let mut static_world = build_static_world(&scenario.map, scenario.run.seed);
        if let Some(spec) = &scenario.map.opendrive {
            let od = crate::geometry::opendrive::read(&spec.path).map_err(|e| ImportError {
                message: format!("map.opendrive: {}", e.message),
                ..e
            })?;
            let origin = glam::DVec2::new(spec.origin_m.0, spec.origin_m.1);
            let (mesh, _) = crate::geometry::opendrive::build_mesh(&od, origin);
            static_world.mesh.append(&mesh);
        }
        let mut pool = GeometryPool::default();
        let imports = import_models(&scenario, &mut pool)?;
        let static_mesh = pool.add(&static_world.mesh);
        let ground = GroundMap::from_mesh(&static_world.mesh);
        // Trees share a few variant meshes (one BLAS each), placed as instances.
        let mut tree_meshes: HashMap<u32, MeshId> = HashMap::new();
        let mut props: Vec<(MeshId, Affine3A)> = static_world
            .trees
            .iter()
            .map(|&(base, yaw, variant)| {
                let mesh = *tree_meshes
                    .entry(variant)
                    .or_insert_with(|| pool.add(&tree_variant(variant)));
                (
                    mesh,
                    Affine3A::from_rotation_translation(glam::Quat::from_rotation_z(yaw), base),
                )
            })
            .collect();
        // Imported props: one BLAS per model, class and size, standing on the ground.
        let mut prop_meshes: HashMap<(u32, PropClass, Option<[u32; 3]>), MeshId> = HashMap::new();
        for (p, &model) in scenario.map.props.iter().zip(&imports.of_prop) {
            let size = p.size_m.map(|s| [s.0, s.1, s.2]);
            let key = (model, p.class, size.map(|s| s.map(f32::to_bits)));
            let mesh = *prop_meshes.entry(key).or_insert_with(|| {
                let look =
                    imported_look(&imports.models[model as usize], prop_class(p.class), size);
                pool.add(&look.meshes[0])
            });
            let at = Vec2::new(p.center.0, p.center.1);
            let z = ground.height_at(at).unwrap_or(0.0);
            props.push((
                mesh,
                Affine3A::from_rotation_translation(
                    glam::Quat::from_rotation_z(p.yaw_deg.to_radians()),
                    at.extend(z),
                ),
            ));
        }
        let mut world = World::new();
        world.insert_resource(SimClock {
            dt_s: scenario.run.physics_dt_s,
            tick: 0,
        });
        world.insert_resource(SimRng {
            seed: scenario.run.seed,
        });
        let mut changes = scenario.weather_changes.clone();
        changes.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        world.insert_resource(WeatherState {
            weather: scenario.weather.clone(),
            changes,
        });
        world.insert_resource(PrecipField::default());
        world.insert_resource(BrakingLog::default());
        world.spawn(StaticMap { mesh: static_mesh });

        let graph = LaneGraph::build(&scenario.map, scenario.traffic.as_ref());
        world.insert_resource(RoadSurfaces {
            surfaces: vec![RoadSurface::dry(); scenario.map.roads.len()],
            forced: scenario.map.roads.iter().map(|r| r.surface).collect(),
        });

        // Actors: the scenario's first (ids 1..), then the map's parked cars, then traffic.
        let traffic = scenario
            .traffic
            .as_ref()
            .map(|t| spawn_traffic(&graph, t, &scenario))
            .unwrap_or_default();
        let rare = rare_event_actors(&graph, &scenario);
        // Actors of one look share its meshes (BLASes).
        let mut looks: HashMap<LookKey, (Vec<MeshId>, Vec<Vec3>, f32)> = HashMap::new();
        let all: Vec<&ActorSpec> = scenario
            .actors
            .iter()
            .chain(rare.iter().map(|(a, _)| a))
            .chain(static_world.parked.iter())
            .chain(traffic.iter())
            .collect();
        for (i, a) in all.iter().enumerate() {
            let instance_id = i as u32 + 1;
            let material = a.material.as_deref().map(materials::id);
            let look_seed = hash3(seed32(scenario.run.seed), instance_id, 0x100C);
            let key = match imports.of_actor.get(i) {
                Some(&Some(model)) => LookKey::Imported {
                    model,
                    class: class_of(a.kind),
                    size: a
                        .size_m
                        .map(|s| [s.0.to_bits(), s.1.to_bits(), s.2.to_bits()]),
                },
                _ => look_key(a.kind, a.size_m, material, look_seed),
            };
            let (meshes, sizes, cycle_m) = looks
                .entry(key)
                .or_insert_with(|| {
                    let look = build_look(&key, &imports.models);
                    let ids = look.meshes.iter().map(|m| pool.add(m)).collect();
                    (ids, look.sizes_m, look.cycle_m)
                })
                .clone();
            let size = (sizes[0].x, sizes[0].y, sizes[0].z);
            let actor = Actor {
                kind: a.kind,
                instance_id,
                mesh: meshes[0],
                size_m: sizes[0],
            };
            let gait = (meshes.len() > 1).then(|| Gait {
                meshes,
                sizes_m: sizes,
                cycle_m,
                phase0: u01(hash3(look_seed, 5, 0x6A17)),
                distance_m: 0.0,
            });
            let speed = Speed {
                m_per_s: a.speed_m_per_s,
            };
            match &a.drive {
                Some(d) => {
                    let (rider, driver, pose) =
                        place_on_lane(&graph, d, a.kind, size.0, instance_id);
                    let mut e = world.spawn((actor, pose, speed, rider, driver, Accel::default()));
                    if let Some(g) = gait.clone() {
                        e.insert(g);
                    }
                }
                None => {
                    let (pose, next) = spawn_pose(a.spawn, &a.route);
                    let mut e = world.spawn((actor, pose, speed, Accel::default()));
                    if let Some(g) = gait.clone() {
                        e.insert(g);
                    }
                    let step = rare
                        .get(i.wrapping_sub(scenario.actors.len()))
                        .and_then(|(_, step)| *step);
                    if let Some(step) = step {
                        e.insert(step);
                    }
                    if !a.route.is_empty() {
                        let waypoints: Vec<Vec2> =
                            a.route.iter().map(|&(x, y)| Vec2::new(x, y)).collect();
                        if a.kind == ActorKind::Pedestrian && step.is_none() {
                            let crossings =
                                route_crossings(&graph, &scenario.map, &waypoints, a.loop_route);
                            if crossings.iter().any(Option::is_some) {
                                e.insert(Walker {
                                    speed_m_per_s: a.speed_m_per_s,
                                    crossings,
                                });
                            }
                        }
                        e.insert(Route {
                            waypoints,
                            next,
                            looping: a.loop_route,
                        });
                    }
                }
            }
        }

        let ego_speed = Speed {
            m_per_s: scenario.ego.speed_m_per_s,
        };
        match &scenario.ego.drive {
            Some(d) => {
                let (rider, mut driver, pose) = place_on_lane(&graph, d, ActorKind::Car, 4.5, 0);
                // The ego drives its lane's centre, where the rig's tests expect it.
                driver.keeps_line = false;
                world.spawn((Ego, pose, ego_speed, rider, driver, Accel::default()));
            }
            None => {
                let (pose, next) = spawn_pose(scenario.ego.spawn, &scenario.ego.route);
                let mut ego = world.spawn((Ego, pose, ego_speed, Accel::default()));
                if !scenario.ego.route.is_empty() {
                    ego.insert(Route {
                        waypoints: scenario
                            .ego
                            .route
                            .iter()
                            .map(|&(x, y)| Vec2::new(x, y))
                            .collect(),
                        next,
                        looping: scenario.ego.loop_route,
                    });
                }
            }
        }
        world.insert_resource(graph);
        // Every mover starts with its twist from its speed and heading (no tick measured yet).
        let movers: Vec<(Entity, Pose, f32)> = world
            .query::<(Entity, &Pose, &Speed)>()
            .iter(&world)
            .map(|(e, p, v)| (e, *p, v.m_per_s))
            .collect();
        for (e, pose, speed) in movers {
            let heading = Vec3::new(pose.yaw_rad.cos(), pose.yaw_rad.sin(), 0.0);
            world.entity_mut(e).insert((
                PrevPose(pose),
                Twist {
                    velocity_m_per_s: heading * speed,
                    yaw_rate_rad_per_s: 0.0,
                },
            ));
        }
        // Populate the particle field for frame 0 (one deterministic step at tick 0).
        {
            use bevy_ecs::system::RunSystemOnce;
            let _ = world.run_system_once(crate::world::systems::weather::advance_particles);
        }
        for (index, cam) in scenario.rig.cameras.iter().enumerate() {
            world.spawn(CameraMount {
                index,
                vehicle_from_camera: sensors::vehicle_from_camera(cam),
            });
        }
        let lidar_tables = scenario.rig.lidars.first().map(|l| {
            world.spawn(LidarMount {
                vehicle_from_lidar: sensors::vehicle_from_body(&l.pose),
            });
            sensors::lidar_direction_tables(l)
        });
        Ok(Simulation {
            assets: SceneAssets {
                pool,
                static_mesh,
                ground,
                props,
            },
            scenario,
            world,
            schedule: build_schedule(),
            frame: 0,
            lidar_tables,
            street_lamps: static_world.lamps,
            braking: Default::default(),
        })
    }

    pub fn frame(&self) -> u32 {
        self.frame
    }

    /// Runs physics ticks until the world is at `frame` (frames only move forward).
    pub fn advance_to_frame(&mut self, frame: u32) {
        let per_frame = self.scenario.ticks_per_frame() as u64;
        let target = frame as u64 * per_frame;
        while self.world.resource::<SimClock>().tick < target {
            self.schedule.run(&mut self.world);
            let tick = self.world.resource::<SimClock>().tick;
            if tick.is_multiple_of(per_frame)
                && let Some(b) = self.world.resource_mut::<BrakingLog>().hardest.take()
            {
                self.braking.insert((tick / per_frame) as u32, b);
            }
        }
        self.frame = self.frame.max(frame);
    }

    /// Runs one physics tick.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
    }

    pub fn tick(&self) -> u64 {
        self.world.resource::<SimClock>().tick
    }

    pub fn time_s(&self) -> f64 {
        self.world.resource::<SimClock>().time_s()
    }

    /// Every moving thing's state now (the ego has entity id 0), sorted by id.
    pub fn states(&mut self) -> Vec<ActorState> {
        let mut out = Vec::new();
        let mut q = self.world.query::<(
            Option<&Actor>,
            Option<&Ego>,
            &Pose,
            &Speed,
            Option<&Accel>,
            Option<&LaneRider>,
        )>();
        // Borrowed, not cloned: `simulate` calls this every tick.
        let surfaces = self.world.resource::<RoadSurfaces>();
        let graph = self.world.resource::<LaneGraph>();
        for (actor, ego, pose, speed, accel, rider) in q.iter(&self.world) {
            let (id, kind) = match (actor, ego) {
                (Some(a), _) => (a.instance_id, format!("{:?}", a.kind).to_lowercase()),
                (None, Some(_)) => (0, "ego".to_owned()),
                _ => continue,
            };
            let (lane, surface, mu) = match rider {
                Some(r) => {
                    let road = graph.lanes[r.lane as usize].road;
                    (
                        r.lane as i64,
                        format!("{:?}", surfaces.kind(road)).to_lowercase(),
                        surfaces.mu(road, speed.m_per_s),
                    )
                }
                None => (-1, "-".to_owned(), f32::NAN),
            };
            out.push(ActorState {
                id,
                kind,
                position: pose.position,
                yaw_rad: pose.yaw_rad,
                speed_m_per_s: speed.m_per_s,
                accel_m_per_s2: accel.map_or(0.0, |a| a.m_per_s2),
                lane,
                surface,
                mu,
            });
        }
        out.sort_by_key(|s| s.id);
        out
    }

    /// Extracts the current frame's inputs.
    pub fn frame_inputs(&mut self) -> FrameInputs {
        let clock = *self.world.resource::<SimClock>();
        let seed = hash3(seed32(self.scenario.run.seed), self.frame, 0x5EED);
        let mut placements = vec![Placement::fixed(
            self.assets.static_mesh,
            Affine3A::IDENTITY,
            0,
        )];
        placements.extend(
            self.assets
                .props
                .iter()
                .map(|&(mesh, pose)| Placement::fixed(mesh, pose, 0)),
        );
        let mut objects = Vec::new();
        let mut q = self
            .world
            .query::<(&Actor, &Pose, Option<&Twist>, Option<&Gait>)>();
        for (actor, pose, twist, gait) in q.iter(&self.world) {
            // Actors stand on the ground under them (a kerb's top, a ramp), and so do their
            // labels.
            let mut pose = *pose;
            if let Some(z) = self.assets.ground.height_at(pose.position.truncate()) {
                pose.position.z = z;
            }
            let world_from_object = pose.world_from_body();
            let twist = twist.copied().unwrap_or_default();
            let (mesh, size_m) = gait.map_or((actor.mesh, actor.size_m), |g| {
                (g.meshes[g.index()], g.sizes_m[g.index()])
            });
            placements.push(Placement {
                mesh,
                world_from_object,
                instance_id: actor.instance_id,
                velocity_m_per_s: twist.velocity_m_per_s,
                yaw_rate_rad_per_s: twist.yaw_rate_rad_per_s,
            });
            objects.push(ObjectState {
                instance_id: actor.instance_id,
                kind: actor.kind,
                class: class_of(actor.kind),
                size_m,
                world_from_object,
                mesh,
                velocity_m_per_s: twist.velocity_m_per_s,
                yaw_rate_rad_per_s: twist.yaw_rate_rad_per_s,
            });
        }
        objects.sort_by_key(|o| o.instance_id);
        // Rays are cast over the lidar sweep (motion distortion) and the camera exposure
        // (motion blur with more than one sample): bound the movers over the longest.
        let lidar_half_s = self
            .scenario
            .rig
            .lidars
            .first()
            .filter(|l| l.motion_distortion)
            .map_or(0.0, |l| 0.5 * sensors::lidar::sweep_time_s(l));
        let half_s = self
            .scenario
            .rig
            .cameras
            .iter()
            .filter(|c| c.motion_blur && c.samples_per_pixel > 1)
            .map(|c| 0.5 * c.shutter_s)
            .fold(lidar_half_s, f32::max);
        let motion_window_s = [-half_s, half_s];
        let tlas = build_tlas_swept(&self.assets.pool, &placements, motion_window_s);
        let world_from_ego = self
            .world
            .query_filtered::<&Pose, With<Ego>>()
            .single(&self.world)
            .map(|p| p.world_from_body())
            .unwrap_or(Affine3A::IDENTITY);

        let weather = self.world.resource::<WeatherState>().weather.clone();
        let ego_velocity = self
            .world
            .query_filtered::<(&Pose, &Speed), With<Ego>>()
            .single(&self.world)
            .map(|(p, v)| Vec3::new(p.yaw_rad.cos(), p.yaw_rad.sin(), 0.0) * v.m_per_s)
            .unwrap_or(Vec3::ZERO);
        let lights = self.frame_lights(&weather, &objects, &world_from_ego);
        let mut cameras = Vec::new();
        let mut mounts: Vec<CameraMount> = self
            .world
            .query::<&CameraMount>()
            .iter(&self.world)
            .copied()
            .collect();
        mounts.sort_by_key(|m| m.index);
        for m in mounts {
            let spec = &self.scenario.rig.cameras[m.index];
            let world_from_camera = world_from_ego * m.vehicle_from_camera;
            let params = camera_params(
                spec,
                &weather,
                &world_from_camera,
                ego_velocity,
                seed,
                self.frame,
                lights.len() as u32,
            );
            // No scene point lies below the scene's bounds (1 m of margin for particles).
            let floor_z = tlas
                .nodes
                .first()
                .and_then(|n| n.bounds())
                .map_or(0.0, |b| b.0[2])
                - 1.0;
            cameras.push(CameraInputs {
                params,
                vehicle_from_camera: m.vehicle_from_camera,
                world_from_camera,
                lights: lights.clone(),
                light_grid: Vec::new(),
                exposure_mode: spec.exposure_mode,
                exposure_compensation: spec.exposure,
                floor_z,
            });
        }
        let ego_velocity = self
            .world
            .query_filtered::<(&Pose, &Speed), With<Ego>>()
            .single(&self.world)
            .map(|(p, v)| Vec3::new(p.yaw_rad.cos(), p.yaw_rad.sin(), 0.0) * v.m_per_s)
            .unwrap_or(Vec3::ZERO);
        let lidar = match (&self.lidar_tables, self.scenario.rig.lidars.first()) {
            (Some((beams, columns)), Some(spec)) => {
                let mount = *self
                    .world
                    .query::<&LidarMount>()
                    .single(&self.world)
                    .expect("one lidar mount");
                let world_from_lidar = world_from_ego * mount.vehicle_from_lidar;
                let params = sensors::lidar::lidar_params(
                    spec,
                    &weather,
                    &world_from_lidar,
                    ego_velocity,
                    seed,
                    self.frame,
                );
                Some(LidarInputs {
                    params,
                    beams: beams.clone(),
                    columns: columns.clone(),
                    vehicle_from_lidar: mount.vehicle_from_lidar,
                    world_from_lidar,
                    sweep_s: sensors::lidar::sweep_time_s(spec),
                })
            }
            _ => None,
        };
        let precip = {
            let exposure_s = cameras
                .iter()
                .map(|c| c.params.shutter_s)
                .fold(0.0f32, f32::max);
            self.world
                .resource_mut::<PrecipField>()
                .take_frame(exposure_s, ego_velocity)
        };
        let braking = self.braking.remove(&self.frame);
        self.braking.retain(|&f, _| f > self.frame);
        FrameInputs {
            braking,
            precip,
            frame: self.frame,
            time_s: clock.time_s(),
            seed,
            tlas,
            objects,
            world_from_ego,
            cameras,
            lidar,
            motion_window_s,
        }
    }
}
