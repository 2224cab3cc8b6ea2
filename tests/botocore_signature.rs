//! An independent SigV4 implementation (botocore, AWS's Python SDK core) recomputes the
//! signature the proxy sent, for a model id with `:` and an ARN with `/`, with a session token.

use crate::support;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use support::fake::FakeCreds;
use support::{hi, start_proxy, FakeBedrock};

fn botocore_signature(request: &serde_json::Value) -> String {
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/py/botocore_signature.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed (.ci/test installs botocore)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "botocore failed (is it installed? `pip install botocore`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn botocore_computes_the_same_signature() {
    let creds = FakeCreds {
        access_key: "ASIAFAKEBOTO".into(),
        secret_key: "boto/secret+key".into(),
        session_token: Some("IQoJb3JpZ2luFAKE/token+=".into()),
    };
    let fake = FakeBedrock::start_with(creds.clone()).await;
    let arn = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/xyz";
    let proxy = start_proxy(
        &fake,
        &format!("[profiles.arn]\nmodel_id = \"{arn}\"\nregion = \"eu-west-1\"\n"),
    )
    .await;
    for path in ["/invoke?profile=eu", "/invoke_stream?profile=arn"] {
        let resp = proxy.post_json(path, &hi()).await;
        assert_eq!(resp.status(), 200);
        let _ = resp.bytes().await;
        let rec = fake.last().unwrap();
        let sig = rec.sig.clone().expect("the fake accepted the signature");
        let auth = rec.header("authorization").unwrap();
        let sent_signature = auth.rsplit("Signature=").next().unwrap();
        let headers: serde_json::Map<String, serde_json::Value> = sig
            .signed_headers
            .iter()
            .map(|h| (h.clone(), rec.header(h).unwrap_or_default().into()))
            .collect();
        let request = serde_json::json!({
            "method": rec.method,
            "url": format!("{}{}", fake.url(), rec.raw_path),
            "headers": headers,
            "body": base64::engine::general_purpose::STANDARD.encode(&rec.body),
            "access_key": creds.access_key,
            "secret_key": creds.secret_key,
            "session_token": creds.session_token,
            "region": sig.region,
            "amz_date": rec.header("x-amz-date").unwrap(),
        });
        assert_eq!(botocore_signature(&request), sent_signature, "{path}");
    }
}
