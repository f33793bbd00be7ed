//! Property-based and model-based conformance: schema-derived strategies, message properties, and reference
//! models checked against small in-test servers.

mod m2_model;
mod m2_properties;
mod m2_server;
mod schemas;
