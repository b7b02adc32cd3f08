//! The verisim command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use verisim::backend::BackendKind;
use verisim::export::dataset::{Format, Shard};
use verisim::pipeline::progress::{ProgressMode, Reporter};
use verisim::pipeline::render::{RenderOptions, render};
use verisim::reality::{self, CheckOptions, PhysicalTruth, ProfileOptions, RealSource};
use verisim::scenario::{self, ModelFront, Scenario, Source};

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
        /// Output directory (created; must be empty unless --resume)
        #[arg(long)]
        out: PathBuf,
        /// Number of frames (overrides run.frames)
        #[arg(long)]
        frames: Option<u32>,
        /// Where to render: auto takes a hardware GPU or else the CPU backend
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
        /// How to show progress: auto is a bar on a terminal and plain lines in a log
        #[arg(long, value_enum, default_value = "auto")]
        progress: ProgressMode,
        /// Seconds between progress lines or JSON events (--progress lines|json|auto)
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = parse_interval)]
        progress_interval: f64,
        /// No progress and no timing breakdown, only the one-line summary (--progress none)
        #[arg(long, short)]
        quiet: bool,
    },
    /// Simulate without rendering; write every actor's state per physics tick as CSV
    Simulate {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// CSV file to write (one row per actor per physics tick)
        #[arg(long)]
        out: PathBuf,
        /// Number of sensor frames to cover (overrides run.frames)
        #[arg(long)]
        frames: Option<u32>,
    },
    /// Check a dataset against its manifest: structure, counts, checksums, parse-ability;
    /// exit 0 when sound, 1 when a problem is found, 2 when the manifest cannot be used
    Verify {
        /// Dataset directory written by `verisim render` (holds manifest.json)
        dir: PathBuf,
    },
    /// Merge the shard directories of a run (`render --shard i/N`) into one dataset
    Merge {
        /// Shard directories, each written by `render --shard i/N` of the same scenario
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Output directory for the merged dataset (created; must be empty)
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a scenario file and print what it resolves to
    Validate {
        #[command(flatten)]
        scenario: ScenarioArgs,
    },
    /// Import a glTF 2.0 model (.gltf or .glb) as an actor would, and print what it holds: nodes,
    /// triangles, skins, animations, its size in the actor frame and its materials with their
    /// 905 nm reflectivity (docs/assets.md)
    ImportGltf {
        /// The model file
        file: PathBuf,
        /// The glTF axis the model's front faces
        #[arg(long, value_enum, default_value = "PlusZ")]
        front: ModelFront,
    },
    /// Read an ASAM OpenDRIVE map (.xodr) as `map.opendrive` would, and print what it holds:
    /// roads, lengths, geometry and lane types, signals and objects, the mesh it makes, and
    /// where the file's own numbers disagree (road lengths, joins between geometries)
    ImportXodr {
        /// The map file
        file: PathBuf,
    },
    /// Write the world's triangles at a frame as binary PLY (per-face class and instance)
    ExportMesh {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Frame whose world to write (0 is the first)
        #[arg(long, default_value_t = 0)]
        frame: u32,
        /// PLY file to write
        #[arg(long)]
        out: PathBuf,
    },
    /// Draw one frame of a KITTI-layout dataset as PNG: the image with the lidar points
    /// (coloured by range), the 2D boxes and the 3D boxes
    Preview {
        /// Dataset directory (verisim's, or a KITTI root or split directory)
        dir: PathBuf,
        /// Frame number (the file stem, e.g. 7 for 000007.png)
        #[arg(long, default_value_t = 0)]
        frame: u32,
        /// PNG file to write
        #[arg(long)]
        out: PathBuf,
        /// A second dataset (a real KITTI root, say) whose frame is drawn below the first, the
        /// same way
        #[arg(long)]
        beside: Option<PathBuf>,
        /// Frame number in the --beside dataset
        #[arg(long, default_value_t = 0, requires = "beside")]
        beside_frame: u32,
    },
    /// Print the class table as CSV (id, name, KITTI type, Cityscapes id, SemanticKITTI id)
    Classes,
    /// Compare a synthetic dataset with real data (or a reference profile) and write a
    /// validation report; exit 0 when every gate passes, 1 when one fails, 2 on bad input
    Check(CheckArgs),
    /// How large a defect each reality check notices: real frames cut into two halves, one
    /// damaged with graded defects (lidar gain, mount height, range cut, colour cast, blur,
    /// ...) and checked against the other; writes power.json and power.md
    Power {
        /// Real data: a KITTI root or split directory, a nuScenes layout, or files
        #[arg(long, num_args = 1.., required = true)]
        real: Vec<PathBuf>,
        /// Output directory (power.json, power.md)
        #[arg(long)]
        out: PathBuf,
        /// Gate policy (RON); the shipped default when absent
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Use tier of the policy
        #[arg(long)]
        tier: Option<String>,
        /// Lidar model (hdl64e, hdl32e); inferred when absent
        #[arg(long)]
        sensor: Option<String>,
        /// Defect families, comma separated (all when absent), e.g. intensity_gain,blur
        #[arg(long = "family", value_delimiter = ',')]
        families: Vec<reality::power::Family>,
        /// Read at most this many real frames (the first in name order)
        #[arg(long, default_value_t = 40)]
        max_frames: usize,
    },
    /// Store aggregated statistics of real data (never raw points or pixels)
    Profile {
        /// Real data: a KITTI root or split directory, a nuScenes layout, or files
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Profile file to write (`*.profile.json`)
        #[arg(long)]
        out: PathBuf,
        /// Name recorded in the profile (default: the first input's name)
        #[arg(long)]
        name: Option<String>,
        /// Lidar model (hdl64e, hdl32e); inferred when absent
        #[arg(long)]
        sensor: Option<String>,
        /// Differential privacy: Laplace noise on histogram counts with this ε
        #[arg(long, allow_negative_numbers = true)]
        epsilon: Option<f64>,
        /// Seed of the differential-privacy noise
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Synthetic dataset directories written by `verisim render`
    #[arg(required = true)]
    synthetic: Vec<PathBuf>,
    /// Real data: a KITTI root or split directory, a nuScenes layout, or files
    #[arg(long, num_args = 1.., required_unless_present = "profile", conflicts_with = "profile")]
    real: Vec<PathBuf>,
    /// A reference profile (`*.profile.json`) instead of real data.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Report directory (report.json, report.html, report.md)
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
    #[arg(long, allow_negative_numbers = true)]
    truth_visibility_m: Option<f64>,
    /// Rain rate (mm/h), overriding the dataset's.
    #[arg(long, allow_negative_numbers = true)]
    truth_rain_mm_per_h: Option<f64>,
    /// Scenario tyre-road friction μ.
    #[arg(long, allow_negative_numbers = true)]
    truth_mu: Option<f64>,
    /// Decelerations reached in the scenario (m/s²), comma separated.
    #[arg(long, value_delimiter = ',', allow_negative_numbers = true)]
    truth_decel_m_per_s2: Vec<f64>,
    /// A `verisim power` result (power.json): the report then says what each check can
    /// detect
    #[arg(long)]
    power: Option<PathBuf>,
}

/// A progress interval: a finite number of seconds ≥ 0.
fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("expected a number of seconds ≥ 0, found `{s}`")),
    }
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
            progress,
            progress_interval,
            quiet,
        } => {
            let (sc, source) = load(&scenario, frames)?;
            let mode = if quiet { ProgressMode::None } else { progress };
            let mut reporter = Reporter::new(
                mode,
                progress_interval,
                std::io::IsTerminal::is_terminal(&std::io::stderr()),
            );
            let mut overrides = scenario.sets.clone();
            if let Some(n) = frames {
                overrides.push(format!("run.frames={n}"));
            }
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
            if !render_only {
                verisim::interrupt::install().context("installing the SIGINT/SIGTERM handlers")?;
            }
            let summary =
                render(&sc, &source, &opts, |p| reporter.update(p)).with_context(|| {
                    format!(
                        "rendering {} to {}",
                        scenario.scene.display(),
                        out.display()
                    )
                })?;
            reporter.finish(&summary, &out);
            if let Some(sig) = summary.interrupted_by {
                eprintln!(
                    "verisim: stopped by {} after {} frames of this session; {} of the run's {} \
                     frames are finished in {}. To finish the run:\n  {}",
                    verisim::interrupt::name(sig),
                    summary.frames_rendered,
                    summary.frames_skipped + summary.frames_rendered,
                    summary.frames_of_run,
                    out.display(),
                    resume_command()
                );
                return Ok(ExitCode::from((128 + sig) as u8));
            }
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
            let rows = verisim::pipeline::simulate::write_states(&sc, ticks, &out)?;
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
            // The map and the models too: a file that does not import fails here, not at
            // render time.
            if let Some(od) = &sc.map.opendrive {
                let map = verisim::geometry::opendrive::read(&od.path).context("map.opendrive")?;
                eprintln!(
                    "verisim: map.opendrive {}: {} roads",
                    od.path.display(),
                    map.roads.len()
                );
            }
            for (i, a) in sc.actors.iter().enumerate() {
                if let Some(m) = &a.mesh {
                    let model = verisim::geometry::imported::import(&m.path, m.front, 1)
                        .with_context(|| format!("actors[{i}].mesh"))?;
                    eprintln!(
                        "verisim: actors[{i}].mesh {}: {} triangles, {} materials",
                        m.path.display(),
                        model.poses[0].len(),
                        model.materials.len()
                    );
                }
            }
            println!(
                "{}",
                ron::ser::to_string_pretty(&sc, ron::ser::PrettyConfig::default())
                    .context("printing the scenario")?
            );
        }
        Command::ImportGltf { file, front } => print_model(&file, front)?,
        Command::ImportXodr { file } => print_xodr(&file)?,
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
            let mut sim = verisim::Simulation::try_new(sc)?;
            sim.advance_to_frame(frame);
            let inputs = sim.frame_inputs();
            let (bytes, faces) = verisim::export::ply::encode_frame_ply(&sim.assets.pool, &inputs);
            verisim::export::atomic::write_atomic(&out, &bytes)?;
            let pool = &sim.assets.pool;
            let bvh_bytes =
                size_of_val(pool.triangles.as_slice()) + size_of_val(pool.nodes.as_slice());
            eprintln!(
                "verisim: wrote {faces} triangles (frame {frame}) to {}; the scene holds {} \
                 distinct triangles in {} meshes ({:.1} MB of BVH), instanced {} times",
                out.display(),
                pool.triangles.len(),
                pool.roots.len(),
                bvh_bytes as f64 / 1e6,
                inputs.tlas.instances.len()
            );
        }
        Command::Preview {
            dir,
            frame,
            out,
            beside,
            beside_frame,
        } => {
            let drawn = match &beside {
                None => vec![(&dir, frame, reality::preview::preview(&dir, frame, &out)?)],
                Some(other) => {
                    let [a, b] =
                        reality::preview::preview_pair(&dir, frame, other, beside_frame, &out)?;
                    vec![(&dir, frame, a), (other, beside_frame, b)]
                }
            };
            for (d, f, s) in drawn {
                eprintln!(
                    "verisim: frame {f} of {} drawn to {} ({}x{} px, {} lidar points, {} boxes)",
                    d.display(),
                    out.display(),
                    s.width,
                    s.height,
                    s.points_drawn,
                    s.boxes_drawn
                );
            }
        }
        Command::Classes => print!("{}", verisim::classes::table_csv()),
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
                power: a.power,
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
        Command::Power {
            real,
            out,
            policy,
            tier,
            sensor,
            families,
            max_frames,
        } => {
            let r = reality::power::run_power(&reality::power::PowerOptions {
                real,
                out_dir: out.clone(),
                policy,
                tier,
                sensor,
                families,
                max_frames,
            })?;
            for f in &r.families {
                println!(
                    "{:26} {}",
                    f.label(),
                    match f.fail_at {
                        Some(m) => format!(
                            "fails at {m} {} ({})",
                            f.unit,
                            if f.failed_by.is_empty() {
                                "a validity item".to_string()
                            } else {
                                f.failed_by.join(", ")
                            }
                        ),
                        None => "not detected".into(),
                    }
                );
            }
            if !r.false_alarms.is_empty() {
                println!(
                    "false alarms between the clean halves: {}",
                    r.false_alarms.join(", ")
                );
            }
            println!("power table in {}", out.join("power.md").display());
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

/// The error and its causes on one line, each said once: a cause whose text the message
/// already holds (`{path}: {source}`) is not repeated.
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out += ": ";
        }
        out += &text;
    }
    out
}

/// Mesa's software Vulkan driver (lavapipe) calls `wl_display_connect` while wgpu enumerates
/// adapters, and libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the
/// environment." when that variable is missing (servers, containers, CI), which users read as
/// a failure. With no Wayland session to find, an absolute runtime directory makes that
/// connection attempt fail quietly.
fn quiet_wayland_probe() {
    let set =
        std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).is_absolute());
    if !set && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        // SAFETY: called first thing in main, before any other thread exists, so nothing can
        // read the environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}

/// This process's command line with `--resume` added (once), quoted for a POSIX shell.
fn resume_command() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--resume") {
        args.push("--resume".into());
    }
    let quote = |a: &String| {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+@%".contains(c));
        if plain {
            a.clone()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    args.iter().map(quote).collect::<Vec<_>>().join(" ")
}

/// What a command that ran out of disk space should tell its user to do: advice this command
/// can follow.
fn disk_full_advice(command: &Command) -> String {
    match command {
        Command::Render { .. } => {
            "finished frames are intact: free space and run the same command with --resume".into()
        }
        Command::Merge { out, .. } => format!(
            "free space, remove {} (a merge starts in an empty directory) and merge again",
            out.display()
        ),
        _ => "free space and run the same command again".into(),
    }
}

/// Whether `e` is, or wraps, running out of disk space.
fn is_disk_full(e: &anyhow::Error) -> bool {
    use verisim::export::ExportError;
    use verisim::pipeline::render::RenderError;
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<ExportError>(),
            Some(ExportError::DiskFull { .. })
        ) || matches!(
            c.downcast_ref::<RenderError>(),
            Some(RenderError::Export(ExportError::DiskFull { .. }))
        )
    })
}

fn main() -> ExitCode {
    quiet_wayland_probe();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("verisim=info"))
        .init();
    let cli = Cli::parse();
    let advice = disk_full_advice(&cli.command);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if is_disk_full(&e) {
                eprintln!("error: {}; {advice}", error_text(&e));
            } else {
                eprintln!("error: {}", error_text(&e));
            }
            ExitCode::from(2)
        }
    }
}

/// `import-xodr`: the map's contents, its consistency and the mesh it makes.
fn print_xodr(file: &std::path::Path) -> Result<()> {
    use verisim::geometry::opendrive::{self, GeometryKind};
    let t = std::time::Instant::now();
    let od = opendrive::read(file)?;
    let parse_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let (mesh, report) = opendrive::build_mesh(&od, glam::DVec2::ZERO);
    let mesh_s = t.elapsed().as_secs_f64();
    let total: f64 = od.roads.iter().map(|r| r.length).sum();
    println!("{} (OpenDRIVE {})", file.display(), od.rev);
    println!(
        "  {} roads, {:.1} m in all; {} junctions ({} connecting roads)",
        od.roads.len(),
        total,
        od.junctions,
        od.roads.iter().filter(|r| r.junction != "-1").count()
    );
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    let mut lanes = std::collections::BTreeMap::<&str, usize>::new();
    for r in &od.roads {
        for g in &r.geometry {
            let k = match g.kind {
                GeometryKind::Line => "line",
                GeometryKind::Arc { .. } => "arc",
                GeometryKind::Spiral { .. } => "spiral",
                GeometryKind::Poly3 { .. } => "poly3",
                GeometryKind::ParamPoly3 { .. } => "paramPoly3",
            };
            *kinds.entry(k).or_default() += 1;
        }
        for s in &r.sections {
            for l in s.left.iter().chain(&s.right) {
                *lanes.entry(l.kind.as_str()).or_default() += 1;
            }
        }
    }
    let list = |m: &std::collections::BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, n)| format!("{k} x{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("  geometry: {}", list(&kinds));
    println!("  lanes (per lane section): {}", list(&lanes));
    let (signals, objects): (Vec<_>, Vec<_>) = od
        .roads
        .iter()
        .flat_map(|r| &r.objects)
        .partition(|o| o.signal);
    println!(
        "  {} signals, {} objects; {} drawn, {} without a size in the file (not drawn)",
        signals.len(),
        objects.len(),
        report.objects_drawn,
        report.objects_without_size
    );
    let c = opendrive::consistency(&od);
    println!(
        "  consistency: {} roads whose length differs from their geometries' sum by > 1 mm{}; joins between geometries: largest gap {:.2e} m{}, largest turn {:.2e} rad",
        c.length_mismatches.len(),
        c.length_mismatches
            .first()
            .map(|(id, d)| format!(" (road {id}: {d:+.4} m)"))
            .unwrap_or_default(),
        c.max_join_gap_m,
        c.worst_join
            .as_ref()
            .map(|(id, line)| format!(" (road {id}, line {line})"))
            .unwrap_or_default(),
        c.max_join_turn_rad
    );
    println!("  mesh: {} triangles", mesh.len());
    eprintln!(
        "verisim: read in {:.1} ms, mesh built in {:.1} ms",
        parse_s * 1e3,
        mesh_s * 1e3
    );
    Ok(())
}

/// `import-gltf`: the model's contents, size and materials.
fn print_model(file: &std::path::Path, front: ModelFront) -> Result<()> {
    use verisim::geometry::imported;
    let t = std::time::Instant::now();
    let model = imported::import(file, front, 8)?;
    let import_s = t.elapsed().as_secs_f64();
    let s = model.stats;
    println!("{}", file.display());
    println!(
        "  nodes {}, meshes {}, primitives {}, materials {}, textures {}, skins {}, animations {}",
        s.nodes, s.meshes, s.primitives, s.materials, s.textures, s.skins, s.animations
    );
    let (mut lo, mut hi) = (
        glam::Vec3::splat(f32::INFINITY),
        glam::Vec3::splat(f32::NEG_INFINITY),
    );
    for p in model.poses[0].iter().flatten() {
        lo = lo.min(*p);
        hi = hi.max(*p);
    }
    let size = hi - lo;
    println!(
        "  {} triangles drawn (instances counted); rest pose {:.3} m long (x), {:.3} m wide (y), {:.3} m tall (z)",
        model.poses[0].len(),
        size.x,
        size.y,
        size.z
    );
    if model.poses.len() > 1 {
        println!(
            "  first animation {:.3} s, sampled as {} poses",
            model.animation_s,
            model.poses.len()
        );
    }
    // One verisim material per glTF material and texture colour: summarised per glTF material.
    println!(
        "  glTF material          colours  mean linear albedo (r, g, b)  905 nm reflectivity  transmittance"
    );
    let mut names: Vec<&str> = Vec::new();
    for m in &model.materials {
        if !names.contains(&m.name.as_str()) {
            names.push(&m.name);
        }
    }
    for name in names {
        let ms: Vec<_> = model
            .materials
            .iter()
            .filter(|m| m.name == name)
            .map(|m| imported::lidar_material(m, None))
            .collect();
        let n = ms.len() as f32;
        let mean =
            |f: &dyn Fn(&scenario::materials::Material) -> f32| ms.iter().map(f).sum::<f32>() / n;
        let (lo, hi) = ms.iter().fold((f32::INFINITY, 0.0f32), |(lo, hi), m| {
            (lo.min(m.reflectivity_905nm), hi.max(m.reflectivity_905nm))
        });
        println!(
            "  {:<22} {:>7}  ({:.3}, {:.3}, {:.3})          {:>8}  {:>13.2}",
            if name.is_empty() { "(unnamed)" } else { name },
            ms.len(),
            mean(&|m| m.albedo.0),
            mean(&|m| m.albedo.1),
            mean(&|m| m.albedo.2),
            if hi - lo < 5e-4 {
                format!("{lo:.3}")
            } else {
                format!("{lo:.3}-{hi:.3}")
            },
            mean(&|m| m.lidar_transmittance)
        );
    }
    eprintln!("verisim: imported in {:.1} ms", import_s * 1e3);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every argument of every subcommand has a `--help` description.
    #[test]
    fn every_argument_is_described() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for a in cmd.get_arguments() {
                let id = a.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (the subcommand)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "verisim", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
        Cli::command().debug_assert();
    }

    #[test]
    fn an_error_says_its_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::new(scenario::ScenarioError::Io {
            path: "x.ron".into(),
            source: io,
        })
        .context("loading x.ron");
        let text = error_text(&e);
        assert_eq!(text.matches("No such file").count(), 1, "{text}");
        assert!(
            text.starts_with("loading x.ron: x.ron: cannot read"),
            "{text}"
        );
    }
}
