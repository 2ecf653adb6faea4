//! The cluster of what the walk leaves in no named cluster: the controller objects themselves
//! (an Argo CD Application lives in the cluster Argo CD runs in, a Flux root Kustomization in
//! the cluster it builds), the clusters `.imds-lint.yaml` maps to paths, and, in a repository
//! without any GitOps entry point, the conventional `clusters/<name>/` layout.

use super::argocd::{IN_CLUSTER, is_argo_cd_object};
use super::controllers::Controllers;
use super::tree::Tree;
use super::{BuildRoot, Landing, Way};
use crate::source::discover::normalize;
use globset::GlobMatcher;
use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

/// Clusters named by path: `.imds-lint.yaml` `clusters`, each name with globs relative to
/// `base` (the configuration file's folder).
#[derive(Debug, Clone, Default)]
pub struct ClusterMap {
    /// Absolute.
    pub base: PathBuf,
    /// Each cluster's name and globs, in the order of the file.
    pub clusters: Vec<(String, Vec<GlobMatcher>)>,
}

impl ClusterMap {
    /// The clusters whose globs match `path` (absolute).
    fn clusters_of(&self, path: &Path) -> Vec<&str> {
        let Ok(relative) = path.strip_prefix(&self.base) else {
            return Vec::new();
        };
        self.clusters
            .iter()
            .filter(|(_, globs)| globs.iter().any(|g| g.is_match(relative)))
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// What decides the cluster of a way the walk left in none.
pub(super) struct Placement<'a> {
    pub(super) tree: &'a Tree<'a>,
    pub(super) controllers: &'a Controllers<'a>,
    /// The cluster of each Flux entry point that builds files of the linted tree, by index
    /// in [`Controllers::found`].
    pub(super) flux_clusters: &'a [(usize, String)],
    /// Where the conventional layout is looked for: the repository root and the linted
    /// folders (absolute).
    pub(super) bases: Vec<PathBuf>,
    pub(super) map: &'a ClusterMap,
}

impl Placement<'_> {
    /// Gives a cluster to the ways of `landings` that have none, where one is known, and adds
    /// the clusters it names to `clusters`. In order: a folder that declares a Flux entry
    /// point is in its cluster, one that declares an Argo CD object applied by hand is in
    /// [`IN_CLUSTER`]; else the clusters the configuration maps the path to; else, when the
    /// repository has no GitOps entry point, `clusters/<name>` for a path under it. A way
    /// built by a kustomization is placed by the kustomization's path first, then by its own.
    pub(super) fn place(&self, landings: &mut [Landing], clusters: &mut BTreeSet<String>) {
        let files = self.tree.files;
        let paths: Vec<Option<PathBuf>> = files.iter().map(absolute).collect();
        let by_folder = self.controller_folders(landings, &paths);
        let layout = self.controllers.found.is_empty();
        for (file, landing) in landings.iter_mut().enumerate() {
            let ways: Vec<Way> = match landing {
                Landing::NotAResource => continue,
                Landing::Standalone => vec![Way::default()],
                Landing::Built(ways) if ways.iter().all(|w| w.cluster.is_some()) => continue,
                Landing::Built(ways) => ways.iter().cloned().collect(),
            };
            let mut changed = false;
            let mut placed = BTreeSet::new();
            for way in ways {
                if way.cluster.is_some() {
                    placed.insert(way);
                    continue;
                }
                let origin = match way.build {
                    Some(BuildRoot::Kustomization(k)) => k,
                    Some(BuildRoot::Flux { file, .. }) => file,
                    None => file,
                };
                let names = self.clusters_for(file, origin, &paths, &by_folder, layout);
                if names.is_empty() {
                    placed.insert(way);
                    continue;
                }
                changed = true;
                for name in names {
                    clusters.insert(name.clone());
                    placed.insert(Way {
                        cluster: Some(name),
                        ..way.clone()
                    });
                }
            }
            if changed {
                *landing = Landing::Built(placed);
            }
        }
    }

    /// The clusters of a way of `file` that `origin` builds (or `file` itself).
    fn clusters_for(
        &self,
        file: usize,
        origin: usize,
        paths: &[Option<PathBuf>],
        by_folder: &HashMap<Option<PathBuf>, String>,
        layout: bool,
    ) -> Vec<String> {
        let candidates = [origin, file];
        let candidates = &candidates[..if origin == file { 1 } else { 2 }];
        let folder = |f: usize| match &paths[f] {
            Some(path) => path.parent().map(Path::to_path_buf),
            // Standard input: one stream, its own folder.
            None => Some(PathBuf::from(format!("\0{f}"))),
        };
        for &f in candidates {
            if let Some(name) = by_folder.get(&folder(f)) {
                return vec![name.clone()];
            }
        }
        for path in candidates.iter().filter_map(|&f| paths[f].as_ref()) {
            let names = self.map.clusters_of(path);
            if !names.is_empty() {
                return names.into_iter().map(str::to_string).collect();
            }
        }
        if layout {
            for path in candidates.iter().filter_map(|&f| paths[f].as_ref()) {
                // The deepest base that holds the path, whichever order the inputs came in.
                let name = self
                    .bases
                    .iter()
                    .filter_map(|base| {
                        Some((base.as_os_str().len(), conventional_cluster(base, path)?))
                    })
                    .max();
                if let Some((_, name)) = name {
                    return vec![name];
                }
            }
        }
        Vec::new()
    }

    /// The folders that declare a controller object the walk left in no cluster, with the
    /// cluster that object lives in: a Flux entry point's, or [`IN_CLUSTER`] for Argo CD's
    /// objects. Standard input counts as a folder of its own.
    fn controller_folders(
        &self,
        landings: &[Landing],
        paths: &[Option<PathBuf>],
    ) -> HashMap<Option<PathBuf>, String> {
        let unplaced = |file: usize| match &landings[file] {
            Landing::Standalone => true,
            Landing::Built(ways) => ways.iter().any(|w| w.cluster.is_none()),
            Landing::NotAResource => false,
        };
        let folder = |file: usize| match &paths[file] {
            Some(path) => path.parent().map(Path::to_path_buf),
            None => Some(PathBuf::from(format!("\0{file}"))),
        };
        let mut by_folder = HashMap::new();
        for (a, name) in self.flux_clusters {
            let file = self.controllers.found[*a].file;
            if unplaced(file) {
                by_folder
                    .entry(folder(file))
                    .or_insert_with(|| name.clone());
            }
        }
        for (file, objects) in self.tree.objects.iter().enumerate() {
            if unplaced(file) && objects.iter().any(is_argo_cd_object) {
                by_folder
                    .entry(folder(file))
                    .or_insert_with(|| IN_CLUSTER.to_string());
            }
        }
        by_folder
    }
}

/// A file's absolute path; `None` for standard input.
fn absolute(file: &crate::source::load::LoadedFile) -> Option<PathBuf> {
    let cwd = std::env::current_dir().unwrap_or_default();
    file.bytes
        .is_none()
        .then(|| normalize(&cwd.join(&file.path)))
}

/// `clusters/<name>` for a file below `clusters/<name>/` under `base`.
fn conventional_cluster(base: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(base).ok()?;
    let parts: Vec<Component> = relative.components().collect();
    match parts.as_slice() {
        [Component::Normal(clusters), Component::Normal(name), _, ..]
            if *clusters == "clusters" =>
        {
            Some(format!("clusters/{}", name.to_string_lossy()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conventional_layout_names_the_folder_under_clusters() {
        let root = Path::new("/repo");
        let at = |p: &str| conventional_cluster(root, &root.join(p));
        assert_eq!(
            at("clusters/prod/web/np.yaml"),
            Some("clusters/prod".into())
        );
        assert_eq!(at("clusters/prod/np.yaml"), Some("clusters/prod".into()));
        assert_eq!(at("clusters/np.yaml"), None);
        assert_eq!(at("apps/clusters/prod/np.yaml"), None);
        assert_eq!(
            conventional_cluster(root, Path::new("/else/clusters/a/b")),
            None
        );
    }

    #[test]
    fn a_cluster_map_matches_paths_relative_to_its_folder() {
        let glob = |g: &str| {
            globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .unwrap()
                .compile_matcher()
        };
        let map = ClusterMap {
            base: PathBuf::from("/repo"),
            clusters: vec![
                (
                    "prod".into(),
                    vec![glob("clusters/prod/**"), glob("apps/prod/**")],
                ),
                ("dev".into(), vec![glob("clusters/dev/*.yaml")]),
            ],
        };
        let of = |p: &str| map.clusters_of(Path::new(p));
        assert_eq!(of("/repo/apps/prod/a/b.yaml"), ["prod"]);
        assert_eq!(of("/repo/clusters/dev/x.yaml"), ["dev"]);
        assert!(of("/repo/clusters/dev/sub/x.yaml").is_empty());
        assert!(of("/other/clusters/prod/x.yaml").is_empty());
    }
}
