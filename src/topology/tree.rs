//! The linted files by absolute path, for the folders kustomizations and controllers name.

use crate::decode::object::Object;
use crate::source::discover::{KUSTOMIZATION_NAMES, normalize};
use crate::source::load::LoadedFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The linted files by absolute path, for the paths controllers name relative to the
/// repository root.
pub(super) struct Tree<'a> {
    pub(super) files: &'a [LoadedFile],
    /// Parallel to `files`.
    pub(super) objects: &'a [Vec<Object>],
    pub(super) by_path: BTreeMap<PathBuf, usize>,
}

impl<'a> Tree<'a> {
    pub(super) fn new(files: &'a [LoadedFile], objects: &'a [Vec<Object>]) -> Self {
        let cwd = std::env::current_dir().unwrap_or_default();
        Tree {
            files,
            objects,
            // Standard input has no place in the tree.
            by_path: files
                .iter()
                .enumerate()
                .filter(|(_, f)| f.bytes.is_none())
                .map(|(i, f)| (normalize(&cwd.join(&f.path)), i))
                .collect(),
        }
    }

    pub(super) fn kustomization_in(&self, dir: &Path) -> Option<usize> {
        KUSTOMIZATION_NAMES
            .iter()
            .find_map(|name| self.by_path.get(&dir.join(name)).copied())
            .filter(|&i| self.files[i].kustomization.is_some())
    }

    /// Linted files below `dir`, at any depth, in path order.
    pub(super) fn under<'t>(
        &'t self,
        dir: &'t Path,
    ) -> impl Iterator<Item = (&'t PathBuf, usize)> + 't {
        self.by_path
            .range(dir.to_path_buf()..)
            .take_while(move |(p, _)| p.starts_with(dir))
            .map(|(p, &i)| (p, i))
    }

    pub(super) fn has_files_under(&self, dir: &Path) -> bool {
        self.under(dir).any(|(p, _)| p != dir)
    }
}

pub(super) fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e))
}
