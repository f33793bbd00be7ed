//! Project tasks. Run as `cargo xtask <task>`.

fn main() -> anyhow::Result<()> {
    anyhow::bail!("usage: cargo xtask <conformance|schemas|snapshots|bench>")
}
