//! The command line: every command, its flags and examples. `warroom` alone is
//! `warroom watch`.

use crate::check::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const ABOUT: &str = "A terminal dashboard for the war room of a production cutover: polls flags, \
error rates and latencies, shows the T-15..T+60 timeline and its checklist, and makes every \
threshold breach impossible to miss.";

const EXAMPLES: &str = "\
Examples:
  warroom demo                               # simulator + dashboard, no setup
  warroom -c cutover.toml                    # the dashboard (same as `warroom watch -c ...`)
  warroom validate -c cutover.toml           # every problem with file:line:col
  warroom check -c cutover.toml              # one poll, exit 0/1/2/3
  warroom check -c cutover.toml --window 30m --interval 60s --format json
  warroom notify-test -c cutover.toml        # a test message to every [[notify]] target
  warroom sim --profile brokers --scenario error-burst --listen 127.0.0.1:5000";

#[derive(Debug, Parser)]
#[command(name = "warroom", version, about = ABOUT, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The environment: its `[env.NAME]` table laid over the config, and the name every
    /// screen, record and audit line carries (`report`/`replay`: its sessions only).
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub env: Option<String>,
    #[command(flatten)]
    pub watch: WatchArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The dashboard (the default command).
    #[command(
        after_help = "Examples:\n  warroom watch -c cutover.toml\n  warroom watch -c cutover.toml --read-only --theme high-contrast   # the wall screen\n  warroom watch -c cutover.toml --t0 2026-11-25T21:00:00Z"
    )]
    Watch(WatchArgs),
    /// Simulator + dashboard on a bundled config: no config, no network.
    #[command(
        after_help = "Examples:\n  warroom demo\n  warroom demo --scenario latency-spike\n  warroom demo --theme mono --ascii"
    )]
    Demo(DemoArgs),
    /// The simulator alone, for drills and tests.
    #[command(
        after_help = "Examples:\n  warroom sim --profile brokers\n  warroom sim --profile brokers --scenario down --listen 127.0.0.1:5000\n  warroom sim --script \"healthy:30s,error-burst:60s,healthy\"\n  curl -X POST http://CONTROL/__sim/scenario/latency-spike   # switch at run time\n  warroom sim --profile hse --standins /tmp/standins         # then: export PATH=/tmp/standins:$PATH WARROOM_SIM_CONTROL=…"
    )]
    Sim(SimArgs),
    /// Headless monitor: one poll, or a window of polls; exit 0 ok, 1 critical breach, 2 config/usage, 3 no data, 4 recording incomplete.
    #[command(
        after_help = "Examples:\n  warroom check -c cutover.toml\n  warroom check -c cutover.toml --window 30m --interval 60s\n  warroom check -c cutover.toml --window 30m --record window.jsonl\n  warroom check -c cutover.toml --format json | jq .\n\nExit codes: 0 all within thresholds, 1 a critical breach, 2 config/usage error, 3 no data (a critical signal without data, or a required source), 4 the --record file could not be written in full, 6 a run-time failure (the --log-file cannot be opened). The first that applies wins."
    )]
    Check(CheckArgs),
    /// The evidence report of a recorded session (Markdown or JSON).
    #[command(
        after_help = "Examples:\n  warroom report session.jsonl > docs/cutover-checklist-final.md\n  warroom report session.jsonl --into docs/cutover-checklist-final.md   # only between its markers\n  warroom report ~/.local/state/warroom/brokers-v1/production/sessions/   # every session, gaps named\n  warroom report session.jsonl --format json | jq .verdict\n  warroom report session.jsonl --session 3f9c2a81   # one session of several"
    )]
    Report(ReportArgs),
    /// The dashboard, replaying a recording (read-only): Space pauses, ← → seek 10 s, Shift 60 s.
    #[command(
        after_help = "Examples:\n  warroom replay session.jsonl\n  warroom replay session.jsonl --speed 10\n  warroom replay session.jsonl --session 3f9c2a81"
    )]
    Replay(ReplayArgs),
    /// Print a complete, commented starter config for one of the seed systems.
    #[command(
        after_help = "Examples:\n  warroom init --list\n  warroom init --preset brokers > cutover.toml\n  WARROOM_URL=http://localhost:5000 ADMIN_TOKEN=... warroom check -c <(warroom init --preset brokers)"
    )]
    Init(InitArgs),
    /// Send a test message to every `[[notify]]` target and print how each went.
    #[command(
        name = "notify-test",
        after_help = "Examples:\n  SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... warroom notify-test -c cutover.toml\n\nExit codes: 0 every target answered, 1 one or more failed, 2 config/usage error."
    )]
    NotifyTest(NotifyTestArgs),
    /// Check a config: every problem with file:line:col and what to write instead.
    #[command(
        after_help = "Examples:\n  warroom validate -c cutover.toml\n  warroom validate -c cutover.toml --env staging --print   # the effective config, redacted\n\nExit codes: 0 valid, 2 problems found."
    )]
    Validate(ValidateArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  warroom completions bash > ~/.local/share/bash-completion/completions/warroom\n  warroom completions zsh > ~/.zfunc/_warroom\n  warroom completions fish > ~/.config/fish/completions/warroom.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    #[command(
        after_help = "Examples:\n  warroom man | man -l -\n  warroom man > /usr/local/share/man/man1/warroom.1"
    )]
    Man,
    /// Print a JSON Schema of the config, for TOML editors (taplo, Even Better TOML).
    #[command(
        after_help = "Examples:\n  warroom schema > warroom.schema.json\n  # then, first line of cutover.toml:  #:schema ./warroom.schema.json"
    )]
    Schema,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

/// Options every dashboard command shares.
#[derive(Debug, Args, Clone, Default)]
pub struct UiArgs {
    /// Theme name (default, light, high-contrast, mono) or a path to a theme TOML.
    #[arg(long, value_name = "NAME|PATH")]
    pub theme: Option<String>,
    /// No actions, ticks, sign-offs or T0 marks (the wall screen).
    #[arg(long)]
    pub read_only: bool,
    /// ASCII glyphs only, for terminals without box drawing.
    #[arg(long)]
    pub ascii: bool,
    /// No colour (also the NO_COLOR convention).
    #[arg(long)]
    pub no_color: bool,
    /// T0 as RFC 3339 (2026-11-25T21:00:00Z) or `now`; overrides the config.
    #[arg(long, value_name = "RFC3339|now")]
    pub t0: Option<String>,
    /// Write logs here (filter with WARROOM_LOG, e.g. `warroom=debug`). Never to the screen.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// The shared audit log (JSON lines); default: $XDG_STATE_HOME/warroom/<cutover>/audit.jsonl.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Record every sample, event and act to this file (JSON lines) for `report` and
    /// `replay`; without FILE, a new file for this session in the cutover's state directory.
    #[arg(long, value_name = "FILE")]
    pub record: Option<Option<PathBuf>>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct WatchArgs {
    /// The cutover config (TOML).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub ui: UiArgs,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Scenario to run instead of the demo's walk (healthy, then a breach).
    #[arg(long)]
    pub scenario: Option<String>,
    /// Simulator profile.
    #[arg(long, default_value = "brokers")]
    pub profile: String,
    #[command(flatten)]
    pub ui: UiArgs,
}

#[derive(Debug, Args, Clone)]
pub struct SimArgs {
    #[arg(long, default_value = "brokers")]
    pub profile: String,
    #[arg(long, default_value = "healthy")]
    pub scenario: String,
    /// Address for the simulated API.
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub listen: String,
    /// Address for the control API (always up, even in `down`); default: an ephemeral port.
    #[arg(long)]
    pub control: Option<String>,
    /// Scenarios in order, the last one holds: "healthy:30s,error-burst:60s,healthy".
    #[arg(long)]
    pub script: Option<String>,
    /// Bearer token the admin endpoints require (default: $ADMIN_TOKEN if set).
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// How long `slow` waits before answering.
    #[arg(long, default_value = "30s")]
    pub slow_delay: String,
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Where the simulated backend keeps its `.env` (edn360); default: a private temporary
    /// directory, removed on exit.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Link the stand-in CLIs (aws, docker, mongosh, supervisorctl, sudo) into DIR for a
    /// drill by hand: put DIR first on PATH and export the WARROOM_SIM_CONTROL printed.
    #[arg(long, value_name = "DIR")]
    pub standins: Option<PathBuf>,
    /// DD-API-KEY the simulated Datadog accepts (default: $DD_API_KEY; unset: any).
    #[arg(long, env = "DD_API_KEY", hide_env_values = true)]
    pub dd_api_key: Option<String>,
    /// DD-APPLICATION-KEY the simulated Datadog accepts (default: $DD_APP_KEY; unset: any).
    #[arg(long, env = "DD_APP_KEY", hide_env_values = true)]
    pub dd_app_key: Option<String>,
    /// API-Key the simulated NerdGraph accepts (default: $NEW_RELIC_API_KEY; unset: any).
    #[arg(long, env = "NEW_RELIC_API_KEY", hide_env_values = true)]
    pub new_relic_api_key: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// Poll for this long with the full trip/clear rules (e.g. 30m); without it, one poll.
    #[arg(long)]
    pub window: Option<String>,
    /// In a window: every source polls at this pace (each on its own timer) and a line is
    /// printed at it. Default: each source's own `interval`.
    #[arg(long)]
    pub interval: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Record every poll and event to this file (JSON lines), for `warroom report`;
    /// appended as a new session when the file exists. Exit 4 if it cannot be written in full.
    /// Without FILE, a new file for this session in the cutover's state directory.
    #[arg(long, value_name = "FILE")]
    pub record: Option<Option<PathBuf>>,
    /// With --window: announce what opens and ends to the config's `[[notify]]` targets, as
    /// a screen would (claimed in the audit log, so a screen sharing it never sends the same
    /// twice).
    #[arg(long)]
    pub notify: bool,
    /// With --notify: the shared audit log; default: the screens' default for this cutover.
    #[arg(long, value_name = "FILE", requires = "notify")]
    pub audit_log: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct NotifyTestArgs {
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Recordings made with --record, or directories of them (a cutover's `sessions/`):
    /// every session merged into one report on one timeline, the stretches none watched in place.
    #[arg(required = true, num_args = 1.., value_name = "FILE|DIR")]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// Report only this session (the file may hold several: `--record` appends).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Write the report into this Markdown file, between `<!-- warroom:begin … -->` and
    /// `<!-- warroom:end -->` (added at its end the first time); the rest is kept as is.
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub into: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ReplayArgs {
    /// A recording made with --record.
    pub file: PathBuf,
    /// Playback speed (1 = real time).
    #[arg(long, default_value = "1")]
    pub speed: f64,
    /// Replay this session (default: the last one in the file).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    #[command(flatten)]
    pub ui: UiArgs,
}

#[derive(Debug, Args, Clone)]
pub struct InitArgs {
    /// brokers, cohortlens, edn360 or hse.
    #[arg(long, required_unless_present = "list")]
    pub preset: Option<String>,
    /// List the presets, one line each.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,
    /// Print the effective config (with `--env`, its overlay applied), secrets redacted.
    #[arg(long)]
    pub print: bool,
}
