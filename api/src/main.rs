use api::{Application, Config, telemetry};

/// mimalloc rather than glibc's malloc: the rush's profile spent 11-16% of the server's CPU in
/// glibc's allocator, and glibc kept argon2's 19 MiB blocks after concurrent sign-ups (403 MiB
/// after 64 at once) where mimalloc hands them back.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    };
    telemetry::init(config.server.log_json);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("cannot start: {err:#}");
            std::process::exit(1);
        }
    };
    let url = format!("http://{}", app.local_addr());
    tracing::info!("GraphiQL at {url}/graphql, web UI at {url}/");
    if let Err(err) = app.run_until(shutdown_signal()).await {
        tracing::error!("{err:#}");
        std::process::exit(1);
    }
}

/// Ctrl-C or SIGTERM (what Kubernetes sends before it stops a pod).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
