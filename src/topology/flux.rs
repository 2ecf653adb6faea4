//! Flux: what a Flux Kustomization builds at its path, and which Flux Kustomizations are
//! entry points (nothing else in the linted tree applies them).

use super::controllers::{Controllers, at_root, clean_path};
use super::kustomize::{Kustomize, Resource};
use super::tree::{Tree, has_extension};
use crate::decode::gitops::{Applier, FluxKustomization};
use crate::source::discover::normalize;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

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

/// At most this many Kustomizations of one name are told apart by place for a `dependsOn`;
/// with more, the dependency links none (a crafted repository cannot make this quadratic).
const MAX_DEPENDENCY_CANDIDATES: usize = 64;

/// The cluster each Flux entry point builds into. Entry points declared together, in one file
/// or folder or linked by `dependsOn`, are one cluster: named by the entry point's path when
/// it is alone, else by the deepest folder that holds all their files (relative to `root`).
pub(super) fn clusters(
    entry_points: &[usize],
    controllers: &Controllers,
    tree: &Tree,
    root: &Path,
) -> Vec<(usize, String)> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let folders: Vec<Option<PathBuf>> = entry_points
        .iter()
        .map(|&a| {
            let file = &tree.files[controllers.found[a].file];
            file.bytes
                .is_none()
                .then(|| normalize(&cwd.join(&file.path)))
                .and_then(|p| p.parent().map(Path::to_path_buf))
        })
        .collect();
    let mut groups = Groups::new(entry_points.len());
    let mut by_folder: HashMap<&PathBuf, usize> = HashMap::new();
    let mut by_file: HashMap<usize, usize> = HashMap::new();
    let mut by_name: HashMap<(Option<&str>, &str), Vec<usize>> = HashMap::new();
    for (i, &a) in entry_points.iter().enumerate() {
        let found = &controllers.found[a];
        if let Some(folder) = &folders[i] {
            groups.join(i, *by_folder.entry(folder).or_insert(i));
        }
        groups.join(i, *by_file.entry(found.file).or_insert(i));
        if let Some(name) = found.identity.name.as_deref() {
            let namespace = found.identity.namespace.as_deref();
            by_name.entry((namespace, name)).or_default().push(i);
        }
    }
    for (i, &a) in entry_points.iter().enumerate() {
        let found = &controllers.found[a];
        let Applier::Flux(k) = found.applier else {
            continue;
        };
        for (namespace, name) in &k.depends_on {
            let namespace = namespace.as_deref().or(found.identity.namespace.as_deref());
            let candidates = by_name.get(&(namespace, name.as_str()));
            let candidates = candidates.map_or(&[][..], Vec::as_slice);
            if candidates.len() > MAX_DEPENDENCY_CANDIDATES {
                continue;
            }
            if let Some(j) = nearest(i, candidates, &folders) {
                groups.join(i, j);
            }
        }
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..entry_points.len() {
        members.entry(groups.find(i)).or_default().push(i);
    }
    let mut names = vec![String::new(); entry_points.len()];
    for group in members.values() {
        let name = match group.as_slice() {
            [only] => path_of(controllers, entry_points[*only]),
            _ => common_folder(group.iter().map(|&i| folders[i].as_deref()), root)
                .unwrap_or_else(|| path_of(controllers, entry_points[group[0]])),
        };
        for &i in group {
            names[i] = name.clone();
        }
    }
    entry_points.iter().copied().zip(names).collect()
}

/// The path a Flux Kustomization builds, as a cluster name.
fn path_of(controllers: &Controllers, a: usize) -> String {
    match controllers.found[a].applier {
        Applier::Flux(k) => clean_path(k.path.as_deref()),
        Applier::Argo(_) => String::new(),
    }
}

/// Of `candidates` (other than `i`), the one whose folder shares the longest start with
/// `i`'s; none on a tie (which of them Flux means is not known).
fn nearest(i: usize, candidates: &[usize], folders: &[Option<PathBuf>]) -> Option<usize> {
    let shared = |j: usize| match (&folders[i], &folders[j]) {
        (Some(a), Some(b)) => a
            .components()
            .zip(b.components())
            .take_while(|(x, y)| x == y)
            .count(),
        _ => 0,
    };
    let mut best: Option<(usize, usize)> = None;
    let mut tied = false;
    for &j in candidates.iter().filter(|&&j| j != i) {
        let score = shared(j);
        match best {
            Some((_, s)) if s > score => {}
            Some((_, s)) if s == score => tied = true,
            _ => {
                best = Some((j, score));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(j, _)| j)
}

/// The deepest folder holding all of `folders`, relative to `root`; `None` when one is
/// unknown (standard input) or outside `root`.
fn common_folder<'p>(
    mut folders: impl Iterator<Item = Option<&'p Path>>,
    root: &Path,
) -> Option<String> {
    let mut common: PathBuf = folders.next()??.to_path_buf();
    for folder in folders {
        let folder = folder?;
        while !folder.starts_with(&common) {
            if !common.pop() {
                return None;
            }
        }
    }
    let relative = common.strip_prefix(root).ok()?;
    let relative = relative.to_string_lossy();
    Some(if relative.is_empty() {
        ".".to_string()
    } else {
        relative.into_owned()
    })
}

/// Union-find over entry points, with path halving (no recursion).
struct Groups {
    parent: Vec<usize>,
}

impl Groups {
    fn new(n: usize) -> Self {
        Groups {
            parent: (0..n).collect(),
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        // The smaller index roots the group, so names do not depend on the order of joins.
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        self.parent[high] = low;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::discover::normalize;
    use crate::topology::testing::{file, resolve_files};

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

    fn clusters_of(landing: &crate::topology::Landing) -> Vec<Option<&str>> {
        match landing {
            crate::topology::Landing::Built(ways) => {
                ways.iter().map(|w| w.cluster.as_deref()).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    fn kustomization(name: &str, path: &str, depends_on: &str) -> String {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: flux-system}}\nspec:\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n{depends_on}"
        )
    }

    #[test]
    fn roots_in_one_folder_or_linked_by_depends_on_are_one_cluster() {
        let np = "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: n}\n";
        let after = "  dependsOn: [{name: infra}]\n";
        let mut files = vec![
            file(
                "f/clusters/prod/infra.yaml",
                &kustomization("infra", "./f/infra/prod", ""),
            ),
            file(
                "f/clusters/prod/apps.yaml",
                &kustomization("apps", "./f/apps/prod", ""),
            ),
            file(
                "f/clusters/dev/a/ks.yaml",
                &kustomization("infra", "./f/infra/dev", ""),
            ),
            file(
                "f/clusters/dev/b/ks.yaml",
                &kustomization("apps", "./f/apps/dev", after),
            ),
            // Two Kustomizations named infra as near as each other: which one is not known.
            file(
                "f/lone/x/ks.yaml",
                &kustomization("infra", "./f/lone/x/np", ""),
            ),
            file(
                "f/lone/y/ks.yaml",
                &kustomization("infra", "./f/lone/y/np", ""),
            ),
            file(
                "f/lone/z/ks.yaml",
                &kustomization("z", "./f/lone/z/np", after),
            ),
            file("f/infra/prod/np.yaml", np),
            file("f/apps/prod/np.yaml", np),
            file("f/infra/dev/np.yaml", np),
            file("f/apps/dev/np.yaml", np),
            file("f/lone/x/np/np.yaml", np),
            file("f/lone/z/np/np.yaml", np),
        ];
        for f in &mut files {
            f.bytes = None;
        }
        let r = resolve_files(&mut files);
        for (i, cluster) in [
            (0, "f/clusters/prod"),
            (7, "f/clusters/prod"),
            (8, "f/clusters/prod"),
            (2, "f/clusters/dev"),
            (9, "f/clusters/dev"),
            (10, "f/clusters/dev"),
            (11, "f/lone/x/np"),
            (12, "f/lone/z/np"),
        ] {
            assert_eq!(
                clusters_of(&r.landings[i]),
                [Some(cluster)],
                "{}",
                files[i].display
            );
        }
    }
}
