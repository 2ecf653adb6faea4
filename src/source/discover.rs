//! Stage 1: find the manifest files under the paths given, in parallel.
//!
//! Honours `.gitignore` (inside or outside a git checkout), skips `.git`, applies `--exclude`
//! globs, skips the `templates/` folder of Helm charts, and follows a symlink only when it
//! stays inside the tree. Nothing is left out silently: every skip is recorded with its reason.

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::{DirEntry, WalkBuilder, WalkState};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// Why a path was not linted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SkipReason {
    HelmTemplates,
    SymlinkOutsideTree,
    SymlinkLoop,
    /// A symbolic link whose target does not exist.
    DanglingSymlink,
    /// A FIFO, socket or device: reading it could block forever or never end.
    NotARegularFile(&'static str),
}

impl SkipReason {
    pub fn describe(&self) -> &'static str {
        match self {
            SkipReason::HelmTemplates => {
                "Helm chart templates; lint `helm template` output with `-`"
            }
            SkipReason::SymlinkOutsideTree => "symbolic link pointing outside the linted tree",
            SkipReason::SymlinkLoop => "symbolic link loop",
            SkipReason::DanglingSymlink => "symbolic link to nothing",
            SkipReason::NotARegularFile(kind) => kind,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    pub path: String,
    pub reason: SkipReason,
}

/// A path that could not be walked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WalkError {
    pub path: String,
    pub message: String,
}

/// A file to load: its path and the name a user reads in messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourcePath {
    pub display: String,
    pub path: PathBuf,
}

#[derive(Debug, Default)]
pub struct Discovered {
    /// Files to load, sorted by display path.
    pub files: Vec<SourcePath>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<WalkError>,
}

pub struct DiscoverOptions {
    pub excludes: Vec<String>,
}

/// Configuration file names (see `config`), looked for in each folder in this order; never
/// manifests.
pub const CONFIG_NAMES: [&str; 2] = [".imds-lint.yaml", ".imds-lint.yml"];

/// Names kustomize looks for in a directory, in its order of preference.
pub const KUSTOMIZATION_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn is_manifest_name(path: &Path) -> bool {
    // A name that is not UTF-8 is still a manifest by its extension (the bytes that are not
    // UTF-8 are replaced, the extension is not).
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let name = name.as_ref();
    // imds-lint's own configuration file is not a manifest.
    if CONFIG_NAMES.contains(&name) {
        return false;
    }
    name == "Kustomization"
        || [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.len() > ext.len() && name.to_ascii_lowercase().ends_with(ext))
}

/// The path as a user reads it: relative to the current directory `cwd` when under it,
/// without `./`.
pub fn display_path(path: &Path, cwd: &Path) -> String {
    let relative = path.strip_prefix(cwd).unwrap_or(path);
    escaped(normalize(relative).as_os_str())
}

/// A file name for people: as is when it is UTF-8, else with each byte that is not shown as
/// `\xHH`, so that two such names never read alike.
#[cfg(unix)]
fn escaped(name: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut out = String::new();
    for chunk in name.as_bytes().utf8_chunks() {
        out.push_str(chunk.valid());
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

#[cfg(not(unix))]
fn escaped(name: &std::ffi::OsStr) -> String {
    name.to_string_lossy().into_owned()
}

/// Why a path that is neither a file nor a folder is not read.
#[cfg(unix)]
fn special_file(file_type: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_file() || file_type.is_dir() || file_type.is_symlink() {
        None
    } else if file_type.is_fifo() {
        Some("a FIFO (named pipe), not a regular file")
    } else if file_type.is_socket() {
        Some("a socket, not a regular file")
    } else if file_type.is_block_device() || file_type.is_char_device() {
        Some("a device, not a regular file")
    } else {
        Some("not a regular file")
    }
}

#[cfg(not(unix))]
fn special_file(file_type: std::fs::FileType) -> Option<&'static str> {
    let regular = file_type.is_file() || file_type.is_dir() || file_type.is_symlink();
    (!regular).then_some("not a regular file")
}

/// Lexical normalization: drops `.` and folds `dir/..`, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last = out.components().next_back();
                if matches!(last, Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(last, Some(Component::RootDir | Component::Prefix(_))) {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Why a walk could not start: its options are unusable.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiscoverError {
    #[error("--exclude {glob:?}: {source}")]
    BadExclude {
        glob: String,
        source: globset::Error,
    },
    /// The globs compile one by one but not together.
    #[error(transparent)]
    Excludes(globset::Error),
}

fn build_excludes(globs: &[String]) -> Result<GlobSet, DiscoverError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let glob = glob.trim_end_matches('/');
        let compiled = Glob::new(glob).map_err(|source| DiscoverError::BadExclude {
            glob: glob.to_string(),
            source,
        })?;
        builder.add(compiled);
    }
    builder.build().map_err(DiscoverError::Excludes)
}

/// Walks `roots` and returns the manifest files, sorted. `Err` only for unusable options.
pub fn discover(roots: &[PathBuf], options: &DiscoverOptions) -> Result<Discovered, DiscoverError> {
    let excludes = build_excludes(&options.excludes)?;
    // Read once: every display path is relative to it.
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut out = Discovered::default();
    let mut walk_roots = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_file() => out.files.push(source_path(root, &cwd)),
            Ok(meta) if meta.is_dir() => walk_roots.push(root.clone()),
            Ok(meta) => out.skipped.push(Skipped {
                path: display_path(root, &cwd),
                reason: SkipReason::NotARegularFile(
                    special_file(meta.file_type()).unwrap_or("not a regular file"),
                ),
            }),
            Err(e) => out.errors.push(WalkError {
                path: display_path(root, &cwd),
                message: e.to_string(),
            }),
        }
    }
    let Some((first, rest)) = walk_roots.split_first() else {
        out.files.sort();
        out.skipped.sort();
        return Ok(out);
    };
    let files = Mutex::new(Vec::new());
    let skipped = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let visitor = Visitor {
        cwd: &cwd,
        canonical_roots: walk_roots
            .iter()
            .filter_map(|r| std::fs::canonicalize(r).ok())
            .collect(),
        files: &files,
        skipped: &skipped,
        errors: &errors,
    };
    walk_builder(first, rest, excludes, &cwd)
        .build_parallel()
        .run(|| Box::new(|result| visitor.visit(result)));

    out.files.extend(files.into_inner().unwrap_or_default());
    out.files.sort();
    out.files.dedup();
    out.skipped.extend(skipped.into_inner().unwrap_or_default());
    out.skipped.sort();
    out.errors.extend(errors.into_inner().unwrap_or_default());
    out.errors.sort();
    Ok(out)
}

/// A file to load at `path`, named relative to `cwd`.
fn source_path(path: &Path, cwd: &Path) -> SourcePath {
    let path = normalize(path);
    SourcePath {
        display: display_path(&path, cwd),
        path,
    }
}

/// The walk over the folders `first` and `rest`: `.gitignore` and `.ignore` files honoured,
/// hidden files seen, links followed, `.git` and the excluded paths left out.
fn walk_builder(first: &Path, rest: &[PathBuf], excludes: GlobSet, cwd: &Path) -> WalkBuilder {
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    builder
        .hidden(false)
        .parents(true)
        .ignore(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(true);
    let roots: Vec<PathBuf> = std::iter::once(first.to_path_buf())
        .chain(rest.iter().cloned())
        .collect();
    let cwd = cwd.to_path_buf();
    builder.filter_entry(move |entry: &DirEntry| {
        entry.file_name() != ".git" && !is_excluded(entry.path(), &roots, &excludes, &cwd)
    });
    builder
}

/// What the walk's threads collect, and how they judge each entry.
struct Visitor<'a> {
    cwd: &'a Path,
    /// The walked folders, resolved: a link may point anywhere inside them.
    canonical_roots: Vec<PathBuf>,
    files: &'a Mutex<Vec<SourcePath>>,
    skipped: &'a Mutex<Vec<Skipped>>,
    errors: &'a Mutex<Vec<WalkError>>,
}

impl Visitor<'_> {
    fn skip(&self, path: &Path, reason: SkipReason) {
        if let Ok(mut s) = self.skipped.lock() {
            s.push(Skipped {
                path: display_path(path, self.cwd),
                reason,
            });
        }
    }

    /// Records a manifest file, or skips a link out of the tree, a Helm chart's templates or a
    /// FIFO, socket or device with a manifest's name.
    fn visit(&self, result: Result<DirEntry, ignore::Error>) -> WalkState {
        let entry = match result {
            Ok(entry) => entry,
            Err(err) => {
                record_walk_error(
                    &err,
                    &|path, reason| self.skip(path, reason),
                    self.errors,
                    self.cwd,
                );
                return WalkState::Continue;
            }
        };
        let path = entry.path();
        if entry.path_is_symlink() {
            let inside = std::fs::canonicalize(path)
                .map(|target| {
                    self.canonical_roots
                        .iter()
                        .any(|root| target.starts_with(root))
                })
                .unwrap_or(false);
            if !inside {
                self.skip(path, SkipReason::SymlinkOutsideTree);
                return WalkState::Skip;
            }
        }
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        if let Some(kind) = entry.file_type().and_then(special_file) {
            if is_manifest_name(path) {
                self.skip(path, SkipReason::NotARegularFile(kind));
            }
        } else if is_dir {
            if entry.file_name() == "templates"
                && path
                    .parent()
                    .is_some_and(|p| p.join("Chart.yaml").is_file())
            {
                self.skip(path, SkipReason::HelmTemplates);
                return WalkState::Skip;
            }
        } else if is_manifest_name(path)
            && let Ok(mut f) = self.files.lock()
        {
            f.push(source_path(path, self.cwd));
        }
        WalkState::Continue
    }
}

fn is_excluded(path: &Path, roots: &[PathBuf], excludes: &GlobSet, cwd: &Path) -> bool {
    if excludes.is_empty() {
        return false;
    }
    if path.file_name().is_some_and(|name| excludes.is_match(name)) {
        return true;
    }
    roots
        .iter()
        .filter_map(|root| path.strip_prefix(root).ok())
        .any(|relative| !relative.as_os_str().is_empty() && excludes.is_match(relative))
        || excludes.is_match(normalize(path))
        // Globs from a configuration file are anchored at its (absolute) folder.
        || excludes.is_match(normalize(&cwd.join(path)))
}

fn record_walk_error(
    err: &ignore::Error,
    skip: &dyn Fn(&Path, SkipReason),
    errors: &Mutex<Vec<WalkError>>,
    cwd: &Path,
) {
    match err {
        ignore::Error::WithPath { path, err } => match err.as_ref() {
            ignore::Error::Loop { .. } => skip(path, SkipReason::SymlinkLoop),
            inner => match broken_symlink(path) {
                Some(reason) => skip(path, reason),
                None => push_error(errors, display_path(path, cwd), inner.to_string()),
            },
        },
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            record_walk_error(err, skip, errors, cwd)
        }
        ignore::Error::Loop { child, .. } => skip(child, SkipReason::SymlinkLoop),
        other => push_error(errors, String::new(), other.to_string()),
    }
}

/// Why a symbolic link cannot be followed: it loops, or it leads nowhere. `None` when `path`
/// is no symbolic link, or one that leads somewhere.
fn broken_symlink(path: &Path) -> Option<SkipReason> {
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return None;
    }
    match std::fs::metadata(path) {
        Ok(_) => None,
        // ELOOP: too many levels of symbolic links.
        Err(e) if e.raw_os_error() == Some(40) => Some(SkipReason::SymlinkLoop),
        Err(_) => Some(SkipReason::DanglingSymlink),
    }
}

fn push_error(errors: &Mutex<Vec<WalkError>>, path: String, message: String) {
    if let Ok(mut e) = errors.lock() {
        e.push(WalkError { path, message });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_dots() {
        assert_eq!(
            normalize(Path::new("./a/b/../c.yaml")),
            PathBuf::from("a/c.yaml")
        );
        assert_eq!(normalize(Path::new("../x/./y")), PathBuf::from("../x/y"));
        assert_eq!(normalize(Path::new("a/../..")), PathBuf::from(".."));
        assert_eq!(normalize(Path::new("/a/../../b")), PathBuf::from("/b"));
        assert_eq!(normalize(Path::new("./")), PathBuf::from("."));
    }

    #[test]
    fn manifest_names() {
        assert!(is_manifest_name(Path::new("a/np.yaml")));
        assert!(is_manifest_name(Path::new("a/np.YML")));
        assert!(is_manifest_name(Path::new("a/list.json")));
        assert!(is_manifest_name(Path::new("a/Kustomization")));
        assert!(!is_manifest_name(Path::new("a/README.md")));
        assert!(!is_manifest_name(Path::new("a/.yaml")));
        assert!(!is_manifest_name(Path::new("a/.imds-lint.yaml")));
    }
}
