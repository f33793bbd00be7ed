//! Property-based and model-based conformance: schema-derived strategies, message properties, and reference
//! models checked against small in-test servers.

mod schemas;
