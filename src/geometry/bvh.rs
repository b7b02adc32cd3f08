//! Binned SAH BVH construction (parallel with rayon), used for both levels: a BLAS over a
//! mesh's triangles and a TLAS over instance bounds. The binary SAH tree is collapsed into a
//! 4-wide tree ([`BvhNode`]): half the depth, and four boxes per node tested at once.

use glam::Vec3;

use crate::abi::BvhNode;

/// Most items in a leaf.
pub const MAX_LEAF: usize = 4;
const BINS: usize = 16;
/// Below this many items a subtree is built on the calling thread.
const PARALLEL_THRESHOLD: usize = 4096;
/// Past this depth splits are median splits, which bounds the depth (the traversal stacks
/// hold 32 and 48 entries).
const SAH_MAX_DEPTH: u32 = 24;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aabb {
    pub min: Vec3,
    pub max: Vec3,
}

impl Aabb {
    pub const EMPTY: Aabb = Aabb {
        min: Vec3::splat(f32::INFINITY),
        max: Vec3::splat(f32::NEG_INFINITY),
    };

    pub fn grow(&mut self, other: &Aabb) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    pub fn grow_point(&mut self, p: Vec3) {
        self.min = self.min.min(p);
        self.max = self.max.max(p);
    }

    pub fn area(&self) -> f32 {
        let e = (self.max - self.min).max(Vec3::ZERO);
        2.0 * (e.x * e.y + e.y * e.z + e.z * e.x)
    }

    pub fn center(&self) -> Vec3 {
        (self.min + self.max) * 0.5
    }
}

/// A node of the binary SAH tree: a leaf when `count > 0` (items `left_first..+count`),
/// otherwise an inner node whose children are `left_first` and `left_first + 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BinaryNode {
    pub aabb_min: [f32; 3],
    pub left_first: u32,
    pub aabb_max: [f32; 3],
    pub count: u32,
}

impl BinaryNode {
    fn area(&self) -> f32 {
        Aabb {
            min: Vec3::from_array(self.aabb_min),
            max: Vec3::from_array(self.aabb_max),
        }
        .area()
    }
}

/// A built binary BVH: `nodes[0]` is the root; `order[i]` is the original index of the item
/// at leaf position `i`.
#[derive(Clone, Debug, Default)]
pub struct BinaryBvh {
    pub nodes: Vec<BinaryNode>,
    pub order: Vec<u32>,
}

/// A built 4-wide BVH: `nodes[0]` is the root (always an inner node); `order[i]` is the
/// original index of the item at leaf position `i` (leaf slots reference positions
/// `child..child+count`).
#[derive(Clone, Debug, Default)]
pub struct Bvh {
    pub nodes: Vec<BvhNode>,
    pub order: Vec<u32>,
}

/// Builds the 4-wide BVH over items given by their bounds (an empty input gives a root with
/// every slot empty).
pub fn build(bounds: &[Aabb]) -> Bvh {
    let binary = build_binary(bounds);
    Bvh {
        nodes: collapse(&binary),
        order: binary.order,
    }
}

/// Depth of the 4-wide BVH rooted at node `root` of `nodes` (the root alone: 1). A traversal
/// stack needs at most `3 * depth + 1` entries (each visit pops one entry and pushes four).
pub fn depth(nodes: &[BvhNode], root: u32) -> usize {
    let mut max = 0;
    let mut work = vec![(root as usize, 1usize)];
    while let Some((i, d)) = work.pop() {
        max = max.max(d);
        let n = &nodes[i];
        for k in 0..4 {
            if n.count[k] == 0 {
                work.push((n.child[k] as usize, d + 1));
            }
        }
    }
    max
}

/// Collapses a binary tree into a 4-wide one. Each wide node takes its binary node's
/// grandchildren: both children are opened first, so every wide level spans two binary levels
/// (the depth halves); a child that is a leaf leaves a slot, which the largest inner
/// grandchild fills.
fn collapse(b: &BinaryBvh) -> Vec<BvhNode> {
    let mut out = vec![BvhNode::empty()];
    if b.order.is_empty() {
        return out;
    }
    let root = &b.nodes[0];
    if root.count > 0 {
        out[0].set_slot(0, root.aabb_min, root.aabb_max, root.left_first, root.count);
        return out;
    }
    // (wide node to fill, binary inner node it stands for)
    let mut work = vec![(0usize, 0usize)];
    while let Some((slot, bi)) = work.pop() {
        let n = &b.nodes[bi];
        let l = n.left_first as usize;
        let mut kids: Vec<usize> = [l, l + 1]
            .iter()
            .flat_map(|&c| {
                let cn = &b.nodes[c];
                if cn.count == 0 {
                    vec![cn.left_first as usize, cn.left_first as usize + 1]
                } else {
                    vec![c]
                }
            })
            .collect();
        while kids.len() < 4 {
            let pick = kids
                .iter()
                .enumerate()
                .filter(|(_, c)| b.nodes[**c].count == 0)
                .max_by(|x, y| b.nodes[*x.1].area().total_cmp(&b.nodes[*y.1].area()))
                .map(|(i, _)| i);
            let Some(i) = pick else { break };
            let c = kids.remove(i);
            let l = b.nodes[c].left_first as usize;
            kids.insert(i, l + 1);
            kids.insert(i, l);
        }
        for (k, &c) in kids.iter().enumerate() {
            let cn = &b.nodes[c];
            if cn.count > 0 {
                out[slot].set_slot(k, cn.aabb_min, cn.aabb_max, cn.left_first, cn.count);
            } else {
                let child = out.len();
                out.push(BvhNode::empty());
                out[slot].set_slot(k, cn.aabb_min, cn.aabb_max, child as u32, 0);
                work.push((child, c));
            }
        }
    }
    out
}

enum Tree {
    Leaf {
        bounds: Aabb,
        start: u32,
        count: u32,
    },
    Inner {
        bounds: Aabb,
        children: Box<(Tree, Tree)>,
    },
}

impl Tree {
    fn bounds(&self) -> &Aabb {
        match self {
            Tree::Leaf { bounds, .. } | Tree::Inner { bounds, .. } => bounds,
        }
    }
}

/// Builds a binary SAH BVH over items given by their bounds. An empty input gives one root
/// whose box no ray reaches.
pub fn build_binary(bounds: &[Aabb]) -> BinaryBvh {
    let mut order: Vec<u32> = (0..bounds.len() as u32).collect();
    let centroids: Vec<Vec3> = bounds.iter().map(Aabb::center).collect();
    if bounds.is_empty() {
        return BinaryBvh {
            // A box no ray can reach within any range the tracer uses.
            nodes: vec![BinaryNode {
                aabb_min: [1.0e29; 3],
                left_first: 0,
                aabb_max: [1.0e29; 3],
                count: 0,
            }],
            order,
        };
    }
    let tree = build_rec(&mut order, 0, bounds, &centroids, 0);
    let mut nodes = Vec::with_capacity(2 * bounds.len() / MAX_LEAF + 1);
    nodes.push(BinaryNode::default());
    let mut work = vec![(0usize, &tree)];
    while let Some((slot, t)) = work.pop() {
        let b = t.bounds();
        nodes[slot].aabb_min = b.min.to_array();
        nodes[slot].aabb_max = b.max.to_array();
        match t {
            Tree::Leaf { start, count, .. } => {
                nodes[slot].left_first = *start;
                nodes[slot].count = *count;
            }
            Tree::Inner { children, .. } => {
                let left = nodes.len();
                nodes.push(BinaryNode::default());
                nodes.push(BinaryNode::default());
                nodes[slot].left_first = left as u32;
                nodes[slot].count = 0;
                work.push((left, &children.0));
                work.push((left + 1, &children.1));
            }
        }
    }
    BinaryBvh { nodes, order }
}

fn build_rec(
    items: &mut [u32],
    base: u32,
    bounds: &[Aabb],
    centroids: &[Vec3],
    depth: u32,
) -> Tree {
    let mut bb = Aabb::EMPTY;
    let mut cb = Aabb::EMPTY;
    for &i in items.iter() {
        bb.grow(&bounds[i as usize]);
        cb.grow_point(centroids[i as usize]);
    }
    let n = items.len();
    let leaf = Tree::Leaf {
        bounds: bb,
        start: base,
        count: n as u32,
    };
    if n <= 1 {
        return leaf;
    }
    let extent = cb.max - cb.min;
    let axis = if extent.x >= extent.y && extent.x >= extent.z {
        0
    } else if extent.y >= extent.z {
        1
    } else {
        2
    };
    let mid = if extent[axis] <= 1e-9 {
        // All centroids coincide: split by count.
        if n <= MAX_LEAF {
            return leaf;
        }
        n / 2
    } else if depth >= SAH_MAX_DEPTH {
        median_split(items, centroids, axis)
    } else {
        match sah_split(items, bounds, centroids, &cb, &bb) {
            Some((split_axis, split_pos, cost)) => {
                if n <= MAX_LEAF && cost >= n as f32 {
                    return leaf;
                }
                let mid = partition(items, |i| centroids[i as usize][split_axis] < split_pos);
                if mid == 0 || mid == n {
                    median_split(items, centroids, axis)
                } else {
                    mid
                }
            }
            None => median_split(items, centroids, axis),
        }
    };
    let (left, right) = items.split_at_mut(mid);
    let (l, r) = if n > PARALLEL_THRESHOLD {
        rayon::join(
            || build_rec(left, base, bounds, centroids, depth + 1),
            || build_rec(right, base + mid as u32, bounds, centroids, depth + 1),
        )
    } else {
        (
            build_rec(left, base, bounds, centroids, depth + 1),
            build_rec(right, base + mid as u32, bounds, centroids, depth + 1),
        )
    };
    Tree::Inner {
        bounds: bb,
        children: Box::new((l, r)),
    }
}

fn partition(items: &mut [u32], pred: impl Fn(u32) -> bool) -> usize {
    let mut i = 0;
    for j in 0..items.len() {
        if pred(items[j]) {
            items.swap(i, j);
            i += 1;
        }
    }
    i
}

fn median_split(items: &mut [u32], centroids: &[Vec3], axis: usize) -> usize {
    let mid = items.len() / 2;
    items.select_nth_unstable_by(mid, |&a, &b| {
        centroids[a as usize][axis].total_cmp(&centroids[b as usize][axis])
    });
    mid
}

#[allow(clippy::needless_range_loop)] // axis indexes Vec3 components
/// Best binned SAH split: (axis, position, cost in units of one intersection, relative to
/// the parent's area). None when no split separates the items.
fn sah_split(
    items: &[u32],
    bounds: &[Aabb],
    centroids: &[Vec3],
    cb: &Aabb,
    bb: &Aabb,
) -> Option<(usize, f32, f32)> {
    let parent_area = bb.area().max(1e-12);
    let mut best: Option<(usize, f32, f32)> = None;
    for axis in 0..3 {
        let lo = cb.min[axis];
        let ext = cb.max[axis] - lo;
        if ext <= 1e-9 {
            continue;
        }
        let scale = BINS as f32 / ext;
        let mut bin_bb = [Aabb::EMPTY; BINS];
        let mut bin_n = [0u32; BINS];
        for &i in items {
            let b = (((centroids[i as usize][axis] - lo) * scale) as usize).min(BINS - 1);
            bin_n[b] += 1;
            bin_bb[b].grow(&bounds[i as usize]);
        }
        let mut left_area = [0.0f32; BINS - 1];
        let mut left_n = [0u32; BINS - 1];
        let mut acc = Aabb::EMPTY;
        let mut cnt = 0;
        for k in 0..BINS - 1 {
            acc.grow(&bin_bb[k]);
            cnt += bin_n[k];
            left_area[k] = acc.area();
            left_n[k] = cnt;
        }
        let mut acc = Aabb::EMPTY;
        let mut cnt = 0;
        for k in (1..BINS).rev() {
            acc.grow(&bin_bb[k]);
            cnt += bin_n[k];
            let ln = left_n[k - 1];
            if ln == 0 || cnt == 0 {
                continue;
            }
            // Traversal cost 1, intersection cost 1 per item.
            let cost = 1.0 + (left_area[k - 1] * ln as f32 + acc.area() * cnt as f32) / parent_area;
            if best.is_none_or(|b| cost < b.2) {
                best = Some((axis, lo + k as f32 / scale, cost));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::EMPTY_SLOT;

    fn random_boxes(n: usize) -> Vec<Aabb> {
        (0..n)
            .map(|i| {
                let r = |k| crate::rng::rand(3, k, i as u32, 0) * 100.0;
                let c = Vec3::new(r(0), r(1), r(2));
                Aabb {
                    min: c,
                    max: c + Vec3::splat(0.5),
                }
            })
            .collect()
    }

    /// Every item appears in exactly one leaf, and every node's box holds its children.
    #[test]
    fn bvh_covers_each_item_once_and_nests() {
        let boxes = random_boxes(20_000);
        let bvh = build_binary(&boxes);
        let mut seen = vec![0u32; boxes.len()];
        let mut max_depth = 0;
        let mut work = vec![(0usize, 0u32)];
        while let Some((i, depth)) = work.pop() {
            max_depth = max_depth.max(depth);
            let n = bvh.nodes[i];
            let contains = |inner: [f32; 3], outer_min: [f32; 3], outer_max: [f32; 3]| {
                (0..3).all(|k| inner[k] >= outer_min[k] && inner[k] <= outer_max[k])
            };
            if n.count > 0 {
                assert!(n.count as usize <= MAX_LEAF.max(n.count as usize));
                for p in n.left_first..n.left_first + n.count {
                    let item = bvh.order[p as usize] as usize;
                    seen[item] += 1;
                    assert!(contains(boxes[item].min.to_array(), n.aabb_min, n.aabb_max));
                    assert!(contains(boxes[item].max.to_array(), n.aabb_min, n.aabb_max));
                }
            } else {
                for c in [n.left_first as usize, n.left_first as usize + 1] {
                    assert!(contains(bvh.nodes[c].aabb_min, n.aabb_min, n.aabb_max));
                    assert!(contains(bvh.nodes[c].aabb_max, n.aabb_min, n.aabb_max));
                    work.push((c, depth + 1));
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1));
        assert!(max_depth < 40, "depth {max_depth}");
    }

    #[test]
    fn identical_boxes_still_split_into_small_leaves() {
        let boxes = vec![
            Aabb {
                min: Vec3::ZERO,
                max: Vec3::ONE
            };
            100
        ];
        let bvh = build_binary(&boxes);
        assert!(bvh.nodes.iter().all(|n| n.count as usize <= MAX_LEAF));
        let wide = build(&boxes);
        assert!(wide.nodes.iter().all(|n| {
            n.count
                .iter()
                .all(|&c| c == EMPTY_SLOT || c as usize <= MAX_LEAF)
        }));
    }

    fn binary_depth(b: &BinaryBvh) -> usize {
        if b.order.is_empty() {
            return 1;
        }
        let mut max = 0;
        let mut work = vec![(0usize, 1usize)];
        while let Some((i, d)) = work.pop() {
            max = max.max(d);
            let n = b.nodes[i];
            if n.count == 0 {
                work.push((n.left_first as usize, d + 1));
                work.push((n.left_first as usize + 1, d + 1));
            }
        }
        max
    }

    /// Checks that a 4-wide tree holds each of `n` items once and each slot's box holds its
    /// subtree's items.
    fn assert_wide_tree_sound(wide: &Bvh, boxes: &[Aabb]) {
        let n = boxes.len();
        let mut seen = vec![0u32; n];
        let inside =
            |p: Vec3, lo: [f32; 3], hi: [f32; 3]| (0..3).all(|k| p[k] >= lo[k] && p[k] <= hi[k]);
        // (node, the box it must lie in)
        let mut work = vec![(0usize, None::<([f32; 3], [f32; 3])>)];
        while let Some((i, outer)) = work.pop() {
            let node = wide.nodes[i];
            for k in 0..4 {
                if node.count[k] == EMPTY_SLOT {
                    continue;
                }
                let (lo, hi) = node.slot_box(k);
                if let Some((olo, ohi)) = outer {
                    assert!(inside(Vec3::from_array(lo), olo, ohi));
                    assert!(inside(Vec3::from_array(hi), olo, ohi));
                }
                if node.count[k] == 0 {
                    work.push((node.child[k] as usize, Some((lo, hi))));
                    continue;
                }
                for p in node.child[k]..node.child[k] + node.count[k] {
                    let item = wide.order[p as usize] as usize;
                    seen[item] += 1;
                    assert!(inside(boxes[item].min, lo, hi) && inside(boxes[item].max, lo, hi));
                }
            }
        }
        assert!(seen.iter().all(|&s| s == 1), "{n} items");
    }

    /// The 4-wide tree holds each item once, each slot's box holds its subtree's items, and
    /// its depth is at most half the binary tree's (rounded up), as the collapse promises.
    #[test]
    fn wide_bvh_covers_each_item_once_nests_and_halves_the_depth() {
        for n in [0usize, 1, 3, 4, 5, 17, 20_000] {
            let boxes = random_boxes(n);
            let wide = build(&boxes);
            assert_wide_tree_sound(&wide, &boxes);
            let bd = binary_depth(&build_binary(&boxes));
            assert!(depth(&wide.nodes, 0) <= bd.div_ceil(2).max(1), "{n} items");
        }
    }
}
