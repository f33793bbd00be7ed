//! The checked-in schemas and fixtures of each finished profile pass the fixture check.

use conformance::fixtures::{check_profile, Roots};

use crate::FINISHED;

#[test]
fn every_fixture_honours_its_label() {
    let roots = Roots::workspace();
    for &profile in FINISHED {
        let report = check_profile(&roots, profile);
        let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        assert!(
            failures.is_empty(),
            "{profile}: {} failure(s)\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(report.schemas > 0 && report.valid > 0 && report.invalid > 0);
    }
}
