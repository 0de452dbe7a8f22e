//! What the runner emulation adds per request on top of the module's own work.
//!
//! For each case it times the same run twice: in-process (`Runner::run`: a fresh instance, stdin,
//! `_start`, stdout — what the module itself costs here) and through HTTP (`reqwest` → axum →
//! Fastify-shaped checks → the same run → the answer), and prints the medians and their
//! difference, the emulation's overhead. Target: ≤ 2 ms.
//!
//! Cases: a trivial WAT module (`GET /`, empty stdin, echoes nothing) and, when the real module
//! is built (`cargo build -p wasm-service --target wasm32-wasip1 --release`, or
//! `PIXELSMITH_MODULE=path`), its `GET /` (health) and a hex-posted PNG pixelation.
//!
//! Run: `cargo bench --bench runner_overhead` (release build; about a minute).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use pixelsmith::runner::{self, Runner, RunnerConfig};

const ROUNDS_FAST: usize = 400;
const ROUNDS_SLOW: usize = 60;

/// Copies stdin to stdout: with empty stdin it does almost nothing, so its time is the floor.
const TRIVIAL: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $n i32)
    (loop $again
      (i32.store (i32.const 16) (i32.const 1024))
      (i32.store (i32.const 20) (i32.const 32768))
      (drop (call $fd_read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 24)))
      (local.set $n (i32.load (i32.const 24)))
      (if (i32.gt_u (local.get $n) (i32.const 0))
        (then
          (i32.store (i32.const 0) (i32.const 1024))
          (i32.store (i32.const 4) (local.get $n))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (br $again))))))"#;

struct Case {
    name: String,
    runner: Runner,
    /// stdin for the in-process run, and the same request over HTTP (None: GET /).
    stdin: Vec<u8>,
    http_body: Option<String>,
    rounds: usize,
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut cases = vec![Case {
        name: "trivial module, GET / (empty stdin)".into(),
        runner: Runner::from_bytes(&wat::parse_str(TRIVIAL).unwrap(), RunnerConfig::default())
            .unwrap(),
        stdin: Vec::new(),
        http_body: None,
        rounds: ROUNDS_FAST,
    }];
    let module = std::env::var_os("PIXELSMITH_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/wasm32-wasip1/release/wasm-service.wasm")
        });
    match Runner::from_file(&module, RunnerConfig::default()) {
        Ok(real) => {
            let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/horse.png"))
                .expect("fixtures/horse.png");
            let hex: String = png.iter().map(|b| format!("{b:02x}")).collect();
            cases.push(Case {
                name: format!(
                    "real module ({} KB), GET / (health)",
                    real.module_bytes() / 1024
                ),
                runner: real.clone(),
                stdin: Vec::new(),
                http_body: None,
                rounds: ROUNDS_FAST / 2,
            });
            cases.push(Case {
                name: format!(
                    "real module, POST / hex PNG ({} KB horse.png, defaults)",
                    png.len() / 1024
                ),
                runner: real,
                stdin: png,
                http_body: Some(hex),
                rounds: ROUNDS_SLOW,
            });
        }
        Err(err) => eprintln!("(real module skipped: {err})"),
    }

    println!(
        "runner emulation overhead per request (medians; {} CPUs)",
        cpus()
    );
    println!(
        "{:<58} {:>12} {:>12} {:>10} {:>10}",
        "case", "in-process", "via HTTP", "overhead", "paired"
    );
    for case in &cases {
        let (in_process, via_http, paired) = runtime.block_on(measure(case));
        println!(
            "{:<58} {:>9.3} ms {:>9.3} ms {:>7.3} ms {:>7.3} ms",
            case.name,
            ms(in_process),
            ms(via_http),
            ms(via_http) - ms(in_process),
            paired * 1000.0
        );
    }
    println!(
        "overhead: median via HTTP minus median in-process; paired: median of (HTTP - in-process) \
         over rounds that run one of each back to back"
    );
}

/// Runs in-process and via HTTP alternately, so drift (other load, CPU clocks) hits both alike.
async fn measure(case: &Case) -> (Duration, Duration, f64) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let served = runner::start(case.runner.clone(), addr).await.unwrap();
    let url = format!("{}/", served.url());
    let client = reqwest::Client::new();
    let over_http = || async {
        let request = match &case.http_body {
            None => client.get(&url),
            Some(body) => client
                .post(&url)
                .header("content-type", "text/plain")
                .body(body.clone()),
        };
        let started = Instant::now();
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let _ = response.bytes().await.unwrap();
        started.elapsed()
    };
    let in_process = || {
        let started = Instant::now();
        let outcome = case.runner.run(&case.stdin);
        assert!(outcome.exit_code() == Some(0), "{:?}", outcome.exit);
        started.elapsed()
    };
    // Warm the connection and the module's lazily translated functions.
    for _ in 0..5 {
        over_http().await;
        in_process();
    }
    let (mut local, mut http, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..case.rounds {
        let a = in_process();
        let b = over_http().await;
        pairs.push(b.as_secs_f64() - a.as_secs_f64());
        local.push(a);
        http.push(b);
    }
    served.shutdown().await;
    pairs.sort_by(f64::total_cmp);
    (middle(local), middle(http), pairs[pairs.len() / 2])
}

fn middle(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
