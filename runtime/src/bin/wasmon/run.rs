//! `wasmon run`: the monitoring daemon.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use wasmon_runtime::Sandbox;

use crate::common::Failure;

#[derive(Args, Debug)]
pub struct RunConfigArgs {
    /// The configuration file [default: a built-in one that monitors this
    /// machine's load, memory and root filesystem, with state in ./wasmon.db]
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Do not watch check module files: reload them only on SIGHUP (for
    /// file systems without change notification, such as NFS)
    #[arg(long)]
    pub no_watch: bool,
}

pub(crate) async fn daemon(
    sandbox: &Sandbox,
    config: &wasmon_runtime::config::Config,
    config_path: Option<&std::path::Path>,
    watch: bool,
) -> Result<u8, Failure> {
    tracing::info!(state_file = %config.engine.state_file.display(), "starting");
    // Bind first: a taken port stops the start before any check runs.
    let api = match &config.api {
        Some(settings) => Some(wasmon_runtime::api::Server::bind(settings.clone()).await?),
        None => None,
    };
    let mut builder =
        wasmon_runtime::Monitor::builder().config(config.clone()).sandbox(sandbox.clone()).watch_modules(watch);
    // SIGHUP and `POST /api/v1/reload` read it again.
    if let Some(path) = config_path {
        builder = builder.config_path(path);
    }
    let monitor = builder.start().await?;
    let monitor = std::sync::Arc::new(monitor);
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let served = api.map(|server| {
        tracing::info!(address = %server.local_addr(), "API listening");
        tokio::spawn(server.serve(monitor.clone(), async move {
            let _ = api_stopped.await;
        }))
    });
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| tracing::warn!("cannot handle SIGHUP ({e}): check modules reload only on file changes"))
        .ok();
    loop {
        let hangup_received = async {
            match hangup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut shutdown => break,
            Some(()) = hangup_received => {
                if monitor.has_config_file() {
                    tracing::info!("SIGHUP received: reloading the configuration");
                    match monitor.reload_config_file().await {
                        Ok(change) => tracing::info!(%change, "configuration reloaded"),
                        Err(e) => tracing::error!("the configuration was not reloaded; the running one stays:\n{e}"),
                    }
                }
                tracing::info!("SIGHUP received: reloading check modules");
                match monitor.reload().await {
                    Ok(report) => tracing::info!(%report, "check modules reloaded"),
                    Err(e) => tracing::warn!("reloading check modules: {e}"),
                }
            }
        }
    }
    // The API first: requests under way are answered by the running engine.
    let _ = stop_api.send(());
    if let Some(served) = served {
        served.await.context("the API task failed")??;
    }
    monitor.stop().await?;
    Ok(0)
}

/// Resolves at the first SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
