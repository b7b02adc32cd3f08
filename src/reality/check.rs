//! Checks: each compares one statistic of the synthetic profile with the real one, scores it
//! with a distance, and gates the score against a real-versus-real baseline computed from
//! disjoint groups (drives, or frames when drives are unknown) of the real profile.

use super::camera::CameraScalars;
use super::hist::{Hist, median};
use super::lidar::LidarScalars;
use super::metrics;
use super::policy::GatePolicy;
use super::profile::{FrameRecord, GroupAgg, Profile, SplitMix64, Validity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
    /// Computed but not gated by the policy.
    Info,
    /// Not computable (a side lacks the data).
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Lidar,
    Camera,
    Labels,
    /// Per-object statistics from label boxes and the lidar points inside them.
    Objects,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Jensen–Shannon distance, base 2, in [0, 1].
    JsDistanceBase2,
    /// |median(synth) − median(real)| / |median(real)| over per-frame values.
    RelativeMedianDifference,
    /// |median(synth) − median(real)| over per-frame values.
    AbsoluteMedianDifference,
    /// |ln((median(synth) + ε)/(median(real) + ε))| for positive quantities spanning orders of
    /// magnitude (sharpness, noise); symmetric in up and down.
    LogMedianRatio,
    /// Mean absolute difference of two curves.
    MeanAbsoluteDifference,
    /// 4·‖mean pmf(A) − mean pmf(B)‖² (biased RBF MMD, σ = 0.5).
    BevMmd,
    /// |mean(synth) − mean(real)| over per-frame values (shares of frames for 0/1 values).
    AbsoluteMeanDifference,
}

type ScalarFn = fn(&FrameRecord) -> Option<f64>;

#[derive(Clone, Copy)]
enum Stat {
    Hist(fn(&GroupAgg) -> &Hist),
    Vector(fn(&GroupAgg) -> Vec<f64>),
    Scalar(ScalarFn, ScalarMetric),
    Curve(fn(&GroupAgg) -> Vec<f64>, &'static str),
    BevJsd,
    BevMmd,
}

#[derive(Clone, Copy)]
enum ScalarMetric {
    Relative,
    Absolute,
    LogRatio(f64),
    /// Difference of means: for per-frame 0/1 values, of the shares of frames.
    Share,
}
use ScalarMetric::{Absolute as ABS, LogRatio as LOG, Relative as REL, Share as SHARE};

struct CheckDef {
    id: &'static str,
    modality: Modality,
    statistic: &'static str,
    stat: Stat,
}

fn ls(f: &FrameRecord) -> Option<&LidarScalars> {
    f.lidar.as_ref()
}
fn cs(f: &FrameRecord) -> Option<&CameraScalars> {
    f.camera.as_ref()
}

macro_rules! lsc {
    ($field:ident) => {
        |f: &FrameRecord| ls(f).map(|s| s.$field)
    };
}
macro_rules! csc {
    ($field:ident) => {
        |f: &FrameRecord| cs(f).map(|s| s.$field)
    };
}

fn defs() -> Vec<CheckDef> {
    use Modality::*;
    vec![
        CheckDef {
            id: "lidar.points_per_frame",
            modality: Lidar,
            statistic: "points per frame between 1 m and the sensor's maximum range",
            stat: Stat::Scalar(lsc!(points_in_range), REL),
        },
        CheckDef {
            id: "lidar.range_hist",
            modality: Lidar,
            statistic: "range histogram, 0–120 m, 1 m bins (per-frame pmfs summed)",
            stat: Stat::Hist(|g| &g.lidar.range_m),
        },
        CheckDef {
            id: "lidar.far_fraction",
            modality: Lidar,
            statistic: "per-frame fraction of points beyond 40 m",
            stat: Stat::Scalar(lsc!(far_fraction), ABS),
        },
        CheckDef {
            id: "lidar.beyond_half_range",
            modality: Lidar,
            statistic: "per-frame share of points beyond half the sensor's maximum range (60 m for the HDL-64E): a lidar that loses its far returns",
            stat: Stat::Scalar(lsc!(beyond_half_range), LOG(1e-4)),
        },
        CheckDef {
            id: "lidar.range_p99",
            modality: Lidar,
            statistic: "per-frame 99th percentile of range (m)",
            stat: Stat::Scalar(lsc!(range_p99_m), REL),
        },
        CheckDef {
            id: "lidar.intensity_hist",
            modality: Lidar,
            statistic: "intensity histogram (normalised to sensor full scale), 50 bins",
            stat: Stat::Hist(|g| &g.lidar.intensity),
        },
        CheckDef {
            id: "lidar.intensity_mean",
            modality: Lidar,
            statistic: "per-frame mean intensity (normalised)",
            stat: Stat::Scalar(lsc!(mean_intensity), REL),
        },
        CheckDef {
            id: "lidar.intensity_by_range",
            modality: Lidar,
            statistic: "intensity x range-band histogram (12 bands of 10 m x 20 intensity bins)",
            stat: Stat::Vector(|g| g.lidar.intensity_by_range_band.as_f64()),
        },
        CheckDef {
            id: "lidar.z_hist",
            modality: Lidar,
            statistic: "height histogram, −5…5 m, r_xy < 40 m",
            stat: Stat::Hist(|g| &g.lidar.z_m),
        },
        CheckDef {
            id: "lidar.mount_height",
            modality: Lidar,
            statistic: "per-frame lidar height above the road (m), from the ground mode at 4–25 m",
            stat: Stat::Scalar(lsc!(mount_height_m), REL),
        },
        CheckDef {
            id: "lidar.beam_share",
            modality: Lidar,
            statistic: "share of points per beam",
            stat: Stat::Hist(|g| &g.lidar.beam_share),
        },
        CheckDef {
            id: "lidar.beam_drop_rate",
            modality: Lidar,
            statistic: "ray-drop rate per beam (1 − returns/expected rays)",
            stat: Stat::Curve(|g| g.lidar.beam_drop_rate(), "beam"),
        },
        CheckDef {
            id: "lidar.drop_map",
            modality: Lidar,
            statistic: "ray-drop rate per beam x 10° azimuth sector",
            stat: Stat::Curve(|g| g.lidar.drop_map(), "beam x sector"),
        },
        CheckDef {
            id: "lidar.beam_elevation",
            modality: Lidar,
            statistic: "mean elevation per beam (deg)",
            stat: Stat::Curve(|g| g.lidar.beam_elevation_deg(), "beam"),
        },
        CheckDef {
            id: "lidar.bev_jsd",
            modality: Lidar,
            statistic: "LiDARGen BEV density, 100x100 over ±80 m, 3 m < r < 70 m",
            stat: Stat::BevJsd,
        },
        CheckDef {
            id: "lidar.bev_mmd",
            modality: Lidar,
            statistic: "LiDARGen BEV density, MMD (RBF σ = 0.5, closed form)",
            stat: Stat::BevMmd,
        },
        CheckDef {
            id: "camera.luminance_hist",
            modality: Camera,
            statistic: "luminance histogram (0.2126 R + 0.7152 G + 0.0722 B), 64 bins",
            stat: Stat::Hist(|g| &g.camera.luminance),
        },
        CheckDef {
            id: "camera.luminance_median",
            modality: Camera,
            statistic: "per-frame median luminance",
            stat: Stat::Scalar(csc!(luminance_median), REL),
        },
        CheckDef {
            id: "camera.luminance_p99",
            modality: Camera,
            statistic: "per-frame 99th percentile of luminance",
            stat: Stat::Scalar(csc!(luminance_p99), REL),
        },
        CheckDef {
            id: "camera.clipped_high",
            modality: Camera,
            statistic: "per-frame fraction of pixels with a channel at 255",
            stat: Stat::Scalar(csc!(clipped_high_fraction), ABS),
        },
        CheckDef {
            id: "camera.clipped_low",
            modality: Camera,
            statistic: "per-frame fraction of pixels with every channel ≤ 1",
            stat: Stat::Scalar(csc!(clipped_low_fraction), ABS),
        },
        CheckDef {
            id: "camera.opponent_rg_hist",
            modality: Camera,
            statistic: "opponent colour (R−G)/√2 histogram",
            stat: Stat::Hist(|g| &g.camera.opponent_rg),
        },
        CheckDef {
            id: "camera.opponent_yb_hist",
            modality: Camera,
            statistic: "opponent colour (R+G−2B)/√6 histogram",
            stat: Stat::Hist(|g| &g.camera.opponent_yb),
        },
        CheckDef {
            id: "camera.wb_r_over_g",
            modality: Camera,
            statistic: "per-frame white balance mean(R)/mean(G)",
            stat: Stat::Scalar(csc!(wb_r_over_g), REL),
        },
        CheckDef {
            id: "camera.wb_b_over_g",
            modality: Camera,
            statistic: "per-frame white balance mean(B)/mean(G)",
            stat: Stat::Scalar(csc!(wb_b_over_g), REL),
        },
        CheckDef {
            id: "camera.hue_hist",
            modality: Camera,
            statistic: "hue angle atan2(yb, rg) of chromatic pixels, 36 bins",
            stat: Stat::Hist(|g| &g.camera.hue),
        },
        CheckDef {
            id: "camera.foliage_hue",
            modality: Camera,
            statistic: "per-frame log odds of R > B among green-dominant pixels (foliage is \
                        yellow-green, not cyan-green; channel-order check)",
            stat: Stat::Scalar(csc!(foliage_red_blue_log_odds), ABS),
        },
        CheckDef {
            id: "camera.foliage_yellow_green_share",
            modality: Camera,
            statistic: "share of frames whose green-dominant pixels have R > B more often than \
                        B > R (every daylight frame with vegetation should)",
            stat: Stat::Scalar(
                |f| {
                    cs(f).map(|s| {
                        let x = s.foliage_red_blue_log_odds;
                        if x.is_nan() {
                            x
                        } else {
                            f64::from(u8::from(x > 0.0))
                        }
                    })
                },
                SHARE,
            ),
        },
        CheckDef {
            id: "camera.spectrum_slope",
            modality: Camera,
            statistic: "per-frame power-spectrum slope α (P ∝ f^−α)",
            stat: Stat::Scalar(csc!(spectrum_slope_alpha), REL),
        },
        CheckDef {
            id: "camera.high_freq_energy",
            modality: Camera,
            statistic: "per-frame power fraction above 1/4 of the sampling frequency",
            stat: Stat::Scalar(csc!(high_freq_energy_fraction), LOG(1e-9)),
        },
        CheckDef {
            id: "camera.spectrum",
            modality: Camera,
            statistic: "mean log10 radially averaged power spectrum",
            stat: Stat::Curve(|g| g.camera.mean_log10_power(), "cycles per 256 px"),
        },
        CheckDef {
            id: "camera.edge_density",
            modality: Camera,
            statistic: "per-frame Sobel edge density",
            stat: Stat::Scalar(csc!(edge_density), LOG(1e-9)),
        },
        CheckDef {
            id: "camera.laplacian_variance",
            modality: Camera,
            statistic: "per-frame variance of the Laplacian (sharpness)",
            stat: Stat::Scalar(csc!(laplacian_variance), LOG(1e-9)),
        },
        CheckDef {
            id: "camera.noise_sigma",
            modality: Camera,
            statistic: "per-frame Immerkær noise σ",
            stat: Stat::Scalar(csc!(noise_sigma), LOG(1e-9)),
        },
        CheckDef {
            id: "camera.noise_b_over_r",
            modality: Camera,
            statistic: "per-frame Immerkær σ of blue over red (channel-order fingerprint)",
            stat: Stat::Scalar(csc!(noise_b_over_r), REL),
        },
        CheckDef {
            id: "camera.noise_by_brightness",
            modality: Camera,
            statistic: "Immerkær noise σ per brightness bin (32 levels)",
            stat: Stat::Curve(|g| g.camera.noise_sigma_by_brightness(), "brightness bin"),
        },
        CheckDef {
            id: "labels.objects_per_frame",
            modality: Labels,
            statistic: "objects per frame (DontCare excluded)",
            stat: Stat::Scalar(|f| f.objects, REL),
        },
        CheckDef {
            id: "labels.class_share",
            modality: Labels,
            statistic: "objects per class",
            stat: Stat::Vector(|g| g.labels.class_vector()),
        },
        CheckDef {
            id: "labels.distance_hist",
            modality: Labels,
            statistic: "object distance histogram (m)",
            stat: Stat::Hist(|g| &g.labels.distance_m),
        },
        CheckDef {
            id: "labels.occlusion_hist",
            modality: Labels,
            statistic: "occlusion levels 0–3",
            stat: Stat::Hist(|g| &g.labels.occlusion),
        },
        CheckDef {
            id: "labels.length_hist",
            modality: Labels,
            statistic: "box length histogram (m)",
            stat: Stat::Hist(|g| &g.labels.length_m),
        },
        CheckDef {
            id: "labels.height_hist",
            modality: Labels,
            statistic: "box height histogram (m)",
            stat: Stat::Hist(|g| &g.labels.height_m),
        },
        CheckDef {
            id: "objects.car_points",
            modality: Objects,
            statistic: "points inside each Car box, log10(1 + n·(d/10 m)²)",
            stat: Stat::Hist(|g| &g.objects.points_per_car),
        },
        CheckDef {
            id: "objects.car_inside_share",
            modality: Objects,
            statistic: "per Car, share of the points within 0.4 m of its box that lie inside it",
            stat: Stat::Hist(|g| &g.objects.inside_share),
        },
        CheckDef {
            id: "objects.car_height_profile",
            modality: Objects,
            statistic: "height of Car points over their box height (each car weighs one)",
            stat: Stat::Hist(|g| &g.objects.height_profile),
        },
        CheckDef {
            id: "objects.car_side_view",
            modality: Objects,
            statistic: "Car points in box coordinates, side view (8 along × 5 up)",
            stat: Stat::Hist(|g| &g.objects.side_view),
        },
        CheckDef {
            id: "objects.car_top_view",
            modality: Objects,
            statistic: "Car points in box coordinates, top view (8 along × 4 from the centre line)",
            stat: Stat::Hist(|g| &g.objects.top_view),
        },
        CheckDef {
            id: "objects.car_intensity",
            modality: Objects,
            statistic: "intensity of the points inside Car boxes (each car weighs one)",
            stat: Stat::Hist(|g| &g.objects.intensity),
        },
        CheckDef {
            id: "objects.car_alpha",
            modality: Objects,
            statistic: "Car observation angle alpha (rad)",
            stat: Stat::Hist(|g| &g.objects.alpha_rad),
        },
        CheckDef {
            id: "objects.car_width",
            modality: Objects,
            statistic: "Car box width (m)",
            stat: Stat::Hist(|g| &g.objects.width_m),
        },
        CheckDef {
            id: "objects.car_aspect_2d",
            modality: Objects,
            statistic: "Car 2D box ln(width / height)",
            stat: Stat::Hist(|g| &g.objects.aspect_2d),
        },
    ]
}

/// Ids of every check, in report order.
pub fn check_ids() -> Vec<&'static str> {
    defs().iter().map(|d| d.id).collect()
}

/// A subset of a profile: merged aggregates plus the per-frame records.
pub struct View {
    pub agg: GroupAgg,
    pub frames: Vec<FrameRecord>,
}

impl View {
    pub fn of(p: &Profile, groups: &[usize]) -> View {
        let mut agg = GroupAgg::new("view", &p.sensor);
        for &g in groups {
            if let Some(x) = p.groups.get(g) {
                agg.merge(x);
            }
        }
        let frames = p
            .frames
            .iter()
            .filter(|f| groups.contains(&f.group))
            .cloned()
            .collect();
        View { agg, frames }
    }
    pub fn all(p: &Profile) -> View {
        Self::of(p, &(0..p.groups.len()).collect::<Vec<_>>())
    }
    /// Samples of a modality on this side: lidar frames, images, labelled objects, or cars.
    fn samples(&self, m: Modality) -> (u64, &'static str) {
        match m {
            Modality::Lidar => (self.agg.lidar.frames, "lidar frames"),
            Modality::Camera => (self.agg.camera.frames, "images"),
            Modality::Labels => (self.agg.labels.objects, "labelled objects"),
            Modality::Objects => (self.agg.objects.cars, "cars"),
        }
    }
    fn has(&self, m: Modality) -> bool {
        self.samples(m).0 > 0
    }
}

/// Plot data carried into the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Plot {
    None,
    Hist {
        lo: f64,
        hi: f64,
        synthetic: Vec<f64>,
        real: Vec<f64>,
    },
    Cdf {
        synthetic: Vec<f64>,
        real: Vec<f64>,
    },
    Curve {
        x_label: String,
        synthetic: Vec<f64>,
        real: Vec<f64>,
    },
    Heat {
        rows: usize,
        cols: usize,
        extent_m: f64,
        synthetic: Vec<f64>,
        real: Vec<f64>,
    },
}

struct Eval {
    score: f64,
    synthetic: f64,
    real: f64,
    extra: BTreeMap<String, f64>,
    plot: Plot,
    metric: MetricKind,
}

fn scalars(v: &View, f: ScalarFn) -> Vec<f64> {
    v.frames
        .iter()
        .filter_map(f)
        .filter(|x| x.is_finite())
        .collect()
}

fn mean_bev(a: &GroupAgg) -> Vec<f64> {
    let n = a.lidar.frames.max(1) as f64;
    a.lidar.bev.values.iter().map(|&v| v as f64 / n).collect()
}

/// Downsamples a 100x100 grid to 50x50 for plotting.
fn coarse(v: &[f64], n: usize) -> Vec<f64> {
    let m = n / 2;
    let mut out = vec![0.0; m * m];
    for r in 0..n {
        for c in 0..n {
            out[(r / 2) * m + c / 2] += v[r * n + c];
        }
    }
    out
}

fn evaluate(def: &CheckDef, s: &View, r: &View, with_plot: bool) -> Option<Eval> {
    if !s.has(def.modality) || !r.has(def.modality) {
        return None;
    }
    let mut extra = BTreeMap::new();
    match def.stat {
        Stat::Hist(h) => {
            let (hs, hr) = (h(&s.agg), h(&r.agg));
            let score = metrics::js_distance_base2(&hs.counts, &hr.counts)?;
            if let Some(w) = metrics::w1_hist(&hs.counts, &hr.counts, hr.width()) {
                let sd = hr.std();
                if sd > 0.0 {
                    extra.insert("w1_normalised".into(), w / sd);
                }
            }
            let plot = if with_plot {
                Plot::Hist {
                    lo: hr.lo,
                    hi: hr.hi,
                    synthetic: hs.pmf(),
                    real: hr.pmf(),
                }
            } else {
                Plot::None
            };
            Some(Eval {
                score,
                synthetic: hs.mean(),
                real: hr.mean(),
                extra,
                plot,
                metric: MetricKind::JsDistanceBase2,
            })
        }
        Stat::Vector(f) => {
            let (a, b) = (f(&s.agg), f(&r.agg));
            let score = metrics::js_distance_base2(&a, &b)?;
            let norm = |v: &[f64]| {
                let t: f64 = v.iter().sum();
                v.iter()
                    .map(|x| if t > 0.0 { x / t } else { 0.0 })
                    .collect::<Vec<_>>()
            };
            let plot = if with_plot {
                Plot::Curve {
                    x_label: "bin".into(),
                    synthetic: norm(&a),
                    real: norm(&b),
                }
            } else {
                Plot::None
            };
            Some(Eval {
                score,
                synthetic: f64::NAN,
                real: f64::NAN,
                extra,
                plot,
                metric: MetricKind::JsDistanceBase2,
            })
        }
        Stat::Scalar(f, kind) => {
            let (a, b) = (scalars(s, f), scalars(r, f));
            if a.is_empty() || b.is_empty() {
                return None;
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let (ms, mr) = match kind {
                SHARE => (mean(&a), mean(&b)),
                _ => (median(&a), median(&b)),
            };
            let score = match kind {
                REL => metrics::relative_median_difference(&a, &b)?,
                ABS | SHARE => (ms - mr).abs(),
                LOG(eps) => ((ms + eps) / (mr + eps)).ln().abs(),
            };
            if let Some(ks) = metrics::ks_two_sample(&a, &b) {
                extra.insert("ks_d".into(), ks.d);
                extra.insert("ks_p_value".into(), ks.p_value);
                extra.insert("ks_d_critical_05".into(), ks.d_crit_05);
            }
            if let Some(w) = metrics::w1_normalised(&a, &b) {
                extra.insert("w1_normalised".into(), w);
            }
            let plot = if with_plot {
                Plot::Cdf {
                    synthetic: a,
                    real: b,
                }
            } else {
                Plot::None
            };
            let metric = match kind {
                REL => MetricKind::RelativeMedianDifference,
                ABS => MetricKind::AbsoluteMedianDifference,
                LOG(_) => MetricKind::LogMedianRatio,
                SHARE => MetricKind::AbsoluteMeanDifference,
            };
            Some(Eval {
                score,
                synthetic: ms,
                real: mr,
                extra,
                plot,
                metric,
            })
        }
        Stat::Curve(f, x_label) => {
            let (a, b) = (f(&s.agg), f(&r.agg));
            let score = metrics::mean_abs_difference(&a, &b)?;
            let mean = |v: &[f64]| {
                let fin: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
                fin.iter().sum::<f64>() / fin.len().max(1) as f64
            };
            let (sm, rm) = (mean(&a), mean(&b));
            let plot = if with_plot {
                Plot::Curve {
                    x_label: x_label.into(),
                    synthetic: a,
                    real: b,
                }
            } else {
                Plot::None
            };
            Some(Eval {
                score,
                synthetic: sm,
                real: rm,
                extra,
                plot,
                metric: MetricKind::MeanAbsoluteDifference,
            })
        }
        Stat::BevJsd | Stat::BevMmd => {
            let (a, b) = (mean_bev(&s.agg), mean_bev(&r.agg));
            let n = s.agg.lidar.bev.rows;
            let plot = if with_plot {
                Plot::Heat {
                    rows: n / 2,
                    cols: n / 2,
                    extent_m: super::lidar::BEV_HALF_EXTENT_M,
                    synthetic: coarse(&a, n),
                    real: coarse(&b, n),
                }
            } else {
                Plot::None
            };
            if matches!(def.stat, Stat::BevJsd) {
                let score = metrics::js_distance_base2(&a, &b)?;
                if let Some(j) = metrics::js_distance_scipy(&a, &b) {
                    extra.insert("js_distance_natural_log_scipy".into(), j);
                }
                Some(Eval {
                    score,
                    synthetic: f64::NAN,
                    real: f64::NAN,
                    extra,
                    plot,
                    metric: MetricKind::JsDistanceBase2,
                })
            } else {
                let score = metrics::bev_mmd_closed_form(&a, &b)?;
                Some(Eval {
                    score,
                    synthetic: f64::NAN,
                    real: f64::NAN,
                    extra,
                    plot,
                    metric: MetricKind::BevMmd,
                })
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Number of disjoint real-versus-real splits scored.
    pub splits: usize,
    pub group_sizes: (usize, usize),
    pub median: f64,
    /// The policy's quantile of the split scores (nearest rank).
    pub upper: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub pass: f64,
    pub warn: f64,
    /// "baseline" or "floor".
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub modality: Modality,
    pub statistic: String,
    pub metric: Option<MetricKind>,
    /// Summary value of the statistic on each side (median, mean or NaN when not meaningful).
    pub synthetic_value: Option<f64>,
    pub real_value: Option<f64>,
    pub score: Option<f64>,
    pub baseline: Option<Baseline>,
    pub thresholds: Option<Thresholds>,
    pub gated: bool,
    pub verdict: Verdict,
    pub extra: BTreeMap<String, f64>,
    pub note: String,
    #[serde(default = "plot_none")]
    pub plot: Plot,
}

fn plot_none() -> Plot {
    Plot::None
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn binomial(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| acc * (n - i) as u128 / (i + 1) as u128)
}

/// Disjoint splits of `g` groups into halves: every split when there are at most `max`, else
/// `max` random ones. Returns (A, B) index lists.
pub fn baseline_splits(g: usize, max: usize, seed: u64) -> Vec<(Vec<usize>, Vec<usize>)> {
    if g < 2 {
        return Vec::new();
    }
    let k = g / 2;
    let mut out = Vec::new();
    if binomial(g, k) <= max as u128 {
        // enumerate k-subsets in lexicographic order
        let mut idx: Vec<usize> = (0..k).collect();
        loop {
            // for even g each unordered split appears twice; keep the one with group 0 in A
            if g % 2 == 1 || idx.contains(&0) {
                let b: Vec<usize> = (0..g).filter(|i| !idx.contains(i)).collect();
                out.push((idx.clone(), b));
            }
            let mut i = k;
            while i > 0 && idx[i - 1] == g - k + i - 1 {
                i -= 1;
            }
            if i == 0 {
                return out;
            }
            idx[i - 1] += 1;
            for j in i..k {
                idx[j] = idx[j - 1] + 1;
            }
        }
    }
    let mut rng = SplitMix64(seed);
    for _ in 0..max {
        let mut perm: Vec<usize> = (0..g).collect();
        for i in (1..g).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            perm.swap(i, j);
        }
        let mut a = perm[..k].to_vec();
        let mut b = perm[k..].to_vec();
        a.sort();
        b.sort();
        out.push((a, b));
    }
    out
}

fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[rank - 1]
}

/// Runs every check of `synth` against `real`.
pub fn run_checks(synth: &Profile, real: &Profile, policy: &GatePolicy) -> Vec<CheckResult> {
    let sv = View::all(synth);
    let rv = View::all(real);
    let splits = baseline_splits(real.groups.len(), policy.max_splits, policy.seed);
    let split_views: Vec<(View, View)> = splits
        .iter()
        .map(|(a, b)| (View::of(real, a), View::of(real, b)))
        .collect();
    let sizes = splits.first().map_or((0, 0), |(a, b)| (a.len(), b.len()));
    defs()
        .iter()
        .map(|def| {
            let cp = policy.check(def.id);
            let eval = evaluate(def, &sv, &rv, true);
            let mut bs: Vec<f64> = split_views
                .iter()
                .filter_map(|(a, b)| evaluate(def, a, b, false).map(|e| e.score))
                .filter(|x| x.is_finite())
                .collect();
            bs.sort_by(f64::total_cmp);
            let baseline = (!bs.is_empty()).then(|| Baseline {
                splits: bs.len(),
                group_sizes: sizes,
                median: median(&bs),
                upper: nearest_rank(&bs, policy.upper_quantile),
            });
            let thresholds = match &baseline {
                Some(b) => Thresholds {
                    pass: (policy.pass_factor * b.upper).max(cp.min_pass),
                    warn: (policy.warn_factor * b.upper)
                        .max(cp.min_pass * policy.warn_factor / policy.pass_factor),
                    source: "baseline".into(),
                },
                None => Thresholds {
                    pass: cp.floor_pass,
                    warn: cp.floor_warn,
                    source: "floor".into(),
                },
            };
            let Some(e) = eval else {
                return CheckResult {
                    id: def.id.into(),
                    modality: def.modality,
                    statistic: def.statistic.into(),
                    metric: None,
                    synthetic_value: None,
                    real_value: None,
                    score: None,
                    baseline: None,
                    thresholds: None,
                    gated: cp.gate,
                    verdict: Verdict::Skipped,
                    extra: BTreeMap::new(),
                    note: "not computable: one side has no data for this statistic".into(),
                    plot: Plot::None,
                };
            };
            let (real_samples, unit) = rv.samples(def.modality);
            let too_few = cp.gate && real_samples < cp.min_real_samples;
            let note = if too_few {
                format!(
                    "not gated: the real side holds {real_samples} {unit}, and this check gates from {} (fewer leave a real-versus-real baseline too wide to catch anything)",
                    cp.min_real_samples
                )
            } else {
                String::new()
            };
            let verdict = if !cp.gate || too_few {
                Verdict::Info
            } else if !e.score.is_finite() {
                Verdict::Fail
            } else if e.score <= thresholds.pass {
                Verdict::Pass
            } else if e.score <= thresholds.warn {
                Verdict::Warn
            } else {
                Verdict::Fail
            };
            CheckResult {
                id: def.id.into(),
                modality: def.modality,
                statistic: def.statistic.into(),
                metric: Some(e.metric),
                synthetic_value: finite(e.synthetic),
                real_value: finite(e.real),
                score: Some(e.score),
                baseline,
                thresholds: Some(thresholds),
                gated: cp.gate && !too_few,
                verdict,
                extra: e.extra,
                note,
                plot: e.plot,
            }
        })
        .collect()
}

/// One data-validity expectation (SDMetrics' diagnostic idea): must hold 100%.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidityItem {
    pub dataset: String,
    pub expectation: String,
    pub observed_violations: u64,
    pub out_of: u64,
    pub pass: bool,
}

pub fn validity_items(dataset: &str, v: &Validity, points_in_range: u64) -> Vec<ValidityItem> {
    let mut out = Vec::new();
    let mut item = |e: &str, bad: u64, of: u64| {
        out.push(ValidityItem {
            dataset: dataset.into(),
            expectation: e.into(),
            observed_violations: bad,
            out_of: of,
            pass: bad == 0,
        });
    };
    let l = &v.lidar;
    if l.points > 0 {
        item("lidar values are finite", l.non_finite, l.points);
        item(
            "lidar intensity within [0, sensor full scale] (units)",
            l.intensity_out_of_range,
            l.points,
        );
        item(
            "lidar points within 1.5x the sensor's maximum range (metres)",
            l.beyond_max_range,
            l.points,
        );
        let out_of_range = l.points.saturating_sub(points_in_range + l.non_finite);
        item(
            "at least half the lidar points within the sensor's range (units are metres)",
            u64::from(out_of_range * 2 > l.points),
            1,
        );
        item(
            "ring index within the sensor's beam count",
            l.ring_out_of_range,
            l.points,
        );
    }
    if v.images > 0 {
        item("images at least 256x256", v.images_too_small, v.images);
    }
    if v.frames_needing_calib > 0 {
        item(
            "calibration present with P2 and Tr_velo_to_cam",
            v.calib_missing,
            v.frames_needing_calib,
        );
    }
    if v.labels.objects > 0 {
        let lv = &v.labels;
        item("label class is a KITTI class", lv.unknown_class, lv.objects);
        item(
            "label truncation within [0, 1]",
            lv.truncation_out_of_range,
            lv.objects,
        );
        item(
            "label occlusion within 0..=3",
            lv.occlusion_out_of_range,
            lv.objects,
        );
        item(
            "label box dimensions positive",
            lv.non_positive_dims,
            lv.objects,
        );
        item(
            "label 2D box ordered (x1 ≤ x2, y1 ≤ y2)",
            lv.bad_bbox,
            lv.objects,
        );
    }
    out
}
