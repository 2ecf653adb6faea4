//! Argo CD: what an Application's sources build, and which repository URLs are this
//! repository's.

use super::controllers::{Controllers, at_root, clean_path};
use super::tree::{Tree, has_extension};
use crate::decode::gitops::{Applier, ArgoSource};
use std::collections::BTreeSet;
use std::path::Path;

/// How one Argo CD source is built.
pub(super) enum ArgoBuild {
    /// A kustomization, with the namespace `kustomize.namespace` forces.
    Kustomization(usize, Option<String>),
    Files(Vec<usize>),
}

/// How Argo CD builds `source` of an Application in file `display`, with `root` the
/// repository root and `identities` its URLs: `None` when its path is not in the linted tree,
/// `Err` with the reason when it is a Helm chart or another repository.
pub(super) fn plan_source(
    tree: &Tree,
    root: &Path,
    identities: &BTreeSet<String>,
    source: &ArgoSource,
    display: &str,
    notes: &mut Vec<String>,
) -> Result<Option<ArgoBuild>, String> {
    let dir = at_root(root, source.path.as_deref());
    let chart_at_path = source.path.is_some() && tree.by_path.contains_key(&dir.join("Chart.yaml"));
    let elsewhere =
        !identities.is_empty() && !identities.contains(&repository_identity(&source.repo_url));
    if source.helm || chart_at_path {
        Err("Argo CD Application: Helm source, the chart is not rendered".into())
    } else if elsewhere {
        Err(format!(
            "Argo CD Application: source {} is not this repository",
            source.repo_url
        ))
    } else if let Some(k) = tree.kustomization_in(&dir) {
        Ok(Some(ArgoBuild::Kustomization(
            k,
            source.kustomize_namespace.clone(),
        )))
    } else if tree.has_files_under(&dir) {
        Ok(Some(ArgoBuild::Files(directory_manifests(
            tree,
            &dir,
            source.recurse,
        ))))
    } else {
        notes.push(format!(
            "{display}: Argo CD source path {} is not in the linted tree",
            clean_path(source.path.as_deref())
        ));
        Ok(None)
    }
}

/// What Argo CD builds at `dir` as a directory source: the manifests in it (below it too
/// with `recurse`).
pub(super) fn directory_manifests(tree: &Tree, dir: &Path, recurse: bool) -> Vec<usize> {
    tree.under(dir)
        .filter(|(p, _)| recurse || p.parent() == Some(dir))
        .filter(|(p, _)| has_extension(p, &["yaml", "yml", "json"]))
        .map(|(_, i)| i)
        .collect()
}

/// A repository URL reduced so that its https, ssh and scp-like spellings compare equal.
pub(super) fn repository_identity(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let url = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
    let url = url.split_once('@').map_or(url, |(_, rest)| rest);
    url.replacen(':', "/", 1)
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .to_string()
}

/// The remote URLs in a git checkout's `.git/config`, read as text (no git needed).
fn git_remote_urls(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join(".git").join("config"))
        .map(|config| {
            config
                .lines()
                .filter_map(|l| l.trim().strip_prefix("url"))
                .filter_map(|rest| rest.trim_start().strip_prefix('='))
                .map(|url| url.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// This repository's URLs, for Argo CD sources: the git remotes, and the repoURL of any
/// source that builds Applications (an app of apps lives in the repository it builds).
pub(super) fn repository_identities(
    tree: &Tree,
    root: &Path,
    controllers: &Controllers,
) -> BTreeSet<String> {
    let mut identities: BTreeSet<String> = git_remote_urls(root)
        .iter()
        .map(|u| repository_identity(u))
        .collect();
    for f in &controllers.found {
        let Applier::Argo(app) = f.applier else {
            continue;
        };
        for source in app.sources.iter().filter(|s| s.path.is_some() && !s.helm) {
            let dir = at_root(root, source.path.as_deref());
            let builds_applications = directory_manifests(tree, &dir, source.recurse)
                .into_iter()
                .flat_map(|file| controllers.in_file(file))
                .any(|&b| matches!(controllers.found[b].applier, Applier::Argo(_)));
            if builds_applications {
                identities.insert(repository_identity(&source.repo_url));
            }
        }
    }
    identities
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::discover::normalize;
    use crate::topology::testing::file;

    #[test]
    fn repository_urls_compare_across_spellings() {
        let https = repository_identity("https://github.com/Example/Fleet.git");
        assert_eq!(
            repository_identity("git@github.com:example/fleet.git"),
            https
        );
        assert_eq!(
            repository_identity("ssh://git@github.com/example/fleet/"),
            https
        );
        assert_ne!(
            repository_identity("https://github.com/example/other"),
            https
        );
    }

    #[test]
    fn a_directory_source_builds_its_manifests_and_with_recurse_those_below() {
        let mut files = vec![
            file("app/np.yaml", "kind: NetworkPolicy\n"),
            file("app/sub/deploy.yml", "kind: Deployment\n"),
            file("app/notes.md", "text\n"),
            file("app/data.json", "{\"kind\": \"Pod\"}"),
        ];
        for f in &mut files {
            f.bytes = None;
        }
        let tree = Tree::new(&files, &[]);
        let dir = normalize(&std::env::current_dir().unwrap().join("app"));
        assert_eq!(directory_manifests(&tree, &dir, false), vec![3, 0]);
        assert_eq!(directory_manifests(&tree, &dir, true), vec![3, 0, 1]);
    }
}
