//! The command line: parses arguments, runs the pipeline, prints a report. No verdicts here.

use crate::analyze::explain::{NamespaceExplanation, explain_namespace};
use crate::config::{self, Config, ConfigError};
use crate::fix::FixError;
use crate::lint::RULES;
use crate::lint::settings::FailOn;
use crate::net::{PRESETS, Target, preset_targets};
use crate::{Input, LintError, LintOptions, lint, report};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

/// What the lint prints. A new format is one more variant here and one more arm in
/// [`print_report`].
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
    /// A Markdown summary for a CI job's page: namespaces by verdict, findings per rule.
    Markdown,
    /// One line per finding: `file:line:col: RULE [cluster/namespace] message`.
    Concise,
}

/// What `explain` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Sections per pod class (or workload), with the rule behind each part.
    Human,
    /// The same as one JSON object, for other programs.
    Json,
}

/// What `rule` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleFormat {
    /// The rule's page as Markdown; without a rule, one aligned line per rule.
    Markdown,
    /// The rule (or every rule) as JSON: id, name, default severity, summary, page.
    Json,
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
    after_help = "Options may also come before a subcommand (`imds-lint --preset ecs explain payments .`); each subcommand takes only those its --help lists.\n\nExit status: 0 no failing findings, 1 findings at the --fail-on severity (error by default), 2 usage error, unreadable input or nothing linted.",
    override_usage = "imds-lint [OPTIONS] [PATH]...\n       imds-lint [OPTIONS] <COMMAND> [ARGS]...",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    lint: LintArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

/// The lint: what `imds-lint [OPTIONS] [PATH]...` takes.
#[derive(Debug, clap::Args)]
struct LintArgs {
    /// Files and directories to lint; `-` reads manifests from standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,

    #[command(flatten)]
    color: ColorArgs,

    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    targets: TargetArgs,

    /// Which findings make the exit status 1 [default: error, or the config's fail-on].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,

    /// List the findings that `imds-lint.io/ignore` annotations suppressed.
    #[arg(long)]
    show_suppressed: bool,

    /// Counts per rule and the reachable namespaces instead of each finding (human, concise).
    #[arg(long)]
    statistics: bool,
}

#[derive(Debug, clap::Args)]
struct ColorArgs {
    /// When to colour the human output (NO_COLOR is honoured with `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,
}

/// What is read and how it lands: shared by every subcommand that reads manifests.
#[derive(Debug, clap::Args)]
struct InputArgs {
    /// Skip paths matching this glob (matched against the file name and the path below each
    /// PATH); repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,

    /// Namespace of namespaced objects that set none, as `kubectl apply` would use
    /// [default: default, or the config's default-namespace].
    #[arg(long, value_name = "NAME", value_parser = namespace_name)]
    default_namespace: Option<String>,

    /// Only this cluster, as in the JSON `cluster` field: a Flux entry point's path
    /// (`clusters/prod`), an Argo CD destination (`in-cluster`), a `clusters/<name>` folder or
    /// a configured cluster; or a path naming the cluster's folder (`./clusters/prod`).
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,

    /// Name used for standard input in messages.
    #[arg(long, value_name = "NAME", default_value = "<stdin>")]
    stdin_filename: String,

    #[command(flatten)]
    config: ConfigArgs,
}

/// The metadata endpoints to check.
#[derive(Debug, clap::Args)]
struct TargetArgs {
    /// A metadata endpoint to check, `ADDR[:PORT][/PROTO]` (port 80 and TCP by default);
    /// repeatable. Replaces the default endpoints unless `--preset` is also given.
    #[arg(long, value_name = "ADDR[:PORT][/PROTO]", value_parser = Target::parse)]
    target: Vec<Target>,

    /// Check a provider's well-known endpoints; repeatable. Without --target or --preset,
    /// `aws` is checked.
    #[arg(long, value_name = "NAME", value_parser = preset_names())]
    preset: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show why a namespace's verdict is what it is: its policies and, per pod class (or per
    /// workload), the effective egress with the rule behind each part.
    Explain(ExplainArgs),
    /// Print a rule's page (what, why, examples, fix), or list the rules.
    Rule {
        /// Rule id (IMDS001) or name (metadata-reachable).
        id: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RuleFormat::Markdown)]
        format: RuleFormat,
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
struct ExplainArgs {
    /// The namespace to explain.
    namespace: String,

    /// Files and directories to read, as for linting; `-` reads standard input.
    #[arg(value_name = "PATH", default_value = ".")]
    paths: Vec<PathBuf>,

    /// One section per workload instead of per pod class.
    #[arg(long)]
    workloads: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Human)]
    format: ExplainFormat,

    #[command(flatten)]
    color: ColorArgs,

    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    targets: TargetArgs,
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

    #[command(flatten)]
    input: InputArgs,
}

/// Where the configuration comes from.
#[derive(Debug, clap::Args)]
struct ConfigArgs {
    /// Read settings from FILE instead of the first .imds-lint.yaml found from the first PATH
    /// upwards.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Ignore any .imds-lint.yaml.
    #[arg(long, conflicts_with = "config")]
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

    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    targets: TargetArgs,
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
    #[error("--statistics goes with --format human or concise")]
    StatisticsFormat,
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
    cluster_map: crate::topology::ClusterMap,
}

impl Chosen {
    fn options(self, inputs: Vec<Input>, cluster: Option<String>) -> LintOptions {
        LintOptions {
            inputs,
            excludes: self.excludes,
            default_namespace: self.default_namespace,
            targets: self.targets,
            cluster,
            cluster_map: self.cluster_map,
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
    let cluster_map = config.cluster_map();
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
        cluster_map,
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
        print_input_errors(&outcome.errors);
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

fn rule_command(id: Option<String>, format: RuleFormat) -> Result<i32, CliError> {
    let rule = match id {
        Some(id) => Some(crate::lint::find_rule(&id).ok_or(CliError::UnknownRule(id))?),
        None => None,
    };
    match (rule, format) {
        (Some(rule), RuleFormat::Markdown) => print(rule.doc),
        (Some(rule), RuleFormat::Json) => print(&report::rules::render_one(rule)),
        (None, RuleFormat::Json) => print(&report::rules::render_all(&RULES)),
        (None, RuleFormat::Markdown) => {
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
        }
    }
    Ok(0)
}

/// Prints the explanation of one namespace. Exit status: 2 when the namespace is unknown or
/// some input could not be read, else 1 when some pod there reaches a target, else 0.
fn explain_command(
    outcome: &crate::Outcome,
    namespace: &str,
    per_workload: bool,
    format: ExplainFormat,
    color: bool,
) -> Result<i32, CliError> {
    let explanation = explanation(outcome, namespace)?;
    match format {
        ExplainFormat::Json => print(&report::explain::render_json(&outcome.model, &explanation)),
        ExplainFormat::Human => print(&report::explain::render_human(
            &outcome.model,
            &explanation,
            per_workload,
            color,
        )),
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
    let cli = match Cli::try_parse_from(options_after_subcommand(std::env::args_os().collect())) {
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

/// The arguments with the options given before a subcommand moved after its name:
/// `imds-lint --preset ecs explain payments .` is read as
/// `imds-lint explain --preset ecs payments .`, so the subcommand's own parser takes each
/// option or refuses it (`--format sarif explain`, `--preset aws rule`). The subcommand is
/// the first argument that is neither an option nor an option's value; anything else there
/// is a path, and nothing moves.
pub fn options_after_subcommand(args: Vec<OsString>) -> Vec<OsString> {
    let command = Cli::command();
    let subcommands: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
    // The long options that take a value, of the lint and of every subcommand.
    let mut valued: Vec<&str> = Vec::new();
    for cmd in std::iter::once(&command).chain(command.get_subcommands()) {
        for arg in cmd.get_arguments() {
            if arg.get_action().takes_values()
                && let Some(long) = arg.get_long()
            {
                valued.push(long);
            }
        }
    }
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let Some(arg) = arg.to_str() else {
            return args;
        };
        if arg == "--" {
            return args;
        }
        if let Some(long) = arg.strip_prefix("--") {
            i += if !long.contains('=') && valued.contains(&long) {
                2
            } else {
                1
            };
            continue;
        }
        if arg.starts_with('-') && arg != "-" {
            i += 1;
            continue;
        }
        if i > 1 && subcommands.contains(&arg) {
            let mut moved = vec![args[0].clone(), args[i].clone()];
            moved.extend_from_slice(&args[1..i]);
            moved.extend_from_slice(&args[i + 1..]);
            return moved;
        }
        return args;
    }
    args
}

/// Runs the parsed command line: the exit status, or the error that stopped it.
fn run_command_line(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Some(Command::Rule { id, format }) => rule_command(id, format),
        Some(Command::Init { dir, force }) => init_command(dir, force),
        Some(Command::Render(args)) => render_command(args),
        Some(Command::Fix(args)) => {
            let linted = lint_repository(args.paths, args.input, &args.targets, None)?;
            linted.read_something()?;
            fix_command(&linted.outcome, &linted.targets, args.dry_run)
        }
        Some(Command::Explain(args)) => {
            let linted = lint_repository(args.paths, args.input, &args.targets, None)?;
            linted.read_something()?;
            explain_command(
                &linted.outcome,
                &args.namespace,
                args.workloads,
                args.format,
                use_color(args.color.color),
            )
        }
        None => {
            let args = cli.lint;
            if args.statistics && !matches!(args.format, Format::Human | Format::Concise) {
                return Err(CliError::StatisticsFormat);
            }
            let linted = lint_repository(args.paths, args.input, &args.targets, args.fail_on)?;
            let outcome = &linted.outcome;
            // The report goes out even when it is empty, so a program reading it gets its
            // format; a run that read no manifest (a mistyped path too) then says so.
            print_report(
                outcome,
                args.format,
                use_color(args.color.color),
                args.show_suppressed,
                args.statistics,
            );
            if outcome.manifests == 0 {
                return Err(CliError::NothingLinted(linted.names));
            }
            Ok(outcome.exit_code())
        }
    }
}

/// A repository read and linted, with the endpoints checked and the inputs' names.
struct Linted {
    outcome: crate::Outcome,
    targets: Vec<Target>,
    names: Vec<String>,
}

impl Linted {
    /// Stops a subcommand that needs manifests when none was read, with the inputs that could
    /// not be read (a mistyped path) on standard error first.
    fn read_something(&self) -> Result<(), CliError> {
        if self.outcome.manifests > 0 {
            return Ok(());
        }
        print_input_errors(&self.outcome.errors);
        Err(CliError::NothingLinted(self.names.clone()))
    }
}

/// `file:line:column: message` on standard error for each input that could not be read.
fn print_input_errors(errors: &[crate::source::load::LoadError]) {
    for error in errors {
        match error.pos {
            Some(p) => eprintln!("{}:{}:{}: {}", error.file, p.line, p.column, error.message),
            None => eprintln!("{}: {}", error.file, error.message),
        }
    }
}

/// Reads and lints `paths` with the options of the command line over the configuration's.
fn lint_repository(
    paths: Vec<PathBuf>,
    input: InputArgs,
    targets: &TargetArgs,
    fail_on: Option<FailOn>,
) -> Result<Linted, CliError> {
    let config = load_config(&input.config, &paths)?;
    let chosen = choose(
        config,
        input.exclude,
        input.default_namespace,
        &targets.preset,
        &targets.target,
        fail_on,
    );
    let targets = chosen.targets.clone();
    let names = input_names(&paths, &input.stdin_filename);
    let inputs = inputs(paths, &input.stdin_filename).map_err(CliError::Stdin)?;
    let outcome = crate::run(chosen.options(inputs, input.cluster))?;
    Ok(Linted {
        outcome,
        targets,
        names,
    })
}

/// Prints the objects as they land, with errors and notes on standard error. Exit status: 2
/// when some input could not be read or parsed or nothing was read, else 0.
fn render_command(args: RenderArgs) -> Result<i32, CliError> {
    let input = args.input;
    // The configuration's excludes and default namespace apply, as for the lint.
    let config = load_config(&input.config, &args.paths)?;
    let chosen = choose(
        config,
        input.exclude,
        input.default_namespace,
        &[],
        &[],
        None,
    );
    let names = input_names(&args.paths, &input.stdin_filename);
    let inputs = inputs(args.paths, &input.stdin_filename).map_err(CliError::Stdin)?;
    let rendered = crate::render(crate::RenderOptions {
        inputs,
        excludes: chosen.excludes,
        default_namespace: chosen.default_namespace,
        cluster: input.cluster,
        cluster_map: chosen.cluster_map,
        no_controllers: args.no_controllers,
    })?;
    print(&report::render::render(&rendered));
    print_input_errors(&rendered.errors);
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
    if rendered.manifests == 0 {
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

fn print_report(
    outcome: &crate::Outcome,
    format: Format,
    color: bool,
    show_suppressed: bool,
    statistics: bool,
) {
    let human = report::human::Options {
        color,
        show_suppressed,
        width: report::width(),
        statistics,
    };
    match format {
        Format::Json => {
            // Streamed: the report of a big repository is never held whole.
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            let _ = report::json::write(outcome, &mut out).and_then(|()| out.flush());
        }
        Format::Human => print(&report::human::render_with(outcome, &human)),
        Format::Concise => print(&report::concise::render(
            outcome,
            show_suppressed,
            statistics,
        )),
        Format::Sarif => print(&report::sarif::render(outcome)),
        Format::Github => print(&report::github::render(outcome)),
        Format::Markdown => print(&report::markdown::render(outcome)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moved(args: &[&str]) -> Vec<String> {
        let mut all = vec![OsString::from("imds-lint")];
        all.extend(args.iter().map(OsString::from));
        options_after_subcommand(all)
            .into_iter()
            .skip(1)
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn options_before_a_subcommand_move_after_it() {
        assert_eq!(
            moved(&["--preset", "ecs", "explain", "payments", "."]),
            ["explain", "--preset", "ecs", "payments", "."]
        );
        assert_eq!(
            moved(&["--no-config", "--exclude=x", "fix", "--dry-run"]),
            ["fix", "--no-config", "--exclude=x", "--dry-run"]
        );
        // Nothing before it, an option's value, a path first, after `--`: nothing moves.
        for args in [
            &["explain", "--format", "json", "web"][..],
            &["--default-namespace", "fix", "apps"],
            &["apps", "fix"],
            &["--", "fix"],
            &["-", "rule"],
            &["--format", "json"],
            &[],
        ] {
            assert_eq!(moved(args), args, "{args:?}");
        }
    }
}
