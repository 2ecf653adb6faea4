//! Config Sync hierarchical repositories: the namespace of a file is the folder it is in.

use super::tree::Tree;
use super::{Landing, Way};
use crate::decode::kind::Kind;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Config Sync hierarchical repositories (a folder with `system/` and `namespaces/`): a
/// folder under `namespaces/` that holds a Namespace object, or no folders, is a namespace of
/// that name; an object in a folder above (an abstract namespace) is in every namespace below.
/// Only files nothing else builds are placed this way.
pub(super) fn land_by_folder(tree: &Tree, landings: &mut [Landing]) {
    for root in namespace_roots(tree) {
        let namespaces = namespace_folders(tree, &root);
        for (path, file) in tree.under(&root) {
            let (Some(dir), Landing::Standalone) = (path.parent(), &landings[file]) else {
                continue;
            };
            let ways = ways_from(dir, &namespaces);
            if !ways.is_empty() {
                landings[file] = Landing::Built(ways);
            }
        }
    }
}

/// The `namespaces/` folders of hierarchical repositories: those with a `system/` folder
/// beside them that holds linted files.
fn namespace_roots(tree: &Tree) -> BTreeSet<PathBuf> {
    let mut namespace_roots = BTreeSet::new();
    for path in tree.by_path.keys() {
        for ancestor in path.ancestors().skip(1) {
            if ancestor.file_name().is_some_and(|n| n == "namespaces")
                && let Some(repo) = ancestor.parent()
                && tree.has_files_under(&repo.join("system"))
            {
                namespace_roots.insert(ancestor.to_path_buf());
            }
        }
    }
    namespace_roots
}

/// The folders below `root` that are namespaces: those that hold a Namespace object, and those
/// with no folders below them.
fn namespace_folders<'r>(tree: &'r Tree, root: &'r Path) -> Vec<&'r Path> {
    let folders: BTreeSet<&Path> = tree
        .under(root)
        .filter_map(|(p, _)| p.parent())
        .filter(|d| *d != root)
        .collect();
    folders
        .iter()
        .copied()
        .filter(|d| {
            let leaf = !folders.iter().any(|o| o != d && o.starts_with(d));
            let declares = tree.under(d).any(|(p, i)| {
                p.parent() == Some(d) && tree.objects[i].iter().any(|o| o.kind == Kind::Namespace)
            });
            leaf || declares
        })
        .collect()
}

/// The ways the objects of a file in `dir` land: in the namespace `dir` is, else (an abstract
/// namespace) in every namespace below it.
fn ways_from(dir: &Path, namespaces: &[&Path]) -> BTreeSet<Way> {
    namespaces
        .iter()
        .filter(|n| {
            if namespaces.contains(&dir) {
                **n == dir
            } else {
                n.starts_with(dir)
            }
        })
        .filter_map(|n| n.file_name())
        .map(|name| Way {
            namespace: Some(name.to_string_lossy().into_owned()),
            ..Way::default()
        })
        .collect()
}
