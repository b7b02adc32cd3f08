//! The reality check's power (`verisim power`): how large a defect each check notices.
//!
//! The real frames are cut into two disjoint halves. Each half in turn is damaged with a graded
//! defect of one family (a lidar intensity gain, a mount height, a range cut, a colour cast, a
//! blur, ...) and compared, as a synthetic dataset would be, with the other, undamaged half
//! under the gate policy. A check *detects* a defect at a magnitude when it reaches the verdict
//! in both directions (so scene differences between the halves do not count as detection); the
//! table gives, per family and per check, the smallest magnitude that warns and that fails.
//! Magnitude 0 (no defect) is run too: any check that fails there is a false alarm between
//! real frames, reported as such.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::check::{Verdict, run_checks};
use super::dataset::Dataset;
use super::error::{RealityError, Result};
use super::policy::GatePolicy;
use super::profile::{FrameData, load_frame_data, profile_frames};
use super::readers::KittiObject;
use super::{SensorModel, sensor_by_name};

/// A defect family and how it damages a frame at a magnitude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Family {
    /// Lidar intensities × m (clipped to full scale, as a saturating receiver would).
    IntensityGain,
    /// Lidar intensities quantised to steps of m (of full scale).
    IntensityQuantisation,
    /// The lidar mounted m metres higher (every point m lower).
    MountHeight,
    /// The lidar pitched down by m degrees.
    MountTilt,
    /// Points beyond m metres removed.
    RangeCut,
    /// A share m of the beams lost (every 1/m-th laser).
    BeamLoss,
    /// A share m of the points removed at random.
    Thinning,
    /// Gaussian range noise of σ = m metres.
    RangeNoise,
    /// Every channel × m.
    CameraGain,
    /// Red × m.
    RedGain,
    /// Green × m.
    GreenGain,
    /// Blue × m.
    BlueGain,
    /// Gaussian blur of σ = m pixels.
    Blur,
    /// Gaussian pixel noise of σ = m digital numbers.
    PixelNoise,
    /// JPEG compression at quality m.
    Jpeg,
    /// Downscaled by m and scaled back up (resolution lost).
    Resolution,
    /// Corners darkened by a share m (cos⁴-like falloff, quadratic in radius).
    Vignetting,
    /// Every box moved m metres sideways.
    BoxShift,
    /// Every box's size × m.
    BoxSize,
    /// A share m of the objects unlabelled.
    MissedObjects,
}

/// Whether a larger or a smaller magnitude is the more severe defect (a range cut at 20 m is
/// worse than one at 100 m; a JPEG quality of 30 worse than 90).
fn descending(f: Family) -> bool {
    matches!(f, Family::RangeCut | Family::Jpeg | Family::Resolution)
}

impl Family {
    pub fn all() -> Vec<Family> {
        <Family as clap::ValueEnum>::value_variants().to_vec()
    }

    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The unit of the magnitude, for tables.
    pub fn unit(self) -> &'static str {
        use Family::*;
        match self {
            IntensityGain | CameraGain | RedGain | GreenGain | BlueGain | BoxSize => "×",
            IntensityQuantisation => "of full scale",
            MountHeight | RangeCut | RangeNoise | BoxShift => "m",
            MountTilt => "deg",
            BeamLoss | Thinning | MissedObjects | Vignetting => "share",
            Blur => "px",
            PixelNoise => "DN",
            Jpeg => "quality",
            Resolution => "scale",
        }
    }

    /// The graded magnitudes, mildest first (the value meaning "no defect" left out).
    pub fn magnitudes(self) -> Vec<f64> {
        use Family::*;
        match self {
            IntensityGain => vec![0.5, 0.67, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0],
            IntensityQuantisation => vec![0.01, 0.02, 0.05, 0.1, 0.2],
            MountHeight => vec![0.05, 0.1, 0.15, 0.25, 0.5],
            MountTilt => vec![0.25, 0.5, 1.0, 2.0],
            RangeCut => vec![100.0, 80.0, 60.0, 40.0, 20.0],
            BeamLoss => vec![0.125, 0.25, 0.5],
            Thinning => vec![0.1, 0.25, 0.5, 0.75],
            RangeNoise => vec![0.02, 0.05, 0.1, 0.2, 0.5],
            CameraGain | RedGain | GreenGain | BlueGain => {
                vec![0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.05, 1.1, 1.15, 1.2, 1.3]
            }
            Blur => vec![0.5, 1.0, 1.5, 2.0, 3.0],
            PixelNoise => vec![1.0, 2.0, 4.0, 8.0],
            Jpeg => vec![90.0, 70.0, 50.0, 30.0, 10.0],
            Resolution => vec![0.9, 0.75, 0.5, 0.25],
            Vignetting => vec![0.1, 0.2, 0.4, 0.6],
            BoxShift => vec![0.1, 0.25, 0.5, 1.0],
            BoxSize => vec![0.8, 0.9, 0.95, 1.05, 1.1, 1.2],
            MissedObjects => vec![0.1, 0.25, 0.5],
        }
    }

    /// The magnitude that means "no defect".
    pub fn identity(self) -> f64 {
        use Family::*;
        match self {
            IntensityGain | CameraGain | RedGain | GreenGain | BlueGain | BoxSize => 1.0,
            RangeCut => f64::INFINITY,
            Jpeg => 100.0,
            Resolution => 1.0,
            _ => 0.0,
        }
    }

    /// How far `m` is from no defect, for ordering two-sided families by severity (a gain of
    /// 0.8 is about as severe as one of 1.25).
    fn severity(self, m: f64) -> f64 {
        match self {
            Family::IntensityGain
            | Family::CameraGain
            | Family::RedGain
            | Family::GreenGain
            | Family::BlueGain
            | Family::BoxSize => m.ln().abs(),
            _ if descending(self) => -m,
            _ => m,
        }
    }

    /// Whether the family damages the lidar, the camera or the labels (a dataset without that
    /// sensor cannot measure it).
    pub fn modality(self) -> &'static str {
        use Family::*;
        match self {
            IntensityGain
            | IntensityQuantisation
            | MountHeight
            | MountTilt
            | RangeCut
            | BeamLoss
            | Thinning
            | RangeNoise => "lidar",
            BoxShift | BoxSize | MissedObjects => "labels",
            _ => "camera",
        }
    }
}

/// A uniform number in [0, 1) from a frame, a stream and an index (reproducible damage).
fn u01(frame: u32, stream: u32, i: u32) -> f32 {
    crate::rng::u01(crate::rng::hash3(frame, stream, i))
}

/// A standard normal number (Box–Muller on two uniforms).
fn normal(frame: u32, stream: u32, i: u32) -> f32 {
    let u1 = u01(frame, stream, 2 * i).max(1e-7);
    let u2 = u01(frame, stream, 2 * i + 1);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn frame_seed(f: &FrameData) -> u32 {
    f.id.bytes()
        .fold(0x9E37_79B9u32, |h, b| crate::rng::pcg_hash(h ^ b as u32))
}

/// The beam (0 = highest) of a point, by the nearest nominal elevation of the model.
fn beam_of(model: &SensorModel, p: &[f32; 4]) -> usize {
    let el = (p[2] as f64)
        .atan2(((p[0] * p[0] + p[1] * p[1]) as f64).sqrt())
        .to_degrees();
    model
        .elevation_deg
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - el).abs().total_cmp(&(b.1 - el).abs()))
        .map_or(0, |(i, _)| i)
}

fn map_pixels(img: &mut image::RgbImage, f: impl Fn(u32, u32, [u8; 3]) -> [u8; 3]) {
    for (x, y, p) in img.enumerate_pixels_mut() {
        p.0 = f(x, y, p.0);
    }
}

fn scale(v: u8, k: f64) -> u8 {
    (v as f64 * k).round().clamp(0.0, 255.0) as u8
}

/// `frame` with the defect of `family` at magnitude `m`.
pub fn damage(model: &SensorModel, frame: &FrameData, family: Family, m: f64) -> FrameData {
    use Family::*;
    let mut f = frame.clone();
    let seed = frame_seed(&f);
    let full = model.intensity_max as f32;
    if let Some(pc) = f.lidar.as_mut() {
        let pts = &mut pc.points;
        let mf = m as f32;
        let keep_ring = |pc_ring: &mut Option<Vec<u16>>, keep: &[bool]| {
            if let Some(r) = pc_ring.as_mut() {
                let mut k = keep.iter();
                r.retain(|_| *k.next().unwrap_or(&true));
            }
        };
        match family {
            IntensityGain => pts.iter_mut().for_each(|p| p[3] = (p[3] * mf).min(full)),
            IntensityQuantisation => {
                let step = mf * full;
                pts.iter_mut()
                    .for_each(|p| p[3] = ((p[3] / step).round() * step).min(full));
            }
            MountHeight => pts.iter_mut().for_each(|p| p[2] -= mf),
            MountTilt => {
                let (s, c) = mf.to_radians().sin_cos();
                pts.iter_mut().for_each(|p| {
                    let (x, z) = (p[0], p[2]);
                    p[0] = c * x + s * z;
                    p[2] = -s * x + c * z;
                });
            }
            RangeCut | BeamLoss | Thinning => {
                let every = (1.0 / m).round().max(1.0) as usize;
                let keep: Vec<bool> = pts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| match family {
                        RangeCut => (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt() <= mf,
                        BeamLoss => beam_of(model, p) % every != every - 1,
                        _ => u01(seed, 0x7417, i as u32) >= mf,
                    })
                    .collect();
                let mut k = keep.iter();
                pts.retain(|_| *k.next().unwrap_or(&true));
                keep_ring(&mut pc.ring, &keep);
            }
            RangeNoise => pts.iter_mut().enumerate().for_each(|(i, p)| {
                let r = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt().max(1e-3);
                let k = ((r + mf * normal(seed, 0x4a15, i as u32)) / r).max(0.0);
                p[0] *= k;
                p[1] *= k;
                p[2] *= k;
            }),
            _ => {}
        }
    }
    if let Some(img) = f.image.as_mut() {
        let (w, h) = img.dimensions();
        match family {
            CameraGain => map_pixels(img, |_, _, p| p.map(|v| scale(v, m))),
            RedGain | GreenGain | BlueGain => {
                let c = match family {
                    RedGain => 0,
                    GreenGain => 1,
                    _ => 2,
                };
                map_pixels(img, |_, _, mut p| {
                    p[c] = scale(p[c], m);
                    p
                });
            }
            Blur => *img = image::imageops::blur(img, m as f32),
            PixelNoise => map_pixels(img, |x, y, p| {
                let i = (y * w + x) * 3;
                std::array::from_fn(|c| {
                    let n = normal(seed, 0x0015e, i + c as u32) as f64 * m;
                    (p[c] as f64 + n).round().clamp(0.0, 255.0) as u8
                })
            }),
            Jpeg => {
                let mut bytes = Vec::new();
                let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, m as u8);
                if img.write_with_encoder(enc).is_ok()
                    && let Ok(back) = image::load_from_memory(&bytes)
                {
                    *img = back.to_rgb8();
                }
            }
            Resolution => {
                let (sw, sh) = (
                    ((w as f64 * m).round() as u32).max(1),
                    ((h as f64 * m).round() as u32).max(1),
                );
                let small =
                    image::imageops::resize(img, sw, sh, image::imageops::FilterType::Triangle);
                *img = image::imageops::resize(&small, w, h, image::imageops::FilterType::Triangle);
            }
            Vignetting => {
                let (cx, cy) = (w as f64 / 2.0, h as f64 / 2.0);
                let r2max = cx * cx + cy * cy;
                map_pixels(img, |x, y, p| {
                    let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
                    let k = 1.0 - m * (dx * dx + dy * dy) / r2max;
                    p.map(|v| scale(v, k))
                });
            }
            _ => {}
        }
    }
    if let Some(labels) = f.labels.as_mut() {
        let objects = |o: &KittiObject| o.class != "DontCare";
        match family {
            BoxShift => labels
                .iter_mut()
                .filter(|o| objects(o))
                .for_each(|o| o.location_m[0] += m),
            BoxSize => labels
                .iter_mut()
                .filter(|o| objects(o))
                .for_each(|o| o.dims_m = o.dims_m.map(|d| d * m)),
            MissedObjects => {
                let mut i = 0u32;
                labels.retain(|o| {
                    i += 1;
                    !objects(o) || u01(seed, 0x0b1e, i) >= m as f32
                });
            }
            _ => {}
        }
    }
    f
}

/// The smallest magnitude at which a check reached warn and fail (in both directions).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Detection {
    pub warn_at: Option<f64>,
    pub fail_at: Option<f64>,
}

/// One family's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyPower {
    pub family: Family,
    /// For families with a neutral value inside their range (gains, sizes): `down` (below
    /// it) or `up` (above it), each analysed on its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<&'static str>,
    pub modality: &'static str,
    pub unit: &'static str,
    pub magnitudes: Vec<f64>,
    /// The overall verdict at each magnitude (the milder of the two directions).
    pub verdicts: Vec<Verdict>,
    /// The smallest magnitude with an overall fail (in both directions), and the checks that
    /// fail there in at least one direction (none: a validity item failed).
    pub fail_at: Option<f64>,
    pub failed_by: Vec<String>,
    /// Per gated check that reached warn or fail at some magnitude.
    pub checks: BTreeMap<String, Detection>,
}

impl FamilyPower {
    /// The family's name, with its side when it has one (`red_gain up`).
    pub fn label(&self) -> String {
        match self.side {
            Some(side) => format!("{} {side}", self.family.name()),
            None => self.family.name(),
        }
    }
}

/// What `verisim power` writes to `power.json`.
#[derive(Clone, Debug, Serialize)]
pub struct PowerReport {
    pub format: String,
    pub software_version: String,
    pub policy: String,
    pub real: Vec<String>,
    pub sensor: String,
    /// Frame ids of the two halves.
    pub halves: [Vec<String>; 2],
    /// Gated checks that fail between the undamaged halves (false alarms; they detect
    /// nothing below).
    pub false_alarms: Vec<String>,
    /// Gated checks that warn between the undamaged halves (their warnings below count for
    /// nothing; their fails do).
    pub clean_warnings: Vec<String>,
    pub families: Vec<FamilyPower>,
}

/// Options of `verisim power`.
pub struct PowerOptions {
    pub real: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub policy: Option<PathBuf>,
    pub tier: Option<String>,
    pub sensor: Option<String>,
    /// Families to run (all when empty).
    pub families: Vec<Family>,
    /// At most this many frames are read (the first, in name order).
    pub max_frames: usize,
}

fn severity_rank(v: Verdict) -> u8 {
    match v {
        Verdict::Fail => 2,
        Verdict::Warn => 1,
        _ => 0,
    }
}

/// The verdict of each gated check and the overall verdict (fail when any gated check or a
/// validity item fails), for `damaged` compared with `reference`.
fn judge(
    model: &SensorModel,
    policy: &GatePolicy,
    damaged: &[FrameData],
    reference: &super::Profile,
) -> (BTreeMap<String, Verdict>, Verdict) {
    let keyed: Vec<(String, FrameData)> =
        damaged.iter().map(|f| (f.id.clone(), f.clone())).collect();
    let synth = profile_frames("damaged", model, &keyed);
    let checks = run_checks(&synth, reference, policy);
    let validity_failed =
        super::check::validity_items("synthetic", &synth.validity, synth.total().lidar.points)
            .iter()
            .any(|v| !v.pass);
    let per: BTreeMap<String, Verdict> = checks
        .iter()
        .filter(|c| c.gated)
        .map(|c| (c.id.clone(), c.verdict))
        .collect();
    let worst = per.values().map(|v| severity_rank(*v)).max().unwrap_or(0);
    let overall = if validity_failed || worst == 2 {
        Verdict::Fail
    } else if worst == 1 {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    (per, overall)
}

/// A check's verdicts in the two directions (half a damaged against b, b against a).
type Pair = (Verdict, Verdict);

/// The milder of two verdicts.
fn milder(p: Pair) -> Verdict {
    if severity_rank(p.0) <= severity_rank(p.1) {
        p.0
    } else {
        p.1
    }
}

/// What the power analysis finds: false alarms and warnings between the clean halves, and
/// one entry per family (and side).
pub struct Analysis {
    pub false_alarms: Vec<String>,
    pub clean_warnings: Vec<String>,
    pub families: Vec<FamilyPower>,
}

/// The power analysis on frames already in memory, cut into halves `a` and `b`.
pub fn analyse(
    model: &SensorModel,
    policy: &GatePolicy,
    a: &[FrameData],
    b: &[FrameData],
    families: &[Family],
) -> Analysis {
    use rayon::prelude::*;
    let profile_of = |frames: &[FrameData], name: &str| {
        let keyed: Vec<(String, FrameData)> =
            frames.iter().map(|f| (f.id.clone(), f.clone())).collect();
        profile_frames(name, model, &keyed)
    };
    let (ref_a, ref_b) = (profile_of(a, "half-a"), profile_of(b, "half-b"));
    // Per check, the verdicts of the two directions; overall, the milder of the two.
    let both = |family: Family, m: f64| -> (BTreeMap<String, Pair>, Verdict) {
        let run = |damaged: &[FrameData], reference| {
            let d: Vec<FrameData> = damaged
                .iter()
                .map(|f| {
                    if m == family.identity() {
                        f.clone()
                    } else {
                        damage(model, f, family, m)
                    }
                })
                .collect();
            judge(model, policy, &d, reference)
        };
        let ((pa, oa), (pb, ob)) = rayon::join(|| run(a, &ref_b), || run(b, &ref_a));
        let per = pa
            .into_iter()
            .map(|(id, va)| {
                let vb = pb.get(&id).copied().unwrap_or(Verdict::Pass);
                (id, (va, vb))
            })
            .collect();
        (per, milder((oa, ob)))
    };
    let (clean, _) = both(Family::IntensityGain, 1.0);
    let clean_with = |rank: u8| -> Vec<String> {
        clean
            .iter()
            .filter(|(_, p)| severity_rank(milder(**p)) == rank)
            .map(|(id, _)| id.clone())
            .collect()
    };
    let (false_alarms, clean_warnings) = (clean_with(2), clean_with(1));
    // Two-sided families split at their neutral value.
    let mut jobs: Vec<(Family, Option<&'static str>, Vec<f64>)> = Vec::new();
    for &family in families {
        let id = family.identity();
        let mut mags = family.magnitudes();
        mags.sort_by(|x, y| family.severity(*x).total_cmp(&family.severity(*y)));
        let down: Vec<f64> = mags.iter().copied().filter(|m| *m < id).collect();
        let up: Vec<f64> = mags.iter().copied().filter(|m| *m > id).collect();
        if !down.is_empty() && !up.is_empty() {
            jobs.push((family, Some("down"), down));
            jobs.push((family, Some("up"), up));
        } else {
            jobs.push((family, None, mags));
        }
    }
    let out = jobs
        .into_par_iter()
        .map(|(family, side, mags)| {
            let results: Vec<(BTreeMap<String, Pair>, Verdict)> =
                mags.iter().map(|&m| both(family, m)).collect();
            let mut checks: BTreeMap<String, Detection> = BTreeMap::new();
            for (m, (per, _)) in mags.iter().zip(&results) {
                for (id, pair) in per {
                    let v = severity_rank(milder(*pair));
                    if false_alarms.contains(id) {
                        continue;
                    }
                    let d = checks.entry(id.clone()).or_default();
                    if v >= 1 && d.warn_at.is_none() && !clean_warnings.contains(id) {
                        d.warn_at = Some(*m);
                    }
                    if v == 2 && d.fail_at.is_none() {
                        d.fail_at = Some(*m);
                        d.warn_at.get_or_insert(*m);
                    }
                }
            }
            checks.retain(|_, d| d.warn_at.is_some() || d.fail_at.is_some());
            let first_fail = results.iter().position(|(_, o)| *o == Verdict::Fail);
            FamilyPower {
                family,
                side,
                modality: family.modality(),
                unit: family.unit(),
                fail_at: first_fail.map(|i| mags[i]),
                failed_by: first_fail
                    .map(|i| {
                        results[i]
                            .0
                            .iter()
                            .filter(|(id, p)| {
                                (p.0 == Verdict::Fail || p.1 == Verdict::Fail)
                                    && !false_alarms.contains(id)
                            })
                            .map(|(id, _)| id.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
                verdicts: results.iter().map(|(_, o)| *o).collect(),
                magnitudes: mags,
                checks,
            }
        })
        .collect();
    Analysis {
        false_alarms,
        clean_warnings,
        families: out,
    }
}

fn fmt_m(m: Option<f64>, unit: &str) -> String {
    match m {
        Some(m) if unit == "×" => format!("×{m}"),
        Some(m) => format!("{m} {unit}"),
        None => "—".into(),
    }
}

/// `power.md`: the family table (what fails first, and by which checks) and the check table
/// (what each check detects).
pub fn markdown(r: &PowerReport) -> String {
    let mut s = String::from("# Reality-check power\n\n");
    s += &format!(
        "Real data: {}; sensor {}; policy {}. Halves: {} vs {} frames. A defect counts as \
         detected when it reaches the verdict in both directions (each damaged half against the \
         other, undamaged one).\n\n",
        r.real.join(", "),
        r.sensor,
        r.policy,
        r.halves[0].len(),
        r.halves[1].len()
    );
    if !r.clean_warnings.is_empty() {
        s += &format!(
            "Warnings between the undamaged halves (their warnings below count for nothing): {}\n\n",
            r.clean_warnings.join(", ")
        );
    }
    if r.false_alarms.is_empty() {
        s += "No gated check fails between the undamaged halves.\n\n";
    } else {
        s += &format!(
            "False alarms (gated checks failing between the undamaged halves, ignored below): {}\n\n",
            r.false_alarms.join(", ")
        );
    }
    s += "## By defect\n\n| family | sensor | magnitudes | first overall fail | failed by |\n|---|---|---|---|---|\n";
    for f in &r.families {
        s += &format!(
            "| {} | {} | {} | {} | {} |\n",
            f.label(),
            f.modality,
            f.magnitudes
                .iter()
                .map(|m| m.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            fmt_m(f.fail_at, f.unit),
            if f.failed_by.is_empty() {
                if f.fail_at.is_some() {
                    "a validity item".to_string()
                } else {
                    "not detected".to_string()
                }
            } else {
                f.failed_by.join(", ")
            }
        );
    }
    s += "\n## What each check can detect\n\n| check | defect: smallest warn / fail |\n|---|---|\n";
    let mut by_check: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in &r.families {
        for (id, d) in &f.checks {
            by_check.entry(id).or_default().push(format!(
                "{} {} / {}",
                f.label(),
                fmt_m(d.warn_at, f.unit),
                fmt_m(d.fail_at, f.unit)
            ));
        }
    }
    for (id, ds) in by_check {
        s += &format!("| {id} | {} |\n", ds.join("; "));
    }
    s
}

/// `verisim power`: reads the real frames, runs the analysis, writes `power.json` and
/// `power.md` into the output directory.
pub fn run_power(opts: &PowerOptions) -> Result<PowerReport> {
    let (policy, policy_name) = match &opts.policy {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| RealityError::io(p, e))?;
            (GatePolicy::parse(p, &text)?, p.display().to_string())
        }
        None => (
            GatePolicy::shipped_default(),
            "assets/policy/default.ron (shipped)".to_string(),
        ),
    };
    let policy = policy.for_tier(opts.tier.as_deref())?;
    let ds = Dataset::open_many(&opts.real)?;
    let model = sensor_by_name(opts.sensor.as_deref())?.unwrap_or_else(|| ds.inferred_sensor());
    let n = ds.frames.len().min(opts.max_frames);
    if n < 2 {
        return Err(RealityError::Usage(format!(
            "the power analysis needs at least 2 real frames (two halves); {} has {}",
            opts.real
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            ds.frames.len()
        )));
    }
    let frames: Vec<FrameData> = ds.frames[..n]
        .iter()
        .map(|spec| load_frame_data(spec, &ds))
        .collect::<Result<_>>()?;
    // Interleaved halves: both see the same mix of scenes along the drive.
    let (a, b): (Vec<FrameData>, Vec<FrameData>) = {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (i, f) in frames.into_iter().enumerate() {
            if i % 2 == 0 { a.push(f) } else { b.push(f) }
        }
        (a, b)
    };
    let families = if opts.families.is_empty() {
        Family::all()
    } else {
        opts.families.clone()
    };
    let analysis = analyse(&model, &policy, &a, &b, &families);
    let report = PowerReport {
        format: "verisim-power/1".into(),
        software_version: env!("CARGO_PKG_VERSION").into(),
        policy: policy_name,
        real: opts.real.iter().map(|p| p.display().to_string()).collect(),
        sensor: model.name.clone(),
        halves: [
            a.iter().map(|f| f.id.clone()).collect(),
            b.iter().map(|f| f.id.clone()).collect(),
        ],
        false_alarms: analysis.false_alarms,
        clean_warnings: analysis.clean_warnings,
        families: analysis.families,
    };
    write_outputs(&opts.out_dir, &report)?;
    Ok(report)
}

fn write_outputs(dir: &Path, r: &PowerReport) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| RealityError::io(dir, e))?;
    let json = serde_json::to_string_pretty(r).expect("plain data");
    super::profile::write_atomic(&dir.join("power.json"), json.as_bytes())?;
    super::profile::write_atomic(&dir.join("power.md"), markdown(r).as_bytes())?;
    Ok(())
}

/// Reads a `power.json` written by `verisim power` into the summary a check report carries:
/// per check, what it detects; and the families nothing detected. Errors name the file and
/// what is wrong.
pub fn read_summary(path: &Path) -> Result<super::report::PowerSummary> {
    let bad = |what: String| RealityError::Field {
        path: path.to_owned(),
        field: "power".into(),
        what,
    };
    let bytes =
        crate::files::read_regular(path, 64 << 20).map_err(|e| RealityError::io(path, e))?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    if v["format"] != "verisim-power/1" {
        return Err(bad(format!(
            "not a `verisim power` result (format {}, expected \"verisim-power/1\")",
            v["format"]
        )));
    }
    let families = v["families"]
        .as_array()
        .ok_or_else(|| bad("no `families` array".into()))?;
    let mut summary = super::report::PowerSummary {
        source: path.display().to_string(),
        policy: v["policy"].as_str().unwrap_or("").to_string(),
        real: v["real"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect(),
        ..Default::default()
    };
    let num = |x: &serde_json::Value| x.as_f64();
    for f in families {
        let name = f["family"]
            .as_str()
            .ok_or_else(|| bad(format!("a family without a name: {f}")))?;
        let label = match f["side"].as_str() {
            Some(side) => format!("{name} {side}"),
            None => name.to_string(),
        };
        let unit = f["unit"].as_str().unwrap_or("");
        if f["fail_at"].is_null() {
            summary.not_detected.push(label.clone());
        }
        for (id, d) in f["checks"].as_object().into_iter().flatten() {
            summary.detects.entry(id.clone()).or_default().push(format!(
                "{label} {} / {}",
                fmt_m(num(&d["warn_at"]), unit),
                fmt_m(num(&d["fail_at"]), unit)
            ));
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reality::readers::PointCloud;

    /// One point per HDL-64E laser at 10, 30 and 70 m, intensity 0.4; a grey 64×32 image; two
    /// cars.
    fn frame() -> (SensorModel, FrameData) {
        let model = SensorModel::hdl64e();
        let mut points = Vec::new();
        for el in &model.elevation_deg {
            for r in [10.0f32, 30.0, 70.0] {
                let e = (*el as f32).to_radians();
                points.push([r * e.cos(), 0.0, r * e.sin(), 0.4]);
            }
        }
        let car = KittiObject {
            class: "Car".into(),
            truncated: 0.0,
            occluded: 0,
            alpha_rad: 0.0,
            bbox_px: [0.0, 0.0, 10.0, 10.0],
            dims_m: [1.5, 1.8, 4.0],
            location_m: [1.0, 1.6, 10.0],
            rotation_y_rad: 0.0,
        };
        let f = FrameData {
            id: "000007".into(),
            lidar: Some(PointCloud { points, ring: None }),
            image: Some(image::RgbImage::from_fn(64, 32, |x, _| {
                image::Rgb([100, 120, if x < 32 { 80 } else { 160 }])
            })),
            labels: Some(vec![car.clone(), car]),
            calib: None,
            expects_calib: false,
        };
        (model, f)
    }

    fn pts(f: &FrameData) -> &[[f32; 4]] {
        &f.lidar.as_ref().unwrap().points
    }

    #[test]
    fn lidar_defects_do_what_they_say() {
        let (model, f) = frame();
        let n = pts(&f).len();
        let cut = damage(&model, &f, Family::RangeCut, 50.0);
        assert_eq!(pts(&cut).len(), 2 * n / 3, "the 70 m points go");
        let half = damage(&model, &f, Family::BeamLoss, 0.5);
        assert_eq!(pts(&half).len(), n / 2, "every other laser goes");
        let eighth = damage(&model, &f, Family::BeamLoss, 0.125);
        assert_eq!(pts(&eighth).len(), n - n / 8);
        let up = damage(&model, &f, Family::IntensityGain, 3.0);
        assert!(
            pts(&up).iter().all(|p| p[3] == 1.0),
            "clipped at full scale"
        );
        let high = damage(&model, &f, Family::MountHeight, 0.25);
        for (a, b) in pts(&f).iter().zip(pts(&high)) {
            assert!((a[2] - b[2] - 0.25).abs() < 1e-6);
        }
        let q = damage(&model, &f, Family::IntensityQuantisation, 0.25);
        assert!(pts(&q).iter().all(|p| p[3] == 0.5));
        let thin = damage(&model, &f, Family::Thinning, 0.5);
        let kept = pts(&thin).len() as f64 / n as f64;
        assert!((kept - 0.5).abs() < 0.12, "{kept}");
        let noisy = damage(&model, &f, Family::RangeNoise, 0.1);
        let dr: Vec<f32> = pts(&f)
            .iter()
            .zip(pts(&noisy))
            .map(|(a, b)| {
                let r = |p: &[f32; 4]| (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
                r(b) - r(a)
            })
            .collect();
        let sd = (dr.iter().map(|d| d * d).sum::<f32>() / dr.len() as f32).sqrt();
        assert!((sd - 0.1).abs() < 0.03, "range noise σ {sd}");
        // The same frame is damaged the same way every time.
        assert_eq!(pts(&thin), pts(&damage(&model, &f, Family::Thinning, 0.5)));
    }

    #[test]
    fn camera_and_label_defects_do_what_they_say() {
        let (model, f) = frame();
        let px = |f: &FrameData, x, y| f.image.as_ref().unwrap().get_pixel(x, y).0;
        let red = damage(&model, &f, Family::RedGain, 0.5);
        assert_eq!(px(&red, 0, 0), [50, 120, 80]);
        let gain = damage(&model, &f, Family::CameraGain, 1.5);
        assert_eq!(px(&gain, 40, 0), [150, 180, 240]);
        let blur = damage(&model, &f, Family::Blur, 2.0);
        let edge = px(&blur, 32, 16)[2];
        assert!(edge > 80 && edge < 160, "the edge is smoothed: {edge}");
        let vig = damage(&model, &f, Family::Vignetting, 0.4);
        assert!(px(&vig, 0, 0)[1] < px(&vig, 31, 16)[1]);
        let small = damage(&model, &f, Family::Resolution, 0.25);
        assert_eq!(small.image.as_ref().unwrap().dimensions(), (64, 32));
        let jpeg = damage(&model, &f, Family::Jpeg, 10.0);
        assert_ne!(jpeg.image, f.image);
        let shifted = damage(&model, &f, Family::BoxShift, 0.5);
        assert!((shifted.labels.as_ref().unwrap()[0].location_m[0] - 1.5).abs() < 1e-9);
        let bigger = damage(&model, &f, Family::BoxSize, 1.1);
        assert!((bigger.labels.as_ref().unwrap()[1].dims_m[2] - 4.4).abs() < 1e-9);
        let all_missed = damage(&model, &f, Family::MissedObjects, 1.0);
        assert!(all_missed.labels.as_ref().unwrap().is_empty());
    }

    #[test]
    fn families_parse_by_name_and_order_by_severity() {
        for f in Family::all() {
            assert_eq!(
                <Family as clap::ValueEnum>::from_str(&f.name(), false),
                Ok(f)
            );
            assert!(!f.magnitudes().contains(&f.identity()));
        }
        assert!(<Family as clap::ValueEnum>::from_str("gamma", false).is_err());
        let g = Family::IntensityGain;
        assert!(g.severity(0.5) > g.severity(0.8) && g.severity(2.0) > g.severity(1.25));
        let r = Family::RangeCut;
        assert!(r.severity(20.0) > r.severity(100.0));
    }
}
