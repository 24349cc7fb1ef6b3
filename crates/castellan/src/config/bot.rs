//! The bot's settings (`serve` and `worker`): how many workers, the job lease, the schedule
//! poll and the first retry delay.

use std::time::Duration;

use anyhow::Result;
use clap::Args;

use super::keys::{JOB_LEASE_SECS, RETRY_BASE_SECS, SCHEDULE_POLL_SECS, WORKERS};
use super::{secs, Layers};

/// The most workers one process may run.
pub const MAX_WORKERS: usize = 64;
/// Longest job lease or schedule poll: a day.
const MAX_SECS: u64 = 86_400;
/// Longest first retry delay: the backoff's own ceiling (10 minutes).
const MAX_RETRY_BASE_SECS: u64 = 600;

/// Flags of the bot.
#[derive(Debug, Clone, Default, Args)]
pub struct BotArgs {
    /// Bot workers to run in this process, 0 (none) to 64; default 1.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Seconds a worker holds a job before another may take it over, 3 to 86400; default 60.
    #[arg(long, value_name = "S")]
    job_lease_secs: Option<u64>,
    /// Seconds between checks for hubs whose scheduled sync is due, 1 to 86400; default 30.
    #[arg(long, value_name = "S")]
    schedule_poll_secs: Option<u64>,
    /// First retry delay in seconds (doubles per attempt, with jitter), 1 to 600; default 5.
    #[arg(long, value_name = "S")]
    retry_base_secs: Option<u64>,
}

/// The bot's settings, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotSettings {
    /// Workers in this process (0..=64).
    pub workers: usize,
    /// How long a worker holds a job (3 s to a day).
    pub job_lease: Duration,
    /// How often due scheduled syncs are looked for (1 s to a day).
    pub schedule_poll: Duration,
    /// The first retry delay (1 s to 10 min).
    pub retry_base: Duration,
}

impl BotArgs {
    /// Resolves the flags over `layers`. Errors: a value does not parse or is out of its
    /// bounds; the message names its flag, variable or file key.
    pub fn resolve(&self, layers: &Layers) -> Result<BotSettings> {
        Ok(BotSettings {
            workers: layers
                .get_or(&WORKERS, self.workers, 1)?
                .within(0, MAX_WORKERS, "")?,
            job_lease: secs(
                layers.get_or(&JOB_LEASE_SECS, self.job_lease_secs, 60)?,
                3,
                MAX_SECS,
            )?,
            schedule_poll: secs(
                layers.get_or(&SCHEDULE_POLL_SECS, self.schedule_poll_secs, 30)?,
                1,
                MAX_SECS,
            )?,
            retry_base: secs(
                layers.get_or(&RETRY_BASE_SECS, self.retry_base_secs, 5)?,
                1,
                MAX_RETRY_BASE_SECS,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_layers;

    fn resolve(args: &BotArgs, file: &str, env: &[(&str, &str)]) -> Result<BotSettings> {
        args.resolve(&test_layers(file, env)?)
    }

    #[test]
    fn bot_settings_come_from_the_file_the_environment_and_flags() {
        let file = "workers = 3\njob_lease_secs = 90\nschedule_poll_secs = 15\nretry_base_secs = 2";
        let s = resolve(&BotArgs::default(), file, &[]).unwrap();
        assert_eq!(
            s,
            BotSettings {
                workers: 3,
                job_lease: Duration::from_secs(90),
                schedule_poll: Duration::from_secs(15),
                retry_base: Duration::from_secs(2),
            }
        );
        let env = [
            ("CASTELLAN_WORKERS", "0"),
            ("CASTELLAN_JOB_LEASE_SECS", "8"),
        ];
        let s = resolve(&BotArgs::default(), file, &env).unwrap();
        assert_eq!((s.workers, s.job_lease.as_secs()), (0, 8));
        let flags = BotArgs {
            workers: Some(2),
            ..BotArgs::default()
        };
        assert_eq!(resolve(&flags, file, &env).unwrap().workers, 2);
        let d = resolve(&BotArgs::default(), "", &[]).unwrap();
        assert_eq!(
            (d.workers, d.job_lease.as_secs(), d.retry_base.as_secs()),
            (1, 60, 5)
        );
    }

    #[test]
    fn out_of_bounds_values_are_refused_by_name() {
        let e = resolve(&BotArgs::default(), "job_lease_secs = 1", &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "`job_lease_secs` in c.toml must be between 3 and 86400 seconds, not 1"
        );
        let e = resolve(&BotArgs::default(), "", &[("CASTELLAN_WORKERS", "1000")])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "CASTELLAN_WORKERS must be between 0 and 64, not 1000");
        let flags = BotArgs {
            retry_base_secs: Some(0),
            ..BotArgs::default()
        };
        let e = resolve(&flags, "", &[]).unwrap_err().to_string();
        assert!(
            e.starts_with("--retry-base-secs must be between 1 and 600"),
            "{e}"
        );
    }
}
