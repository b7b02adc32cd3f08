//! The material table (`assets/materials.ron`), compiled into the binary.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::abi::GpuMaterial;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Material {
    pub name: String,
    pub albedo: (f32, f32, f32),
    pub reflectivity_905nm: f32,
    pub roughness: f32,
    pub metalness: f32,
    pub emissive: (f32, f32, f32),
    /// Slope roughness σ of the surface at 905 nm (degrees; 0 = Lambertian): the lidar's
    /// backscatter follows Oren–Nayar (see [`Material::lidar_backscatter_terms`]).
    #[serde(default)]
    pub lidar_roughness_deg: f32,
    /// RMS facet slope m of a clear coat over the surface (radians; 0 = none): car paint. The
    /// lidar sees a mirror lobe near normal incidence and the diffuse `reflectivity_905nm`
    /// under it, dimmed by the coat (see `sensors::lidar::coated_reflectance`).
    #[serde(default)]
    pub lidar_clearcoat_slope: f32,
    /// One-way transmittance of a pane at 905 nm (0–1; 0 = opaque): the lidar looks through it
    /// to what lies behind, at this share squared (`docs/lidar.md`, glass).
    #[serde(default)]
    pub lidar_transmittance: f32,
}

impl Material {
    /// `(A, B)` of the monostatic Oren–Nayar backscatter (incidence and view along the same
    /// ray): the received power goes as `ρ·(A·cos θ + B·sin² θ)`, with
    /// `A = 1 − 0.5·σ²/(σ² + 0.33)` and `B = 0.45·σ²/(σ² + 0.09)` (σ in radians; Oren & Nayar
    /// 1994, monostatic form in `shared/reference/objects.md` section 7). σ = 0 gives Lambert,
    /// `(1, 0)`.
    pub fn lidar_backscatter_terms(&self) -> (f32, f32) {
        let s2 = self.lidar_roughness_deg.to_radians().powi(2);
        (1.0 - 0.5 * s2 / (s2 + 0.33), 0.45 * s2 / (s2 + 0.09))
    }
}

const TABLE_RON: &str = include_str!("../../assets/materials.ron");

/// All materials, in table order (a material's id is its index).
pub fn table() -> &'static [Material] {
    static TABLE: OnceLock<Vec<Material>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The table is compiled in and checked by a unit test, so a parse failure is a bug.
        ron::from_str(TABLE_RON).expect("assets/materials.ron is valid (see materials tests)")
    })
}

/// The id of a material by name.
pub fn lookup(name: &str) -> Result<u32, String> {
    table()
        .iter()
        .position(|m| m.name == name)
        .map(|i| i as u32)
        .ok_or_else(|| {
            let names: Vec<&str> = table().iter().map(|m| m.name.as_str()).collect();
            format!("unknown material `{name}`; known: {}", names.join(", "))
        })
}

/// Id of a material the code itself names; panics only on a typo in the code (tested).
pub fn id(name: &str) -> u32 {
    lookup(name).unwrap_or_else(|e| panic!("{e}"))
}

/// The table as GPU structs.
pub fn gpu_table() -> Vec<GpuMaterial> {
    table().iter().map(Material::gpu).collect()
}

impl Material {
    /// The material as the shaders read it.
    pub fn gpu(&self) -> GpuMaterial {
        let (lidar_a, lidar_b) = self.lidar_backscatter_terms();
        GpuMaterial {
            albedo: [self.albedo.0, self.albedo.1, self.albedo.2],
            reflectivity: self.reflectivity_905nm,
            emissive: [self.emissive.0, self.emissive.1, self.emissive.2],
            roughness: self.roughness,
            lidar_a,
            lidar_b,
            clearcoat_inv_m2: if self.lidar_clearcoat_slope > 0.0 {
                1.0 / (self.lidar_clearcoat_slope * self.lidar_clearcoat_slope)
            } else {
                0.0
            },
            lidar_transmittance: self.lidar_transmittance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oren_nayar_terms_match_the_reference_table() {
        // shared/reference/objects.md section 7: (σ, A, B) and g(θ)/g(0) at 30°, 60°, 80°.
        let rows = [
            (0.0, 1.0, 0.0, [0.87, 0.50, 0.17]),
            (15.0, 0.91, 0.20, [0.92, 0.66, 0.38]),
            (30.0, 0.77, 0.34, [0.98, 0.83, 0.60]),
            (45.0, 0.67, 0.39, [1.01, 0.94, 0.74]),
        ];
        for (sigma, a_ref, b_ref, rel) in rows {
            let m = Material {
                lidar_roughness_deg: sigma,
                ..table()[0].clone()
            };
            let (a, b) = m.lidar_backscatter_terms();
            assert!(
                (a - a_ref).abs() < 0.006 && (b - b_ref).abs() < 0.006,
                "σ {sigma}: {a} {b}"
            );
            for (deg, want) in [30.0f32, 60.0, 80.0].into_iter().zip(rel) {
                let c = deg.to_radians().cos();
                let g = (a * c + b * (1.0 - c * c)) / a;
                assert!(
                    (g - want).abs() < 0.011,
                    "σ {sigma} at {deg}°: {g} vs {want}"
                );
            }
        }
        let asphalt = &table()[id("asphalt") as usize];
        assert_eq!(asphalt.lidar_roughness_deg, 45.0);
    }

    #[test]
    fn table_parses_and_values_are_physical() {
        let t = table();
        assert!(t.len() >= 20);
        for m in t {
            for v in [m.albedo.0, m.albedo.1, m.albedo.2, m.reflectivity_905nm] {
                assert!((0.0..1.0).contains(&v), "{}: {v}", m.name);
            }
            assert!(
                (0.0..=90.0).contains(&m.lidar_roughness_deg),
                "{}: σ {}",
                m.name,
                m.lidar_roughness_deg
            );
            assert!(
                (0.0..1.0).contains(&m.lidar_transmittance),
                "{}: transmittance {}",
                m.name,
                m.lidar_transmittance
            );
            // A pane is seen only as a mirror lobe: a coat over no diffuse base.
            if m.lidar_transmittance > 0.0 {
                assert!(
                    m.lidar_clearcoat_slope > 0.0,
                    "{}: a pane needs a coat",
                    m.name
                );
            }
        }
        let mut names: Vec<_> = t.iter().map(|m| &m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), t.len(), "duplicate material names");
    }

    #[test]
    fn unknown_material_lists_known_ones() {
        let e = lookup("unobtainium").unwrap_err();
        assert!(e.contains("asphalt"), "{e}");
    }
}
