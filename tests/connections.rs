//! Connections that are slow, stalled, idle, too many or abandoned, against the real gateway and
//! runner emulation over raw TCP: each is closed or refused in bounded time with a reason, and a
//! module run whose client hung up stops.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use pixelsmith::gateway::{self, GatewayConfig};
use pixelsmith::listen::ConnectionLimits;
use pixelsmith::runner::{self, Runner, RunnerConfig, Served};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{module, wat_modules};

fn any_port() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn tight(max_connections: usize) -> ConnectionLimits {
    ConnectionLimits {
        max_connections,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
    }
}

/// A gateway in front of the real module on the runner emulation, both with `limits`.
async fn gateway_with(limits: ConnectionLimits) -> (Served, Served) {
    let runner = Runner::from_file(module::module_path(), RunnerConfig::default()).unwrap();
    let runner = runner::start_with(runner, any_port(), limits)
        .await
        .unwrap();
    let mut config = GatewayConfig::new(runner.url());
    config.connections = limits;
    let gateway = gateway::start(&config, any_port()).await.unwrap();
    (gateway, runner)
}

/// Reads until the server closes the connection or `within` passes; returns what came and
/// whether the connection was closed in time.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&seen).into_owned(), closed)
}

#[tokio::test]
async fn partial_headers_and_idle_keep_alives_are_closed_after_the_header_timeout() {
    let (gateway, runner) = gateway_with(tight(16)).await;
    let started = Instant::now();
    let mut partial = TcpStream::connect(gateway.addr()).await.unwrap();
    partial
        .write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let (_, closed) = read_until_closed(&mut partial, Duration::from_secs(10)).await;
    assert!(closed, "a request whose headers never end stays open");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A keep-alive connection gets its answer, then is closed once idle for the same time.
    let mut idle = TcpStream::connect(gateway.addr()).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle keep-alive connection stays open");
    gateway.shutdown().await;
    runner.shutdown().await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_with_the_reason() {
    let (gateway, runner) = gateway_with(tight(16)).await;
    let mut stalled = TcpStream::connect(gateway.addr()).await.unwrap();
    stalled
        .write_all(
            b"POST /pixelate HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: image/png\r\n\
              content-length: 100000\r\n\r\n\x89PNG",
        )
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut stalled, Duration::from_secs(10)).await;
    assert!(closed);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // The runner emulation answers a stalled body as Node does: a bare 408.
    let mut stalled = TcpStream::connect(runner.addr()).await.unwrap();
    stalled
        .write_all(
            b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: text/plain\r\n\
              content-length: 1000\r\n\r\nabc",
        )
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut stalled, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    gateway.shutdown().await;
    runner.shutdown().await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_503_and_the_server_recovers() {
    let (gateway, runner) = gateway_with(ConnectionLimits {
        header_timeout: Duration::from_secs(30),
        ..tight(3)
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(gateway.addr()).await.unwrap());
    }
    // The accept loop takes the held connections in order; give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(gateway.addr()).await.unwrap();
    extra
        .write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (answer, closed) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(closed);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.contains("too_many_connections") && answer.contains("retry-after: 1"),
        "{answer}"
    );

    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let health = reqwest::get(format!("{}/health", gateway.url())).await;
        if health.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "/health never answered again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gateway.shutdown().await;
    runner.shutdown().await;
}

#[tokio::test]
async fn a_run_stops_when_its_client_hangs_up() {
    // A module that never ends, a minute's time limit: only the hang-up can stop it early.
    let config = RunnerConfig {
        time_limit: Duration::from_secs(60),
        ..RunnerConfig::default()
    };
    let endless = Runner::from_bytes(&wat_modules::endless_loop(), config).unwrap();
    let served = runner::start(endless.clone(), any_port()).await.unwrap();
    let gateway = gateway::start(&GatewayConfig::new(served.url()), any_port())
        .await
        .unwrap();

    let mut client = TcpStream::connect(gateway.addr()).await.unwrap();
    client
        .write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while endless.runs_in_progress() == 0 {
        assert!(Instant::now() < deadline, "the run never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(client);
    let hung_up = Instant::now();
    while endless.runs_in_progress() > 0 {
        assert!(
            hung_up.elapsed() < Duration::from_secs(10),
            "the module still runs after its client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gateway.shutdown().await;
    served.shutdown().await;
}
