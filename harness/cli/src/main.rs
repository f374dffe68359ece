//! `sigstack`: sign and verify images and validate certificates the way OpenStack does.
//!
//! Exit codes are a contract: 0 success, 1 a verification or validation failure (the exact
//! OpenStack message on stdout), 2 a usage error (bad flags, unreadable files).

#[macro_use]
mod output;

mod audit;
mod cloud_args;
mod commands;
mod conformance;
mod input;
mod serve;
mod serve_network;
mod sign_images;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{CertificateArgs, SignArgs, VerifyArgs};

#[derive(Parser)]
#[command(name = "sigstack", version, about = "OpenStack image-signature tooling")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify an image file against its signature properties, as Glance, Nova and Cinder do.
    Verify(VerifyArgs),
    /// Sign an image file and print the base64 `img_signature`.
    Sign(SignArgs),
    /// Certificate operations.
    Certificate {
        #[command(subcommand)]
        command: CertificateCommand,
    },
    /// Run the simulated cloud (Keystone, Barbican, Glance, Nova, Cinder) until SIGINT/SIGTERM.
    Serve(serve::ServeArgs),
    /// Run the simulated Neutron alone, its callers' tokens checked by a real Keystone (the
    /// network endpoint beside a real Nova).
    ServeNetwork(serve_network::ServeNetworkArgs),
    /// Run the conformance suite against the embedded simulated cloud or a clouds.yaml cloud.
    Conformance(conformance::ConformanceArgs),
    /// Report which images of a cloud would fail to boot with signature verification on.
    Audit(audit::AuditArgs),
    /// Sign the images of an existing cloud and store the certificate in Barbican.
    SignImages(sign_images::SignImagesArgs),
}

#[derive(Subcommand)]
enum CertificateCommand {
    /// Validate a signing certificate against trusted certificates (Nova's rules).
    Validate(CertificateArgs),
}

/// How a command ended; `main` turns it into the exit code.
pub enum Outcome {
    /// Printed its result; exit 0.
    Success,
    /// Verification or validation failed with this OpenStack message; exit 1.
    Failed(String),
    /// The command could not run as asked (unreadable input, bad value); exit 2.
    Usage(String),
    /// Something else went wrong (message on stderr); exit 1.
    Error(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Verify(args) => commands::verify(args),
        Command::Sign(args) => commands::sign(args),
        Command::Certificate { command: CertificateCommand::Validate(args) } => commands::validate_certificate(args),
        Command::Serve(args) => serve::serve(args),
        Command::ServeNetwork(args) => serve_network::serve_network(args),
        Command::Conformance(args) => conformance::conformance(args),
        Command::Audit(args) => audit::audit(args),
        Command::SignImages(args) => sign_images::sign_images(args),
    };
    let code = match outcome {
        Outcome::Success => ExitCode::SUCCESS,
        Outcome::Failed(message) => {
            outln!("{message}");
            ExitCode::from(1)
        }
        Outcome::Usage(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Outcome::Error(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    };
    // A result that could not be written is not a success.
    match output::failure() {
        Some(reason) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write to standard output: {reason}");
            ExitCode::from(1)
        }
        None => code,
    }
}
