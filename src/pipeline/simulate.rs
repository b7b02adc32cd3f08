//! `verisim simulate`: every actor's state per physics tick as CSV, without rendering.

use std::io::Write;
use std::path::Path;

use crate::export::ExportError;
use crate::scenario::Scenario;
use crate::world::{ActorState, Simulation};

pub const CSV_HEADER: &str =
    "tick,time_s,entity,kind,x_m,y_m,z_m,yaw_rad,speed_m_per_s,accel_m_per_s2,lane,surface,mu";

fn row(out: &mut impl Write, tick: u64, time_s: f64, s: &ActorState) -> std::io::Result<()> {
    writeln!(
        out,
        "{tick},{time_s:.3},{},{},{:.4},{:.4},{:.4},{:.5},{:.4},{:.4},{},{},{:.3}",
        s.id,
        s.kind,
        s.position.x,
        s.position.y,
        s.position.z,
        s.yaw_rad,
        s.speed_m_per_s,
        s.accel_m_per_s2,
        s.lane,
        s.surface,
        s.mu
    )
}

/// Simulates `ticks` physics steps and writes the states at tick 0 and after every step to
/// `out` (atomically: a temporary file renamed at the end). Returns the number of rows.
pub fn write_states(scenario: &Scenario, ticks: u64, out: &Path) -> Result<u64, ExportError> {
    let io = |source| ExportError::Io {
        path: out.to_owned(),
        source,
    };
    // The world (and the models it imports) before anything is written.
    let mut sim = Simulation::try_new(scenario.clone()).map_err(|e| ExportError::Parse {
        path: e.path,
        message: e.message,
    })?;
    crate::files::write_with(out, false, |w| {
        writeln!(w, "{CSV_HEADER}")?;
        let mut rows = 0u64;
        loop {
            let (tick, t) = (sim.tick(), sim.time_s());
            for s in sim.states() {
                row(w, tick, t, &s)?;
                rows += 1;
            }
            if tick >= ticks {
                break;
            }
            sim.step();
        }
        Ok(rows)
    })
    .map_err(io)
}
