//! The validation report: `report.json` (every check with statistic, metric, values, baseline,
//! thresholds and verdict, plus provenance), `report.md`, and a self-contained `report.html`
//! (summary verdict first, then per-check inline SVG plots; no scripts, no external resources).

use super::check::{CheckResult, Plot, ValidityItem, Verdict};
use super::error::Result;
use super::physical::PhysicalResult;
use super::profile::{DpInfo, SourceInfo, write_atomic};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    pub name: String,
    pub sensor: String,
    pub frames: usize,
    pub groups: usize,
    pub sources: Vec<SourceInfo>,
    pub differential_privacy: Option<DpInfo>,
    pub profile_software: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub info: usize,
    pub skipped: usize,
    pub validity_percent: f64,
    pub physical_failed: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub verdict: Verdict,
    pub summary: Summary,
    pub created_unix_s: u64,
    pub software: String,
    pub software_version: String,
    pub policy: String,
    pub policy_sha256: String,
    pub tier: Option<String>,
    pub synthetic: DatasetSummary,
    pub real: DatasetSummary,
    /// W3C PROV in words: this report wasGeneratedBy the check activity, which used both datasets
    /// and was associated with the software agent.
    pub provenance: Vec<String>,
    pub validity: Vec<ValidityItem>,
    pub checks: Vec<CheckResult>,
    pub physical: Vec<PhysicalResult>,
    /// Where the physical checks' ground truth came from.
    #[serde(default)]
    pub truth: TruthSource,
    /// What each check can detect, from a `verisim power` run (`check --power`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<PowerSummary>,
}

/// A `verisim power` result as the check report carries it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerSummary {
    /// The power.json it came from, and the policy and real data that run used.
    pub source: String,
    pub policy: String,
    pub real: Vec<String>,
    /// Per check: `family: smallest warn / fail` for each defect family it reacts to.
    pub detects: std::collections::BTreeMap<String, Vec<String>>,
    /// Defect families (and sides) no check failed at any magnitude tried.
    pub not_detected: Vec<String>,
}

/// The ground truth the physical checks used: read from the synthetic dataset's resolved
/// `scenario.ron` (and manifest draws), command-line flags overriding.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TruthSource {
    pub scenario: Option<String>,
    pub fog_visibility_m: Option<f64>,
    pub rain_mm_per_h: Option<f64>,
    #[serde(default)]
    pub snow_mm_per_h: Option<f64>,
    pub friction_mu: Option<f64>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.verdict == Verdict::Fail
    }
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Writes report.json, report.md and report.html into `dir` (created if absent).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| super::error::RealityError::io(dir, e))?;
        let json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        write_atomic(&dir.join("report.json"), json.as_bytes())?;
        write_atomic(&dir.join("report.md"), render_markdown(self).as_bytes())?;
        write_atomic(&dir.join("report.html"), render_html(self).as_bytes())?;
        Ok(())
    }
}

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => {
            if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e5) {
                format!("{x:.3e}")
            } else {
                format!("{x:.4}")
            }
        }
        _ => "–".into(),
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Warn => "WARN",
        Verdict::Fail => "FAIL",
        Verdict::Info => "info",
        Verdict::Skipped => "skipped",
    }
}

pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# verisim reality check: {}\n", verdict_word(r.verdict));
    let m = &r.summary;
    let _ = writeln!(
        s,
        "{} pass, {} warn, {} fail, {} info, {} skipped; data validity {:.1}%; physical failures {}.\n",
        m.pass, m.warn, m.fail, m.info, m.skipped, m.validity_percent, m.physical_failed
    );
    let _ = writeln!(
        s,
        "- synthetic: {} ({} frames, {})",
        r.synthetic.name, r.synthetic.frames, r.synthetic.sensor
    );
    let _ = writeln!(
        s,
        "- real: {} ({} frames in {} groups, {})",
        r.real.name, r.real.frames, r.real.groups, r.real.sensor
    );
    let _ = writeln!(
        s,
        "- policy: {} (sha256 {}), tier {}",
        r.policy,
        &r.policy_sha256[..12.min(r.policy_sha256.len())],
        r.tier.as_deref().unwrap_or("default")
    );
    let _ = writeln!(s, "- {} {}\n", r.software, r.software_version);
    let _ = writeln!(
        s,
        "## Data validity (must be 100%)\n\n| dataset | expectation | violations | of | ok |\n|---|---|---|---|---|"
    );
    for v in &r.validity {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            v.dataset,
            v.expectation,
            v.observed_violations,
            v.out_of,
            if v.pass { "yes" } else { "**no**" }
        );
    }
    let _ = writeln!(
        s,
        "\n## Checks\n\n| check | metric | synthetic | real | score | baseline upper | pass ≤ | warn ≤ | verdict |\n|---|---|---|---|---|---|---|---|---|"
    );
    for c in &r.checks {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.id,
            c.metric.map(|m| format!("{m:?}")).unwrap_or_default(),
            fmt(c.synthetic_value),
            fmt(c.real_value),
            fmt(c.score),
            fmt(c.baseline.as_ref().map(|b| b.upper)),
            fmt(c.thresholds.as_ref().map(|t| t.pass)),
            fmt(c.thresholds.as_ref().map(|t| t.warn)),
            verdict_word(c.verdict)
        );
    }
    if let Some(p) = &r.power {
        let _ = writeln!(
            s,
            "\n## What each check can detect\n\nFrom `{}` (policy {}, real data {}): the smallest defect of each family at which the check warns / fails, both halves of the real data damaged in turn.\n\n| check | detects |\n|---|---|",
            p.source,
            p.policy,
            p.real.join(", ")
        );
        for (id, d) in &p.detects {
            let _ = writeln!(s, "| `{id}` | {} |", d.join("; "));
        }
        let _ = writeln!(
            s,
            "\nNot detected by any check at the magnitudes tried: {}.",
            if p.not_detected.is_empty() {
                "none".to_string()
            } else {
                p.not_detected.join(", ")
            }
        );
    }
    if !r.physical.is_empty() {
        let _ = writeln!(
            s,
            "\n## Physical consistency\n\nGround truth: {}; fog visibility {} m, rain {} mm/h.{}\n\n| check | law | truth | estimate | rel. error | ok | note |\n|---|---|---|---|---|---|---|",
            r.truth.scenario.as_deref().unwrap_or("command line"),
            fmt(r.truth.fog_visibility_m),
            fmt(r.truth.rain_mm_per_h),
            r.truth
                .notes
                .iter()
                .map(|n| format!(" {n}."))
                .collect::<String>()
        );
        for p in &r.physical {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                p.id,
                p.law,
                fmt(Some(p.truth)),
                fmt(p.estimate),
                fmt(p.relative_error),
                p.pass,
                p.note
            );
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const W: f64 = 420.0;
const H: f64 = 170.0;
const SYN: &str = "#d9480f";
const REAL: &str = "#1c7ed6";

fn polyline(xs: &[f64], ys: &[f64], x0: f64, x1: f64, y0: f64, y1: f64, color: &str) -> String {
    let mut pts = String::new();
    for (x, y) in xs.iter().zip(ys) {
        if !x.is_finite() || !y.is_finite() {
            continue;
        }
        let px = 30.0 + (x - x0) / (x1 - x0).max(1e-12) * (W - 40.0);
        let py = H - 20.0 - (y - y0) / (y1 - y0).max(1e-12) * (H - 30.0);
        let _ = write!(pts, "{px:.1},{py:.1} ");
    }
    format!("<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{pts}\"/>")
}

fn frame_svg(inner: &str, x0: f64, x1: f64, y0: f64, y1: f64, x_label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\"><rect x=\"30\" y=\"10\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#ccc\"/>{inner}<text x=\"30\" y=\"{}\" font-size=\"10\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text><text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text><text x=\"2\" y=\"18\" font-size=\"9\">{}</text><text x=\"2\" y=\"{}\" font-size=\"9\">{}</text></svg>",
        W - 40.0,
        H - 30.0,
        H - 6.0,
        fmt(Some(x0)),
        W - 10.0,
        H - 6.0,
        fmt(Some(x1)),
        W / 2.0,
        H - 6.0,
        esc(x_label),
        fmt(Some(y1)),
        H - 20.0,
        fmt(Some(y0))
    )
}

fn range_of(vals: &[&[f64]]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in vals {
        for &x in v.iter() {
            if x.is_finite() {
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    (lo, hi)
}

fn heat_svg(rows: usize, cols: usize, v: &[f64], signed: bool, title: &str) -> String {
    let cell = 3.0;
    let maxabs = v.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\"><text x=\"0\" y=\"10\" font-size=\"10\">{}</text>",
        cols as f64 * cell,
        rows as f64 * cell + 14.0,
        esc(title)
    );
    for r in 0..rows {
        for c in 0..cols {
            let x = v[r * cols + c];
            if x == 0.0 {
                continue;
            }
            let t = (x.abs() / maxabs).sqrt();
            let color = if signed {
                if x > 0.0 {
                    format!("rgb(255,{0},{0})", (255.0 * (1.0 - t)) as u8)
                } else {
                    format!("rgb({0},{0},255)", (255.0 * (1.0 - t)) as u8)
                }
            } else {
                let g = (255.0 * (1.0 - t)) as u8;
                format!("rgb({g},{g},{g})")
            };
            // x forward points up: row index follows x, column follows y (left is +y)
            let _ = write!(
                s,
                "<rect x=\"{:.0}\" y=\"{:.0}\" width=\"3\" height=\"3\" fill=\"{color}\"/>",
                (cols - 1 - c) as f64 * cell,
                14.0 + (rows - 1 - r) as f64 * cell
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn plot_html(c: &CheckResult) -> String {
    match &c.plot {
        Plot::None => String::new(),
        Plot::Hist {
            lo,
            hi,
            synthetic,
            real,
        } => {
            let n = synthetic.len().max(1);
            let xs: Vec<f64> = (0..n)
                .map(|k| lo + (k as f64 + 0.5) * (hi - lo) / n as f64)
                .collect();
            let (_, y1) = range_of(&[synthetic, real]);
            let inner = polyline(&xs, synthetic, *lo, *hi, 0.0, y1, SYN)
                + &polyline(&xs, real, *lo, *hi, 0.0, y1, REAL);
            frame_svg(&inner, *lo, *hi, 0.0, y1, "value (pmf)")
        }
        Plot::Cdf { synthetic, real } => {
            let (x0, x1) = range_of(&[synthetic, real]);
            let cdf = |v: &[f64]| {
                let mut s = v.to_vec();
                s.sort_by(f64::total_cmp);
                let n = s.len() as f64;
                let mut xs = vec![x0];
                let mut ys = vec![0.0];
                for (i, x) in s.iter().enumerate() {
                    xs.extend([*x, *x]);
                    ys.extend([i as f64 / n, (i + 1) as f64 / n]);
                }
                xs.push(x1);
                ys.push(1.0);
                (xs, ys)
            };
            let (sx, sy) = cdf(synthetic);
            let (rx, ry) = cdf(real);
            let inner = polyline(&sx, &sy, x0, x1, 0.0, 1.0, SYN)
                + &polyline(&rx, &ry, x0, x1, 0.0, 1.0, REAL);
            frame_svg(&inner, x0, x1, 0.0, 1.0, "per-frame value (empirical CDF)")
        }
        Plot::Curve {
            x_label,
            synthetic,
            real,
        } => {
            let n = synthetic.len().max(real.len());
            let xs: Vec<f64> = (0..n).map(|k| k as f64).collect();
            let (y0, y1) = range_of(&[synthetic, real]);
            let x1 = (n.max(2) - 1) as f64;
            let inner = polyline(&xs, synthetic, 0.0, x1, y0, y1, SYN)
                + &polyline(&xs, real, 0.0, x1, y0, y1, REAL);
            frame_svg(&inner, 0.0, x1, y0, y1, x_label)
        }
        Plot::Heat {
            rows,
            cols,
            extent_m,
            synthetic,
            real,
        } => {
            let diff: Vec<f64> = synthetic.iter().zip(real).map(|(a, b)| a - b).collect();
            format!(
                "<div class=\"heat\">{}{}{}</div><p class=\"small\">±{extent_m} m, x forward up; difference red = more synthetic points, blue = fewer.</p>",
                heat_svg(*rows, *cols, synthetic, false, "synthetic"),
                heat_svg(*rows, *cols, real, false, "real"),
                heat_svg(*rows, *cols, &diff, true, "synthetic − real")
            )
        }
    }
}

pub fn render_html(r: &Report) -> String {
    let mut s = String::new();
    let color = |v: Verdict| match v {
        Verdict::Pass => "#2b8a3e",
        Verdict::Warn => "#e67700",
        Verdict::Fail => "#c92a2a",
        _ => "#868e96",
    };
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>verisim reality check: {}</title><style>body{{font-family:sans-serif;max-width:1100px;margin:1em auto;color:#222}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ddd;padding:3px 6px;text-align:left}}.v{{font-weight:bold;color:#fff;padding:2px 6px;border-radius:3px}}.check{{border-top:1px solid #ccc;margin-top:1em}}.small{{font-size:11px;color:#555}}.heat svg{{margin-right:8px}}.legend span{{margin-right:1em}}</style></head><body>",
        verdict_word(r.verdict)
    );
    let m = &r.summary;
    let _ = write!(
        s,
        "<h1>Reality check: <span class=\"v\" style=\"background:{}\">{}</span></h1><p>{} pass, {} warn, {} fail, {} info, {} skipped &middot; data validity {:.1}% &middot; physical failures {}</p>",
        color(r.verdict),
        verdict_word(r.verdict),
        m.pass,
        m.warn,
        m.fail,
        m.info,
        m.skipped,
        m.validity_percent,
        m.physical_failed
    );
    let _ = write!(
        s,
        "<p class=\"small\">synthetic: {} ({} frames, {}) &middot; real: {} ({} frames in {} groups, {}) &middot; policy {} tier {} &middot; {} {}</p><p class=\"legend small\"><span style=\"color:{SYN}\">&#9632; synthetic</span><span style=\"color:{REAL}\">&#9632; real</span></p>",
        esc(&r.synthetic.name),
        r.synthetic.frames,
        esc(&r.synthetic.sensor),
        esc(&r.real.name),
        r.real.frames,
        r.real.groups,
        esc(&r.real.sensor),
        esc(&r.policy),
        esc(r.tier.as_deref().unwrap_or("default")),
        esc(&r.software),
        esc(&r.software_version)
    );
    s.push_str("<h2>Summary</h2><table><tr><th>check</th><th>metric</th><th>score</th><th>pass &le;</th><th>warn &le;</th><th>verdict</th></tr>");
    for c in &r.checks {
        let _ = write!(
            s,
            "<tr><td><a href=\"#{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td style=\"color:{5}\">{6}</td></tr>",
            esc(&c.id),
            c.metric.map(|m| format!("{m:?}")).unwrap_or_default(),
            fmt(c.score),
            fmt(c.thresholds.as_ref().map(|t| t.pass)),
            fmt(c.thresholds.as_ref().map(|t| t.warn)),
            color(c.verdict),
            verdict_word(c.verdict)
        );
    }
    s.push_str("</table><h2>Data validity (must be 100%)</h2><table><tr><th>dataset</th><th>expectation</th><th>violations</th><th>of</th></tr>");
    for v in &r.validity {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td style=\"color:{}\">{}</td><td>{}</td></tr>",
            esc(&v.dataset),
            esc(&v.expectation),
            if v.pass { "#2b8a3e" } else { "#c92a2a" },
            v.observed_violations,
            v.out_of
        );
    }
    s.push_str("</table>");
    if !r.physical.is_empty() {
        let _ = write!(
            s,
            "<h2>Physical consistency</h2><p>Ground truth: {}; fog visibility {} m, rain {} mm/h.{}</p>",
            esc(r.truth.scenario.as_deref().unwrap_or("command line")),
            fmt(r.truth.fog_visibility_m),
            fmt(r.truth.rain_mm_per_h),
            esc(&r
                .truth
                .notes
                .iter()
                .map(|n| format!(" {n}."))
                .collect::<String>())
        );
        s.push_str("<table><tr><th>check</th><th>law</th><th>truth</th><th>estimate</th><th>rel. error</th><th>ok</th><th>note</th></tr>");
        for p in &r.physical {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.id),
                esc(&p.law),
                fmt(Some(p.truth)),
                fmt(p.estimate),
                fmt(p.relative_error),
                p.pass,
                esc(&p.note)
            );
        }
        s.push_str("</table>");
    }
    s.push_str("<h2>Checks</h2>");
    for c in &r.checks {
        let _ = write!(
            s,
            "<div class=\"check\" id=\"{}\"><h3>{} <span class=\"v\" style=\"background:{}\">{}</span></h3><p class=\"small\">{} &middot; synthetic {} &middot; real {} &middot; score {} &middot; baseline upper {} ({} splits) {}</p>{}</div>",
            esc(&c.id),
            esc(&c.id),
            color(c.verdict),
            verdict_word(c.verdict),
            esc(&c.statistic),
            fmt(c.synthetic_value),
            fmt(c.real_value),
            fmt(c.score),
            fmt(c.baseline.as_ref().map(|b| b.upper)),
            c.baseline.as_ref().map_or(0, |b| b.splits),
            esc(&c.note),
            plot_html(c)
        );
    }
    s.push_str("</body></html>\n");
    s
}
