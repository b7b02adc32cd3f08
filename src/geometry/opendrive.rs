//! ASAM OpenDRIVE road networks (`.xodr`, revisions 1.4–1.8) as static geometry: the roads'
//! reference lines (line, arc, spiral, poly3, paramPoly3), elevation and superelevation, lane
//! sections with polynomial widths and lane offsets, lane surfaces by type, road marks, and
//! `<signal>`/`<object>` elements as boxes with classes. The lane graph of junctions is not
//! built from it yet (`docs/opendrive.md`).
//!
//! Why not the `xodr` crate (0.8): it is young, reads the schema strictly (a comment before
//! the XML declaration or a byte-order mark fails, as real files have them), and would still
//! leave the geometry evaluation to write. Reading the elements verisim uses with `roxmltree`
//! keeps the reader lenient and each error at its element and line.

use std::path::{Path, PathBuf};

use glam::{DVec2, Vec3};

use super::imported::ImportError;
use super::map::{CURB_HEIGHT_M, MARKING_Z_M};
use super::mesh::Mesh;
use crate::classes::Class;
use crate::scenario::materials::id as mat;

/// Largest `.xodr` file read (CARLA's largest towns are ~20 MB).
pub const MAX_XODR_BYTES: u64 = 256 << 20;
/// Longest road (the longest real motorway files are tens of km).
pub const MAX_ROAD_M: f64 = 100_000.0;
/// Most lane strips the mesh is built from (samples along the roads times lanes): 20 M strips
/// make 40 M triangles, about 2 GB of BVH.
pub const MAX_LANE_STRIPS: f64 = 20.0e6;

/// A cubic `a + b·ds + c·ds² + d·ds³` from `s` on (ds = s − this record's s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Poly {
    pub s: f64,
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
}

impl Poly {
    pub fn at(&self, s: f64) -> f64 {
        let ds = s - self.s;
        self.a + ds * (self.b + ds * (self.c + ds * self.d))
    }
}

/// The record in force at `s` (the last one starting at or before it); 0 without records.
pub fn eval(polys: &[Poly], s: f64) -> f64 {
    let k = polys.partition_point(|p| p.s <= s + 1e-9);
    polys.get(k.saturating_sub(1)).map_or(0.0, |p| p.at(s))
}

#[derive(Clone, Debug, PartialEq)]
pub enum GeometryKind {
    Line,
    Arc {
        curvature: f64,
    },
    Spiral {
        curv_start: f64,
        curv_end: f64,
    },
    /// `poly3` (deprecated): v = a + b·u + c·u² + d·u³ with u taken as the arc length, as
    /// libOpenDRIVE and esmini evaluate it.
    Poly3 {
        a: f64,
        b: f64,
        c: f64,
        d: f64,
    },
    /// u(p), v(p) cubics in the local frame; p in [0, length] (`arcLength`) or [0, 1]
    /// (`normalized`), mapped linearly from s.
    ParamPoly3 {
        u: [f64; 4],
        v: [f64; 4],
        normalized: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Geometry {
    pub s: f64,
    pub x: f64,
    pub y: f64,
    pub hdg: f64,
    pub length: f64,
    pub kind: GeometryKind,
    /// Line of the `<geometry>` element in the file.
    pub line: u32,
}

fn cubic(c: &[f64; 4], p: f64) -> f64 {
    c[0] + p * (c[1] + p * (c[2] + p * c[3]))
}

fn cubic_slope(c: &[f64; 4], p: f64) -> f64 {
    c[1] + p * (2.0 * c[2] + p * 3.0 * c[3])
}

impl Geometry {
    /// Position and heading `ds` metres along this piece of the reference line.
    pub fn pose_at(&self, ds: f64) -> (DVec2, f64) {
        let start = DVec2::new(self.x, self.y);
        let (sin_h, cos_h) = self.hdg.sin_cos();
        let local =
            |u: f64, v: f64| start + DVec2::new(u * cos_h - v * sin_h, u * sin_h + v * cos_h);
        match self.kind {
            GeometryKind::Line => (local(ds, 0.0), self.hdg),
            GeometryKind::Arc { curvature: k } => {
                if k.abs() < 1e-12 {
                    return (local(ds, 0.0), self.hdg);
                }
                let h1 = self.hdg + k * ds;
                (
                    start + DVec2::new((h1.sin() - sin_h) / k, (cos_h - h1.cos()) / k),
                    h1,
                )
            }
            GeometryKind::Spiral {
                curv_start: k0,
                curv_end: k1,
            } => {
                // The clothoid's Fresnel integrals by composite Simpson's rule on its heading
                // θ(u) = hdg + k0·u + (k1 − k0)·u²/(2L) (tested against their series).
                let l = self.length.max(1e-12);
                let theta = |u: f64| self.hdg + k0 * u + (k1 - k0) * u * u / (2.0 * l);
                // Steps of at most 0.01 rad of turn (and 2 m): Simpson's error then stays
                // below 1e-8 m over 100 m.
                let step = (0.01 / k0.abs().max(k1.abs()).max(1e-9)).min(2.0);
                let n = ((ds / step).ceil() as usize).max(2).next_multiple_of(2);
                let h = ds / n as f64;
                let mut sum = DVec2::ZERO;
                for i in 0..=n {
                    let w = if i == 0 || i == n {
                        1.0
                    } else if i % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    let (s, c) = theta(i as f64 * h).sin_cos();
                    sum += w * DVec2::new(c, s);
                }
                (start + sum * (h / 3.0), theta(ds))
            }
            GeometryKind::Poly3 { a, b, c, d } => {
                let coef = [a, b, c, d];
                (
                    local(ds, cubic(&coef, ds)),
                    self.hdg + cubic_slope(&coef, ds).atan(),
                )
            }
            GeometryKind::ParamPoly3 { u, v, normalized } => {
                let p = if normalized {
                    ds / self.length.max(1e-12)
                } else {
                    ds
                };
                let (du, dv) = (cubic_slope(&u, p), cubic_slope(&v, p));
                (local(cubic(&u, p), cubic(&v, p)), self.hdg + dv.atan2(du))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoadMark {
    pub s_offset: f64,
    /// `solid`, `broken`, `solid solid`, `solid broken`, `broken solid`, `broken broken`,
    /// `botts dots`, `grass`, `curb`, `edge`, `none`.
    pub kind: String,
    pub color: String,
    pub width: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    pub id: i32,
    /// The OpenDRIVE lane type (`driving`, `sidewalk`, `shoulder`, ...).
    pub kind: String,
    /// Width records, `s` relative to the lane section's start.
    pub widths: Vec<Poly>,
    pub marks: Vec<RoadMark>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LaneSection {
    pub s: f64,
    /// Left lanes by id 1, 2, … (outwards), right lanes by id −1, −2, …
    pub left: Vec<Lane>,
    pub right: Vec<Lane>,
    /// The centre lane's road marks.
    pub center_marks: Vec<RoadMark>,
}

/// A `<signal>` or `<object>`: where it stands and its box.
#[derive(Clone, Debug, PartialEq)]
pub struct RoadObject {
    pub signal: bool,
    pub kind: String,
    pub s: f64,
    pub t: f64,
    pub z_offset: f64,
    pub hdg: f64,
    /// Length, width, height (a radius gives a square of its diameter); `None` where the
    /// file gives no size (an external 3D model by name, say).
    pub size: Option<[f64; 3]>,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Road {
    pub id: String,
    pub name: String,
    pub length: f64,
    /// The junction this road connects through ("-1" for none).
    pub junction: String,
    pub geometry: Vec<Geometry>,
    pub elevation: Vec<Poly>,
    pub superelevation: Vec<Poly>,
    pub lane_offset: Vec<Poly>,
    pub sections: Vec<LaneSection>,
    pub objects: Vec<RoadObject>,
    pub line: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OpenDrive {
    pub path: PathBuf,
    pub rev: String,
    pub roads: Vec<Road>,
    pub junctions: usize,
}

impl Road {
    /// Reference-line position and heading at `s` (clamped to the road).
    pub fn reference(&self, s: f64) -> (DVec2, f64) {
        let s = s.clamp(0.0, self.length);
        let k = self
            .geometry
            .partition_point(|g| g.s <= s + 1e-9)
            .saturating_sub(1);
        let g = &self.geometry[k];
        g.pose_at((s - g.s).clamp(0.0, g.length))
    }

    pub fn section_at(&self, s: f64) -> Option<&LaneSection> {
        let k = self.sections.partition_point(|x| x.s <= s + 1e-9);
        self.sections.get(k.saturating_sub(1))
    }

    /// The lateral offsets (inner, outer) of lane `id` at `s` (left lanes positive).
    pub fn lane_bounds(&self, s: f64, id: i32) -> Option<(f64, f64)> {
        let sec = self.section_at(s)?;
        let ds = s - sec.s;
        let mut t = eval(&self.lane_offset, s);
        let (lanes, sign) = if id > 0 {
            (&sec.left, 1.0)
        } else {
            (&sec.right, -1.0)
        };
        for lane in lanes {
            let w = eval(&lane.widths, ds).max(0.0);
            let outer = t + sign * w;
            if lane.id == id {
                return Some((t, outer));
            }
            t = outer;
        }
        None
    }

    /// The surface point at (s, t), `dz` above it: elevation, and superelevation (positive
    /// falls to the right).
    pub fn surface(&self, s: f64, t: f64, dz: f64) -> Vec3 {
        let (p, h) = self.reference(s);
        let roll = eval(&self.superelevation, s);
        let n = DVec2::new(-h.sin(), h.cos());
        let xy = p + n * (t * roll.cos());
        let z = eval(&self.elevation, s) + t * roll.sin() + dz;
        Vec3::new(xy.x as f32, xy.y as f32, z as f32)
    }
}

// ---------------------------------------------------------------- reading

/// Reads and parses an `.xodr` file (a regular file of at most [`MAX_XODR_BYTES`]).
pub fn read(path: &Path) -> Result<OpenDrive, ImportError> {
    let fail = |message: String| ImportError {
        path: path.to_owned(),
        message,
    };
    let bytes =
        crate::files::read_regular(path, MAX_XODR_BYTES).map_err(|e| fail(e.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "not UTF-8 text (byte {} is not)",
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse(&text, path)
}

/// The text with a byte-order mark dropped and an XML declaration that does not open the file
/// (a comment before it, as in libOpenDRIVE's Town07) blanked out, keeping line numbers.
fn lenient(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match text.find("<?xml") {
        Some(at) if !text[..at].trim().is_empty() => {
            let end = text[at..].find("?>").map_or(text.len(), |e| at + e + 2);
            let blank: String = text[at..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' })
                .collect();
            format!("{}{}{}", &text[..at], blank, &text[end..])
        }
        _ => text.to_owned(),
    }
}

/// Parses OpenDRIVE text; `path` names the file in errors.
pub fn parse(text: &str, path: &Path) -> Result<OpenDrive, ImportError> {
    let text = lenient(text);
    let fail = |message: String| ImportError {
        path: path.to_owned(),
        message,
    };
    let xml = roxmltree::Document::parse(&text).map_err(|e| fail(format!("not XML: {e}")))?;
    let doc = &Lines::new(&text);
    let root = xml.root_element();
    if root.tag_name().name() != "OpenDRIVE" {
        return Err(fail(format!(
            "line {}: the root element is <{}>, not <OpenDRIVE>",
            line_of(doc, root),
            root.tag_name().name()
        )));
    }
    let rev = root
        .children()
        .find(|n| n.has_tag_name("header"))
        .map(|h| {
            format!(
                "{}.{}",
                h.attribute("revMajor").unwrap_or("?"),
                h.attribute("revMinor").unwrap_or("?")
            )
        })
        .unwrap_or_else(|| "?".into());
    let mut roads = Vec::new();
    for r in root.children().filter(|n| n.has_tag_name("road")) {
        roads.push(read_road(doc, r).map_err(&fail)?);
    }
    if roads.is_empty() {
        return Err(fail("the file has no <road>".into()));
    }
    // The mesh's size before it is built: samples along each road times its lanes.
    let strips: f64 = roads
        .iter()
        .map(|r| {
            let lanes = r
                .sections
                .iter()
                .map(|s| s.left.len() + s.right.len() + 1)
                .max()
                .unwrap_or(0);
            r.length / step_m(r) * lanes as f64
        })
        .sum();
    if strips > MAX_LANE_STRIPS {
        return Err(fail(format!(
            "the roads would make {strips:.0} lane strips, more than the {MAX_LANE_STRIPS} a map may have"
        )));
    }
    let junctions = root
        .children()
        .filter(|n| n.has_tag_name("junction"))
        .count();
    Ok(OpenDrive {
        path: path.to_owned(),
        rev,
        roads,
        junctions,
    })
}

type Node<'a, 'i> = roxmltree::Node<'a, 'i>;

/// Where the text's lines start, to name an element's line (roxmltree's own lookup scans the
/// text from its start each time).
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        )
    }
}

fn line_of(doc: &Lines, n: Node) -> u32 {
    doc.0.partition_point(|&start| start <= n.range().start) as u32
}

/// A required finite number attribute.
fn num(doc: &Lines, n: Node, name: &str) -> Result<f64, String> {
    match n.attribute(name) {
        Some(v) => opt_num(doc, n, name, v),
        None => Err(format!(
            "line {}: <{}> lacks its `{name}` attribute",
            line_of(doc, n),
            n.tag_name().name()
        )),
    }
}

fn opt_num(doc: &Lines, n: Node, name: &str, v: &str) -> Result<f64, String> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!(
            "line {}: <{}> `{name}`=\"{v}\" is not a finite number",
            line_of(doc, n),
            n.tag_name().name()
        )),
    }
}

/// An optional number attribute (`None` when absent; an error when present and not a number).
fn maybe(doc: &Lines, n: Node, name: &str) -> Result<Option<f64>, String> {
    n.attribute(name)
        .map(|v| opt_num(doc, n, name, v))
        .transpose()
}

fn poly(doc: &Lines, n: Node, s_attr: &str) -> Result<Poly, String> {
    Ok(Poly {
        s: num(doc, n, s_attr)?,
        a: num(doc, n, "a")?,
        b: num(doc, n, "b")?,
        c: num(doc, n, "c")?,
        d: num(doc, n, "d")?,
    })
}

fn polys<'a, 'i: 'a>(
    doc: &Lines,
    parent: Option<Node<'a, 'i>>,
    tag: &str,
    s_attr: &str,
) -> Result<Vec<Poly>, String> {
    let mut out: Vec<Poly> = parent
        .into_iter()
        .flat_map(|p| p.children().filter(move |n| n.has_tag_name(tag)))
        .map(|n| poly(doc, n, s_attr))
        .collect::<Result<_, _>>()?;
    out.sort_by(|a, b| a.s.total_cmp(&b.s));
    Ok(out)
}

fn child<'a, 'i>(n: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name(tag))
}

fn read_road(doc: &Lines, r: Node) -> Result<Road, String> {
    let line = line_of(doc, r);
    let id = r.attribute("id").unwrap_or("").to_owned();
    let length = num(doc, r, "length")?;
    let plan =
        child(r, "planView").ok_or_else(|| format!("line {line}: road {id} has no <planView>"))?;
    let mut geometry = Vec::new();
    for g in plan.children().filter(|n| n.has_tag_name("geometry")) {
        let gl = line_of(doc, g);
        let shape = g
            .children()
            .find(|n| n.is_element())
            .ok_or_else(|| format!("line {gl}: <geometry> has no shape element"))?;
        let kind = match shape.tag_name().name() {
            "line" => GeometryKind::Line,
            "arc" => GeometryKind::Arc {
                curvature: num(doc, shape, "curvature")?,
            },
            "spiral" => GeometryKind::Spiral {
                curv_start: num(doc, shape, "curvStart")?,
                curv_end: num(doc, shape, "curvEnd")?,
            },
            "poly3" => GeometryKind::Poly3 {
                a: num(doc, shape, "a")?,
                b: num(doc, shape, "b")?,
                c: num(doc, shape, "c")?,
                d: num(doc, shape, "d")?,
            },
            "paramPoly3" => {
                let c = |k: &str| num(doc, shape, k);
                GeometryKind::ParamPoly3 {
                    u: [c("aU")?, c("bU")?, c("cU")?, c("dU")?],
                    v: [c("aV")?, c("bV")?, c("cV")?, c("dV")?],
                    normalized: shape.attribute("pRange") != Some("arcLength"),
                }
            }
            other => {
                return Err(format!(
                    "line {}: geometry <{other}> is not an OpenDRIVE plan-view shape (line, arc, spiral, poly3, paramPoly3)",
                    line_of(doc, shape)
                ));
            }
        };
        let length = num(doc, g, "length")?;
        if length < 0.0 {
            return Err(format!(
                "line {gl}: <geometry> has a negative length {length}"
            ));
        }
        geometry.push(Geometry {
            s: num(doc, g, "s")?,
            x: num(doc, g, "x")?,
            y: num(doc, g, "y")?,
            hdg: num(doc, g, "hdg")?,
            length,
            kind,
            line: gl,
        });
    }
    if geometry.is_empty() {
        return Err(format!("line {line}: road {id} has no <geometry>"));
    }
    geometry.sort_by(|a, b| a.s.total_cmp(&b.s));
    let elevation = polys(doc, child(r, "elevationProfile"), "elevation", "s")?;
    let superelevation = polys(doc, child(r, "lateralProfile"), "superelevation", "s")?;
    if !(0.0..=MAX_ROAD_M).contains(&length) {
        return Err(format!(
            "line {line}: road {id} is {length} m long; a road may be at most {MAX_ROAD_M} m"
        ));
    }
    let lanes =
        child(r, "lanes").ok_or_else(|| format!("line {line}: road {id} has no <lanes>"))?;
    let lane_offset = polys(doc, Some(lanes), "laneOffset", "s")?;
    let mut sections = Vec::new();
    for sec in lanes.children().filter(|n| n.has_tag_name("laneSection")) {
        let side = |tag: &str| -> Result<Vec<Lane>, String> {
            let mut out = Vec::new();
            if let Some(side) = child(sec, tag) {
                for l in side.children().filter(|n| n.has_tag_name("lane")) {
                    out.push(read_lane(doc, l)?);
                }
            }
            Ok(out)
        };
        let mut left = side("left")?;
        let mut right = side("right")?;
        left.sort_by_key(|l| l.id);
        right.sort_by_key(|l| -l.id);
        let center = side("center")?;
        sections.push(LaneSection {
            s: num(doc, sec, "s")?,
            left,
            right,
            center_marks: center.into_iter().flat_map(|l| l.marks).collect(),
        });
    }
    if sections.is_empty() {
        return Err(format!("line {line}: road {id} has no <laneSection>"));
    }
    sections.sort_by(|a, b| a.s.total_cmp(&b.s));
    let mut objects = Vec::new();
    for (group, tag, signal) in [("objects", "object", false), ("signals", "signal", true)] {
        let Some(g) = child(r, group) else { continue };
        for o in g.children().filter(|n| n.has_tag_name(tag)) {
            let radius = maybe(doc, o, "radius")?;
            let (l, w, h) = (
                maybe(doc, o, "length")?,
                maybe(doc, o, "width")?,
                maybe(doc, o, "height")?,
            );
            let size = match (radius, l, w, h) {
                (Some(r), _, _, Some(h)) => Some([2.0 * r, 2.0 * r, h]),
                (None, l, Some(w), Some(h)) => Some([l.unwrap_or(0.02), w, h]),
                _ => None,
            };
            objects.push(RoadObject {
                signal,
                kind: o.attribute("type").unwrap_or("").to_owned(),
                s: num(doc, o, "s")?,
                t: num(doc, o, "t")?,
                z_offset: maybe(doc, o, "zOffset")?.unwrap_or(0.0),
                hdg: maybe(doc, o, "hdg")?.unwrap_or(0.0),
                size,
                line: line_of(doc, o),
            });
        }
    }
    Ok(Road {
        name: r.attribute("name").unwrap_or("").to_owned(),
        junction: r.attribute("junction").unwrap_or("-1").to_owned(),
        id,
        length,
        geometry,
        elevation,
        superelevation,
        lane_offset,
        sections,
        objects,
        line,
    })
}

fn read_lane(doc: &Lines, l: Node) -> Result<Lane, String> {
    let id = num(doc, l, "id")?;
    let mut marks = Vec::new();
    for m in l.children().filter(|n| n.has_tag_name("roadMark")) {
        marks.push(RoadMark {
            s_offset: num(doc, m, "sOffset")?,
            kind: m.attribute("type").unwrap_or("none").to_owned(),
            color: m.attribute("color").unwrap_or("standard").to_owned(),
            width: maybe(doc, m, "width")?.unwrap_or(0.12),
        });
    }
    marks.sort_by(|a, b| a.s_offset.total_cmp(&b.s_offset));
    Ok(Lane {
        id: id as i32,
        kind: l.attribute("type").unwrap_or("none").to_owned(),
        widths: polys(doc, Some(l), "width", "sOffset")?,
        marks,
    })
}

// ---------------------------------------------------------------- checks

/// Where the file's own numbers disagree with each other beyond 1 mm (or 1 mrad).
#[derive(Clone, Debug, Default)]
pub struct Consistency {
    /// Roads whose `length` differs from the sum of their geometries': (road id, difference m).
    pub length_mismatches: Vec<(String, f64)>,
    /// The largest gap in position (m) and heading (rad) where one geometry ends and the
    /// next begins, over all roads, as this reader evaluates them.
    pub max_join_gap_m: f64,
    pub max_join_turn_rad: f64,
    /// The road and line of the largest position gap.
    pub worst_join: Option<(String, u32)>,
}

pub fn consistency(od: &OpenDrive) -> Consistency {
    let mut c = Consistency::default();
    for r in &od.roads {
        let sum: f64 = r.geometry.iter().map(|g| g.length).sum();
        if (sum - r.length).abs() > 1e-3 {
            c.length_mismatches.push((r.id.clone(), sum - r.length));
        }
        for pair in r.geometry.windows(2) {
            let (p, h) = pair[0].pose_at(pair[0].length);
            let gap = p.distance(DVec2::new(pair[1].x, pair[1].y));
            let turn = (h - pair[1].hdg + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU)
                - std::f64::consts::PI;
            if gap > c.max_join_gap_m {
                c.max_join_gap_m = gap;
                c.worst_join = Some((r.id.clone(), pair[1].line));
            }
            c.max_join_turn_rad = c.max_join_turn_rad.max(turn.abs());
        }
    }
    c
}

// ---------------------------------------------------------------- mesh

/// What the mesh holds beyond its triangles.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MeshReport {
    pub objects_drawn: usize,
    /// Objects and signals without a size in the file (an external model by name): not drawn.
    pub objects_without_size: usize,
}

/// Sample spacing along a road, metres (finer where the reference line or the surface bends).
fn step_m(r: &Road) -> f64 {
    let curved = r
        .geometry
        .iter()
        .any(|g| !matches!(g.kind, GeometryKind::Line));
    let shaped = !r.elevation.is_empty() || !r.superelevation.is_empty();
    if curved || shaped { 1.0 } else { 5.0 }
}

/// Surface material and class of a lane type, and how high it stands (sidewalks are raised by
/// a curb); `None`: the lane is not drawn (`none`).
fn lane_surface(kind: &str) -> Option<(u32, Class, f64)> {
    match kind {
        "sidewalk" | "walking" | "curb" => {
            Some((mat("concrete"), Class::Sidewalk, CURB_HEIGHT_M as f64))
        }
        "border" | "median" | "restricted" => Some((mat("terrain_grass"), Class::Terrain, 0.0)),
        "none" => None,
        // driving, shoulder, stop, parking, biking, entry, exit, onRamp, offRamp,
        // connectingRamp, bidirectional, special1–3, tram, rail, slipLane, ...
        _ => Some((mat("asphalt"), Class::Road, 0.0)),
    }
}

/// The road network's surfaces, marks, signals and objects as one mesh, shifted by `-origin`.
pub fn build_mesh(od: &OpenDrive, origin: DVec2) -> (Mesh, MeshReport) {
    let mut m = Mesh::default();
    let mut report = MeshReport::default();
    let shift = Vec3::new(origin.x as f32, origin.y as f32, 0.0);
    for r in &od.roads {
        let step = step_m(r);
        for (k, sec) in r.sections.iter().enumerate() {
            let s_end = r
                .sections
                .get(k + 1)
                .map_or(r.length, |n| n.s)
                .min(r.length);
            if s_end <= sec.s {
                continue;
            }
            let n = ((s_end - sec.s) / step).ceil().max(1.0) as usize;
            let ss: Vec<f64> = (0..=n)
                .map(|i| sec.s + (s_end - sec.s) * i as f64 / n as f64)
                .collect();
            let lanes = sec.left.iter().chain(&sec.right);
            for lane in lanes {
                let surface = lane_surface(&lane.kind);
                for w in ss.windows(2) {
                    let (s0, s1) = (w[0], w[1]);
                    let (Some((i0, o0)), Some((i1, o1))) =
                        (r.lane_bounds(s0, lane.id), r.lane_bounds(s1, lane.id))
                    else {
                        continue;
                    };
                    if let Some((material, class, dz)) = surface
                        && ((o0 - i0).abs() > 1e-4 || (o1 - i1).abs() > 1e-4)
                    {
                        let p = |s, t| r.surface(s, t, dz) - shift;
                        // Counter-clockwise seen from above for both sides.
                        let (a, b, c, d) = (p(s0, i0), p(s1, i1), p(s1, o1), p(s0, o0));
                        if lane.id > 0 {
                            m.quad(a, b, c, d, material, class);
                        } else {
                            m.quad(a, d, c, b, material, class);
                        }
                        if dz > 0.0 {
                            // The curb's face along the lane's inner edge.
                            let q = |s, t, z| r.surface(s, t, z) - shift;
                            m.quad(
                                q(s0, i0, 0.0),
                                q(s1, i1, 0.0),
                                q(s1, i1, dz),
                                q(s0, i0, dz),
                                material,
                                class,
                            );
                        }
                    }
                    let dz = surface.map_or(0.0, |s| s.2);
                    marks(&mut m, r, &lane.marks, sec.s, s0, s1, o0, o1, dz, shift);
                }
            }
            for w in ss.windows(2) {
                let t0 = eval(&r.lane_offset, w[0]);
                let t1 = eval(&r.lane_offset, w[1]);
                marks(
                    &mut m,
                    r,
                    &sec.center_marks,
                    sec.s,
                    w[0],
                    w[1],
                    t0,
                    t1,
                    0.0,
                    shift,
                );
            }
        }
        for o in &r.objects {
            let Some([l, w, h]) = o.size else {
                report.objects_without_size += 1;
                continue;
            };
            let (_, heading) = r.reference(o.s);
            let base = r.surface(o.s, o.t, 0.0) - shift;
            let yaw = (heading + o.hdg) as f32;
            if o.signal {
                // A sign plate on a post: the post from the ground to the plate's bottom.
                let bottom = o.z_offset.max(0.0) as f32;
                m.oriented_box(
                    base,
                    Vec3::new(0.06, 0.06, bottom + 0.05),
                    yaw,
                    mat("pole_metal"),
                    mat("pole_metal"),
                    Class::Pole,
                );
                m.oriented_box(
                    base + Vec3::new(0.0, 0.0, bottom),
                    Vec3::new(0.02, w.max(0.05) as f32, h.max(0.05) as f32),
                    yaw,
                    mat("sign_retroreflective"),
                    mat("sign_retroreflective"),
                    Class::TrafficSign,
                );
            } else {
                let (material, class) = object_look(&o.kind);
                m.oriented_box(
                    base + Vec3::new(0.0, 0.0, o.z_offset as f32),
                    Vec3::new(l.max(0.02) as f32, w.max(0.02) as f32, h.max(0.02) as f32),
                    yaw,
                    material,
                    material,
                    class,
                );
            }
            report.objects_drawn += 1;
        }
    }
    (m, report)
}

/// Material and class of an `<object>` by its type.
fn object_look(kind: &str) -> (u32, Class) {
    match kind {
        "pole" | "streetLamp" | "rail-pole" => (mat("pole_metal"), Class::Pole),
        "building" => (mat("facade_concrete"), Class::Building),
        "tree" | "vegetation" => (mat("foliage"), Class::Vegetation),
        "trafficLight" => (mat("pole_metal"), Class::TrafficLight),
        "roadMark" | "crosswalk" => (mat("lane_paint"), Class::LaneMarking),
        // barrier, railing, guardRail, obstacle, soundBarrier, ...
        _ => (mat("concrete"), Class::Wall),
    }
}

/// Broken lines: 3 m of paint every 12 m (OpenDRIVE leaves the pattern to the country; 3/9 is
/// the common German motorway pattern, scaled down from 6/12).
const BROKEN_ON_M: f64 = 3.0;
const BROKEN_PERIOD_M: f64 = 12.0;

/// The marks in force along [s0, s1] on the boundary t0 → t1 (lateral offsets at s0, s1).
#[allow(clippy::too_many_arguments)] // one segment of one boundary
fn marks(
    m: &mut Mesh,
    r: &Road,
    marks: &[RoadMark],
    section_s: f64,
    s0: f64,
    s1: f64,
    t0: f64,
    t1: f64,
    dz: f64,
    shift: Vec3,
) {
    let ds = s0 - section_s;
    let k = marks.partition_point(|x| x.s_offset <= ds + 1e-9);
    let Some(mark) = k.checked_sub(1).map(|k| &marks[k]) else {
        return;
    };
    let parts: Vec<&str> = mark.kind.split_whitespace().collect();
    let drawable = |p: &&str| matches!(*p, "solid" | "broken" | "botts" | "dots");
    if parts.is_empty() || !parts.iter().all(drawable) {
        return;
    }
    let material = if mark.color == "yellow" {
        mat("lane_paint_yellow")
    } else {
        mat("lane_paint")
    };
    let w = mark.width.clamp(0.05, 1.0);
    let lines = parts.iter().filter(|p| **p != "dots").count().max(1);
    for (i, part) in parts.iter().filter(|p| **p != "dots").enumerate() {
        if *part == "broken" || *part == "botts" {
            let mid = 0.5 * (s0 + s1) - section_s - mark.s_offset;
            if mid.rem_euclid(BROKEN_PERIOD_M) > BROKEN_ON_M {
                continue;
            }
        }
        // Two lines side by side with a gap of one line width between them.
        let off = (i as f64 - (lines as f64 - 1.0) / 2.0) * 2.0 * w;
        let p = |s, t| r.surface(s, t, dz + MARKING_Z_M as f64) - shift;
        let (a, b) = (t0 + off - w / 2.0, t0 + off + w / 2.0);
        let (c, d) = (t1 + off - w / 2.0, t1 + off + w / 2.0);
        m.quad(
            p(s0, a),
            p(s1, c),
            p(s1, d),
            p(s0, b),
            material,
            Class::LaneMarking,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(kind: GeometryKind, length: f64) -> Geometry {
        Geometry {
            s: 0.0,
            x: 1.0,
            y: 2.0,
            hdg: 0.3,
            length,
            kind,
            line: 1,
        }
    }

    #[test]
    fn arcs_and_spirals_match_their_closed_forms() {
        // A spiral of constant curvature is an arc.
        let (k, l) = (0.02, 80.0);
        let arc = geom(GeometryKind::Arc { curvature: k }, l);
        let spiral = geom(
            GeometryKind::Spiral {
                curv_start: k,
                curv_end: k,
            },
            l,
        );
        for ds in [0.0, 10.0, 55.5, 80.0] {
            let (pa, ha) = arc.pose_at(ds);
            let (ps, hs) = spiral.pose_at(ds);
            assert!(pa.distance(ps) < 1e-7 && (ha - hs).abs() < 1e-12, "{ds}");
        }
        // The arc: a quarter circle of radius 50 from heading 0.3.
        let q = geom(
            GeometryKind::Arc { curvature: 0.02 },
            25.0 * std::f64::consts::PI,
        );
        let (p, h) = q.pose_at(q.length);
        let c = DVec2::new(1.0, 2.0) + 50.0 * DVec2::new(-(0.3f64).sin(), (0.3f64).cos());
        assert!((p.distance(c) - 50.0).abs() < 1e-9);
        assert!((h - 0.3 - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
        // A clothoid from curvature 0 to 1/100 over 100 m: the Fresnel integrals' series,
        // x = Σ (−1)^n u^(4n+1) / ((4n+1)(2n)! (2RL)^(2n)), y likewise with 4n+3 and (2n+1)!.
        let s = geom(
            GeometryKind::Spiral {
                curv_start: 0.0,
                curv_end: 0.01,
            },
            100.0,
        );
        let (a2, u) = (2.0f64 * 100.0 * 100.0, 100.0f64);
        let (mut x, mut y, mut fact) = (0.0, 0.0, 1.0f64);
        for n in 0..10i32 {
            if n > 0 {
                fact *= (2 * n - 1) as f64 * (2 * n) as f64;
            }
            let sign = if n % 2 == 0 { 1.0 } else { -1.0 };
            x += sign * u.powi(4 * n + 1) / ((4 * n + 1) as f64 * fact * a2.powi(2 * n));
            y += sign * u.powi(4 * n + 3)
                / ((4 * n + 3) as f64 * fact * (2 * n + 1) as f64 * a2.powi(2 * n + 1));
        }
        let (p, h) = s.pose_at(100.0);
        let (sin_h, cos_h) = (0.3f64).sin_cos();
        let want = DVec2::new(1.0 + x * cos_h - y * sin_h, 2.0 + x * sin_h + y * cos_h);
        assert!(p.distance(want) < 1e-6, "{p} vs {want}");
        assert!((h - 0.3 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn lenient_reading_keeps_line_numbers() {
        let t = "<!-- licence\n text -->\n<?xml version=\"1.0\"?>\n<OpenDRIVE/>";
        let l = lenient(t);
        assert_eq!(l.lines().count(), t.lines().count());
        assert!(!l.contains("<?xml"));
        assert!(roxmltree::Document::parse(&l).is_ok());
        assert_eq!(lenient("\u{feff}<a/>"), "<a/>");
    }
}
