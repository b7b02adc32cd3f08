//! The run summary's account of where the time went: the render thread's and the writer
//! threads' CPU time are those threads' own, bounded by the run's wall time.

use std::path::Path;

use verisim::pipeline::render::{RenderOptions, render};
use verisim::scenario;

#[test]
fn cpu_times_are_the_threads_own_and_bounded_by_the_wall_time() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron");
    let (s, source) = scenario::load(&path).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let opts = RenderOptions::new(&tmp.path().join("out"), verisim::BackendKind::Cpu);
    let summary = render(&s, &source, &opts, |_| {}).unwrap();
    let st = &summary.stages;
    assert!(st.wall > 0.0 && st.wall <= summary.seconds, "{st:?}");
    if cfg!(not(unix)) {
        assert_eq!((st.render_cpu, st.writer_cpu), (None, None));
        return;
    }
    let render_cpu = st.render_cpu.expect("unix tells a thread's CPU time");
    // The loop's thread simulated the frames, so it ran; it cannot have run longer than the
    // loop (the CPU backend's parallel work runs in the global pool, not on this thread).
    assert!(render_cpu > 0.0 && render_cpu <= st.wall + 0.01, "{st:?}");
    let writer_cpu = st.writer_cpu.expect("unix tells");
    assert!(st.writer_threads >= 2, "{st:?}");
    // The writer encoded and wrote three frames; its threads cannot have run longer than
    // the loop, each of them (a process-wide clock would count the renderer's threads too).
    assert!(writer_cpu > 0.0, "{st:?}");
    assert!(
        writer_cpu <= st.wall * st.writer_threads as f64 + 0.01,
        "{st:?}"
    );
    let line = st.describe();
    assert!(
        line.contains("CPU time: render thread") && line.contains("% busy"),
        "{line}"
    );

    // Render-only runs no writer, and says nothing of one.
    let mut only = RenderOptions::new(&tmp.path().join("only"), verisim::BackendKind::Cpu);
    only.render_only = true;
    let summary = render(&s, &source, &only, |_| {}).unwrap();
    assert_eq!(summary.stages.writer_threads, 0);
    assert!(!summary.stages.describe().contains("% busy"));
}
