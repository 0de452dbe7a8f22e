//! Allowed roots: the only folders the MCP tools (and the verbs they share with the CLI) may read
//! or write.
//!
//! Default: the working directory (unless it is `/` or the home folder: see
//! [`Roots::from_cwd_and`]). More come from `--allow-root DIR` flags and the environment
//! variable `PIXELSMITH_ROOTS` (a path list, `:`-separated). Every path is resolved before the
//! containment check: NUL bytes are refused, relative paths are taken against the first root,
//! and symlinks are resolved (`canonicalize`); a file that does not exist yet is checked through
//! its parent's real path. So a symlink inside a root that points outside it is refused. A
//! `file:///…` URI is taken as its path; pipes, sockets and devices are refused (a read of a FIFO
//! never ends).
//!
//! Outputs are written atomically (a temporary file created exclusively next to the target, then
//! renamed over it), so a reader never sees half a PNG and a crash leaves no partial file behind.
//! This module does not decide *what* to read or write; the verbs do.

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// The environment variable holding extra roots (a `:`-separated path list).
pub const ROOTS_ENV: &str = "PIXELSMITH_ROOTS";

/// Why a path was refused or a root could not be used. Each message names the allowed roots or
/// the path, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the path contains a NUL byte; pass a plain file path")]
    NulByte,
    #[error("the path is empty; pass a file path inside {}", RootList(.roots))]
    Empty { roots: Vec<PathBuf> },
    #[error(
        "{} is outside the allowed roots ({}); use a path inside them, or restart the server with \
         --allow-root DIR (or {ROOTS_ENV}) to allow another folder",
        .path.display(), RootList(.roots)
    )]
    Outside { path: PathBuf, roots: Vec<PathBuf> },
    #[error("{} does not exist (allowed roots: {})", .path.display(), RootList(.roots))]
    NotFound { path: PathBuf, roots: Vec<PathBuf> },
    #[error("the folder {} for the new file does not exist; create it first or pick another output path", .0.display())]
    NoParent(PathBuf),
    #[error("{} is not a file name; give the output a file name such as picture.pixel.png", .0.display())]
    NotAFileName(PathBuf),
    #[error("the allowed root {} cannot be used: {source}", .path.display())]
    BadRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the allowed root {} is not a directory", .0.display())]
    RootNotADirectory(PathBuf),
    #[error(
        "{} is not a regular file or folder (a pipe, socket or device, which may never end): give \
         an image file",
        .0.display()
    )]
    NotRegular(PathBuf),
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Formats the root list for error messages.
struct RootList<'a>(&'a [PathBuf]);

impl fmt::Display for RootList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, root) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", root.display())?;
        }
        Ok(())
    }
}

/// The folders file access is limited to, each stored as its canonical (symlink-free) path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    roots: Vec<PathBuf>,
}

impl Roots {
    /// Canonicalises each folder; the first one is where relative paths and default outputs go.
    /// Duplicates (after resolution) are dropped.
    pub fn new(dirs: impl IntoIterator<Item = PathBuf>) -> Result<Self, Error> {
        let mut roots: Vec<PathBuf> = Vec::new();
        for dir in dirs {
            let real = std::fs::canonicalize(&dir).map_err(|source| Error::BadRoot {
                path: dir.clone(),
                source,
            })?;
            if !real.is_dir() {
                return Err(Error::RootNotADirectory(real));
            }
            if !roots.contains(&real) {
                roots.push(real);
            }
        }
        if roots.is_empty() {
            let cwd = std::env::current_dir().map_err(|source| Error::BadRoot {
                path: PathBuf::from("."),
                source,
            })?;
            return Roots::new([cwd]);
        }
        Ok(Roots { roots })
    }

    /// The working directory, then every `--allow-root` folder, then every folder in
    /// `PIXELSMITH_ROOTS` (when `env` is given). A flag naming a missing folder is an error; an
    /// environment entry that is not a folder is skipped with a warning, because client configs
    /// pass that variable through and a stale value should not stop the server.
    ///
    /// A working directory that is the filesystem root or the home folder is not made a root:
    /// some MCP hosts start servers in `/`, and that would open every file to the tools. With
    /// no other root, a private scratch folder (`<temp>/pixelsmith-<uid>`, mode 0700) is the
    /// only one, and a warning on stderr says how to allow the user's folders.
    pub fn from_cwd_and(extra: &[PathBuf], env: Option<OsString>) -> Result<Self, Error> {
        let cwd = std::env::current_dir().map_err(|source| Error::BadRoot {
            path: PathBuf::from("."),
            source,
        })?;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let scratch = std::env::temp_dir().join(format!("pixelsmith-{}", current_user_id()));
        Roots::from_dirs(cwd, home.as_deref(), &scratch, extra, env)
    }

    /// [`Roots::from_cwd_and`] with the working directory, home folder and scratch folder given.
    fn from_dirs(
        cwd: PathBuf,
        home: Option<&Path>,
        scratch: &Path,
        extra: &[PathBuf],
        env: Option<OsString>,
    ) -> Result<Self, Error> {
        let real = |p: &Path| std::fs::canonicalize(p).ok();
        let real_cwd = real(&cwd);
        let too_broad = real_cwd.as_deref() == Some(Path::new("/"))
            || (real_cwd.is_some() && real_cwd == home.and_then(real));
        let mut dirs = Vec::new();
        if !too_broad {
            dirs.push(cwd.clone());
        }
        dirs.extend(extra.iter().cloned());
        if let Some(list) = env {
            for dir in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
                if dir.is_dir() {
                    dirs.push(dir);
                } else {
                    tracing::warn!(dir = %dir.display(), "{ROOTS_ENV} names a missing folder; skipped");
                }
            }
        }
        if too_broad {
            let instead = if dirs.is_empty() {
                private_folder(scratch).map_err(|source| Error::BadRoot {
                    path: scratch.to_path_buf(),
                    source,
                })?;
                dirs.push(scratch.to_path_buf());
                format!(
                    "the only allowed root is the scratch folder {}",
                    scratch.display()
                )
            } else {
                "only the folders named by --allow-root and PIXELSMITH_ROOTS are allowed".into()
            };
            tracing::warn!(
                cwd = %cwd.display(),
                "the working directory is the filesystem root or the home folder, which is too \
                 broad to allow; {instead}. To work on your files, set {ROOTS_ENV} (a :-separated \
                 folder list) in the client's server config or pass --allow-root DIR"
            );
        }
        Roots::new(dirs)
    }

    /// The roots, canonical, first one first.
    pub fn list(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The first root: where relative paths are resolved and default outputs go.
    pub fn first(&self) -> &Path {
        &self.roots[0]
    }

    /// Whether a canonical path lies inside (or is) one of the roots.
    pub fn contains(&self, real: &Path) -> bool {
        self.roots.iter().any(|root| real.starts_with(root))
    }

    /// Resolves a path that must already exist (a file to read, a folder to build in) and checks
    /// that its real location is inside a root.
    pub fn resolve_existing(&self, path: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let joined = self.absolute(path.as_ref())?;
        // Containment first, on what the path would resolve to, so an outside path gets the same
        // answer whether it exists or not.
        self.check(resolve_lenient(&joined, 0), &joined)?;
        let real = std::fs::canonicalize(&joined).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound {
                    path: joined.clone(),
                    roots: self.roots.clone(),
                }
            } else {
                Error::Io {
                    path: joined.clone(),
                    source,
                }
            }
        })?;
        let real = self.check(real, &joined)?;
        // A FIFO would block the read forever (a device may never end): only files and folders.
        match std::fs::metadata(&real) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => Err(Error::NotRegular(joined)),
            _ => Ok(real),
        }
    }

    /// Resolves a path for a file to write. Its parent folder must exist; the parent's real path
    /// (and the file's, if it already exists — it may be a symlink) must be inside a root.
    pub fn resolve_new(&self, path: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let joined = self.absolute(path.as_ref())?;
        let name = match joined.components().next_back() {
            Some(Component::Normal(name)) => name.to_owned(),
            _ => return Err(Error::NotAFileName(joined)),
        };
        // Containment first (a missing folder or a dangling symlink outside says "outside" too).
        self.check(resolve_lenient(&joined, 0), &joined)?;
        let parent = joined.parent().unwrap_or(Path::new("/"));
        let real_parent = std::fs::canonicalize(parent).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::NoParent(parent.to_path_buf())
            } else {
                Error::Io {
                    path: parent.to_path_buf(),
                    source,
                }
            }
        })?;
        let candidate = real_parent.join(name);
        // An existing entry may be a symlink to somewhere else: follow it before the check.
        let real = match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => resolve_lenient(&candidate, 0),
            _ => candidate,
        };
        self.check(real, &joined)
    }

    fn absolute(&self, path: &Path) -> Result<PathBuf, Error> {
        // A `file://` URI (as tool results link their outputs) names its path, percent-encoded.
        let decoded;
        let path = match path.to_str().and_then(|p| p.strip_prefix("file://")) {
            Some(rest) if rest.starts_with('/') => {
                decoded = PathBuf::from(
                    percent_encoding::percent_decode_str(rest)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
                decoded.as_path()
            }
            _ => path,
        };
        if path.as_os_str().as_encoded_bytes().contains(&0) {
            return Err(Error::NulByte);
        }
        if path.as_os_str().is_empty() {
            return Err(Error::Empty {
                roots: self.roots.clone(),
            });
        }
        Ok(if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.first().join(path)
        })
    }

    /// `real` if it is inside a root; else the one "outside" error, naming the path as given.
    fn check(&self, real: PathBuf, given: &Path) -> Result<PathBuf, Error> {
        if self.contains(&real) {
            Ok(real)
        } else {
            Err(Error::Outside {
                path: given.to_path_buf(),
                roots: self.roots.clone(),
            })
        }
    }
}

/// Where `path` leads, whether or not it exists: its real path when it exists; else the real
/// path of what does exist (following dangling symlinks to their targets) with the rest
/// appended. Bounded, so symlink loops end.
fn resolve_lenient(path: &Path, depth: u32) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    if depth > 40 {
        return path.to_path_buf();
    }
    if let Ok(target) = std::fs::read_link(path) {
        let next = path.parent().unwrap_or(Path::new("/")).join(target);
        return resolve_lenient(&next, depth + 1);
    }
    match (path.parent(), path.components().next_back()) {
        (Some(parent), Some(Component::Normal(name))) => {
            resolve_lenient(parent, depth + 1).join(name)
        }
        (Some(parent), Some(Component::ParentDir)) => {
            let mut up = resolve_lenient(parent, depth + 1);
            up.pop();
            up
        }
        (Some(parent), Some(Component::CurDir)) => resolve_lenient(parent, depth + 1),
        _ => path.to_path_buf(),
    }
}

/// Writes `bytes` to `path` atomically: an exclusively created temporary file in the same folder,
/// flushed to disk, then renamed over the target. `path` should come from [`Roots::resolve_new`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.{}.{attempt}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// The effective user id, which names the scratch folder: one user's folder is never another's.
#[allow(unsafe_code)]
fn current_user_id() -> u32 {
    // SAFETY: geteuid takes nothing, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// Creates `dir` (mode 0700), or accepts it as it is only when it is a real folder (not a
/// symlink) of this user that nobody else may enter: in a shared temp folder another user could
/// have made it first, to read or redirect what the tools write there.
fn private_folder(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => return Err(err),
        Err(_) => {}
    }
    let meta = std::fs::symlink_metadata(dir)?;
    let refuse = |why: &str| {
        Err(std::io::Error::other(format!(
            "{why}, so it is not used as the private scratch folder: remove it, or allow a \
             folder with --allow-root DIR or {ROOTS_ENV}"
        )))
    };
    if !meta.file_type().is_dir() {
        return refuse("it exists and is not a folder (a symlink or a file)");
    }
    if meta.uid() != current_user_id() {
        return refuse("it belongs to another user");
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return refuse("other users may enter it (its mode is not 0700)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Roots) {
        let inside = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let roots = Roots::new([inside.path().to_path_buf()]).unwrap();
        (inside, outside, roots)
    }

    #[test]
    fn relative_paths_resolve_against_the_first_root() {
        let (inside, _outside, roots) = setup();
        std::fs::write(inside.path().join("a.png"), b"x").unwrap();
        let real = roots.resolve_existing("a.png").unwrap();
        assert_eq!(real, roots.first().join("a.png"));
    }

    #[test]
    fn dot_dot_and_absolute_paths_outside_are_refused_naming_the_roots() {
        let (inside, outside, roots) = setup();
        std::fs::write(outside.path().join("secret.png"), b"x").unwrap();
        // Both temp dirs share a parent, so `inside/../<outside>` escapes by `..`.
        let escape = inside
            .path()
            .join("..")
            .join(outside.path().file_name().unwrap());
        for path in [outside.path().join("secret.png"), escape.join("secret.png")] {
            let err = roots.resolve_existing(&path).unwrap_err();
            let text = err.to_string();
            assert!(matches!(err, Error::Outside { .. }), "{text}");
            assert!(
                text.contains(&roots.first().display().to_string()),
                "{text}"
            );
            assert!(text.contains("--allow-root"), "{text}");
        }
    }

    #[test]
    fn every_outside_path_gets_the_same_answer_whether_it_exists_or_not() {
        let (inside, outside, roots) = setup();
        std::fs::write(outside.path().join("secret.png"), b"x").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("gone.png"),
            inside.path().join("dangling.png"),
        )
        .unwrap();
        let shape = |err: Error, given: &Path| {
            assert!(matches!(err, Error::Outside { .. }), "{err}");
            err.to_string()
                .replace(&given.display().to_string(), "PATH")
        };
        let mut answers = Vec::new();
        for name in ["secret.png", "missing.png", "no/such/dir/x.png"] {
            let given = outside.path().join(name);
            answers.push(shape(roots.resolve_existing(&given).unwrap_err(), &given));
            answers.push(shape(roots.resolve_new(&given).unwrap_err(), &given));
        }
        let given = inside.path().join("dangling.png");
        let resolved = roots.first().join("dangling.png");
        let err = roots.resolve_new("dangling.png").unwrap_err();
        answers.push(shape(err, &resolved));
        let err = roots.resolve_existing(&given).unwrap_err();
        answers.push(shape(err, &given));
        assert!(answers.iter().all(|a| a == &answers[0]), "{answers:#?}");
    }

    #[test]
    fn symlinks_are_resolved_before_the_check() {
        let (inside, outside, roots) = setup();
        std::fs::write(outside.path().join("secret.png"), b"x").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.png"),
            inside.path().join("link.png"),
        )
        .unwrap();
        std::os::unix::fs::symlink(outside.path(), inside.path().join("dir")).unwrap();
        assert!(matches!(
            roots.resolve_existing("link.png"),
            Err(Error::Outside { .. })
        ));
        // Writing through a symlinked folder or over a symlinked file is refused too.
        assert!(matches!(
            roots.resolve_new("dir/new.png"),
            Err(Error::Outside { .. })
        ));
        assert!(matches!(
            roots.resolve_new("link.png"),
            Err(Error::Outside { .. })
        ));
        assert!(roots.resolve_new("fresh.png").is_ok());
    }

    #[test]
    fn nul_bytes_missing_files_and_missing_parents_are_clear_errors() {
        let (_inside, _outside, roots) = setup();
        assert!(matches!(
            roots.resolve_existing("a\0b"),
            Err(Error::NulByte)
        ));
        let err = roots.resolve_existing("nope.png").unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = roots.resolve_new("no/such/dir/out.png").unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        let err = roots.resolve_new("..").unwrap_err();
        assert!(matches!(err, Error::NotAFileName(_)), "{err}");
    }

    #[test]
    fn file_uris_are_their_paths_and_pipes_are_refused() {
        let (root, _outside, roots) = setup();
        let spaced = root.path().join("a cat.png");
        std::fs::write(&spaced, b"x").unwrap();
        let uri = format!("file://{}", root.path().join("a%20cat.png").display());
        assert_eq!(
            roots.resolve_existing(&uri).unwrap(),
            spaced.canonicalize().unwrap()
        );
        let fifo = root.path().join("fifo.png");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = roots.resolve_existing(&fifo).unwrap_err();
        assert!(matches!(err, Error::NotRegular(_)), "{err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }

    #[test]
    fn env_list_and_flags_add_roots() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let env = std::env::join_paths([b.path()]).unwrap();
        let roots = Roots::from_cwd_and(&[a.path().to_path_buf()], Some(env)).unwrap();
        assert_eq!(roots.list().len(), 3);
        let stale = std::env::join_paths([b.path().join("gone")]).unwrap();
        let only_cwd = Roots::from_cwd_and(&[], Some(stale)).unwrap();
        assert_eq!(only_cwd.list().len(), 1);
        assert!(roots.contains(&std::fs::canonicalize(b.path()).unwrap()));
        let err = Roots::new([a.path().join("missing")]).unwrap_err();
        assert!(err.to_string().contains("cannot be used"), "{err}");
    }

    #[test]
    fn the_filesystem_root_or_home_as_working_directory_is_not_a_root() {
        let home = tempfile::tempdir().unwrap();
        let project = tempfile::tempdir().unwrap();
        let scratch_parent = tempfile::tempdir().unwrap();
        let scratch = scratch_parent.path().join("pixelsmith");
        let real = |p: &Path| std::fs::canonicalize(p).unwrap();
        for cwd in [PathBuf::from("/"), home.path().to_path_buf()] {
            // Alone: the scratch folder, created, is the only root.
            let roots =
                Roots::from_dirs(cwd.clone(), Some(home.path()), &scratch, &[], None).unwrap();
            assert_eq!(roots.list(), [real(&scratch)], "cwd {}", cwd.display());
            assert!(!roots.contains(Path::new("/etc")));
            // With a folder named: only that one.
            let named = [project.path().to_path_buf()];
            let roots =
                Roots::from_dirs(cwd.clone(), Some(home.path()), &scratch, &named, None).unwrap();
            assert_eq!(
                roots.list(),
                [real(project.path())],
                "cwd {}",
                cwd.display()
            );
        }
        // A scratch folder someone else could have made or redirected is refused.
        let link = scratch_parent.path().join("linked");
        std::os::unix::fs::symlink(project.path(), &link).unwrap();
        let open = scratch_parent.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        for bad in [link, open] {
            let err = Roots::from_dirs("/".into(), Some(home.path()), &bad, &[], None).unwrap_err();
            assert!(err.to_string().contains("cannot be used"), "{err}");
            assert!(
                std::error::Error::source(&err)
                    .unwrap()
                    .to_string()
                    .contains("not used as the private scratch folder"),
                "{err:?}"
            );
        }
        let made = std::fs::metadata(&scratch).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&made.permissions()) & 0o777,
            0o700
        );
        // A project folder as working directory stays the first root.
        let roots = Roots::from_dirs(
            project.path().into(),
            Some(home.path()),
            &scratch,
            &[],
            None,
        )
        .unwrap();
        assert_eq!(roots.list(), [real(project.path())]);
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp() {
        let (inside, _outside, roots) = setup();
        let out = roots.resolve_new("out.png").unwrap();
        write_atomic(&out, b"one").unwrap();
        write_atomic(&out, b"two").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(inside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.png")]);
    }
}
