//! `cairn`: infrastructure as code for AWS. This binary parses arguments, reads the
//! project's files, and renders; the work happens in cairn-core and cairn-state.

mod assets;
mod commands;
mod error;
mod project;
mod render;
mod sceptre;
mod secrets;
mod types;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::CliError;

#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    about = "Infrastructure as code for AWS: CloudFormation templates, applied directly, one stack file per environment."
)]
pub struct Cli {
    /// Run as if cairn was started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The stack to act on (default: the selected stack).
    #[arg(short = 's', long = "stack", global = true, value_name = "NAME")]
    pub stack: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new project in the current directory.
    Init(InitArgs),
    /// Manage stacks (environments).
    #[command(subcommand)]
    Stack(StackCommand),
    /// Edit the selected stack's settings (its stack file).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show what `up` would change, without changing anything.
    Preview(PreviewArgs),
    /// Create or update the stack's resources.
    Up(UpArgs),
    /// Delete every resource of the stack.
    Destroy(DestroyArgs),
    /// Read every resource and record changes made outside cairn.
    Refresh(RefreshArgs),
    /// Check the template and stack file, reporting every error found.
    Validate,
    /// Clear a stack's lock left by a run that was killed (never the lock of a run still
    /// going on this host, unless --force).
    Cancel(CancelArgs),
    /// List the supported resource types: what `Ref` gives, the `Fn::GetAtt` attributes,
    /// and which lifecycle steps the conformance suite verifies on the emulator.
    Types(TypesArgs),
    /// Make a cairn project from another tool's project.
    #[command(subcommand)]
    Import(ImportCommand),
}

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// A Sceptre project (its `config/` and `templates/`): one component per Sceptre
    /// stack, one stack file per environment; what cannot be translated is listed, by
    /// file and line, on stderr.
    Sceptre {
        /// The Sceptre project directory (holding `config/` and `templates/`).
        #[arg(value_name = "SCEPTRE_DIR")]
        source: PathBuf,
        /// Where to write the cairn project (default: the current directory); it must
        /// not hold a Cairn.yaml already.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct TypesArgs {
    /// Print the types as a JSON array.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Project name (default: the directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// The first stack to create.
    #[arg(long, default_value = "dev")]
    pub stack_name: String,
    /// Default region.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}

#[derive(Subcommand, Debug)]
pub enum StackCommand {
    /// Create a stack file and select the stack.
    Init {
        name: String,
        /// The stack's region (default: Cairn.yaml's defaults).
        #[arg(long)]
        region: Option<String>,
    },
    /// Select the stack later commands act on.
    Select { name: String },
    /// List stacks.
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Remove a stack's state, history and stack file.
    Rm {
        name: String,
        /// Remove even if the state still holds resources (they are forgotten, not deleted).
        #[arg(long)]
        force: bool,
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print the stack's outputs.
    Output {
        /// One output's value.
        name: Option<String>,
        #[arg(long, conflicts_with = "shell")]
        json: bool,
        /// As `export NAME='value'` lines.
        #[arg(long)]
        shell: bool,
        #[arg(long)]
        show_secrets: bool,
    },
    /// List the stack's runs.
    History {
        #[arg(long)]
        json: bool,
    },
    /// Print the stack's state as JSON (secrets as ciphertext unless --show-secrets).
    Export {
        /// Decrypt secrets (shown as `{"cairn:secret": <value>}`).
        #[arg(long)]
        show_secrets: bool,
    },
    /// Replace the stack's state with JSON from a file or stdin.
    Import {
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Preview, then apply, the template and configuration that version N applied.
    Rollback {
        /// The history version to return to (`cairn stack history`).
        #[arg(long, value_name = "N")]
        to: u64,
        #[command(flatten)]
        up: UpArgs,
    },
    /// Print the desired dependency graph (Graphviz dot).
    Graph,
    /// Re-encrypt the stack's secrets (stack file and state) with another provider:
    /// `passphrase` or `awskms://<key id, alias/NAME or key ARN>?region=<region>`.
    ChangeSecretsProvider { provider: String },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Set a parameter (or `region`, or `tags.NAME`).
    Set {
        key: String,
        /// The value; with --secret it may be left out and is then read from stdin (asked
        /// for without echo on a terminal).
        value: Option<String>,
        /// Store the value encrypted (a secret parameter).
        #[arg(long)]
        secret: bool,
    },
    /// Print one setting.
    Get {
        key: String,
        #[arg(long)]
        json: bool,
        /// Print a secret's value instead of [secret].
        #[arg(long)]
        show_secrets: bool,
    },
    /// Remove a setting.
    Rm { key: String },
    /// List the stack's settings.
    Ls {
        #[arg(long)]
        json: bool,
        /// Print secrets' values instead of [secret].
        #[arg(long)]
        show_secrets: bool,
    },
}

#[derive(Args, Debug, Clone, Default)]
pub struct PlanArgs {
    /// Only this resource (or component) and what it depends on. Repeatable.
    #[arg(long, value_name = "ID")]
    pub target: Vec<String>,
    /// Replace this resource even if unchanged. Repeatable.
    #[arg(long, value_name = "ID")]
    pub replace: Vec<String>,
    /// Show what changes inside each property, leaf by leaf.
    #[arg(long)]
    pub diff: bool,
    /// Exit with code 3 when the plan is not empty.
    #[arg(long)]
    pub expect_no_changes: bool,
    /// Print secret values instead of [secret].
    #[arg(long)]
    pub show_secrets: bool,
    /// Read every resource first and plan against what AWS holds: changes made outside
    /// cairn show as drift (`!`).
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Args, Debug)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// With --refresh: at most N reads at once.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Apply without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// At most N resource operations (and, with --refresh, reads) at once.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    /// Only this resource (or component), and what depends on it is not touched.
    #[arg(long, value_name = "ID")]
    pub target: Vec<String>,
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
}

#[derive(Args, Debug)]
pub struct CancelArgs {
    /// Clear a lock held from another host without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Clear the lock whoever holds it, even a run still going on this host.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct RefreshArgs {
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// At most N reads at once.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
}

#[derive(Args, Debug)]
pub struct ConfirmArgs {
    #[arg(long, short = 'y')]
    pub yes: bool,
}

fn main() {
    let cli = Cli::parse();
    let color = render::Style::detect_stderr().color;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let code = match runtime.block_on(commands::run(cli)) {
        Ok(()) => 0,
        Err(e) => {
            if !matches!(e, CliError::ChangesPresent) {
                error::report(&e, color);
            } else {
                eprintln!("{e}");
            }
            e.exit_code()
        }
    };
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    if cairn_aws::api_calls::enabled() {
        report_api_calls();
    }
    std::process::exit(code);
}

/// With `CAIRN_COUNT_API_CALLS=1`: one line on stderr with the number of AWS API calls the
/// run made, and the calls by operation (for `scripts/bench-aws.sh`).
fn report_api_calls() {
    let counts = cairn_aws::api_calls::counts();
    let total: u64 = counts.values().sum();
    let each: Vec<String> = counts.iter().map(|(op, n)| format!("{op}={n}")).collect();
    eprintln!("aws-api-calls: {total} ({})", each.join(" "));
}
