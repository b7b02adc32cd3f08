//! Gate policy (RON): pass/warn factors against the real-versus-real baseline's upper bound,
//! per-check floors used when no baseline exists, and per-use-tier overrides.

use super::error::{RealityError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The shipped default policy.
pub const DEFAULT_POLICY_RON: &str = include_str!("../../assets/policy/default.ron");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
#[serde(default, deny_unknown_fields)]
pub struct CheckOverride {
    pub gate: Option<bool>,
    pub floor_pass: Option<f64>,
    pub floor_warn: Option<f64>,
    pub min_pass: Option<f64>,
    pub min_real_samples: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierOverride {
    pub pass_factor: Option<f64>,
    pub warn_factor: Option<f64>,
    pub checks: BTreeMap<String, CheckOverride>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
        let p = ron::Options::default()
            .from_str::<GatePolicy>(text)
            .map_err(|e| RealityError::Policy {
                path: path.into(),
                what: e.to_string(),
            })?;
        p.validate().map_err(|what| RealityError::Policy {
            path: path.into(),
            what,
        })?;
        Ok(p)
    }

    /// Every number within its meaning: factors finite and positive with `warn_factor` ≥
    /// `pass_factor`, a quantile in (0, 1], floors finite and non-negative with `floor_warn` ≥
    /// `floor_pass`; the same for every check and tier. Names the field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        fn positive(field: &str, v: f64) -> std::result::Result<(), String> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "`{field}` is {v}; it must be a finite number above 0"
                ))
            }
        }
        fn floors(at: &str, c: &CheckPolicy) -> std::result::Result<(), String> {
            for (name, v) in [
                ("floor_pass", c.floor_pass),
                ("floor_warn", c.floor_warn),
                ("min_pass", c.min_pass),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!("`{at}.{name}` is {v}; it must be finite and ≥ 0"));
                }
            }
            if c.floor_warn < c.floor_pass {
                return Err(format!(
                    "`{at}.floor_warn` ({}) is below `{at}.floor_pass` ({})",
                    c.floor_warn, c.floor_pass
                ));
            }
            Ok(())
        }
        positive("pass_factor", self.pass_factor)?;
        positive("warn_factor", self.warn_factor)?;
        if self.warn_factor < self.pass_factor {
            return Err(format!(
                "`warn_factor` ({}) is below `pass_factor` ({})",
                self.warn_factor, self.pass_factor
            ));
        }
        if !(self.upper_quantile > 0.0 && self.upper_quantile <= 1.0) {
            return Err(format!(
                "`upper_quantile` is {}; it must lie in (0, 1]",
                self.upper_quantile
            ));
        }
        if self.max_splits == 0 {
            return Err("`max_splits` is 0; at least one split is needed".into());
        }
        positive("physical_tolerance", self.physical_tolerance)?;
        floors("default_check", &self.default_check)?;
        for (id, c) in &self.checks {
            floors(&format!("checks.{id}"), c)?;
        }
        for (name, t) in &self.tiers {
            for (field, v) in [
                ("pass_factor", t.pass_factor),
                ("warn_factor", t.warn_factor),
            ] {
                if let Some(v) = v {
                    positive(&format!("tiers.{name}.{field}"), v)?;
                }
            }
            let tiered = self.for_tier(Some(name)).map_err(|e| e.to_string())?;
            if tiered.warn_factor < tiered.pass_factor {
                return Err(format!(
                    "tier `{name}`: `warn_factor` ({}) is below `pass_factor` ({})",
                    tiered.warn_factor, tiered.pass_factor
                ));
            }
            for (id, c) in &tiered.checks {
                floors(&format!("tiers.{name}.checks.{id}"), c)?;
            }
        }
        Ok(())
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
