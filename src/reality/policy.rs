//! Gate policy (RON): pass/warn factors against the real-versus-real baseline's upper bound,
//! per-check floors used when no baseline exists, and per-use-tier overrides.

use super::error::{RealityError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The shipped default policy.
pub const DEFAULT_POLICY_RON: &str = include_str!("../../assets/policy/default.ron");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckPolicy {
    /// A gated check decides the verdict; others are reported as `info`.
    pub gate: bool,
    /// Thresholds used when no baseline exists.
    pub floor_pass: f64,
    pub floor_warn: f64,
    /// Lower bound on the pass threshold even with a baseline (guards a baseline of ~0).
    pub min_pass: f64,
    /// The check gates only when the real side holds at least this many samples of its kind
    /// (cars for `objects.*`, lidar frames, images or labelled objects for the others); with
    /// fewer, the real-versus-real baseline is too wide to catch anything, and the check is
    /// reported as `info` with the count.
    pub min_real_samples: u64,
}

impl Default for CheckPolicy {
    fn default() -> Self {
        Self {
            gate: true,
            floor_pass: 0.1,
            floor_warn: 0.2,
            min_pass: 0.0,
            min_real_samples: 0,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckOverride {
    pub gate: Option<bool>,
    pub floor_pass: Option<f64>,
    pub floor_warn: Option<f64>,
    pub min_pass: Option<f64>,
    pub min_real_samples: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TierOverride {
    pub pass_factor: Option<f64>,
    pub warn_factor: Option<f64>,
    pub checks: BTreeMap<String, CheckOverride>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatePolicy {
    pub pass_factor: f64,
    pub warn_factor: f64,
    /// Most baseline splits evaluated (all splits when there are fewer).
    pub max_splits: usize,
    /// Quantile of the split scores taken as the baseline's upper bound.
    pub upper_quantile: f64,
    pub seed: u64,
    /// Tolerated relative error of physical-consistency estimates.
    pub physical_tolerance: f64,
    pub default_check: CheckPolicy,
    pub checks: BTreeMap<String, CheckPolicy>,
    pub tiers: BTreeMap<String, TierOverride>,
}

impl Default for GatePolicy {
    fn default() -> Self {
        Self {
            pass_factor: 1.5,
            warn_factor: 3.0,
            max_splits: 256,
            upper_quantile: 0.95,
            seed: 0x5eed,
            physical_tolerance: 0.25,
            default_check: CheckPolicy::default(),
            checks: BTreeMap::new(),
            tiers: BTreeMap::new(),
        }
    }
}

impl GatePolicy {
    pub fn parse(path: &Path, text: &str) -> Result<GatePolicy> {
        ron::Options::default()
            .from_str::<GatePolicy>(text)
            .map_err(|e| RealityError::Policy {
                path: path.into(),
                what: e.to_string(),
            })
    }

    pub fn shipped_default() -> GatePolicy {
        Self::parse(Path::new("assets/policy/default.ron"), DEFAULT_POLICY_RON).unwrap_or_default()
    }

    pub fn load(path: &Path) -> Result<GatePolicy> {
        let text = std::fs::read_to_string(path).map_err(|e| RealityError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// The policy with a tier's overrides applied.
    pub fn for_tier(&self, tier: Option<&str>) -> Result<GatePolicy> {
        let Some(t) = tier else {
            return Ok(self.clone());
        };
        let o = self.tiers.get(t).ok_or_else(|| {
            RealityError::Usage(format!(
                "unknown tier `{t}` (policy has: {})",
                self.tiers.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let mut p = self.clone();
        if let Some(f) = o.pass_factor {
            p.pass_factor = f;
        }
        if let Some(f) = o.warn_factor {
            p.warn_factor = f;
        }
        for (id, co) in &o.checks {
            let c = p
                .checks
                .entry(id.clone())
                .or_insert_with(|| self.default_check.clone());
            if let Some(v) = co.gate {
                c.gate = v;
            }
            if let Some(v) = co.floor_pass {
                c.floor_pass = v;
            }
            if let Some(v) = co.floor_warn {
                c.floor_warn = v;
            }
            if let Some(v) = co.min_pass {
                c.min_pass = v;
            }
            if let Some(v) = co.min_real_samples {
                c.min_real_samples = v;
            }
        }
        Ok(p)
    }

    pub fn check(&self, id: &str) -> CheckPolicy {
        self.checks
            .get(id)
            .cloned()
            .unwrap_or_else(|| self.default_check.clone())
    }
}
