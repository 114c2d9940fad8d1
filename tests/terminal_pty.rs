//! End-to-end terminal tests: the real `warroom` binary runs
//! inside tmux, and the tests read what a person would see — `capture-pane`, the
//! alternate-screen and cursor flags, the tty modes (`stty`) left behind, exit codes —
//! and whether the process is still there.
//!
//! Every test has its own tmux server (`tmux -S <temp dir>/tmux.sock`, the unique-socket
//! equivalent of `-L <unique>` that leaves no socket file behind), killed by a Drop guard, so
//! the tests run in parallel. Without tmux they are skipped, unless `CI` is set.
//!
//! Panics (terminal restored) are not covered here: nothing outside the process can
//! make the dashboard panic, and production code carries no test hooks.
//!
//! A few tests need a terminal tmux cannot play: one that never answers a query, or one
//! whose reader stops reading. They open a pty pair themselves (`posix_openpt`) and
//! start the dashboard on its slave side.
//!
//! Linux only: processes are found and checked through `/proc`.

// Test code: a failed unwrap or expect is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg(target_os = "linux")]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");
/// How long to wait for something that should happen "soon" (start-up, a redraw).
const WAIT: Duration = Duration::from_secs(10);
/// Signal or quit key → process gone. Generous for a debug build on a busy CI runner.
const EXIT_WITHIN: Duration = Duration::from_secs(3);
/// When the terminal goes away the process exits within 2 s.
const GONE_WITHIN: Duration = Duration::from_secs(2);

/// Runs after a dashboard in the wrapper: its exit code, the tty modes it left, and a
/// line proving the next command's output appears normally.
const WRAPPER: &str = r#""$@"
rc=$?
echo
echo "EXIT=$rc"
sh "$(dirname "$0")/stty.sh"
echo NEXT-COMMAND-RAN
sleep 30
"#;

/// The tty modes a shell needs: `icanon echo isig` when restored, `-icanon -echo -isig` raw.
const STTY: &str = r#"printf 'STTY: %s\n' "$(stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e -icanon -e echo -e -echo -e isig -e -isig | tr '\n' ' ')"
"#;

// ------------------------------------------------------------------ the harness

fn tmux_available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("tmux is not installed but CI is set: install tmux to run the terminal tests");
        }
        eprintln!("tmux not found: skipping the terminal tests (install tmux to run them)");
    }
    ok
}

/// Single-quote for `sh`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One tmux server with one session `w`, killed on drop (with any dashboard left over).
struct Tmux {
    /// The server's socket, in `dir` (`tmux -S`): unique, and removed with `dir`.
    socket: String,
    dir: tempfile::TempDir,
    /// The dashboard's `--log-file`: unique per test, which is how its pid is found.
    log: PathBuf,
}

impl Tmux {
    /// A server with its own socket and a pane of `w`×`h`. `None` when tmux is missing.
    fn new(name: &str) -> Option<Tmux> {
        if !tmux_available() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix(&format!("warroom-pty-{name}-"))
            .tempdir()
            .expect("temp dir");
        let socket = dir.path().join("tmux.sock").display().to_string();
        let conf = dir.path().join("tmux.conf");
        // No status line (the pane gets the whole window); keep a dead pane on screen
        // for the failure message; a large history is not needed.
        std::fs::write(
            &conf,
            "set -g status off\nset -g remain-on-exit on\nset -g history-limit 100\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("run.sh"), WRAPPER).unwrap();
        std::fs::write(dir.path().join("stty.sh"), STTY).unwrap();
        let log = dir.path().join("warroom.log");
        Some(Tmux { socket, dir, log })
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `tmux -S <socket> -f <conf> args…`, stdout as a string; panics on failure.
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket, "-f", &self.path("tmux.conf")])
            .args(args)
            .env_remove("TMUX")
            .env_remove("NO_COLOR")
            .env_remove("COLORTERM")
            .stdin(Stdio::null())
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Start session `w` at `w`×`h` running `argv` (exec'd by tmux, no shell).
    fn start(&self, width: u16, height: u16, argv: &[&str]) {
        let (w, h) = (width.to_string(), height.to_string());
        let mut args = vec!["new-session", "-d", "-s", "w", "-x", &w, "-y", &h, "--"];
        args.extend_from_slice(argv);
        self.tmux(&args);
    }

    /// The dashboard's command line: `env <env…> warroom demo --log-file <unique>`.
    fn demo_argv<'a>(&'a self, env: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["env", "-u", "NO_COLOR", "-u", "COLORTERM"];
        v.extend_from_slice(env);
        v.extend([BIN, "demo", "--log-file", self.log.to_str().unwrap()]);
        v
    }

    /// The dashboard inside the wrapper script (exit code + stty printed afterwards).
    fn start_wrapped_demo(&self, width: u16, height: u16, env: &[&str]) {
        let run = self.path("run.sh");
        let mut argv = vec!["sh", run.as_str()];
        argv.extend(self.demo_argv(env));
        self.start(width, height, &argv);
    }

    fn capture(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "=w:"])
    }

    fn capture_escapes(&self) -> String {
        self.tmux(&["capture-pane", "-e", "-p", "-t", "=w:"])
    }

    fn display(&self, format: &str) -> String {
        self.tmux(&["display", "-p", "-t", "=w:", format])
            .trim()
            .to_string()
    }

    fn send_keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "=w:"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Type a line into the shell in the pane.
    fn type_line(&self, line: &str) {
        self.send_keys(&["-l", line]);
        self.send_keys(&["Enter"]);
    }

    /// Poll until `ok` holds, up to `limit`; panic with `what` and the screen if not.
    fn wait(&self, what: &str, limit: Duration, mut ok: impl FnMut(&Tmux) -> bool) {
        let start = Instant::now();
        loop {
            if ok(self) {
                return;
            }
            if start.elapsed() > limit {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n--- screen ---\n{}\n--- flags: {} ---\nlog:\n{}",
                    self.capture(),
                    self.display("alternate_on=#{alternate_on} cursor_flag=#{cursor_flag} pane_dead=#{pane_dead} status=#{pane_dead_status} size=#{pane_width}x#{pane_height}"),
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_text(&self, text: &str) {
        self.wait(&format!("{text:?} on screen"), WAIT, |t| {
            t.capture().contains(text)
        });
    }

    /// The dashboard is up: alternate screen on, states drawn.
    fn wait_dashboard(&self) {
        self.wait("the dashboard (alternate screen, `OK` states)", WAIT, |t| {
            t.display("#{alternate_on}") == "1" && t.capture().contains("OK")
        });
    }

    /// The pid of the dashboard process (argv[0] is the binary, and it has our log path).
    fn warroom_pid(&self) -> i32 {
        let log = self.log.to_str().unwrap();
        let mut found = None;
        self.wait("the warroom process", WAIT, |_| {
            found = find_pid(|argv| {
                argv.first().is_some_and(|a| a == BIN) && argv.iter().any(|a| a == log)
            });
            found.is_some()
        });
        found.unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .env_remove("TMUX")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // A dashboard left stopped (Ctrl-Z) or otherwise stuck must not outlive the test.
        let log = self.log.to_str().unwrap_or_default().to_string();
        for _ in 0..50 {
            let Some(pid) =
                find_pid(|argv| argv.first().is_some_and(|a| a == BIN) && argv.contains(&log))
            else {
                break;
            };
            // SAFETY: a plain kill(2) on a pid we just found running our binary.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A live (not zombie) process whose argv matches.
fn find_pid(matches: impl Fn(&[String]) -> bool) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .find(|&pid| {
            let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let argv: Vec<String> = raw
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            matches(&argv) && proc_state(pid).is_some_and(|s| s != 'Z')
        })
}

/// The process state letter (R, S, T, Z…), `None` once it is gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Exited: gone, or a zombie waiting for its parent (the process itself has ended).
fn exited(pid: i32) -> bool {
    proc_state(pid).is_none_or(|s| s == 'Z' || s == 'X')
}

fn send_signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on the dashboard's pid.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

/// After the wrapper ran: the dashboard's exit code, and the terminal as a shell needs it.
fn assert_restored(t: &Tmux, expected_exit: i32) {
    assert_restored_after(t, expected_exit, false);
}

/// `resized`: the window changed size while the dashboard ran. tmux 3.3 then pushes
/// alternate-screen rows into the normal screen's history by itself (any full-screen
/// program shows it), so the check that no frame is left behind is skipped.
fn assert_restored_after(t: &Tmux, expected_exit: i32, resized: bool) {
    t.wait_text("NEXT-COMMAND-RAN");
    let screen = t.capture();
    let exit = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("EXIT="))
        .unwrap_or_else(|| panic!("no EXIT= line:\n{screen}"));
    assert_eq!(exit, expected_exit.to_string(), "exit code\n{screen}");
    assert_cooked(&screen, 1);
    assert_eq!(
        t.display("#{alternate_on}"),
        "0",
        "alternate screen left on\n{screen}"
    );
    assert_eq!(
        t.display("#{cursor_flag}"),
        "1",
        "cursor left hidden\n{screen}"
    );
    // The dashboard lived on the alternate screen only: the normal screen holds the
    // wrapper's lines, not a frame.
    if !resized {
        assert!(
            !screen.contains("Signals"),
            "a frame was left on the normal screen\n{screen}"
        );
    }
    assert!(!screen.contains("panicked"), "{screen}");
}

/// Every `STTY:` line on the screen (at least `n`) shows cooked mode.
fn assert_cooked(screen: &str, n: usize) {
    let lines: Vec<&str> = screen
        .lines()
        .filter_map(|l| l.trim().strip_prefix("STTY: "))
        .collect();
    assert!(lines.len() >= n, "expected {n} STTY lines\n{screen}");
    for l in lines {
        let words: Vec<&str> = l.split_whitespace().collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(
                words.contains(&mode),
                "tty not restored: `{mode}` missing from `{l}`\n{screen}"
            );
        }
    }
}

/// SGR sequences on `screen` that set a colour (3x, 4x, 9x, 10x, 38, 48). 39/49 (the
/// default colours) and attributes such as bold or reverse do not count.
fn colour_sgrs(screen: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = screen;
    while let Some(i) = rest.find("\x1b[") {
        let after = &rest[i + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
            .unwrap_or(after.len());
        let params = &after[..end];
        if after[end..].starts_with('m') {
            let colour = params.split(';').any(|p| {
                let n: u32 = p.split(':').next().unwrap_or("").parse().unwrap_or(0);
                matches!(n, 30..=38 | 40..=48 | 90..=97 | 100..=107)
            });
            if colour {
                found.push(format!("ESC[{params}m"));
            }
        }
        rest = &after[end..];
    }
    found
}

// ------------------------------------------------------------------ quitting and signals

#[test]
fn q_quits_with_0_and_restores_the_terminal() {
    let Some(t) = Tmux::new("q") else { return };
    t.start_wrapped_demo(80, 24, &[]);
    t.wait_dashboard();
    assert_eq!(
        t.display("#{cursor_flag}"),
        "0",
        "the dashboard hides the cursor"
    );
    t.send_keys(&["q"]);
    assert_restored(&t, 0);
}

/// Start the dashboard, end it with `how`, and check the exit code, the time it took
/// and the terminal left behind.
fn end_and_check(name: &str, how: impl FnOnce(&Tmux, i32), expected_exit: i32) {
    let Some(t) = Tmux::new(name) else { return };
    t.start_wrapped_demo(80, 24, &[]);
    t.wait_dashboard();
    let pid = t.warroom_pid();
    let start = Instant::now();
    how(&t, pid);
    t.wait("the dashboard to exit", WAIT, |_| exited(pid));
    let took = start.elapsed();
    eprintln!("{name}: exited {took:?} after the signal/key");
    assert!(took <= EXIT_WITHIN, "{name}: took {took:?} to exit");
    assert_restored(&t, expected_exit);
}

#[test]
fn sigterm_exits_143_and_restores_the_terminal() {
    end_and_check("term", |_, pid| send_signal(pid, libc::SIGTERM), 143);
}

#[test]
fn sighup_exits_129_and_restores_the_terminal() {
    end_and_check("hup", |_, pid| send_signal(pid, libc::SIGHUP), 129);
}

#[test]
fn sigint_from_outside_exits_130_and_restores_the_terminal() {
    end_and_check("int", |_, pid| send_signal(pid, libc::SIGINT), 130);
}

#[test]
fn ctrl_c_key_quits_with_0_and_restores_the_terminal() {
    // In raw mode Ctrl-C is a key (no SIGINT): the quit key.
    end_and_check("ctrlc", |t, _| t.send_keys(&["C-c"]), 0);
}

#[test]
fn sigquit_exits_131_and_restores_the_terminal() {
    // Its default would dump core with the terminal left raw on the alternate screen.
    end_and_check("quit", |_, pid| send_signal(pid, libc::SIGQUIT), 131);
}

#[test]
fn sigusr1_exits_138_and_restores_the_terminal() {
    end_and_check("usr1", |_, pid| send_signal(pid, libc::SIGUSR1), 138);
}

#[test]
fn sigusr2_exits_140_and_restores_the_terminal() {
    end_and_check("usr2", |_, pid| send_signal(pid, libc::SIGUSR2), 140);
}

#[test]
fn sigalrm_exits_142_and_restores_the_terminal() {
    end_and_check("alrm", |_, pid| send_signal(pid, libc::SIGALRM), 142);
}

// ------------------------------------------------------------------ the terminal going away

/// Kill the session under the dashboard (an SSH drop); a second session keeps the
/// server up so the dashboard's exit is seen as soon as it happens. The dashboard runs
/// under `sh` (like a login shell's child), which ignores the hang-up so that it lives
/// to write the dashboard's exit status to a file.
fn terminal_goes_away(name: &str, prefix: &[&str]) {
    let Some(t) = Tmux::new(name) else { return };
    let status = t.path("status");
    let script = format!("trap '' HUP; \"$@\"; echo $? > {}", sh_quote(&status));
    let mut argv = vec!["sh", "-c", script.as_str(), "sh"];
    argv.extend_from_slice(prefix);
    argv.extend(t.demo_argv(&[]));
    t.start(80, 24, &argv);
    t.tmux(&["new-session", "-d", "-s", "keep", "--", "sleep", "60"]);
    t.wait_dashboard();
    let pid = t.warroom_pid();
    let start = Instant::now();
    t.tmux(&["kill-session", "-t", "=w"]);
    while !exited(pid) && start.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    eprintln!("{name}: exited {took:?} after kill-session");
    let log = || std::fs::read_to_string(&t.log).unwrap_or_default();
    assert!(
        exited(pid),
        "{name}: still running {took:?} after the terminal went away (state {:?})\nlog:\n{}",
        proc_state(pid),
        log()
    );
    assert!(
        took <= GONE_WITHIN,
        "{name}: took {took:?} to exit after the terminal went away"
    );
    let start = Instant::now();
    let code = loop {
        match std::fs::read_to_string(&status) {
            Ok(s) if s.ends_with('\n') => break s.trim().to_string(),
            _ if start.elapsed() > WAIT => panic!("{name}: no exit status written"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    // 129 (SIGHUP) whichever tells it first, the signal or the dead tty; 101 would be a
    // panic on the way out.
    assert_eq!(
        code,
        "129",
        "{name}: exit code after the terminal went away\nlog:\n{}",
        log()
    );
}

#[test]
fn kill_session_ends_the_dashboard_within_2s() {
    // The dashboard is in the terminal's foreground process group: the hang-up brings SIGHUP.
    terminal_goes_away("kill", &[]);
}

#[test]
fn terminal_gone_without_sighup_ends_the_dashboard_within_2s() {
    // In its own session (no controlling terminal, so no SIGHUP): only the dead tty
    // tells it, and it must not spin on it.
    if Command::new("setsid")
        .arg("--version")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("setsid not found: skipping");
        return;
    }
    terminal_goes_away("nohup", &["setsid", "-w"]);
}

// ------------------------------------------------------------------ Ctrl-Z and fg

/// An interactive shell with job control (the user's shell; ENV unset so no rc file)
/// in session `w`, the dashboard typed into it. Returns the dashboard's pid.
fn dashboard_in_interactive_shell(t: &Tmux) -> i32 {
    t.start(
        80,
        24,
        &[
            "env",
            "-u",
            "ENV",
            "-u",
            "NO_COLOR",
            "PS1=PROMPT$ ",
            "sh",
            "-i",
        ],
    );
    t.wait_text("PROMPT$");
    let cmd = format!(
        "{} demo --log-file {}",
        sh_quote(BIN),
        sh_quote(t.log.to_str().unwrap())
    );
    t.type_line(&cmd);
    t.wait_dashboard();
    t.warroom_pid()
}

/// Ctrl-Z, and wait until the dashboard is stopped with the normal screen back.
fn suspend(t: &Tmux, pid: i32) {
    t.send_keys(&["C-z"]);
    t.wait(
        "the dashboard stopped and the normal screen back",
        WAIT,
        |t| proc_state(pid) == Some('T') && t.display("#{alternate_on}") == "0",
    );
}

#[test]
fn ctrl_z_suspends_restored_and_fg_redraws() {
    let Some(t) = Tmux::new("tstp") else { return };
    let pid = dashboard_in_interactive_shell(&t);

    t.send_keys(&["C-z"]);
    t.wait(
        "the dashboard stopped and the normal screen back",
        WAIT,
        |t| proc_state(pid) == Some('T') && t.display("#{alternate_on}") == "0",
    );
    assert_eq!(
        t.display("#{cursor_flag}"),
        "1",
        "cursor hidden while suspended"
    );
    // The shell's own command, typed in the tty as the dashboard left it.
    t.type_line(&format!("sh {}", sh_quote(&t.path("stty.sh"))));
    t.wait_text("STTY: ");
    assert_cooked(&t.capture(), 1);
    assert_eq!(proc_state(pid), Some('T'), "still stopped");

    t.type_line("fg");
    t.wait("the dashboard redrawn after fg", WAIT, |t| {
        t.display("#{alternate_on}") == "1" && t.capture().contains("Signals")
    });
    assert_ne!(proc_state(pid), Some('T'));

    t.send_keys(&["q"]);
    t.wait("the dashboard to exit after fg", WAIT, |_| exited(pid));
    t.type_line("echo EXIT=$?");
    t.wait_text("EXIT=0");
    t.type_line(&format!("sh {}", sh_quote(&t.path("stty.sh"))));
    t.wait("the second stty line", WAIT, |t| {
        t.capture().matches("STTY: ").count() >= 2
    });
    let screen = t.capture();
    assert_cooked(&screen, 2);
    assert_eq!(t.display("#{alternate_on}"), "0");
    assert_eq!(t.display("#{cursor_flag}"), "1");
}

#[test]
fn ssh_drop_while_suspended_exits_129_within_2s() {
    let Some(t) = Tmux::new("tstphup") else {
        return;
    };
    // Become the subreaper: when the shell dies with the terminal, the stopped dashboard
    // is re-parented to this process, so its exit status can be read with waitpid.
    // (Other tests' orphans — daemonized tmux servers — also land here as zombies, harmless.)
    // SAFETY: prctl with an integer argument on our own process.
    let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(rc, 0, "PR_SET_CHILD_SUBREAPER");
    let pid = dashboard_in_interactive_shell(&t);
    suspend(&t, pid);
    t.tmux(&["new-session", "-d", "-s", "keep", "--", "sleep", "60"]);
    let start = Instant::now();
    // The SSH drop: the shell gets SIGHUP and exits; the kernel sends SIGHUP and SIGCONT
    // to the stopped dashboard, now in an orphaned process group on a dead terminal.
    t.tmux(&["kill-session", "-t", "=w"]);
    let mut status = 0;
    let mut reaped = false;
    while start.elapsed() < WAIT {
        // SAFETY: waitpid on one pid with a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            reaped = true;
            break;
        }
        // 0: still running; -1 (ECHILD): not re-parented to us yet.
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    eprintln!("tstphup: exited {took:?} after kill-session");
    assert!(
        reaped,
        "still there {took:?} after the terminal went away (state {:?})",
        proc_state(pid)
    );
    assert!(took <= GONE_WITHIN, "took {took:?} to exit");
    assert!(
        libc::WIFEXITED(status),
        "ended by signal {} rather than exiting",
        libc::WTERMSIG(status)
    );
    assert_eq!(
        libc::WEXITSTATUS(status),
        129,
        "exit code after SIGHUP while suspended\nlog:\n{}",
        std::fs::read_to_string(&t.log).unwrap_or_default()
    );
}

/// The tty modes of the pane's terminal, read from outside: `icanon echo isig` in
/// cooked mode, `-icanon -echo -isig` in raw mode.
fn tty_modes(t: &Tmux) -> String {
    let tty = t.display("#{pane_tty}");
    let out = Command::new("stty")
        .args(["-F", &tty, "-a"])
        .output()
        .expect("run stty");
    let all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.split(|c: char| c.is_whitespace() || c == ';')
        .filter(|w| ["icanon", "-icanon", "echo", "-echo", "isig", "-isig"].contains(w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn raw(modes: &str) -> bool {
    let w: Vec<&str> = modes.split(' ').collect();
    w.contains(&"-icanon") && w.contains(&"-echo")
}

/// Taken back after a stop: alternate screen, raw mode, the whole frame drawn again
/// (the panel titles are never part of a clock tick's redraw), and keys reach it.
fn assert_taken_back(t: &Tmux, pid: i32, what: &str) {
    t.wait(&format!("the dashboard taken back {what}"), WAIT, |t| {
        t.display("#{alternate_on}") == "1"
            && raw(&tty_modes(t))
            && t.capture().contains("Signals")
            && t.capture().contains("Timeline")
            && !t.capture().contains("shell$")
    });
    assert_ne!(proc_state(pid), Some('T'));
    // Keys reach it (and raw mode means they are not echoed).
    t.send_keys(&["?"]);
    t.wait_text("show / hide this help");
    t.send_keys(&["Escape"]);
    // Until the help is gone: a key that follows Esc within the escape time reads as
    // Alt-<key> (a `q` then would not quit).
    t.wait("the help closed", WAIT, |t| {
        !t.capture().contains("show / hide this help")
    });
}

#[test]
fn sigtstp_from_outside_restores_then_stops_and_fg_takes_the_terminal_back() {
    let Some(t) = Tmux::new("xtstp") else { return };
    let pid = dashboard_in_interactive_shell(&t);
    send_signal(pid, libc::SIGTSTP);
    // Restored first, like Ctrl-Z, then stopped.
    t.wait(
        "the dashboard stopped and the normal screen back",
        WAIT,
        |t| proc_state(pid) == Some('T') && t.display("#{alternate_on}") == "0",
    );
    assert_eq!(
        t.display("#{cursor_flag}"),
        "1",
        "cursor hidden while stopped"
    );
    t.type_line(&format!("sh {}", sh_quote(&t.path("stty.sh"))));
    t.wait_text("STTY: ");
    assert_cooked(&t.capture(), 1);

    t.type_line("fg");
    assert_taken_back(&t, pid, "after fg");
    t.send_keys(&["q"]);
    t.wait("the dashboard to exit after fg", WAIT, |_| exited(pid));
    t.type_line("echo EXIT=$?");
    t.wait_text("EXIT=0");
    assert_eq!(t.display("#{alternate_on}"), "0");
}

#[test]
fn sigstop_then_sigcont_takes_the_terminal_back_and_redraws_everything() {
    let Some(t) = Tmux::new("stop") else { return };
    t.start_wrapped_demo(80, 24, &[]);
    t.wait_dashboard();
    let pid = t.warroom_pid();
    // SIGSTOP cannot be caught: the terminal stays as it was. Meanwhile the shell takes
    // it back as shells do: its own tty modes, the normal screen, a prompt.
    send_signal(pid, libc::SIGSTOP);
    t.wait("the dashboard stopped", WAIT, |_| {
        proc_state(pid) == Some('T')
    });
    let tty = t.display("#{pane_tty}");
    let ok = Command::new("stty")
        .args(["-F", &tty, "sane"])
        .status()
        .expect("run stty");
    assert!(ok.success());
    std::fs::OpenOptions::new()
        .write(true)
        .open(&tty)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\x1b[?1049l\x1b[2J\x1b[Hshell$ "))
        .expect("write to the pane's tty");
    t.wait("the shell's screen", WAIT, |t| {
        t.display("#{alternate_on}") == "0" && t.capture().contains("shell$")
    });
    assert!(!raw(&tty_modes(&t)), "stty sane took");

    send_signal(pid, libc::SIGCONT);
    assert_taken_back(&t, pid, "after SIGCONT");
    t.send_keys(&["q"]);
    assert_restored(&t, 0);
}

// ------------------------------------------------------------------ a terminal of our own

/// The dashboard on the slave side of a pty pair opened here, as its controlling
/// terminal. The master is ours: read it, or (to stall the dashboard) never read it.
struct OwnPty {
    master: std::fs::File,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl OwnPty {
    fn start(name: &str, cols: u16, rows: u16) -> OwnPty {
        use std::os::fd::FromRawFd;
        use std::os::unix::process::CommandExt;
        let dir = tempfile::Builder::new()
            .prefix(&format!("warroom-ownpty-{name}-"))
            .tempdir()
            .expect("temp dir");
        // SAFETY: plain libc pty calls on a descriptor we own; ptsname_r writes into `buf`.
        let (master, slave_path) = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            assert_eq!(libc::grantpt(fd), 0, "grantpt");
            assert_eq!(libc::unlockpt(fd), 0, "unlockpt");
            let mut buf = [0 as libc::c_char; 128];
            assert_eq!(
                libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()),
                0,
                "ptsname_r"
            );
            let path = std::ffi::CStr::from_ptr(buf.as_ptr())
                .to_string_lossy()
                .into_owned();
            (std::fs::File::from_raw_fd(fd), path)
        };
        let p = OwnPty::resize_fd(&master, cols, rows);
        assert_eq!(p, 0, "TIOCSWINSZ");
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&slave_path)
            .expect("open the pty slave");
        let log = dir.path().join("warroom.log");
        let mut cmd = Command::new(BIN);
        cmd.args(["demo", "--log-file", log.to_str().unwrap()])
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .env_remove("COLORTERM")
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // Its own session, with the pty as controlling terminal (SIGWINCH, SIGHUP).
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn warroom on the pty");
        OwnPty {
            master,
            child,
            _dir: dir,
        }
    }

    fn resize_fd(master: &std::fs::File, cols: u16, rows: u16) -> i32 {
        use std::os::fd::AsRawFd;
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads one winsize.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) }
    }

    fn resize(&self, cols: u16, rows: u16) {
        OwnPty::resize_fd(&self.master, cols, rows);
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Read everything the dashboard writes, on a thread, never answering anything.
    fn read_all(&self) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (mut m, s2) = (self.master.try_clone().unwrap(), seen.clone());
        std::thread::spawn(move || {
            let mut b = [0u8; 16 * 1024];
            while let Ok(n @ 1..) = std::io::Read::read(&mut m, &mut b) {
                s2.lock().unwrap().extend_from_slice(&b[..n]);
            }
        });
        seen
    }

    /// Read (on this thread) until `needle` has been written, answering cursor-position
    /// queries as a terminal would; then stop. Returns what was read.
    fn read_until_answering(&self, needle: &str, limit: Duration) -> String {
        use std::os::fd::AsRawFd;
        let start = Instant::now();
        let mut seen = Vec::new();
        let mut b = [0u8; 16 * 1024];
        while !String::from_utf8_lossy(&seen).contains(needle) {
            assert!(start.elapsed() < limit, "no {needle:?} within {limit:?}");
            let mut pfd = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
                continue;
            }
            let n = std::io::Read::read(&mut &self.master, &mut b).expect("read the master");
            let asks = b[..n].windows(4).filter(|w| *w == b"\x1b[6n").count();
            seen.extend_from_slice(&b[..n]);
            for _ in 0..asks {
                self.type_keys(b"\x1b[1;1R");
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    fn type_keys(&self, keys: &[u8]) {
        std::io::Write::write_all(&mut &self.master, keys).expect("write to the pty master");
    }

    /// Wait for the exit, up to `limit`: the exit code, or `None` if still running.
    fn exit_within(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return Some(st.code().unwrap_or_else(|| {
                    use std::os::unix::process::ExitStatusExt;
                    128 + st.signal().unwrap_or(0)
                }));
            }
            if start.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for OwnPty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn start_up_never_waits_for_the_terminal_to_answer() {
    // A terminal that never answers a query (a slow link, a multiplexer that drops it).
    let mut p = OwnPty::start("noanswer", 80, 24);
    let seen = p.read_all();
    let started = Instant::now();
    let text = || String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    while !text().contains("Signals") {
        assert!(
            started.elapsed() < WAIT,
            "no dashboard after {WAIT:?}; output {:?}",
            text()
        );
        assert!(
            p.child.try_wait().unwrap().is_none(),
            "exited: {:?}",
            text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Past the 2 s a query would have waited, it is still up, and it never asked.
    std::thread::sleep(Duration::from_secs(3).saturating_sub(started.elapsed()));
    assert!(
        p.child.try_wait().unwrap().is_none(),
        "exited: {:?}",
        text()
    );
    assert!(
        !text().contains("\x1b[6n"),
        "the dashboard asked the terminal for its cursor position"
    );
    p.type_keys(b"q");
    assert_eq!(p.exit_within(EXIT_WITHIN), Some(0), "{:?}", text());
}

/// Is a thread of `pid` blocked writing to its stdout? `None` when the kernel will not say.
fn blocked_writing_stdout(pid: i32) -> Option<bool> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut any_readable = false;
    for t in tasks.flatten() {
        let Ok(sc) = std::fs::read_to_string(t.path().join("syscall")) else {
            continue;
        };
        any_readable = true;
        let mut f = sc.split_whitespace();
        let nr = f.next().and_then(|n| n.parse::<i64>().ok());
        if nr == Some(libc::SYS_write) && f.next() == Some("0x1") {
            return Some(true);
        }
    }
    any_readable.then_some(false)
}

/// Bytes waiting in the master for a reader (what the stalled terminal has not taken).
fn queued(master: &std::fs::File) -> i32 {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::FIONREAD, &mut n) };
    n
}

/// Start the dashboard on a pty nobody reads and make it draw (resizes redraw the whole
/// screen) until its output is blocked in the kernel.
fn stalled_dashboard(name: &str) -> OwnPty {
    let p = OwnPty::start(name, 200, 60);
    // Up as on any terminal (a query answered), then nobody reads any more.
    p.read_until_answering("Signals", WAIT);
    let start = Instant::now();
    let mut last = (0, Instant::now());
    let mut wide = true;
    loop {
        wide = !wide;
        p.resize(if wide { 200 } else { 199 }, 60);
        std::thread::sleep(Duration::from_millis(100));
        let q = queued(&p.master);
        let blocked = match blocked_writing_stdout(p.pid()) {
            Some(b) => b,
            // Without /proc's view: the queue full and no longer growing for a second.
            None => q > 4096 && q == last.0 && last.1.elapsed() > Duration::from_secs(1),
        };
        if q != last.0 {
            last = (q, Instant::now());
        }
        if blocked && q > 0 {
            // Still blocked a moment later: not a write that was just finishing.
            std::thread::sleep(Duration::from_millis(300));
            if blocked_writing_stdout(p.pid()) != Some(false) {
                eprintln!(
                    "{name}: output blocked with {q} bytes queued after {:?}",
                    start.elapsed()
                );
                return p;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name}: the dashboard's output never blocked ({q} bytes queued)"
        );
    }
}

fn exits_promptly_while_output_is_blocked(name: &str, how: impl FnOnce(&OwnPty), code: i32) {
    let mut p = stalled_dashboard(name);
    let start = Instant::now();
    how(&p);
    let got = p.exit_within(GONE_WITHIN);
    let took = start.elapsed();
    eprintln!("{name}: {got:?} after {took:?}");
    assert_eq!(
        got,
        Some(code),
        "{name}: still running {took:?} after the signal while its terminal was not reading"
    );
}

#[test]
fn sigterm_ends_the_dashboard_within_2s_while_terminal_output_is_blocked() {
    exits_promptly_while_output_is_blocked(
        "blockterm",
        |p| send_signal(p.pid(), libc::SIGTERM),
        143,
    );
}

#[test]
fn sighup_ends_the_dashboard_within_2s_while_terminal_output_is_blocked() {
    exits_promptly_while_output_is_blocked("blockhup", |p| send_signal(p.pid(), libc::SIGHUP), 129);
}

#[test]
fn the_quit_key_still_works_while_terminal_output_is_blocked() {
    // The loop is never held by the terminal: keys are read and acted on.
    exits_promptly_while_output_is_blocked("blockq", |p| p.type_keys(b"q"), 0);
}

// ------------------------------------------------------------------ sizes

#[test]
fn sizes_from_1x1_to_300x100_resized_live_without_panic() {
    let Some(t) = Tmux::new("sizes") else { return };
    t.start_wrapped_demo(1, 1, &[]);
    t.wait("a first frame at 1x1", WAIT, |t| {
        t.display("#{alternate_on}") == "1" && !t.capture().trim().is_empty()
    });
    let pid = t.warroom_pid();
    // (size, text that must show): "too small", the compact summary with its T-clock
    // and the note below 80x24, the full view at 80x24 and above.
    let steps: &[(u16, u16, &[&str])] = &[
        (10, 3, &["terminal"]),
        (20, 5, &["T-"]),
        (79, 23, &["T-", "full view needs 80x24"]),
        (80, 24, &["T-", "Signals", "OK"]),
        (300, 100, &["Signals", "OK"]),
        (20, 5, &["T-"]),
        (1, 1, &[]),
        (80, 24, &["T-", "Signals", "OK"]),
    ];
    for &(w, h, texts) in steps {
        t.tmux(&[
            "resize-window",
            "-t",
            "=w:",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
        ]);
        let size = format!("{w}x{h}");
        t.wait(&format!("{size} showing {texts:?}"), WAIT, |t| {
            let screen = t.capture();
            t.display("#{pane_width}x#{pane_height}") == size
                && !screen.trim().is_empty()
                && texts.iter().all(|x| screen.contains(x))
        });
        assert!(
            !exited(pid),
            "the dashboard died at {size}\n{}",
            t.capture()
        );
    }
    t.send_keys(&["q"]);
    assert_restored_after(&t, 0, true);
}

// ------------------------------------------------------------------ colour

/// Start with `env`, check states are written in words, return the screen with escapes.
fn states_in_words(name: &str, env: &[&str]) -> Option<String> {
    let t = Tmux::new(name)?;
    t.start_wrapped_demo(80, 24, env);
    t.wait_dashboard();
    t.wait_text("T-");
    let screen = t.capture();
    assert!(screen.contains("OK"), "{env:?}: no state word\n{screen}");
    let escaped = t.capture_escapes();
    t.send_keys(&["q"]);
    assert_restored(&t, 0);
    Some(escaped)
}

fn assert_no_colour(env: &[&str], escaped: &str) {
    let colours = colour_sgrs(escaped);
    assert!(
        colours.is_empty(),
        "{env:?}: colour escapes on screen: {colours:?}"
    );
}

fn assert_colour(env: &[&str], escaped: &str) {
    assert!(
        !colour_sgrs(escaped).is_empty(),
        "{env:?}: expected colour on screen"
    );
}

#[test]
fn no_color_shows_states_in_words_without_colour_escapes() {
    let env = ["NO_COLOR=1"];
    if let Some(s) = states_in_words("nocolor", &env) {
        assert_no_colour(&env, &s);
    }
}

#[test]
fn term_dumb_refuses_the_dashboard_and_points_to_check() {
    // A dumb terminal cannot move the cursor: no screen of escapes, a message instead.
    let Some(t) = Tmux::new("dumb") else { return };
    t.start_wrapped_demo(80, 24, &["TERM=dumb"]);
    t.wait_text("NEXT-COMMAND-RAN");
    let screen = t.capture();
    assert!(screen.contains("TERM=dumb"), "{screen}");
    assert!(screen.contains("warroom check"), "{screen}");
    assert!(screen.contains("EXIT=2"), "{screen}");
    assert!(!screen.contains("Signals"), "{screen}");
}

#[test]
fn term_linux_shows_states_in_words_and_colour() {
    let env = ["TERM=linux"];
    if let Some(s) = states_in_words("linux", &env) {
        assert_colour(&env, &s);
    }
}

#[test]
fn xterm_256color_without_colorterm_shows_states_in_words_and_colour() {
    // The SSH case: COLORTERM is not forwarded.
    let env = ["TERM=xterm-256color"];
    if let Some(s) = states_in_words("x256", &env) {
        assert_colour(&env, &s);
    }
}

#[test]
fn colorterm_truecolor_shows_states_in_words_and_colour() {
    let env = ["TERM=xterm-256color", "COLORTERM=truecolor"];
    if let Some(s) = states_in_words("truecolor", &env) {
        assert_colour(&env, &s);
    }
}

#[test]
fn colour_escape_detector_sees_colours_not_attributes() {
    assert!(colour_sgrs("\x1b[1m\x1b[0;7mx\x1b[39m\x1b[49m\x1b[0m").is_empty());
    assert_eq!(colour_sgrs("\x1b[1;31mx"), ["ESC[1;31m"]);
    assert_eq!(colour_sgrs("\x1b[38;5;8mx"), ["ESC[38;5;8m"]);
    assert_eq!(colour_sgrs("\x1b[48:2::1:2:3mx"), ["ESC[48:2::1:2:3m"]);
    assert_eq!(colour_sgrs("\x1b[97m\x1b[104m").len(), 2);
}

// ------------------------------------------------------------------ not a terminal

/// Run with stdout a pipe (as in `warroom -c FILE | cat`), bounded in time.
fn run_piped(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn warroom");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > WAIT {
            let _ = child.kill();
            panic!("warroom {args:?} with stdout a pipe did not exit within {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    (status.code().unwrap_or(-1), err)
}

#[test]
fn stdout_not_a_terminal_exits_5_pointing_to_check() {
    let cfg =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid/minimal.toml");
    let cfg = cfg.to_str().unwrap();
    let mut report = String::new();
    for args in [vec!["-c", cfg], vec!["watch", "-c", cfg]] {
        let (code, err) = run_piped(&args);
        let _ = writeln!(report, "{args:?}: {code} {err}");
        assert_eq!(code, 5, "warroom {args:?} | cat: {err}");
        assert!(err.contains("not a terminal"), "{err}");
        assert!(
            err.contains("warroom check"),
            "should point to `warroom check`: {err}"
        );
        assert!(
            !err.contains('\x1b'),
            "escape codes in the message: {err:?}"
        );
    }
    let (code, err) = run_piped(&["demo"]);
    assert_eq!(code, 5, "warroom demo | cat: {err}\n{report}");
    assert!(err.contains("not a terminal"), "{err}");
}

/// On a terminal, an audit log that cannot be opened ends the dashboard before it takes
/// the screen, with the run-time failure's code — not a config error's.
#[test]
fn an_audit_log_that_cannot_be_opened_exits_6_on_a_terminal() {
    let Some(t) = Tmux::new("audit6") else { return };
    let cfg =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config/valid/minimal.toml");
    // Under a regular file: no directory can be made there, whoever runs the test.
    let blocker = t.path("blocker");
    std::fs::write(&blocker, "").unwrap();
    let audit = format!("{blocker}/audit.jsonl");
    let run = t.path("run.sh");
    t.start(
        80,
        24,
        &[
            "sh",
            &run,
            BIN,
            "-c",
            cfg.to_str().unwrap(),
            "--audit-log",
            &audit,
            "--log-file",
            t.log.to_str().unwrap(),
        ],
    );
    t.wait_text("NEXT-COMMAND-RAN");
    let screen = t.capture();
    assert!(screen.contains("EXIT=6"), "{screen}");
    assert!(screen.contains("warroom: audit log"), "{screen}");
    assert_cooked(&screen, 1);
}

// ------------------------------------------------------------------ replay

/// A recording of 200 s: a poll and a clock line each second from 12:00:00 UTC.
fn recording_200s() -> String {
    let cfg: warroom::config::Config = toml::from_str(
        "[cutover]\nname = \"replayed\"\n[[source]]\nid = \"m\"\nkind = \"http\"\n\
         url = \"http://127.0.0.1:1/m\"\ninterval = \"1s\"\n[[signal]]\nid = \"err\"\n\
         source = \"m\"\nkind = \"metric\"\npath = \".err\"\ncrit = \"> 2\"\n",
    )
    .expect("config");
    let wall = |s: i64| format!("2026-11-25T12:{:02}:{:02}Z", s / 60, s % 60);
    let mut text = serde_json::json!({
        "v": 1, "type": "header", "at": wall(0), "mono_ms": 5_000, "warroom": "t",
        "host": "h", "user": "u", "cutover": "replayed",
        "config": serde_json::to_value(&cfg).expect("config as JSON"),
    })
    .to_string();
    for s in 1..=200 {
        for line in [
            serde_json::json!({"v": 1, "type": "poll", "source": "m", "at": wall(s),
                "mono_ms": 5_000 + s * 1000, "latency_ms": 1, "status": 200,
                "rows": [{"key": "err", "signal": "err", "value": 0.5}]}),
            serde_json::json!({"v": 1, "type": "clock", "at": wall(s), "mono_ms": 5_000 + s * 1000}),
        ] {
            text.push('\n');
            text.push_str(&line.to_string());
        }
    }
    text + "\n"
}

/// The replay's position as its footer shows it ("REPLAY paused · 12:00:03 / …"), in
/// seconds since 12:00:00.
fn replay_position(screen: &str) -> Option<i64> {
    let at = screen.find("REPLAY ")?;
    let time = screen[at..]
        .split(" · ")
        .nth(1)?
        .split_whitespace()
        .next()?;
    let mut f = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (f.next()??, f.next()??, f.next()??);
    Some((h - 12) * 3600 + m * 60 + s)
}

#[test]
fn a_paused_replay_writes_nothing_and_seeks_on_its_keys() {
    let Some(t) = Tmux::new("replay") else { return };
    let rec = t.path("rec.jsonl");
    std::fs::write(&rec, recording_200s()).expect("write the recording");
    let run = t.path("run.sh");
    let log = t.log.to_str().unwrap().to_string();
    let argv = [
        "sh",
        &run,
        "env",
        "-u",
        "NO_COLOR",
        BIN,
        "replay",
        &rec,
        "--speed",
        "1",
        "--log-file",
        &log,
    ];
    t.start(120, 30, &argv);
    t.wait_text("REPLAY ×1");
    t.send_keys(&["Space"]);
    t.wait_text("REPLAY paused");
    let screen = t.capture();
    let paused_at = replay_position(&screen).unwrap_or_else(|| panic!("no position:\n{screen}"));

    // Paused: not one byte reaches the terminal, however long it stays paused.
    let bytes = t.path("paused.bytes");
    t.tmux(&[
        "pipe-pane",
        "-t",
        "=w:",
        "-o",
        &format!("cat > {}", sh_quote(&bytes)),
    ]);
    std::thread::sleep(Duration::from_millis(2_500));
    t.tmux(&["pipe-pane", "-t", "=w:"]);
    let written = std::fs::metadata(&bytes).map(|m| m.len()).unwrap_or(0);
    assert_eq!(written, 0, "{written} bytes written while paused");
    assert_eq!(replay_position(&t.capture()), Some(paused_at));

    // The seek keys move the position, paused as it is: ahead 10 s, ahead 60 s, back 10 s.
    for (keys, to) in [
        (&["Right"][..], paused_at + 10),
        (&["S-Right"][..], paused_at + 70),
        (&["Left"][..], paused_at + 60),
    ] {
        t.send_keys(keys);
        t.wait(&format!("the replay at +{to}s after {keys:?}"), WAIT, |t| {
            replay_position(&t.capture()) == Some(to)
        });
    }
    assert!(t.capture().contains("REPLAY paused"), "{}", t.capture());
    // Playing again, the position moves on.
    t.send_keys(&["Space"]);
    t.wait("the replay playing on", WAIT, |t| {
        replay_position(&t.capture()).is_some_and(|p| p > paused_at + 60)
    });
    t.send_keys(&["q"]);
    assert_restored(&t, 0);
}

// ------------------------------------------------------------------ drills through the stand-ins

/// The hse preset's SSM rollback runs the real program name, `aws`: in the demo it meets the
/// stand-in the demo put first on its PATH, which moves the simulator's split, and the
/// action is verified by the split the dashboard reads back.
#[test]
fn demo_runs_a_presets_aws_rollback_through_the_stand_in() {
    let Some(t) = Tmux::new("standins") else {
        return;
    };
    // Its own audit log: a rollback recorded by an earlier drill would ask for a second attempt.
    let audit = t.path("audit.jsonl");
    let run = t.path("run.sh");
    let mut argv = vec!["sh", run.as_str()];
    argv.extend(t.demo_argv(&[]));
    argv.extend(["--profile", "hse", "--scenario", "error-burst"]);
    argv.extend(["--audit-log", audit.as_str()]);
    t.start(100, 30, &argv);
    t.wait_dashboard();
    // The flag's row, whatever width its name column takes.
    let split_is = |screen: &str, want: &str| {
        screen.lines().any(|l| {
            l.split_once("traffic split %")
                .is_some_and(|(_, rest)| rest.split_whitespace().next() == Some(want))
        })
    };
    t.wait("the split at 10 %", Duration::from_secs(10), |t| {
        split_is(&t.capture(), "10")
    });
    t.send_keys(&["R"]);
    t.wait_text("Type  rollback  then Enter");
    t.send_keys(&["-l", "rollback"]);
    t.send_keys(&["Enter"]);
    t.wait("the SSM rollback verified", Duration::from_secs(20), |t| {
        t.capture().contains("old system) VERIFIED")
    });
    assert!(split_is(&t.capture(), "0"), "{}", t.capture());
    // Quit, so the demo removes its stand-ins' directory as a person's demo does.
    t.send_keys(&["q"]);
    assert_restored(&t, 0);
}
