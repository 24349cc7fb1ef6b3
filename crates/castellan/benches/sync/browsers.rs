//! The memory of the bot's browsers during the bench.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The peak memory of this process's browsers, sampled every 100 ms from `/proc`: per browser
/// (the processes whose command line names its profile directory, `--user-data-dir=…`), the
/// sum of their proportional set sizes (`Pss` in `smaps_rollup`: pages shared between
/// Chromium's processes counted once), and how many browsers ran at once.
pub struct BrowserRss {
    peak: Arc<std::sync::Mutex<(u64, usize)>>,
}

impl BrowserRss {
    pub fn start() -> Self {
        let peak = Arc::new(std::sync::Mutex::new((0u64, 0usize)));
        let shared = peak.clone();
        let mark = format!(
            "--user-data-dir={}/castellan-browser-{}-",
            std::env::temp_dir().display(),
            std::process::id()
        );
        std::thread::spawn(move || loop {
            let mut per: BTreeMap<String, u64> = BTreeMap::new();
            let pids = std::fs::read_dir("/proc").into_iter().flatten();
            for p in pids.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
                let Ok(cmd) = std::fs::read(format!("/proc/{p}/cmdline")) else {
                    continue;
                };
                let cmd = String::from_utf8_lossy(&cmd).into_owned();
                let Some(dir) = cmd.split('\0').find(|a| a.starts_with(&mark)) else {
                    continue;
                };
                let rollup =
                    std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
                let pss = rollup.lines().find(|l| l.starts_with("Pss:"));
                let kb = pss.and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
                *per.entry(dir.to_owned()).or_default() += kb.unwrap_or(0);
            }
            let mut p = shared.lock().unwrap();
            p.0 = p.0.max(per.values().copied().max().unwrap_or(0));
            p.1 = p.1.max(per.len());
            drop(p);
            std::thread::sleep(Duration::from_millis(100));
        });
        Self { peak }
    }

    /// The peak per browser in MB and the most browsers at once; `None` when none ran.
    pub fn peak_mb(&self) -> Option<(f64, usize)> {
        let (kb, n) = *self.peak.lock().unwrap();
        (kb > 0).then(|| (kb as f64 / 1024.0, n))
    }
}
