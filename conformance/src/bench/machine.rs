//! What the figures were measured on: cores, CPU model, OS, build profile, open-files limit.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    /// `model name` of /proc/cpuinfo.
    pub cpu: String,
    /// `PRETTY_NAME` of /etc/os-release.
    pub os: String,
    pub kernel: String,
    /// The soft limit on open files of this process (`ulimit -n`).
    pub open_files_limit: Option<u64>,
}

impl Machine {
    pub fn detect() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1),
            cpu: field(&read("/proc/cpuinfo"), "model name", ':')
                .unwrap_or_else(|| "unknown".into()),
            os: field(&read("/etc/os-release"), "PRETTY_NAME", '=')
                .map(|v| v.trim_matches('"').to_owned())
                .unwrap_or_else(|| std::env::consts::OS.to_owned()),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            open_files_limit: open_files_limit(),
        }
    }
}

/// `debug` or `release`: the cargo profile this code was built with.
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The soft limit on open files, from /proc/self/limits.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The value of the first `name<separator>value` line.
fn field(text: &str, name: &str, separator: char) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(separator)?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_from_proc_style_text() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n";
        assert_eq!(
            field(cpuinfo, "model name", ':').as_deref(),
            Some("AMD EPYC 7B13")
        );
        let release = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            field(release, "PRETTY_NAME", '=').as_deref(),
            Some("\"Debian GNU/Linux 12 (bookworm)\"")
        );
        assert_eq!(field(release, "VERSION", '='), None);
    }
}
