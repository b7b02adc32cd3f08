//! Every command block of README.md runs as written, so the README cannot go stale: each
//! ```sh block is run line by line in a scratch directory (with `scenes/` and `assets/` of this
//! checkout), `./target/release/verisim` and `cargo run --release --` standing for the binary
//! under test, `../shared/data/real` for `VERISIM_REAL_DATA`. Every line must exit 0 unless a
//! `<!-- readme-test: exit=N -->` comment before the block gives the last line's exit code; a
//! ```text block right after a ```sh block must equal the last line's standard output (so the
//! result counts the README quotes come from this run). Blocks marked `needs-real-data` run in
//! their own test, ignored where the real drives are absent. `cargo build` and `cargo test`
//! lines are not run (the binary is built, and this is the test).

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Default)]
struct Block {
    /// 1-based line of the block's first command in README.md.
    line: usize,
    commands: Vec<(usize, String)>,
    exit: i32,
    needs_real_data: bool,
    expected_stdout: Option<String>,
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The ```sh blocks of `text`, with their directives and expected output.
fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<Block> = Vec::new();
    let mut directive = "";
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        if let Some(d) = l
            .strip_prefix("<!-- readme-test:")
            .and_then(|d| d.strip_suffix("-->"))
        {
            directive = d.trim();
            i += 1;
            continue;
        }
        if let Some(lang) = l.strip_prefix("```") {
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim() != "```" {
                end += 1;
            }
            let body: Vec<(usize, String)> = (start..end)
                .map(|k| (k + 1, lines[k].to_string()))
                .collect();
            match lang.trim() {
                "sh" => {
                    let mut b = Block {
                        line: start + 1,
                        ..Default::default()
                    };
                    for word in directive.split_whitespace() {
                        if word == "needs-real-data" {
                            b.needs_real_data = true;
                        } else if let Some(n) = word.strip_prefix("exit=") {
                            b.exit = n.parse().expect("exit=N in a readme-test directive");
                        } else {
                            panic!("README.md: unknown readme-test directive `{word}`");
                        }
                    }
                    b.commands = body
                        .into_iter()
                        .map(|(n, c)| (n, strip_comment(&c).trim().to_string()))
                        .filter(|(_, c)| !c.is_empty())
                        .collect();
                    out.push(b);
                }
                "text" => {
                    // Output of the sh block just before (only blank lines between).
                    let between = out.last().map(|b| b.commands.last().map_or(0, |c| c.0));
                    if let Some(last_cmd) = between
                        && lines[last_cmd..i]
                            .iter()
                            .all(|l| l.trim().is_empty() || l.trim() == "```")
                    {
                        let text: Vec<&str> = body.iter().map(|(_, l)| l.as_str()).collect();
                        out.last_mut().unwrap().expected_stdout = Some(text.join("\n"));
                    }
                }
                _ => {}
            }
            directive = "";
            i = end + 1;
            continue;
        }
        if !l.is_empty() {
            directive = "";
        }
        i += 1;
    }
    out
}

/// The line without a trailing `# comment` (outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (k, &c) in bytes.iter().enumerate() {
        match (quote, c) {
            (None, b'\'' | b'"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, b'#') if k == 0 || bytes[k - 1].is_ascii_whitespace() => return &line[..k],
            _ => {}
        }
    }
    line
}

fn real_root() -> PathBuf {
    std::env::var_os("VERISIM_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"))
}

/// A scratch directory laid out like the checkout for the README's relative paths.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["scenes", "assets"] {
        std::os::unix::fs::symlink(repo.join(sub), dir.path().join(sub)).unwrap();
    }
    dir
}

/// The command as run: the binary under test for the README's two spellings of it.
fn as_run(cmd: &str) -> Option<String> {
    if cmd.starts_with("cargo build") || cmd.starts_with("cargo test") {
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_verisim");
    let real = real_root();
    Some(
        cmd.replace("cargo run --release --", bin)
            .replace("./target/release/verisim", bin)
            .replace("../shared/data/real", &real.display().to_string()),
    )
}

fn run_blocks(real_data: bool) -> usize {
    let text = readme();
    let dir = scratch();
    let mut ran = 0;
    for b in blocks(&text)
        .into_iter()
        .filter(|b| b.needs_real_data == real_data)
    {
        let n = b.commands.len();
        for (k, (line, cmd)) in b.commands.iter().enumerate() {
            let Some(run) = as_run(cmd) else { continue };
            let out = Command::new("bash")
                .args(["-c", &run])
                .current_dir(dir.path())
                .output()
                .unwrap();
            let code = out.status.code().unwrap_or(-1);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let want = if k + 1 == n { b.exit } else { 0 };
            assert_eq!(
                code, want,
                "README.md:{line}: `{cmd}` exited {code}, expected {want}\nstdout:\n{stdout}\nstderr:\n{stderr}"
            );
            if k + 1 == n
                && let Some(expected) = &b.expected_stdout
            {
                assert_eq!(
                    stdout.trim(),
                    expected.trim(),
                    "README.md: the output quoted after the block at line {} is not what `{cmd}` prints",
                    b.line
                );
            }
            ran += 1;
        }
    }
    ran
}

#[test]
fn readme_commands_run_as_written() {
    let ran = run_blocks(false);
    assert!(ran >= 10, "only {ran} README commands ran");
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn readme_reality_check_runs_and_its_quoted_result_is_current() {
    let ran = run_blocks(true);
    assert!(ran >= 1, "no README command needs real data");
}

#[test]
fn the_two_commands_come_first() {
    let text = readme();
    let first = &blocks(&text)[0];
    let cmds: Vec<&str> = first.commands.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(
        cmds,
        [
            "cargo run --release -- render scenes/quickstart.ron --out out/quickstart",
            "cargo test --release"
        ]
    );
    assert!(
        text.len() <= 16_000,
        "README.md is {} bytes; keep it for users (≤ ~15 KB) and move the rest to docs/",
        text.len()
    );
}

#[test]
fn block_parsing_reads_directives_comments_and_quoted_output() {
    let md = "intro\n<!-- readme-test: exit=1 needs-real-data -->\n```sh\na --x 1   # note\nb '#x'\n```\n\n```text\nhello\n```\n```sh\nc\n```\n";
    let b = blocks(md);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].exit, 1);
    assert!(b[0].needs_real_data);
    let cmds: Vec<&str> = b[0].commands.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(cmds, ["a --x 1", "b '#x'"]);
    assert_eq!(b[0].expected_stdout.as_deref(), Some("hello"));
    assert_eq!((b[1].exit, b[1].needs_real_data), (0, false));
    assert_eq!(b[1].expected_stdout, None);
}
