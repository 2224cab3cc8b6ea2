//! Real Python clients (`tests/py/*.py`: boto3, the `anthropic` and `openai` SDKs), one
//! scenario per run, one JSON line out: [`run_py`], and [`py`] to run one from async tests.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one client run may take before it is killed.
pub const PY_TIMEOUT: Duration = Duration::from_secs(90);

/// Variables that would change what a client does and must not leak in from the caller.
fn scrubbed(name: &str) -> bool {
    name.starts_with("AWS_")
        || name.starts_with("ANTHROPIC_")
        || name.starts_with("BOTO_")
        || name.starts_with("OPENAI_")
        || name.starts_with("AZURE_OPENAI_")
        || name.eq_ignore_ascii_case("http_proxy")
        || name.eq_ignore_ascii_case("https_proxy")
        || name.eq_ignore_ascii_case("all_proxy")
        || name.eq_ignore_ascii_case("no_proxy")
}

/// Run `python3 tests/py/<script> <args…>` and parse the one JSON line it prints. The client
/// sees no AWS, Anthropic or OpenAI settings from the caller: no profile, AWS config and
/// credentials files that do not exist, no instance metadata, no proxies, no `OPENAI_*`.
/// Panics (showing stderr) if the script fails, prints something else, or runs longer than
/// `PY_TIMEOUT`.
pub fn run_py(script: &str, args: &[String]) -> Value {
    let dir = super::scratch_dir();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let mut cmd = Command::new("python3");
    cmd.arg(&path).args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(scrubbed) {
            cmd.env_remove(&name);
        }
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.path().join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("no-aws-credentials"),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("python3 must be installed (scripts/test installs boto3, anthropic and openai)");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + PY_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python3") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let shown = format!("{script} {args:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    match status {
        None => panic!("timed out after {PY_TIMEOUT:?}: {shown}"),
        Some(s) if !s.success() => panic!("exited with {s}: {shown}"),
        Some(_) => {}
    }
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty());
    match line.map(serde_json::from_str::<Value>) {
        Some(Ok(v)) => v,
        _ => panic!("no JSON line: {shown}"),
    }
}

/// `run_py(script, [url, scenario, opts…])` on the blocking pool, so the fake and the proxy
/// keep running meanwhile.
pub async fn py(script: &str, url: &str, scenario: &str, opts: &[&str]) -> Value {
    let script = script.to_string();
    let mut args = vec![url.to_string(), scenario.to_string()];
    args.extend(opts.iter().map(|s| s.to_string()));
    tokio::task::spawn_blocking(move || run_py(&script, &args))
        .await
        .expect("python runner")
}
