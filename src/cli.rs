//! The command line: parses arguments, runs the pipeline, prints a report. No verdicts here.

use crate::analyze::explain::{NamespaceExplanation, explain_namespace};
use crate::config::{self, Config, ConfigError};
use crate::fix::FixError;
use crate::lint::RULES;
use crate::lint::settings::FailOn;
use crate::net::{PRESETS, Target, preset_targets};
use crate::{Input, LintError, LintOptions, lint, report};
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
    after_help = "Exit status: 0 no failing findings, 1 findings at the --fail-on severity (error by default), 2 usage error or unreadable input.",
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

    /// Namespace of namespaced objects that set none, as `kubectl apply` would use
    /// [default: default, or the config's default-namespace].
    #[arg(long, value_name = "NAME", value_parser = namespace_name, global = true)]
    default_namespace: Option<String>,

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

    #[command(flatten)]
    config: ConfigArgs,

    /// Which findings make the exit status 1 [default: error, or the config's fail-on].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,

    /// List the findings that `imds-lint.io/ignore` annotations suppressed.
    #[arg(long)]
    show_suppressed: bool,

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
    /// Write a commented default .imds-lint.yaml into DIR (default: the current folder).
    Init {
        /// Folder to write the file into.
        dir: Option<PathBuf>,
        /// Overwrite an existing configuration file.
        #[arg(long)]
        force: bool,
    },
    /// Add the missing deny-egress-all / allow-egress-all-except-metadata policies.
    Fix(FixArgs),
    /// Print the objects as imds-lint sees them after kustomize and the GitOps controllers,
    /// as multi-document YAML, each headed by comments naming its cluster, source file:line,
    /// the kustomize build that applies it and what changed it.
    Render(RenderArgs),
}

#[derive(Debug, clap::Args)]
struct RenderArgs {
    /// Files and directories to read, as for linting; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,

    /// Leave Flux Kustomizations and Argo CD Applications unapplied: every kustomization that
    /// no other includes is built on its own, as `kubectl kustomize DIR` builds it.
    #[arg(long)]
    no_controllers: bool,
}

/// Where the configuration comes from.
#[derive(Debug, clap::Args)]
struct ConfigArgs {
    /// Read settings from FILE instead of the first .imds-lint.yaml found from the first PATH
    /// upwards.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,

    /// Ignore any .imds-lint.yaml.
    #[arg(long, conflicts_with = "config", global = true)]
    no_config: bool,
}

#[derive(Debug, clap::Args)]
struct FixArgs {
    /// Files and directories of the repository to fix.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,

    /// Print a unified diff of what would be written; write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// What to do with the linted repository.
enum Mode {
    Lint,
    Explain {
        namespace: String,
        per_workload: bool,
    },
    Fix {
        dry_run: bool,
    },
}

/// What stops a command: printed as `imds-lint: {error}`, with exit status 2.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read standard input: {0}")]
    Stdin(std::io::Error),
    #[error(transparent)]
    Lint(#[from] LintError),
    #[error(transparent)]
    Fix(#[from] FixError),
    #[error("no rule {0:?}; `imds-lint rule` lists them")]
    UnknownRule(String),
    #[error("{} already exists; pass --force to overwrite it", .0.display())]
    ConfigExists(PathBuf),
    #[error("cannot write {}: {source}", .path.display())]
    CannotWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "namespace {namespace:?} is in several clusters ({}); choose one with --cluster",
        .clusters.join(", ")
    )]
    SeveralClusters {
        namespace: String,
        clusters: Vec<String>,
    },
    #[error(
        "no namespace {namespace:?} in these manifests; known: {}",
        if .known.is_empty() { "none".to_string() } else { .known.join(", ") }
    )]
    UnknownNamespace {
        namespace: String,
        known: Vec<String>,
    },
    #[error("no manifests found under {}", .0.join(", "))]
    NothingLinted(Vec<String>),
    #[error("explain prints --format human or json only")]
    ExplainFormat,
}

/// The configuration to use: `--config`, else the first file found from the first PATH up.
fn load_config(args: &ConfigArgs, paths: &[PathBuf]) -> Result<Option<Config>, ConfigError> {
    if args.no_config {
        return Ok(None);
    }
    let path = match &args.config {
        Some(path) => path.clone(),
        None => match paths.first().and_then(|p| config::find(p)) {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let display = crate::source::discover::display_path(
        &crate::source::discover::normalize(&cwd.join(&path)),
        &cwd,
    );
    Config::load(&path, &display).map(Some)
}

/// The options shared by linting and fixing: the command line over the configuration file.
struct Chosen {
    excludes: Vec<String>,
    default_namespace: String,
    targets: Vec<Target>,
    settings: lint::settings::Settings,
}

impl Chosen {
    fn options(self, inputs: Vec<Input>, cluster: Option<String>) -> LintOptions {
        LintOptions {
            inputs,
            excludes: self.excludes,
            default_namespace: self.default_namespace,
            targets: self.targets,
            cluster,
            settings: self.settings,
        }
    }
}

/// A `--default-namespace` the API server would accept: a DNS-1123 label.
fn namespace_name(text: &str) -> Result<String, String> {
    match crate::decode::names::namespace_problem(text) {
        Some(problem) => Err(problem),
        None => Ok(text.to_string()),
    }
}

fn choose(
    config: Option<Config>,
    excludes: Vec<String>,
    default_namespace: Option<String>,
    presets: &[String],
    targets: &[Target],
    fail_on: Option<FailOn>,
) -> Chosen {
    let config = config.unwrap_or_default();
    let mut all_excludes = config.excludes();
    all_excludes.extend(excludes);
    // Targets or presets on the command line replace the configuration's.
    let targets = if presets.is_empty() && targets.is_empty() {
        chosen_targets(&config.presets, &config.targets)
    } else {
        chosen_targets(presets, targets)
    };
    let mut settings = config.settings;
    if let Some(fail_on) = fail_on {
        settings.fail_on = fail_on;
    }
    Chosen {
        excludes: all_excludes,
        default_namespace: default_namespace
            .or(config.default_namespace)
            .unwrap_or_else(|| "default".into()),
        targets,
        settings,
    }
}

fn init_command(dir: Option<PathBuf>, force: bool) -> Result<i32, CliError> {
    // Without DIR the file is named as the user would write it, without `./`.
    let dir = dir.unwrap_or_default();
    let path = dir.join(config::CONFIG_NAMES[0]);
    if !force
        && let Some(existing) = config::CONFIG_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.exists())
    {
        return Err(CliError::ConfigExists(existing));
    }
    std::fs::write(&path, config::default_file()).map_err(|source| CliError::CannotWrite {
        path: path.clone(),
        source,
    })?;
    print(&format!("wrote {}\n", path.display()));
    Ok(0)
}

fn fix_command(
    outcome: &crate::Outcome,
    targets: &[Target],
    dry_run: bool,
) -> Result<i32, CliError> {
    if !outcome.errors.is_empty() {
        for error in &outcome.errors {
            match error.pos {
                Some(p) => eprintln!("{}:{}:{}: {}", error.file, p.line, p.column, error.message),
                None => eprintln!("{}: {}", error.file, error.message),
            }
        }
        eprintln!(
            "imds-lint: not fixing: {} could not be read or parsed, and a policy there could change what is missing",
            if outcome.errors.len() == 1 {
                "1 input".to_string()
            } else {
                format!("{} inputs", outcome.errors.len())
            }
        );
        return Ok(2);
    }
    let plan = crate::fix::plan(outcome, targets, &crate::fix::RealDisk);
    if dry_run {
        // Standard output is only the diff, so it can go to `git apply`; notes go aside.
        print(&plan.diff());
        eprint!("{}", plan.notes());
        return Ok(0);
    }
    print(&plan.apply()?);
    print(&plan.notes());
    Ok(0)
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

fn rule_command(id: Option<String>) -> Result<i32, CliError> {
    match id {
        None => {
            // Columns as wide as their longest entry, two spaces apart.
            let name = RULES.iter().map(|r| r.name.len()).max().unwrap_or(0);
            let severity = RULES
                .iter()
                .map(|r| r.severity.to_string().len())
                .max()
                .unwrap_or(0);
            let mut text = String::new();
            for rule in RULES {
                text.push_str(&format!(
                    "{}  {:<name$}  {:<severity$}  {}\n",
                    rule.id, rule.name, rule.severity, rule.summary
                ));
            }
            print(&text);
            Ok(0)
        }
        Some(id) => {
            let rule = crate::lint::find_rule(&id).ok_or(CliError::UnknownRule(id))?;
            print(rule.doc);
            Ok(0)
        }
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
) -> Result<i32, CliError> {
    let explanation = explanation(outcome, namespace)?;
    match format {
        Format::Json => print(&report::explain::render_json(&outcome.model, &explanation)),
        Format::Human => print(&report::explain::render_human(
            &outcome.model,
            &explanation,
            per_workload,
            color,
        )),
        Format::Sarif | Format::Github => return Err(CliError::ExplainFormat),
    }
    for error in &outcome.errors {
        eprintln!("imds-lint: {}: {} (not read)", error.file, error.message);
    }
    Ok(if !outcome.errors.is_empty() {
        2
    } else if explanation.reachable.is_empty() {
        0
    } else {
        1
    })
}

/// The explanation of the one namespace named `namespace`.
fn explanation(
    outcome: &crate::Outcome,
    namespace: &str,
) -> Result<NamespaceExplanation, CliError> {
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
            return Err(CliError::SeveralClusters {
                namespace: namespace.to_string(),
                clusters: several
                    .iter()
                    .map(|c| c.unwrap_or("(none)").to_string())
                    .collect(),
            });
        }
    };
    explanation.ok_or_else(|| {
        let mut known: Vec<String> = outcome
            .model
            .namespaces
            .keys()
            .map(|k| k.name.clone())
            .collect();
        known.sort_unstable();
        known.dedup();
        CliError::UnknownNamespace {
            namespace: namespace.to_string(),
            known,
        }
    })
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
    run_command_line(cli).unwrap_or_else(|e| {
        // One message a line (a configuration file's mistakes are listed all at once).
        for line in e.to_string().lines() {
            eprintln!("imds-lint: {line}");
        }
        2
    })
}

/// Runs the parsed command line: the exit status, or the error that stopped it.
fn run_command_line(cli: Cli) -> Result<i32, CliError> {
    let (paths, mode) = match cli.command {
        Some(Command::Rule { id }) => return rule_command(id),
        Some(Command::Init { dir, force }) => return init_command(dir, force),
        Some(Command::Render(args)) => {
            return render_command(
                args,
                cli.exclude,
                cli.default_namespace,
                cli.cluster,
                &cli.config,
                &cli.stdin_filename,
            );
        }
        Some(Command::Fix(args)) => (
            args.paths,
            Mode::Fix {
                dry_run: args.dry_run,
            },
        ),
        Some(Command::Explain {
            namespace,
            paths,
            workloads,
        }) => (
            paths,
            Mode::Explain {
                namespace,
                per_workload: workloads,
            },
        ),
        None => (cli.paths, Mode::Lint),
    };
    let config = load_config(&cli.config, &paths)?;
    let chosen = choose(
        config,
        cli.exclude,
        cli.default_namespace,
        &cli.preset,
        &cli.target,
        cli.fail_on,
    );
    let targets = chosen.targets.clone();
    let nothing_linted = CliError::NothingLinted(input_names(&paths, &cli.stdin_filename));
    let inputs = inputs(paths, &cli.stdin_filename).map_err(CliError::Stdin)?;
    let outcome = crate::run(chosen.options(inputs, cli.cluster))?;
    let color = use_color(cli.color);
    if outcome.nothing_linted() {
        // The (empty) report still goes out, so a program reading it gets its format.
        if let Mode::Lint = mode {
            print_report(&outcome, cli.format, color, cli.show_suppressed);
        }
        return Err(nothing_linted);
    }
    match mode {
        Mode::Lint => {
            print_report(&outcome, cli.format, color, cli.show_suppressed);
            Ok(outcome.exit_code())
        }
        Mode::Explain {
            namespace,
            per_workload,
        } => explain_command(&outcome, &namespace, per_workload, cli.format, color),
        Mode::Fix { dry_run } => fix_command(&outcome, &targets, dry_run),
    }
}

/// Prints the objects as they land, with errors and notes on standard error. Exit status: 2
/// when some input could not be read or parsed or nothing was read, else 0.
fn render_command(
    args: RenderArgs,
    excludes: Vec<String>,
    default_namespace: Option<String>,
    cluster: Option<String>,
    config_args: &ConfigArgs,
    stdin_name: &str,
) -> Result<i32, CliError> {
    // The configuration's excludes and default namespace apply, as for the lint.
    let config = load_config(config_args, &args.paths)?;
    let chosen = choose(config, excludes, default_namespace, &[], &[], None);
    let names = input_names(&args.paths, stdin_name);
    let inputs = inputs(args.paths, stdin_name).map_err(CliError::Stdin)?;
    let rendered = crate::render(crate::RenderOptions {
        inputs,
        excludes: chosen.excludes,
        default_namespace: chosen.default_namespace,
        cluster,
        no_controllers: args.no_controllers,
    })?;
    print(&report::render::render(&rendered));
    for error in &rendered.errors {
        match error.pos {
            Some(p) => eprintln!("{}:{}:{}: {}", error.file, p.line, p.column, error.message),
            None => eprintln!("{}: {}", error.file, error.message),
        }
    }
    for note in &rendered.notes {
        eprintln!("imds-lint: note: {note}");
    }
    for skipped in &rendered.skipped {
        eprintln!(
            "imds-lint: skipped {}: {}",
            skipped.path,
            skipped.reason.describe()
        );
    }
    if rendered.nothing_linted() {
        return Err(CliError::NothingLinted(names));
    }
    Ok(rendered.exit_code())
}

/// The inputs as named in messages: `-` is standard input's name.
fn input_names(paths: &[PathBuf], stdin_name: &str) -> Vec<String> {
    paths
        .iter()
        .map(|p| match p.to_string_lossy() {
            name if name == "-" => stdin_name.to_string(),
            name => name.into_owned(),
        })
        .collect()
}

/// The inputs named by `paths`, where `-` is standard input (read now, named `stdin_name`).
fn inputs(paths: Vec<PathBuf>, stdin_name: &str) -> std::io::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes)?;
            inputs.push(Input::Stream {
                name: stdin_name.to_string(),
                bytes,
            });
        } else {
            inputs.push(Input::Path(path));
        }
    }
    Ok(inputs)
}

fn print_report(outcome: &crate::Outcome, format: Format, color: bool, show_suppressed: bool) {
    match format {
        Format::Json => print(&report::json::render(outcome)),
        Format::Human => print(&report::human::render_with(outcome, color, show_suppressed)),
        Format::Sarif => print(&report::sarif::render(outcome)),
        Format::Github => print(&report::github::render(outcome)),
    }
}
