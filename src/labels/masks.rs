//! One pass over a camera frame's instance mask: each instance's pixel count and box, and
//! those of its object-class pixels. The 2D boxes (`boxes::label_camera`) and the COCO
//! annotations (`export::coco`) are read from it.

use std::collections::HashMap;

use crate::classes::Class;
use crate::frame::CameraFrame;

/// A pixel count and the inclusive box `[x0, y0, x1, y1]` around those pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Area {
    pub pixels: u32,
    pub bbox: [u32; 4],
}

impl Area {
    fn new(x0: u32, x1: u32, y: u32) -> Self {
        Area {
            pixels: x1 - x0 + 1,
            bbox: [x0, y, x1, y],
        }
    }

    /// Adds the row run `x0..=x1` of row `y`.
    fn add(&mut self, x0: u32, x1: u32, y: u32) {
        self.pixels += x1 - x0 + 1;
        let b = &mut self.bbox;
        *b = [b[0].min(x0), b[1].min(y), b[2].max(x1), b[3].max(y)];
    }
}

/// One instance id's pixels in the mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceMask {
    pub instance_id: u32,
    /// Every pixel carrying the id.
    pub all: Area,
    /// Its pixels of object classes (`Class::is_object`), with the class of the first of them
    /// in raster order; `None` when it has none.
    pub object: Option<(u16, Area)>,
}

/// The instances (ids > 0) of `frame`'s mask, by increasing id. The mask is walked in row
/// runs of one label, so an instance is looked up once per run, not once per pixel.
pub fn instance_masks(frame: &CameraFrame) -> Vec<InstanceMask> {
    let w = frame.width as usize;
    let mut out: Vec<InstanceMask> = Vec::new();
    let mut index: HashMap<u32, usize> = HashMap::new();
    for (y, row) in frame.pixels.chunks_exact(w.max(1)).enumerate() {
        let y = y as u32;
        let mut x = 0;
        while x < row.len() {
            let label = row[x].label;
            let start = x;
            while x < row.len() && row[x].label == label {
                x += 1;
            }
            let inst = label >> 16;
            if inst == 0 {
                continue;
            }
            let (x0, x1) = (start as u32, x as u32 - 1);
            let class = (label & 0xFFFF) as u16;
            let is_object = Class::from_id(class).is_some_and(Class::is_object);
            let i = match index.get(&inst) {
                Some(&i) => {
                    out[i].all.add(x0, x1, y);
                    i
                }
                None => {
                    index.insert(inst, out.len());
                    out.push(InstanceMask {
                        instance_id: inst,
                        all: Area::new(x0, x1, y),
                        object: None,
                    });
                    out.len() - 1
                }
            };
            let m = &mut out[i];
            if is_object {
                match &mut m.object {
                    Some((_, a)) => a.add(x0, x1, y),
                    None => m.object = Some((class, Area::new(x0, x1, y))),
                }
            }
        }
    }
    out.sort_by_key(|m| m.instance_id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{PixelOut, pack_label};
    use crate::rng::hash3;

    /// Each instance's areas counted pixel by pixel.
    fn reference(frame: &CameraFrame) -> Vec<InstanceMask> {
        let mut all: std::collections::BTreeMap<u32, InstanceMask> = Default::default();
        for (i, p) in frame.pixels.iter().enumerate() {
            let (x, y) = (i as u32 % frame.width, i as u32 / frame.width);
            let inst = p.label >> 16;
            if inst == 0 {
                continue;
            }
            let m = all.entry(inst).or_insert(InstanceMask {
                instance_id: inst,
                all: Area {
                    pixels: 0,
                    bbox: [x, y, x, y],
                },
                object: None,
            });
            m.all.add(x, x, y);
            let class = (p.label & 0xFFFF) as u16;
            if Class::from_id(class).is_some_and(Class::is_object) {
                match &mut m.object {
                    Some((_, a)) => a.add(x, x, y),
                    None => m.object = Some((class, Area::new(x, x, y))),
                }
            }
        }
        all.into_values().collect()
    }

    #[test]
    fn row_runs_give_the_per_pixel_counts_and_boxes() {
        // Blobs of a few instances, each mixing object classes with stuff classes under one
        // instance id, runs touching each other and the row ends, and the first object class
        // of an instance differing from later ones.
        let (w, h) = (97u32, 41u32);
        let classes = [Class::Car, Class::Road, Class::Pedestrian, Class::Building];
        let mut pixels = vec![PixelOut::default(); (w * h) as usize];
        for (i, p) in pixels.iter_mut().enumerate() {
            let (x, y) = (i as u32 % w, i as u32 / w);
            let inst = match (x / 13 + y / 9) % 5 {
                0 => 0,
                k => k + 2 * (x / 50),
            };
            let class = classes[(hash3(7, x, y) % 4) as usize * usize::from(x % 7 > 2)];
            p.label = pack_label(class as u32, inst);
        }
        let frame = CameraFrame {
            width: w,
            height: h,
            pixels,
        };
        let got = instance_masks(&frame);
        assert!(got.len() >= 6, "the frame has several instances");
        assert!(
            got.iter()
                .any(|m| m.object.is_some_and(|(_, a)| a != m.all))
        );
        assert_eq!(got, reference(&frame));
        // An instance of no object class has no COCO area.
        let mut frame = frame;
        for p in &mut frame.pixels {
            if p.label >> 16 == 1 {
                p.label = pack_label(Class::Building as u32, 1);
            }
        }
        let got = instance_masks(&frame);
        assert_eq!(got, reference(&frame));
        assert!(got.iter().any(|m| m.instance_id == 1 && m.object.is_none()));
    }
}
