//! Reality check: compare synthetic sensor statistics with recorded real drives, gate them
//! against a real-versus-real baseline, and write a validation report.
//!
//! Data flow: dataset dir + real drives ──stats (streaming, mergeable)──▶ profiles ──compare──▶
//! report (JSON → HTML/MD). Entry points for the CLI: [`run_check`] and [`run_profile`].

pub mod camera;
pub mod check;
pub mod contrast;
pub mod dataset;
pub mod error;
pub mod hist;
pub mod labels;
pub mod lidar;
pub mod lidar_decay;
pub mod metrics;
pub mod objects;
pub mod physical;
pub mod policy;
pub mod power;
pub mod preview;
pub mod profile;
pub mod readers;
pub mod report;
pub mod truth;

pub use check::{CheckResult, Verdict};
pub use dataset::Dataset;
pub use error::{RealityError, Result};
pub use lidar::SensorModel;
pub use physical::PhysicalTruth;
pub use policy::GatePolicy;
pub use profile::{FrameData, Profile};
pub use report::Report;

use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Where the real side of a comparison comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RealSource {
    Datasets(Vec<PathBuf>),
    Profile(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckOptions {
    pub synthetic: Vec<PathBuf>,
    pub real: RealSource,
    pub out_dir: PathBuf,
    pub policy: Option<PathBuf>,
    pub tier: Option<String>,
    /// Lidar model name (`hdl64e`, `hdl32e`); inferred from the data when absent.
    pub sensor: Option<String>,
    pub truth: PhysicalTruth,
    /// A `verisim power` result (power.json) whose detection table the report carries.
    pub power: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProfileOptions {
    pub inputs: Vec<PathBuf>,
    pub out: PathBuf,
    pub name: Option<String>,
    pub sensor: Option<String>,
    pub epsilon: Option<f64>,
    pub seed: u64,
}

fn sensor_by_name(name: Option<&str>) -> Result<Option<SensorModel>> {
    name.map(|n| {
        SensorModel::by_name(n).ok_or_else(|| {
            RealityError::Usage(format!("unknown sensor `{n}` (known: hdl64e, hdl32e)"))
        })
    })
    .transpose()
}

/// `verisim profile`: profiles real data and writes `NAME.profile.json`.
pub fn run_profile(opts: &ProfileOptions) -> Result<Profile> {
    let name = opts.name.clone().unwrap_or_else(|| {
        let f = opts
            .out
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("profile");
        f.strip_suffix(".profile.json")
            .or_else(|| f.strip_suffix(".json"))
            .unwrap_or(f)
            .to_string()
    });
    let sensor = sensor_by_name(opts.sensor.as_deref())?;
    let mut p = profile::profile_paths(&name, &opts.inputs, sensor.as_ref())?;
    if let Some(eps) = opts.epsilon {
        profile::apply_differential_privacy(&mut p, eps, opts.seed)?;
    }
    p.save(&opts.out)?;
    Ok(p)
}

fn summary_of(p: &Profile) -> report::DatasetSummary {
    report::DatasetSummary {
        name: p.name.clone(),
        sensor: p.sensor.name.clone(),
        frames: p.groups.iter().map(|g| g.frames as usize).sum(),
        groups: p.groups.len(),
        sources: p.sources.clone(),
        differential_privacy: p.differential_privacy.clone(),
        profile_software: format!("{} {}", p.software, p.software_version),
    }
}

/// Compares two profiles under a policy (already resolved for its tier).
pub fn compare(
    synth: &Profile,
    real: &Profile,
    policy: &GatePolicy,
    policy_name: &str,
    policy_text: &str,
    tier: Option<&str>,
    truth: &PhysicalTruth,
) -> Report {
    compare_with_fits(
        synth,
        real,
        policy,
        policy_name,
        policy_text,
        tier,
        truth,
        &physical::DatasetFits::default(),
    )
}

/// [`compare`] plus the fits made inside the synthetic dataset (camera contrast against depth,
/// lidar road returns against range), when it has the maps and labels they need.
#[allow(clippy::too_many_arguments)]
pub fn compare_with_fits(
    synth: &Profile,
    real: &Profile,
    policy: &GatePolicy,
    policy_name: &str,
    policy_text: &str,
    tier: Option<&str>,
    truth: &PhysicalTruth,
    fits: &physical::DatasetFits,
) -> Report {
    let checks = check::run_checks(synth, real, policy);
    let mut validity =
        check::validity_items("synthetic", &synth.validity, synth.total().lidar.points);
    validity.extend(check::validity_items(
        "real",
        &real.validity,
        real.total().lidar.points,
    ));
    let physical = physical::physical_checks(truth, fits, policy.physical_tolerance);
    let mut summary = report::Summary::default();
    for c in &checks {
        match c.verdict {
            Verdict::Pass => summary.pass += 1,
            Verdict::Warn => summary.warn += 1,
            Verdict::Fail => summary.fail += 1,
            Verdict::Info => summary.info += 1,
            Verdict::Skipped => summary.skipped += 1,
        }
    }
    let ok = validity.iter().filter(|v| v.pass).count();
    summary.validity_percent = if validity.is_empty() {
        100.0
    } else {
        100.0 * ok as f64 / validity.len() as f64
    };
    summary.physical_failed = physical.iter().filter(|p| !p.pass).count();
    let verdict = if summary.fail > 0 || ok < validity.len() || summary.physical_failed > 0 {
        Verdict::Fail
    } else if summary.warn > 0 {
        Verdict::Warn
    } else {
        Verdict::Pass
    };
    let software_version = env!("CARGO_PKG_VERSION").to_string();
    let provenance = vec![
        "entity report wasGeneratedBy activity verisim-check".into(),
        format!(
            "activity verisim-check used entity synthetic:{}",
            synth.name
        ),
        format!("activity verisim-check used entity real:{}", real.name),
        format!("activity verisim-check used entity policy:{policy_name}"),
        format!(
            "activity verisim-check wasAssociatedWith softwareAgent verisim {software_version}"
        ),
    ];
    Report {
        format: "verisim-reality-report/1".into(),
        verdict,
        summary,
        created_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        software: "verisim".into(),
        software_version,
        policy: policy_name.into(),
        policy_sha256: profile::hex(&Sha256::digest(policy_text.as_bytes())),
        tier: tier.map(str::to_string),
        synthetic: summary_of(synth),
        real: summary_of(real),
        provenance,
        validity,
        checks,
        physical,
        truth: report::TruthSource::default(),
        power: None,
    }
}

/// `verisim check`: profiles the synthetic data (and the real data, unless a profile is given),
/// compares, and writes report.json, report.md and report.html into `out_dir`.
pub fn run_check(opts: &CheckOptions) -> Result<Report> {
    let (policy, policy_name, policy_text) = match &opts.policy {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| RealityError::io(p, e))?;
            (GatePolicy::parse(p, &text)?, p.display().to_string(), text)
        }
        None => (
            GatePolicy::shipped_default(),
            "assets/policy/default.ron (shipped)".into(),
            policy::DEFAULT_POLICY_RON.to_string(),
        ),
    };
    let policy = policy.for_tier(opts.tier.as_deref())?;
    let sensor = sensor_by_name(opts.sensor.as_deref())?;
    // Read before any work: a broken power file is bad input, not a half-made report.
    let power = opts.power.as_deref().map(power::read_summary).transpose()?;
    let real = match &opts.real {
        RealSource::Profile(p) => Profile::load(p)?,
        RealSource::Datasets(paths) => profile::profile_paths("real", paths, sensor.as_ref())?,
    };
    let synth_ds = Dataset::open_many(&opts.synthetic)?;
    let synth_model = sensor.clone().unwrap_or_else(|| synth_ds.inferred_sensor());
    let synth = profile::profile_dataset("synthetic", &synth_ds, &synth_model)?;
    // Ground truth from the synthetic dataset itself (scenario.ron, manifest draws); flags
    // override field by field.
    let truth = truth::resolve(&opts.synthetic, &opts.truth)?;
    // The fits need the camera's vignetting and the lidar's intensity model, known only for
    // verisim datasets.
    let fits = physical::DatasetFits {
        camera: match truth.camera_vignetting {
            Some(v) => contrast::fit_dataset(&synth_ds, v)?,
            None => None,
        },
        lidar: match &truth.lidar_decay {
            Some(m) => lidar_decay::fit_dataset(&synth_ds, m)?,
            None => None,
        },
    };
    let mut report = compare_with_fits(
        &synth,
        &real,
        &policy,
        &policy_name,
        &policy_text,
        opts.tier.as_deref(),
        &truth.truth,
        &fits,
    );
    report.truth = report::TruthSource {
        scenario: truth.scenario.map(|p| p.display().to_string()),
        fog_visibility_m: truth.truth.fog_visibility_m,
        rain_mm_per_h: truth.truth.rain_mm_per_h,
        snow_mm_per_h: truth.truth.snow_mm_per_h,
        friction_mu: truth.truth.friction_mu,
        notes: truth.notes,
    };
    report.power = power;
    report.write(&opts.out_dir)?;
    Ok(report)
}
