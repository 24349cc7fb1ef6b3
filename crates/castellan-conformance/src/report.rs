//! What a run of the suite found: each case passed, unsupported (with the reason) or failed (with
//! the message), and the one-line summary printed for the CI log.

use std::fmt::Write as _;
use std::io::Write as _;

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The connector did what the contract says.
    Passed,
    /// The connector (or its fixture) declares it cannot do this: why.
    Unsupported(String),
    /// The connector did something else: what.
    Failed(String),
}

/// One case and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name, e.g. `invite again`.
    pub case: String,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took, in milliseconds.
    pub millis: u128,
}

/// Every case of one run, in the order they ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The connector's name (`describe().name`).
    pub connector: String,
    /// The cases.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// An empty report for `connector`.
    pub fn new(connector: &str) -> Self {
        Self {
            connector: connector.to_owned(),
            cases: Vec::new(),
        }
    }

    /// How `case` ended, `None` when it did not run.
    pub fn outcome(&self, case: &str) -> Option<&Outcome> {
        self.cases
            .iter()
            .find(|c| c.case == case)
            .map(|c| &c.outcome)
    }

    /// Whether `case` ran and passed.
    pub fn passed(&self, case: &str) -> bool {
        self.outcome(case) == Some(&Outcome::Passed)
    }

    fn names(&self, pick: impl Fn(&Outcome) -> bool) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|c| pick(&c.outcome))
            .map(|c| c.case.as_str())
            .collect()
    }

    /// The failed cases with their messages.
    pub fn failures(&self) -> Vec<(&str, &str)> {
        self.cases
            .iter()
            .filter_map(|c| match &c.outcome {
                Outcome::Failed(m) => Some((c.case.as_str(), m.as_str())),
                _ => None,
            })
            .collect()
    }

    /// `conformance <connector>: passed N/M; unsupported: a, b; failed: c` (`none` for an empty
    /// list), M counting every case.
    pub fn summary(&self) -> String {
        let list = |names: Vec<&str>| {
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        };
        format!(
            "conformance {}: passed {}/{}; unsupported: {}; failed: {}",
            self.connector,
            self.names(|o| *o == Outcome::Passed).len(),
            self.cases.len(),
            list(self.names(|o| matches!(o, Outcome::Unsupported(_)))),
            list(self.names(|o| matches!(o, Outcome::Failed(_)))),
        )
    }

    /// The summary, then one line per case (`  passed  invite (812 ms)`, with the reason or the
    /// message of the others).
    pub fn details(&self) -> String {
        let mut out = self.summary();
        for c in &self.cases {
            let (word, why) = match &c.outcome {
                Outcome::Passed => ("passed", String::new()),
                Outcome::Unsupported(r) => ("unsupported", format!(": {r}")),
                Outcome::Failed(m) => ("FAILED", format!(": {m}")),
            };
            let _infallible = write!(out, "\n  {word:<11} {} ({} ms){why}", c.case, c.millis);
        }
        out
    }

    /// Writes [`Report::details`] to the process's standard output directly, not through
    /// `print!`: the test harness captures `print!` and `eprint!` (and drops what a passing test
    /// printed), but not direct writes, so the summary reaches the CI log with or without
    /// `--nocapture`.
    pub fn print(&self) {
        let mut out = std::io::stdout().lock();
        let _best_effort = writeln!(out, "{}", self.details()).and_then(|()| out.flush());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_every_case() {
        let mut r = Report::new("app");
        for (case, outcome) in [
            ("a", Outcome::Passed),
            ("b", Outcome::Unsupported("no".into())),
            ("c", Outcome::Failed("broke".into())),
            ("d", Outcome::Passed),
        ] {
            r.cases.push(CaseResult {
                case: case.into(),
                outcome,
                millis: 1,
            });
        }
        assert_eq!(
            r.summary(),
            "conformance app: passed 2/4; unsupported: b; failed: c"
        );
        assert_eq!(r.failures(), [("c", "broke")]);
        assert!(r.passed("a") && !r.passed("b") && !r.passed("zz"));
        assert!(r.details().contains("\n  FAILED      c (1 ms): broke"));
        assert_eq!(
            Report::new("x").summary(),
            "conformance x: passed 0/0; unsupported: none; failed: none"
        );
    }
}
