//! `cairn-faultproxy`: the fault-injection proxy as a program (see `docs/fault-proxy.md`).
//!
//! ```sh
//! source <(scripts/moto.sh start)
//! cairn-faultproxy --throttle 0.05 --server-error 0.05 --reset 0.05 --seed 7 \
//!     --rule '{"operation": "PutBucketEncryption", "fault": {"kind": "refuse", "status": 403, "code": "AccessDenied", "message": "Access Denied"}}'
//! # prints http://127.0.0.1:PORT: point AWS_ENDPOINT_URL at it
//! ```

use std::process::ExitCode;

use cairn_faultproxy::{serve, Config, Rates, Rule, Shared};
use clap::Parser;

/// A loopback proxy in front of an AWS endpoint that injects throttling, 5xx answers,
/// connection resets, refusals and lost answers. Prints its URL on stdout, serves until
/// interrupted, then prints what it injected (JSON) on stdout. `GET /__faultproxy/counts`
/// answers the same while it runs.
#[derive(Parser)]
#[command(name = "cairn-faultproxy", version)]
struct Args {
    /// Where requests go (default: $AWS_ENDPOINT_URL).
    #[arg(long)]
    upstream: Option<String>,
    /// The loopback port to listen on (0: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The seed of the draws: the same seed and calls give the same faults.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Probability of a throttling error per request.
    #[arg(long, default_value_t = 0.0)]
    throttle: f64,
    /// Probability of a 500 answer per request.
    #[arg(long, default_value_t = 0.0)]
    server_error: f64,
    /// Probability of a connection reset (the request not forwarded) per request.
    #[arg(long, default_value_t = 0.0)]
    reset: f64,
    /// Probability per request that the call is forwarded and its answer lost.
    #[arg(long, default_value_t = 0.0)]
    lose_answer: f64,
    /// A targeted rule, as JSON (repeatable): {"operation": "CreateBucket", "skip": 0,
    /// "times": 1, "fault": {"kind": "refuse", "status": 400, "code": "X", "message": "m"}}.
    #[arg(long = "rule", value_name = "JSON")]
    rules: Vec<String>,
    /// A configuration file (JSON: upstream, seed, rates, rules); flags add to it.
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn-faultproxy: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            serde_json::from_str::<Config>(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Config::new(""),
    };
    if let Some(u) = args.upstream.or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()) {
        config.upstream = u;
    }
    if config.upstream.is_empty() {
        return Err("no upstream: pass --upstream http://host:port or set AWS_ENDPOINT_URL".into());
    }
    if args.seed != 0 {
        config.seed = args.seed;
    }
    let flags = Rates {
        throttle: args.throttle,
        server_error: args.server_error,
        reset: args.reset,
        lose_answer: args.lose_answer,
    };
    if flags != Rates::default() {
        config.rates = flags;
    }
    for r in &args.rules {
        config.rules.push(serde_json::from_str::<Rule>(r).map_err(|e| format!("--rule {r}: {e}"))?);
    }
    let shared = Shared::new(config).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("http://{addr}");
        tokio::select! {
            _ = serve(listener, shared.clone()) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let counts = shared.counts();
        eprintln!("cairn-faultproxy: {counts}");
        println!("{}", serde_json::to_string_pretty(&counts).unwrap_or_default());
        Ok(())
    })
}
