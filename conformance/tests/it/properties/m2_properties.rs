//! The m2 message properties against the in-test m2 server: valid messages pass; its leniency (it ignores
//! members it does not know and leaves unknown resource types unanswered) is found by the invalid-message
//! property, shrunk to one message and printed.

use conformance::Outcome;

use super::m2_model::{run_case, target};
use super::m2_server::{start, Fault};
use crate::scratch::ScratchDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_messages_pass_against_a_server_that_answers_them() {
    let server = start(Fault::None).await;
    let regressions = ScratchDir::new("m2-valid-properties");
    let report = run_case(
        "m2.property.valid-subscribe-accepted",
        target(&server, 32, &regressions),
        3,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.outcome);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_accepting_unknown_members_fails_the_invalid_message_property() {
    let server = start(Fault::None).await;
    let regressions = ScratchDir::new("m2-invalid-properties");
    let report = run_case(
        "m2.property.invalid-message-error-and-usable",
        target(&server, 64, &regressions),
        3,
    )
    .await;
    let Outcome::Fail(reason) = &report.outcome else {
        panic!("expected a failure, got {:?}", report.outcome);
    };
    assert!(reason.contains("minimal failing message:"), "{reason}");
    assert!(
        reason.contains("mutation: "),
        "the mutation is named:\n{reason}"
    );
    assert!(reason.contains(" -> "), "no exchange in:\n{reason}");
    assert!(
        reason.contains("expected exactly {\"error\": \"Invalid message format\"}"),
        "the documented error is what was missing:\n{reason}"
    );
}
