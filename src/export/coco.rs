//! COCO instances (`coco/instances.json`): one image per frame and camera, one annotation per
//! object instance visible in the instance mask, with its bbox `[x, y, w, h]` (pixels), its
//! area (mask pixels), `iscrowd: 0` and an uncompressed RLE mask (`{"size": [h, w],
//! "counts": [...]}`, column-major runs starting with background, as pycocotools reads it).
//! Categories are verisim's object classes with their verisim ids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::backend::CameraFrame;
use crate::labels::{CLASSES, Class};

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

/// Objects of a camera frame from its instance mask (instance ids > 0 of object classes).
pub fn objects(cam: &CameraFrame) -> Vec<CocoObject> {
    let (w, h) = (cam.width as usize, cam.height as usize);
    // instance -> (class, pixels, min x, min y, max x, max y)
    let mut found: BTreeMap<u32, (u16, u64, usize, usize, usize, usize)> = BTreeMap::new();
    for (i, p) in cam.pixels.iter().enumerate() {
        let inst = p.label >> 16;
        let class = (p.label & 0xFFFF) as u16;
        if inst == 0 || !Class::from_id(class).is_some_and(Class::is_object) {
            continue;
        }
        let (x, y) = (i % w, i / w);
        let e = found.entry(inst).or_insert((class, 0, x, y, x, y));
        e.1 += 1;
        e.2 = e.2.min(x);
        e.3 = e.3.min(y);
        e.4 = e.4.max(x);
        e.5 = e.5.max(y);
    }
    found
        .into_iter()
        .map(|(inst, (class, area, x0, y0, x1, y1))| {
            let mut counts = Vec::new();
            let mut inside = false;
            let mut run = 0u32;
            for x in 0..w {
                for y in 0..h {
                    let here = cam.pixels[y * w + x].label >> 16 == inst;
                    if here != inside {
                        counts.push(run);
                        run = 0;
                        inside = here;
                    }
                    run += 1;
                }
            }
            counts.push(run);
            CocoObject {
                instance_id: inst,
                category_id: class,
                bbox: [
                    x0 as u32,
                    y0 as u32,
                    (x1 - x0 + 1) as u32,
                    (y1 - y0 + 1) as u32,
                ],
                area,
                segmentation: Rle {
                    size: [h as u32, w as u32],
                    counts,
                },
            }
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
    use crate::gpu::types::{PixelOut, pack_label};

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
}
