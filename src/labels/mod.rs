//! Labels: the class table, 2D/3D boxes with occlusion and truncation.

pub mod boxes;
pub mod classes;
pub mod masks;

pub use classes::{CLASSES, Class, ClassInfo};
