//! Physical bounds of the scenario's numbers. A finite but absurd value (a lane 1e30 m wide,
//! a sensor rate of 1e-30 Hz, wind at 1e30 m/s) would otherwise pass the type checks and then
//! hang a run, exhaust memory or write gigabytes; each is refused here with its field and the
//! range, and why the range is what it is.

use serde_json::Value;

use super::{FieldError, Scenario};

/// One bound: every number at `path` (`[*]` steps into each element of a list or tuple; a
/// tuple or list at the end is checked element by element; an absent option is skipped).
pub struct Bound {
    pub path: &'static str,
    pub min: f64,
    pub max: f64,
    /// 0 means "none" for this field (spacings) and is allowed below `min`.
    pub zero_is_none: bool,
    pub unit: &'static str,
    pub why: &'static str,
}

const fn b(path: &'static str, min: f64, max: f64, unit: &'static str, why: &'static str) -> Bound {
    Bound {
        path,
        min,
        max,
        zero_is_none: false,
        unit,
        why,
    }
}

const fn spacing(path: &'static str, min: f64, why: &'static str) -> Bound {
    Bound {
        path,
        min,
        max: 10_000.0,
        zero_is_none: true,
        unit: "m",
        why,
    }
}

/// Coordinates of the world: a scene is at most 100 km across (32-bit floats keep 8 mm there).
const WORLD_M: f64 = 100_000.0;

#[rustfmt::skip]
pub const BOUNDS: &[Bound] = &[
    b("map.ground_size_m", 0.0, 20_000.0, "m", "the terrain plane is one quad; 20 km covers any scene the lidar sees"),
    b("map.roads[*].lane_width_m", 1.5, 10.0, "m", "real lanes are 2.5–4.5 m"),
    b("map.roads[*].lanes_per_direction", 0.0, 8.0, "lanes", "the widest motorways have 8 lanes a direction"),
    b("map.roads[*].sidewalk_width_m", 0.0, 30.0, "m", "a plaza-wide sidewalk at most"),
    b("map.roads[*].speed_limit_m_per_s", 0.0, 70.0, "m/s", "252 km/h is beyond any posted limit"),
    spacing("map.roads[*].roadside.building_spacing_m", 2.0, "a building every < 2 m is not a street"),
    b("map.roads[*].roadside.building_setback_m", 0.0, 200.0, "m", "buildings further back are outside the scene"),
    b("map.roads[*].roadside.building_min_height_m", 0.0, 500.0, "m", "the tallest towers are < 1 km; 500 m bounds the mesh"),
    b("map.roads[*].roadside.building_max_height_m", 0.0, 500.0, "m", "the tallest towers are < 1 km; 500 m bounds the mesh"),
    spacing("map.roads[*].roadside.tree_spacing_m", 1.0, "street trees stand metres apart"),
    spacing("map.roads[*].roadside.pole_spacing_m", 2.0, "poles stand metres apart"),
    spacing("map.roads[*].roadside.parked_car_spacing_m", 3.0, "a parked car is longer than 3 m"),
    b("map.intersections[*].center[*]", -WORLD_M, WORLD_M, "m", "a scene is at most 100 km across"),
    b("map.intersections[*].size_m", 5.0, 200.0, "m", "intersections are 5–200 m across"),
    b("map.boxes[*].center[*]", -WORLD_M, WORLD_M, "m", "a scene is at most 100 km across"),
    b("map.boxes[*].size_m[*]", 0.01, 1000.0, "m", "a box larger than 1 km is not an object"),
    b("map.props[*].center[*]", -WORLD_M, WORLD_M, "m", "a scene is at most 100 km across"),
    b("map.props[*].size_m[*]", 0.01, 1000.0, "m", "a prop larger than 1 km is not an object"),
    b("map.opendrive.origin_m[*]", -1.0e7, 1.0e7, "m", "map coordinates (UTM included) are within 10,000 km"),
    b("actors[*].spawn[*]", -WORLD_M, WORLD_M, "m or deg", "a scene is at most 100 km across"),
    b("actors[*].route[*][*]", -WORLD_M, WORLD_M, "m", "a scene is at most 100 km across"),
    b("actors[*].speed_m_per_s", 0.0, 100.0, "m/s", "360 km/h is beyond road vehicles"),
    b("actors[*].mesh.cycle_m", 0.1, 100.0, "m", "a walk or a wheel turn covers 0.1–100 m"),
    b("ego.spawn[*]", -WORLD_M, WORLD_M, "m or deg", "a scene is at most 100 km across"),
    b("ego.route[*][*]", -WORLD_M, WORLD_M, "m", "a scene is at most 100 km across"),
    b("ego.speed_m_per_s", 0.0, 100.0, "m/s", "360 km/h is beyond road vehicles"),
    b("weather.wind_m_per_s", 0.0, 120.0, "m/s", "the strongest gust measured is 113 m/s"),
    b("weather.fog_visibility_m", 1.0, 1.0e6, "m", "the densest fog still shows a few metres; 1000 km is clear air"),
    b("weather.snow_depth_m", 0.0, 10.0, "m", "deeper snow buries the road"),
    b("weather.puddles[*].center[*]", -WORLD_M, WORLD_M, "m", "a scene is at most 100 km across"),
    b("weather.puddles[*].radius_m", 0.0, 1000.0, "m", "a puddle wider than 1 km is a lake"),
    b("run.sensor_rate_hz", 0.1, 1000.0, "Hz", "lidars turn at 5–20 Hz and cameras run at up to a few hundred"),
    b("rig.cameras[*].intrinsics.Pinhole.fx", 1.0, 1.0e6, "px", "focal lengths are tens to tens of thousands of pixels"),
    b("rig.cameras[*].intrinsics.Pinhole.fy", 1.0, 1.0e6, "px", "focal lengths are tens to tens of thousands of pixels"),
    b("rig.cameras[*].intrinsics.Pinhole.cx", -1.0e5, 1.0e5, "px", "the principal point lies near the image"),
    b("rig.cameras[*].intrinsics.Pinhole.cy", -1.0e5, 1.0e5, "px", "the principal point lies near the image"),
];

/// Every bound of [`BOUNDS`] against the scenario.
pub fn check(s: &Scenario) -> Result<(), FieldError> {
    let tree = serde_json::to_value(s).map_err(|e| ("(top level)".to_owned(), e.to_string()))?;
    for bound in BOUNDS {
        let steps: Vec<&str> = bound.path.split('.').collect();
        walk(&tree, &steps, String::new(), bound)?;
    }
    // Background traffic fills every lane at its density: it must stay within the actor cap
    // that keeps instance ids in 16 bits, with the scenario's own actors.
    if let Some(t) = &s.traffic {
        let lane_km: f64 = s
            .map
            .roads
            .iter()
            .map(|r| r.shape.length_m() as f64 * 2.0 * r.lanes_per_direction as f64 / 1000.0)
            .sum();
        let expected = lane_km * t.vehicles_per_km_per_lane as f64;
        let room = (MAX_ACTORS - s.actors.len()) as f64;
        if expected > room {
            return Err((
                "traffic.vehicles_per_km_per_lane".into(),
                format!(
                    "{} vehicles per km on {lane_km:.1} km of lanes make {expected:.0} vehicles, more than the {room} left of the {MAX_ACTORS}-actor cap (16-bit instance ids)",
                    t.vehicles_per_km_per_lane
                ),
            ));
        }
    }
    Ok(())
}

/// Most actors a scenario may have, traffic included (instance ids are 16 bits).
pub const MAX_ACTORS: usize = 60_000;

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn walk(node: &Value, steps: &[&str], at: String, bound: &Bound) -> Result<(), FieldError> {
    let Some((step, rest)) = steps.split_first() else {
        return leaf(node, &at, bound);
    };
    // `name[*][*]`: the field, then into each element as many times as there are `[*]`.
    let name = step.split('[').next().unwrap_or(step);
    let depth = step.matches("[*]").count();
    let Some(child) = node.get(name) else {
        return Ok(());
    };
    into(child, depth, join(&at, name), rest, bound)
}

fn into(
    node: &Value,
    depth: usize,
    at: String,
    rest: &[&str],
    bound: &Bound,
) -> Result<(), FieldError> {
    if depth == 0 {
        return walk(node, rest, at, bound);
    }
    match node {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                into(item, depth - 1, format!("{at}[{i}]"), rest, bound)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn leaf(node: &Value, at: &str, bound: &Bound) -> Result<(), FieldError> {
    match node {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                leaf(item, &format!("{at}[{i}]"), bound)?;
            }
            Ok(())
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            let ok = (bound.min..=bound.max).contains(&x) || (bound.zero_is_none && x == 0.0);
            if ok {
                Ok(())
            } else {
                Err((
                    at.to_owned(),
                    format!(
                        "expected {}{} to {} {}, found {} ({})",
                        if bound.zero_is_none {
                            "0 (none) or "
                        } else {
                            ""
                        },
                        bound.min,
                        bound.max,
                        bound.unit,
                        number(x),
                        bound.why
                    ),
                ))
            }
        }
        _ => Ok(()),
    }
}

/// A number as the scenario wrote it (the fields are 32-bit; very large and very small ones in
/// scientific notation).
fn number(x: f64) -> String {
    let v = x as f32;
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ScenarioError, Source, apply_overrides, parse};

    const QUICKSTART: &str = include_str!("../../scenes/quickstart.ron");

    fn scene(text: &str) -> Scenario {
        parse(&Source {
            path: "scenes/quickstart.ron".into(),
            text: text.into(),
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Each bound refuses a value past it, naming the field: set through `--set` on the
    /// quickstart scene with the optional parts the bounds reach added (those that need a
    /// model or map file are left to the importers' tests).
    #[test]
    fn every_bound_refuses_a_value_past_it_and_names_the_field() {
        let pinhole = QUICKSTART.replace(
            "intrinsics: KittiP2",
            "intrinsics: Pinhole(fx: 700.0, fy: 700.0, cx: 600.0, cy: 180.0)",
        );
        let base = apply_overrides(
            &scene(&pinhole),
            &[
                "traffic=Some((vehicles_per_km_per_lane: 10.0))".into(),
                "weather.fog_visibility_m=Some(200.0)".into(),
                "actors.0.spawn=Some((-38.0, -1.75, 0.0))".into(),
                "ego.spawn=Some((-55.0, -1.75, 0.0))".into(),
                "map.boxes=[(center: (50.0, 50.0), size_m: (2.0, 2.0, 2.0))]".into(),
                "weather.puddles=[(center: (1.0, 1.0), radius_m: 2.0)]".into(),
            ],
        )
        .unwrap();
        let (mut refused, mut absent) = (0, Vec::new());
        for bound in BOUNDS {
            let key = bound.path.replace("[*]", ".0");
            let field = bound.path.replace("[*]", "[0]");
            for value in [bound.max * 10.0 + 1.0, bound.min - 1.0 - bound.min.abs()] {
                if value < 0.0 && bound.path.ends_with("lanes_per_direction") {
                    continue; // unsigned: refused by its type
                }
                match apply_overrides(&base, &[format!("{key}={value:?}")]) {
                    Err(ScenarioError::Override { message, .. })
                        if message.starts_with("no field") =>
                    {
                        absent.push(bound.path);
                        break;
                    }
                    Err(ScenarioError::Override { message, .. }) => {
                        // An older check may refuse it first; it names the field too.
                        let name = bound
                            .path
                            .rsplit('.')
                            .next()
                            .unwrap_or("")
                            .replace("[*]", "");
                        assert!(
                            message.contains(&field) || message.contains(&name),
                            "{key}={value}: {message}"
                        );
                        refused += 1;
                    }
                    other => panic!("{key}={value} was not refused: {other:?}"),
                }
            }
        }
        absent.dedup();
        assert_eq!(
            absent,
            [
                "map.props[*].center[*]",
                "map.props[*].size_m[*]",
                "map.opendrive.origin_m[*]",
                "actors[*].mesh.cycle_m"
            ],
            "bounds the test could not reach"
        );
        assert!(refused >= 60, "{refused}");
        // A file names the line.
        let text = QUICKSTART.replace(
            "sensor_rate_hz: 10.0, physics_dt_s",
            "sensor_rate_hz: 1e-30, physics_dt_s",
        );
        let e = parse(&Source {
            path: "q.ron".into(),
            text,
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("q.ron:57:")
                && e.contains("run.sensor_rate_hz: expected 0.1 to 1000 Hz, found 1e-30"),
            "{e}"
        );
    }

    #[test]
    fn traffic_that_would_pass_the_actor_cap_is_refused() {
        // 30 km of an 8 + 8 lane road at 150 vehicles per km and lane: 72,000 vehicles.
        let long = QUICKSTART.replacen(
            "(shape: Straight(from: (-160.0, 0.0), to: (-7.0, 0.0)), lanes_per_direction: 2,",
            "(shape: Straight(from: (-30007.0, 0.0), to: (-7.0, 0.0)), lanes_per_direction: 8,",
            1,
        );
        assert_ne!(long, QUICKSTART);
        let e = apply_overrides(
            &scene(&long),
            &["traffic=Some((vehicles_per_km_per_lane: 150.0))".into()],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("traffic.vehicles_per_km_per_lane") && e.contains("60000-actor cap"),
            "{e}"
        );
        // At 100 per km the same road fits.
        apply_overrides(
            &scene(&long),
            &["traffic=Some((vehicles_per_km_per_lane: 100.0))".into()],
        )
        .unwrap();
    }
}
