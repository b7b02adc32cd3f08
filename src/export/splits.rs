//! Dataset splits by episode and the files trainers read them from: `ImageSets/{train,val,
//! test,trainval}.txt` (the KITTI layout OpenPCDet's and mmdetection3d's KITTI loaders read:
//! one six-digit frame id per line, ids of `training/`) and the SemanticKITTI label
//! configuration `semantic-kitti.yaml` (labels, colours, point shares, the learning map onto
//! SemanticKITTI's 19 evaluation classes, and the split by sequence).
//!
//! Whole episodes go to one split, never frames of one episode to two: frames of an episode
//! are seconds apart and nearly alike, so a split by frame would put near-copies of the
//! validation frames into training.

use std::collections::BTreeMap;

use crate::classes::CLASSES;
use crate::rng::SplitMix64;
use crate::scenario::Splits;

/// The SemanticKITTI label configuration's path in a dataset.
pub const SEMANTIC_KITTI_YAML: &str = "semantic-kitti.yaml";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Split {
    Train,
    Val,
    Test,
}

/// The split of each of the (distinct) `episodes`: they, ordered by a hash of (seed, episode), give their
/// first `round(n·train)` to training, up to `round(n·(train + val))` to validation and the
/// rest to test. The same seed and episodes give the same split on every machine, and for a
/// run resumed or merged from shards.
pub fn assign(episodes: &[u32], seed: u64, shares: &Splits) -> BTreeMap<u32, Split> {
    let mut order: Vec<(u64, u32)> = episodes
        .iter()
        .map(|&e| {
            let key = seed ^ u64::from(e).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (SplitMix64::new(key).next_u64(), e)
        })
        .collect();
    order.sort_unstable();
    let n = order.len() as f64;
    let n_train = (n * f64::from(shares.train)).round() as usize;
    let n_train_val = (n * f64::from(shares.train + shares.val)).round() as usize;
    order
        .iter()
        .enumerate()
        .map(|(i, &(_, e))| {
            let s = if i < n_train {
                Split::Train
            } else if i < n_train_val {
                Split::Val
            } else {
                Split::Test
            };
            (e, s)
        })
        .collect()
}

/// The `ImageSets/` files and the splits each lists.
const IMAGE_SETS: [(&str, &[Split]); 4] = [
    ("ImageSets/train.txt", &[Split::Train]),
    ("ImageSets/val.txt", &[Split::Val]),
    ("ImageSets/test.txt", &[Split::Test]),
    ("ImageSets/trainval.txt", &[Split::Train, Split::Val]),
];

/// Paths of the `ImageSets/` files, relative to the dataset root.
pub fn image_set_paths() -> impl Iterator<Item = &'static str> {
    IMAGE_SETS.iter().map(|(p, _)| *p)
}

/// `ImageSets/*.txt` for frames given as (frame, episode): (path, text).
pub fn image_sets(frames: &[(u32, u32)], split: &BTreeMap<u32, Split>) -> Vec<(String, String)> {
    IMAGE_SETS
        .iter()
        .map(|(path, splits)| {
            let mut ids: Vec<u32> = frames
                .iter()
                .filter(|(_, e)| split.get(e).is_some_and(|s| splits.contains(s)))
                .map(|&(f, _)| f)
                .collect();
            ids.sort_unstable();
            let text = ids.iter().map(|f| format!("{f:06}\n")).collect();
            (path.to_string(), text)
        })
        .collect()
}

/// SemanticKITTI's 19 evaluation classes (Behley et al., ICCV 2019): raw label id, training
/// id, name. Raw ids not listed train as 0 (ignored): unlabeled, other-structure (52),
/// other-object (99) and verisim's weather returns (110–112), which SemanticKITTI lacks.
/// Lane markings (60) train as road, as SemanticKITTI's own mapping has them.
const EVAL_CLASSES: [(u16, u16, &str); 20] = [
    (10, 1, "car"),
    (11, 2, "bicycle"),
    (15, 3, "motorcycle"),
    (18, 4, "truck"),
    (20, 5, "other-vehicle"),
    (13, 5, "bus"),
    (30, 6, "person"),
    (31, 7, "bicyclist"),
    (32, 8, "motorcyclist"),
    (40, 9, "road"),
    (60, 9, "lane-marking"),
    (44, 10, "parking"),
    (48, 11, "sidewalk"),
    (49, 12, "other-ground"),
    (50, 13, "building"),
    (51, 14, "fence"),
    (70, 15, "vegetation"),
    (71, 16, "trunk"),
    (72, 17, "terrain"),
    (80, 18, "pole"),
];
/// The 19th evaluation class.
const TRAFFIC_SIGN: (u16, u16, &str) = (81, 19, "traffic-sign");

/// Raw id → name: every id verisim writes (its class table) and every id the learning map
/// names.
fn raw_labels() -> BTreeMap<u16, &'static str> {
    let mut out = BTreeMap::new();
    for (raw, _, name) in EVAL_CLASSES.iter().chain([&TRAFFIC_SIGN]) {
        out.insert(*raw, *name);
    }
    for r in CLASSES.iter() {
        // The first class of an id names it (sky shares 0 with unlabeled, crosswalk 60 with
        // lane-marking).
        out.entry(r.semantic_kitti_id).or_insert(r.name);
    }
    out.insert(0, "unlabeled");
    out
}

fn train_id(raw: u16) -> u16 {
    EVAL_CLASSES
        .iter()
        .chain([&TRAFFIC_SIGN])
        .find(|c| c.0 == raw)
        .map_or(0, |c| c.1)
}

/// A colour per raw id (BGR, as SemanticKITTI's `color_map`): hues a golden angle apart.
/// verisim's own colours, for viewing; they are not SemanticKITTI's.
fn colour(index: usize) -> [u8; 3] {
    if index == 0 {
        return [0, 0, 0];
    }
    let h = (index as f64 * 137.507_764).rem_euclid(360.0) / 60.0;
    let x = 1.0 - (h % 2.0 - 1.0).abs();
    let (r, g, b) = match h as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    let c = |v: f64| (55.0 + 200.0 * v).round() as u8;
    [c(b), c(g), c(r)]
}

/// `semantic-kitti.yaml`: `points` counts the dataset's lidar points per raw id, `split`
/// gives each sequence (episode) its split.
pub fn semantic_kitti_yaml(points: &BTreeMap<u16, u64>, split: &BTreeMap<u32, Split>) -> String {
    let labels = raw_labels();
    let total: u64 = points.values().sum();
    let mut y = String::from(
        "# SemanticKITTI label configuration of this dataset (written by verisim).\n\
         # labels: raw ids in sequences/SS/labels/*.label (the low 16 bits of each word).\n\
         # learning_map: raw id -> training id of SemanticKITTI's 19 evaluation classes; 0 is\n\
         # ignored (unlabeled, other-structure, other-object, and verisim's weather returns\n\
         # fog 110, rain 111 and snow 112, which SemanticKITTI lacks).\n\
         # content: share of this dataset's points per raw id. color_map: BGR, verisim's colours.\n",
    );
    y += "labels:\n";
    for (raw, name) in &labels {
        y += &format!("  {raw}: \"{name}\"\n");
    }
    y += "color_map:\n";
    for (i, raw) in labels.keys().enumerate() {
        let [b, g, r] = colour(i);
        y += &format!("  {raw}: [{b}, {g}, {r}]\n");
    }
    y += "content:\n";
    for raw in labels.keys() {
        let n = points.get(raw).copied().unwrap_or(0);
        let share = if total > 0 {
            n as f64 / total as f64
        } else {
            0.0
        };
        y += &format!("  {raw}: {share:.9}\n");
    }
    y += "learning_map:\n";
    for raw in labels.keys() {
        y += &format!("  {raw}: {}\n", train_id(*raw));
    }
    y += "learning_map_inv:\n  0: 0\n";
    let mut inv: BTreeMap<u16, u16> = BTreeMap::new();
    for (raw, t, _) in EVAL_CLASSES.iter().chain([&TRAFFIC_SIGN]) {
        inv.entry(*t).or_insert(*raw);
    }
    for (t, raw) in &inv {
        y += &format!("  {t}: {raw}\n");
    }
    y += "learning_ignore:\n  0: true\n";
    for t in inv.keys() {
        y += &format!("  {t}: false\n");
    }
    let seqs = |s: Split| -> String {
        let v: Vec<String> = split
            .iter()
            .filter(|(_, x)| **x == s)
            .map(|(e, _)| e.to_string())
            .collect();
        format!("[{}]", v.join(", "))
    };
    y += &format!(
        "split:\n  train: {}\n  valid: {}\n  test: {}\n",
        seqs(Split::Train),
        seqs(Split::Val),
        seqs(Split::Test)
    );
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shares(train: f32, val: f32, test: f32) -> Splits {
        Splits { train, val, test }
    }

    #[test]
    fn episodes_split_by_their_shares_and_the_seed_only() {
        let eps: Vec<u32> = (0..10).collect();
        let a = assign(&eps, 7, &shares(0.7, 0.2, 0.1));
        let count = |s: Split| a.values().filter(|&&x| x == s).count();
        assert_eq!(
            (count(Split::Train), count(Split::Val), count(Split::Test)),
            (7, 2, 1)
        );
        // The same episodes listed in another order keep their split.
        let mut rev = eps.clone();
        rev.reverse();
        assert_eq!(assign(&rev, 7, &shares(0.7, 0.2, 0.1)), a);
        let other = assign(&eps, 8, &shares(0.7, 0.2, 0.1));
        assert_ne!(other, a, "another seed draws another split");
        // One episode goes to training; an empty run has no split.
        assert_eq!(
            assign(&[3], 1, &Splits::default()),
            BTreeMap::from([(3, Split::Train)])
        );
        assert!(assign(&[], 1, &Splits::default()).is_empty());
    }

    #[test]
    fn image_sets_list_every_frame_once_and_keep_episodes_whole() {
        let frames: Vec<(u32, u32)> = (0..40).map(|f| (f, f / 8)).collect();
        let split = assign(&[0, 1, 2, 3, 4], 3, &shares(0.6, 0.2, 0.2));
        let sets: BTreeMap<String, String> = image_sets(&frames, &split).into_iter().collect();
        let ids = |n: &str| -> Vec<u32> {
            sets[&format!("ImageSets/{n}.txt")]
                .lines()
                .map(|l| {
                    assert_eq!(l.len(), 6, "{l}");
                    l.parse().unwrap()
                })
                .collect()
        };
        let (tr, va, te) = (ids("train"), ids("val"), ids("test"));
        assert_eq!((tr.len(), va.len(), te.len()), (24, 8, 8));
        let mut all: Vec<u32> = [tr.clone(), va.clone(), te.clone()].concat();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
        let mut tv = [tr.clone(), va.clone()].concat();
        tv.sort_unstable();
        assert_eq!(ids("trainval"), tv);
        for set in [&tr, &va, &te] {
            for f in set {
                let e = f / 8;
                assert!(
                    (e * 8..e * 8 + 8).all(|g| set.contains(&g)),
                    "episode {e} cut"
                );
            }
        }
    }

    #[test]
    fn yaml_maps_every_raw_id_and_ignores_weather() {
        let points = BTreeMap::from([(40, 600), (10, 300), (110, 100)]);
        let split = BTreeMap::from([(0, Split::Train), (1, Split::Val)]);
        let y = semantic_kitti_yaml(&points, &split);
        for r in CLASSES.iter() {
            let id = r.semantic_kitti_id;
            assert!(y.contains(&format!("\n  {id}: \"")), "label {id}");
        }
        assert!(y.contains("learning_map:\n  0: 0\n"));
        for (raw, t) in [
            (10, 1),
            (40, 9),
            (60, 9),
            (81, 19),
            (110, 0),
            (111, 0),
            (112, 0),
        ] {
            let section =
                &y[y.find("learning_map:").unwrap()..y.find("learning_map_inv:").unwrap()];
            assert!(
                section.contains(&format!("\n  {raw}: {t}\n")),
                "{raw} -> {t}"
            );
        }
        assert!(y.contains("  40: 0.600000000\n") && y.contains("  110: 0.100000000\n"));
        assert!(y.ends_with("split:\n  train: [0]\n  valid: [1]\n  test: []\n"));
    }
}
