//! The verisim command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use verisim::backend::BackendKind;
use verisim::export::dataset::{Format, Shard};
use verisim::reality::{self, CheckOptions, PhysicalTruth, ProfileOptions, RealSource};
use verisim::render::{RenderOptions, render};
use verisim::scenario::{self, Scenario, Source};

#[derive(Parser)]
#[command(
    name = "verisim",
    version,
    about = "Synthetic lidar and camera data for autonomous driving, on any GPU wgpu reaches or on the CPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ScenarioArgs {
    /// Scenario file (RON), e.g. scenes/quickstart.ron
    scene: PathBuf,
    /// Override a field: --set weather.fog_visibility_m=50 --set run.frames=10
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Render a scenario to a dataset in OUT (KITTI, SemanticKITTI, COCO, manifest.json)
    Render {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Output directory
        #[arg(long)]
        out: PathBuf,
        /// Number of frames (overrides run.frames)
        #[arg(long)]
        frames: Option<u32>,
        #[arg(long, value_enum, default_value = "auto")]
        backend: BackendKind,
        /// Continue an interrupted run in OUT, skipping finished frames (starts afresh when
        /// OUT is empty or missing)
        #[arg(long)]
        resume: bool,
        /// Formats to write, comma separated
        #[arg(
            long = "format",
            value_enum,
            value_delimiter = ',',
            default_value = "kitti,semantic-kitti,coco"
        )]
        formats: Vec<Format>,
        /// Render only the frames with frame % COUNT == INDEX, e.g. --shard 0/4; combine the
        /// shards with `verisim merge`
        #[arg(long, value_name = "INDEX/COUNT")]
        shard: Option<Shard>,
        /// Render and discard the frames (no labels, encoding or files): a throughput baseline
        #[arg(long)]
        render_only: bool,
        /// Do not fsync frames before recording them finished: faster on slow disks; a killed
        /// process is still safe (atomic renames), a power loss may tear the last frames
        #[arg(long)]
        no_fsync: bool,
        /// Write the SemanticKITTI view's velodyne/ and labels/ files as copies, not as
        /// symbolic links to the KITTI files (for storage that keeps no links)
        #[arg(long)]
        copy_views: bool,
        /// No progress bar
        #[arg(long, short)]
        quiet: bool,
    },
    /// Simulate without rendering; write every actor's state per physics tick as CSV
    Simulate {
        #[command(flatten)]
        scenario: ScenarioArgs,
        #[arg(long)]
        out: PathBuf,
        /// Number of sensor frames to cover (overrides run.frames)
        #[arg(long)]
        frames: Option<u32>,
    },
    /// Check a dataset against its manifest: structure, counts, checksums, parse-ability;
    /// exit 0 when sound, 1 when a problem is found, 2 when the manifest cannot be used
    Verify { dir: PathBuf },
    /// Merge the shard directories of a run (`render --shard i/N`) into one dataset
    Merge {
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a scenario file and print what it resolves to
    Validate {
        #[command(flatten)]
        scenario: ScenarioArgs,
    },
    /// Write the world's triangles at a frame as binary PLY (per-face class and instance)
    ExportMesh {
        #[command(flatten)]
        scenario: ScenarioArgs,
        #[arg(long, default_value_t = 0)]
        frame: u32,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the class table as CSV (id, name, KITTI type, Cityscapes id, SemanticKITTI id)
    Classes,
    /// Compare a synthetic dataset with real data (or a reference profile) and write a
    /// validation report; exit 0 when every gate passes, 1 when one fails, 2 on bad input
    Check(CheckArgs),
    /// Store aggregated statistics of real data (never raw points or pixels)
    Profile {
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        name: Option<String>,
        /// Lidar model (hdl64e, hdl32e); inferred when absent
        #[arg(long)]
        sensor: Option<String>,
        /// Differential privacy: Laplace noise on histogram counts with this ε
        #[arg(long)]
        epsilon: Option<f64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    #[arg(required = true)]
    synthetic: Vec<PathBuf>,
    #[arg(long, num_args = 1.., required_unless_present = "profile", conflicts_with = "profile")]
    real: Vec<PathBuf>,
    /// A reference profile (`*.profile.json`) instead of real data.
    #[arg(long)]
    profile: Option<PathBuf>,
    #[arg(long)]
    out: PathBuf,
    /// Gate policy (RON); the shipped default when absent.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Use tier of the policy (perception-training, smoke, ...).
    #[arg(long)]
    tier: Option<String>,
    /// Lidar model (hdl64e, hdl32e); inferred when absent.
    #[arg(long)]
    sensor: Option<String>,
    /// Fog visibility (m) for the physical-consistency checks. By default the truth is read
    /// from the synthetic dataset (its resolved scenario.ron and manifest); these flags
    /// override it field by field.
    #[arg(long)]
    truth_visibility_m: Option<f64>,
    /// Rain rate (mm/h), overriding the dataset's.
    #[arg(long)]
    truth_rain_mm_per_h: Option<f64>,
    /// Scenario tyre-road friction μ.
    #[arg(long)]
    truth_mu: Option<f64>,
    /// Decelerations reached in the scenario (m/s²), comma separated.
    #[arg(long, value_delimiter = ',')]
    truth_decel_m_per_s2: Vec<f64>,
}

fn load(args: &ScenarioArgs, frames: Option<u32>) -> Result<(Scenario, Source)> {
    let (scenario, source) = scenario::load(&args.scene)?;
    let mut sets = args.sets.clone();
    if let Some(n) = frames {
        sets.push(format!("run.frames={n}"));
    }
    let scenario = scenario::apply_overrides(&scenario, &sets)?;
    Ok((scenario, source))
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Render {
            scenario,
            out,
            frames,
            backend,
            resume,
            formats,
            shard,
            render_only,
            no_fsync,
            copy_views,
            quiet,
        } => {
            let (sc, source) = load(&scenario, frames)?;
            let total = sc.run.frames as u64;
            let bar = if quiet {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(total)
            };
            let mut overrides = scenario.sets.clone();
            if let Some(n) = frames {
                overrides.push(format!("run.frames={n}"));
            }
            bar.set_style(
                ProgressStyle::with_template("{spinner} {pos}/{len} frames [{elapsed_precise}] {per_sec} ETA {eta} {wide_bar}")
                    .expect("valid template"),
            );
            let opts = RenderOptions {
                out: out.clone(),
                backend,
                resume,
                formats,
                shard,
                overrides,
                render_only,
                fsync: !no_fsync,
                link_views: !copy_views,
            };
            let summary = render(&sc, &source, &opts, |done, todo| {
                bar.set_length(todo as u64);
                bar.set_position(done as u64);
            })
            .with_context(|| {
                format!(
                    "rendering {} to {}",
                    scenario.scene.display(),
                    out.display()
                )
            })?;
            bar.finish_and_clear();
            eprintln!(
                "verisim: {} frames rendered ({} skipped) on {} in {:.2} s ({:.1} frames/s), {:.1} k lidar points/frame, {:.1} MB written to {}",
                summary.frames_rendered,
                summary.frames_skipped,
                summary.backend,
                summary.seconds,
                summary.frames_per_s(),
                summary.lidar_points as f64 / summary.frames_rendered.max(1) as f64 / 1000.0,
                summary.bytes_written as f64 / 1e6,
                out.display()
            );
            if !quiet {
                eprintln!("verisim: {}", summary.stages.describe());
            }
        }
        Command::Simulate {
            scenario,
            out,
            frames,
        } => {
            let (sc, _) = load(&scenario, frames)?;
            let ticks = sc.run.frames as u64 * sc.ticks_per_frame() as u64;
            let rows = verisim::simulate::write_states(&sc, ticks, &out)?;
            eprintln!(
                "verisim: {ticks} ticks ({:.1} s) simulated, {rows} rows written to {}",
                ticks as f64 * sc.run.physics_dt_s as f64,
                out.display()
            );
        }
        Command::Verify { dir } => {
            let report = verisim::export::verify::verify(&dir)?;
            for w in &report.warnings {
                eprintln!("warning: {}: {w}", dir.display());
            }
            for p in &report.problems {
                println!("{}: {}", p.path, p.message);
            }
            eprintln!(
                "verisim verify: {} frames, {} files ({:.1} MB) checked, {} problem(s), {} warning(s)",
                report.frames,
                report.files_checked,
                report.bytes as f64 / 1e6,
                report.problems.len(),
                report.warnings.len()
            );
            return Ok(ExitCode::from(u8::from(!report.ok())));
        }
        Command::Merge { shards, out } => {
            let s = verisim::export::merge::merge(&shards, &out)
                .with_context(|| format!("merging into {}", out.display()))?;
            eprintln!(
                "verisim merge: {} shards, {} frames, {} files ({:.1} MB) into {}",
                s.shards,
                s.frames,
                s.files,
                s.bytes as f64 / 1e6,
                out.display()
            );
        }
        Command::Validate { scenario } => {
            let (sc, _) = load(&scenario, None)?;
            println!(
                "{}",
                ron::ser::to_string_pretty(&sc, ron::ser::PrettyConfig::default())
                    .context("printing the scenario")?
            );
        }
        Command::ExportMesh {
            scenario,
            frame,
            out,
        } => {
            let (sc, _) = load(&scenario, None)?;
            if frame >= sc.run.frames {
                anyhow::bail!(
                    "--frame {frame} is past the scenario's last frame ({})",
                    sc.run.frames - 1
                );
            }
            let mut sim = verisim::Simulation::new(sc);
            sim.advance_to_frame(frame);
            let inputs = sim.frame_inputs();
            let (bytes, faces) = verisim::export::ply::encode_frame_ply(&sim.assets.pool, &inputs);
            verisim::export::atomic::write_atomic(&out, &bytes)?;
            eprintln!(
                "verisim: wrote {faces} triangles (frame {frame}) to {}",
                out.display()
            );
        }
        Command::Classes => print!("{}", verisim::labels::classes::table_csv()),
        Command::Check(a) => {
            let real = match a.profile {
                Some(p) => RealSource::Profile(p),
                None => RealSource::Datasets(a.real),
            };
            let opts = CheckOptions {
                synthetic: a.synthetic,
                real,
                out_dir: a.out,
                policy: a.policy,
                tier: a.tier,
                sensor: a.sensor,
                truth: PhysicalTruth {
                    fog_visibility_m: a.truth_visibility_m,
                    rain_mm_per_h: a.truth_rain_mm_per_h,
                    friction_mu: a.truth_mu,
                    decelerations_m_per_s2: a.truth_decel_m_per_s2,
                    ..Default::default()
                },
            };
            let report = reality::run_check(&opts)?;
            let s = &report.summary;
            println!(
                "{:?}: {} pass, {} warn, {} fail, {} info, {} skipped; validity {:.1}%; report in {}",
                report.verdict,
                s.pass,
                s.warn,
                s.fail,
                s.info,
                s.skipped,
                s.validity_percent,
                opts.out_dir.display()
            );
            return Ok(ExitCode::from(u8::from(report.failed())));
        }
        Command::Profile {
            inputs,
            out,
            name,
            sensor,
            epsilon,
            seed,
        } => {
            let p = reality::run_profile(&ProfileOptions {
                inputs,
                out: out.clone(),
                name,
                sensor,
                epsilon,
                seed,
            })?;
            let frames: u64 = p.groups.iter().map(|g| g.frames).sum();
            println!(
                "profile `{}`: {frames} frames in {} groups written to {}",
                p.name,
                p.groups.len(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("verisim=info"))
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
