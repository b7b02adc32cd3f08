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
    table()
        .iter()
        .map(|m| GpuMaterial {
            albedo: [m.albedo.0, m.albedo.1, m.albedo.2],
            reflectivity: m.reflectivity_905nm,
            emissive: [m.emissive.0, m.emissive.1, m.emissive.2],
            roughness: m.roughness,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_values_are_physical() {
        let t = table();
        assert!(t.len() >= 20);
        for m in t {
            for v in [m.albedo.0, m.albedo.1, m.albedo.2, m.reflectivity_905nm] {
                assert!((0.0..1.0).contains(&v), "{}: {v}", m.name);
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
