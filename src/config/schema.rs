//! The keys each config table accepts, for "unknown key" and "did you mean" with a
//! location for every mistake (serde stops at the first). Each table's schema sits beside
//! its type in the table's module; here are the shapes, the top level and the list of
//! all of them. A test below proves these lists equal what serde accepts, so they cannot
//! drift from the types.

pub use super::action::{ACTION, CAPTURE, COMMAND, REQUEST, REQUIRES, VERIFY, VERIFY_COND};
pub use super::cutover::{CUTOVER, PHASE_RULE, ROLLBACK_WHEN};
pub use super::notify::NOTIFY;
pub use super::signal::{ADVICE, JUDGE_ON, NO_DATA, SIGNAL, SIGNAL_KINDS};
pub use super::source::{SOURCE, SOURCE_KINDS};
pub use super::step::{HOLD, STEP};
pub use super::ui::UI;

/// One step of a location inside the document: `["signal", 2, "warn"]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(s: &str) -> Self {
        Seg::Key(s.to_string())
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// Builds a path: `kp!["signal", 2, "warn"]`.
macro_rules! kp {
    ($($s:expr),* $(,)?) => { vec![$($crate::config::schema::Seg::from($s)),*] };
}
pub(crate) use kp;

/// What a key holds, as far as the key check cares.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Any value; serde checks its type.
    Any,
    /// A string naming one of these variants.
    Enum(&'static [&'static str]),
    Table(&'static TableSchema),
    /// `[[name]]`: an array of tables.
    Tables(&'static TableSchema),
    /// A table with free keys (e.g. `headers`).
    Map,
    /// A command's argv: a list of strings. A single string (a shell command line) is
    /// reported with the list to write instead.
    Argv,
}

#[derive(Debug)]
pub struct TableSchema {
    /// How messages name the table: `[[source]]`.
    pub name: &'static str,
    pub keys: &'static [(&'static str, Shape)],
    /// Keys without a default; a wrong value there cannot be dropped to go on checking.
    pub required: &'static [&'static str],
}

impl TableSchema {
    pub fn get(&self, key: &str) -> Option<Shape> {
        self.keys.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }
    pub fn key_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.keys.iter().map(|(k, _)| *k)
    }
}

pub static ROOT: TableSchema = TableSchema {
    name: "the top level",
    keys: &[
        ("cutover", Shape::Table(&CUTOVER)),
        ("source", Shape::Tables(&SOURCE)),
        ("signal", Shape::Tables(&SIGNAL)),
        ("step", Shape::Tables(&STEP)),
        ("action", Shape::Tables(&ACTION)),
        ("ui", Shape::Table(&UI)),
        ("notify", Shape::Tables(&NOTIFY)),
        // Names are checked against the key map's built-ins by `validate`.
        ("keys", Shape::Map),
    ],
    required: &["cutover"],
};

/// Every table, for "`interval` belongs in [[source]]".
pub static ALL: &[&TableSchema] = &[
    &ROOT,
    &CUTOVER,
    &PHASE_RULE,
    &ROLLBACK_WHEN,
    &SOURCE,
    &SIGNAL,
    &ADVICE,
    &STEP,
    &HOLD,
    &ACTION,
    &REQUEST,
    &COMMAND,
    &CAPTURE,
    &VERIFY,
    &VERIFY_COND,
    &REQUIRES,
    &UI,
    &NOTIFY,
];

/// The schema of the table at `path` (array indices skipped), if it is one.
pub fn table_at(path: &[Seg]) -> Option<&'static TableSchema> {
    let mut t: &'static TableSchema = &ROOT;
    for seg in path {
        if let Seg::Key(k) = seg {
            t = match t.get(k)? {
                Shape::Table(s) | Shape::Tables(s) => s,
                _ => return None,
            };
        }
    }
    Some(t)
}

/// The closest candidate to a misspelt word, if one is close enough to be a useful hint.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|c| {
            let d = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
            let jw = strsim::jaro_winkler(&lower, &c.to_lowercase());
            // Short words need a small edit distance; longer ones may share a long prefix.
            let close = d <= 2.min(c.len().saturating_sub(1)).max(1) || jw >= 0.88;
            close.then_some((d, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        ActionCfg, Advice, CommandCfg, Config, Cutover, JudgeOn, NoDataPolicy, NotifyCfg,
        RequestCfg, RollbackWhen, Signal, SignalKind, Source, SourceKind, Step, Ui, VerifyCfg,
        VerifyCond,
    };
    use serde::de::DeserializeOwned;
    use std::collections::BTreeSet;

    /// The names in serde's "expected one of `a`, `b`" for an unknown key or variant.
    fn serde_expected<T: DeserializeOwned + std::fmt::Debug>(toml_text: &str) -> BTreeSet<String> {
        let err = toml::from_str::<T>(toml_text).expect_err("bogus input must fail");
        let msg = err.message().to_string();
        let list = msg
            .split_once("expected one of ")
            .or_else(|| msg.split_once("expected "))
            .map(|(_, l)| l.to_string())
            .unwrap_or_else(|| panic!("no expected list in {msg:?}"));
        // serde writes "`a`", "`a` or `b`" or "one of `a`, `b`": take the quoted names.
        list.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn keys(t: &TableSchema) -> BTreeSet<String> {
        t.key_names().map(str::to_string).collect()
    }

    #[test]
    fn key_lists_match_serde() {
        let bogus = "zz_not_a_key = 1\n";
        assert_eq!(serde_expected::<Config>(bogus), keys(&ROOT));
        assert_eq!(serde_expected::<Cutover>(bogus), keys(&CUTOVER));
        assert_eq!(serde_expected::<RollbackWhen>(bogus), keys(&ROLLBACK_WHEN));
        assert_eq!(serde_expected::<Source>(bogus), keys(&SOURCE));
        assert_eq!(serde_expected::<Signal>(bogus), keys(&SIGNAL));
        assert_eq!(serde_expected::<Advice>(bogus), keys(&ADVICE));
        assert_eq!(serde_expected::<Step>(bogus), keys(&STEP));
        assert_eq!(
            serde_expected::<crate::config::step::Hold>(bogus),
            keys(&HOLD)
        );
        assert_eq!(serde_expected::<Ui>(bogus), keys(&UI));
        assert_eq!(serde_expected::<NotifyCfg>(bogus), keys(&NOTIFY));
        assert_eq!(serde_expected::<ActionCfg>(bogus), keys(&ACTION));
        assert_eq!(serde_expected::<RequestCfg>(bogus), keys(&REQUEST));
        assert_eq!(serde_expected::<CommandCfg>(bogus), keys(&COMMAND));
        assert_eq!(
            serde_expected::<crate::config::Capture>(bogus),
            keys(&CAPTURE)
        );
        assert_eq!(serde_expected::<VerifyCfg>(bogus), keys(&VERIFY));
        assert_eq!(serde_expected::<VerifyCond>(bogus), keys(&VERIFY_COND));
        assert_eq!(
            serde_expected::<crate::config::action::Requires>(bogus),
            keys(&REQUIRES)
        );
    }

    /// Every table is reachable from the root by its key names, and listed in `ALL`.
    #[test]
    fn action_tables_are_reachable() {
        let t = |p: Vec<Seg>| table_at(&p).map(|t| t.name);
        assert_eq!(t(kp!["action", 0]), Some("[[action]]"));
        assert_eq!(t(kp!["action", 0, "request"]), Some("[action.request]"));
        assert_eq!(t(kp!["action", 0, "command"]), Some("[action.command]"));
        assert_eq!(t(kp!["action", 0, "verify"]), Some("[action.verify]"));
        assert_eq!(
            t(kp!["action", 0, "verify", "all", 1]),
            Some("[[action.verify.all]]")
        );
        for s in [&ACTION, &REQUEST, &COMMAND, &VERIFY, &VERIFY_COND] {
            assert!(ALL.iter().any(|a| std::ptr::eq(*a, s)), "{}", s.name);
        }
        assert_eq!(did_you_mean("methd", keys_of(&REQUEST)), Some("method"));
        assert_eq!(did_you_mean("args", keys_of(&COMMAND)), Some("argv"));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct E<T> {
        v: T,
    }

    #[test]
    fn variant_lists_match_serde() {
        let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let bogus = "v = \"zz_not_a_variant\"\n";
        assert_eq!(serde_expected::<E<SourceKind>>(bogus), set(SOURCE_KINDS));
        assert_eq!(serde_expected::<E<SignalKind>>(bogus), set(SIGNAL_KINDS));
        assert_eq!(serde_expected::<E<NoDataPolicy>>(bogus), set(NO_DATA));
        assert_eq!(serde_expected::<E<JudgeOn>>(bogus), set(JUDGE_ON));
        use crate::config::source::{Method, Parse, METHODS, PARSES};
        assert_eq!(serde_expected::<E<Method>>(bogus), set(METHODS));
        assert_eq!(serde_expected::<E<Parse>>(bogus), set(PARSES));
        use crate::config::notify::{MinSeverity, NotifyKind, NotifyOn};
        use crate::config::notify::{NOTIFY_EVENTS, NOTIFY_KINDS, SEVERITIES};
        assert_eq!(serde_expected::<E<NotifyKind>>(bogus), set(NOTIFY_KINDS));
        assert_eq!(serde_expected::<E<NotifyOn>>(bogus), set(NOTIFY_EVENTS));
        assert_eq!(serde_expected::<E<MinSeverity>>(bogus), set(SEVERITIES));
        for e in NotifyOn::ALL {
            assert_eq!(serde_json::to_value(e).unwrap(), e.word());
        }
    }

    /// The required lists are exact: a table with just them loads, and without any one
    /// of them serde reports that key missing.
    #[test]
    fn required_lists_match_serde() {
        fn check<T: DeserializeOwned + std::fmt::Debug>(t: &TableSchema, lines: &[(&str, &str)]) {
            let listed: BTreeSet<&str> = lines.iter().map(|(k, _)| *k).collect();
            assert_eq!(listed, t.required.iter().copied().collect(), "{}", t.name);
            let text = |skip: Option<&str>| -> String {
                lines
                    .iter()
                    .filter(|(k, _)| Some(*k) != skip)
                    .map(|(k, v)| format!("{k} = {v}\n"))
                    .collect()
            };
            toml::from_str::<T>(&text(None)).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            for (k, _) in lines {
                let err = toml::from_str::<T>(&text(Some(k))).expect_err(k);
                assert_eq!(err.message(), format!("missing field `{k}`"), "{}", t.name);
            }
        }
        check::<Cutover>(&CUTOVER, &[("name", "\"x\"")]);
        check::<Source>(&SOURCE, &[("id", "\"a\""), ("kind", "\"http\"")]);
        check::<Signal>(
            &SIGNAL,
            &[("id", "\"s\""), ("source", "\"a\""), ("kind", "\"metric\"")],
        );
        check::<Step>(&STEP, &[("at", "\"0\""), ("title", "\"t\"")]);
        check::<crate::config::step::Hold>(
            &HOLD,
            &[("signal", "\"s\""), ("is", "\"< 1\""), ("for", "\"7d\"")],
        );
        check::<RollbackWhen>(&ROLLBACK_WHEN, &[]);
        check::<Advice>(&ADVICE, &[]);
        check::<Ui>(&UI, &[]);
        check::<NotifyCfg>(&NOTIFY, &[("kind", "\"slack\"")]);
        check::<ActionCfg>(
            &ACTION,
            &[("id", "\"a\""), ("key", "\"r\""), ("label", "\"l\"")],
        );
        check::<RequestCfg>(&REQUEST, &[("url", "\"http://x\"")]);
        check::<CommandCfg>(&COMMAND, &[("argv", "[\"true\"]")]);
        check::<crate::config::Capture>(&CAPTURE, &[("name", "\"n\""), ("regex", "\"(x)\"")]);
        check::<VerifyCfg>(&VERIFY, &[("within", "\"5s\""), ("all", "[]")]);
        check::<VerifyCond>(&VERIFY_COND, &[("signal", "\"s\""), ("is", "\"> 1\"")]);
        check::<crate::config::action::Requires>(&REQUIRES, &[("gate", "\"g\"")]);
        let root: BTreeSet<&str> = ROOT.required.iter().copied().collect();
        assert_eq!(root, ["cutover"].into_iter().collect());
    }

    #[test]
    fn hints() {
        assert_eq!(
            did_you_mean("intervall", keys_of(&SOURCE)),
            Some("interval")
        );
        assert_eq!(did_you_mean("timout", keys_of(&SOURCE)), Some("timeout"));
        assert_eq!(
            did_you_mean("htp", SOURCE_KINDS.iter().copied()),
            Some("http")
        );
        assert_eq!(did_you_mean("zebra", keys_of(&SOURCE)), None);
        assert_eq!(did_you_mean("Crit", keys_of(&SIGNAL)), Some("crit"));
    }

    fn keys_of(t: &'static TableSchema) -> impl Iterator<Item = &'static str> {
        t.key_names()
    }
}
