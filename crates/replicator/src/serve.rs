//! A minimal HTTP endpoint for Prometheus: `GET /metrics` answers the text exposition,
//! anything else 404. HTTP/1.1 without keep-alive; enough for a scraper and `curl`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Renders the metrics text at each scrape.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Binds `addr` (an error names the address) and serves until `shutdown` turns true.
/// Returns the bound address (useful with port 0) and the server task.
pub async fn serve_metrics(
    addr: SocketAddr,
    render: Render,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {addr} for metrics: {e}"),
        )
    })?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { return; }
                }
                accepted = listener.accept() => {
                    let Ok((mut sock, _)) = accepted else { continue };
                    let render = render.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 4096];
                        let n = match tokio::time::timeout(
                            std::time::Duration::from_secs(5),
                            sock.read(&mut buf),
                        )
                        .await
                        {
                            Ok(Ok(n)) => n,
                            _ => return,
                        };
                        let head = String::from_utf8_lossy(&buf[..n]);
                        let path = head.split_whitespace().nth(1).unwrap_or("");
                        let (status, body, kind) = if head.starts_with("GET ") && path == "/metrics" {
                            ("200 OK", render(), "text/plain; version=0.0.4")
                        } else {
                            ("404 Not Found", "not found: try /metrics\n".to_owned(), "text/plain")
                        };
                        let response = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(response.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    });
                }
            }
        }
    });
    Ok((local, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_metrics_and_404() {
        let (_tx, rx) = watch::channel(false);
        let (addr, _task) = serve_metrics(
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(|| "iot_crr_x 1\n".to_owned()),
            rx,
        )
        .await
        .unwrap();
        let get = |path: &'static str| async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let ok = get("/metrics").await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.ends_with("iot_crr_x 1\n"), "{ok}");
        assert!(get("/other").await.starts_with("HTTP/1.1 404"));
    }
}
