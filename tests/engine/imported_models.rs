//! glTF 2.0 import: a model written here (node TRS and matrix, an instanced mesh, a texture, an
//! animation) against its transforms worked out by hand; the shared third-party models
//! (`VERISIM_ASSETS`, default `../shared/data/assets`) against their own numbers, in a scene
//! whose labels follow their geometry and whose GPU labels equal the CPU's; broken files
//! refused with the file and the reason.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use glam::Vec3;
use verisim::Simulation;
use verisim::backend::Backend;
use verisim::backend::cpu::CpuBackend;
use verisim::geometry::imported::{self, Model};
use verisim::scenario::ModelFront;

/// The shared third-party models' folder.
pub fn assets() -> PathBuf {
    std::env::var_os("VERISIM_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/assets"))
        .join("gltf")
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes `dir/tri.gltf` (+ `tri.bin`, `tex.png`): one triangle (0,0,0) (1,0,0) (0,1,0) drawn
/// twice under a root translated by (1, 2, 3): by a TRS node (90° about +Y, scale 2) with a
/// plain colour, and by a matrix node (translation (0, 0, 5)) with a texture whose left texel
/// is red and right texel blue (the triangle's UVs lie on the left). An animation moves the
/// TRS node from (0,0,0) to (0,10,0) over 1 s.
fn write_model(dir: &Path) -> PathBuf {
    let mut bin = f32s(&[0., 0., 0., 1., 0., 0., 0., 1., 0.]); // 0..36 positions
    bin.extend([0u16, 1, 2, 0].iter().flat_map(|i| i.to_le_bytes())); // 36..44 indices
    bin.extend(f32s(&[0.1, 0.5, 0.2, 0.5, 0.15, 0.6])); // 44..68 uvs
    bin.extend(f32s(&[0.0, 1.0])); // 68..76 times
    bin.extend(f32s(&[0., 0., 0., 0., 10., 0.])); // 76..100 translations
    std::fs::write(dir.join("tri.bin"), &bin).unwrap();
    let mut png = Vec::new();
    image::RgbImage::from_raw(2, 1, vec![255, 0, 0, 0, 0, 255])
        .unwrap()
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    std::fs::write(dir.join("tex.png"), png).unwrap();
    let s = std::f32::consts::FRAC_1_SQRT_2;
    let json = serde_json::json!({
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [
            {"name": "root", "translation": [1.0, 2.0, 3.0], "children": [1, 2]},
            {"mesh": 0, "rotation": [0.0, s, 0.0, s], "scale": [2.0, 2.0, 2.0]},
            {"mesh": 1, "matrix": [1.0,0.0,0.0,0.0, 0.0,1.0,0.0,0.0, 0.0,0.0,1.0,0.0, 0.0,0.0,5.0,1.0]}
        ],
        "meshes": [
            {"primitives": [{"attributes": {"POSITION": 0}, "indices": 1, "material": 0}]},
            {"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 2}, "indices": 1, "material": 1}]}
        ],
        "materials": [
            {"name": "paint", "pbrMetallicRoughness": {"baseColorFactor": [0.5, 0.25, 1.0, 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.5}},
            {"name": "decal", "pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}
        ],
        "textures": [{"source": 0, "sampler": 0}],
        "samplers": [{"magFilter": 9728, "minFilter": 9728, "wrapS": 10497, "wrapT": 10497}],
        "images": [{"uri": "tex.png"}],
        "animations": [{
            "channels": [{"sampler": 0, "target": {"node": 1, "path": "translation"}}],
            "samplers": [{"input": 3, "output": 4, "interpolation": "LINEAR"}]
        }],
        "buffers": [{"uri": "tri.bin", "byteLength": 100}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 36},
            {"buffer": 0, "byteOffset": 36, "byteLength": 6},
            {"buffer": 0, "byteOffset": 44, "byteLength": 24},
            {"buffer": 0, "byteOffset": 68, "byteLength": 8},
            {"buffer": 0, "byteOffset": 76, "byteLength": 24}
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0.0, 0.0, 0.0], "max": [1.0, 1.0, 0.0]},
            {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"},
            {"bufferView": 2, "componentType": 5126, "count": 3, "type": "VEC2"},
            {"bufferView": 3, "componentType": 5126, "count": 2, "type": "SCALAR", "min": [0.0], "max": [1.0]},
            {"bufferView": 4, "componentType": 5126, "count": 2, "type": "VEC3"}
        ]
    });
    let path = dir.join("tri.gltf");
    std::fs::write(&path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    path
}

fn assert_tri(got: [Vec3; 3], want: [[f32; 3]; 3], what: &str) {
    for (g, w) in got.iter().zip(want) {
        assert!(
            g.abs_diff_eq(Vec3::from(w), 1e-5),
            "{what}: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn node_transforms_instancing_textures_and_axes_are_applied_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_model(dir.path());
    let m = imported::import(&path, ModelFront::PlusZ, 1).unwrap();
    assert_eq!(m.poses.len(), 1);
    assert_eq!(m.stats.triangles, 2);
    assert_eq!(
        (m.stats.nodes, m.stats.meshes, m.stats.primitives),
        (3, 2, 2)
    );
    // glTF: TRS node: T(1,2,3)·R_y(90°)·S(2) takes (1,0,0) to (1,2,1) and (0,1,0) to (1,4,3);
    // matrix node: T(1,2,3)·T(0,0,5). Actor frame: (x, y, z) = (glTF z, glTF x, glTF y).
    assert_tri(
        m.poses[0][0],
        [[3., 1., 2.], [1., 1., 2.], [3., 1., 4.]],
        "TRS",
    );
    assert_tri(
        m.poses[0][1],
        [[8., 1., 2.], [8., 2., 2.], [8., 1., 3.]],
        "matrix",
    );
    // The factor as it is; the texel under the UVs' centroid (red), sRGB-decoded.
    let paint = &m.materials[m.tri_material[0] as usize];
    assert_eq!(paint.name, "paint");
    assert_eq!(paint.albedo, [0.5, 0.25, 1.0]);
    assert_eq!((paint.roughness, paint.metalness), (0.5, 0.0));
    let decal = &m.materials[m.tri_material[1] as usize];
    assert_eq!(
        (decal.name.as_str(), decal.albedo),
        ("decal", [1.0, 0.0, 0.0])
    );

    // Facing −Z instead turns the model half a turn about up.
    let back = imported::import(&path, ModelFront::MinusZ, 1).unwrap();
    assert_tri(
        back.poses[0][1],
        [[-8., -1., 2.], [-8., -2., 2.], [-8., -1., 3.]],
        "−Z",
    );

    // Four poses over the 1 s animation: the TRS node at y = 0, 2.5, 5, 7.5 (actor z).
    let walk = imported::import(&path, ModelFront::PlusZ, 4).unwrap();
    assert_eq!(walk.poses.len(), 4);
    assert_eq!(walk.animation_s, 1.0);
    for (k, pose) in walk.poses.iter().enumerate() {
        let dz = 2.5 * k as f32;
        assert_tri(
            pose[0],
            [[3., 1., 2. + dz], [1., 1., 2. + dz], [3., 1., 4. + dz]],
            &format!("pose {k}"),
        );
        // The matrix node is not animated.
        assert_tri(
            pose[1],
            [[8., 1., 2.], [8., 2., 2.], [8., 1., 3.]],
            "static",
        );
    }
}

/// Runs `verisim render` on a scenario naming `model` and returns (exit code, stderr); `--out`
/// must stay absent, and `verisim validate` must fail alike.
fn refused(dir: &Path, model: &Path) -> (i32, String) {
    let scene = dir.join("scene.ron");
    std::fs::write(
        &scene,
        format!(
            r#"Scenario(name: "broken", map: (ground_size_m: 50.0),
    actors: [(kind: Car, spawn: Some((10.0, 0.0, 0.0)), mesh: Some((path: "{}")))],
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (cameras: [(width: 64, height: 32, intrinsics: Pinhole(fx: 32.0, fy: 32.0, cx: 32.0, cy: 16.0), pose: (xyz_m: (0.0, 0.0, 1.6)))]),
    run: (frames: 1))"#,
            model.display()
        ),
    )
    .unwrap();
    let out = dir.join("out");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args([
            "render",
            scene.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.exists(), "a refused render wrote {}", out.display());
    // `validate` imports the models too, and fails the same way.
    let v = std::process::Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args(["validate", scene.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(v.status.code(), o.status.code(), "{v:?}");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn broken_models_are_refused_with_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_model(dir.path());
    let text = std::fs::read_to_string(&path).unwrap();
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "missing buffer",
            Box::new(|d: &Path| std::fs::remove_file(d.join("tri.bin")).unwrap()),
            "cannot read the model or a file it names",
        ),
        (
            "short buffer",
            Box::new(|d: &Path| std::fs::write(d.join("tri.bin"), [0u8; 40]).unwrap()),
            "buffer 0 holds 40 bytes, the file declares 100",
        ),
        (
            "accessor past its view",
            Box::new(|d: &Path| {
                let t = std::fs::read_to_string(d.join("tri.gltf")).unwrap();
                let t = t.replacen("\"count\": 3,", "\"count\": 300,", 1);
                std::fs::write(d.join("tri.gltf"), t).unwrap();
            }),
            "accessor 0",
        ),
        (
            "index past the vertices",
            Box::new(|d: &Path| {
                let mut b = std::fs::read(d.join("tri.bin")).unwrap();
                b[40..42].copy_from_slice(&7u16.to_le_bytes());
                std::fs::write(d.join("tri.bin"), b).unwrap();
            }),
            "index 7 past its 3 vertices",
        ),
        (
            "truncated JSON",
            Box::new(move |d: &Path| {
                std::fs::write(d.join("tri.gltf"), &text[..text.len() / 2]).unwrap()
            }),
            "EOF while parsing",
        ),
    ];
    for (name, damage, want) in cases {
        let case = tempfile::tempdir().unwrap();
        let model = write_model(case.path());
        damage(case.path());
        let (code, err) = refused(case.path(), &model);
        assert_eq!(code, 2, "{name}: exit {code}: {err}");
        assert!(
            err.contains("tri.gltf") && err.contains("actors[0].mesh") && err.contains(want),
            "{name}: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    // A file that is no glTF at all, named as one.
    let case = tempfile::tempdir().unwrap();
    let junk = case.path().join("junk.glb");
    std::fs::write(&junk, b"glTF\x02\0\0\0\xff\xff").unwrap();
    let (code, err) = refused(case.path(), &junk);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("junk.glb") && err.contains("GLB"), "{err}");
}

/// The five shared models: (file, front, drawn triangles (instances counted), nodes, meshes,
/// primitives, skins, animations, rest-pose size (length x, width y, height z) in metres).
type Inventory = (&'static str, usize, [usize; 5], [f32; 3]);

/// From `../shared/data/assets/gltf/README.md` (counts; the sizes there are accessor bounds,
/// so they hold within 0.1 m): the Milk Truck's 2,856 triangles plus its instanced wheel
/// mesh drawn a second time; the Cesium Man stands 1.51 m tall in its rest (T) pose, arms
/// spread 1.14 m, and 1.46 m tall walking.
const SHARED: [Inventory; 5] = [
    (
        "cesium_milk_truck/CesiumMilkTruck.gltf",
        2856 + 768,
        [6, 2, 4, 0, 1],
        [4.87, 2.80, 2.65],
    ),
    (
        "cesium_man/CesiumMan.glb",
        4672,
        [22, 1, 1, 1, 1],
        [0.31, 1.14, 1.51],
    ),
    (
        "kenney_racing/vehicle-truck-red.glb",
        946,
        [6, 6, 6, 0, 0],
        [2.80, 1.50, 1.30],
    ),
    (
        "kenney_racing/decoration-forest.glb",
        2006,
        [1, 1, 1, 0, 0],
        [10.0, 10.0, 5.33],
    ),
    (
        "khronos_tests/BoxTextured.gltf",
        12,
        [2, 1, 1, 0, 0],
        [1.0, 1.0, 1.0],
    ),
];

fn extent(tris: &[[Vec3; 3]]) -> Vec3 {
    let (mut lo, mut hi) = (Vec3::INFINITY, Vec3::NEG_INFINITY);
    for p in tris.iter().flatten() {
        lo = lo.min(*p);
        hi = hi.max(*p);
    }
    hi - lo
}

#[test]
#[cfg_attr(
    verisim_no_assets,
    ignore = "needs the shared glTF models: VERISIM_ASSETS (default ../shared/data/assets) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn shared_models_import_with_their_own_numbers() {
    for (file, triangles, [nodes, meshes, primitives, skins, animations], size) in SHARED {
        let path = assets().join(file);
        let t = std::time::Instant::now();
        let m: Model = imported::import(&path, ModelFront::PlusZ, 1).unwrap();
        let s = m.stats;
        eprintln!(
            "{file}: {} triangles, {} verisim materials, imported in {:.1} ms",
            s.triangles,
            m.materials.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        assert_eq!(s.triangles, triangles, "{file}");
        assert_eq!(m.poses[0].len(), triangles, "{file}");
        assert_eq!(
            [s.nodes, s.meshes, s.primitives, s.skins, s.animations],
            [nodes, meshes, primitives, skins, animations],
            "{file}"
        );
        let e = extent(&m.poses[0]);
        assert!(
            (e - Vec3::from(size)).abs().max_element() <= 0.1,
            "{file}: {e} vs {size:?}"
        );
        // Every colour is a physical albedo and every 905 nm reflectivity is the rule's.
        for mat in &m.materials {
            assert!(mat.albedo.iter().all(|a| (0.0..=1.0).contains(a)), "{file}");
            let l = imported::lidar_material(mat, None);
            assert!((0.02..=0.9).contains(&l.reflectivity_905nm), "{file}");
        }
    }
    // The Cesium Man walks: poses over the cycle differ, each about as tall as the rest pose.
    let man = imported::import(&assets().join(SHARED[1].0), ModelFront::PlusZ, 8).unwrap();
    assert_eq!(man.poses.len(), 8);
    assert!(
        (man.animation_s - 1.958).abs() < 0.01,
        "{}",
        man.animation_s
    );
    let lengths: Vec<f32> = man.poses.iter().map(|p| extent(p).x).collect();
    for p in &man.poses {
        assert!((extent(p).z - 1.46).abs() < 0.1, "{}", extent(p));
    }
    let spread = lengths.iter().cloned().fold(0.0f32, f32::max)
        - lengths.iter().cloned().fold(f32::INFINITY, f32::min);
    assert!(
        spread > 0.1,
        "the stride does not change the length: {lengths:?}"
    );
    // A truncated GLB is refused with the file named.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("CesiumMan.glb");
    let bytes = std::fs::read(assets().join(SHARED[1].0)).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = imported::import(&cut, ModelFront::PlusZ, 1).unwrap_err();
    assert!(e.to_string().contains("CesiumMan.glb"), "{e}");
}

/// A street scene with the four vehicle and person models around the ego and the forest tile
/// as a prop.
pub fn models_scene() -> verisim::Scenario {
    let a = assets();
    let text = format!(
        r#"Scenario(
    name: "models", map: (ground_size_m: 200.0,
        roads: [(shape: Straight(from: (-80.0, 0.0), to: (80.0, 0.0)), lanes_per_direction: 2, sidewalk_width_m: 3.0)],
        props: [(mesh: (path: "{a}/kenney_racing/decoration-forest.glb"), center: (24.0, -16.0), yaw_deg: 20.0, class: Vegetation)]),
    actors: [
        (kind: Truck, spawn: Some((12.0, -1.75, 90.0)), mesh: Some((path: "{a}/cesium_milk_truck/CesiumMilkTruck.gltf", lidar_materials: {{"glass": "glass"}}))),
        (kind: Pedestrian, route: [(8.0, -8.5), (8.0, 8.5)], speed_m_per_s: 1.4, mesh: Some((path: "{a}/cesium_man/CesiumMan.glb", cycle_m: Some(1.5)))),
        (kind: Truck, spawn: Some((16.0, 3.5, 180.0)), size_m: Some((5.0, 2.0, 2.5)), mesh: Some((path: "{a}/kenney_racing/vehicle-truck-red.glb"))),
        (kind: Car, spawn: Some((7.0, 4.0, 30.0)), size_m: Some((1.0, 1.0, 1.0)), mesh: Some((path: "{a}/khronos_tests/BoxTextured.gltf"))),
    ],
    ego: (spawn: Some((0.0, -1.75, 0.0))),
    rig: (
        cameras: [(width: 320, height: 120, intrinsics: Pinhole(fx: 160.0, fy: 160.0, cx: 160.0, cy: 60.0), pose: (xyz_m: (0.27, 0.0, 1.65)))],
        lidars: [(preset: VelodyneHdl64e, noise_stddev_m: 0.0, motion_distortion: false, pose: (xyz_m: (0.0, 0.0, 1.73)))],
    ),
    run: (frames: 12),
)"#,
        a = a.display()
    );
    common::scenario_from_str("models.ron", &text)
}

#[test]
#[cfg_attr(
    verisim_no_assets,
    ignore = "needs the shared glTF models: VERISIM_ASSETS (default ../shared/data/assets) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn imported_actors_are_labelled_by_their_geometry() {
    let mut sim = Simulation::try_new(models_scene()).unwrap();
    let mut cpu = CpuBackend::new(&sim.assets.pool);
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut forest = 0usize;
    let mut pedestrian_meshes = std::collections::HashSet::new();
    for frame in [0, 6, 11] {
        sim.advance_to_frame(frame);
        let inputs = sim.frame_inputs();
        let objects: HashMap<u32, _> = inputs.objects.iter().map(|o| (o.instance_id, o)).collect();
        // The sizes: the milk truck at its own scale; the Kenney truck scaled by
        // min(5/2.8, 2/1.5, 2.5/1.3) = 4/3 to fit its 5 x 2 x 2.5 m; the box to 1 m.
        let truck = objects[&1].size_m;
        assert!(
            (truck - Vec3::new(4.869, 2.792, 2.583)).abs().max_element() < 0.01,
            "{truck}"
        );
        let kenney = objects[&3].size_m;
        assert!(
            (kenney - Vec3::new(2.8, 1.5, 1.3) * 4.0 / 3.0)
                .abs()
                .max_element()
                < 0.01,
            "{kenney}"
        );
        assert!((objects[&4].size_m - Vec3::ONE).abs().max_element() < 1e-4);
        pedestrian_meshes.insert(
            inputs
                .tlas
                .instances
                .iter()
                .find(|i| i.instance_id == 2)
                .map(|i| i.blas_root),
        );
        let lidar = cpu.render(&inputs).unwrap().lidar.unwrap();
        let world_from_lidar = inputs.lidar.as_ref().unwrap().world_from_lidar;
        for p in lidar.points() {
            let id = p.label >> 16;
            let world = world_from_lidar.transform_point3(Vec3::new(p.x, p.y, p.z));
            // The prop's tile: 10 x 10 m about (24, -16), turned 20°, unlabelled vegetation.
            let local = glam::Quat::from_rotation_z(-20f32.to_radians())
                * (world - Vec3::new(24.0, -16.0, 0.0));
            if local.x.abs() < 4.9 && local.y.abs() < 4.9 && local.z > 0.3 {
                assert_eq!(id, 0, "a prop's point carries an instance");
                assert_eq!(p.label & 0xFFFF, verisim::Class::Vegetation.id() as u32);
                forest += 1;
            }
            if !(1..=4).contains(&id) {
                continue;
            }
            let o = objects[&id];
            let local = o
                .world_from_object
                .inverse()
                .transform_point3(world_from_lidar.transform_point3(Vec3::new(p.x, p.y, p.z)));
            let m = 0.02;
            assert!(
                local.x.abs() <= o.size_m.x / 2.0 + m
                    && local.y.abs() <= o.size_m.y / 2.0 + m
                    && local.z >= -m
                    && local.z <= o.size_m.z + m,
                "frame {frame}: a point of {id} at {local} outside its box {}",
                o.size_m
            );
            *seen.entry(id).or_default() += 1;
        }
    }
    for id in 1..=4 {
        assert!(
            seen.get(&id).copied().unwrap_or(0) > 20,
            "actor {id}: {seen:?}"
        );
    }
    assert!(forest > 100, "{forest} points on the forest prop");
    // The walker changes pose as it goes.
    assert!(pedestrian_meshes.len() >= 2, "{pedestrian_meshes:?}");
}

#[test]
#[cfg_attr(
    verisim_no_assets,
    ignore = "needs the shared glTF models: VERISIM_ASSETS (default ../shared/data/assets) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn imported_models_render_the_same_on_gpu_and_cpu() {
    crate::gpu_vs_cpu::compare("models scene", models_scene(), &[0, 7]);
}

#[test]
fn a_run_is_not_resumed_with_a_changed_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let scene = dir.path().join("scene.ron");
    std::fs::write(
        &scene,
        r#"Scenario(name: "resume", map: (ground_size_m: 50.0),
    actors: [(kind: Car, spawn: Some((6.0, 0.0, 0.0)), mesh: Some((path: "tri.gltf")))],
    ego: (spawn: Some((0.0, 0.0, 0.0))),
    rig: (cameras: [(width: 64, height: 32, intrinsics: Pinhole(fx: 32.0, fy: 32.0, cx: 32.0, cy: 16.0), pose: (xyz_m: (0.0, 0.0, 1.6)))]),
    run: (frames: 2))"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let render = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_verisim"))
            .args([
                "render",
                scene.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let first = render(&["--set", "run.frames=1"]);
    assert!(first.status.success(), "{first:?}");
    let again = render(&["--resume"]);
    assert!(again.status.success(), "{again:?}");
    let mut text = std::fs::read_to_string(&model).unwrap();
    text.push('\n');
    std::fs::write(&model, text).unwrap();
    let changed = render(&["--resume", "--set", "run.frames=3"]);
    let err = String::from_utf8_lossy(&changed.stderr);
    assert_eq!(changed.status.code(), Some(2), "{err}");
    assert!(
        err.contains("tri.gltf changed since the run began"),
        "{err}"
    );
}
