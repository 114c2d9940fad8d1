//! The simulated backend process of a profile configured by a `.env` file (`edn360`): its
//! supervisor program (`backend`), its pid and start time, and the file it reads when it
//! (re)starts. The file lives in the directory the simulator was given (`--state-dir`), or in
//! a private temporary one removed when the simulator stops.

use super::dotenv;
use super::profile::DotEnv;
use super::state::lock;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Proc {
    pub pid: u32,
    pub started: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) struct Backend {
    pub spec: DotEnv,
    pub env_file: PathBuf,
    _dir: Option<tempfile::TempDir>,
    proc: Mutex<Proc>,
}

impl Backend {
    /// The backend and its `.env`: an existing file in `state_dir` is kept (and its values
    /// returned, for the system to start with), else one is written from `flags`.
    pub fn create(
        spec: DotEnv,
        flags: &[(&str, bool)],
        state_dir: Option<&Path>,
        now: DateTime<Utc>,
    ) -> io::Result<(Backend, Option<BTreeMap<String, String>>)> {
        let (dir, holder) = match state_dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                (d.to_path_buf(), None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("warroom-sim-").tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let env_file = dir.join(".env");
        let existing = if env_file.exists() {
            Some(dotenv::read(&env_file)?)
        } else {
            std::fs::write(&env_file, dotenv::initial(spec.preamble, flags))?;
            None
        };
        Ok((
            Backend {
                spec,
                env_file,
                _dir: holder,
                proc: Mutex::new(Proc {
                    pid: 4242,
                    started: now,
                }),
            },
            existing,
        ))
    }

    pub fn status(&self) -> Proc {
        *lock(&self.proc)
    }

    /// A new process: a new pid and start time.
    pub fn restarted(&self, now: DateTime<Utc>) -> Proc {
        let mut p = lock(&self.proc);
        p.pid += 1;
        p.started = now;
        *p
    }
}
