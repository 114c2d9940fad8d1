//! How a command ends when it cannot do its work: the error names the kind of failure,
//! and the kind picks the exit code. The README's exit-code table lists the same codes
//! (`check`'s own 1, 3 and 4 are its verdicts, not errors, and come from `check`).

/// The command line or the config is wrong.
pub const USAGE: i32 = 2;
/// The dashboard has no terminal to draw on.
pub const TERMINAL: i32 = 5;
/// Something needed at run time could not be had.
pub const IO: i32 = 6;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line or the config: a bad flag, a config with problems, an unknown
    /// preset, a file given that is not a recording. The message says which and where.
    #[error("{0}")]
    Usage(String),
    /// The dashboard needs a terminal: stdout is not one, or it would not take raw
    /// mode and the alternate screen.
    #[error("{0}")]
    Terminal(String),
    /// A file to write (log, audit log, recording), an address to listen on, the
    /// signal handlers or the async runtime could not be had.
    #[error("{0}")]
    Io(String),
}

impl CliError {
    pub fn code(&self) -> i32 {
        match self {
            CliError::Usage(_) => USAGE,
            CliError::Terminal(_) => TERMINAL,
            CliError::Io(_) => IO,
        }
    }
}

/// The library's checks answer in words; a message without a kind is about the input.
impl From<String> for CliError {
    fn from(msg: String) -> Self {
        CliError::Usage(msg)
    }
}

impl From<&str> for CliError {
    fn from(msg: &str) -> Self {
        CliError::Usage(msg.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_own_code_none_a_verdict_of_check() {
        let codes = [
            CliError::Usage(String::new()).code(),
            CliError::Terminal(String::new()).code(),
            CliError::Io(String::new()).code(),
        ];
        assert_eq!(codes, [2, 5, 6]);
        // 0 is success; 1, 3 and 4 are `check`'s verdicts.
        assert!(codes.iter().all(|c| ![0, 1, 3, 4].contains(c)));
    }
}
