//! A real Prometheus (Debian's `prometheus` package, installed by `scripts/test`) run as a
//! child process scraping a proxy every second, and its HTTP query API; `promtool check
//! metrics` on a scrape.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Prometheus server on a free loopback port, with its storage in a temp dir; killed on drop.
pub struct Prometheus {
    child: Child,
    pub url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    l.local_addr().expect("addr").port()
}

fn tool(name: &str) -> String {
    let path = format!("/usr/bin/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: scripts/test installs Debian's `prometheus` package"
    );
    path
}

impl Prometheus {
    /// Start Prometheus scraping `target` (`host:port`) at `/metrics` every second.
    pub async fn scraping(target: &str) -> Prometheus {
        let dir = super::scratch_dir();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: bedrock-proxy\n    metrics_path: /metrics\n    \
                 static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write prometheus.yml");
        let port = free_port();
        let child = Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        let p = Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            _dir: dir,
        };
        p.wait_ready().await;
        p
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(format!("{}/-/ready", self.url)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("prometheus did not become ready at {}", self.url);
    }

    /// An instant query: each series' labels (as JSON) and value.
    pub async fn query(&self, promql: &str) -> Vec<(serde_json::Value, f64)> {
        let resp: serde_json::Value = self
            .http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", promql)])
            .send()
            .await
            .expect("prometheus answers")
            .json()
            .await
            .expect("prometheus JSON");
        assert_eq!(resp["status"], "success", "{promql}: {resp}");
        resp["data"]["result"]
            .as_array()
            .expect("a vector")
            .iter()
            .map(|s| {
                let v = s["value"][1]
                    .as_str()
                    .expect("value")
                    .parse()
                    .expect("number");
                (s["metric"].clone(), v)
            })
            .collect()
    }

    /// The single value of `promql` once it equals `want` (Prometheus scrapes every second),
    /// else what it was after 30 s.
    pub async fn eventually(&self, promql: &str, want: f64) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.query(promql).await.first().map_or(f64::NAN, |s| s.1);
            if (got - want).abs() < 1e-9 || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// `promtool check metrics` on `text`: its exit status and everything it printed.
pub fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ends");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), printed)
}
