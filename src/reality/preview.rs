//! A picture of one frame of a KITTI-layout dataset (verisim's or real KITTI): the left colour
//! image with the lidar points projected through the frame's calibration, coloured by range,
//! the `label_2` 2D boxes, and the 3D boxes projected as wireframes.

use std::path::{Path, PathBuf};

use glam::{DMat3, DVec3};
use image::{Rgb, RgbImage};

use super::error::{RealityError, Result};
use super::readers::{
    self, KittiCalib, KittiObject, read_kitti_calib, read_kitti_labels, read_lidar, read_rgb,
};

/// What a preview drew.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PreviewStats {
    pub width: u32,
    pub height: u32,
    /// Lidar points that project into the image in front of the camera.
    pub points_drawn: usize,
    /// Labelled objects drawn (DontCare regions are not).
    pub boxes_drawn: usize,
}

/// Ranges beyond this take the far end of the colour map.
const FAR_M: f64 = 80.0;

/// The split directory of `root`: `root/training` when it exists, else `root`.
fn split_dir(root: &Path) -> PathBuf {
    let training = root.join("training");
    if training.is_dir() {
        training
    } else {
        root.to_owned()
    }
}

/// The 3x4 row-major matrix `key` of `calib`, named in the error when absent or short.
fn mat3x4(calib: &KittiCalib, key: &str, path: &Path) -> Result<[[f64; 4]; 3]> {
    let v = calib
        .get(key)
        .filter(|v| v.len() == 12)
        .ok_or_else(|| RealityError::Field {
            path: path.to_owned(),
            field: key.into(),
            what: "missing (expected 12 numbers)".into(),
        })?;
    Ok([
        [v[0], v[1], v[2], v[3]],
        [v[4], v[5], v[6], v[7]],
        [v[8], v[9], v[10], v[11]],
    ])
}

/// Projection of points in the rectified camera frame to pixels with P2.
struct Camera {
    p2: [[f64; 4]; 3],
    /// Velodyne to rectified camera: R0_rect · Tr_velo_to_cam.
    rect_from_velo: Option<(DMat3, DVec3)>,
}

impl Camera {
    fn from_calib(calib: &KittiCalib, path: &Path) -> Result<Self> {
        let p2 = mat3x4(calib, "P2", path)?;
        let rect_from_velo = readers::rect_from_velo(calib);
        Ok(Camera { p2, rect_from_velo })
    }

    /// Pixel of a point in the rectified camera frame; None behind or at the camera.
    fn pixel(&self, p: DVec3) -> Option<(f64, f64)> {
        let row = |r: &[f64; 4]| r[0] * p.x + r[1] * p.y + r[2] * p.z + r[3];
        let (u, v, w) = (row(&self.p2[0]), row(&self.p2[1]), row(&self.p2[2]));
        (w > 0.1 && p.z > 0.1).then(|| (u / w, v / w))
    }
}

/// A colour map from near (red) through yellow and green to far (blue).
fn range_colour(range_m: f64) -> Rgb<u8> {
    let t = (range_m / FAR_M).clamp(0.0, 1.0);
    let (r, g, b) = if t < 1.0 / 3.0 {
        let s = t * 3.0;
        (1.0, s, 0.0)
    } else if t < 2.0 / 3.0 {
        let s = t * 3.0 - 1.0;
        (1.0 - s, 1.0, s * 0.5)
    } else {
        let s = t * 3.0 - 2.0;
        (0.0, 1.0 - s, 0.5 + 0.5 * s)
    };
    Rgb([(r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8])
}

fn class_colour(class: &str) -> Rgb<u8> {
    match class {
        "Car" => Rgb([0, 255, 0]),
        "Van" => Rgb([0, 255, 255]),
        "Truck" | "Tram" => Rgb([255, 0, 255]),
        "Pedestrian" | "Person_sitting" => Rgb([255, 64, 64]),
        "Cyclist" => Rgb([255, 255, 0]),
        _ => Rgb([255, 255, 255]),
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, c);
    }
}

/// A line between two pixels (Bresenham), clipped to the image by `put`; segments far
/// outside the image are skipped.
fn line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), c: Rgb<u8>) {
    let limit = 4.0 * (img.width() + img.height()) as f64;
    if [a.0, a.1, b.0, b.1]
        .iter()
        .any(|v| !v.is_finite() || v.abs() > limit)
    {
        return;
    }
    let (mut x0, mut y0) = (a.0.round() as i64, a.1.round() as i64);
    let (x1, y1) = (b.0.round() as i64, b.1.round() as i64);
    let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
    let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        put(img, x0, y0, c);
        if x0 == x1 && y0 == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x0 += sx;
        }
        if e2 <= dx {
            err += dx;
            y0 += sy;
        }
    }
}

/// The eight corners of a KITTI 3D box in the rectified camera frame: the location is the
/// bottom face's centre, y points down, `rotation_y` turns about y.
fn box_corners(o: &KittiObject) -> [DVec3; 8] {
    let [h, w, l] = o.dims_m;
    let (s, c) = o.rotation_y_rad.sin_cos();
    let loc = DVec3::from_array(o.location_m);
    let mut out = [DVec3::ZERO; 8];
    for (i, corner) in out.iter_mut().enumerate() {
        let x = if i & 1 == 0 { l / 2.0 } else { -l / 2.0 };
        let z = if i & 2 == 0 { w / 2.0 } else { -w / 2.0 };
        let y = if i & 4 == 0 { 0.0 } else { -h };
        *corner = loc + DVec3::new(c * x + s * z, y, -s * x + c * z);
    }
    out
}

/// Draws frame `frame` of the dataset or KITTI root `root` and writes it as PNG to `out`.
pub fn preview(root: &Path, frame: u32, out: &Path) -> Result<PreviewStats> {
    let (img, stats) = draw(root, frame)?;
    write_png(&img, out)?;
    Ok(stats)
}

/// Rows of background between the two frames of a side-by-side picture.
const GAP_PX: u32 = 8;

/// Draws frame `frame` of `root` above frame `other_frame` of `other` (a real KITTI root, say),
/// each as [`preview`] draws it, and writes both as one PNG to `out`: the same projection,
/// colours and boxes for both, so that a synthetic frame can be set beside a recorded one.
pub fn preview_pair(
    root: &Path,
    frame: u32,
    other: &Path,
    other_frame: u32,
    out: &Path,
) -> Result<[PreviewStats; 2]> {
    let (top, a) = draw(root, frame)?;
    let (bottom, b) = draw(other, other_frame)?;
    let width = top.width().max(bottom.width());
    let mut img = RgbImage::new(width, top.height() + GAP_PX + bottom.height());
    image::imageops::replace(&mut img, &top, 0, 0);
    image::imageops::replace(&mut img, &bottom, 0, (top.height() + GAP_PX) as i64);
    write_png(&img, out)?;
    Ok([a, b])
}

fn write_png(img: &RgbImage, out: &Path) -> Result<()> {
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| RealityError::Image {
            path: out.to_owned(),
            what: format!("cannot encode: {e}"),
        })?;
    super::profile::write_atomic(out, &png)
}

/// Frame `frame` of `root` drawn: the image, the projected lidar, the 2D and 3D boxes.
fn draw(root: &Path, frame: u32) -> Result<(RgbImage, PreviewStats)> {
    let split = split_dir(root);
    let id = format!("{frame:06}");
    let image_path = split.join("image_2").join(format!("{id}.png"));
    if !image_path.is_file() {
        return Err(RealityError::Dataset {
            path: image_path,
            what: format!(
                "no camera image for frame {frame} (is {} a KITTI-layout dataset with image_2/?)",
                root.display()
            ),
        });
    }
    let mut img = read_rgb(&image_path)?;
    let calib_path = split.join("calib").join(format!("{id}.txt"));
    let camera = Camera::from_calib(&read_kitti_calib(&calib_path)?, &calib_path)?;
    let mut stats = PreviewStats {
        width: img.width(),
        height: img.height(),
        ..Default::default()
    };
    let lidar_path = split.join("velodyne").join(format!("{id}.bin"));
    if let (true, Some((rot, t))) = (lidar_path.is_file(), camera.rect_from_velo) {
        let cloud = read_lidar(&lidar_path)?;
        // Far points first, so near ones are drawn over them.
        let mut pts: Vec<(f64, DVec3)> = cloud
            .points
            .iter()
            .map(|p| {
                let v = DVec3::new(p[0] as f64, p[1] as f64, p[2] as f64);
                (v.length(), rot * v + t)
            })
            .collect();
        pts.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (range, p) in pts {
            if let Some((u, v)) = camera.pixel(p) {
                let (x, y) = (u.round() as i64, v.round() as i64);
                if x < 0 || y < 0 || x >= img.width() as i64 || y >= img.height() as i64 {
                    continue;
                }
                let c = range_colour(range);
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    put(&mut img, x + dx, y + dy, c);
                }
                stats.points_drawn += 1;
            }
        }
    }
    let labels_path = split.join("label_2").join(format!("{id}.txt"));
    if labels_path.is_file() {
        for o in read_kitti_labels(&labels_path)? {
            if o.class == "DontCare" {
                continue;
            }
            let c = class_colour(&o.class);
            let [x0, y0, x1, y1] = o.bbox_px;
            for (a, b) in [
                ((x0, y0), (x1, y0)),
                ((x1, y0), (x1, y1)),
                ((x1, y1), (x0, y1)),
                ((x0, y1), (x0, y0)),
            ] {
                line(&mut img, a, b, c);
            }
            let corners = box_corners(&o);
            let px: Vec<Option<(f64, f64)>> = corners.iter().map(|&p| camera.pixel(p)).collect();
            // Edges between corners differing in one bit of their index.
            for i in 0..8usize {
                for bit in [1usize, 2, 4] {
                    let j = i ^ bit;
                    if i < j
                        && let (Some(a), Some(b)) = (px[i], px[j])
                    {
                        let dim = Rgb([c[0] / 2 + 64, c[1] / 2 + 64, c[2] / 2 + 64]);
                        line(&mut img, a, b, dim);
                    }
                }
            }
            stats.boxes_drawn += 1;
        }
    }
    Ok((img, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_corners_span_the_dimensions_and_stand_on_the_location() {
        let o = KittiObject {
            class: "Car".into(),
            truncated: 0.0,
            occluded: 0,
            alpha_rad: 0.0,
            bbox_px: [0.0; 4],
            dims_m: [1.5, 1.8, 4.2],
            location_m: [2.0, 1.65, 20.0],
            rotation_y_rad: std::f64::consts::FRAC_PI_2,
        };
        let c = box_corners(&o);
        let min = c.iter().fold(DVec3::splat(f64::MAX), |a, &b| a.min(b));
        let max = c.iter().fold(DVec3::splat(f64::MIN), |a, &b| a.max(b));
        // Turned by 90°, the length lies along the camera's z.
        assert!((max.z - min.z - 4.2).abs() < 1e-9, "{min} {max}");
        assert!((max.x - min.x - 1.8).abs() < 1e-9);
        assert!((max.y - 1.65).abs() < 1e-9 && (min.y - 0.15).abs() < 1e-9);
    }

    #[test]
    fn the_colour_map_runs_from_red_to_blue() {
        assert_eq!(range_colour(0.0), Rgb([255, 0, 0]));
        assert_eq!(range_colour(FAR_M * 2.0), Rgb([0, 0, 255]));
    }
}
