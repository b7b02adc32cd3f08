//! Plain-old-data structs shared by the GPU shaders and the CPU twins.
//! Keep in sync with `shaders/shared/types.wgsl` (a test compares the sizes naga computes).

use bytemuck::{Pod, Zeroable};

/// Label value of a lidar slot with no return.
pub const NO_RETURN: u32 = u32::MAX;

/// A 4-wide BVH node: the boxes of up to four children, one per lane (structure of arrays,
/// so a CPU tests all four with SSE and a GPU with `vec4` arithmetic). Slot `k` is
/// - an inner child, node `child[k]`, when `count[k] == 0`;
/// - a leaf of the items `child[k]..child[k] + count[k]` when `1 <= count[k] <= MAX_LEAF`;
/// - empty when `count[k] == EMPTY_SLOT`; its box is inverted (min `+EMPTY_SLOT_AT`, max
///   `-EMPTY_SLOT_AT`), so a slab test that takes each axis's near plane by the ray's
///   direction sign enters it only beyond `EMPTY_SLOT_AT` (no traced range reaches there).
///
/// A BVH's root is always an inner node (index 0 of its nodes); its own box is the union of
/// its slots' boxes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct BvhNode {
    pub min_x: [f32; 4],
    pub max_x: [f32; 4],
    pub min_y: [f32; 4],
    pub max_y: [f32; 4],
    pub min_z: [f32; 4],
    pub max_z: [f32; 4],
    pub child: [u32; 4],
    pub count: [u32; 4],
}

/// `BvhNode::count` of an unused slot.
pub const EMPTY_SLOT: u32 = u32::MAX;

/// An empty slot's inverted box: min `+EMPTY_SLOT_AT`, max `-EMPTY_SLOT_AT` on every axis.
/// Traced ranges stay below it.
pub const EMPTY_SLOT_AT: f32 = 1.0e30;

impl BvhNode {
    /// A node with every slot empty.
    pub fn empty() -> Self {
        let lo = [EMPTY_SLOT_AT; 4];
        let hi = [-EMPTY_SLOT_AT; 4];
        BvhNode {
            min_x: lo,
            max_x: hi,
            min_y: lo,
            max_y: hi,
            min_z: lo,
            max_z: hi,
            child: [0; 4],
            count: [EMPTY_SLOT; 4],
        }
    }

    /// Slot `k`'s box as (min, max).
    pub fn slot_box(&self, k: usize) -> ([f32; 3], [f32; 3]) {
        (
            [self.min_x[k], self.min_y[k], self.min_z[k]],
            [self.max_x[k], self.max_y[k], self.max_z[k]],
        )
    }

    /// Sets slot `k` to a box and a child (`count` 0: inner node; otherwise a leaf).
    pub fn set_slot(&mut self, k: usize, min: [f32; 3], max: [f32; 3], child: u32, count: u32) {
        self.min_x[k] = min[0];
        self.min_y[k] = min[1];
        self.min_z[k] = min[2];
        self.max_x[k] = max[0];
        self.max_y[k] = max[1];
        self.max_z[k] = max[2];
        self.child[k] = child;
        self.count[k] = count;
    }

    /// The union of the used slots' boxes (None when every slot is empty).
    pub fn bounds(&self) -> Option<([f32; 3], [f32; 3])> {
        let mut out: Option<([f32; 3], [f32; 3])> = None;
        for k in 0..4 {
            if self.count[k] == EMPTY_SLOT {
                continue;
            }
            let (lo, hi) = self.slot_box(k);
            out = Some(match out {
                None => (lo, hi),
                Some((a, b)) => (
                    std::array::from_fn(|i| a[i].min(lo[i])),
                    std::array::from_fn(|i| b[i].max(hi[i])),
                ),
            });
        }
        out
    }
}

/// A triangle stored as a vertex and two edges (Möller–Trumbore), object space.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct Triangle {
    pub v0: [f32; 3],
    pub material: u32,
    pub e1: [f32; 3],
    pub class: u32,
    pub e2: [f32; 3],
    pub _pad: u32,
}

/// One placed mesh. Matrices are 3x4 row-major affine transforms.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct Instance {
    pub object_from_world: [[f32; 4]; 3],
    pub world_from_object: [[f32; 4]; 3],
    /// Root node of this mesh's BLAS in the node buffer.
    pub blas_root: u32,
    /// Instance id written to labels (0 = not an object).
    pub instance_id: u32,
    pub _pad: [u32; 2],
    /// Motion over the frame interval (constant twist, from the simulation): the object's
    /// origin moves at `velocity_m_per_s` (world) and turns about its own vertical axis at
    /// `yaw_rate_rad_per_s`; the matrices above are the pose at the frame time. A ray at time
    /// `t` (s, relative to the frame time) meets the instance as posed at `t`
    /// (`shaders/shared/bvh.wgsl` `instance_ray`). Zero for static instances.
    pub velocity_m_per_s: [f32; 3],
    pub yaw_rate_rad_per_s: f32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct GpuMaterial {
    pub albedo: [f32; 3],
    /// Diffuse reflectance at 905 nm.
    pub reflectivity: f32,
    pub emissive: [f32; 3],
    pub roughness: f32,
}

/// Per-frame parameters of a lidar sweep. Physics and symbols: `docs/lidar.md`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct LidarParams {
    /// Pose of the lidar when the sweep starts (the first column fires at sweep fraction
    /// (0 + 0.5) / columns) and when it ends; column `c` fires at `s = (c + 0.5) / columns` and
    /// sees the world from the pose interpolated at `s` (rolling-shutter motion distortion).
    /// Both are equal when motion distortion is off.
    pub world_from_lidar: [[f32; 4]; 3],
    pub world_from_lidar_end: [[f32; 4]; 3],
    pub channels: u32,
    pub columns: u32,
    pub min_range_m: f32,
    pub max_range_m: f32,
    /// Azimuth of column 0 and the step between columns, radians (counter-clockwise).
    pub azimuth_start_rad: f32,
    pub azimuth_step_rad: f32,
    /// Total extinction α (fog + rain + snow); two-way transmission is exp(-2 * alpha * r).
    pub extinction_per_m: f32,
    /// Range above which the reported intensity falls as 1/R² (receiver gain), metres.
    pub falloff_range_m: f32,
    pub tlas_root: u32,
    pub seed: u32,
    pub frame: u32,
    /// [`RETURN_STRONGEST`], [`RETURN_LAST`] or [`RETURN_DUAL`].
    pub return_mode: u32,
    /// Detection threshold on the received power `ρ·cosθ·ξ(R)·T²/R²` (m⁻²); 0 = ideal detector
    /// (every hard hit returns, no weather returns).
    pub min_power_per_m2: f32,
    /// Standard deviation of the range noise along the ray, metres.
    pub noise_stddev_m: f32,
    /// Transmitter/receiver overlap ξ(r): 0 below `overlap_start_m`, 1 beyond `overlap_full_m`.
    pub overlap_start_m: f32,
    pub overlap_full_m: f32,
    /// Fog backscatter coefficient β (m⁻¹·sr⁻¹); 0 = no fog returns.
    pub fog_backscatter_per_m_sr: f32,
    /// Half the pulse length in space, c·τ/2, metres.
    pub pulse_length_m: f32,
    /// Full-angle beam divergence (rad) and exit aperture diameter (m).
    pub beam_divergence_rad: f32,
    pub beam_aperture_m: f32,
    /// Drop / flake size distributions N(D) = N0·exp(−Λ·D) (per m³ per mm, /mm); N0 = 0 = none.
    /// Snow D is the melted diameter.
    pub rain_n0_per_m3_mm: f32,
    pub rain_lambda_per_mm: f32,
    pub snow_n0_per_m3_mm: f32,
    pub snow_lambda_per_mm: f32,
    /// Farthest range at which drops and flakes are sampled along a beam, metres.
    pub precip_max_range_m: f32,
    /// Ground wetness 0–1 (water film on upward-facing surfaces).
    pub wetness: f32,
    /// CARLA's random drop-off (0 = off): general rate, intensity limit, zero-intensity rate.
    pub dropoff_general_rate: f32,
    pub dropoff_intensity_limit: f32,
    pub dropoff_zero_intensity: f32,
    /// Ground snow cover 0–1 (upward-facing surfaces take the reflectivity of snow).
    pub snow_cover: f32,
    /// Gain to the sensor's reported intensity scale.
    pub intensity_scale: f32,
    /// Time the columns take to fire, seconds (one sweep with motion distortion, else 0):
    /// column `c` fires at `(s − 0.5)·sweep_s` from the frame time, `s = (c + 0.5) / columns`,
    /// and meets moving actors where they are then.
    pub sweep_s: f32,
    pub _pad: [u32; 4],
}

/// `LidarParams::return_mode`: the strongest return per ray.
pub const RETURN_STRONGEST: u32 = 0;
/// `LidarParams::return_mode`: the last (farthest) detected return per ray.
pub const RETURN_LAST: u32 = 1;
/// `LidarParams::return_mode`: strongest in slots `[0, rays)`, and in `[rays, 2·rays)` the
/// last return when it differs from the strongest (else the second strongest, else none).
pub const RETURN_DUAL: u32 = 2;

/// Output slot of one lidar ray (beam, column), in the lidar frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct LidarHit {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    /// KITTI-style reflectance in [0, 1].
    pub intensity: f32,
    /// SemanticKITTI-style label: verisim class in the low 16 bits, instance in the high 16;
    /// [`NO_RETURN`] when the ray returned nothing. A no-return slot whose hard target the
    /// weather hid (detected in clear air, lost to extinction) carries that target's range in
    /// `x` and -1 in `intensity` (LISA's "lost" rays); other no-return slots are all zero.
    pub label: u32,
}

/// Per-frame parameters of a camera.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct CameraParams {
    /// Optical frame (x right, y down, z forward) to world.
    pub world_from_camera: [[f32; 4]; 3],
    pub fx: f32,
    pub fy: f32,
    pub cx: f32,
    pub cy: f32,
    pub width: u32,
    pub height: u32,
    pub tlas_root: u32,
    pub seed: u32,
    /// Unit vector towards the sun, world frame.
    pub sun_dir: [f32; 3],
    /// Exposure scale (multiplies radiance before tone mapping).
    pub exposure: f32,
    /// Direct sun irradiance on a surface facing the sun (linear RGB).
    pub sun_irradiance: [f32; 3],
    /// Koschmieder extinction sigma = 3.912 / visibility (0 = clear).
    pub fog_sigma_per_m: f32,
    /// Sky radiance at the zenith and at the horizon (linear RGB).
    pub sky_zenith: [f32; 3],
    pub max_depth_m: f32,
    pub sky_horizon: [f32; 3],
    pub frame: u32,
    /// Brown–Conrady distortion on normalised image coordinates (OpenCV's k1, k2, p1, p2).
    pub k1: f32,
    pub k2: f32,
    pub p1: f32,
    pub p2: f32,
    /// Stratified samples per pixel (≥ 1) and the number of entries in the light buffer.
    pub spp: u32,
    pub light_count: u32,
    /// Photo-electrons at linear exposure 1 (0 = no noise) and read noise in electrons.
    pub electrons_at_unit: f32,
    pub read_noise_e: f32,
    /// cos⁴ vignetting strength (0–1), shutter time (s), cloud cover (0–1), angular radius of
    /// the sun's shadow cone (rad; grows with cloud cover, softening shadows).
    pub vignetting: f32,
    pub shutter_s: f32,
    pub cloud_cover: f32,
    pub sun_cone_rad: f32,
    /// Camera velocity during the shutter (world, m/s; zero without motion blur).
    pub velocity_m_per_s: [f32; 3],
    /// Road wetness 0–1.
    pub wetness: f32,
    /// Falling particles near the camera: number densities (per m³, visible sizes) and the
    /// slopes Λ (/mm) of the exponential size distributions.
    pub rain_density_per_m3: f32,
    pub rain_lambda_per_mm: f32,
    pub snow_density_per_m3: f32,
    pub snow_lambda_per_mm: f32,
    /// Wind (world, m/s) and the accumulated snow depth (m).
    pub wind_m_per_s: [f32; 3],
    pub snow_depth_m: f32,
    /// Scale of lamp-like emission (lit windows, emissive materials): 0 by day, 1 at night.
    pub lamp_scale: f32,
    /// Reach of the ambient-occlusion / one-bounce ray, metres.
    pub ao_radius_m: f32,
    pub puddle_count: u32,
    pub _pad: u32,
    /// Puddles: (x, y, radius, 0) in the world frame.
    pub puddles: [[f32; 4]; 8],
    /// Exposure window over which samples are spread in time for motion blur, seconds
    /// (`shutter_s` with `motion_blur`, else 0): sample `s` sees the ego and the actors at
    /// `tau·blur_shutter_s`, tau in [−0.5, 0.5) stratified.
    pub blur_shutter_s: f32,
    /// Standard deviation (pixels) of the Gaussian point-spread function (lens blur and Bayer
    /// demosaic softness) the sensor pass applies to the exposed image; 0 = ideal optics.
    pub psf_sigma_px: f32,
    /// Camera response: 0 = sRGB OETF, 1 = linear (raw 8-bit sensor values).
    pub response: u32,
    /// Cells in the lamp grid (`camera_model::LightGrid`); 0 = no grid, every lamp is tried.
    pub light_grid_cells: u32,
}

/// A lamp: a small sphere of `radius_m` at `position`, emitting `intensity` (linear RGB,
/// candela x 1e-5, the sky model's units) along `direction` with a smooth cone between
/// `cos_inner` and `cos_outer` (cos_outer = -1: all around).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct GpuLight {
    pub position: [f32; 3],
    pub radius_m: f32,
    pub direction: [f32; 3],
    pub cos_outer: f32,
    pub intensity: [f32; 3],
    pub cos_inner: f32,
}

/// Output of one camera pixel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct PixelOut {
    /// sRGB8 packed as r | g << 8 | b << 16 (alpha unused).
    pub rgba: u32,
    /// Depth along the optical axis in metres (0 = sky / nothing).
    pub depth_m: f32,
    /// Class in the low 16 bits, instance id in the high 16.
    pub label: u32,
}

pub fn pack_label(class: u32, instance: u32) -> u32 {
    (class & 0xFFFF) | (instance << 16)
}

pub fn affine_rows(m: &glam::Affine3A) -> [[f32; 4]; 3] {
    let c = m.to_cols_array(); // 12 floats: x_axis, y_axis, z_axis, translation (columns)
    [
        [c[0], c[3], c[6], c[9]],
        [c[1], c[4], c[7], c[10]],
        [c[2], c[5], c[8], c[11]],
    ]
}

/// The uniform grid over the explicit precipitation particles of a frame
/// (`physics::precip_field`), read by the lidar and camera traversals
/// (`shaders/shared/particle_grid.wgsl`, `src/cpu/particle_grid.rs`). 96 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable, PartialEq)]
pub struct ParticleGrid {
    /// Minimum corner of the grid (world, m) and the cube cell's edge (m).
    pub origin_m: [f32; 3],
    pub cell_m: f32,
    /// Cells along x, y, z, and the number of particles in the particle buffer.
    pub dims: [u32; 3],
    pub particle_count: u32,
    /// The field's box (world, m): inside it, particles of at least `min_diameter_mm` (snow:
    /// melted diameter) are the explicit ones, and the samplers draw only smaller ones. An empty
    /// box (min > max) means no field.
    pub field_min_m: [f32; 3],
    pub min_diameter_mm: f32,
    pub field_max_m: [f32; 3],
    /// Exposure time the cells cover around the frame time (s).
    pub exposure_s: f32,
    /// Ego velocity (world, m/s) the cells also cover (cameras with motion blur).
    pub ego_velocity_m_per_s: [f32; 3],
    /// Distance around each exposure segment filed in the cells (m): the largest test radius.
    pub margin_m: f32,
    /// Start of the sorted particle indices in the cell buffer (= cell count + 1).
    pub index_offset: u32,
    pub _pad: [u32; 3],
}

/// Field offsets of the WGSL mirrors, for the layout tests here and in `physics::precip`.
#[cfg(test)]
pub(crate) mod layout {
    use wgpu::naga;

    /// The shared WGSL types (`shaders/shared/types.wgsl`), parsed.
    pub fn shared_module() -> naga::Module {
        let src = include_str!("../../shaders/shared/types.wgsl");
        naga::front::wgsl::parse_str(src).unwrap_or_else(|e| panic!("{}", e.emit_to_string(src)))
    }

    /// (member name, offset) of WGSL struct `name`, padding members (`pad…`) left out, and the
    /// struct's size.
    pub fn wgsl_offsets(module: &naga::Module, name: &str) -> (Vec<(String, u32)>, u32) {
        module
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(n), naga::TypeInner::Struct { members, span }) if n == name => Some((
                    members
                        .iter()
                        .filter(|m| !m.name.as_deref().unwrap_or("").starts_with("pad"))
                        .map(|m| (m.name.clone().unwrap_or_default(), m.offset))
                        .collect(),
                    *span,
                )),
                _ => None,
            })
            .unwrap_or_else(|| panic!("struct {name} missing in WGSL"))
    }

    /// Asserts a Rust struct's size and field offsets (padding left out) equal its WGSL
    /// mirror's, member by member in declaration order.
    pub fn assert_same_layout(
        module: &naga::Module,
        wgsl: &str,
        rust: &str,
        size: usize,
        fields: &[(&str, usize)],
    ) {
        let (members, span) = wgsl_offsets(module, wgsl);
        assert_eq!(
            span as usize, size,
            "{rust} is {size} bytes, WGSL {wgsl} {span}"
        );
        assert!(
            fields.windows(2).all(|w| w[0].1 < w[1].1),
            "{rust}: fields listed out of declaration order: {fields:?}"
        );
        let rust_offsets: Vec<usize> = fields.iter().map(|f| f.1).collect();
        let wgsl_offsets: Vec<usize> = members.iter().map(|m| m.1 as usize).collect();
        assert_eq!(
            rust_offsets, wgsl_offsets,
            "{rust} vs WGSL {wgsl}: field offsets differ\nRust {fields:?}\nWGSL {members:?}"
        );
    }

    /// `(name, offset)` of each listed field of a Rust struct.
    macro_rules! offsets {
        ($t:ty: $($f:ident),+ $(,)?) => {
            &[$((stringify!($f), std::mem::offset_of!($t, $f))),+]
        };
    }
    pub(crate) use offsets;
}

#[cfg(test)]
mod tests {
    use super::layout::{assert_same_layout, offsets, shared_module};
    use super::*;
    use std::mem::size_of;

    #[test]
    fn every_mirrored_struct_has_the_wgsl_layout() {
        let m = shared_module();
        type Case<'a> = (&'a str, &'a str, usize, &'a [(&'a str, usize)]);
        let cases: [Case; 10] = [
            (
                "BvhNode",
                "BvhNode",
                size_of::<BvhNode>(),
                offsets!(BvhNode: min_x, max_x, min_y, max_y, min_z, max_z, child, count),
            ),
            (
                "Triangle",
                "Triangle",
                size_of::<Triangle>(),
                offsets!(Triangle: v0, material, e1, class, e2),
            ),
            (
                "Instance",
                "Instance",
                size_of::<Instance>(),
                offsets!(Instance: object_from_world, world_from_object, blas_root, instance_id,
                      velocity_m_per_s, yaw_rate_rad_per_s),
            ),
            (
                "Material",
                "GpuMaterial",
                size_of::<GpuMaterial>(),
                offsets!(GpuMaterial: albedo, reflectivity, emissive, roughness),
            ),
            (
                "LidarParams",
                "LidarParams",
                size_of::<LidarParams>(),
                offsets!(LidarParams: world_from_lidar, world_from_lidar_end, channels, columns,
                      min_range_m, max_range_m, azimuth_start_rad, azimuth_step_rad,
                      extinction_per_m, falloff_range_m, tlas_root, seed, frame, return_mode,
                      min_power_per_m2, noise_stddev_m, overlap_start_m, overlap_full_m,
                      fog_backscatter_per_m_sr, pulse_length_m, beam_divergence_rad,
                      beam_aperture_m, rain_n0_per_m3_mm, rain_lambda_per_mm, snow_n0_per_m3_mm,
                      snow_lambda_per_mm, precip_max_range_m, wetness, dropoff_general_rate,
                      dropoff_intensity_limit, dropoff_zero_intensity, snow_cover,
                      intensity_scale, sweep_s),
            ),
            (
                "LidarHit",
                "LidarHit",
                size_of::<LidarHit>(),
                offsets!(LidarHit: x, y, z, intensity, label),
            ),
            (
                "CameraParams",
                "CameraParams",
                size_of::<CameraParams>(),
                offsets!(CameraParams: world_from_camera, fx, fy, cx, cy, width, height, tlas_root,
                      seed, sun_dir, exposure, sun_irradiance, fog_sigma_per_m, sky_zenith,
                      max_depth_m, sky_horizon, frame, k1, k2, p1, p2, spp, light_count,
                      electrons_at_unit, read_noise_e, vignetting, shutter_s, cloud_cover,
                      sun_cone_rad, velocity_m_per_s, wetness, rain_density_per_m3,
                      rain_lambda_per_mm, snow_density_per_m3, snow_lambda_per_mm, wind_m_per_s,
                      snow_depth_m, lamp_scale, ao_radius_m, puddle_count, puddles,
                      blur_shutter_s, psf_sigma_px, response, light_grid_cells),
            ),
            (
                "Light",
                "GpuLight",
                size_of::<GpuLight>(),
                offsets!(GpuLight: position, radius_m, direction, cos_outer, intensity, cos_inner),
            ),
            (
                "PixelOut",
                "PixelOut",
                size_of::<PixelOut>(),
                offsets!(PixelOut: rgba, depth_m, label),
            ),
            (
                "ParticleGrid",
                "ParticleGrid",
                size_of::<ParticleGrid>(),
                offsets!(ParticleGrid: origin_m, cell_m, dims, particle_count, field_min_m,
                      min_diameter_mm, field_max_m, exposure_s, ego_velocity_m_per_s, margin_m,
                      index_offset),
            ),
        ];
        for (wgsl, rust, size, fields) in cases {
            assert_same_layout(&m, wgsl, rust, size, fields);
        }
    }

    #[test]
    fn a_moved_field_is_caught() {
        let m = shared_module();
        // A Rust LidarHit that grew a 4-byte field before `intensity`: the comparison fails.
        let wrong: &[(&str, usize)] = &[
            ("x", 0),
            ("y", 4),
            ("z", 8),
            ("intensity", 16),
            ("label", 20),
        ];
        let caught = std::panic::catch_unwind(|| {
            assert_same_layout(&m, "LidarHit", "LidarHit", size_of::<LidarHit>(), wrong)
        });
        assert!(caught.is_err());
    }
}
