//! `podpath list`: the embedded scenarios, one line each.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::scenarios;

pub fn run(out: &mut impl Write) -> Result<ExitCode> {
    let width = scenarios::ALL
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(0);
    for e in scenarios::ALL {
        let d = scenarios::description(e.text);
        let mark = if e.name == scenarios::DEFAULT {
            " (default)"
        } else {
            ""
        };
        writeln!(out, "{:<width$}  {d}{mark}", e.name)?;
    }
    Ok(ExitCode::SUCCESS)
}
