//! The harness and the reference server share no code: neither crate depends on the other, in any
//! dependency table, so one cannot mask the other's misreading of a document.

use std::path::Path;

fn dependency_names(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).expect("read the manifest");
    let doc: toml::Table = text.parse().expect("parse the manifest");
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|table| doc.get(*table).and_then(toml::Value::as_table))
        .flat_map(|table| table.keys().cloned())
        .collect()
}

#[test]
fn the_harness_and_the_reference_server_do_not_depend_on_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let harness = dependency_names(&root.join("conformance/Cargo.toml"));
    let server = dependency_names(&root.join("reference-server/Cargo.toml"));
    assert!(
        !harness.is_empty() && !server.is_empty(),
        "both manifests list dependencies"
    );
    assert!(
        !harness.iter().any(|d| d == "reference-server"),
        "conformance depends on reference-server: {harness:?}"
    );
    assert!(
        !server.iter().any(|d| d == "conformance"),
        "reference-server depends on conformance: {server:?}"
    );
}
