//! The ready file (`--ready-file PATH`): it exists exactly while vigil reports
//! ready, holding one line of JSON (`{"pid":12,"since":"...","restarts":0}`).
//! It is written to a temporary file in the same directory and renamed over
//! PATH, so a reader sees either no file or the whole line, never a part.
//!
//! `new` checks the directory at start-up (its error is a start-up error);
//! after that every error is an `io::Error` naming the path, for the caller
//! to log: the ready file never stops vigil.

use crate::log::reason;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub(crate) struct ReadyFile {
    path: PathBuf,
    /// `.<name>.<pid>.tmp` in the same directory: `rename` is atomic only
    /// within one file system. The pid keeps two vigils of one PID
    /// namespace apart; a temporary file a crashed run left is truncated and
    /// reused.
    temp: PathBuf,
}

/// The one line the file holds (without its newline).
pub(crate) fn body(pid: i32, since: &str, restarts: u32) -> String {
    // serde_json only to quote `since`: it is linked anyway.
    let since = serde_json::Value::from(since);
    format!("{{\"pid\":{pid},\"since\":{since},\"restarts\":{restarts}}}")
}

/// `e` with `what` and the path in front, keeping its kind.
fn context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("cannot {what} {}: {}", path.display(), reason(&e)),
    )
}

impl ReadyFile {
    /// Checks that PATH can be written (creating its directory, mode 0755, if
    /// missing) and removes a ready file a previous run left behind. The
    /// error names PATH and the reason.
    pub(crate) fn new(path: PathBuf) -> Result<ReadyFile, String> {
        let fail = |what: String| format!("--ready-file {}: {what}", path.display());
        let Some(name) = path.file_name() else {
            return Err(fail("not a file name".to_string()));
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = dir.join(temp_name);

        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(fail(format!("{} is not a directory", dir.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(&dir)
                .map_err(|e| {
                    fail(format!(
                        "cannot create the directory {}: {}",
                        dir.display(),
                        reason(&e)
                    ))
                })?,
            Err(e) => return Err(fail(format!("{}: {}", dir.display(), reason(&e)))),
        }
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            return Err(fail("is a directory".to_string()));
        }
        write_file(&temp, "")
            .and_then(|()| fs::remove_file(&temp))
            .map_err(|e| {
                fail(format!(
                    "cannot write in the directory {}: {}",
                    dir.display(),
                    reason(&e)
                ))
            })?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(fail(format!(
                "cannot remove the file a previous run left: {}",
                reason(&e)
            ))),
            _ => Ok(ReadyFile { path, temp }),
        }
    }

    /// Makes PATH hold `body` and a newline, atomically. Calling it again
    /// replaces the content.
    pub(crate) fn set_ready(&mut self, body: &str) -> io::Result<()> {
        let mut line = String::with_capacity(body.len() + 1);
        line.push_str(body);
        line.push('\n');
        // No fsync: readiness is transient. After a crash of the machine the
        // file means nothing anyway, and the next vigil removes it at start.
        let written = write_file(&self.temp, &line)
            .map_err(|e| context(e, "write", &self.temp))
            .and_then(|()| {
                fs::rename(&self.temp, &self.path).map_err(|e| context(e, "replace", &self.path))
            });
        if written.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        written
    }

    /// Removes PATH; a file that is already gone is fine.
    pub(crate) fn set_not_ready(&mut self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(context(e, "remove", &self.path)),
            _ => Ok(()),
        }
    }
}

impl Drop for ReadyFile {
    fn drop(&mut self) {
        let _ = self.set_not_ready();
    }
}

/// Creates `path` afresh (mode 0644) and writes `text` to it. Whatever is
/// at `path` is unlinked first and the new file is created exclusively,
/// never following a symlink: someone who can write the directory cannot
/// make vigil (root) truncate or write another file through the temporary
/// name, which is predictable (vigil is pid 1 in every container).
fn write_file(path: &Path, text: &str) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(path)?
        .write_all(text.as_bytes())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::Arc;

    /// A fresh directory under the system's temporary one, removed on drop.
    pub(crate) struct Scratch(pub(crate) PathBuf);

    impl Scratch {
        pub(crate) fn new(tag: &str) -> Scratch {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("vigil-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const LINE: &str = "{\"pid\":12,\"since\":\"2026-11-30T03:20:01.123Z\",\"restarts\":0}";

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A ready file at `name` in a fresh directory.
    fn fresh(name: &str) -> (Scratch, PathBuf, ReadyFile) {
        let dir = Scratch::new("ready-file");
        let path = dir.0.join(name);
        let file = ReadyFile::new(path.clone()).unwrap();
        (dir, path, file)
    }

    #[test]
    fn body_is_one_json_object() {
        assert_eq!(body(12, "2026-11-30T03:20:01.123Z", 0), LINE);
        assert_eq!(
            body(1, "a\"b\\c\n", 4_000_000_000),
            r#"{"pid":1,"since":"a\"b\\c\n","restarts":4000000000}"#
        );
    }

    #[test]
    fn appears_when_ready_and_disappears_when_not() {
        let (dir, path, mut file) = fresh("ready");
        assert!(!path.exists());
        file.set_ready(LINE).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{LINE}\n"));
        // Idempotent, and a new body replaces the old one.
        file.set_ready(LINE).unwrap();
        file.set_ready("{}").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
        file.set_not_ready().unwrap();
        assert!(!path.exists());
        file.set_not_ready().unwrap();
        // Nothing but the ready file is ever left in the directory.
        file.set_ready(LINE).unwrap();
        assert_eq!(names(&dir.0), ["ready"]);
        file.set_not_ready().unwrap();
        assert!(names(&dir.0).is_empty());
    }

    #[test]
    fn a_reader_sees_the_whole_line_or_no_file() {
        let (_dir, path, mut file) = fresh("ready");
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                for _ in 0..1000 {
                    file.set_ready(LINE).unwrap();
                    file.set_not_ready().unwrap();
                }
                done.store(true, Ordering::Release);
            })
        };
        let (mut seen, mut missing) = (0u32, 0u32);
        while !done.load(Ordering::Acquire) {
            match fs::read_to_string(&path) {
                Ok(text) => {
                    assert_eq!(text, format!("{LINE}\n"));
                    seen += 1;
                }
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::NotFound);
                    missing += 1;
                }
            }
        }
        writer.join().unwrap();
        assert!(seen + missing > 0);
    }

    #[test]
    fn a_symlink_at_the_temporary_name_is_never_followed() {
        let dir = Scratch::new("symlink");
        let victim = dir.0.join("victim");
        fs::write(&victim, "data\n").unwrap();
        let path = dir.0.join("ready");
        let mut file = ReadyFile::new(path.clone()).unwrap();
        let temp = dir.0.join(format!(".ready.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &temp).unwrap();
        file.set_ready("{}").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "data\n");
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
        assert!(!fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn creates_a_missing_directory() {
        let (dir, path, mut file) = fresh("a/b/ready");
        file.set_ready(LINE).unwrap();
        assert!(path.exists());
        assert!(names(&dir.0.join("a/b")) == ["ready"]);
    }

    #[test]
    fn an_unusable_directory_is_an_error_at_start() {
        let dir = Scratch::new("ready-file-unusable");
        let plain = dir.0.join("plain");
        fs::write(&plain, "").unwrap();
        let sub = plain.join("sub");
        for (path, why) in [
            (
                plain.join("ready"),
                format!("{} is not a directory", plain.display()),
            ),
            (
                sub.join("ready"),
                format!("{}: Not a directory", sub.display()),
            ),
        ] {
            let expected = format!("--ready-file {}: {why}", path.display());
            assert_eq!(ReadyFile::new(path).unwrap_err(), expected);
        }
        // A directory root cannot write in either: procfs takes no new files.
        if Path::new("/proc/self").exists() {
            assert_eq!(
            ReadyFile::new(PathBuf::from("/proc/vigil-ready")).unwrap_err(),
            "--ready-file /proc/vigil-ready: cannot write in the directory /proc: No such file or directory"
        );
        }
        let is_dir = dir.0.join("is-dir");
        fs::create_dir(&is_dir).unwrap();
        assert_eq!(
            ReadyFile::new(is_dir.clone()).unwrap_err(),
            format!("--ready-file {}: is a directory", is_dir.display())
        );
    }

    #[test]
    fn a_stale_file_is_removed_at_start() {
        let dir = Scratch::new("ready-file-stale");
        let path = dir.0.join("ready");
        fs::write(&path, "{\"pid\":1}\n").unwrap();
        let _file = ReadyFile::new(path.clone()).unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn drop_removes_the_file() {
        let (_dir, path, mut file) = fresh("ready");
        file.set_ready(LINE).unwrap();
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn errors_after_start_are_returned_not_fatal() {
        let dir = Scratch::new("ready-file-late-error");
        let sub = dir.0.join("sub");
        let path = sub.join("ready");
        let mut file = ReadyFile::new(path.clone()).unwrap();
        fs::remove_dir(&sub).unwrap();
        let e = file.set_ready(LINE).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            e.to_string(),
            format!(
                "cannot write {}: No such file or directory",
                sub.join(format!(".ready.{}.tmp", std::process::id()))
                    .display()
            )
        );
        // Not ready when the directory is gone is still "not there".
        file.set_not_ready().unwrap();
    }
}
