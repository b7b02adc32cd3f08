//! COCO instances (`coco/instances.json`): one image per frame and camera, one annotation per
//! object instance visible in the instance mask, with its bbox `[x, y, w, h]` (pixels), its
//! area (mask pixels), `iscrowd: 0` and an uncompressed RLE mask (`{"size": [h, w],
//! "counts": [...]}`, column-major runs starting with background, as pycocotools reads it).
//! Categories are verisim's object classes with their verisim ids.

use serde::{Deserialize, Serialize};

use crate::classes::{CLASSES, Class};
use crate::frame::CameraFrame;
use crate::labels::masks::{InstanceMask, instance_masks};

/// Uncompressed RLE.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rle {
    /// [height, width]
    pub size: [u32; 2],
    pub counts: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CocoObject {
    pub instance_id: u32,
    pub category_id: u16,
    pub bbox: [u32; 4],
    pub area: u64,
    pub segmentation: Rle,
}

/// One camera image of one frame, with its objects (ids are assigned when the file is built).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CocoImage {
    pub camera: u32,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
    pub objects: Vec<CocoObject>,
}

/// Column-major run-length encoder (pycocotools' uncompressed RLE: runs alternate starting
/// with background).
struct RunLength {
    counts: Vec<u32>,
    inside: bool,
    run: u32,
}

impl RunLength {
    fn new() -> Self {
        RunLength {
            counts: Vec::new(),
            inside: false,
            run: 0,
        }
    }

    /// Appends `n` pixels that are (`here`) or are not in the mask.
    fn push(&mut self, here: bool, n: u32) {
        if n == 0 {
            return;
        }
        if here != self.inside {
            self.counts.push(self.run);
            self.run = 0;
            self.inside = here;
        }
        self.run += n;
    }

    fn finish(mut self) -> Vec<u32> {
        self.counts.push(self.run);
        self.counts
    }
}

/// Objects of a camera frame from its instance mask (instance ids > 0 of object classes).
pub fn objects(cam: &CameraFrame) -> Vec<CocoObject> {
    objects_masked(cam, &instance_masks(cam))
}

/// [`objects`] with the frame's `instance_masks` already made.
pub fn objects_masked(cam: &CameraFrame, masks: &[InstanceMask]) -> Vec<CocoObject> {
    let (w, h) = (cam.width as usize, cam.height as usize);
    masks
        .iter()
        .filter_map(|m| {
            let (class, area) = m.object?;
            // Only the instance's extent (every pixel carrying its id) is scanned; the rest
            // of the image is background.
            let [ex0, ey0, ex1, ey1] = m.all.bbox.map(|v| v as usize);
            let [x0, y0, x1, y1] = area.bbox;
            let mut rle = RunLength::new();
            rle.push(false, (ex0 * h) as u32);
            for x in ex0..=ex1 {
                rle.push(false, ey0 as u32);
                for y in ey0..=ey1 {
                    rle.push(cam.pixels[y * w + x].label >> 16 == m.instance_id, 1);
                }
                rle.push(false, (h - 1 - ey1) as u32);
            }
            rle.push(false, ((w - 1 - ex1) * h) as u32);
            Some(CocoObject {
                instance_id: m.instance_id,
                category_id: class,
                bbox: [x0, y0, x1 - x0 + 1, y1 - y0 + 1],
                area: area.pixels as u64,
                segmentation: Rle {
                    size: [h as u32, w as u32],
                    counts: rle.finish(),
                },
            })
        })
        .collect()
}

/// `coco/instances.json` from the frames' images, in frame order. Image ids count from 1 in
/// (frame, camera) order; annotation ids count from 1 in image, then instance order.
pub fn instances_json(name: &str, version: &str, images: &[(u32, &CocoImage)]) -> String {
    let categories: Vec<serde_json::Value> = CLASSES
        .iter()
        .filter(|c| c.class.is_object())
        .map(|c| {
            serde_json::json!({
                "id": c.class.id(),
                "name": c.name,
                "supercategory": if matches!(c.class, Class::Pedestrian | Class::Cyclist) { "person" } else { "vehicle" },
            })
        })
        .collect();
    let mut out_images = Vec::new();
    let mut annotations = Vec::new();
    for (image_id, (frame, img)) in images.iter().enumerate() {
        let image_id = image_id as u64 + 1;
        out_images.push(serde_json::json!({
            "id": image_id,
            "file_name": img.file_name,
            "width": img.width,
            "height": img.height,
            "frame": frame,
            "camera": img.camera,
        }));
        for o in &img.objects {
            annotations.push(serde_json::json!({
                "id": annotations.len() as u64 + 1,
                "image_id": image_id,
                "category_id": o.category_id,
                "bbox": o.bbox,
                "area": o.area,
                "iscrowd": 0,
                "segmentation": {"size": o.segmentation.size, "counts": o.segmentation.counts},
                "instance_id": o.instance_id,
            }));
        }
    }
    let doc = serde_json::json!({
        "info": {
            "description": name,
            "version": version,
            "contributor": "verisim",
        },
        "licenses": [],
        "images": out_images,
        "annotations": annotations,
        "categories": categories,
    });
    serde_json::to_string(&doc).expect("plain data serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{PixelOut, pack_label};

    #[test]
    fn rle_runs_are_column_major_and_sum_to_the_image() {
        // 3 wide, 2 high; instance 5 (a car) at (1,0), (1,1), (2,1).
        let car = Class::Car.id() as u32;
        let px = |inst: u32| PixelOut {
            rgba: 0,
            depth_m: 1.0,
            label: if inst == 0 {
                pack_label(Class::Road.id() as u32, 0)
            } else {
                pack_label(car, inst)
            },
        };
        let cam = CameraFrame {
            width: 3,
            height: 2,
            pixels: vec![px(0), px(5), px(0), px(0), px(5), px(5)],
        };
        let o = objects(&cam);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].bbox, [1, 0, 2, 2]);
        assert_eq!(o[0].area, 3);
        // Column-major: col0 = [0,0], col1 = [1,1], col2 = [0,1] → 0 0 1 1 0 1 → runs 2,2,1,1.
        assert_eq!(o[0].segmentation.counts, vec![2, 2, 1, 1]);
    }

    /// The whole-image column-major scan, the encoder's definition.
    fn naive_rle(cam: &CameraFrame, inst: u32) -> Vec<u32> {
        let (w, h) = (cam.width as usize, cam.height as usize);
        let mut r = RunLength::new();
        for x in 0..w {
            for y in 0..h {
                r.push(cam.pixels[y * w + x].label >> 16 == inst, 1);
            }
        }
        r.finish()
    }

    #[test]
    fn extent_limited_rle_equals_the_whole_image_scan() {
        let car = Class::Car.id() as u32;
        let (w, h) = (37usize, 23usize);
        let mut state = 12345u32;
        let mut pixels = Vec::new();
        for i in 0..w * h {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let (x, y) = (i % w, i / w);
            // Blobs of three instances, one touching the image's first pixel and one the last.
            let inst = if x < 6 && y < 5 {
                1
            } else if x > 30 && y > 15 {
                2
            } else if (10..20).contains(&x) && (state >> 28) < 9 {
                3
            } else {
                0
            };
            pixels.push(PixelOut {
                rgba: 0,
                depth_m: 1.0,
                label: pack_label(if inst == 0 { 0 } else { car }, inst),
            });
        }
        let cam = CameraFrame {
            width: w as u32,
            height: h as u32,
            pixels,
        };
        let o = objects(&cam);
        assert_eq!(o.len(), 3);
        for obj in &o {
            assert_eq!(obj.segmentation.counts, naive_rle(&cam, obj.instance_id));
            let total: u32 = obj.segmentation.counts.iter().sum();
            assert_eq!(total as usize, w * h);
        }
        assert_eq!(o[0].segmentation.counts[0], 0, "the mask starts at pixel 0");
    }
}
