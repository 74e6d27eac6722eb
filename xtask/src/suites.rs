//! The suites of `cargo xtask test` and the line that ends the run: how many passed, failed
//! and were not run, naming each suite not run and why. A suite not run (a tool missing
//! here) fails the run under `CI=true`, where `.ci/run` installs every tool; elsewhere it is
//! reported, never counted as a pass.

/// How a suite that did not fail ended.
pub(crate) enum Outcome {
    /// It ran and passed.
    Passed,
    /// It could not run on this machine, for the reason given (what is missing, and how to
    /// get it).
    NotRun(String),
}

/// The suites run so far, in order.
#[derive(Default)]
pub(crate) struct Ledger {
    suites: Vec<(String, Result<Outcome, String>)>,
}

impl Ledger {
    /// Runs suite `name` and records how it ended; a failure is reported at once and the
    /// run goes on with the next suite.
    pub(crate) fn run(&mut self, name: &str, suite: impl FnOnce() -> Result<Outcome, String>) {
        eprintln!("xtask: ===== suite: {name} =====");
        let outcome = suite();
        match &outcome {
            Ok(Outcome::Passed) => eprintln!("xtask: suite passed: {name}"),
            Ok(Outcome::NotRun(why)) => {
                eprintln!("xtask: ********** suite NOT RUN: {name}: {why} **********")
            }
            Err(e) => eprintln!("xtask: ********** suite FAILED: {name}: {e} **********"),
        }
        self.suites.push((name.to_owned(), outcome));
    }

    /// Prints the closing line and says whether the run passed: no suite failed, and under
    /// `ci` none was left unrun.
    pub(crate) fn finish(self, ci: bool) -> Result<(), String> {
        let failed: Vec<&str> = self
            .suites
            .iter()
            .filter(|(_, o)| o.is_err())
            .map(|(n, _)| n.as_str())
            .collect();
        let not_run: Vec<String> = self
            .suites
            .iter()
            .filter_map(|(n, o)| match o {
                Ok(Outcome::NotRun(why)) => Some(format!("{n}: {why}")),
                _ => None,
            })
            .collect();
        let passed = self.suites.len() - failed.len() - not_run.len();
        let mut line = format!(
            "xtask: suites: {passed} passed, {} failed, {} not run",
            failed.len(),
            not_run.len()
        );
        if !failed.is_empty() {
            line += &format!("; failed: {}", failed.join(", "));
        }
        if !not_run.is_empty() {
            line += &format!("; not run: {}", not_run.join("; "));
        }
        eprintln!("{line}");
        if !failed.is_empty() {
            return Err(format!(
                "{} suite(s) failed: {}",
                failed.len(),
                failed.join(", ")
            ));
        }
        if !not_run.is_empty() {
            if ci {
                return Err(format!(
                    "{} suite(s) not run under CI=true (CI installs every tool): {}",
                    not_run.len(),
                    not_run.join("; ")
                ));
            }
            eprintln!("xtask: tests passed, but NOT ALL SUITES RAN (see the line above)");
            return Ok(());
        }
        eprintln!("xtask: all tests passed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(outcomes: Vec<Result<Outcome, String>>) -> Ledger {
        let mut l = Ledger::default();
        for (i, o) in outcomes.into_iter().enumerate() {
            l.run(&format!("s{i}"), || o);
        }
        l
    }

    #[test]
    fn a_failed_suite_fails_the_run() {
        let l = ledger(vec![Ok(Outcome::Passed), Err("boom".into())]);
        assert!(l.finish(false).unwrap_err().contains("s1"));
    }

    #[test]
    fn a_suite_not_run_fails_only_under_ci() {
        let make = || {
            ledger(vec![
                Ok(Outcome::Passed),
                Ok(Outcome::NotRun("no qemu".into())),
            ])
        };
        assert!(make().finish(false).is_ok());
        let e = make().finish(true).unwrap_err();
        assert!(e.contains("s1: no qemu"), "{e}");
    }

    #[test]
    fn all_passed() {
        assert!(ledger(vec![Ok(Outcome::Passed)]).finish(true).is_ok());
    }
}
