//! Progress of a render for people and for logs: a bar on a terminal, plain lines at most
//! every interval where stderr is a file or a pipe (Slurm, Kubernetes, `2>log`), or one JSON
//! object per line on stdout for schedulers and dashboards.

use std::io::Write;
use std::path::Path;

use crate::pipeline::render::{Progress, RenderSummary};

/// How progress is shown (`render --progress`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar on a terminal; plain lines otherwise
    Auto,
    /// A bar (drawn only when stderr is a terminal)
    Bar,
    /// One plain line on stderr at most every --progress-interval seconds
    Lines,
    /// One JSON object per line on stdout: progress events, then the summary
    Json,
    /// Nothing until the summary
    None,
}

enum Sink {
    Bar(indicatif::ProgressBar),
    Lines(Box<dyn Write + Send>),
    Json(Box<dyn Write + Send>),
    None,
}

/// Shows a render's progress in the chosen mode.
pub struct Reporter {
    sink: Sink,
    interval_s: f64,
    /// Elapsed seconds at the last line or event written.
    last_s: f64,
}

impl Reporter {
    /// `stderr_is_terminal` decides `Auto`; lines go to stderr, JSON to stdout.
    pub fn new(mode: ProgressMode, interval_s: f64, stderr_is_terminal: bool) -> Self {
        let mode = match mode {
            ProgressMode::Auto if stderr_is_terminal => ProgressMode::Bar,
            ProgressMode::Auto => ProgressMode::Lines,
            m => m,
        };
        let sink = match mode {
            ProgressMode::Bar => {
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {pos}/{len} frames [{elapsed_precise}] {per_sec} ETA {eta} {msg} {wide_bar}",
                    )
                    .expect("valid template"),
                );
                Sink::Bar(bar)
            }
            ProgressMode::Lines => Sink::Lines(Box::new(std::io::stderr())),
            ProgressMode::Json => Sink::Json(Box::new(std::io::stdout())),
            ProgressMode::None | ProgressMode::Auto => Sink::None,
        };
        Reporter {
            sink,
            interval_s,
            last_s: 0.0,
        }
    }

    /// A reporter writing lines (`json` false) or JSON events to `out` (for tests).
    pub fn to_writer(json: bool, interval_s: f64, out: Box<dyn Write + Send>) -> Self {
        Reporter {
            sink: if json {
                Sink::Json(out)
            } else {
                Sink::Lines(out)
            },
            interval_s,
            last_s: 0.0,
        }
    }

    /// Called after each frame; writes a line or event when the interval has passed.
    pub fn update(&mut self, p: &Progress) {
        let due = p.elapsed_s - self.last_s >= self.interval_s;
        match &mut self.sink {
            Sink::Bar(bar) => {
                bar.set_length(p.total as u64);
                bar.set_position(p.done as u64);
                bar.set_message(format!("{:.1} MB", p.bytes_written as f64 / 1e6));
            }
            Sink::Lines(out) if due => {
                self.last_s = p.elapsed_s;
                // A log that cannot be written to is no reason to stop rendering.
                let _ = writeln!(out, "verisim: {}", progress_line(p));
            }
            Sink::Json(out) if due => {
                self.last_s = p.elapsed_s;
                let _ = writeln!(out, "{}", progress_json(p));
            }
            _ => {}
        }
    }

    /// Clears the bar; in JSON mode writes the summary as the last event.
    pub fn finish(&mut self, summary: &RenderSummary, out_dir: &Path) {
        match &mut self.sink {
            Sink::Bar(bar) => bar.finish_and_clear(),
            Sink::Json(out) => {
                let _ = writeln!(out, "{}", summary_json(summary, out_dir));
                let _ = out.flush();
            }
            Sink::Lines(_) | Sink::None => {}
        }
    }
}

/// `h min s` for a number of seconds.
fn duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, m, sec) => format!("{m} min {sec} s"),
        (h, m, _) => format!("{h} h {m} min"),
    }
}

/// `120/2000 frames (6 %), 24.1 frames/s, ETA 1 min 18 s, 412.3 MB written, 5 s elapsed`.
pub fn progress_line(p: &Progress) -> String {
    let pct = 100.0 * p.done as f64 / p.total.max(1) as f64;
    let eta = p.eta_s().map_or_else(|| "unknown".into(), duration);
    format!(
        "{}/{} frames ({pct:.0} %), {:.1} frames/s, ETA {eta}, {:.1} MB written, {} elapsed",
        p.done,
        p.total,
        p.frames_per_s(),
        p.bytes_written as f64 / 1e6,
        duration(p.elapsed_s)
    )
}

/// One progress event as a JSON object.
pub fn progress_json(p: &Progress) -> serde_json::Value {
    serde_json::json!({
        "event": "progress",
        "frames_done": p.done,
        "frames_total": p.total,
        "frames_per_s": p.frames_per_s(),
        "eta_s": p.eta_s(),
        "bytes_written": p.bytes_written,
        "elapsed_s": p.elapsed_s,
    })
}

/// The run summary as a JSON object (the last event of `--progress json`).
pub fn summary_json(s: &RenderSummary, out_dir: &Path) -> serde_json::Value {
    let c = &s.stages;
    serde_json::json!({
        "event": "summary",
        "frames_rendered": s.frames_rendered,
        "frames_skipped": s.frames_skipped,
        "backend": s.backend,
        "seconds": s.seconds,
        "frames_per_s": s.frames_per_s(),
        "lidar_points_per_frame": s.lidar_points as f64 / s.frames_rendered.max(1) as f64,
        "bytes_written": s.bytes_written,
        "out": out_dir.display().to_string(),
        "temporaries_removed": s.temporaries_removed,
        "stages_s": {
            "setup": c.setup,
            "simulate": c.simulate,
            "submit": c.submit,
            "collect": c.collect,
            "writer_full": c.writer_full,
            "encode_summed": c.encode,
            "write_summed": c.write,
            "backend": c.backend.iter().map(|(n, v)| (n.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
        },
        "cpu_s": {
            "render_thread": c.render_cpu,
            "writer": c.writer_cpu,
            "writer_threads": c.writer_threads,
            "wall": c.wall,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test can read.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn at(done: u32, elapsed_s: f64) -> Progress {
        Progress {
            done,
            total: 100,
            bytes_written: done as u64 * 2_000_000,
            elapsed_s,
        }
    }

    #[test]
    fn lines_come_at_most_once_per_interval() {
        let buf = Shared::default();
        let mut r = Reporter::to_writer(false, 10.0, Box::new(buf.clone()));
        // A frame every 0.5 s for 35 s: lines at 10, 20 and 30 s.
        for i in 1..=70 {
            r.update(&at(i, i as f64 * 0.5));
        }
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[0],
            "verisim: 20/100 frames (20 %), 2.0 frames/s, ETA 40 s, 40.0 MB written, 10 s elapsed"
        );
        assert!(
            lines[2].starts_with("verisim: 60/100 frames"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn json_events_parse_and_carry_the_figures() {
        let buf = Shared::default();
        let mut r = Reporter::to_writer(true, 0.0, Box::new(buf.clone()));
        r.update(&at(1, 0.25));
        r.update(&at(2, 0.5));
        let summary = RenderSummary {
            backend: "cpu".into(),
            frames_rendered: 2,
            bytes_written: 4_000_000,
            seconds: 0.5,
            ..Default::default()
        };
        r.finish(&summary, Path::new("out/x"));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let events: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[1]["event"], "progress");
        assert_eq!(events[1]["frames_done"], 2);
        assert_eq!(events[1]["frames_per_s"], 4.0);
        assert_eq!(events[1]["eta_s"], 24.5);
        assert_eq!(events[2]["event"], "summary");
        assert_eq!(events[2]["frames_per_s"], 4.0);
        assert_eq!(events[2]["out"], "out/x");
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(duration(7.4), "7 s");
        assert_eq!(duration(78.0), "1 min 18 s");
        assert_eq!(duration(7325.0), "2 h 2 min");
    }
}
