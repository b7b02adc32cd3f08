//! OpenDRIVE import against the files' own numbers (`VERISIM_MAPS`, default
//! `../shared/data/maps`): road lengths and geometry joins as this reader evaluates line, arc,
//! spiral and paramPoly3; lane offsets and widths, elevation and superelevation in the mesh
//! against closed forms of the files' polynomials; a rendered map on both backends; broken
//! files refused at their element and line.

use std::path::{Path, PathBuf};

use glam::{DVec2, Vec3};
use verisim::Class;
use verisim::geometry::Mesh;
use verisim::geometry::opendrive::{self, OpenDrive};

fn maps() -> PathBuf {
    std::env::var_os("VERISIM_MAPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/maps"))
        .join("opendrive")
}

fn read(name: &str) -> OpenDrive {
    opendrive::read(&maps().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
#[cfg_attr(
    verisim_no_maps,
    ignore = "needs the shared OpenDRIVE maps: VERISIM_MAPS (default ../shared/data/maps) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn every_shared_map_reads_and_agrees_with_its_own_numbers() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(maps())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xodr"))
        .collect();
    files.sort();
    // The quirk: a comment before the XML declaration (strict XML readers refuse it).
    files.push(maps().join("quirks/libOpenDRIVE_test.xodr"));
    assert_eq!(files.len(), 8);
    for f in &files {
        let t = std::time::Instant::now();
        let od = opendrive::read(f).unwrap_or_else(|e| panic!("{e}"));
        let read_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = std::time::Instant::now();
        let (mesh, _) = opendrive::build_mesh(&od, DVec2::ZERO);
        let mesh_ms = t.elapsed().as_secs_f64() * 1e3;
        let c = opendrive::consistency(&od);
        let name = f.file_name().unwrap().to_string_lossy();
        eprintln!(
            "{name}: {} roads, {} triangles, read {read_ms:.1} ms, mesh {mesh_ms:.1} ms, joins: gap {:.1e} m, turn {:.1e} rad",
            od.roads.len(),
            mesh.len(),
            c.max_join_gap_m,
            c.max_join_turn_rad
        );
        // Road lengths are the sums of their geometries' within 1 mm.
        assert!(
            c.length_mismatches.is_empty(),
            "{name}: {:?}",
            c.length_mismatches
        );
        // Where one geometry ends (as evaluated here) the next begins (as the file says):
        // within a micrometre for esmini's and the ALKS files (spirals, arcs, paramPoly3 over
        // kilometres), within the file's own 1 mm rounding for RoadRunner's CARLA towns.
        let carla = name.starts_with("Town") || name.starts_with("libOpenDRIVE");
        let (gap, turn) = if carla { (2e-3, 1e-3) } else { (1e-6, 1e-9) };
        assert!(
            c.max_join_gap_m <= gap && c.max_join_turn_rad <= turn,
            "{name}: gap {} m at {:?}, turn {} rad",
            c.max_join_gap_m,
            c.worst_join,
            c.max_join_turn_rad
        );
        assert!(!mesh.is_empty(), "{name}");
        // Every vertex is finite and every triangle carries a map class.
        assert!(mesh.tris.iter().flatten().all(|p| p.is_finite()), "{name}");
    }
}

/// The (s, t) of a point of a straight road starting at `start` with heading `hdg`.
fn st(p: Vec3, start: DVec2, hdg: f64) -> (f64, f64) {
    let d = DVec2::new(p.x as f64, p.y as f64) - start;
    let (s, c) = hdg.sin_cos();
    (d.x * c + d.y * s, -d.x * s + d.y * c)
}

/// The lateral extent of the `class` triangles where they cross `s` (a straight road).
fn lateral_extent(m: &Mesh, class: Class, start: DVec2, hdg: f64, s: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (t, c) in m.tris.iter().zip(&m.class) {
        if *c != class {
            continue;
        }
        let v = t.map(|p| st(p, start, hdg));
        for (a, b) in [(v[0], v[1]), (v[1], v[2]), (v[2], v[0])] {
            if (a.0 - s) * (b.0 - s) <= 0.0 && (a.0 - b.0).abs() > 1e-9 {
                let f = (s - a.0) / (b.0 - a.0);
                let lat = a.1 + f * (b.1 - a.1);
                lo = lo.min(lat);
                hi = hi.max(lat);
            }
        }
    }
    (lo, hi)
}

#[test]
#[cfg_attr(
    verisim_no_maps,
    ignore = "needs the shared OpenDRIVE maps: VERISIM_MAPS (default ../shared/data/maps) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn lane_offsets_and_widths_in_the_mesh_follow_the_polynomials() {
    // esmini's unit-test road: from (10, −10) at heading 1 rad, 10 m; the lane offset grows
    // 0 → 10 m (b = 1) and the right lane's width 0 → 10 m (b = 1), so at s the driving
    // surface spans t = s − s .. s: [0, s].
    let od = read("lane_width_and_offset.xodr");
    let (mesh, _) = opendrive::build_mesh(&od, DVec2::ZERO);
    for s in [2.0, 5.0, 8.0] {
        let (lo, hi) = lateral_extent(&mesh, Class::Road, DVec2::new(10.0, -10.0), 1.0, s);
        assert!(
            lo.abs() < 1e-4 && (hi - s).abs() < 1e-4,
            "at s = {s}: t from {lo} to {hi}"
        );
    }
    // The centre line's solid mark sits on the offset line t = s, 0.12 m wide.
    let (lo, hi) = lateral_extent(&mesh, Class::LaneMarking, DVec2::new(10.0, -10.0), 1.0, 5.0);
    assert!(
        (lo - 4.94).abs() < 1e-4 && (hi - 5.06).abs() < 1e-4,
        "{lo} {hi}"
    );
}

#[test]
#[cfg_attr(
    verisim_no_maps,
    ignore = "needs the shared OpenDRIVE maps: VERISIM_MAPS (default ../shared/data/maps) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn elevation_and_superelevation_raise_and_bank_the_surface() {
    // An arc of curvature 0.01 from (0, 0) at heading 0: centre (0, 100). Superelevation from
    // s = 50: 0.00015·ds² − 1e-6·ds³, so 0.25 rad at s = 100; elevation from s = 250:
    // 0.006·ds² − 4e-5·ds³, so 10 m at s = 300. Driving lanes ±1 are 3.07 m wide.
    let od = read("straight_500_superelevation_elevation_curve.xodr");
    let (mesh, _) = opendrive::build_mesh(&od, DVec2::ZERO);
    let verts: Vec<Vec3> = mesh
        .tris
        .iter()
        .zip(&mesh.class)
        .filter(|(_, c)| **c == Class::Road)
        .flat_map(|(t, _)| *t)
        .collect();
    let on_arc = |s: f64, t: f64, roll: f64, z: f64| {
        let a = s / 100.0;
        let reference = DVec2::new(100.0 * a.sin(), 100.0 - 100.0 * a.cos());
        let normal = DVec2::new(-a.sin(), a.cos());
        let xy = reference + normal * t * roll.cos();
        Vec3::new(xy.x as f32, xy.y as f32, (z + t * roll.sin()) as f32)
    };
    for (what, want) in [
        ("left edge banked up", on_arc(100.0, 3.07, 0.25, 0.0)),
        ("right edge banked down", on_arc(100.0, -3.07, 0.25, 0.0)),
        ("crest of the hill", on_arc(300.0, 0.0, 0.0, 10.0)),
        (
            "hill's flank",
            on_arc(275.0, 3.07, 0.0, 0.006 * 625.0 - 4e-5 * 15625.0),
        ),
    ] {
        let nearest = verts
            .iter()
            .map(|v| v.distance(want))
            .fold(f32::INFINITY, f32::min);
        assert!(
            nearest < 2e-3,
            "{what}: nearest vertex {nearest} m from {want}"
        );
    }
}

/// A scene on the e6mini motorway (paramPoly3 curves and hills) with a car ahead of the ego.
pub fn motorway_scene(lidar: &str) -> verisim::Scenario {
    let text = format!(
        r#"Scenario(
    name: "e6mini",
    map: (ground_size_m: 0.0, opendrive: Some((path: "{}"))),
    actors: [(kind: Car, spawn: Some((3.5, 40.0, 90.0)))],
    ego: (spawn: Some((-5.5, 10.0, 90.0))),
    rig: (
        cameras: [(width: 320, height: 120, intrinsics: Pinhole(fx: 160.0, fy: 160.0, cx: 160.0, cy: 60.0), pose: (xyz_m: (0.27, 0.0, 1.65)))],
        lidars: [(preset: {lidar}, pose: (xyz_m: (0.0, 0.0, 1.73)))],
    ),
    run: (frames: 4),
)"#,
        maps().join("e6mini.xodr").display(),
    );
    crate::common::scenario_from_str("e6mini.ron", &text)
}

#[test]
#[cfg_attr(
    verisim_no_maps,
    ignore = "needs the shared OpenDRIVE maps: VERISIM_MAPS (default ../shared/data/maps) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn an_imported_map_renders_the_same_on_gpu_and_cpu() {
    // Lavapipe runs it on the CPU: a 16-beam lidar keeps the test short.
    crate::gpu_vs_cpu::compare("e6mini", motorway_scene("VelodyneVlp16"), &[3]);
}

#[test]
#[cfg_attr(
    verisim_no_maps,
    ignore = "needs the shared OpenDRIVE maps: VERISIM_MAPS (default ../shared/data/maps) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn the_lidar_sees_the_imported_road_and_its_marks() {
    use verisim::backend::Backend;
    let mut sim = verisim::Simulation::try_new(motorway_scene("VelodyneHdl64e")).unwrap();
    let mut cpu = verisim::backend::cpu::CpuBackend::new(&sim.assets.pool);
    let lidar = cpu.render(&sim.frame_inputs()).unwrap().lidar.unwrap();
    let count = |c: Class| {
        lidar
            .points()
            .filter(|p| p.label & 0xFFFF == c.id() as u32)
            .count()
    };
    let (road, marks, terrain, car) = (
        count(Class::Road),
        count(Class::LaneMarking),
        count(Class::Terrain),
        count(Class::Car),
    );
    eprintln!("road {road}, marks {marks}, border {terrain}, car {car}");
    assert!(road > 10_000 && marks > 200 && terrain > 1000 && car > 50);
}

#[test]
fn broken_maps_are_refused_at_their_element_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"<?xml version="1.0"?>
<OpenDRIVE>
  <header revMajor="1" revMinor="6"/>
  <road id="7" length="10" junction="-1">
    <planView>
      <geometry s="0" x="0" y="0" hdg="0" length="10"><line/></geometry>
    </planView>
    <lanes>
      <laneSection s="0">
        <right><lane id="-1" type="driving"><width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane></right>
      </laneSection>
    </lanes>
  </road>
</OpenDRIVE>
"#;
    let path = dir.path().join("good.xodr");
    std::fs::write(&path, good).unwrap();
    let od = opendrive::read(&path).unwrap();
    assert_eq!(od.roads[0].lane_bounds(5.0, -1), Some((0.0, -3.5)));
    for (name, text, want) in [
        (
            "no length",
            good.replace(r#"hdg="0" length="10""#, r#"hdg="0""#),
            "line 6: <geometry> lacks its `length` attribute",
        ),
        (
            "not a number",
            good.replace(r#"a="3.5""#, r#"a="wide""#),
            "line 10: <width> `a`=\"wide\" is not a finite number",
        ),
        (
            "unknown shape",
            good.replace("<line/>", "<clothoid/>"),
            "line 6: geometry <clothoid> is not an OpenDRIVE plan-view shape",
        ),
        ("cut short", good[..good.len() / 2].to_string(), "not XML"),
        (
            "absurd length",
            good.replace(r#"length="10" junction"#, r#"length="1e9" junction"#),
            "line 4: road 7 is 1000000000 m long; a road may be at most 100000 m",
        ),
        (
            "no roads",
            "<OpenDRIVE><header/></OpenDRIVE>".to_string(),
            "the file has no <road>",
        ),
    ] {
        let p = dir.path().join(format!("{}.xodr", name.replace(' ', "_")));
        std::fs::write(&p, &text).unwrap();
        let e = opendrive::read(&p).unwrap_err().to_string();
        assert!(
            e.contains(&*p.to_string_lossy()) && e.contains(want),
            "{name}: {e}"
        );
    }
    // A map whose mesh would be absurd is refused before it is built: 100 km of a curved
    // road (1 m samples) with 200 lanes is 20.1 M lane strips.
    let lanes: String = (1..=200)
        .map(|i| format!(r#"<lane id="-{i}" type="driving"><width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane>"#))
        .collect();
    let huge = good
        .replace(r#"length="10" junction"#, r#"length="100000" junction"#)
        .replace(
            r#"length="10"><line/>"#,
            r#"length="100000"><arc curvature="0.00001"/>"#,
        )
        .replace(
            r#"<lane id="-1" type="driving"><width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane>"#,
            &lanes,
        );
    let p = dir.path().join("huge.xodr");
    std::fs::write(&p, huge).unwrap();
    let e = opendrive::read(&p).unwrap_err().to_string();
    assert!(e.contains("lane strips, more than the 20000000"), "{e}");
    // Through the command line: exit 2, the file and field named, nothing written.
    let bad = dir.path().join("no_length.xodr");
    let scene = dir.path().join("scene.ron");
    std::fs::write(
        &scene,
        format!(
            r#"Scenario(name: "x", map: (opendrive: Some((path: "{}"))), ego: (spawn: Some((1.0, -1.0, 0.0))),
    rig: (cameras: [(width: 32, height: 16, intrinsics: Pinhole(fx: 16.0, fy: 16.0, cx: 16.0, cy: 8.0), pose: (xyz_m: (0.0, 0.0, 1.6)))]),
    run: (frames: 1))"#,
            bad.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    for args in [
        vec![
            "render",
            scene.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        vec!["validate", scene.to_str().unwrap()],
    ] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_verisim"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("no_length.xodr") && err.contains("lacks its `length`"),
            "{args:?}: {err}"
        );
    }
    assert!(!out.exists());
}
