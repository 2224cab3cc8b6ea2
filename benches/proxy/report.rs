//! The results table (markdown), the targets, and docs/performance.md.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::load::{percentile_ms, Samples};
use crate::Options;

/// What load a latency row was measured under.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// N workers back to back, the bench's small body.
    Closed,
    /// Fixed 1,000 requests per second.
    Rate,
    /// One worker, a 100 KB body.
    LargeBody,
}

pub struct LatencyRow {
    pub kind: Load,
    pub load: String,
    pub direct: Samples,
    pub proxy: Samples,
}

#[derive(Default)]
pub struct StreamRow {
    pub direct_first: Vec<u64>,
    pub direct_last: Vec<u64>,
    pub proxy_first: Vec<u64>,
    pub proxy_last: Vec<u64>,
}

#[derive(Default)]
pub struct MemoryRow {
    pub streams: usize,
    /// Right after start-up.
    pub fresh_kb: u64,
    /// After one warm-up stream, before opening `streams`.
    pub before_kb: u64,
    pub open_kb: u64,
    pub opened: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub completed: usize,
    pub open_secs: f64,
    pub proxy_fds: usize,
    pub fake_held: u64,
    /// Proxy CPU while the streams are open and idle (keep-alive comments), % of one core.
    pub hold_cpu_pct: f64,
}

impl MemoryRow {
    fn kb_per_stream(&self) -> f64 {
        (self.open_kb as f64 - self.before_kb as f64) / self.opened.max(1) as f64
    }
}

pub struct Report {
    mode: String,
    machine: String,
    commit: String,
    fd_limit: u64,
    log: String,
    env: String,
    pub startup: Vec<Duration>,
    pub idle_rss_kb: Option<u64>,
    pub rss_after_load_kb: Option<u64>,
    pub upstream_connections: Option<u64>,
    pub latency: Vec<LatencyRow>,
    pub stream: Option<StreamRow>,
    pub memory: Vec<MemoryRow>,
    pub micro: Vec<(&'static str, f64)>,
}

fn ms(v: f64) -> String {
    format!("{v:.3}")
}

fn added(p: f64, d: f64) -> String {
    format!("{:+.3}", p - d)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

impl Report {
    pub fn new(opts: &Options, machine: String, commit: String, fd_limit: u64) -> Report {
        let (rounds, warmup, measure) = opts.slices();
        Report {
            mode: format!(
                "{} (each comparison: {rounds} rounds alternating direct and proxy, each {:.1} s warm-up + {:.1} s measured)",
                if opts.quick { "quick" } else { "full" },
                warmup.as_secs_f64(),
                measure.as_secs_f64()
            ),
            machine,
            commit,
            fd_limit,
            log: opts.log.clone(),
            env: opts
                .proxy_env
                .iter()
                .map(|(k, v)| format!(" `{k}={v}`"))
                .collect(),
            startup: Vec::new(),
            idle_rss_kb: None,
            rss_after_load_kb: None,
            upstream_connections: None,
            latency: Vec::new(),
            stream: None,
            memory: Vec::new(),
            micro: Vec::new(),
        }
    }

    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let w = &mut o;
        let _ = writeln!(w, "Machine: {}.  ", self.machine);
        let _ = writeln!(
            w,
            "Run: {}; commit {}; proxy `RUST_LOG={}`{}; open-file limit {}. Load generator, fake \
             Bedrock and proxy share the machine. Latencies in ms.",
            self.mode, self.commit, self.log, self.env, self.fd_limit
        );
        let mut targets: Vec<(String, String, String, bool)> = Vec::new();

        if !self.latency.is_empty() {
            let _ = writeln!(w, "\n#### `/invoke` latency (ms) and throughput\n");
            let _ = writeln!(
                w,
                "| Load | Path | p50 | p90 | p99 | req/s | proxy CPU µs/req | fake CPU µs/req | generator CPU µs/req |"
            );
            let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
            for r in &self.latency {
                for (name, s) in [("direct", &r.direct), ("proxy", &r.proxy)] {
                    let proxy_cpu = if name == "proxy" {
                        format!("{:.1}", s.cpu_us_per_request(0))
                    } else {
                        "–".into()
                    };
                    let _ = writeln!(
                        w,
                        "| {} | {name} | {} | {} | {} | {:.0} | {proxy_cpu} | {:.1} | {:.1} |",
                        r.load,
                        ms(s.pct_ms(50.0)),
                        ms(s.pct_ms(90.0)),
                        ms(s.pct_ms(99.0)),
                        s.rps(),
                        s.cpu_us_per_request(1),
                        s.cpu_us_per_request(2),
                    );
                }
                let (d, p) = (&r.direct, &r.proxy);
                let _ = writeln!(
                    w,
                    "| {} | **added** | **{}** | **{}** | **{}** | | | | |",
                    r.load,
                    added(p.pct_ms(50.0), d.pct_ms(50.0)),
                    added(p.pct_ms(90.0), d.pct_ms(90.0)),
                    added(p.pct_ms(99.0), d.pct_ms(99.0)),
                );
            }
            let closed: Vec<&LatencyRow> = self
                .latency
                .iter()
                .filter(|r| r.kind == Load::Closed)
                .collect();
            if let (Some(bd), Some(bp)) = (
                closed
                    .iter()
                    .max_by(|a, b| a.direct.rps().total_cmp(&b.direct.rps())),
                closed
                    .iter()
                    .max_by(|a, b| a.proxy.rps().total_cmp(&b.proxy.rps())),
            ) {
                let ratio = bp.proxy.rps() / bd.direct.rps();
                let cpu = bp.proxy.cpu_us_per_request(0);
                let _ = writeln!(w, "\n#### Throughput at saturation\n");
                let _ = writeln!(w, "| | req/s | at | proxy CPU µs/req |");
                let _ = writeln!(w, "|---|---:|---|---:|");
                let _ = writeln!(w, "| direct | {:.0} | {} | |", bd.direct.rps(), bd.load);
                let _ = writeln!(
                    w,
                    "| proxy | {:.0} | {} | {cpu:.1} |",
                    bp.proxy.rps(),
                    bp.load
                );
                let _ = writeln!(w, "| **proxy / direct** | **{ratio:.2}** | | |");
                targets.push((
                    "Throughput through the proxy".into(),
                    "≥ 0.5 × direct".into(),
                    format!("{ratio:.2} ×"),
                    ratio >= 0.5,
                ));
                targets.push((
                    "Proxy CPU per request (at saturation)".into(),
                    "≤ 50 µs".into(),
                    format!("{cpu:.1} µs"),
                    cpu <= 50.0,
                ));
            }
            if let Some(r) = self.latency.iter().find(|r| r.kind == Load::Rate) {
                let a50 = r.proxy.pct_ms(50.0) - r.direct.pct_ms(50.0);
                let a99 = r.proxy.pct_ms(99.0) - r.direct.pct_ms(99.0);
                targets.push((
                    "Added p50 at 1,000 req/s".into(),
                    "≤ 0.1 ms".into(),
                    format!("{a50:.3} ms"),
                    a50 <= 0.1,
                ));
                targets.push((
                    "Added p99 at 1,000 req/s".into(),
                    "≤ 1 ms".into(),
                    format!("{a99:.3} ms"),
                    a99 <= 1.0,
                ));
            }
        }

        if let Some(s) = &self.stream {
            let _ = writeln!(
                w,
                "\n#### `/invoke_stream`, {} events per answer, one stream at a time (ms from send)\n",
                crate::fake::STREAM_EVENTS
            );
            let _ = writeln!(w, "| Event | direct p50 | proxy p50 | added p50 | direct p99 | proxy p99 | added p99 |");
            let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|");
            for (name, d, p) in [
                ("first", &s.direct_first, &s.proxy_first),
                ("last", &s.direct_last, &s.proxy_last),
            ] {
                let (d50, p50) = (percentile_ms(d, 50.0), percentile_ms(p, 50.0));
                let (d99, p99) = (percentile_ms(d, 99.0), percentile_ms(p, 99.0));
                let _ = writeln!(
                    w,
                    "| {name} | {} | {} | **{}** | {} | {} | **{}** |",
                    ms(d50),
                    ms(p50),
                    added(p50, d50),
                    ms(d99),
                    ms(p99),
                    added(p99, d99)
                );
            }
            let a = percentile_ms(&s.proxy_first, 50.0) - percentile_ms(&s.direct_first, 50.0);
            targets.push((
                "Stream first event added (p50)".into(),
                "≤ 1 ms".into(),
                format!("{a:.3} ms"),
                a <= 1.0,
            ));
        }

        let _ = writeln!(w, "\n#### Memory, start-up, connections\n");
        let _ = writeln!(w, "| Measure | Value |");
        let _ = writeln!(w, "|---|---:|");
        if let Some(kb) = self.idle_rss_kb {
            let _ = writeln!(w, "| Proxy RSS idle (after start-up) | {} |", mb(kb));
            targets.push((
                "Idle RSS".into(),
                "≤ 20 MB".into(),
                mb(kb),
                kb as f64 <= 20.0 * 1024.0,
            ));
        }
        if let Some(kb) = self.rss_after_load_kb {
            let _ = writeln!(w, "| Proxy RSS after the load runs | {} |", mb(kb));
        }
        for m in &self.memory {
            let per = m.kb_per_stream();
            let complete = m.failed == 0 && m.opened == m.streams;
            let _ = writeln!(
                w,
                "| Proxy RSS with {} open streams (fresh proxy: {}, after one warm-up stream: {}) | {} → **{per:.1} KB per stream** |",
                m.streams,
                mb(m.fresh_kb),
                mb(m.before_kb),
                mb(m.open_kb),
            );
            let _ = writeln!(
                w,
                "| … streams opened / failed / completed after release; proxy fds; held by the fake; time to open; proxy CPU while they idle | {} / {} / {}; {}; {}; {:.1} s; {:.0} % of a core |",
                m.opened, m.failed, m.completed, m.proxy_fds, m.fake_held, m.open_secs, m.hold_cpu_pct
            );
            if let Some(e) = &m.first_error {
                // The proxy's error JSON: its message says enough.
                let message = serde_json::from_str::<serde_json::Value>(
                    e.split_once(": ").map_or(e.as_str(), |(_, body)| body),
                )
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| e.clone());
                let _ = writeln!(w, "| … first failure | {} |", message.replace('|', "/"));
            }
            targets.push((
                format!("Memory per open stream ({})", m.streams),
                "≤ 50 KB".into(),
                if complete {
                    format!("{per:.1} KB")
                } else {
                    format!("{per:.1} KB ({} of {} opened)", m.opened, m.streams)
                },
                complete && per <= 50.0,
            ));
        }
        if !self.startup.is_empty() {
            let mut t: Vec<f64> = self.startup.iter().map(|d| d.as_secs_f64() * 1e3).collect();
            t.sort_by(f64::total_cmp);
            let median = t[t.len() / 2];
            let _ = writeln!(
                w,
                "| Start-up: spawn → first 200 on `/health` (median of {}; min–max) | {median:.1} ms ({:.1}–{:.1}) |",
                t.len(),
                t[0],
                t[t.len() - 1]
            );
            targets.push((
                "Start-up".into(),
                "≤ 100 ms".into(),
                format!("{median:.1} ms"),
                median <= 100.0,
            ));
        }
        if let Some(n) = self.upstream_connections {
            let _ = writeln!(
                w,
                "| Upstream TCP connections for 1,000 sequential `/invoke` | {n} |"
            );
            targets.push((
                "Upstream connection reuse".into(),
                "1 connection".into(),
                n.to_string(),
                n <= 1,
            ));
        }

        if !self.micro.is_empty() {
            let _ = writeln!(
                w,
                "\n#### The proxy's own per-request work, in process (no I/O)\n"
            );
            let _ = writeln!(w, "| Step | µs per call |");
            let _ = writeln!(w, "|---|---:|");
            for (what, ns) in &self.micro {
                let _ = writeln!(w, "| {what} | {:.2} |", ns / 1000.0);
            }
        }

        let _ = writeln!(w, "\n#### Against the targets\n");
        let _ = writeln!(w, "| Target | Goal | Measured | |");
        let _ = writeln!(w, "|---|---|---:|---|");
        for (name, goal, got, ok) in &targets {
            let _ = writeln!(w, "| {name} | {goal} | {got} | {} |", verdict(*ok));
        }
        o
    }
}

pub const BEGIN: &str = "<!-- BEGIN BENCH RESULTS (written by `cargo bench --bench proxy`) -->";
pub const END: &str = "<!-- END BENCH RESULTS -->";

/// Replace the results between the markers of docs/performance.md (the prose around them is
/// kept), or append them.
pub fn write_docs(path: &Path, table: &str) -> std::io::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Performance\n".into());
    let block = format!("{BEGIN}\n{table}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("{}\n{block}\n", old.trim_end()),
    };
    std::fs::write(path, new)
}
