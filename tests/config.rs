//! The binary as users run it: configuration layering and errors (`--check`), credentials from
//! the real AWS chain (environment and `.env`), and a server that starts without credentials.

use crate::support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;
use support::{command, hi, scratch_dir, spawn_binary, FakeBedrock};

fn check(dir: &Path, vars: &[(&str, &str)]) -> Output {
    command(dir, vars)
        .arg("--check")
        .output()
        .expect("run binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `profile NAME: …` line of `--check` output.
fn profile_line(out: &str, name: &str) -> String {
    out.lines()
        .find(|l| l.starts_with(&format!("profile {name}:")))
        .unwrap_or_else(|| panic!("no profile {name} in:\n{out}"))
        .to_string()
}

#[test]
fn defaults_file_dotenv_environment_in_that_order() {
    let dir = scratch_dir();
    let d = dir.path();
    let out = check(d, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("listening address 127.0.0.1:3000"));
    assert!(text.contains("default profile: apac"));
    assert!(profile_line(&text, "eu").contains("region=eu-central-1"));
    assert!(profile_line(&text, "apac")
        .contains("model_id=apac.anthropic.claude-sonnet-4-20250514-v1:0 region=ap-northeast-1"));

    std::fs::write(
        d.join("proxy.toml"),
        "[server]\nport = 4000\n[profiles.eu]\nregion = \"eu-west-1\"\n[profiles.us]\nregion = \"us-west-2\"\n",
    )
    .unwrap();
    let text = stdout(&check(d, &[]));
    assert!(text.contains("127.0.0.1:4000"), "{text}");
    assert!(profile_line(&text, "eu").contains("region=eu-west-1"));

    std::fs::write(
        d.join(".env"),
        "PROXY_PROFILES__EU__REGION=eu-west-2\nPROXY_PROFILES__US__REGION=us-east-2\n",
    )
    .unwrap();
    let text = stdout(&check(d, &[]));
    assert!(
        profile_line(&text, "eu").contains("region=eu-west-2"),
        "{text}"
    );
    assert!(profile_line(&text, "us").contains("region=us-east-2"));
    assert!(
        text.contains("127.0.0.1:4000"),
        "file keys .env does not set stay"
    );

    // The real environment beats .env (dotenvy never overrides a set variable).
    let text = stdout(&check(d, &[("PROXY_PROFILES__EU__REGION", "eu-west-3")]));
    assert!(
        profile_line(&text, "eu").contains("region=eu-west-3"),
        "{text}"
    );
    assert!(profile_line(&text, "us").contains("region=us-east-2"));

    // --config and PROXY_CONFIG pick another file.
    std::fs::write(d.join("other.toml"), "[server]\nport = 4100\n").unwrap();
    let out = command(d, &[])
        .args(["--config", "other.toml", "--check"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("127.0.0.1:4100"));
    let text = stdout(&check(d, &[("PROXY_CONFIG", "other.toml")]));
    assert!(text.contains("127.0.0.1:4100"));
}

#[test]
fn legacy_variables_keep_working() {
    let dir = scratch_dir();
    let d = dir.path();
    // INFERENCE_PROFILE as a model id: the default profile uses it, with a region of its
    // geography (AWS_REGION=us-east-1 does not fit `eu.`, so eu-central-1).
    let text = stdout(&check(
        d,
        &[
            (
                "INFERENCE_PROFILE",
                "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
            ),
            ("AWS_REGION", "us-east-1"),
        ],
    ));
    assert!(
        profile_line(&text, "apac")
            .contains("model_id=eu.anthropic.claude-3-7-sonnet-20250219-v1:0 region=eu-central-1"),
        "{text}"
    );
    // When AWS_REGION fits the geography, it is used.
    let text = stdout(&check(
        d,
        &[
            (
                "INFERENCE_PROFILE",
                "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
            ),
            ("AWS_REGION", "eu-west-1"),
        ],
    ));
    assert!(
        profile_line(&text, "apac").contains("region=eu-west-1"),
        "{text}"
    );
    // A region that already fits the geography is kept; an id without a geography takes
    // AWS_REGION.
    std::fs::write(
        d.join("proxy.toml"),
        "[profiles.apac]\nregion = \"ap-southeast-1\"\n",
    )
    .unwrap();
    let text = stdout(&check(
        d,
        &[(
            "INFERENCE_PROFILE",
            "apac.anthropic.claude-3-5-sonnet-20241022-v2:0",
        )],
    ));
    assert!(
        profile_line(&text, "apac").contains("region=ap-southeast-1"),
        "{text}"
    );
    let text = stdout(&check(
        d,
        &[
            (
                "INFERENCE_PROFILE",
                "anthropic.claude-3-haiku-20240307-v1:0",
            ),
            ("AWS_REGION", "us-west-2"),
        ],
    ));
    assert!(
        profile_line(&text, "apac")
            .contains("model_id=anthropic.claude-3-haiku-20240307-v1:0 region=us-west-2"),
        "{text}"
    );
    std::fs::remove_file(d.join("proxy.toml")).unwrap();
    // INFERENCE_PROFILE as a profile name selects the default profile.
    let text = stdout(&check(d, &[("INFERENCE_PROFILE", "us")]));
    assert!(text.contains("default profile: us"), "{text}");
    // AWS_REGION is the region of a profile that names none.
    std::fs::write(
        d.join("proxy.toml"),
        "[profiles.haiku]\nmodel_id = \"anthropic.claude-3-haiku-20240307-v1:0\"\n",
    )
    .unwrap();
    let text = stdout(&check(d, &[("AWS_REGION", "us-west-2")]));
    assert!(
        profile_line(&text, "haiku").contains("region=us-west-2"),
        "{text}"
    );
    // Endpoint variables: most specific wins.
    let text = stdout(&check(
        d,
        &[
            ("AWS_REGION", "us-west-2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9001"),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:9002"),
        ],
    ));
    assert!(
        profile_line(&text, "haiku").contains("endpoint=http://127.0.0.1:9002"),
        "{text}"
    );
    let text = stdout(&check(
        d,
        &[
            ("AWS_REGION", "us-west-2"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9001"),
        ],
    ));
    assert!(
        profile_line(&text, "haiku").contains("endpoint=http://127.0.0.1:9001"),
        "{text}"
    );
    // A prefix that does not fit its region is a warning, not an error.
    std::fs::write(
        d.join("proxy.toml"),
        "[profiles.eu]\nregion = \"us-east-1\"\n",
    )
    .unwrap();
    let out = check(d, &[]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("warning: profile 'eu'"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn every_config_error_names_source_key_and_problem() {
    // (what, proxy.toml, environment, expected parts of the message)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Vec<(&'a str, &'a str)>,
        Vec<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "unknown key in file",
            Some("[server]\nprot = 1\n"),
            vec![],
            vec!["server.prot", "proxy.toml", "unknown field"],
        ),
        (
            "unknown key in env",
            None,
            vec![("PROXY_SERVER__PROT", "1")],
            vec!["PROXY_SERVER__PROT", "unknown field"],
        ),
        (
            "bad port",
            None,
            vec![("PROXY_SERVER__PORT", "eighty")],
            vec!["PROXY_SERVER__PORT", "server.port"],
        ),
        (
            "CORS origin with a path",
            None,
            vec![(
                "PROXY_SERVER__CORS_ALLOWED_ORIGINS",
                "[\"https://app.example/\"]",
            )],
            vec![
                "server.cors_allowed_origins",
                "PROXY_SERVER__CORS_ALLOWED_ORIGINS",
                "https://app.example/",
                "trailing slash",
            ],
        ),
        (
            "port out of range",
            Some("[server]\nport = 70000\n"),
            vec![],
            vec!["server.port", "proxy.toml"],
        ),
        (
            "missing default profile",
            Some("[server]\ndefault_profile = \"mars\"\n"),
            vec![],
            vec![
                "server.default_profile",
                "proxy.toml",
                "mars",
                "apac, eu, global, us",
            ],
        ),
        (
            "empty model id",
            Some("[profiles.eu]\nmodel_id = \"\"\n"),
            vec![],
            vec!["profiles.eu.model_id", "proxy.toml", "must not be empty"],
        ),
        (
            "bad profile url",
            Some("[profiles.eu]\nendpoint_url = \"not a url\"\n"),
            vec![],
            vec!["profiles.eu.endpoint_url", "proxy.toml"],
        ),
        (
            "bad env url",
            None,
            vec![("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "ftp//x")],
            vec!["AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "URL"],
        ),
        (
            "bad host",
            Some("[server]\nhost = \"my laptop\"\n"),
            vec![],
            vec!["server.host", "IP address"],
        ),
        (
            "bad region",
            None,
            vec![("PROXY_PROFILES__EU__REGION", "Europe")],
            vec![
                "profiles.eu.region",
                "PROXY_PROFILES__EU__REGION",
                "not an AWS region",
            ],
        ),
        (
            "no region",
            Some("[profiles.x]\nmodel_id = \"m\"\n"),
            vec![],
            vec!["profiles.x.region", "AWS_REGION"],
        ),
        (
            "bad timeout",
            Some("[upstream]\nconnect_timeout_secs = -1\n"),
            vec![],
            vec!["upstream.connect_timeout_secs", "positive"],
        ),
        (
            "broken toml",
            Some("[server\nport = 1\n"),
            vec![],
            vec!["proxy.toml"],
        ),
        (
            "missing explicit file",
            None,
            vec![("PROXY_CONFIG", "nope.toml")],
            vec!["nope.toml", "does not exist"],
        ),
    ];
    for (what, file, vars, expect) in cases {
        let dir = scratch_dir();
        if let Some(toml) = file {
            std::fs::write(dir.path().join("proxy.toml"), toml).unwrap();
        }
        let out = check(dir.path(), &vars);
        assert!(!out.status.success(), "{what}: must fail");
        let err = stderr(&out);
        assert_eq!(
            err.matches("error:").count(),
            1,
            "{what}: one message: {err}"
        );
        for needle in expect {
            assert!(err.contains(needle), "{what}: '{needle}' missing in: {err}");
        }
    }
}

#[tokio::test]
async fn starts_without_credentials_and_says_what_to_set() {
    let fake = FakeBedrock::start().await;
    let dir = scratch_dir();
    let url = fake.url();
    let bin = spawn_binary(dir.path(), &[("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &url)]);
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/health", bin.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let resp = http
        .post(format!("{}/invoke", bin.url))
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["error"]["type"], "CredentialsUnavailable");
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("AWS_ACCESS_KEY_ID") && msg.contains("AWS_SECRET_ACCESS_KEY"),
        "{msg}"
    );
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn credentials_from_dotenv_sign_requests_and_never_reach_the_logs() {
    let fake = FakeBedrock::start().await;
    let creds = fake.creds();
    let dir = scratch_dir();
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\nAWS_REGION=us-east-1\nAWS_ENDPOINT_URL_BEDROCK_RUNTIME={}\n",
            creds.access_key,
            creds.secret_key,
            fake.url()
        ),
    )
    .unwrap();
    let bin = spawn_binary(dir.path(), &[("RUST_LOG", "trace")]);
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/invoke?profile=eu", bin.url))
        .header("authorization", "Bearer client-key-must-not-be-logged")
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rec = fake.last().unwrap();
    assert_eq!(rec.sig.as_ref().unwrap().region, "eu-central-1");
    let auth = rec.header("authorization").unwrap().to_string();
    let signature = auth.rsplit("Signature=").next().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = bin.log.lock().unwrap().join("\n");
    assert!(
        log.contains("request done"),
        "request log line missing: {log}"
    );
    for secret in [
        creds.secret_key.as_str(),
        signature.as_str(),
        "client-key-must-not-be-logged",
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

#[tokio::test]
async fn sigterm_lets_a_running_stream_finish_then_exits_zero() {
    let fake = FakeBedrock::start().await;
    let creds = fake.creds();
    let dir = scratch_dir();
    let url = fake.url();
    let mut bin = spawn_binary(
        dir.path(),
        &[
            ("AWS_ACCESS_KEY_ID", &creds.access_key),
            ("AWS_SECRET_ACCESS_KEY", &creds.secret_key),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", &url),
        ],
    );
    fake.push(support::Behavior::stream(support::StreamScript {
        chunks: Some(vec!["slow".into(), "ly".into(), " done".into()]),
        pause_between: std::time::Duration::from_millis(300),
        ..Default::default()
    }));
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/invoke_stream", bin.url))
        .json(&hi())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let pid = bin.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let text = resp.text().await.unwrap();
    let (events, _) = support::parse_sse(&text);
    assert_eq!(support::sse_text(&events), "slowly done");
    assert_eq!(events.last().unwrap().0, "message_stop");
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = bin.child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(status.expect("the proxy exits after the stream").success());
}
