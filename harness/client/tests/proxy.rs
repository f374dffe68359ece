//! Proxies come from `HTTPS_PROXY` / `NO_PROXY`, as for the python clients. Its own test
//! binary: the variables are the process's.

use std::time::Duration;

use sigstack_client::{Error, Session, TlsOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn https_goes_through_the_proxy_unless_no_proxy_names_the_host() {
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = proxy.local_addr().unwrap().port();
    // SAFETY: set before any client of this process exists; no other thread reads the
    // environment in this test binary.
    unsafe {
        std::env::set_var("HTTPS_PROXY", format!("http://127.0.0.1:{port}"));
        std::env::set_var("NO_PROXY", "127.0.0.1");
    }
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = proxy.accept().await else { return };
            let mut buf = vec![0u8; 1024];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let _ = seen_tx.send(String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_owned());
            let _ = socket.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let http = sigstack_client::tls::build_http_client(&TlsOptions::default()).unwrap();
    let session = Session::from_token(http, token());

    // POSTs: a GET would be retried once on the transport error, asking the proxy twice.
    let e = session.send(session.http().post("https://localhost:5000/v3")).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    let first = tokio::time::timeout(Duration::from_secs(5), seen.recv()).await.unwrap().unwrap();
    assert_eq!(first, "CONNECT localhost:5000 HTTP/1.1");

    // NO_PROXY: straight to the (closed) port, the proxy sees nothing.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let e = session.send(session.http().post(format!("https://127.0.0.1:{closed}/v3"))).await.unwrap_err();
    assert!(matches!(e, Error::Transport { .. }), "{e:?}");
    assert!(tokio::time::timeout(Duration::from_millis(300), seen.recv()).await.is_err(), "the proxy was asked for a NO_PROXY host");
}

fn token() -> sigstack_client::Token {
    let named = |n: &str| sigstack_client::Named { id: n.into(), name: n.into() };
    sigstack_client::Token { value: "t".into(), expires_at: String::new(), user: named("u"), project: None, roles: vec![], catalog: vec![] }
}
