//! Label statistics (KITTI label_2): objects per frame and class, distances, box sizes,
//! occlusion levels, and schema validity.

use super::hist::Hist;
use super::readers::{KITTI_CLASSES, KittiObject};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAgg {
    pub frames: u64,
    pub objects: u64,
    pub class_counts: BTreeMap<String, f64>,
    /// Distance √(x² + z²) in the camera frame, metres (object counts, not pmfs).
    pub distance_m: Hist,
    pub occlusion: Hist,
    pub length_m: Hist,
    pub height_m: Hist,
}

impl Default for LabelAgg {
    fn default() -> Self {
        Self {
            frames: 0,
            objects: 0,
            class_counts: BTreeMap::new(),
            distance_m: Hist::new(0.0, 80.0, 40),
            occlusion: Hist::new(0.0, 4.0, 4),
            length_m: Hist::new(0.0, 20.0, 40),
            height_m: Hist::new(0.0, 5.0, 20),
        }
    }
}

impl LabelAgg {
    pub fn merge(&mut self, o: &LabelAgg) {
        self.frames += o.frames;
        self.objects += o.objects;
        for (k, v) in &o.class_counts {
            *self.class_counts.entry(k.clone()).or_default() += v;
        }
        self.distance_m.merge(&o.distance_m);
        self.occlusion.merge(&o.occlusion);
        self.length_m.merge(&o.length_m);
        self.height_m.merge(&o.height_m);
    }

    /// Class shares over the union of KITTI classes (DontCare excluded).
    pub fn class_vector(&self) -> Vec<f64> {
        KITTI_CLASSES[..8]
            .iter()
            .map(|c| self.class_counts.get(*c).copied().unwrap_or(0.0))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelValidity {
    pub objects: u64,
    pub unknown_class: u64,
    pub truncation_out_of_range: u64,
    pub occlusion_out_of_range: u64,
    pub non_positive_dims: u64,
    pub bad_bbox: u64,
}

impl LabelValidity {
    pub fn merge(&mut self, o: &LabelValidity) {
        self.objects += o.objects;
        self.unknown_class += o.unknown_class;
        self.truncation_out_of_range += o.truncation_out_of_range;
        self.occlusion_out_of_range += o.occlusion_out_of_range;
        self.non_positive_dims += o.non_positive_dims;
        self.bad_bbox += o.bad_bbox;
    }
}

/// Adds one frame's objects; returns the number of objects that are not DontCare.
pub fn accumulate_labels(objs: &[KittiObject], agg: &mut LabelAgg, v: &mut LabelValidity) -> f64 {
    agg.frames += 1;
    let mut n = 0.0;
    for o in objs {
        v.objects += 1;
        let dontcare = o.class == "DontCare";
        if !KITTI_CLASSES.contains(&o.class.as_str()) {
            v.unknown_class += 1;
        }
        if o.bbox_px[2] < o.bbox_px[0]
            || o.bbox_px[3] < o.bbox_px[1]
            || o.bbox_px.iter().any(|x| !x.is_finite())
        {
            v.bad_bbox += 1;
        }
        if dontcare {
            continue;
        }
        if !(0.0..=1.0).contains(&o.truncated) {
            v.truncation_out_of_range += 1;
        }
        if !(0..=3).contains(&o.occluded) {
            v.occlusion_out_of_range += 1;
        }
        if o.dims_m
            .iter()
            .any(|d| d.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
        {
            v.non_positive_dims += 1;
        }
        n += 1.0;
        agg.objects += 1;
        *agg.class_counts.entry(o.class.clone()).or_default() += 1.0;
        let [x, _, z] = o.location_m;
        agg.distance_m.add((x * x + z * z).sqrt(), 1.0);
        agg.occlusion.add(o.occluded as f64, 1.0);
        agg.height_m.add(o.dims_m[0], 1.0);
        agg.length_m.add(o.dims_m[2], 1.0);
    }
    n
}
