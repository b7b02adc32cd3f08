//! The KITTI object layout under `DIR/training/`: image_2, velodyne, label_2, calib, plus
//! depth_2 (uint16, metres x 256), semantic_2 (verisim class ids), instance_2 (uint16 ids) and
//! velodyne_labels (SemanticKITTI uint32 per point), and planes (the road plane under the ego, as
//! OpenPCDet's ground-truth sampling reads it). A second camera writes the `_3` folders.

use std::path::{Path, PathBuf};

use glam::Affine3A;

use super::ExportError;
use super::atomic::{create_dir, write_atomic};
use crate::abi::NO_RETURN;
use crate::frame::FrameInputs;
use crate::frame::{CameraFrame, SensorFrames};
use crate::labels::boxes::{ObjectLabel, kitti_line};

/// A file's path and its encoded bytes.
pub type EncodedFile = (PathBuf, Vec<u8>);

/// Paths of a dataset split (`DIR/training`).
#[derive(Clone, Debug)]
pub struct KittiLayout {
    pub split: PathBuf,
    pub cameras: usize,
    pub lidar: bool,
    /// The lidar also writes `velodyne_compensated/` (points at the frame-time pose).
    pub compensated: bool,
    /// A camera rig also writes `planes/` (the road plane under the ego).
    pub planes: bool,
}

impl KittiLayout {
    pub fn new(dir: &Path, cameras: usize, lidar: bool) -> Self {
        KittiLayout {
            split: dir.join("training"),
            cameras,
            lidar,
            compensated: false,
            planes: true,
        }
    }

    /// The same layout with or without `planes/`.
    pub fn with_planes(mut self, on: bool) -> Self {
        self.planes = on;
        self
    }

    /// The same layout with `velodyne_compensated/` when `on`.
    pub fn with_compensated(mut self, on: bool) -> Self {
        self.compensated = self.lidar && on;
        self
    }

    /// The folders this rig writes.
    pub fn folders(&self) -> Vec<String> {
        let mut f = vec!["calib".to_string()];
        for c in 0..self.cameras {
            let k = c + 2;
            for stem in ["image", "depth", "semantic", "instance"] {
                f.push(format!("{stem}_{k}"));
            }
        }
        if self.cameras > 0 {
            f.push("label_2".into());
            if self.planes {
                f.push("planes".into());
            }
        }
        if self.lidar {
            f.push("velodyne".into());
            f.push("velodyne_labels".into());
            // Per point: firing time (f32 s) relative to the frame time; per frame: the LISA
            // weather summary (docs/lidar.md).
            f.push("velodyne_times".into());
            f.push("velodyne_weather".into());
            if self.compensated {
                // The same points moved to the lidar pose at the frame time (docs/lidar.md).
                f.push("velodyne_compensated".into());
            }
        }
        f
    }

    pub fn create(&self) -> Result<(), ExportError> {
        for f in self.folders() {
            create_dir(&self.split.join(f))?;
        }
        Ok(())
    }

    pub fn file(&self, folder: &str, frame: u32, ext: &str) -> PathBuf {
        self.split.join(folder).join(format!("{frame:06}.{ext}"))
    }

    /// Every file of one frame (what `--resume` checks before skipping it).
    pub fn frame_files(&self, frame: u32) -> Vec<PathBuf> {
        self.folders()
            .iter()
            .map(|f| {
                let ext = match f.as_str() {
                    "calib" | "label_2" | "planes" => "txt",
                    "velodyne" | "velodyne_compensated" => "bin",
                    "velodyne_times" => "times",
                    "velodyne_labels" => "label",
                    "velodyne_weather" => "json",
                    _ => "png",
                };
                self.file(f, frame, ext)
            })
            .collect()
    }
}

/// Encodes one PNG with fdeflate (the `png` crate's fast level) and a fixed row filter;
/// 16-bit samples come big-endian, as PNG stores them. Measured on a quickstart frame, one
/// core: the adaptive filter (all five tried per row) took 5.5 ms for the four images; Paeth
/// for image, depth and semantic and Up for instance take 4.4 ms, for files 1.3 % larger
/// (RGB 727 KB against 717 KB; depth, semantic and instance within a few KB).
fn png(
    path: &Path,
    (width, height): (u32, u32),
    bytes: &[u8],
    (color, depth): (png::ColorType, png::BitDepth),
    filter: png::Filter,
) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(filter);
    encoder
        .write_header()
        .and_then(|mut w| {
            w.write_image_data(bytes)?;
            w.finish()
        })
        .map_err(|e| ExportError::Encode {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    Ok(out)
}

/// KITTI depth: uint16, metres x 256, 0 = no depth (sky, or beyond 255.99 m).
pub fn depth_to_u16(depth_m: f32) -> u16 {
    // 2^23: a float in [0, 2^23) plus this holds its nearest integer in the mantissa bits.
    const MAGIC: f32 = 8_388_608.0;
    let v = depth_m * 256.0;
    // Rounds half away from zero as `f32::round` does, without a branch or a saturating
    // float-to-integer cast (0.85 -> 0.31 ms for a 1242x375 plane on one core). Below 2^23,
    // `v + MAGIC` is `v` rounded to the nearest integer, ties to even; a tie (`v - nearest`
    // is exact, 0.5) that went down goes up. `valid` is false for NaN.
    let valid = (depth_m > 0.0) & (v < 65535.5);
    let v = if valid { v } else { 0.0 };
    let m = v + MAGIC;
    let tie_down = v - (m - MAGIC) == 0.5;
    (m.to_bits() - MAGIC.to_bits() + u32::from(tie_down)) as u16
}

fn camera_files(
    layout: &KittiLayout,
    index: usize,
    frame: u32,
    cam: &CameraFrame,
) -> Result<Vec<EncodedFile>, ExportError> {
    let k = index + 2;
    let (w, h) = (cam.width, cam.height);
    let n = cam.pixels.len();
    // Sized buffers filled by index (no per-pixel growth checks); 16-bit samples big-endian.
    let mut rgb = vec![0u8; n * 3];
    let mut depth = vec![0u16; n];
    let mut semantic = vec![0u8; n];
    let mut instance = vec![0u16; n];
    // Zipped slices, so the loop has no bounds checks; the RGB bytes go in their own pass.
    for (((p, d), s), i) in cam
        .pixels
        .iter()
        .zip(&mut depth)
        .zip(&mut semantic)
        .zip(&mut instance)
    {
        *d = depth_to_u16(p.depth_m).to_be();
        *s = (p.label & 0xFFFF) as u8;
        *i = ((p.label >> 16) as u16).to_be();
    }
    for (p, c) in cam.pixels.iter().zip(rgb.chunks_exact_mut(3)) {
        c.copy_from_slice(&p.rgba.to_le_bytes()[..3]);
    }
    use png::{BitDepth, ColorType, Filter};
    const RGB8: (ColorType, BitDepth) = (ColorType::Rgb, BitDepth::Eight);
    const GRAY8: (ColorType, BitDepth) = (ColorType::Grayscale, BitDepth::Eight);
    const GRAY16: (ColorType, BitDepth) = (ColorType::Grayscale, BitDepth::Sixteen);
    let (depth, instance) = (
        bytemuck::cast_slice(&depth),
        bytemuck::cast_slice(&instance),
    );
    let jobs = [
        ("image", &rgb[..], RGB8, Filter::Paeth),
        ("depth", depth, GRAY16, Filter::Paeth),
        ("semantic", &semantic[..], GRAY8, Filter::Paeth),
        ("instance", instance, GRAY16, Filter::Up),
    ];
    // The four images of a camera encode in parallel (PNG encoding dominates writing).
    use rayon::prelude::*;
    jobs.par_iter()
        .map(|(stem, bytes, format, filter)| {
            let path = layout.file(&format!("{stem}_{k}"), frame, "png");
            let data = png(&path, (w, h), bytes, *format, *filter)?;
            Ok((path, data))
        })
        .collect()
}

fn row3x4(m: &Affine3A) -> [f32; 12] {
    let r = crate::abi::affine_rows(m);
    [
        r[0][0], r[0][1], r[0][2], r[0][3], r[1][0], r[1][1], r[1][2], r[1][3], r[2][0], r[2][1],
        r[2][2], r[2][3],
    ]
}

/// KITTI's number style: `7.215377e+02`.
pub fn kitti_number(x: f32) -> String {
    let s = format!("{:.6e}", x + 0.0); // + 0.0 turns -0 into 0
    match s.split_once('e') {
        Some((m, e)) => {
            let e: i32 = e.parse().unwrap_or(0);
            format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
        }
        None => s,
    }
}

fn fmt_row(name: &str, v: &[f32]) -> String {
    let nums: Vec<String> = v.iter().map(|&x| kitti_number(x)).collect();
    format!("{name}: {}\n", nums.join(" "))
}

/// KITTI calib: P0..P3 (camera 2 is the reference, so P2 = K [I | 0]; P3 is the second
/// camera's projection in the reference frame when there is one), R0_rect = I,
/// Tr_velo_to_cam = camera_from_lidar, Tr_imu_to_velo = lidar_from_vehicle (the IMU sits at
/// the vehicle origin).
pub fn calib_text(inputs: &FrameInputs) -> String {
    let identity_lidar = Affine3A::IDENTITY;
    let vehicle_from_lidar = inputs
        .lidar
        .as_ref()
        .map_or(identity_lidar, |l| l.vehicle_from_lidar);
    let p_of = |i: usize| -> [f32; 12] {
        let Some(cam) = inputs.cameras.get(i) else {
            return [0.0; 12];
        };
        let c = &cam.params;
        let k = [[c.fx, 0.0, c.cx], [0.0, c.fy, c.cy], [0.0, 0.0, 1.0]];
        // Projection of the reference (camera 0 optical) frame into camera i.
        let ref_cam = &inputs.cameras[0];
        let cam_from_ref = cam.vehicle_from_camera.inverse() * ref_cam.vehicle_from_camera;
        let rt = crate::abi::affine_rows(&cam_from_ref);
        let mut p = [0.0f32; 12];
        for r in 0..3 {
            for col in 0..4 {
                p[r * 4 + col] = (0..3).map(|j| k[r][j] * rt[j][col]).sum();
            }
        }
        p
    };
    let p2 = p_of(0);
    let p3 = if inputs.cameras.len() > 1 {
        p_of(1)
    } else {
        p2
    };
    let camera_from_lidar = inputs.cameras.first().map_or(Affine3A::IDENTITY, |c| {
        c.vehicle_from_camera.inverse() * vehicle_from_lidar
    });
    let mut s = String::new();
    s += &fmt_row("P0", &p2);
    s += &fmt_row("P1", &p2);
    s += &fmt_row("P2", &p2);
    s += &fmt_row("P3", &p3);
    s += &fmt_row("R0_rect", &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    s += &fmt_row("Tr_velo_to_cam", &row3x4(&camera_from_lidar));
    s += &fmt_row("Tr_imu_to_velo", &row3x4(&vehicle_from_lidar.inverse()));
    s
}

/// A number as C's `%e` writes it (KITTI's planes files): `-7.051729e-03`.
fn c_exp(x: f32) -> String {
    let s = format!("{x:.6e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// `planes/NNNNNN.txt`: the road plane under the ego, `a·x + b·y + c·z + d = 0` in the
/// rectified camera frame (camera 2, the reference: R0_rect = I), unit normal pointing up
/// (b < 0: y points down), so d is the camera's height above the road. The plane is z = 0 of
/// the ego frame, where its wheels stand. KITTI's files hold a header of three lines and the
/// four numbers on the fourth, which is the line OpenPCDet's `get_road_plane` reads. None
/// without a camera.
pub fn plane_text(inputs: &FrameInputs) -> Option<String> {
    let cam = inputs.cameras.first()?;
    let cam_from_ego = cam.vehicle_from_camera.inverse();
    let n = cam_from_ego.transform_vector3(glam::Vec3::Z).normalize();
    let d = -n.dot(cam_from_ego.transform_point3(glam::Vec3::ZERO));
    Some(format!(
        "# Plane\nWidth 4\nHeight 1\n{} {} {} {}\n",
        c_exp(n.x),
        c_exp(n.y),
        c_exp(n.z),
        c_exp(d)
    ))
}

/// A KITTI velodyne point: x, y, z, intensity as little-endian f32.
pub(crate) fn point_bytes(h: &crate::abi::LidarHit) -> [u8; 16] {
    let mut b = [0u8; 16];
    for (k, v) in [h.x, h.y, h.z, h.intensity].iter().enumerate() {
        b[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
    }
    b
}

/// Encodes every file of one frame (nothing is written yet).
pub fn encode_frame(
    layout: &KittiLayout,
    inputs: &FrameInputs,
    frames: &SensorFrames,
    labels: &[ObjectLabel],
) -> Result<Vec<EncodedFile>, ExportError> {
    let f = inputs.frame;
    let mut files = vec![(
        layout.file("calib", f, "txt"),
        calib_text(inputs).into_bytes(),
    )];
    let per_camera: Vec<Result<Vec<EncodedFile>, ExportError>> = {
        use rayon::prelude::*;
        frames
            .cameras
            .par_iter()
            .enumerate()
            .map(|(i, c)| camera_files(layout, i, f, c))
            .collect()
    };
    for r in per_camera {
        files.extend(r?);
    }
    if !frames.cameras.is_empty() {
        // Objects first, DontCare regions last, as in KITTI's files: OpenPCDet indexes the
        // per-object arrays by the objects before the first DontCare.
        let mut text = String::new();
        for l in labels
            .iter()
            .filter(|l| !l.dont_care)
            .chain(labels.iter().filter(|l| l.dont_care))
        {
            text.push_str(&kitti_line(l));
            text.push('\n');
        }
        files.push((layout.file("label_2", f, "txt"), text.into_bytes()));
        if let Some(plane) = plane_text(inputs).filter(|_| layout.planes) {
            files.push((layout.file("planes", f, "txt"), plane.into_bytes()));
        }
    }
    if let Some(lidar) = &frames.lidar {
        // One pass over the sweep for the points, their labels and their firing times.
        let sweep_s = inputs.lidar.as_ref().map_or(0.0, |l| l.sweep_s);
        let kept = lidar.hits.iter().filter(|h| h.label != NO_RETURN).count();
        // Sized once and filled in place (no capacity check per point).
        let mut bin = vec![0u8; kept * 16];
        let mut lab = vec![0u8; kept * 4];
        let mut times = vec![0u8; kept * 4];
        let mut out = bin
            .chunks_exact_mut(16)
            .zip(lab.chunks_exact_mut(4))
            .zip(times.chunks_exact_mut(4));
        // A column's beams fire at one time: slot `column * channels + beam`, in each set
        // of returns (`slot_time_s`).
        let channels = lidar.channels.max(1) as usize;
        let columns = lidar.columns.max(1);
        for (r, column) in lidar.hits.chunks(channels).enumerate() {
            let col = (r % columns as usize) * channels;
            let t = crate::sensors::lidar::slot_time_s(col, lidar.channels, columns, sweep_s)
                .to_le_bytes();
            for h in column.iter().filter(|h| h.label != NO_RETURN) {
                let ((p, l), ts) = out.next().expect("sized by the kept points");
                p.copy_from_slice(&point_bytes(h));
                l.copy_from_slice(&super::semantic_kitti::label_word(h.label).to_le_bytes());
                ts.copy_from_slice(&t);
            }
        }
        files.push((layout.file("velodyne", f, "bin"), bin));
        if layout.compensated
            && let Some(l) = &inputs.lidar
        {
            let comp = crate::sensors::lidar::motion_compensate(lidar, &l.params);
            let bin: Vec<u8> = comp
                .iter()
                .filter(|h| h.label != NO_RETURN)
                .flat_map(point_bytes)
                .collect();
            files.push((layout.file("velodyne_compensated", f, "bin"), bin));
        }
        files.push((layout.file("velodyne_labels", f, "label"), lab));
        files.push((layout.file("velodyne_times", f, "times"), times));
        let summary = crate::sensors::lidar::weather_summary(lidar);
        let json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
        files.push((layout.file("velodyne_weather", f, "json"), json));
    }
    Ok(files)
}

/// Writes encoded files atomically (each to a temporary name, then renamed).
pub fn write_files(files: &[EncodedFile]) -> Result<u64, ExportError> {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|(p, b)| write_atomic(p, b).map(|_| b.len() as u64))
        .try_reduce(|| 0, |a, b| Ok(a + b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_numbers_are_written_as_c_does() {
        assert_eq!(c_exp(-7.051729e-03), "-7.051729e-03");
        assert_eq!(c_exp(1.680367), "1.680367e+00");
        assert_eq!(c_exp(0.0), "0.000000e+00");
        assert_eq!(c_exp(-0.9997791), "-9.997791e-01");
    }

    #[test]
    fn numbers_are_written_as_kitti_does() {
        assert_eq!(kitti_number(721.5377), "7.215377e+02");
        assert_eq!(kitti_number(-0.0), "0.000000e+00");
        assert_eq!(kitti_number(-0.0012), "-1.200000e-03");
    }

    #[test]
    fn depth_encoding_follows_kitti() {
        assert_eq!(depth_to_u16(0.0), 0);
        assert_eq!(depth_to_u16(1.0), 256);
        assert_eq!(depth_to_u16(300.0), 0, "beyond 255.99 m is no measurement");
        assert_eq!(depth_to_u16(f32::NAN), 0);
        assert_eq!(depth_to_u16(-1.0), 0);
        // The integer rounding equals f32::round (half away from zero) over the whole range,
        // halves and their neighbours included.
        let reference = |d: f32| {
            let v = (d * 256.0).round();
            if d <= 0.0 || v > 65535.0 { 0 } else { v as u16 }
        };
        for k in 0..=(65536 * 4) {
            let d = k as f32 / 1024.0;
            for x in [d, d.next_up(), d.next_down()] {
                assert_eq!(depth_to_u16(x), reference(x), "depth {x}");
            }
        }
    }
}
