pub mod motion;
pub mod pedestrians;
pub mod traffic;
pub mod weather;
