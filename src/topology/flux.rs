//! Flux: what a Flux Kustomization builds at its path, and which Flux Kustomizations are
//! entry points (nothing else in the linted tree applies them).

use super::controllers::{Controllers, at_root, clean_path};
use super::kustomize::{Kustomize, Resource};
use super::tree::{Tree, has_extension};
use crate::decode::gitops::{Applier, FluxKustomization};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// What Flux builds for Kustomization `k` of file `display`, with `root` the repository root;
/// `Err` with the reason when it builds another repository.
pub(super) fn plan(
    tree: &Tree,
    root: &Path,
    k: &FluxKustomization,
    display: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<Resource>, String> {
    if let Some(source) = &k.foreign_source {
        return Err(format!(
            "Flux Kustomization: source {source} is not this repository"
        ));
    }
    let dir = at_root(root, k.path.as_deref());
    if !tree.has_files_under(&dir) {
        notes.push(format!(
            "{display}: Flux Kustomization path {} is not in the linted tree",
            clean_path(k.path.as_deref())
        ));
    }
    Ok(build_at(tree, &dir))
}

/// What Flux builds at `dir`: its kustomization, else (as Flux generates one) every
/// `.yaml`/`.yml` file below it, except that a folder with a kustomization is built whole.
pub(super) fn build_at(tree: &Tree, dir: &Path) -> Vec<Resource> {
    if let Some(k) = tree.kustomization_in(dir) {
        return vec![Resource::Kustomization(k)];
    }
    let mut resources = BTreeSet::new();
    for (path, file) in tree.under(dir) {
        let Ok(below) = path.strip_prefix(dir) else {
            continue;
        };
        let mut folder = dir.to_path_buf();
        let mut built_whole = None;
        let parts: Vec<_> = below.components().collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            folder.push(part);
            if let Some(k) = tree.kustomization_in(&folder) {
                built_whole = Some(k);
                break;
            }
        }
        match built_whole {
            Some(k) => resources.insert(Resource::Kustomization(k)),
            None if has_extension(path, &["yaml", "yml"]) => resources.insert(Resource::File(file)),
            None => false,
        };
    }
    resources.into_iter().collect()
}

/// Flux entry points: the bootstrap Kustomization (flux-system/flux-system), and any Flux
/// Kustomization that neither another Flux Kustomization nor a kustomization builds. Also
/// returns the Flux Kustomizations another one builds.
pub(super) fn entry_points(
    controllers: &Controllers,
    flux_builds: &HashMap<usize, Vec<Resource>>,
    kustomize: &Kustomize,
) -> (Vec<usize>, BTreeSet<usize>) {
    let mut reached_by_flux = BTreeSet::new();
    for (&a, resources) in flux_builds {
        for file in kustomize.files_built(resources) {
            for &b in controllers.in_file(file) {
                if b != a && matches!(controllers.found[b].applier, Applier::Flux(_)) {
                    reached_by_flux.insert(b);
                }
            }
        }
    }
    let mut entry_points: Vec<usize> = flux_builds
        .keys()
        .copied()
        .filter(|&a| {
            let found = &controllers.found[a];
            let object = found.identity;
            let bootstrap = object.name.as_deref() == Some("flux-system")
                && object.namespace.as_deref() == Some("flux-system");
            let built =
                reached_by_flux.contains(&a) || kustomize.resource_files.contains(&found.file);
            bootstrap || !built
        })
        .collect();
    entry_points.sort_unstable();
    (entry_points, reached_by_flux)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::discover::normalize;
    use crate::topology::testing::file;

    #[test]
    fn flux_builds_folders_with_a_kustomization_whole_and_other_manifests_one_by_one() {
        let mut files = vec![
            file("app/np.yaml", "kind: NetworkPolicy\n"),
            file("app/sub/deploy.yml", "kind: Deployment\n"),
            file("app/kust/kustomization.yaml", "resources: [a.yaml]\n"),
            file("app/kust/a.yaml", "kind: Pod\n"),
            file("app/kust/unlisted.yaml", "kind: Pod\n"),
            file("app/data.json", "{\"kind\": \"Pod\"}"),
        ];
        for f in &mut files {
            f.bytes = None;
        }
        let tree = Tree::new(&files, &[]);
        let dir = normalize(&std::env::current_dir().unwrap().join("app"));
        assert_eq!(
            build_at(&tree, &dir),
            vec![
                Resource::File(0),
                Resource::File(1),
                Resource::Kustomization(2)
            ]
        );
    }
}
