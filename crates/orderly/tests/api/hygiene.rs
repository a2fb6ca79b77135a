//! Connection, response and authentication hygiene (issue 14, items 5, 6 and 8): the
//! server closes idle and slow-loris connections after the configured timeouts while
//! other connections keep answering, caps its connections, bounds a request's time, puts
//! security headers on every answer, answers problem+json for oversized webhook bodies,
//! and throttles a peer that keeps failing to authenticate.
//!
//! The socket tests wait real seconds (the timeouts are set to one second): they test
//! the real server's socket timeouts, which run on tokio's clock, not the app's.

use crate::helpers::{TestApp, send, spawn_app_with};
use reqwest::Method;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; `true` if it did within `within`
/// (end of file or a reset), `false` if it still held it open.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

/// One raw HTTP/1.1 request on a kept-alive connection; returns the status line.
async fn raw_get(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET /api/v1{path} HTTP/1.1\r\nhost: test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // The health answer is small and has a content-length; its end is the JSON's end.
    while !got.ends_with(b"}") {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        assert!(n > 0, "connection closed before the answer");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

async fn short_timeouts() -> TestApp {
    spawn_app_with(|c| {
        c.server.header_read_timeout_seconds = 1;
        c.server.idle_timeout_seconds = 2;
        c.server.request_timeout_seconds = 1;
    })
    .await
}

#[tokio::test]
async fn slow_loris_and_idle_connections_are_closed_while_others_keep_answering() {
    let app = short_timeouts().await;
    // A slow-loris sender: part of a head, then a byte now and then, never the end.
    let mut loris = TcpStream::connect(app.addr).await.unwrap();
    loris
        .write_all(b"GET /api/v1/health HTTP/1.1\r\n")
        .await
        .unwrap();
    // An idle socket that never sends a byte, and a kept-alive one after a request.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    assert!(raw_get(&mut kept, "/health").await.ends_with("200 OK"));

    let dripping = tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if loris.write_all(b"x-slow: 1\r\n").await.is_err() {
                break;
            }
        }
        let closed = closed_within(&mut loris, Duration::from_secs(3)).await;
        (closed, started.elapsed())
    });
    // Meanwhile, ordinary requests on other connections are answered.
    for _ in 0..4 {
        app.get("/orders").await.expect(200);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (closed, after) = dripping.await.unwrap();
    assert!(closed, "the slow-loris connection was closed");
    assert!(after < Duration::from_secs(5), "closed after {after:?}");

    assert!(
        closed_within(&mut idle, Duration::from_secs(4)).await,
        "the idle socket was closed"
    );
    assert!(
        closed_within(&mut kept, Duration::from_secs(4)).await,
        "the kept-alive connection was closed once idle"
    );
    // Idle is not head: a socket idle for longer than the header timeout is still open,
    // and answers when it finally asks.
    let mut patient = TcpStream::connect(app.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(raw_get(&mut patient, "/health").await.ends_with("200 OK"));
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let app = spawn_app_with(|c| c.server.max_connections = 1).await;
    let mut first = TcpStream::connect(app.addr).await.unwrap();
    assert!(raw_get(&mut first, "/health").await.ends_with("200 OK"));
    // The second connection is not served while the first holds the only permit.
    let second = tokio::spawn({
        let addr = app.addr;
        async move {
            let mut second = TcpStream::connect(addr).await.unwrap();
            raw_get(&mut second, "/health").await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!second.is_finished(), "served beyond the cap");
    drop(first);
    let status = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("served once the first connection closed")
        .unwrap();
    assert!(status.ends_with("200 OK"), "{status}");
}

#[tokio::test]
async fn a_request_over_its_time_answers_503_problem_json() {
    let app = short_timeouts().await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // A body announced and never sent: the handler waits for it past the limit.
    stream
        .write_all(
            b"POST /api/v1/tracking-events HTTP/1.1\r\nhost: test\r\n\
              content-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 503"), "{text}");
    assert!(
        text.contains("content-type: application/problem+json"),
        "{text}"
    );
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_personal_data_is_not_stored() {
    let app = crate::helpers::spawn_app().await;
    let answers = [
        app.get("/orders").await,
        app.get("/customers/ann%40example.com/store-credit").await,
        app.get("/exceptions").await,
        app.get("/orders/ord_nope").await,
        send(app.client.get(app.url("/health"))).await,
        send(app.client.get(app.url("/orders"))).await,
    ];
    for res in &answers {
        let header = |name: &str| {
            res.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{res:?}");
        assert_eq!(header("cache-control"), "no-store", "{res:?}");
        assert_eq!(header("x-frame-options"), "DENY", "{res:?}");
        assert_eq!(
            header("content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'",
            "{res:?}"
        );
        assert!(!header("x-request-id").is_empty(), "{res:?}");
    }
    // The caller's request id is echoed.
    let res = send(
        app.req(Method::GET, "/orders")
            .header("x-request-id", "req-hyg-1"),
    )
    .await;
    assert_eq!(res.headers["x-request-id"], "req-hyg-1");
}

#[tokio::test]
async fn a_two_megabyte_body_on_the_signed_webhook_routes_answers_413_problem_json() {
    let app = crate::helpers::spawn_app().await;
    let body = vec![b'a'; 2 * 1024 * 1024];
    for path in ["/payment-events/simulator", "/tracking-events", "/orders"] {
        let res = send(
            app.req(Method::POST, path)
                .header("content-type", "application/json")
                .body(body.clone()),
        )
        .await;
        res.expect_problem(413, "payload_too_large");
        assert_eq!(res.headers["x-content-type-options"], "nosniff");
    }
}

#[tokio::test]
async fn failed_authentication_is_throttled_per_peer_and_recovers_after_the_window() {
    let app = spawn_app_with(|c| {
        c.server.auth_failure_limit = 3;
        c.server.auth_failure_window_seconds = 60;
    })
    .await;
    let wrong = "oly_0000000000000000000000000000000000000000000000000000000000000000";
    for _ in 0..3 {
        send(app.req_as(wrong, Method::GET, "/orders"))
            .await
            .expect_problem(401, "unauthorized");
    }
    // Now every request needing a key from this address waits, the admin's too.
    let blocked = send(app.req_as(wrong, Method::GET, "/orders")).await;
    blocked.expect_problem(429, "authentication_throttled");
    assert_eq!(blocked.headers["retry-after"], "60");
    app.get("/orders")
        .await
        .expect_problem(429, "authentication_throttled");
    // A request with no key at all is still the ordinary challenge: nothing to look up.
    send(app.client.get(app.url("/orders")))
        .await
        .expect_problem(401, "unauthorized");
    // Health needs no key and is not throttled.
    send(app.client.get(app.url("/health"))).await.expect(200);

    app.clock.advance(jiff::SignedDuration::from_secs(45));
    let later = app.get("/orders").await;
    later.expect_problem(429, "authentication_throttled");
    assert_eq!(later.headers["retry-after"], "15");

    app.clock.advance(jiff::SignedDuration::from_secs(15));
    app.get("/orders").await.expect(200);
    // A new window counts from its first failure.
    send(app.req_as(wrong, Method::GET, "/orders"))
        .await
        .expect_problem(401, "unauthorized");
    app.get("/orders").await.expect(200);
}
