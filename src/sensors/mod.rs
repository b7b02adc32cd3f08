//! Sensor rigs: mounting transforms, camera intrinsics, lidar beam patterns and the sky model
//! that turns the scenario's weather into shading parameters.

pub mod camera_model;
pub mod lidar;
pub mod sky;

use glam::{Affine3A, EulerRot, Mat3, Quat, Vec3};

use crate::scenario::{CameraSpec, Elevations, Intrinsics, LidarSpec, MountPose};

/// `vehicle_from_body` of a mounting pose (body axes: x forward, y left, z up).
pub fn vehicle_from_body(pose: &MountPose) -> Affine3A {
    let (r, p, y) = pose.rpy_deg;
    let rot = Quat::from_euler(
        EulerRot::ZYX,
        y.to_radians(),
        p.to_radians(),
        r.to_radians(),
    );
    Affine3A::from_rotation_translation(rot, Vec3::new(pose.xyz_m.0, pose.xyz_m.1, pose.xyz_m.2))
}

/// Rotation from the camera optical frame (x right, y down, z forward) to its body frame.
pub fn body_from_optical() -> Affine3A {
    Affine3A::from_mat3(Mat3::from_cols(
        Vec3::new(0.0, -1.0, 0.0),
        Vec3::new(0.0, 0.0, -1.0),
        Vec3::new(1.0, 0.0, 0.0),
    ))
}

/// `vehicle_from_camera` ending in the optical frame.
pub fn vehicle_from_camera(spec: &CameraSpec) -> Affine3A {
    vehicle_from_body(&spec.pose) * body_from_optical()
}

/// Pinhole parameters (fx, fy, cx, cy) in pixels.
pub fn intrinsics(spec: &CameraSpec) -> (f32, f32, f32, f32) {
    match spec.intrinsics {
        Intrinsics::Fov { horizontal_deg } => {
            let fx = 0.5 * spec.width as f32 / (0.5 * horizontal_deg.to_radians()).tan();
            (fx, fx, 0.5 * spec.width as f32, 0.5 * spec.height as f32)
        }
        Intrinsics::Pinhole { fx, fy, cx, cy } => (fx, fy, cx, cy),
        Intrinsics::KittiP2 => {
            // P2 of KITTI's 2011_09_26 calibration, scaled if the image is not 1242x375.
            let sx = spec.width as f32 / 1242.0;
            let sy = spec.height as f32 / 375.0;
            (721.5377 * sx, 721.5377 * sy, 609.5593 * sx, 172.854 * sy)
        }
    }
}

/// Beam elevations in degrees, top beam first.
pub fn elevations_deg(spec: &LidarSpec) -> Vec<f32> {
    match &spec.elevations {
        Elevations::Table(t) => t.clone(),
        Elevations::Uniform {
            upper_deg,
            lower_deg,
        } => {
            let n = spec.channels;
            if n == 1 {
                return vec![*upper_deg];
            }
            (0..n)
                .map(|i| upper_deg + (lower_deg - upper_deg) * i as f32 / (n - 1) as f32)
                .collect()
        }
    }
}

/// Azimuth columns of one sweep: count and step in radians.
pub fn columns(spec: &LidarSpec) -> (u32, f32) {
    let n = (360.0 / spec.azimuth_resolution_deg).round().max(1.0) as u32;
    (n, std::f32::consts::TAU / n as f32)
}

/// Per beam (cos, sin) of the elevation, per column (cos, sin) of the azimuth.
pub type DirectionTables = (Vec<[f32; 2]>, Vec<[f32; 2]>);

/// (cos, sin) of each beam's elevation and each column's azimuth, computed once on the CPU so
/// both backends cast exactly the same directions.
pub fn lidar_direction_tables(spec: &LidarSpec) -> DirectionTables {
    let beams = elevations_deg(spec)
        .iter()
        .map(|e| {
            let (s, c) = e.to_radians().sin_cos();
            [c, s]
        })
        .collect();
    let (n, step) = columns(spec);
    // Column 0 looks backwards (-x) and the sweep turns counter-clockwise seen from above.
    let cols = (0..n)
        .map(|i| {
            let a = -std::f32::consts::PI + (i as f32 + 0.5) * step;
            let (s, c) = a.sin_cos();
            [c, s]
        })
        .collect();
    (beams, cols)
}
