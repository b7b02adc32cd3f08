//! Every WGSL stage validates with naga, and the shared structs have the same size in Rust
//! and WGSL.

use std::mem::size_of;
use verisim::backend::gpu::shaders;

use verisim::abi::*;
use wgpu::naga;

fn parse(name: &str, src: &str) -> naga::Module {
    naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)))
}

#[test]
fn every_stage_validates() {
    let stages = shaders::stages();
    assert!(stages.len() >= 2);
    for (name, src, entry) in stages {
        let module = parse(name, &src);
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(&src)));
        assert!(
            module
                .entry_points
                .iter()
                .any(|e| e.name == entry && e.stage == naga::ShaderStage::Compute),
            "{name} has no compute entry point {entry}"
        );
    }
}

/// No WGSL file is left out of the stages (and so out of the validation above).
#[test]
fn every_wgsl_file_is_part_of_a_stage() {
    let stages = shaders::stages();
    let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wgsl") {
                seen += 1;
                let text = std::fs::read_to_string(&p).unwrap();
                assert!(
                    stages.iter().any(|(_, src, _)| src.contains(&text)),
                    "{} is in no stage",
                    p.display()
                );
            }
        }
    }
    assert!(seen >= 7, "found only {seen} WGSL files");
}

#[test]
fn shared_struct_sizes_agree() {
    let src = shaders::compose("");
    let module = parse("shared", &src);
    let wgsl_size = |name: &str| -> u32 {
        module
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(n), naga::TypeInner::Struct { span, .. }) if n == name => Some(*span),
                _ => None,
            })
            .unwrap_or_else(|| panic!("struct {name} missing in WGSL"))
    };
    let cases: [(&str, usize); 10] = [
        ("BvhNode", size_of::<BvhNode>()),
        ("Triangle", size_of::<Triangle>()),
        ("Instance", size_of::<Instance>()),
        ("Material", size_of::<GpuMaterial>()),
        ("LidarParams", size_of::<LidarParams>()),
        ("LidarHit", size_of::<LidarHit>()),
        ("CameraParams", size_of::<CameraParams>()),
        ("PixelOut", size_of::<PixelOut>()),
        ("ParticleGrid", size_of::<ParticleGrid>()),
        ("Particle", size_of::<verisim::physics::precip::Particle>()),
    ];
    for (name, rust) in cases {
        assert_eq!(wgsl_size(name) as usize, rust, "{name}: WGSL vs Rust size");
    }
}

/// The lidar kernel's thread tiles and the dispatch that covers them agree: with a smaller
/// tile in Rust than in WGSL the last columns of each beam would get no thread.
#[test]
fn lidar_tile_agrees_with_the_dispatch() {
    let src = shaders::compose(shaders::LIDAR);
    let module = parse("lidar", &src);
    let tile = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some("LIDAR_TILE"))
        .map(|(_, c)| &module.global_expressions[c.init]);
    assert!(
        matches!(
            tile,
            Some(naga::Expression::Literal(naga::Literal::U32(t))) if *t == verisim::backend::gpu::LIDAR_TILE
        ),
        "LIDAR_TILE in shaders/lidar.wgsl is {tile:?}, src/gpu/mod.rs has {}",
        verisim::backend::gpu::LIDAR_TILE
    );
}
