//! A bare axum server (one route, the same allocator and runtime as
//! Switchboard's binary), to measure an idle server's resident memory the
//! same way as Switchboard's: start it, wait, read `VmRSS`.
//!
//! ```text
//! cargo run --release -p switchboard-testkit --bin bare_axum -- 127.0.0.1:18081
//! ```

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            axum::serve(listener, app).await?;
            Ok(())
        })
}
