//! The SemanticKITTI sequence view under `DIR/sequences/SS/`: `velodyne/NNNNNN.bin` (x, y, z,
//! remission as float32), `labels/NNNNNN.label` (uint32 per point: SemanticKITTI class in the
//! low 16 bits, instance id in the high 16), `calib.txt` (P0..P3 and Tr = camera_from_velodyne),
//! `poses.txt` (camera 0 pose of each frame in the sequence's first camera frame, 3x4
//! row-major) and `times.txt` (seconds).
//!
//! A sequence is one continuous drive. Without `variations` the whole run is sequence 00; with
//! them every episode is its own drive (the world is re-spawned with new draws), so episode `e`
//! is sequence `e` and its frames are numbered from 000000 as SemanticKITTI numbers them:
//! poses chained across two episodes would describe a teleport.

use glam::{Affine3A, Mat3A, Vec3A};

use crate::classes::Class;

/// Where a run frame lands in the sequence view: (sequence, frame within the sequence).
/// `episode_frames` is the scenario's `variations.episode_frames` (None: one sequence).
pub fn sequence_of(frame: u32, episode_frames: Option<u32>) -> (u32, u32) {
    match episode_frames {
        Some(n) if n > 0 => (frame / n, frame % n),
        _ => (0, frame),
    }
}

/// `sequences/SS` (two digits, more when needed).
pub fn sequence_dir(sequence: u32) -> String {
    format!("sequences/{sequence:02}")
}

pub fn velodyne_path(frame: u32, episode_frames: Option<u32>) -> String {
    let (s, n) = sequence_of(frame, episode_frames);
    format!("{}/velodyne/{n:06}.bin", sequence_dir(s))
}

pub fn labels_path(frame: u32, episode_frames: Option<u32>) -> String {
    let (s, n) = sequence_of(frame, episode_frames);
    format!("{}/labels/{n:06}.label", sequence_dir(s))
}

/// SemanticKITTI `calib.txt` from a KITTI object calib text: P0..P3 as they are, and `Tr`
/// from `Tr_velo_to_cam`.
pub fn calib_from_kitti(kitti: &str) -> String {
    let mut out = String::new();
    for line in kitti.lines() {
        if let Some((key, rest)) = line.split_once(':') {
            match key {
                "P0" | "P1" | "P2" | "P3" => out += &format!("{key}:{rest}\n"),
                "Tr_velo_to_cam" => out += &format!("Tr:{rest}\n"),
                _ => {}
            }
        }
    }
    out
}

fn affine_from_rows(r: &[f32; 12]) -> Affine3A {
    Affine3A::from_mat3_translation(
        Mat3A::from_cols(
            Vec3A::new(r[0], r[4], r[8]),
            Vec3A::new(r[1], r[5], r[9]),
            Vec3A::new(r[2], r[6], r[10]),
        )
        .into(),
        glam::Vec3::new(r[3], r[7], r[11]),
    )
}

/// `poses.txt`: each frame's pose relative to the first (`first_from_frame`), 3x4 row-major,
/// numbers as KITTI writes them.
pub fn poses_text(world_from_camera: &[[f32; 12]]) -> String {
    let Some(first) = world_from_camera.first() else {
        return String::new();
    };
    let first_from_world = affine_from_rows(first).inverse();
    let mut out = String::new();
    for p in world_from_camera {
        let rel = first_from_world * affine_from_rows(p);
        let r = crate::abi::affine_rows(&rel);
        let nums: Vec<String> = r
            .iter()
            .flat_map(|row| row.iter())
            .map(|&x| super::kitti::kitti_number(x))
            .collect();
        out += &nums.join(" ");
        out.push('\n');
    }
    out
}

/// `times.txt`: one time in seconds per frame.
pub fn times_text(times_s: &[f64]) -> String {
    times_s.iter().map(|t| format!("{t:.6e}\n")).collect()
}

/// The SemanticKITTI label word of a lidar label (verisim class id in the low 16 bits,
/// instance in the high 16): SemanticKITTI's class id, the instance kept; an id outside the
/// class table is written as unlabeled. Called per point by the KITTI writer.
#[inline]
pub fn label_word(label: u32) -> u32 {
    let class = Class::from_id((label & 0xFFFF) as u16).unwrap_or(Class::Unlabeled);
    class.info().semantic_kitti_id as u32 | (label & 0xFFFF_0000)
}

/// Points of a sweep per SemanticKITTI raw id (the low 16 bits of [`label_word`]).
pub fn points_per_raw_id(lidar: &crate::frame::LidarFrame) -> std::collections::BTreeMap<u16, u64> {
    let mut out = std::collections::BTreeMap::new();
    for h in lidar
        .hits
        .iter()
        .filter(|h| h.label != crate::abi::NO_RETURN)
    {
        *out.entry((label_word(h.label) & 0xFFFF) as u16)
            .or_insert(0) += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_are_sequences_numbered_from_zero() {
        assert_eq!(velodyne_path(7, None), "sequences/00/velodyne/000007.bin");
        assert_eq!(labels_path(7, Some(3)), "sequences/02/labels/000001.label");
        assert_eq!(sequence_of(2, Some(3)), (0, 2));
        assert_eq!(sequence_dir(123), "sequences/123");
    }

    #[test]
    fn the_first_pose_is_the_identity_and_calib_keeps_five_keys() {
        let a = [1.0, 0.0, 0.0, 5.0, 0.0, 1.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0];
        let b = [0.0, -1.0, 0.0, 6.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 1.0, 0.0];
        let text = poses_text(&[a, b]);
        let rows: Vec<Vec<f32>> = text
            .lines()
            .map(|l| l.split(' ').map(|t| t.parse().unwrap()).collect())
            .collect();
        assert_eq!(
            rows[0],
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(rows[1][3], 1.0, "moved 1 m along the first frame's x");
        let calib = calib_from_kitti(
            "P0: 1 2\nP1: 1\nP2: 1\nP3: 1\nR0_rect: 1\nTr_velo_to_cam: 3\nTr_imu_to_velo: 4\n",
        );
        assert_eq!(calib, "P0: 1 2\nP1: 1\nP2: 1\nP3: 1\nTr: 3\n");
    }
}
