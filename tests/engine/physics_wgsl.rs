//! Every WGSL file parses and validates with naga (no adapter needed), and the structs and
//! constants shared with Rust agree in size, layout and value.

use std::collections::HashMap;
use std::path::Path;

use verisim::physics::precip::{
    self, PARTICLES_SHADER_PARTS, PARTICLES_WORKGROUP_SIZE, Particle, PrecipParams,
    particles_shader_source,
};
use wgpu::naga::valid::{Capabilities, ValidationFlags, Validator};

fn parse_and_validate(name: &str, src: &str) -> wgpu::naga::Module {
    let module = wgpu::naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    module
}

/// The source handed to wgpu is exactly the files on disk, and it has the entry point.
#[test]
fn particle_stage_source_matches_files_and_has_entry_point() {
    for (path, embedded) in PARTICLES_SHADER_PARTS {
        let on_disk =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap();
        assert_eq!(on_disk, embedded, "{path} changed since build");
    }
    let module = parse_and_validate("particles", &particles_shader_source());
    let ep = module
        .entry_points
        .iter()
        .find(|e| e.name == "advance_particles")
        .expect("entry point advance_particles");
    assert_eq!(ep.stage, wgpu::naga::ShaderStage::Compute);
    assert_eq!(ep.workgroup_size, [PARTICLES_WORKGROUP_SIZE, 1, 1]);
}

fn struct_layout(module: &wgpu::naga::Module, name: &str) -> (u32, Vec<(String, u32)>) {
    for (_, ty) in module.types.iter() {
        if ty.name.as_deref() == Some(name)
            && let wgpu::naga::TypeInner::Struct { members, span } = &ty.inner
        {
            let m = members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                .collect();
            return (*span, m);
        }
    }
    panic!("struct {name} not in the WGSL module");
}

macro_rules! rust_offsets {
    ($t:ty, $($f:ident),+ $(,)?) => {
        vec![$((stringify!($f).to_string(), std::mem::offset_of!($t, $f) as u32)),+]
    };
}

#[test]
fn shared_structs_match_rust_layout() {
    let module = parse_and_validate("particles", &particles_shader_source());

    let (span, members) = struct_layout(&module, "Particle");
    assert_eq!(span as usize, size_of::<Particle>());
    assert_eq!(
        members,
        rust_offsets!(Particle, position_m, diameter_mm, velocity_m_per_s, kind)
    );

    let (span, members) = struct_layout(&module, "PrecipParams");
    assert_eq!(span as usize, size_of::<PrecipParams>());
    assert_eq!(
        members,
        rust_offsets!(
            PrecipParams,
            center_m,
            dt_s,
            half_extents_m,
            rain_mm_per_h,
            wind_m_per_s,
            snow_mm_per_h,
            seed,
            tick,
            particle_count,
            turbulence_m_per_s,
            rain_lambda_per_mm,
            snow_lambda_per_mm,
            turbulence_time_s,
            min_diameter_mm,
        )
    );
    // Uniform buffers need a size that is a multiple of 16.
    assert_eq!(size_of::<PrecipParams>() % 16, 0);
}

#[derive(Debug, PartialEq)]
enum Scalar {
    F32(f32),
    U32(u32),
}

fn wgsl_constants(module: &wgpu::naga::Module) -> HashMap<String, Scalar> {
    let mut out = HashMap::new();
    for (_, c) in module.constants.iter() {
        let Some(name) = c.name.clone() else { continue };
        match module.global_expressions[c.init] {
            wgpu::naga::Expression::Literal(wgpu::naga::Literal::F32(v)) => {
                out.insert(name, Scalar::F32(v));
            }
            wgpu::naga::Expression::Literal(wgpu::naga::Literal::U32(v)) => {
                out.insert(name, Scalar::U32(v));
            }
            _ => {}
        }
    }
    out
}

#[test]
fn shared_constants_match_rust() {
    // The stage's full source: the constants generated from src/abi/shared.rs and the draw ids
    // of shared/particles.wgsl, as the GPU compiles them.
    let module = parse_and_validate("particles stage", &particles_shader_source());
    let c = wgsl_constants(&module);
    let expect = [
        ("KIND_RAIN", Scalar::U32(precip::KIND_RAIN)),
        ("KIND_SNOW", Scalar::U32(precip::KIND_SNOW)),
        ("RAIN_D_MIN_MM", Scalar::F32(precip::RAIN_D_MIN_MM)),
        ("RAIN_D_MAX_MM", Scalar::F32(precip::RAIN_D_MAX_MM)),
        (
            "SNOW_MELTED_D_MIN_MM",
            Scalar::F32(precip::SNOW_MELTED_D_MIN_MM),
        ),
        (
            "SNOW_MELTED_D_MAX_MM",
            Scalar::F32(precip::SNOW_MELTED_D_MAX_MM),
        ),
        (
            "HOLROYD_DENSITY_COEFF",
            Scalar::F32(precip::HOLROYD_DENSITY_COEFF),
        ),
        (
            "RAIN_FLUX_ENVELOPE_SLOPE",
            Scalar::F32(precip::RAIN_FLUX_ENVELOPE_SLOPE),
        ),
        (
            "PARTICLES_WORKGROUP_SIZE",
            Scalar::U32(PARTICLES_WORKGROUP_SIZE),
        ),
        ("DRAW_DRIFT", Scalar::U32(precip::draw::DRIFT)),
        ("DRAW_RESPAWN_X", Scalar::U32(precip::draw::RESPAWN_X)),
        ("DRAW_RESPAWN_Y", Scalar::U32(precip::draw::RESPAWN_Y)),
        (
            "DRAW_RESPAWN_DRIFT",
            Scalar::U32(precip::draw::RESPAWN_DRIFT),
        ),
        ("DRAW_RESPAWN_D", Scalar::U32(precip::draw::RESPAWN_D)),
        (
            "DRAW_RESPAWN_D_TRIES",
            Scalar::U32(precip::draw::RESPAWN_D_TRIES),
        ),
    ];
    for (name, value) in expect {
        assert_eq!(c.get(name), Some(&value), "WGSL constant {name}");
    }
}
