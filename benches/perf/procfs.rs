//! What the kernel says about a process: CPU ticks, peak RSS, its descendants (Linux /proc).

use std::collections::HashMap;

/// Fields after `comm`: index 0 is field 3 (state) of proc(5).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

pub fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime+stime (and cutime+cstime of waited-for children when `children`), in ticks.
pub fn cpu_ticks(pid: i32, children: bool) -> Option<u64> {
    let f = stat_fields(pid)?;
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // proc(5): utime 14, stime 15, cutime 16, cstime 17 → indices 11..=14 here.
    Some(n(11) + n(12) + if children { n(13) + n(14) } else { 0 })
}

/// A `Vm…:` line of /proc/<pid>/status in kB.
pub fn status_kb(pid: i32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
}

fn ppids() -> HashMap<i32, i32> {
    let mut m = HashMap::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
                if let Some(pp) = stat_fields(pid)
                    .and_then(|f| f.get(1).cloned())
                    .and_then(|p| p.parse().ok())
                {
                    m.insert(pid, pp);
                }
            }
        }
    }
    m
}

/// Every process below `root` (not `root` itself).
pub fn descendants(root: i32) -> Vec<i32> {
    descendants_of(&[root])
}

pub fn descendants_of(roots: &[i32]) -> Vec<i32> {
    let m = ppids();
    let mut out = Vec::new();
    let mut frontier: Vec<i32> = roots.to_vec();
    while let Some(p) = frontier.pop() {
        for (&c, &pp) in &m {
            if pp == p {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: sending a signal to a process we started.
    unsafe {
        libc::kill(pid, sig);
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("nproc {n} · {cpu} · Linux {kernel}")
}
