pub mod motion;
pub mod traffic;
pub mod weather;
