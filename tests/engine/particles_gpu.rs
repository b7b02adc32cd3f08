//! The particle compute stage against its CPU twin: same population after many steps.

use crate::common;

use glam::Vec3;
use verisim::backend::gpu::particles::ParticleStage;
use verisim::physics::precip::{
    PrecipConfig, PrecipParams, advance_particles_cpu, resize_population,
};

#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn gpu_particles_match_the_cpu_twin() {
    let ctx = common::gpu_context();
    for (rain, snow) in [(20.0, 0.0), (0.0, 2.0)] {
        let mut config = PrecipConfig {
            half_extents_m: Vec3::new(2.5, 2.5, 1.5),
            wind_m_per_s: Vec3::new(4.0, -2.0, 0.0),
            dt_s: 0.05,
            rain_mm_per_h: rain,
            snow_mm_per_h: snow,
            seed: 42,
            ..Default::default()
        };
        let mut particles = Vec::new();
        let mut params = <PrecipParams as bytemuck::Zeroable>::zeroed();
        resize_population(&mut particles, &config, &mut params, 2_000_000).unwrap();
        assert!(particles.len() > 1000, "{} particles", particles.len());
        let mut gpu = ParticleStage::new(&ctx, &particles);
        let mut steps = Vec::new();
        for tick in 1..=60u32 {
            config.tick = tick;
            config.center_m = Vec3::new(0.3 * tick as f32, 0.0, 0.0); // the ego drives on
            let mut p = config.params(params.particle_count).unwrap();
            p.particle_count = params.particle_count;
            advance_particles_cpu(&mut particles, &p);
            steps.push(p);
        }
        gpu.advance(&ctx, &steps);
        let on_gpu = gpu.download(&ctx).unwrap();
        assert_eq!(on_gpu.len(), particles.len());
        let close = on_gpu
            .iter()
            .zip(&particles)
            .filter(|(g, c)| {
                let dp = Vec3::from_array(g.position_m).distance(Vec3::from_array(c.position_m));
                dp < 1e-3 && (g.diameter_mm - c.diameter_mm).abs() < 1e-4 && g.kind == c.kind
            })
            .count();
        let frac = close as f64 / particles.len() as f64;
        eprintln!(
            "rain {rain} snow {snow}: {} particles, {frac:.5} identical within 1 mm",
            particles.len()
        );
        // A few particles near a respawn branch may take the other branch on the other backend
        // (exp/log differ by ulps); the population must agree otherwise.
        assert!(frac > 0.995, "only {frac} of the particles agree");
    }
}

/// The GPU grid (bounds, layout, counting sort, per-cell order) over the same particles is the
/// twin's `build_particle_grid`, word for word.
#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn gpu_grid_matches_the_twin_for_the_same_particles() {
    use verisim::backend::gpu::particles::GpuField;
    use verisim::physics::precip_field::{
        FIELD_MIN_DIAMETER_MM, PrecipFrame, build_particle_grid, field_config,
    };
    let ctx = common::gpu_context();
    let mut gpu = GpuField::new(&ctx);
    for (rain, snow, exposure_s, ego) in [
        (50.0, 0.0, 0.02, Vec3::new(7.0, 0.0, 0.0)),
        (5.0, 2.0, 0.0, Vec3::ZERO),
        (0.5, 0.0, 0.008, Vec3::new(0.0, -12.0, 0.0)),
    ] {
        let config = field_config(
            Vec3::new(3.0, -4.0, 0.0),
            rain,
            snow,
            Vec3::new(2.0, 1.0, 0.0),
            0.01,
            7,
            1,
        );
        assert_eq!(config.min_diameter_mm, FIELD_MIN_DIAMETER_MM);
        let mut particles = Vec::new();
        let mut params = PrecipParams::default();
        resize_population(&mut particles, &config, &mut params, 4_000_000).unwrap();
        for _ in 0..10 {
            advance_particles_cpu(&mut particles, &params);
            params.tick += 1;
        }
        let twin = build_particle_grid(&particles, &params, exposure_s, ego);
        gpu.prepare(
            &ctx,
            &PrecipFrame::explicit(particles.clone(), params, exposure_s, ego),
        )
        .unwrap();
        let cells = gpu.download_cells(&ctx).unwrap();
        let h = gpu.header();
        eprintln!(
            "{rain} mm/h rain, {snow} mm/h snow: {} particles, {} cells, {} entries",
            particles.len(),
            h.dims.iter().product::<u32>(),
            cells.len() as u32 - h.index_offset
        );
        let (g, t) = (h, twin.grid);
        if bytemuck::bytes_of(&g) == bytemuck::bytes_of(&t) {
            // Same bounds, same layout: the sorted cells are the twin's. (Lavapipe gives every
            // word equal; a GPU that fuses a multiply-add may file a particle exactly on a cell
            // boundary one cell over, which the 5 cm margin covers.)
            assert_eq!(cells.len(), twin.cells.len(), "entries");
            let differ = cells
                .iter()
                .zip(&twin.cells)
                .filter(|(a, b)| a != b)
                .count();
            eprintln!("{differ} of {} words differ", cells.len());
            assert!(
                differ as f64 <= 1e-5 * cells.len() as f64,
                "{differ} words differ"
            );
        } else {
            // Bounds an ulp apart: the same grid within rounding.
            eprintln!("headers differ by rounding: {g:?} vs {t:?}");
            assert_eq!(g.dims, t.dims);
            for k in 0..3 {
                assert!((g.origin_m[k] - t.origin_m[k]).abs() <= 1e-4);
            }
            assert!((g.cell_m / t.cell_m - 1.0).abs() <= 1e-5);
            let n = twin.cells.len() as f64;
            assert!((cells.len() as f64 - n).abs() <= 1e-3 * n, "entries");
        }
    }
}
