//! Readers for recorded and synthetic sensor files: KITTI `.bin`, nuScenes `.pcd.bin`, PCD v0.7
//! (ascii, binary, binary_compressed), PLY (ascii and binary), PNG/JPEG images, KITTI `label_2`
//! and `calib`. Every reader checks sizes against what the header or format promises and reports
//! the path and byte offset (or line) of the first inconsistency. Nothing here panics on bad input.

use super::error::{RealityError, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// One lidar sweep. `points` holds x, y, z in metres (sensor frame) and the raw intensity as the
/// file stores it (KITTI 0..1, nuScenes 0..255). `ring` is the laser index when the file has one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointCloud {
    pub points: Vec<[f32; 4]>,
    pub ring: Option<Vec<u16>>,
}

/// Kinds of lidar files, told apart by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LidarFormat {
    /// KITTI velodyne: N x 4 little-endian float32 (x, y, z, intensity).
    KittiBin,
    /// nuScenes: N x 5 little-endian float32 (x, y, z, intensity, ring).
    NuscenesPcdBin,
    Pcd,
    Ply,
}

impl LidarFormat {
    /// The format a file name implies, or `None` when it is not a lidar file.
    pub fn from_path(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".pcd.bin") {
            Some(Self::NuscenesPcdBin)
        } else if name.ends_with(".bin") {
            Some(Self::KittiBin)
        } else if name.ends_with(".pcd") {
            Some(Self::Pcd)
        } else if name.ends_with(".ply") {
            Some(Self::Ply)
        } else {
            None
        }
    }
}

pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    crate::files::read_regular(path, MAX_INPUT_BYTES).map_err(|e| RealityError::io(path, e))
}

/// Largest data file `check` and `profile` read: a lidar sweep, an image or a label file of a
/// drive is megabytes; a larger one is refused before it is read.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Reads any supported lidar file.
pub fn read_lidar(path: &Path) -> Result<PointCloud> {
    let bytes = read_bytes(path)?;
    parse_lidar(path, &bytes)
}

/// Parses lidar bytes already in memory; `path` decides the format and names errors.
pub fn parse_lidar(path: &Path, bytes: &[u8]) -> Result<PointCloud> {
    match LidarFormat::from_path(path) {
        Some(LidarFormat::KittiBin) => parse_float_records(path, bytes, 4),
        Some(LidarFormat::NuscenesPcdBin) => parse_float_records(path, bytes, 5),
        Some(LidarFormat::Pcd) => parse_pcd(path, bytes),
        Some(LidarFormat::Ply) => parse_ply(path, bytes),
        None => Err(RealityError::Dataset {
            path: path.into(),
            what: "not a lidar file (expected .bin, .pcd.bin, .pcd or .ply)".into(),
        }),
    }
}

fn f32_at(bytes: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// N x `fields` float32 records (4: KITTI, 5: nuScenes with ring in the fifth).
fn parse_float_records(path: &Path, bytes: &[u8], fields: usize) -> Result<PointCloud> {
    let stride = 4 * fields;
    let whole = bytes.len() / stride * stride;
    if whole != bytes.len() {
        return Err(RealityError::corrupt(
            path,
            whole as u64,
            format!(
                "truncated: {} trailing bytes; the file must hold N x {fields} float32 ({stride} bytes per point), {} bytes in all",
                bytes.len() - whole,
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / stride;
    let mut points = Vec::with_capacity(n);
    let mut ring = if fields >= 5 {
        Some(Vec::with_capacity(n))
    } else {
        None
    };
    for rec in bytes.chunks_exact(stride) {
        points.push([
            f32_at(rec, 0),
            f32_at(rec, 4),
            f32_at(rec, 8),
            f32_at(rec, 12),
        ]);
        if let Some(r) = ring.as_mut() {
            let v = f32_at(rec, 16);
            r.push(if v.is_finite() && (0.0..65536.0).contains(&v) {
                v as u16
            } else {
                u16::MAX
            });
        }
    }
    Ok(PointCloud { points, ring })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Scalar {
    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::I64 | Scalar::U64 | Scalar::F64 => 8,
        }
    }
    fn read(self, b: &[u8], little: bool) -> f64 {
        macro_rules! rd {
            ($t:ty, $n:expr) => {{
                let mut a = [0u8; $n];
                a.copy_from_slice(&b[..$n]);
                if little {
                    <$t>::from_le_bytes(a) as f64
                } else {
                    <$t>::from_be_bytes(a) as f64
                }
            }};
        }
        match self {
            Scalar::I8 => b[0] as i8 as f64,
            Scalar::U8 => b[0] as f64,
            Scalar::I16 => rd!(i16, 2),
            Scalar::U16 => rd!(u16, 2),
            Scalar::I32 => rd!(i32, 4),
            Scalar::U32 => rd!(u32, 4),
            Scalar::I64 => rd!(i64, 8),
            Scalar::U64 => rd!(u64, 8),
            Scalar::F32 => rd!(f32, 4),
            Scalar::F64 => rd!(f64, 8),
        }
    }
}

/// Which channel of a point a named field feeds.
fn channel_of(name: &str) -> Option<usize> {
    match name.to_ascii_lowercase().as_str() {
        "x" => Some(0),
        "y" => Some(1),
        "z" => Some(2),
        "intensity" | "i" | "reflectance" | "scalar_intensity" | "remission" => Some(3),
        "ring" | "ring_index" | "laser_id" | "channel" => Some(4),
        _ => None,
    }
}

struct Layout {
    /// (channel, scalar type, byte offset inside a record)
    used: Vec<(usize, Scalar, usize)>,
    stride: usize,
}

impl Layout {
    fn has_ring(&self) -> bool {
        self.used.iter().any(|u| u.0 == 4)
    }
    fn check_xyz(&self, path: &Path) -> Result<()> {
        for (c, name) in ["x", "y", "z"].iter().enumerate() {
            if !self.used.iter().any(|u| u.0 == c) {
                return Err(RealityError::Field {
                    path: path.into(),
                    field: (*name).into(),
                    what: "missing: a point cloud needs x, y and z".into(),
                });
            }
        }
        Ok(())
    }
}

fn push_point(pc: &mut PointCloud, vals: &[f64; 5], has_ring: bool) {
    pc.points.push([
        vals[0] as f32,
        vals[1] as f32,
        vals[2] as f32,
        vals[3] as f32,
    ]);
    if has_ring {
        let r = vals[4];
        pc.ring.get_or_insert_with(Vec::new).push(
            if r.is_finite() && (0.0..65535.0).contains(&r) {
                r as u16
            } else {
                u16::MAX
            },
        );
    }
}

/// The text header line starting at `*pos` (trimmed); moves `*pos` past its newline.
fn header_line<'a>(
    bytes: &'a [u8],
    pos: &mut usize,
    path: &Path,
    line_no: usize,
    format: &str,
) -> Result<&'a str> {
    let start = *pos;
    let end = bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |e| start + e);
    *pos = (end + 1).min(bytes.len());
    std::str::from_utf8(&bytes[start..end])
        .map(str::trim)
        .map_err(|_| {
            RealityError::parse(path, line_no, format!("{format} header line is not text"))
        })
}

/// PCD v0.7 (Point Cloud Library): ascii, binary and binary_compressed (LZF, field-major).
pub fn parse_pcd(path: &Path, bytes: &[u8]) -> Result<PointCloud> {
    let mut pos = 0usize;
    let mut line_no = 0usize;
    let mut fields: Vec<String> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut types: Vec<char> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    let (mut width, mut height, mut points_decl): (Option<usize>, Option<usize>, Option<usize>) =
        (None, None, None);
    let data_kind;
    loop {
        if pos >= bytes.len() {
            return Err(RealityError::corrupt(
                path,
                pos as u64,
                "PCD header ends before a DATA line",
            ));
        }
        line_no += 1;
        let line_start = pos;
        let line = header_line(bytes, &mut pos, path, line_no, "PCD")?;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut it = line.split_whitespace();
        let key = it.next().unwrap_or("").to_ascii_uppercase();
        let rest: Vec<&str> = it.collect();
        let nums = |what: &str| -> Result<Vec<usize>> {
            rest.iter()
                .map(|t| {
                    t.parse::<usize>().map_err(|_| {
                        RealityError::parse(
                            path,
                            line_no,
                            format!("{what}: `{t}` is not a non-negative integer"),
                        )
                    })
                })
                .collect()
        };
        match key.as_str() {
            "VERSION" | "VIEWPOINT" => {}
            "FIELDS" => fields = rest.iter().map(|s| s.to_string()).collect(),
            "SIZE" => sizes = nums("SIZE")?,
            "TYPE" => {
                types = rest
                    .iter()
                    .map(|s| s.chars().next().unwrap_or('?').to_ascii_uppercase())
                    .collect()
            }
            "COUNT" => counts = nums("COUNT")?,
            "WIDTH" => width = nums("WIDTH")?.first().copied(),
            "HEIGHT" => height = nums("HEIGHT")?.first().copied(),
            "POINTS" => points_decl = nums("POINTS")?.first().copied(),
            "DATA" => {
                data_kind = rest
                    .first()
                    .map(|s| s.to_ascii_lowercase())
                    .unwrap_or_default();
                break;
            }
            other => {
                return Err(RealityError::corrupt(
                    path,
                    line_start as u64,
                    format!("line {line_no}: unknown PCD header key `{other}`"),
                ));
            }
        }
    }
    if fields.is_empty() {
        return Err(RealityError::Field {
            path: path.into(),
            field: "FIELDS".into(),
            what: "missing".into(),
        });
    }
    if counts.is_empty() {
        counts = vec![1; fields.len()];
    }
    if sizes.len() != fields.len() || types.len() != fields.len() || counts.len() != fields.len() {
        return Err(RealityError::Field {
            path: path.into(),
            field: "SIZE/TYPE/COUNT".into(),
            what: format!(
                "{} fields but {} sizes, {} types, {} counts",
                fields.len(),
                sizes.len(),
                types.len(),
                counts.len()
            ),
        });
    }
    let n = match (points_decl, width, height) {
        (Some(p), _, _) => p,
        (None, Some(w), Some(h)) => w * h,
        _ => {
            return Err(RealityError::Field {
                path: path.into(),
                field: "POINTS".into(),
                what: "missing".into(),
            });
        }
    };
    if let (Some(w), Some(h)) = (width, height)
        && w.checked_mul(h) != Some(n)
    {
        return Err(RealityError::Field {
            path: path.into(),
            field: "POINTS".into(),
            what: format!("POINTS {n} disagrees with WIDTH {w} x HEIGHT {h}"),
        });
    }
    let mut scalars = Vec::with_capacity(fields.len());
    for i in 0..fields.len() {
        let s = match (types[i], sizes[i]) {
            ('I', 1) => Scalar::I8,
            ('I', 2) => Scalar::I16,
            ('I', 4) => Scalar::I32,
            ('I', 8) => Scalar::I64,
            ('U', 1) => Scalar::U8,
            ('U', 2) => Scalar::U16,
            ('U', 4) => Scalar::U32,
            ('U', 8) => Scalar::U64,
            ('F', 4) => Scalar::F32,
            ('F', 8) => Scalar::F64,
            (t, s) => {
                return Err(RealityError::Field {
                    path: path.into(),
                    field: fields[i].clone(),
                    what: format!("unsupported TYPE {t} with SIZE {s}"),
                });
            }
        };
        scalars.push(s);
    }
    // Byte offsets of each field inside a record (binary) and column index (ascii).
    let mut used = Vec::new();
    let mut off = 0usize;
    let mut col = 0usize;
    let mut cols = Vec::new();
    for i in 0..fields.len() {
        if let Some(c) = channel_of(&fields[i]) {
            used.push((c, scalars[i], off));
            cols.push((c, col));
        }
        off += sizes[i] * counts[i];
        col += counts[i];
    }
    let layout = Layout { used, stride: off };
    layout.check_xyz(path)?;
    let has_ring = layout.has_ring();
    let mut pc = PointCloud {
        points: Vec::with_capacity(n.min(1 << 24)),
        ring: None,
    };
    match data_kind.as_str() {
        "ascii" => {
            let text = std::str::from_utf8(&bytes[pos..]).map_err(|e| {
                RealityError::corrupt(
                    path,
                    (pos + e.valid_up_to()) as u64,
                    "ascii PCD data is not text",
                )
            })?;
            let mut got = 0usize;
            for line in text.lines() {
                line_no += 1;
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                if got == n {
                    return Err(RealityError::parse(
                        path,
                        line_no,
                        format!("more data lines than POINTS {n}"),
                    ));
                }
                let toks: Vec<&str> = line.split_whitespace().collect();
                if toks.len() != col {
                    return Err(RealityError::parse(
                        path,
                        line_no,
                        format!("{} values, the header declares {col}", toks.len()),
                    ));
                }
                let mut vals = [0.0f64; 5];
                for &(c, k) in &cols {
                    vals[c] = toks[k].parse::<f64>().map_err(|_| {
                        RealityError::parse(path, line_no, format!("`{}` is not a number", toks[k]))
                    })?;
                }
                push_point(&mut pc, &vals, has_ring);
                got += 1;
            }
            if got != n {
                return Err(RealityError::corrupt(
                    path,
                    bytes.len() as u64,
                    format!("header claims POINTS {n} but the file holds {got} data lines"),
                ));
            }
        }
        "binary" => {
            let need = n.saturating_mul(layout.stride);
            let have = bytes.len() - pos;
            if have < need {
                return Err(RealityError::corrupt(
                    path,
                    bytes.len() as u64,
                    format!(
                        "header claims POINTS {n} ({need} bytes of data from offset {pos}) but only {have} bytes follow"
                    ),
                ));
            }
            for rec in bytes[pos..pos + need].chunks_exact(layout.stride.max(1)) {
                let mut vals = [0.0f64; 5];
                for &(c, s, o) in &layout.used {
                    vals[c] = s.read(&rec[o..], true);
                }
                push_point(&mut pc, &vals, has_ring);
            }
        }
        "binary_compressed" => {
            if bytes.len() < pos + 8 {
                return Err(RealityError::corrupt(
                    path,
                    pos as u64,
                    "binary_compressed PCD lacks its 8-byte size header",
                ));
            }
            let csize =
                u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap_or([0; 4])) as usize;
            let usize_ =
                u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap_or([0; 4])) as usize;
            let need = n.saturating_mul(layout.stride);
            if usize_ != need {
                return Err(RealityError::corrupt(
                    path,
                    (pos + 4) as u64,
                    format!(
                        "uncompressed size {usize_} disagrees with POINTS {n} x {} bytes = {need}",
                        layout.stride
                    ),
                ));
            }
            let start = pos + 8;
            if bytes.len() - start < csize {
                return Err(RealityError::corrupt(
                    path,
                    bytes.len() as u64,
                    format!(
                        "compressed block of {csize} bytes from offset {start}, only {} bytes follow",
                        bytes.len() - start
                    ),
                ));
            }
            let raw = if need == 0 {
                Vec::new()
            } else {
                lzf::decompress(&bytes[start..start + csize], need).map_err(|e| {
                    RealityError::corrupt(
                        path,
                        start as u64,
                        format!("LZF data does not decompress: {e:?}"),
                    )
                })?
            };
            if raw.len() != need {
                return Err(RealityError::corrupt(
                    path,
                    start as u64,
                    format!(
                        "LZF data decompresses to {} bytes, expected {need}",
                        raw.len()
                    ),
                ));
            }
            // Field-major: all values of field 0, then field 1, ...
            let mut field_start = Vec::with_capacity(fields.len());
            let mut acc = 0usize;
            for i in 0..fields.len() {
                field_start.push(acc);
                acc += n * sizes[i] * counts[i];
            }
            let mut pick = Vec::new();
            for i in 0..fields.len() {
                if let Some(c) = channel_of(&fields[i]) {
                    pick.push((c, scalars[i], field_start[i], sizes[i] * counts[i]));
                }
            }
            for p in 0..n {
                let mut vals = [0.0f64; 5];
                for &(c, s, fs, w) in &pick {
                    vals[c] = s.read(&raw[fs + p * w..], true);
                }
                push_point(&mut pc, &vals, has_ring);
            }
        }
        other => {
            return Err(RealityError::Field {
                path: path.into(),
                field: "DATA".into(),
                what: format!("`{other}` is not ascii, binary or binary_compressed"),
            });
        }
    }
    Ok(pc)
}

fn ply_scalar(name: &str) -> Option<Scalar> {
    Some(match name {
        "char" | "int8" => Scalar::I8,
        "uchar" | "uint8" => Scalar::U8,
        "short" | "int16" => Scalar::I16,
        "ushort" | "uint16" => Scalar::U16,
        "int" | "int32" => Scalar::I32,
        "uint" | "uint32" => Scalar::U32,
        "float" | "float32" => Scalar::F32,
        "double" | "float64" => Scalar::F64,
        _ => return None,
    })
}

/// PLY point clouds (ascii, binary_little_endian, binary_big_endian) from the `vertex` element.
pub fn parse_ply(path: &Path, bytes: &[u8]) -> Result<PointCloud> {
    struct Element {
        name: String,
        count: usize,
        props: Vec<(String, Option<Scalar>, bool)>, // name, scalar type, is_list
    }
    let mut pos = 0usize;
    let mut line_no = 0usize;
    let mut format = String::new();
    let mut elements: Vec<Element> = Vec::new();
    loop {
        if pos >= bytes.len() {
            return Err(RealityError::corrupt(
                path,
                pos as u64,
                "PLY header has no end_header",
            ));
        }
        line_no += 1;
        let line = header_line(bytes, &mut pos, path, line_no, "PLY")?.to_string();
        if line_no == 1 {
            if line != "ply" {
                return Err(RealityError::corrupt(
                    path,
                    0,
                    "not a PLY file (first line is not `ply`)",
                ));
            }
            continue;
        }
        let toks: Vec<&str> = line.split_whitespace().collect();
        match toks.first().copied() {
            Some("format") => format = toks.get(1).unwrap_or(&"").to_string(),
            Some("comment") | Some("obj_info") | None => {}
            Some("element") => {
                let count = toks.get(2).and_then(|t| t.parse().ok()).ok_or_else(|| {
                    RealityError::parse(path, line_no, "element line needs a name and a count")
                })?;
                elements.push(Element {
                    name: toks.get(1).unwrap_or(&"").to_string(),
                    count,
                    props: Vec::new(),
                });
            }
            Some("property") => {
                let el = elements.last_mut().ok_or_else(|| {
                    RealityError::parse(path, line_no, "property before any element")
                })?;
                if toks.get(1) == Some(&"list") {
                    el.props
                        .push((toks.get(4).unwrap_or(&"").to_string(), None, true));
                } else {
                    let ty = toks.get(1).copied().unwrap_or("");
                    let s = ply_scalar(ty).ok_or_else(|| {
                        RealityError::parse(path, line_no, format!("unknown property type `{ty}`"))
                    })?;
                    el.props
                        .push((toks.get(2).unwrap_or(&"").to_string(), Some(s), false));
                }
            }
            Some("end_header") => break,
            Some(other) => {
                return Err(RealityError::parse(
                    path,
                    line_no,
                    format!("unknown PLY header keyword `{other}`"),
                ));
            }
        }
    }
    let vi = elements
        .iter()
        .position(|e| e.name == "vertex")
        .ok_or_else(|| RealityError::Field {
            path: path.into(),
            field: "vertex".into(),
            what: "no vertex element".into(),
        })?;
    let vert = &elements[vi];
    let mut used = Vec::new();
    let mut off = 0usize;
    for (name, s, is_list) in &vert.props {
        if *is_list {
            return Err(RealityError::Field {
                path: path.into(),
                field: name.clone(),
                what: "list properties in the vertex element are not supported".into(),
            });
        }
        let s = s.unwrap_or(Scalar::U8);
        if let Some(c) = channel_of(name) {
            used.push((c, s, off));
        }
        off += s.size();
    }
    let layout = Layout { used, stride: off };
    layout.check_xyz(path)?;
    let has_ring = layout.has_ring();
    let n = vert.count;
    let mut pc = PointCloud {
        points: Vec::with_capacity(n.min(1 << 24)),
        ring: None,
    };
    match format.as_str() {
        "ascii" => {
            let text = std::str::from_utf8(&bytes[pos..]).map_err(|e| {
                RealityError::corrupt(
                    path,
                    (pos + e.valid_up_to()) as u64,
                    "ascii PLY data is not text",
                )
            })?;
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            for el in &elements[..vi] {
                for _ in 0..el.count {
                    line_no += 1;
                    if lines.next().is_none() {
                        return Err(RealityError::parse(
                            path,
                            line_no,
                            format!("element `{}` ends early", el.name),
                        ));
                    }
                }
            }
            let idx: Vec<(usize, usize)> = vert
                .props
                .iter()
                .enumerate()
                .filter_map(|(k, p)| channel_of(&p.0).map(|c| (c, k)))
                .collect();
            for got in 0..n {
                line_no += 1;
                let line = lines.next().ok_or_else(|| {
                    RealityError::corrupt(
                        path,
                        bytes.len() as u64,
                        format!("header claims {n} vertices, the file holds {got}"),
                    )
                })?;
                let toks: Vec<&str> = line.split_whitespace().collect();
                if toks.len() != vert.props.len() {
                    return Err(RealityError::parse(
                        path,
                        line_no,
                        format!(
                            "{} values, the vertex element declares {}",
                            toks.len(),
                            vert.props.len()
                        ),
                    ));
                }
                let mut vals = [0.0f64; 5];
                for &(c, k) in &idx {
                    vals[c] = toks[k].parse().map_err(|_| {
                        RealityError::parse(path, line_no, format!("`{}` is not a number", toks[k]))
                    })?;
                }
                push_point(&mut pc, &vals, has_ring);
            }
        }
        "binary_little_endian" | "binary_big_endian" => {
            let little = format == "binary_little_endian";
            let mut start = pos;
            for el in &elements[..vi] {
                if el.props.iter().any(|p| p.2) {
                    return Err(RealityError::Field {
                        path: path.into(),
                        field: el.name.clone(),
                        what: "list properties before the vertex element are not supported".into(),
                    });
                }
                start += el.count
                    * el.props
                        .iter()
                        .map(|p| p.1.map_or(0, Scalar::size))
                        .sum::<usize>();
            }
            let need = n.saturating_mul(layout.stride);
            let have = bytes.len().saturating_sub(start);
            if have < need {
                return Err(RealityError::corrupt(
                    path,
                    bytes.len() as u64,
                    format!(
                        "header claims {n} vertices ({need} bytes from offset {start}) but only {have} bytes follow"
                    ),
                ));
            }
            for rec in bytes[start..start + need].chunks_exact(layout.stride.max(1)) {
                let mut vals = [0.0f64; 5];
                for &(c, s, o) in &layout.used {
                    vals[c] = s.read(&rec[o..], little);
                }
                push_point(&mut pc, &vals, has_ring);
            }
        }
        other => {
            return Err(RealityError::Field {
                path: path.into(),
                field: "format".into(),
                what: format!("unknown `{other}`"),
            });
        }
    }
    Ok(pc)
}

/// Decodes a PNG or JPEG (any bit depth) into 8-bit RGB.
pub fn read_rgb(path: &Path) -> Result<image::RgbImage> {
    let bytes = read_bytes(path)?;
    decode_rgb(path, &bytes)
}

pub fn decode_rgb(path: &Path, bytes: &[u8]) -> Result<image::RgbImage> {
    let img = image::load_from_memory(bytes).map_err(|e| RealityError::Image {
        path: path.into(),
        what: e.to_string(),
    })?;
    Ok(img.to_rgb8())
}

/// One object of a KITTI `label_2` file.
#[derive(Debug, Clone, PartialEq)]
pub struct KittiObject {
    pub class: String,
    pub truncated: f64,
    pub occluded: i32,
    pub alpha_rad: f64,
    pub bbox_px: [f64; 4],
    /// height, width, length in metres
    pub dims_m: [f64; 3],
    /// x, y, z in the rectified camera frame, metres
    pub location_m: [f64; 3],
    pub rotation_y_rad: f64,
}

pub const KITTI_CLASSES: [&str; 9] = [
    "Car",
    "Van",
    "Truck",
    "Pedestrian",
    "Person_sitting",
    "Cyclist",
    "Tram",
    "Misc",
    "DontCare",
];

/// Parses a KITTI label_2 file (15 fields, or 16 with a score).
pub fn parse_kitti_labels(path: &Path, text: &str) -> Result<Vec<KittiObject>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.is_empty() {
            continue;
        }
        if t.len() != 15 && t.len() != 16 {
            return Err(RealityError::parse(
                path,
                line_no,
                format!("{} fields, KITTI labels have 15 (16 with score)", t.len()),
            ));
        }
        if !KITTI_CLASSES.contains(&t[0]) {
            return Err(RealityError::parse(
                path,
                line_no,
                format!(
                    "unknown object type `{}` (KITTI's: {})",
                    t[0],
                    KITTI_CLASSES.join(", ")
                ),
            ));
        }
        let mut v = [0.0f64; 14];
        for k in 0..14 {
            v[k] = t[k + 1]
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| {
                    RealityError::parse(
                        path,
                        line_no,
                        format!("field {} `{}` is not a finite number", k + 2, t[k + 1]),
                    )
                })?;
        }
        out.push(KittiObject {
            class: t[0].to_string(),
            truncated: v[0],
            occluded: v[1] as i32,
            alpha_rad: v[2],
            bbox_px: [v[3], v[4], v[5], v[6]],
            dims_m: [v[7], v[8], v[9]],
            location_m: [v[10], v[11], v[12]],
            rotation_y_rad: v[13],
        });
    }
    Ok(out)
}

pub fn read_kitti_labels(path: &Path) -> Result<Vec<KittiObject>> {
    let text = std::fs::read_to_string(path).map_err(|e| RealityError::io(path, e))?;
    parse_kitti_labels(path, &text)
}

/// A KITTI calib file: key -> row-major values (P0..P3: 12, R0_rect: 9, Tr_*: 12).
pub type KittiCalib = BTreeMap<String, Vec<f64>>;

/// Velodyne to rectified camera, `R0_rect · Tr_velo_to_cam`, as a rotation and a translation;
/// `None` when the calib lacks either (or holds the wrong number of values).
pub fn rect_from_velo(calib: &KittiCalib) -> Option<(glam::DMat3, glam::DVec3)> {
    let r0 = calib.get("R0_rect").filter(|v| v.len() == 9)?;
    let tr = calib.get("Tr_velo_to_cam").filter(|v| v.len() == 12)?;
    let r0 = glam::DMat3::from_cols_array(&[
        r0[0], r0[3], r0[6], r0[1], r0[4], r0[7], r0[2], r0[5], r0[8],
    ]);
    let rot = glam::DMat3::from_cols_array(&[
        tr[0], tr[4], tr[8], tr[1], tr[5], tr[9], tr[2], tr[6], tr[10],
    ]);
    let t = glam::DVec3::new(tr[3], tr[7], tr[11]);
    Some((r0 * rot, r0 * t))
}

pub fn parse_kitti_calib(path: &Path, text: &str) -> Result<KittiCalib> {
    let mut out = KittiCalib::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (key, rest) = line
            .split_once(':')
            .ok_or_else(|| RealityError::parse(path, i + 1, "expected `KEY: v v v ...`"))?;
        let vals = rest
            .split_whitespace()
            .map(|t| {
                t.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        RealityError::parse(path, i + 1, format!("`{t}` is not a finite number"))
                    })
            })
            .collect::<Result<Vec<f64>>>()?;
        let want = match key {
            "P0" | "P1" | "P2" | "P3" | "Tr_velo_to_cam" | "Tr_imu_to_velo" => Some(12),
            "R0_rect" => Some(9),
            _ => None,
        };
        if let Some(w) = want
            && vals.len() != w
        {
            return Err(RealityError::parse(
                path,
                i + 1,
                format!("{key} has {} values, expected {w}", vals.len()),
            ));
        }
        out.insert(key.to_string(), vals);
    }
    Ok(out)
}

pub fn read_kitti_calib(path: &Path) -> Result<KittiCalib> {
    let text = std::fs::read_to_string(path).map_err(|e| RealityError::io(path, e))?;
    parse_kitti_calib(path, &text)
}
