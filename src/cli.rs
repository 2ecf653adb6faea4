//! The command line: parses arguments, runs the pipeline, prints a report. No verdicts here.

use crate::analyze::explain::explain_namespace;
use crate::net::{PRESETS, Target, preset_targets};
use crate::rules::RULES;
use crate::{Input, LintOptions, lint, report};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Findings with the offending YAML underlined, then a summary.
    Human,
    /// The JSON contract in the README, for other programs.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
    Sarif,
    /// GitHub Actions annotations (workflow commands).
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Parser)]
#[command(
    name = "imds-lint",
    version,
    about = "Finds Kubernetes namespaces whose pods can reach the cloud instance metadata service",
    after_help = "Exit status: 0 no error findings, 1 error findings, 2 usage error or unreadable input.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Files and directories to lint; `-` reads manifests from standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    format: Format,

    /// When to colour the human output (NO_COLOR is honoured with `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", global = true)]
    color: ColorChoice,

    /// Skip paths matching this glob (matched against the file name and the path below each
    /// PATH); repeatable.
    #[arg(long, value_name = "GLOB", global = true)]
    exclude: Vec<String>,

    /// Namespace of namespaced objects that set none, as `kubectl apply` would use.
    #[arg(long, value_name = "NAME", default_value = "default", global = true)]
    default_namespace: String,

    /// A metadata endpoint to check, `ADDR[:PORT][/PROTO]` (port 80 and TCP by default);
    /// repeatable. Replaces the default endpoints unless `--preset` is also given.
    #[arg(long, value_name = "ADDR[:PORT][/PROTO]", value_parser = Target::parse, global = true)]
    target: Vec<Target>,

    /// Check a provider's well-known endpoints; repeatable. Without --target or --preset,
    /// `aws` is checked.
    #[arg(long, value_name = "NAME", value_parser = preset_names(), global = true)]
    preset: Vec<String>,

    /// Lint only this cluster: a Flux entry point's path (`clusters/prod`) or an Argo CD
    /// destination, as in the JSON `cluster` field.
    #[arg(long, value_name = "NAME", global = true)]
    cluster: Option<String>,

    /// Name used for standard input in messages.
    #[arg(long, value_name = "NAME", default_value = "<stdin>", global = true)]
    stdin_filename: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show why a namespace's verdict is what it is: its policies and, per pod class (or per
    /// workload), the effective egress with the rule behind each part.
    Explain {
        /// The namespace to explain.
        namespace: String,
        /// Files and directories to read, as for linting; `-` reads standard input.
        #[arg(value_name = "PATH", default_value = ".")]
        paths: Vec<PathBuf>,
        /// One section per workload instead of per pod class.
        #[arg(long)]
        workloads: bool,
    },
    /// Print a rule's page (what, why, examples, fix), or list the rules.
    Rule {
        /// Rule id (IMDS001) or name (metadata-reachable).
        id: Option<String>,
    },
}

fn preset_names() -> clap::builder::PossibleValuesParser {
    let mut names: Vec<clap::builder::PossibleValue> = PRESETS
        .iter()
        .map(|p| clap::builder::PossibleValue::new(p.name).help(p.description))
        .collect();
    names.push(clap::builder::PossibleValue::new("all").help("every preset above"));
    clap::builder::PossibleValuesParser::new(names)
}

/// The endpoints to check: the presets and targets asked for, else the default preset.
fn chosen_targets(presets: &[String], targets: &[Target]) -> Vec<Target> {
    let mut chosen: Vec<Target> = presets
        .iter()
        .filter_map(|name| preset_targets(name))
        .flatten()
        .chain(targets.iter().copied())
        .collect();
    if chosen.is_empty() {
        chosen = Target::defaults();
    }
    chosen.sort();
    chosen.dedup();
    chosen
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

fn rule_command(id: Option<String>) -> i32 {
    match id {
        None => {
            let mut text = String::new();
            for rule in RULES {
                text.push_str(&format!(
                    "{}  {:<31} {:<8} {}\n",
                    rule.id, rule.name, rule.severity, rule.summary
                ));
            }
            print(&text);
            0
        }
        Some(id) => match crate::rules::find_rule(&id) {
            Some(rule) => {
                print(rule.doc);
                0
            }
            None => {
                eprintln!("imds-lint: no rule {id:?}; `imds-lint rule` lists them");
                2
            }
        },
    }
}

/// Prints the explanation of one namespace. Exit status: 2 when the namespace is unknown or
/// some input could not be read, else 1 when some pod there reaches a target, else 0.
fn explain_command(
    outcome: &crate::Outcome,
    namespace: &str,
    per_workload: bool,
    format: Format,
    color: bool,
) -> i32 {
    // The run is already limited to --cluster when given; a name in several clusters needs it.
    let clusters: Vec<Option<&str>> = outcome
        .model
        .namespaces
        .keys()
        .filter(|k| k.name == namespace)
        .map(|k| k.cluster.as_deref())
        .collect();
    let explanation = match clusters.as_slice() {
        [cluster] => explain_namespace(&outcome.model, &outcome.analysis, *cluster, namespace),
        [] => None,
        several => {
            let names: Vec<&str> = several.iter().map(|c| c.unwrap_or("(none)")).collect();
            eprintln!(
                "imds-lint: namespace {namespace:?} is in several clusters ({}); choose one with --cluster",
                names.join(", ")
            );
            return 2;
        }
    };
    let Some(explanation) = explanation else {
        let mut known: Vec<&str> = outcome
            .model
            .namespaces
            .keys()
            .map(|k| k.name.as_str())
            .collect();
        known.sort_unstable();
        known.dedup();
        eprintln!(
            "imds-lint: no namespace {namespace:?} in these manifests; known: {}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return 2;
    };
    match format {
        Format::Json => print(&report::explain::render_json(&outcome.model, &explanation)),
        Format::Human => print(&report::explain::render_human(
            &outcome.model,
            &explanation,
            per_workload,
            color,
        )),
        Format::Sarif | Format::Github => {
            eprintln!("imds-lint: explain prints --format human or json only");
            return 2;
        }
    }
    for error in &outcome.errors {
        eprintln!("imds-lint: {}: {} (not read)", error.file, error.message);
    }
    if !outcome.errors.is_empty() {
        2
    } else if explanation.reachable.is_empty() {
        0
    } else {
        1
    }
}

/// Runs the command line and returns the exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let (paths, explain) = match cli.command {
        Some(Command::Rule { id }) => return rule_command(id),
        Some(Command::Explain {
            namespace,
            paths,
            workloads,
        }) => (paths, Some((namespace, workloads))),
        None => (cli.paths, None),
    };
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
                eprintln!("imds-lint: cannot read standard input: {e}");
                return 2;
            }
            inputs.push(Input::Stream {
                name: cli.stdin_filename.clone(),
                bytes,
            });
        } else {
            inputs.push(Input::Path(path));
        }
    }
    let options = LintOptions {
        inputs,
        excludes: cli.exclude,
        default_namespace: cli.default_namespace,
        targets: chosen_targets(&cli.preset, &cli.target),
        cluster: cli.cluster,
    };
    let outcome = match lint(options) {
        Ok(outcome) => outcome,
        Err(message) => {
            eprintln!("imds-lint: {message}");
            return 2;
        }
    };
    if let Some((namespace, per_workload)) = explain {
        return explain_command(
            &outcome,
            &namespace,
            per_workload,
            cli.format,
            use_color(cli.color),
        );
    }
    match cli.format {
        Format::Json => print(&report::json::render(&outcome)),
        Format::Human => print(&report::human::render(&outcome, use_color(cli.color))),
        Format::Sarif => print(&report::sarif::render(&outcome)),
        Format::Github => print(&report::github::render(&outcome)),
    }
    outcome.exit_code()
}
