//! The cutover description: one TOML file per cutover.
//!
//! One module per table, each with its type, its key schema and its own checks:
//!
//! | module    | tables                                                        |
//! |-----------|---------------------------------------------------------------|
//! | `cutover` | `[cutover]`, `[cutover.rollback_when]`, `[[cutover.phase_rule]]` |
//! | `source`  | `[[source]]`                                                  |
//! | `signal`  | `[[signal]]`, `[signal.advice]`                               |
//! | `step`    | `[[step]]`                                                    |
//! | `action`  | `[[action]]` and its `request`, `command`, `verify`           |
//! | `ui`      | `[ui]`                                                        |
//! | `notify`  | `[[notify]]`                                                  |
//! | `keys`    | `[keys]`, and the check of every key binding                  |
//! | `env`     | `[env.NAME]`: the overlay of one environment over the rest    |
//!
//! Around them: `schema` (key shapes, the top level, "did you mean"), `validate` (runs
//! every table's checks, then those across tables: duplicate ids, references by id),
//! `http` (the URL, header and token checks sources and requests share), `duration`
//! (the `Dur` and `Offset` value types). Reading a file: `read` (bounded input), `load`
//! (parse, key check, typed pass, semantic checks), `expand` (`${VAR}` and the secrets
//! it brings in), `locate` (key paths to lines and columns), `report` (`warroom
//! validate`).

pub mod action;
pub mod cutover;
pub mod duration;
mod env;
mod expand;
mod http;
pub mod keys;
pub mod load;
mod locate;
pub mod notify;
pub mod read;
pub mod report;
pub mod schema;
pub mod signal;
pub mod source;
pub mod step;
pub mod ui;
pub mod validate;

pub use action::{ActionCfg, Capture, CommandCfg, RequestCfg, VerifyCfg, VerifyCond};
pub use cutover::{Cutover, PhaseRule, RollbackWhen, DEFAULT_ENVIRONMENT};
pub use duration::{Dur, Offset};
pub use keys::KeyList;
pub use load::{
    load_file, load_file_in, load_str, load_str_in, load_str_with_env, ConfigError, Problem,
};
pub use notify::{MinSeverity, NotifyCfg, NotifyKind, NotifyOn};
pub use read::read_config;
pub use report::{run_validate, validate_text};
pub use signal::{Advice, JudgeOn, NoDataPolicy, Signal, SignalKind};
pub use source::{Method, Parse, Source, SourceKind};
pub use step::{Hold, Step};
pub use ui::Ui;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub cutover: Cutover,
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
    #[serde(default, rename = "signal")]
    pub signals: Vec<Signal>,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
    #[serde(default, rename = "action")]
    pub actions: Vec<ActionCfg>,
    #[serde(default)]
    pub ui: Ui,
    /// `[[notify]]`: Alertmanager, Slack, PagerDuty and webhook targets.
    #[serde(default, rename = "notify", skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<NotifyCfg>,
    /// `[keys]`: the built-in keys rebound, by name (`tick = ["Space", "x"]`); the key
    /// map in `app::keys` reads it, with `rollback_key` and each action's `key`.
    #[serde(default)]
    pub keys: BTreeMap<String, KeyList>,
    /// What the loader put in from the environment that must never be shown (see
    /// `load`): not part of the file's format, never written out.
    #[serde(skip)]
    pub secrets: Vec<crate::secrets::Secret>,
}
