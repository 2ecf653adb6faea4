//! The GitOps controllers' objects in the linted files (Flux Kustomizations, Argo CD
//! Applications), and the repository root the paths they name are relative to.

use super::tree::Tree;
use crate::decode::Decoded;
use crate::decode::gitops::Applier;
use crate::decode::object::Object;
use crate::source::discover::normalize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A controller object found in the linted files.
pub(super) struct Found<'a> {
    pub(super) file: usize,
    pub(super) object: usize,
    /// The controller object itself, for its name and namespace.
    pub(super) identity: &'a Object,
    pub(super) applier: &'a Applier,
}

/// The controller objects in the linted files, and which file holds which.
pub(super) struct Controllers<'a> {
    pub(super) found: Vec<Found<'a>>,
    /// Indices in `found`, by the file that holds them.
    by_file: HashMap<usize, Vec<usize>>,
}

impl<'a> Controllers<'a> {
    /// Every Flux Kustomization and Argo CD Application in the linted files.
    pub(super) fn find(objects: &'a [Vec<Object>]) -> Self {
        let found: Vec<Found> = objects
            .iter()
            .enumerate()
            .flat_map(|(file, objects)| {
                objects
                    .iter()
                    .enumerate()
                    .filter_map(move |(index, object)| match &object.decoded {
                        Decoded::Applier(applier) => Some(Found {
                            file,
                            object: index,
                            identity: object,
                            applier,
                        }),
                        _ => None,
                    })
            })
            .collect();
        let mut by_file: HashMap<usize, Vec<usize>> = HashMap::new();
        for (a, f) in found.iter().enumerate() {
            by_file.entry(f.file).or_default().push(a);
        }
        Controllers { found, by_file }
    }

    /// The controllers `file` holds, as indices in `found`.
    pub(super) fn in_file(&self, file: usize) -> &[usize] {
        self.by_file.get(&file).map_or(&[], Vec::as_slice)
    }
}

/// The repository root: of the candidate folders, the one under which most controller paths
/// exist (the nearest on a tie).
pub(super) fn repository_root(
    tree: &Tree,
    controllers: &Controllers,
    inputs: &[PathBuf],
) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    let relative_paths: Vec<String> = controllers
        .found
        .iter()
        .flat_map(|f| match f.applier {
            Applier::Flux(k) if k.foreign_source.is_none() => vec![clean_path(k.path.as_deref())],
            Applier::Argo(app) => app
                .sources
                .iter()
                .filter(|s| s.path.is_some())
                .map(|s| clean_path(s.path.as_deref()))
                .collect(),
            Applier::Flux(_) => Vec::new(),
        })
        .collect();
    candidate_roots(inputs, &cwd)
        .into_iter()
        .enumerate()
        .max_by_key(|(order, root)| {
            let resolved = relative_paths
                .iter()
                .filter(|p| tree.has_files_under(&normalize(&root.join(p))))
                .count();
            (resolved, std::cmp::Reverse(*order))
        })
        .map_or(cwd, |(_, root)| root)
}

/// A controller path (`./clusters/prod`, `clusters/prod/`, `/clusters/prod`) as a relative
/// path; `.` for the root. Like the controllers (securejoin), it never leaves the root.
pub(super) fn clean_path(path: Option<&str>) -> String {
    let trimmed = normalize(Path::new(path.unwrap_or(".").trim_start_matches('/')));
    let inside: PathBuf = trimmed
        .components()
        .skip_while(|c| matches!(c, std::path::Component::ParentDir))
        .collect();
    normalize(&inside).to_string_lossy().into_owned()
}

/// Where a controller path lands under `root`.
pub(super) fn at_root(root: &Path, path: Option<&str>) -> PathBuf {
    normalize(&root.join(clean_path(path)))
}

/// Folders that may be the repository root controllers resolve paths against: each linted
/// PATH (its folder, for a file), then its parents up to the enclosing git checkout, or up to
/// the file system's root outside a checkout.
fn candidate_roots(inputs: &[PathBuf], cwd: &Path) -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    for input in inputs {
        let mut start = normalize(&cwd.join(input));
        if start.is_file() {
            start.pop();
        }
        for ancestor in start.ancestors() {
            candidates.push(ancestor.to_path_buf());
            if ancestor.join(".git").exists() {
                break;
            }
        }
    }
    if candidates.is_empty() {
        candidates.push(cwd.to_path_buf());
    }
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controller_paths_are_relative_to_the_root() {
        assert_eq!(clean_path(Some("./clusters/prod/")), "clusters/prod");
        assert_eq!(clean_path(Some("/clusters/prod")), "clusters/prod");
        assert_eq!(clean_path(None), ".");
        assert_eq!(clean_path(Some("./")), ".");
        assert_eq!(clean_path(Some("../../apps")), "apps");
    }
}
