//! Local assets on disk: the packager behind [`cairn_core::asset`].
//!
//! A path names a file or folder relative to the project directory:
//! - a folder becomes a zip archive of every file below it (symbolic links followed),
//!   entries sorted by their path, with `/` separators;
//! - a `.zip` file is the archive as it is;
//! - any other file becomes an archive of that one file, under its own name.
//!
//! Archives are made by [`cairn_core::zip`]: stored, fixed timestamps and modes (`0755`
//! for a file with an execute bit, else `0644`), so the same content gives the same
//! bytes: touching files changes nothing, changing one changes the digest. Each path is
//! packaged once per run and kept in memory, so what is uploaded is what the plan showed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cairn_core::asset::{Asset, Packager};
use cairn_core::zip;

/// Folders nested deeper than this are refused (a symbolic link loop).
const MAX_DEPTH: usize = 64;

/// A packaged asset and its archive.
type Packaged = (Asset, Arc<Vec<u8>>);

pub struct FsPackager {
    root: PathBuf,
    /// By path, as this run packaged it.
    packaged: Mutex<HashMap<String, Packaged>>,
}

impl FsPackager {
    pub fn new(root: PathBuf) -> FsPackager {
        FsPackager { root, packaged: Mutex::default() }
    }

    fn make(&self, path: &str) -> Result<Packaged, String> {
        if path.is_empty() {
            return Err("the path is empty: give a file or folder of the project, e.g. `functions/api`".into());
        }
        if Path::new(path).is_absolute() {
            return Err(format!("`{path}` is absolute: give the path relative to the project directory"));
        }
        let full = self.root.join(path);
        let meta = std::fs::metadata(&full).map_err(|e| format!("cannot read `{path}`: {}", io_reason(&e)))?;
        let bytes = if meta.is_dir() {
            let mut files = Vec::new();
            collect(&full, "", 0, &mut files).map_err(|e| format!("cannot package `{path}`: {e}"))?;
            if files.is_empty() {
                return Err(format!("the folder `{path}` has no files"));
            }
            files.sort_by(|a, b| a.0.cmp(&b.0));
            let entries: Vec<zip::Entry<'_>> = files
                .iter()
                .map(|(name, data, executable)| zip::Entry { name, data, executable: *executable })
                .collect();
            zip::archive(&entries).map_err(|e| format!("cannot package `{path}`: {e}"))?
        } else {
            let data = std::fs::read(&full).map_err(|e| format!("cannot read `{path}`: {}", io_reason(&e)))?;
            if path.to_ascii_lowercase().ends_with(".zip") {
                data
            } else {
                let name = full.file_name().and_then(|n| n.to_str()).unwrap_or("file").to_string();
                let entry = zip::Entry { name: &name, data: &data, executable: executable(&meta) };
                zip::archive(&[entry]).map_err(|e| format!("cannot package `{path}`: {e}"))?
            }
        };
        let asset = Asset { path: path.to_string(), sha256: Asset::digest(&bytes) };
        Ok((asset, Arc::new(bytes)))
    }
}

impl Packager for FsPackager {
    fn package(&self, path: &str) -> Result<Asset, String> {
        if let Some((a, _)) = self.packaged.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
            return Ok(a.clone());
        }
        let made = self.make(path)?;
        let asset = made.0.clone();
        self.packaged.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_string(), made);
        Ok(asset)
    }

    fn archive(&self, asset: &Asset) -> Result<Arc<Vec<u8>>, String> {
        let known = self.packaged.lock().unwrap_or_else(|e| e.into_inner()).get(&asset.path).cloned();
        let (now, bytes) = match known {
            Some(k) => k,
            None => self.make(&asset.path)?,
        };
        if now.sha256 != asset.sha256 {
            return Err(format!(
                "the files of `{}` changed since the plan was made (their archive's SHA-256 is now {}, the plan has {}): run the command again",
                asset.path, now.sha256, asset.sha256
            ));
        }
        Ok(bytes)
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder in the project".into(),
        _ => e.to_string(),
    }
}

#[cfg(unix)]
fn executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// The files below `dir` as (path inside the archive, content, executable).
fn collect(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<(String, Vec<u8>, bool)>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("folders nested deeper than {MAX_DEPTH} below `{prefix}` (a symbolic link loop?)"));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            return Err(format!("a file name below `{prefix}` is not UTF-8: {}", name.to_string_lossy()));
        };
        let rel = if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|e| format!("{rel}: {e}"))?;
        if meta.is_dir() {
            collect(&path, &rel, depth + 1, out)?;
        } else {
            let data = std::fs::read(&path).map_err(|e| format!("{rel}: {e}"))?;
            out.push((rel, data, executable(&meta)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn digest(root: &Path, path: &str) -> String {
        FsPackager::new(root.to_path_buf()).package(path).unwrap().sha256
    }

    #[test]
    fn the_same_files_give_the_same_digest_whatever_their_times_and_order_of_writing() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(a.path(), "fn/index.js", "exports.handler = 1;");
        write(a.path(), "fn/lib/util.js", "module.exports = 2;");
        // Written in the other order, later.
        write(b.path(), "fn/lib/util.js", "module.exports = 2;");
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(b.path(), "fn/index.js", "exports.handler = 1;");
        assert_eq!(digest(a.path(), "fn"), digest(b.path(), "fn"));
        // Rewriting a file with the same content changes nothing; a changed byte does.
        let before = digest(a.path(), "fn");
        write(a.path(), "fn/index.js", "exports.handler = 1;");
        assert_eq!(digest(a.path(), "fn"), before);
        write(a.path(), "fn/index.js", "exports.handler = 2;");
        assert_ne!(digest(a.path(), "fn"), before);
    }

    #[test]
    fn a_zip_file_is_taken_as_is_and_another_file_is_zipped_alone() {
        let d = tempfile::tempdir().unwrap();
        let z = zip::single_file("index.py", b"x = 1\n");
        std::fs::write(d.path().join("code.zip"), &z).unwrap();
        write(d.path(), "handler.py", "x = 1\n");
        let p = FsPackager::new(d.path().to_path_buf());
        let a = p.package("code.zip").unwrap();
        assert_eq!(a.sha256, Asset::digest(&z));
        assert_eq!(*p.archive(&a).unwrap(), z);
        let h = p.package("handler.py").unwrap();
        assert_eq!(*p.archive(&h).unwrap(), zip::single_file("handler.py", b"x = 1\n"));
    }

    #[test]
    fn the_archive_is_what_was_planned_or_an_error() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "fn/index.js", "v1");
        let planned = FsPackager::new(d.path().to_path_buf()).package("fn").unwrap();
        write(d.path(), "fn/index.js", "v2");
        // Another run (a fresh packager) sees the new files: not what the plan has.
        let e = FsPackager::new(d.path().to_path_buf()).archive(&planned).unwrap_err();
        assert!(e.contains("changed since the plan was made"), "{e}");
    }

    #[test]
    fn errors_name_the_path() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("empty")).unwrap();
        let p = FsPackager::new(d.path().to_path_buf());
        assert_eq!(p.package("missing").unwrap_err(), "cannot read `missing`: no such file or folder in the project");
        assert_eq!(p.package("empty").unwrap_err(), "the folder `empty` has no files");
        assert!(p.package("/etc").unwrap_err().contains("relative to the project directory"));
    }

    #[cfg(unix)]
    #[test]
    fn an_executable_keeps_its_execute_bit_and_only_that() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "fn/bootstrap", "#!/bin/sh\n");
        let before = digest(d.path(), "fn");
        let file = d.path().join("fn/bootstrap");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        let exec = digest(d.path(), "fn");
        assert_ne!(exec, before);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(digest(d.path(), "fn"), exec, "only whether it is executable counts");
    }
}
