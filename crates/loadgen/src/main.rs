//! `gocua-loadgen`: see `gocua-loadgen --help` and docs/benchmarks.md.

use std::process::ExitCode;

use clap::Parser;
use gocua_loadgen::{Options, run};

#[tokio::main]
async fn main() -> ExitCode {
    let opts = Options::parse();
    match run(&opts).await {
        Ok(report) => {
            if opts.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(j) => println!("{j}"),
                    Err(e) => {
                        eprintln!("gocua-loadgen: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report.text());
            }
            if report.errors.is_empty() && report.every_device_has_its_villages_changes {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("gocua-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}
