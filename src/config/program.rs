//! Finding an exec probe's program the way `execvp` will: a name with a `/`
//! is used as it is, any other is searched on the command's PATH. Done at
//! start-up so a probe that can never run is a configuration error, not a
//! stream of failures that kills the app.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// execvp's search path when PATH is unset.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn is_executable_file(p: &Path) -> bool {
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Where `name` would be executed from, or `None` if it would not be found.
pub fn find(name: &str, path: Option<&str>) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable_file(&p).then_some(p);
    }
    path.unwrap_or(DEFAULT_PATH)
        .split(':')
        .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(OsStr::new(name)))
        .find(|p| is_executable_file(p))
}

/// `curl` and `wget` in an exec probe: an `http_get` probe does their job.
pub fn http_tool_hint(name: &str) -> Option<&'static str> {
    let base = name.rsplit('/').next().unwrap_or(name);
    matches!(base, "curl" | "wget").then_some(
        "an http_get probe checks an HTTP endpoint with no program in the image: \
         {\"http_get\": {\"path\": \"/health\", \"port\": 8000}}",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup() {
        assert_eq!(find("/bin/sh", None), Some(PathBuf::from("/bin/sh")));
        assert_eq!(
            find("sh", Some("/nonexistent:/bin")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert_eq!(find("sh", Some("/nonexistent")), None);
        assert_eq!(find("no-such-program-vigil", None), None);
        // A directory is not a program.
        assert_eq!(find("/bin", None), None);
        assert_eq!(find("", None), None);
    }
}
