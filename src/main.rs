//! The `warroom` binary: parse the command line and hand over to the library.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use clap::Parser;

fn main() {
    // Run as `aws`, `docker`, `mongosh`… (a drill's stand-in symlink): be that stand-in.
    if let Some(code) = warroom::sim::standin::dispatch() {
        std::process::exit(code);
    }
    let cli = warroom::cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom: cannot start the runtime: {e}");
            std::process::exit(warroom::exit::IO);
        }
    };
    let code = rt.block_on(warroom::commands::run(cli));
    // Poll tasks may still be waiting on a hung source: do not wait for them.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    warroom::terminal::restore();
    std::process::exit(code);
}
