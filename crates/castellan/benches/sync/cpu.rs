//! CPU time of the app's server processes and of the bench process, from `/proc` (Linux).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Reads CPU time (user + system) of the app's server processes (each pid in the pid files
/// with all its descendants, such as PHP's server workers) and of this process from
/// `/proc/<pid>/stat` (Linux); `None` where it cannot.
pub struct CpuMeter {
    servers: Vec<u32>,
    tick: f64,
}

impl CpuMeter {
    pub fn new(pid_files: &[PathBuf]) -> Self {
        let tick = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0);
        Self {
            servers: pid_files
                .iter()
                .filter_map(|f| std::fs::read_to_string(f).ok()?.trim().parse().ok())
                .collect(),
            tick,
        }
    }

    /// (parent pid, CPU time) of one process.
    fn stat(&self, pid: &str) -> Option<(u32, Duration)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which is in parentheses: state is field 3, ppid
        // field 4, utime field 14 and stime field 15.
        let rest = &stat[stat.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid = f.get(1)?.parse().ok()?;
        let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some((ppid, Duration::from_secs_f64(ticks / self.tick)))
    }

    /// The servers' CPU: every process whose ancestry reaches a server pid; `None` when a
    /// server is not running (or there is none).
    fn servers_cpu(&self) -> Option<Duration> {
        if self.servers.is_empty() {
            return None;
        }
        let mut procs: HashMap<u32, (u32, Duration)> = HashMap::new();
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(s) = self.stat(&pid.to_string()) {
                procs.insert(pid, s);
            }
        }
        if self.servers.iter().any(|p| !procs.contains_key(p)) {
            return None;
        }
        let ours = |mut pid: u32| {
            for _ in 0..64 {
                if self.servers.contains(&pid) {
                    return true;
                }
                match procs.get(&pid) {
                    Some(&(ppid, _)) if ppid != 0 && ppid != pid => pid = ppid,
                    _ => return false,
                }
            }
            false
        };
        Some(
            procs
                .iter()
                .filter(|(pid, _)| ours(**pid))
                .map(|(_, (_, cpu))| *cpu)
                .sum(),
        )
    }

    pub fn read(&self) -> (Option<Duration>, Option<Duration>) {
        (self.servers_cpu(), self.stat("self").map(|s| s.1))
    }

    /// CPU used since `before`: (the app's servers, this process).
    pub fn since(
        &self,
        before: (Option<Duration>, Option<Duration>),
    ) -> (Option<Duration>, Option<Duration>) {
        let now = self.read();
        let d = |a: Option<Duration>, b: Option<Duration>| Some(a?.saturating_sub(b?));
        (d(now.0, before.0), d(now.1, before.1))
    }
}
