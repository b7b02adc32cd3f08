//! Scenario files: loading, `--set` overrides and validation.
//!
//! Errors name the file, the line and column, the field (as a dotted path) and what was
//! expected. Parsing never panics on bad input.

pub mod bounds;
mod checks;
pub mod lidar_presets;
pub mod materials;
pub mod sweep;
mod types;

pub use checks::{MAX_CHANNELS, MAX_IMAGE_SIDE};
pub use types::*;

use std::path::{Path, PathBuf};

/// Where a scenario came from, for error messages.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: cannot read the scenario file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `snippet`: the offending line with a caret under the column (empty when the position
    /// is not in the text).
    #[error("{path}:{line}:{col}: {field}: {message}{snippet}")]
    Invalid {
        path: PathBuf,
        line: usize,
        col: usize,
        field: String,
        message: String,
        snippet: String,
    },
    #[error("--set {assignment}: {message}")]
    Override { assignment: String, message: String },
}

/// Largest number of frames one run may ask for.
pub const MAX_FRAMES: u32 = 10_000_000;
/// Largest number of lidar rays per sweep (channels x azimuth steps).
pub const MAX_LIDAR_RAYS: u64 = 16_000_000;

/// Largest scenario file read (the shipped ones are a few kB).
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// Reads, parses and validates a scenario file (a regular file of at most
/// [`MAX_SCENARIO_BYTES`], checked before it is read).
pub fn load(path: &Path) -> Result<(Scenario, Source), ScenarioError> {
    let io = |source| ScenarioError::Io {
        path: path.to_owned(),
        source,
    };
    let bytes = crate::files::read_regular(path, MAX_SCENARIO_BYTES).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (byte {} is not)",
                e.utf8_error().valid_up_to()
            ),
        ))
    })?;
    let source = Source {
        path: path.to_owned(),
        text,
    };
    let scenario = parse(&source)?;
    Ok((scenario, source))
}

/// Parses and validates scenario text; `source.path` is used in messages only.
pub fn parse(source: &Source) -> Result<Scenario, ScenarioError> {
    // A UTF-8 byte-order mark (some editors write one) is not part of the text; skipping it
    // keeps line and column numbers as the editor shows them.
    let text = source.text.strip_prefix('\u{feff}').unwrap_or(&source.text);
    let invalid = |line, col, field: String, message: String| {
        // Between two fields (a syntax error) the path ends in `?`: name the field whose
        // value was being read, the last one opened at that level before the error.
        let field = match field.strip_suffix('?') {
            Some(prefix) => match offset_of(text, line, col).and_then(|o| field_before(text, o)) {
                Some(name) => format!("{prefix}{name}"),
                None => field,
            },
            None => field,
        };
        // `width: 320.5` on an integer field: RON reads 320, then finds `.` where a comma
        // should be.
        let at = offset_of(text, line, col).unwrap_or(text.len());
        let after_digit = text[..at].ends_with(|c: char| c.is_ascii_digit());
        let message = if message == "Expected comma" && after_digit && text[at..].starts_with('.') {
            format!("{message}: this field takes a whole number, not a decimal")
        } else {
            message
        };
        ScenarioError::Invalid {
            path: source.path.clone(),
            line,
            col,
            field: if field.is_empty() || field == "." {
                "(top level)".into()
            } else {
                field
            },
            message,
            snippet: snippet(text, line, col),
        }
    };
    let options = ron::Options::default();
    let mut de = ron::Deserializer::from_str_with_options(text, &options).map_err(|e| {
        invalid(
            e.span.start.line,
            e.span.start.col,
            String::new(),
            e.code.to_string(),
        )
    })?;
    let result: Result<Scenario, _> = serde_path_to_error::deserialize(&mut de);
    let scenario = match result {
        Ok(s) => s,
        Err(e) => {
            let field = e.path().to_string();
            let spanned = de.span_error(e.into_inner());
            return Err(invalid(
                spanned.span.start.line,
                spanned.span.start.col,
                field,
                spanned.code.to_string(),
            ));
        }
    };
    de.end().map_err(|e| {
        let spanned = de.span_error(e);
        invalid(
            spanned.span.start.line,
            spanned.span.start.col,
            String::new(),
            spanned.code.to_string(),
        )
    })?;
    let mut scenario = scenario;
    resolve_mesh_paths(&mut scenario, &source.path);
    validate(&scenario).map_err(|(field, message)| {
        let (line, col) = locate(text, &field);
        invalid(line, col, field, message)
    })?;
    Ok(scenario)
}

/// Makes the models' relative paths relative to the scenario file's folder (a path given by
/// `--set` stays relative to the working directory).
fn resolve_mesh_paths(scenario: &mut Scenario, scenario_path: &Path) {
    let base = scenario_path.parent().unwrap_or(Path::new(""));
    let meshes = scenario.actors.iter_mut().filter_map(|a| a.mesh.as_mut());
    for mesh in meshes.chain(scenario.map.props.iter_mut().map(|p| &mut p.mesh)) {
        if mesh.path.is_relative() {
            mesh.path = base.join(&mesh.path);
        }
    }
    if let Some(od) = &mut scenario.map.opendrive
        && od.path.is_relative()
    {
        od.path = base.join(&od.path);
    }
}

/// A model's file exists and is a glTF file; its 905 nm overrides name known materials.
fn check_mesh(f: &str, mesh: &MeshSpec) -> Result<(), FieldError> {
    let ext = mesh
        .path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("gltf" | "glb")) {
        return Err((
            format!("{f}.path"),
            format!(
                "{}: expected a glTF 2.0 file (.gltf or .glb)",
                mesh.path.display()
            ),
        ));
    }
    match std::fs::metadata(&mesh.path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err((
                format!("{f}.path"),
                format!("{}: not a regular file", mesh.path.display()),
            ));
        }
        Err(e) => {
            return Err((format!("{f}.path"), format!("{}: {e}", mesh.path.display())));
        }
    }
    for (name, table_name) in &mesh.lidar_materials {
        materials::lookup(table_name)
            .map_err(|e| (format!("{f}.lidar_materials[\"{name}\"]"), e))?;
    }
    Ok(())
}

/// Applies `key=value` overrides with dotted paths (`weather.fog_visibility_m=50`,
/// `actors.0.speed_m_per_s=3`). Values are RON (`50`, `Some(50.0)`, `"text"`, `(1, 2)`,
/// `Pinhole(fx: 700.0, ...)`).
/// The result is checked exactly like a file.
pub fn apply_overrides(scenario: &Scenario, sets: &[String]) -> Result<Scenario, ScenarioError> {
    if sets.is_empty() {
        return Ok(scenario.clone());
    }
    let mut tree = serde_json::to_value(scenario).map_err(|e| ScenarioError::Override {
        assignment: String::new(),
        message: e.to_string(),
    })?;
    // Keys set to `None`, checked below once the result is known.
    let mut set_to_none: Vec<(&String, &str)> = Vec::new();
    for assignment in sets {
        let fail = |message: String| ScenarioError::Override {
            assignment: assignment.clone(),
            message,
        };
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| fail("expected KEY=VALUE, e.g. weather.rain_mm_per_h=10".into()))?;
        let new_value = ron_text_to_json(value.trim()).map_err(fail)?;
        if new_value.is_null() {
            set_to_none.push((assignment, key.trim()));
        }
        let slot = key
            .trim()
            .split('.')
            .try_fold(&mut tree, |node, part| descend(node, part))
            .map_err(|m| fail(format!("no field `{}`: {m}", key.trim())))?;
        *slot = new_value;
    }
    // An absent optional field serializes as null, which the field's own checks (written for
    // the RON form, where it is simply left out) would refuse: leave it out here too.
    drop_null_fields(&mut tree);
    let result: Result<Scenario, _> = serde_path_to_error::deserialize(&tree);
    let scenario = result.map_err(|e| ScenarioError::Override {
        assignment: sets.join(" "),
        message: format!("{}: {}", e.path(), e.inner()),
    })?;
    // `None` leaves a field out, which only an optional field may be: a required one would
    // silently take its default.
    let applied = serde_json::to_value(&scenario).map_err(|e| ScenarioError::Override {
        assignment: sets.join(" "),
        message: e.to_string(),
    })?;
    for (assignment, key) in set_to_none {
        let mut node = Some(&applied);
        for part in key.split('.') {
            node = node.and_then(|n| lookup(n, part));
        }
        if node.is_some_and(|n| !n.is_null()) {
            return Err(ScenarioError::Override {
                assignment: assignment.clone(),
                message: format!(
                    "`{key}` is not optional: give it a value (`None` would leave its default)"
                ),
            });
        }
    }
    validate(&scenario).map_err(|(field, message)| ScenarioError::Override {
        assignment: sets.join(" "),
        message: format!("{field}: {message}"),
    })?;
    Ok(scenario)
}

fn descend<'a>(
    node: &'a mut serde_json::Value,
    part: &str,
) -> Result<&'a mut serde_json::Value, String> {
    match node {
        serde_json::Value::Object(map) => {
            // Enum variants serialize as {"Variant": {...}}: step through a single-key wrapper.
            if !map.contains_key(part) && map.len() == 1 {
                let inner = map.values_mut().next().expect("one entry");
                return descend(inner, part);
            }
            map.get_mut(part)
                .ok_or_else(|| format!("`{part}` is not a field here"))
        }
        serde_json::Value::Array(items) => {
            let n = items.len();
            let i: usize = part
                .parse()
                .map_err(|_| format!("`{part}` is not a list index"))?;
            items
                .get_mut(i)
                .ok_or_else(|| format!("index {i} is out of range (the list has {n})"))
        }
        _ => Err(format!("`{part}` goes below a plain value")),
    }
}

/// The child `part` of a serialized scenario node, as [`descend`] finds it (read only).
fn lookup<'a>(node: &'a serde_json::Value, part: &str) -> Option<&'a serde_json::Value> {
    match node {
        serde_json::Value::Object(map) => match map.get(part) {
            Some(v) => Some(v),
            None if map.len() == 1 => map.values().next().and_then(|v| lookup(v, part)),
            None => None,
        },
        serde_json::Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// Removes every object entry whose value is null, at any depth.
fn drop_null_fields(node: &mut serde_json::Value) {
    match node {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_null_fields);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_fields),
        _ => {}
    }
}

/// Converts a RON value written on the command line to the JSON tree used for overrides.
fn ron_text_to_json(text: &str) -> Result<serde_json::Value, String> {
    // A bare capitalised word such as `Van` is a unit enum variant (RON itself reads it as a
    // unit struct, which would become null).
    if text.starts_with(|c: char| c.is_ascii_uppercase())
        && text.chars().all(|c| c.is_alphanumeric() || c == '_')
        && text != "None"
    {
        return Ok(serde_json::Value::String(text.to_owned()));
    }
    // `Pinhole(fx: 700.0, ...)`, `Straight(from: ..., to: ...)`: an enum variant with fields,
    // whose name RON's untyped value would drop; serde's JSON form is `{"Variant": fields}`
    // (a single value in the parentheses is a newtype variant's).
    if let Some(open) = text.find('(')
        && open > 0
        && text.ends_with(')')
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text[..open]
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_')
        && !matches!(&text[..open], "Some" | "None")
    {
        let inner = ron_text_to_json(&text[open..])?;
        let inner = match inner {
            serde_json::Value::Array(mut items) if items.len() == 1 => items.remove(0),
            other => other,
        };
        let mut map = serde_json::Map::new();
        map.insert(text[..open].to_owned(), inner);
        return Ok(serde_json::Value::Object(map));
    }
    let value: ron::Value = match ron::from_str(text) {
        // RON reads any other bare word (`heavy`, `on`, `linear`) as a unit struct, which would
        // become null and so the field's default: keep it as the word, which a number or an
        // enum field then refuses by name.
        Ok(ron::Value::Unit) if text != "()" => {
            return Ok(serde_json::Value::String(text.to_owned()));
        }
        Ok(v) => v,
        // A bare word such as `Van` or `KittiP2` is a unit enum variant.
        Err(_) if text.chars().all(|c| c.is_alphanumeric() || c == '_') && !text.is_empty() => {
            return Ok(serde_json::Value::String(text.to_owned()));
        }
        Err(e) => return Err(format!("`{text}` is not a RON value: {e}")),
    };
    ron_to_json(value)
}

fn ron_to_json(value: ron::Value) -> Result<serde_json::Value, String> {
    use ron::Value as R;
    use serde_json::Value as J;
    Ok(match value {
        R::Bool(b) => J::Bool(b),
        R::Char(c) => J::String(c.to_string()),
        R::String(s) => J::String(s),
        R::Unit => J::Null,
        R::Option(None) => J::Null,
        R::Option(Some(v)) => ron_to_json(*v)?,
        // Integers keep their type and every digit (a seed of 10^16 is an integer).
        R::Number(ron::value::Number::I64(i)) => J::from(i),
        R::Number(ron::value::Number::U64(u)) => J::from(u),
        R::Number(n) => {
            let f = n.into_f64();
            if !f.is_finite() {
                return Err(format!("{f} is not a finite number"));
            }
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                if f < 0.0 {
                    J::from(f as i64)
                } else {
                    J::from(f as u64)
                }
            } else {
                J::from(f)
            }
        }
        R::Seq(items) => J::Array(
            items
                .into_iter()
                .map(ron_to_json)
                .collect::<Result<_, _>>()?,
        ),
        R::Map(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    R::String(s) => s,
                    other => format!("{other:?}"),
                };
                out.insert(key, ron_to_json(v)?);
            }
            J::Object(out)
        }
        R::Bytes(_) => return Err("byte strings are not scenario values".into()),
    })
}

/// Finds the line and column of a dotted field path in RON text (best effort: the last
/// named segment found in order after its parents).
/// Byte offset of a 1-based line and column (in characters), if the text has it.
fn offset_of(text: &str, line: usize, col: usize) -> Option<usize> {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum();
    let rest = text.get(start..)?;
    let in_line = rest
        .char_indices()
        .nth(col.checked_sub(1)?)
        .map_or(rest.len(), |(i, _)| i);
    Some(start + in_line)
}

/// The name of the last field opened before `offset` at the nesting level of `offset` (the
/// `name` of the nearest `name:` with no unclosed bracket between), skipping strings and
/// strings. None at the top level.
fn field_before(text: &str, offset: usize) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut i = offset.min(bytes.len());
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b'"' => {
                // Skip back over the string to its opening quote.
                while i > 0 {
                    i -= 1;
                    if bytes[i] == b'"' && (i == 0 || bytes[i - 1] != b'\\') {
                        break;
                    }
                }
            }
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            b':' if depth == 0 => {
                let head = text[..i].trim_end();
                let name_start = head
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(0, |k| k + 1);
                let name = &head[name_start..];
                if !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit()) {
                    return Some(name);
                }
            }
            _ => {}
        }
    }
    None
}

/// The line `line` of the text, numbered, and a caret under column `col` (1-based, in
/// characters), as a suffix for an error message; empty when the line is not in the text.
fn snippet(text: &str, line: usize, col: usize) -> String {
    let Some(src) = line.checked_sub(1).and_then(|l| text.lines().nth(l)) else {
        return String::new();
    };
    // Tabs stay tabs under the line so the caret lines up in any terminal.
    let pad: String = src
        .chars()
        .take(col.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    format!("\n {number} | {src}\n {gutter} | {pad}^")
}

fn locate(text: &str, field: &str) -> (usize, usize) {
    let mut cursor = 0usize;
    for part in field.split('.') {
        let part = part.split('[').next().unwrap_or(part);
        if part.is_empty() || part.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let mut search = cursor;
        while let Some(off) = text[search..].find(part) {
            let at = search + off;
            let before_ok = at == 0
                || !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_');
            let rest = text[at + part.len()..].trim_start();
            if before_ok && rest.starts_with(':') {
                cursor = at;
                break;
            }
            search = at + part.len();
        }
    }
    let line = 1 + text[..cursor].matches('\n').count();
    let col = 1 + text[..cursor]
        .chars()
        .rev()
        .take_while(|&c| c != '\n')
        .count();
    (line, col)
}

type FieldError = (String, String);

fn finite_pair(field: String, p: (f32, f32)) -> Result<(), FieldError> {
    if p.0.is_finite() && p.1.is_finite() && p.0.abs() < 1.0e6 && p.1.abs() < 1.0e6 {
        Ok(())
    } else {
        Err((
            field,
            format!("expected finite coordinates within ±1e6 m, found {p:?}"),
        ))
    }
}

fn positive_size(field: String, s: (f32, f32, f32)) -> Result<(), FieldError> {
    let ok = |v: f32| v.is_finite() && v > 0.0 && v < 1000.0;
    if ok(s.0) && ok(s.1) && ok(s.2) {
        Ok(())
    } else {
        Err((
            field,
            format!("expected three sizes in (0, 1000) m, found {s:?}"),
        ))
    }
}

fn check_pose(field: &str, p: &MountPose) -> Result<(), FieldError> {
    let (x, y, z) = p.xyz_m;
    let (r, pi, ya) = p.rpy_deg;
    if [x, y, z].iter().any(|v| !v.is_finite() || v.abs() > 100.0) {
        return Err((
            format!("{field}.xyz_m"),
            format!("expected finite offsets within ±100 m, found {:?}", p.xyz_m),
        ));
    }
    if [r, pi, ya]
        .iter()
        .any(|v| !v.is_finite() || v.abs() > 360.0)
    {
        return Err((
            format!("{field}.rpy_deg"),
            format!("expected angles within ±360°, found {:?}", p.rpy_deg),
        ));
    }
    Ok(())
}

fn check_route(
    field: &str,
    spawn: &Option<(f32, f32, f32)>,
    route: &[(f32, f32)],
) -> Result<(), FieldError> {
    if let Some((x, y, yaw)) = *spawn {
        finite_pair(format!("{field}.spawn"), (x, y))?;
        if !yaw.is_finite() {
            return Err((
                format!("{field}.spawn"),
                format!("yaw must be finite, found {yaw}"),
            ));
        }
    }
    for (i, &p) in route.iter().enumerate() {
        finite_pair(format!("{field}.route[{i}]"), p)?;
    }
    if spawn.is_none() && route.is_empty() {
        return Err((
            format!("{field}.route"),
            "give a spawn pose or at least one route point".into(),
        ));
    }
    Ok(())
}

fn check_drive(
    field: &str,
    d: &DriveSpec,
    kind: ActorKind,
    s: &Scenario,
) -> Result<(), FieldError> {
    let f = format!("{field}.drive");
    if matches!(kind, ActorKind::Pedestrian) {
        return Err((
            f,
            "pedestrians follow routes; `drive` is for vehicles and cyclists".into(),
        ));
    }
    let Some(road) = s.map.roads.get(d.road) else {
        return Err((
            format!("{f}.road"),
            format!(
                "there are {} roads, index {} is out of range",
                s.map.roads.len(),
                d.road
            ),
        ));
    };
    let n = road.lanes_per_direction as i32;
    if d.lane >= n || d.lane < -n {
        return Err((
            format!("{f}.lane"),
            format!("expected a lane in -{n}..={}, found {}", n - 1, d.lane),
        ));
    }
    let len = road.shape.length_m();
    if d.s_m > len {
        return Err((
            format!("{f}.s_m"),
            format!("the road is {len:.1} m long, s_m is {}", d.s_m),
        ));
    }
    for (k, e) in d.events.iter().enumerate() {
        let at_s = e.at_s();
        if !(at_s.is_finite() && at_s >= 0.0) {
            return Err((
                format!("{f}.events"),
                format!("event times must be finite and ≥ 0, found {at_s}"),
            ));
        }
        match *e {
            DriveEvent::CutIn { gap_m, .. } => {
                if s.ego.drive.is_none() {
                    return Err((
                        format!("{f}.events"),
                        format!(
                            "event {k} (CutIn) cuts in front of the ego, but the ego does not drive on a lane (give ego.drive)"
                        ),
                    ));
                }
                if road.lanes_per_direction < 2 {
                    return Err((
                        format!("{f}.events"),
                        format!(
                            "event {k} (CutIn) needs an adjacent lane, road {} has one lane per direction",
                            d.road
                        ),
                    ));
                }
                if !(gap_m.is_finite() && gap_m > 0.0) {
                    return Err((
                        format!("{f}.events"),
                        format!("event {k} (CutIn): gap_m must be > 0, found {gap_m}"),
                    ));
                }
            }
            DriveEvent::Swerve {
                amplitude_m,
                duration_s,
                ..
            } => {
                if !(amplitude_m.is_finite() && amplitude_m.abs() <= road.lane_width_m) {
                    return Err((
                        format!("{f}.events"),
                        format!(
                            "event {k} (Swerve): amplitude_m must be within ±{} m (one lane width), found {amplitude_m}",
                            road.lane_width_m
                        ),
                    ));
                }
                if !(duration_s.is_finite() && duration_s > 0.0) {
                    return Err((
                        format!("{f}.events"),
                        format!("event {k} (Swerve): duration_s must be > 0, found {duration_s}"),
                    ));
                }
            }
            DriveEvent::BrakeHard { .. } | DriveEvent::Stall { .. } => {}
        }
    }
    Ok(())
}

fn check_rare_event(k: usize, e: &RareEvent, s: &Scenario) -> Result<(), FieldError> {
    let f = format!("rare_events[{k}]");
    match *e {
        RareEvent::PedestrianStepOut {
            road,
            lane,
            s_m,
            at_s,
            ego_within_m,
            speed_m_per_s,
        } => {
            let Some(r) = s.map.roads.get(road) else {
                return Err((
                    format!("{f}.road"),
                    format!(
                        "there are {} roads, index {road} is out of range",
                        s.map.roads.len()
                    ),
                ));
            };
            let n = r.lanes_per_direction as i32;
            if lane >= n || lane < -n {
                return Err((
                    format!("{f}.lane"),
                    format!("expected a lane in -{n}..={}, found {lane}", n - 1),
                ));
            }
            let len = r.shape.length_m();
            if !(s_m.is_finite() && (0.0..=len).contains(&s_m)) {
                return Err((
                    format!("{f}.s_m"),
                    format!("the road is {len:.1} m long, s_m is {s_m}"),
                ));
            }
            if at_s.is_none() && ego_within_m.is_none() {
                return Err((
                    format!("{f}.at_s"),
                    "give a trigger: at_s (a time) or ego_within_m (an ego distance)".into(),
                ));
            }
            if let Some(t) = at_s
                && !(t.is_finite() && t >= 0.0)
            {
                return Err((
                    format!("{f}.at_s"),
                    format!("expected a finite time ≥ 0, found {t}"),
                ));
            }
            if ego_within_m.is_some() && s.ego.drive.is_none() && s.ego.route.is_empty() {
                return Err((
                    format!("{f}.ego_within_m"),
                    "the ego does not move (give ego.drive or ego.route)".into(),
                ));
            }
            if !(speed_m_per_s.is_finite() && speed_m_per_s > 0.0 && speed_m_per_s < 10.0) {
                return Err((
                    format!("{f}.speed_m_per_s"),
                    format!(
                        "expected a walking or running speed in (0, 10) m/s, found {speed_m_per_s}"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Checks that relate several values, or values inside enums; returns (field path, message).
pub fn validate(s: &Scenario) -> Result<(), FieldError> {
    if s.schema != SCHEMA_VERSION {
        return Err((
            "schema".into(),
            format!(
                "this verisim reads schema {SCHEMA_VERSION}, the file says {}",
                s.schema
            ),
        ));
    }
    for (i, road) in s.map.roads.iter().enumerate() {
        let f = format!("map.roads[{i}]");
        match road.shape {
            RoadShape::Straight { from, to } => {
                finite_pair(format!("{f}.shape.from"), from)?;
                finite_pair(format!("{f}.shape.to"), to)?;
                let len = ((to.0 - from.0).powi(2) + (to.1 - from.1).powi(2)).sqrt();
                if len < 1.0 {
                    return Err((
                        format!("{f}.shape"),
                        format!("a road must be at least 1 m long, this one is {len} m"),
                    ));
                }
            }
            RoadShape::Arc {
                center,
                radius_m,
                start_deg,
                end_deg,
            } => {
                finite_pair(format!("{f}.shape.center"), center)?;
                let half_width =
                    road.lanes_per_direction as f32 * road.lane_width_m + road.sidewalk_width_m;
                if !(radius_m.is_finite() && radius_m > half_width && radius_m < 1.0e5) {
                    return Err((
                        format!("{f}.shape.radius_m"),
                        format!(
                            "expected a radius larger than the road's half width ({half_width} m), found {radius_m}"
                        ),
                    ));
                }
                if !(start_deg.is_finite()
                    && end_deg.is_finite()
                    && end_deg > start_deg
                    && end_deg - start_deg <= 360.0)
                {
                    return Err((
                        format!("{f}.shape.end_deg"),
                        format!(
                            "expected start_deg < end_deg ≤ start_deg + 360, found {start_deg}..{end_deg}"
                        ),
                    ));
                }
            }
        }
        if road.lanes_per_direction > 8 {
            return Err((
                format!("{f}.lanes_per_direction"),
                format!("expected at most 8, found {}", road.lanes_per_direction),
            ));
        }
        let r = &road.roadside;
        if r.building_min_height_m > r.building_max_height_m {
            return Err((
                format!("{f}.roadside.building_max_height_m"),
                "must be ≥ building_min_height_m".into(),
            ));
        }
        for (name, v) in [
            ("building_spacing_m", r.building_spacing_m),
            ("tree_spacing_m", r.tree_spacing_m),
            ("pole_spacing_m", r.pole_spacing_m),
            ("parked_car_spacing_m", r.parked_car_spacing_m),
        ] {
            if v > 0.0 && v < 2.0 {
                return Err((
                    format!("{f}.roadside.{name}"),
                    format!("expected 0 (none) or ≥ 2 m, found {v}"),
                ));
            }
        }
    }
    for (i, x) in s.map.intersections.iter().enumerate() {
        let f = format!("map.intersections[{i}]");
        finite_pair(format!("{f}.center"), x.center)?;
        if !(3..=4).contains(&x.arms_deg.len()) || x.arms_deg.iter().any(|a| !a.is_finite()) {
            return Err((
                format!("{f}.arms_deg"),
                format!(
                    "expected 3 (T) or 4 (4-way) finite angles, found {:?}",
                    x.arms_deg
                ),
            ));
        }
    }
    for (i, b) in s.map.boxes.iter().enumerate() {
        let f = format!("map.boxes[{i}]");
        finite_pair(format!("{f}.center"), b.center)?;
        positive_size(format!("{f}.size_m"), b.size_m)?;
        if let Some(m) = &b.material {
            materials::lookup(m).map_err(|e| (format!("{f}.material"), e))?;
        }
    }
    if let Some(od) = &s.map.opendrive {
        let f = "map.opendrive.path";
        let ext = od.path.extension().and_then(|e| e.to_str());
        if !ext.is_some_and(|e| e.eq_ignore_ascii_case("xodr")) {
            return Err((
                f.into(),
                format!("{}: expected an OpenDRIVE file (.xodr)", od.path.display()),
            ));
        }
        match std::fs::metadata(&od.path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err((
                    f.into(),
                    format!("{}: not a regular file", od.path.display()),
                ));
            }
            Err(e) => return Err((f.into(), format!("{}: {e}", od.path.display()))),
        }
        if !(od.origin_m.0.is_finite() && od.origin_m.1.is_finite()) {
            return Err((
                "map.opendrive.origin_m".into(),
                "expected finite coordinates".into(),
            ));
        }
    }
    for (i, p) in s.map.props.iter().enumerate() {
        let f = format!("map.props[{i}]");
        finite_pair(format!("{f}.center"), p.center)?;
        if let Some(size) = p.size_m {
            positive_size(format!("{f}.size_m"), size)?;
        }
        check_mesh(&format!("{f}.mesh"), &p.mesh)?;
        if p.mesh.cycle_m.is_some() {
            return Err((
                format!("{f}.mesh.cycle_m"),
                "a prop stands still: its animation is not played".into(),
            ));
        }
    }
    for (i, a) in s.actors.iter().enumerate() {
        let f = format!("actors[{i}]");
        if let Some(size) = a.size_m {
            positive_size(format!("{f}.size_m"), size)?;
        }
        if let Some(m) = &a.material {
            materials::lookup(m).map_err(|e| (format!("{f}.material"), e))?;
        }
        if let Some(mesh) = &a.mesh {
            if a.kind == ActorKind::Target {
                return Err((
                    format!("{f}.mesh"),
                    "a Target is a plain box; give a model to a vehicle or a person".into(),
                ));
            }
            check_mesh(&format!("{f}.mesh"), mesh)?;
        }
        match &a.drive {
            Some(d) => check_drive(&f, d, a.kind, s)?,
            None => check_route(&f, &a.spawn, &a.route)?,
        }
    }
    // The explicit particle field around the rig must stay within its cap at every rate the
    // run reaches (rain and snow can change independently, so their maxima are combined).
    {
        let mut rain = (s.weather.rain_mm_per_h, "weather.rain_mm_per_h".to_owned());
        let mut snow = (s.weather.snow_mm_per_h, "weather.snow_mm_per_h".to_owned());
        for (i, c) in s.weather_changes.iter().enumerate() {
            if let Some(r) = c.rain_mm_per_h.filter(|r| *r > rain.0) {
                rain = (r, format!("weather_changes[{i}].rain_mm_per_h"));
            }
            if let Some(r) = c.snow_mm_per_h.filter(|r| *r > snow.0) {
                snow = (r, format!("weather_changes[{i}].snow_mm_per_h"));
            }
        }
        if crate::physics::precip_field::check_field_rates(rain.0, snow.0).is_err() {
            let n = crate::physics::precip_field::expected_field_particles(rain.0, snow.0);
            let field = if crate::physics::precip_field::check_field_rates(rain.0, 0.0).is_err() {
                rain.1
            } else {
                snow.1
            };
            return Err((
                field,
                format!(
                    "rain {} mm/h with snow {} mm/h would put {n:.0} drops and flakes in the \
                     particle field around the rig, more than its limit of {}; expected a \
                     physical rate (the heaviest recorded rain is ~300 mm/h)",
                    rain.0,
                    snow.0,
                    crate::physics::precip_field::MAX_FIELD_PARTICLES
                ),
            ));
        }
    }
    if let Some(t) = &s.traffic {
        if t.mix.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0))
            || t.mix.iter().all(|(_, w)| *w <= 0.0)
        {
            return Err((
                "traffic.mix".into(),
                "expected non-negative shares with a positive sum".into(),
            ));
        }
        if t.mix
            .iter()
            .any(|(k, _)| matches!(k, ActorKind::Pedestrian | ActorKind::Cyclist))
        {
            return Err((
                "traffic.mix".into(),
                "traffic drives vehicles only (Car, Van, Truck, Bus)".into(),
            ));
        }
        if t.vehicles_per_km_per_lane > 150.0 {
            return Err((
                "traffic.vehicles_per_km_per_lane".into(),
                format!(
                    "expected at most 150 (jam density), found {}",
                    t.vehicles_per_km_per_lane
                ),
            ));
        }
    }
    if s.actors.len() > bounds::MAX_ACTORS {
        return Err((
            "actors".into(),
            format!(
                "at most {} actors (16-bit instance ids), found {}",
                bounds::MAX_ACTORS,
                s.actors.len()
            ),
        ));
    }
    for (k, e) in s.rare_events.iter().enumerate() {
        check_rare_event(k, e, s)?;
    }
    match &s.ego.drive {
        Some(d) => check_drive("ego", d, ActorKind::Car, s)?,
        None => check_route("ego", &s.ego.spawn, &s.ego.route)?,
    }
    if s.rig.cameras.len() > 2 {
        return Err((
            "rig.cameras".into(),
            format!(
                "at most 2 cameras (image_2, image_3), found {}",
                s.rig.cameras.len()
            ),
        ));
    }
    if s.rig.lidars.len() > 1 {
        return Err((
            "rig.lidars".into(),
            format!("at most 1 lidar, found {}", s.rig.lidars.len()),
        ));
    }
    for (i, c) in s.rig.cameras.iter().enumerate() {
        let f = format!("rig.cameras[{i}]");
        check_pose(&format!("{f}.pose"), &c.pose)?;
        match c.intrinsics {
            Intrinsics::Fov { horizontal_deg } => {
                if !(horizontal_deg.is_finite() && horizontal_deg > 1.0 && horizontal_deg < 179.0) {
                    return Err((
                        format!("{f}.intrinsics.horizontal_deg"),
                        format!(
                            "expected a field of view in (1, 179) degrees, found {horizontal_deg}"
                        ),
                    ));
                }
            }
            Intrinsics::Pinhole { fx, fy, cx, cy } => {
                for (n, v) in [("fx", fx), ("fy", fy)] {
                    if !(v.is_finite() && v > 0.0) {
                        return Err((
                            format!("{f}.intrinsics.{n}"),
                            format!("expected a focal length > 0 px, found {v}"),
                        ));
                    }
                }
                for (n, v) in [("cx", cx), ("cy", cy)] {
                    if !v.is_finite() {
                        return Err((
                            format!("{f}.intrinsics.{n}"),
                            format!("expected a finite principal point, found {v}"),
                        ));
                    }
                }
            }
            Intrinsics::KittiP2 => {}
        }
        let (k1, k2, p1, p2) = c.distortion;
        if ![k1, k2, p1, p2]
            .iter()
            .all(|v| v.is_finite() && v.abs() < 10.0)
        {
            return Err((
                format!("{f}.distortion"),
                format!(
                    "expected finite coefficients (k1, k2, p1, p2) within ±10, found {:?}",
                    c.distortion
                ),
            ));
        }
        if c.samples_per_pixel > 64 {
            return Err((
                format!("{f}.samples_per_pixel"),
                format!(
                    "expected 1 to 64 samples per pixel, found {}",
                    c.samples_per_pixel
                ),
            ));
        }
        if c.shutter_s > 1.0 {
            return Err((
                format!("{f}.shutter_s"),
                format!("expected a shutter time ≤ 1 s, found {}", c.shutter_s),
            ));
        }
        match c.exposure_mode {
            ExposureMode::Auto {
                target,
                min_ev100,
                max_ev100,
            } => {
                if !(target.is_finite() && target > 0.0 && target < 10.0) {
                    return Err((
                        format!("{f}.exposure_mode.target"),
                        format!("expected a mean-luminance target in (0, 10), found {target}"),
                    ));
                }
                if !(min_ev100.is_finite() && max_ev100.is_finite() && min_ev100 <= max_ev100) {
                    return Err((
                        format!("{f}.exposure_mode.min_ev100"),
                        format!(
                            "expected finite min_ev100 ≤ max_ev100, found {min_ev100} and {max_ev100}"
                        ),
                    ));
                }
            }
            ExposureMode::Manual { ev100 } => {
                if !(ev100.is_finite() && ev100.abs() < 30.0) {
                    return Err((
                        format!("{f}.exposure_mode.ev100"),
                        format!("expected an EV100 within ±30, found {ev100}"),
                    ));
                }
            }
        }
    }
    if s.weather.puddles.len() > 8 {
        return Err((
            "weather.puddles".into(),
            format!("at most 8 puddles, found {}", s.weather.puddles.len()),
        ));
    }
    for (i, p) in s.weather.puddles.iter().enumerate() {
        finite_pair(format!("weather.puddles[{i}].center"), p.center)?;
    }
    for (i, l) in s.rig.lidars.iter().enumerate() {
        let f = format!("rig.lidars[{i}]");
        check_pose(&format!("{f}.pose"), &l.pose)?;
        match &l.elevations {
            Elevations::Uniform {
                upper_deg,
                lower_deg,
            } => {
                let ok = |v: f32| v.is_finite() && v.abs() <= 90.0;
                if !(ok(*upper_deg) && ok(*lower_deg) && upper_deg >= lower_deg) {
                    return Err((
                        format!("{f}.elevations"),
                        format!(
                            "expected -90 ≤ lower_deg ≤ upper_deg ≤ 90, found upper {upper_deg}, lower {lower_deg}"
                        ),
                    ));
                }
            }
            Elevations::Table(t) => {
                if t.len() != l.channels as usize {
                    return Err((
                        format!("{f}.elevations"),
                        format!(
                            "the table has {} entries but channels is {}",
                            t.len(),
                            l.channels
                        ),
                    ));
                }
                if let Some(v) = t.iter().find(|v| !(v.is_finite() && v.abs() <= 90.0)) {
                    return Err((
                        format!("{f}.elevations"),
                        format!("expected elevations within ±90°, found {v}"),
                    ));
                }
            }
        }
        if l.compensated_points && !l.motion_distortion {
            return Err((
                format!("{f}.compensated_points"),
                "compensated points need `motion_distortion: true` (without it every column already fires from the frame-time pose)".into(),
            ));
        }
        if l.min_range_m >= l.max_range_m || l.max_range_m > 2000.0 {
            return Err((
                format!("{f}.max_range_m"),
                format!(
                    "expected min_range_m < max_range_m ≤ 2000, found {}..{}",
                    l.min_range_m, l.max_range_m
                ),
            ));
        }
        let columns = (360.0 / l.azimuth_resolution_deg).round() as u64;
        if l.azimuth_resolution_deg > 90.0 || columns * l.channels as u64 > MAX_LIDAR_RAYS {
            return Err((
                format!("{f}.azimuth_resolution_deg"),
                format!(
                    "{} columns x {} channels is more than {MAX_LIDAR_RAYS} rays per sweep, or the step exceeds 90°",
                    columns, l.channels
                ),
            ));
        }
    }
    if s.run.frames > MAX_FRAMES {
        return Err((
            "run.frames".into(),
            format!("expected at most {MAX_FRAMES}, found {}", s.run.frames),
        ));
    }
    check_dataset(&s.dataset)?;
    if let Some(v) = &s.variations {
        check_variations(v)?;
    }
    let frame_period_s = 1.0 / s.run.sensor_rate_hz;
    if s.run.physics_dt_s > frame_period_s || s.run.physics_dt_s < 1.0e-4 {
        return Err((
            "run.physics_dt_s".into(),
            format!(
                "expected 1e-4 ≤ physics_dt_s ≤ 1/sensor_rate_hz = {frame_period_s} s, found {}",
                s.run.physics_dt_s
            ),
        ));
    }
    bounds::check(s)
}

/// Parses a calendar date written `YYYY-MM-DD` into (year, month, day); other spellings
/// and dates that do not exist (2025-02-29) are `None`.
pub fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    let d = jiff::civil::Date::strptime("%Y-%m-%d", text)
        .ok()
        .filter(|_| shape)?;
    Some((d.year().into(), d.month() as u32, d.day() as u32))
}

fn check_dataset(d: &DatasetSpec) -> Result<(), FieldError> {
    for (name, v) in [
        ("license", &d.license),
        ("creator", &d.creator),
        ("version", &d.version),
        ("tier", &d.tier),
    ] {
        if v.trim().is_empty() {
            return Err((format!("dataset.{name}"), "must not be empty".into()));
        }
    }
    if let Some(e) = &d.expires
        && parse_date(e).is_none()
    {
        return Err((
            "dataset.expires".into(),
            format!("expected a date YYYY-MM-DD, found `{e}`"),
        ));
    }
    let s = &d.splits;
    for (name, v) in [("train", s.train), ("val", s.val), ("test", s.test)] {
        if !(0.0..=1.0).contains(&v) {
            return Err((
                format!("dataset.splits.{name}"),
                format!("must be a share in [0, 1], found {v}"),
            ));
        }
    }
    let sum = s.train + s.val + s.test;
    if (sum - 1.0).abs() > 1e-4 {
        return Err((
            "dataset.splits".into(),
            format!("the shares must sum to 1, found {sum}"),
        ));
    }
    Ok(())
}

fn check_variations(v: &Variations) -> Result<(), FieldError> {
    for (i, p) in v.params.iter().enumerate() {
        let f = format!("variations.params[{i}]");
        if p.set.trim().is_empty() || p.set.contains('=') {
            return Err((
                format!("{f}.set"),
                format!(
                    "expected a dotted field path such as weather.rain_mm_per_h, found `{}`",
                    p.set
                ),
            ));
        }
        match &p.values {
            Distribution::Uniform { lo, hi } => {
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                    return Err((
                        format!("{f}.values"),
                        format!("expected finite lo ≤ hi, found {lo}..{hi}"),
                    ));
                }
            }
            Distribution::Choice(c) => {
                if c.is_empty()
                    || c.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0))
                    || c.iter().map(|(_, w)| w).sum::<f32>() <= 0.0
                {
                    return Err((
                        format!("{f}.values"),
                        "expected at least one value and finite weights ≥ 0 with a positive sum"
                            .into(),
                    ));
                }
            }
            Distribution::Grid(g) => {
                if g.is_empty() {
                    return Err((
                        format!("{f}.values"),
                        "a grid needs at least one value".into(),
                    ));
                }
            }
        }
    }
    let total: f32 = v.rare.iter().map(|r| r.weight).sum();
    if total > 1.0 + 1e-6 {
        return Err((
            "variations.rare".into(),
            format!("the rare-case weights are probabilities per episode and sum to {total} > 1"),
        ));
    }
    for (i, r) in v.rare.iter().enumerate() {
        if let Some(bad) = r.sets.iter().find(|s| !s.contains('=')) {
            return Err((
                format!("variations.rare[{i}].sets"),
                format!("expected KEY=VALUE, found `{bad}`"),
            ));
        }
    }
    Ok(())
}

impl Scenario {
    /// Physics ticks between two sensor frames.
    pub fn ticks_per_frame(&self) -> u32 {
        ((1.0 / self.run.sensor_rate_hz) / self.run.physics_dt_s)
            .round()
            .max(1.0) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates_are_strict_iso_calendar_dates() {
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2026-12-07"), Some((2026, 12, 7)));
        for bad in [
            "2025-02-29",
            "2100-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-04-31",
            "20250131",
            "2025-1-31",
            "2025-01-31T00:00",
            " 2025-01-31",
            "+2025-01-31",
            "2025/01/31",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2000-02-29"), Some((2000, 2, 29)));
    }

    fn smoke() -> super::Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron");
        super::load(&path).unwrap().0
    }

    fn set(s: &super::Scenario, a: &str) -> Result<super::Scenario, String> {
        super::apply_overrides(s, &[a.to_string()]).map_err(|e| e.to_string())
    }

    /// A word that is not the field's type is an error naming the field, never its default.
    #[test]
    fn set_refuses_words_and_none_where_a_value_is_required() {
        let s = smoke();
        for (assignment, names) in [
            ("weather.rain_mm_per_h=heavy", "rain_mm_per_h"),
            ("weather.street_lights=on", "street_lights"),
            ("rig.cameras.0.response=linear", "response"),
            ("weather.rain_mm_per_h=None", "rain_mm_per_h"),
            ("run.frames=ten", "frames"),
        ] {
            let e = set(&s, assignment).expect_err(assignment);
            assert!(e.contains(names), "{assignment}: {e}");
        }
        // What is right still works: a number, a variant, an optional left out, a big seed.
        assert_eq!(
            set(&s, "weather.rain_mm_per_h=12")
                .unwrap()
                .weather
                .rain_mm_per_h,
            12.0
        );
        set(&s, "rig.cameras.0.response=Linear").unwrap();
        assert_eq!(
            set(&s, "weather.fog_visibility_m=None")
                .unwrap()
                .weather
                .fog_visibility_m,
            None
        );
        assert_eq!(
            set(&s, "run.seed=10000000000000001").unwrap().run.seed,
            10_000_000_000_000_001
        );
    }

    /// `--set` takes enum variants with fields (their names were dropped by RON's untyped
    /// value), and a field a variant does not have is refused, from `--set` and from a file.
    #[test]
    fn variants_with_fields_are_set_and_their_unknown_fields_refused() {
        use super::{Intrinsics, RoadShape};
        let s = smoke();
        let pinhole = set(
            &s,
            "rig.cameras.0.intrinsics=Pinhole(fx: 700.0, fy: 710.0, cx: 160.0, cy: 60.0)",
        )
        .unwrap();
        assert_eq!(
            pinhole.rig.cameras[0].intrinsics,
            Intrinsics::Pinhole {
                fx: 700.0,
                fy: 710.0,
                cx: 160.0,
                cy: 60.0
            }
        );
        let fov = set(&s, "rig.cameras.0.intrinsics=Fov(horizontal_deg: 75.0)").unwrap();
        assert_eq!(
            fov.rig.cameras[0].intrinsics,
            Intrinsics::Fov {
                horizontal_deg: 75.0
            }
        );
        if !s.map.roads.is_empty() {
            let road = set(
                &s,
                "map.roads.0.shape=Straight(from: (0.0, 0.0), to: (50.0, 0.0))",
            )
            .unwrap();
            assert_eq!(
                road.map.roads[0].shape,
                RoadShape::Straight {
                    from: (0.0, 0.0),
                    to: (50.0, 0.0)
                }
            );
        }
        let e = set(
            &s,
            "rig.cameras.0.intrinsics=Fov(horizontal_deg: 75.0, bogus: 1)",
        )
        .unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/quickstart.ron"),
        )
        .unwrap()
        .replace(
            "intrinsics: KittiP2",
            "intrinsics: Fov(horizontal_deg: 90.0, bogus: 1)",
        );
        let e = super::parse(&super::Source {
            path: "q.ron".into(),
            text,
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("rig.cameras[0].intrinsics.Fov.bogus: Unexpected field named `bogus`"),
            "{e}"
        );
    }

    /// A byte-order mark before the text is skipped, and lines still count from the top.
    #[test]
    fn a_byte_order_mark_is_accepted() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron"),
        )
        .unwrap();
        let source = super::Source {
            path: "bom.ron".into(),
            text: format!("\u{feff}{text}"),
        };
        super::parse(&source).unwrap();
        let broken = super::Source {
            path: "bom.ron".into(),
            text: format!("\u{feff}{}", text.replacen("frames:", "framez:", 1)),
        };
        let e = super::parse(&broken).unwrap_err().to_string();
        let line = text.lines().position(|l| l.contains("frames:")).unwrap() + 1;
        assert!(e.contains(&format!(":{line}:")), "{e}");
    }
}
