//! `sigstack serve`'s log: the simulated cloud's `tracing` events on stderr. `--log-level`
//! chooses how much; `RUST_LOG`, when set, overrides it (tracing's filter syntax, so it can
//! single out a module). Lines go through a background writer: a reader of stderr that falls
//! behind never stalls a request (past 128,000 waiting lines, new ones are dropped).

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// `--log-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// 5xx answers with their cause, failed background work.
    Error,
    /// And requests timed out, failed snapshots and imports.
    Warn,
    /// And one line per request (service, method, path, status, request id, duration).
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn directive(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// Where the filter came from, for the startup note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(LogLevel),
    RustLog(String),
}

/// The filter: `RUST_LOG` when set to something, else `--log-level`. A `RUST_LOG` that does
/// not parse is a usage error (silently logging nothing would hide every failure).
pub fn filter(level: LogLevel, rust_log: Option<&str>) -> Result<(EnvFilter, Source), String> {
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        Some(spec) => {
            let filter = EnvFilter::builder().parse(spec).map_err(|e| format!("invalid RUST_LOG '{spec}': {e}"))?;
            Ok((filter, Source::RustLog(spec.to_owned())))
        }
        None => Ok((EnvFilter::new(level.directive()), Source::Flag(level))),
    }
}

/// Installs the subscriber; the guard flushes the waiting lines when dropped (keep it until
/// the cloud has stopped).
pub fn install(filter: EnvFilter) -> Result<tracing_appender::non_blocking::WorkerGuard, String> {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_overrides_the_flag_and_must_parse() {
        let (f, source) = filter(LogLevel::Info, None).unwrap();
        assert_eq!((f.to_string(), source), ("info".to_owned(), Source::Flag(LogLevel::Info)));
        let (f, source) = filter(LogLevel::Error, Some("  ")).unwrap();
        assert_eq!((f.to_string(), source), ("error".to_owned(), Source::Flag(LogLevel::Error)));
        let (f, source) = filter(LogLevel::Error, Some("sigstack_cloud=debug,warn")).unwrap();
        assert_eq!(source, Source::RustLog("sigstack_cloud=debug,warn".into()));
        assert!(f.to_string().contains("sigstack_cloud=debug"), "{f}");
        let e = filter(LogLevel::Info, Some("sigstack_cloud=loud")).unwrap_err();
        assert!(e.starts_with("invalid RUST_LOG 'sigstack_cloud=loud': "), "{e}");
    }
}
