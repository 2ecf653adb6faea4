//! `imds-lint fix`: writes the missing halves of the policy pair (IMDS002, IMDS003) next to each
//! namespace's manifests. [`plan`] decides what to write from a lint [`Outcome`] and is pure
//! apart from looking at the disk through [`Disk`]; [`Plan::apply`] is the thin layer that
//! writes. Existing policies are never edited.

use crate::Outcome;
use crate::analyze::NamespaceVerdict;
use crate::analyze::egress::EgressSet;
use crate::analyze::explain::{ClassExplanation, Classes, explain_namespace};
use crate::decode::spec::{EngineKind, Via};
use crate::lint::Finding;
use crate::net::{IpSet, PortSet, Target};
use crate::source::discover::{KUSTOMIZATION_NAMES, normalize};
use crate::source::yaml::{self, Node, offset_of};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `fix` may look at on disk besides the linted files.
pub trait Disk {
    fn exists(&self, path: &Path) -> bool;
    fn read(&self, path: &Path) -> Option<String>;
}

/// The real file system.
pub struct RealDisk;

impl Disk for RealDisk {
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }
}

/// The two halves of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Half {
    DenyAll,
    AllowExceptMetadata,
}

impl Half {
    /// The usual policy name, also the base of the file name.
    pub fn name(self) -> &'static str {
        match self {
            Half::DenyAll => "deny-egress-all",
            Half::AllowExceptMetadata => "allow-egress-all-except-metadata",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Half::DenyAll => "IMDS002",
            Half::AllowExceptMetadata => "IMDS003",
        }
    }
}

/// A policy file to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub path: PathBuf,
    pub display: String,
    pub namespace: String,
    pub policy: String,
    pub half: Half,
    pub text: String,
}

/// A kustomization whose `resources` gain the new files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: PathBuf,
    pub display: String,
    pub old: String,
    pub new: String,
    pub added: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub files: Vec<NewFile>,
    pub edits: Vec<Edit>,
    /// What was left alone and why: namespaces still reachable, not fixable, suppressed.
    pub notes: Vec<String>,
    /// Namespaces that lack a half a finding asks for, but where nothing can be written.
    pub unfixable: Vec<String>,
}

/// Where a namespace's new policies go.
struct Home {
    dir: PathBuf,
    display_dir: PathBuf,
    /// The loaded kustomization in `dir`, by index in `outcome.files`.
    kustomization: Option<usize>,
    /// Whether that kustomization sets the namespace (then the policies carry none).
    sets_namespace: bool,
}

/// A namespace that gets new policies: where they go and which halves.
struct Wanted<'o> {
    verdict: &'o NamespaceVerdict,
    home: Home,
    halves: Vec<Half>,
}

/// Decides what `fix` writes. `targets` are the endpoints checked: every IPv4 one is carved out
/// of `0.0.0.0/0` and, when there are IPv6 ones, a `::/0` block carves those out.
pub fn plan(outcome: &Outcome, targets: &[Target], disk: &dyn Disk) -> Plan {
    let mut plan = Plan::default();
    let wanted = wanted(outcome, &mut plan.notes, &mut plan.unfixable);
    let additions = plan_files(outcome, targets, disk, &wanted, &mut plan);
    plan_edits(outcome, disk, additions, &mut plan);
    plan.notes.extend(host_network_notes(outcome));
    // A namespace of the same name in several clusters gets the same word once.
    let mut seen = HashSet::new();
    plan.notes.retain(|note| seen.insert(note.clone()));
    plan
}

/// Notes on the hostNetwork workloads that keep a namespace reachable: no policy applies to
/// their pods, so nothing fix writes closes it.
fn host_network_notes(outcome: &Outcome) -> impl Iterator<Item = String> + '_ {
    let model = &outcome.model;
    outcome
        .analysis
        .namespaces
        .iter()
        .filter(|v| !outcome.ignored_namespaces.contains(&v.name))
        .flat_map(move |verdict| {
            verdict.host_network.iter().map(move |&w| {
                let w = model.workload(w);
                let line = w
                    .spec
                    .host_network
                    .map_or(w.location.line, |s| s.start.line as usize);
                format!(
                    "namespace {} stays reachable: {} {}/{} runs with hostNetwork: true ({}:{}); \
                     no policy applies to its pods and fix cannot change that (imds-lint rule \
                     IMDS005)",
                    verdict.name, w.kind, w.namespace, w.name, model.files[w.location.file], line
                )
            })
        })
}

/// Whether `finding` is of `rule` about the namespace of `verdict` (in its cluster).
fn is_about(finding: &Finding, rule: &str, verdict: &NamespaceVerdict) -> bool {
    finding.rule == rule
        && finding.namespace.as_deref() == Some(verdict.name.as_str())
        && finding.cluster == verdict.cluster
}

/// The namespaces that get new policies; notes say why others get none.
fn wanted<'o>(
    outcome: &'o Outcome,
    notes: &mut Vec<String>,
    unfixable: &mut Vec<String>,
) -> Vec<Wanted<'o>> {
    let mut wanted = Vec::new();
    for verdict in &outcome.analysis.namespaces {
        if !verdict.protected_by.is_empty() {
            if verdict.deny_all.is_none() || verdict.allow_except_metadata.is_none() {
                let by: Vec<String> = verdict
                    .protected_by
                    .iter()
                    .map(|&p| outcome.model.policy(p).describe())
                    .collect();
                notes.push(format!(
                    "namespace {}: {} keeps every target closed; the pair is not needed",
                    verdict.name,
                    by.join(", ")
                ));
            }
            continue;
        }
        let mut halves = missing_halves(outcome, verdict, notes);
        if halves.is_empty() {
            continue;
        }
        if let Some(kept) = keep_egress(outcome, verdict, &halves) {
            notes.push(kept.note);
            halves = kept.halves;
            if halves.is_empty() {
                unfixable.push(verdict.name.clone());
                notes.extend(still_reachable(outcome, verdict));
                continue;
            }
        }
        match home(outcome, verdict.cluster.as_deref(), &verdict.name) {
            Some(home) => wanted.push(Wanted {
                verdict,
                home,
                halves,
            }),
            // Every manifest of the namespace is from a stream: no folder to write into.
            None => {
                notes.push(format!(
                    "namespace {}: not fixable: its manifests came only from standard input, and \
                     fix writes the policies beside a namespace's files; run fix on the \
                     repository's folders",
                    verdict.name
                ));
                unfixable.push(verdict.name.clone());
            }
        }
    }
    wanted
}

/// What the pods of one class of a namespace may send now, as the pair would change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// They may already send everywhere but to the metadata addresses, on every port: the
    /// pair changes nothing else for them.
    Covered,
    /// No policy isolates them: the pair takes the metadata addresses away, nothing else.
    Open,
    /// NetworkPolicies isolate them with narrower egress: the allow half would widen it.
    Narrow,
    /// Another engine's policy selects them, and may isolate them: what the pair does to
    /// their egress cannot be told.
    Engine,
}

/// The halves to write instead of `halves`, and why, where writing `halves` would change
/// some pod's egress other than by taking the metadata addresses away; `None` where it would
/// not. The allow half widens the egress of pods isolated with less; the deny half alone cuts
/// all egress of pods nothing isolates.
struct Kept {
    halves: Vec<Half>,
    note: String,
}

fn keep_egress(outcome: &Outcome, verdict: &NamespaceVerdict, halves: &[Half]) -> Option<Kept> {
    let model = &outcome.model;
    // The allow-all policy there isolates every pod already: the deny half changes nothing.
    if halves == [Half::DenyAll] && verdict.allow_except_metadata.is_some() {
        return None;
    }
    let explained = explain_namespace(
        model,
        &outcome.analysis,
        verdict.cluster.as_deref(),
        &verdict.name,
    )?;
    let ns = &verdict.name;
    let Classes::Listed(classes) = &explained.classes else {
        return Some(Kept {
            halves: Vec::new(),
            note: format!(
                "namespace {ns}: nothing written: its policies split pods into too many classes \
                 to show that the pair would take nothing but the metadata addresses away from \
                 their egress"
            ),
        });
    };
    let opened = opened_by_pair(&outcome.analysis.targets);
    let change = |c: &ClassExplanation| {
        if c.egress.isolated && added_by_pair(&opened, &c.egress).is_empty() {
            Change::Covered
        } else if c.selected_by.iter().any(|&p| may_isolate(model, p)) {
            Change::Engine
        } else if c.egress.isolated {
            Change::Narrow
        } else {
            Change::Open
        }
    };
    let changes: Vec<(Change, &ClassExplanation)> =
        classes.iter().map(|c| (change(c), c)).collect();
    let first = |kind: Change| changes.iter().find(|(k, _)| *k == kind).map(|(_, c)| *c);
    let pods = |c: &ClassExplanation| {
        let workloads = c.workload_names(model);
        if workloads.is_empty() {
            c.describe()
        } else {
            format!("{} ({})", c.describe(), workloads.join(", "))
        }
    };
    let allow = Half::AllowExceptMetadata.name();
    if let Some(c) = first(Change::Engine) {
        let engines: Vec<String> = c
            .selected_by
            .iter()
            .filter(|&&p| may_isolate(model, p))
            .map(|&p| model.policy(p).describe())
            .collect();
        return Some(Kept {
            halves: Vec::new(),
            note: format!(
                "namespace {ns}: nothing written: {} {} {}, so fix cannot tell whether the \
                 pair would widen or cut their egress; close the metadata endpoints for them \
                 in that policy",
                engines.join(", "),
                if engines.len() == 1 {
                    "selects"
                } else {
                    "select"
                },
                pods(c),
            ),
        });
    }
    let narrow = first(Change::Narrow)?;
    let widen = format!(
        "{allow} would open {} on every port to {}, which may send {} now",
        added_by_pair(&opened, &narrow.egress).describe(),
        pods(narrow),
        describe_egress(&narrow.egress)
    );
    if let Some(open) = first(Change::Open) {
        return Some(Kept {
            halves: Vec::new(),
            note: format!(
                "namespace {ns}: nothing written: {widen}; deny-egress-all alone would cut all \
                 egress of {}, which no policy isolates. Close the metadata endpoints for those \
                 pods by hand: a policy that selects them and allows {}",
                pods(open),
                allowed_by_pair(&outcome.analysis.targets)
            ),
        });
    }
    // Every pod is isolated already: the deny half changes no egress, the allow half widens.
    let closed = if verdict.pod_network_reachable.is_empty() {
        "; no pod here can reach a metadata endpoint already"
    } else {
        ""
    };
    Some(Kept {
        halves: halves
            .iter()
            .copied()
            .filter(|&h| h == Half::DenyAll)
            .collect(),
        note: format!("namespace {ns}: no {allow} policy written: {widen}{closed}"),
    })
}

/// Every address the allow half opens: all of both families, but the metadata addresses.
fn opened_by_pair(targets: &[Target]) -> IpSet {
    targets.iter().fold(IpSet::all(), |set, t| {
        set.difference(&IpSet::from_net(&t.host_cidr()))
    })
}

/// The addresses the allow half would open to pods with `egress` that they may not yet send
/// to on every port.
fn added_by_pair(opened: &IpSet, egress: &EgressSet) -> IpSet {
    let all_ports = PortSet::all();
    egress
        .addresses
        .iter()
        .filter(|a| a.ports == all_ports)
        .fold(opened.clone(), |rest, a| rest.difference(&a.addresses))
}

/// Whether policy `p` is another engine's that may isolate pods in the NetworkPolicy layer or
/// decide after it (an AdminNetworkPolicy decides before it and isolates nothing: the pair
/// changes nothing it decides).
fn may_isolate(model: &crate::model::Model, p: crate::model::PolicyId) -> bool {
    let policy = model.policy(p);
    !policy.is_native() && policy.engine_kind != Some(EngineKind::AdminNetworkPolicy)
}

/// The egress a class has, for a note: `only to 10.0.0.0/8 any port; pods … TCP 53`, or
/// `nothing`.
fn describe_egress(egress: &EgressSet) -> String {
    let parts: Vec<String> = egress
        .addresses
        .iter()
        .map(|a| format!("{} {}", a.addresses.describe(), a.ports.describe()))
        .chain(
            egress
                .pods
                .iter()
                .map(|p| format!("{} {}", p.peers, p.ports.describe())),
        )
        .collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        format!("only to {}", parts.join("; "))
    }
}

/// What the allow half allows, in words: `0.0.0.0/0 except 169.254.169.254/32 and ::/0 except
/// fd00:ec2::254/128`.
fn allowed_by_pair(targets: &[Target]) -> String {
    let block = |cidr: &str, v4: bool| {
        let except: BTreeSet<String> = targets
            .iter()
            .filter(|t| t.addr.is_ipv4() == v4)
            .map(|t| t.host_cidr().to_string())
            .collect();
        if except.is_empty() {
            cidr.to_string()
        } else {
            format!(
                "{cidr} except {}",
                except.into_iter().collect::<Vec<_>>().join(", ")
            )
        }
    };
    format!("{} and {}", block("0.0.0.0/0", true), block("::/0", false))
}

/// The halves a namespace lacks and a standing finding asks for; notes say why a lacking half
/// is not written (suppressed, ignored, turned off).
fn missing_halves(
    outcome: &Outcome,
    verdict: &NamespaceVerdict,
    notes: &mut Vec<String>,
) -> Vec<Half> {
    let lacking = [
        (Half::DenyAll, verdict.deny_all.is_none()),
        (
            Half::AllowExceptMetadata,
            verdict.allow_except_metadata.is_none(),
        ),
    ];
    let mut halves = Vec::new();
    for (half, lacks) in lacking {
        if !lacks {
            continue;
        }
        let why = if outcome
            .findings
            .iter()
            .any(|f| is_about(f, half.rule(), verdict))
        {
            halves.push(half);
            continue;
        } else if outcome
            .suppressed
            .iter()
            .any(|s| is_about(&s.finding, half.rule(), verdict))
        {
            format!("{} is suppressed by an annotation", half.rule())
        } else if outcome.ignored_namespaces.contains(&verdict.name) {
            "the namespace is ignored (ignore-namespaces)".to_string()
        } else {
            format!("{} is turned off in the configuration", half.rule())
        };
        notes.push(format!(
            "namespace {}: {why}; no {} policy written",
            verdict.name,
            half.name()
        ));
    }
    halves
}

/// Plans the new policy files, each under a name no policy of its namespace and no file
/// takes; returns the file names each loaded kustomization (by index) must gain.
fn plan_files(
    outcome: &Outcome,
    targets: &[Target],
    disk: &dyn Disk,
    wanted: &[Wanted],
    plan: &mut Plan,
) -> BTreeMap<usize, Vec<String>> {
    let model = &outcome.model;
    let loaded: HashSet<PathBuf> = outcome.files.iter().map(|f| normalize(&f.path)).collect();
    let mut planned_paths: HashSet<PathBuf> = HashSet::new();
    let mut additions: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut planned_halves: HashSet<(PathBuf, String, Half)> = HashSet::new();
    for Wanted {
        verdict,
        home,
        halves,
    } in wanted
    {
        let namespace = &verdict.name;
        let key = (verdict.cluster.as_deref(), namespace.as_str());
        let mut taken: BTreeSet<String> = model
            .policies
            .iter()
            .filter(|p| p.key() == key)
            .map(|p| p.name.clone())
            .collect();
        for &half in halves {
            // One folder built into several clusters (or namespaces) needs the file once.
            if !planned_halves.insert((normalize(&home.dir), namespace.clone(), half)) {
                continue;
            }
            let policy = unique(half.name(), |n| taken.contains(n));
            taken.insert(policy.clone());
            let file_name = unique(&format!("netpol-{}", half.name()), |stem| {
                let path = normalize(&home.dir.join(format!("{stem}.yaml")));
                loaded.contains(&path) || planned_paths.contains(&path) || disk.exists(&path)
            }) + ".yaml";
            let path = normalize(&home.dir.join(&file_name));
            planned_paths.insert(path.clone());
            let namespace_field = (!home.sets_namespace).then_some(namespace.as_str());
            plan.files.push(NewFile {
                display: home
                    .display_dir
                    .join(&file_name)
                    .to_string_lossy()
                    .into_owned(),
                path,
                namespace: namespace.clone(),
                text: policy_text(half, &policy, namespace_field, targets),
                policy,
                half,
            });
            if let Some(k) = home.kustomization {
                additions.entry(k).or_default().push(file_name);
            }
        }
        plan.notes.extend(still_reachable(outcome, verdict));
    }
    additions
}

/// Notes on the openings a namespace keeps: fix does not edit existing policies, but says how
/// to close an ipBlock's opening without taking anything else away.
fn still_reachable<'o>(
    outcome: &'o Outcome,
    verdict: &'o NamespaceVerdict,
) -> impl Iterator<Item = String> + 'o {
    let model = &outcome.model;
    verdict.openings.iter().map(move |opening| {
        let rule = model.rule(opening.rule);
        let how = match &rule.rule.via {
            Via::IpBlock(cidr) if rule.policy.is_native() => {
                let hosts: BTreeSet<String> = opening
                    .targets
                    .iter()
                    .map(Target::host_cidr)
                    .filter(|host| host.prefix_len() > cidr.prefix_len())
                    .map(|host| host.to_string())
                    .collect();
                if hosts.is_empty() {
                    "remove its ipBlock by hand: it allows only the metadata address".to_string()
                } else {
                    format!(
                        "add {} to the except of its ipBlock {cidr} by hand, which takes \
                         nothing else away",
                        hosts.into_iter().collect::<Vec<_>>().join(", ")
                    )
                }
            }
            _ => "change it by hand".to_string(),
        };
        format!(
            "namespace {} stays reachable: {} ({}:{}) \
             opens {}; fix does not edit existing policies: {how}",
            verdict.name,
            rule.describe(),
            model.files[rule.at().file],
            rule.at().line,
            opening
                .targets
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Plans the kustomization edits that list the new files in `resources`.
fn plan_edits(
    outcome: &Outcome,
    disk: &dyn Disk,
    additions: BTreeMap<usize, Vec<String>>,
    plan: &mut Plan,
) {
    for (k, added) in additions {
        let file = &outcome.files[k];
        let edited = disk
            .read(&file.path)
            .and_then(|old| add_resources(&old, &added).map(|new| (old, new)));
        match edited {
            Some((old, new)) => plan.edits.push(Edit {
                path: file.path.clone(),
                display: file.display.clone(),
                old,
                new,
                added,
            }),
            None => plan.notes.push(format!(
                "{}: could not add {} to its resources; add them by hand",
                file.display,
                added.join(", ")
            )),
        }
    }
}

/// `base`, else `base-1`, `base-2`, … : the first that is not `taken`.
fn unique(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (1..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !taken(name))
        .unwrap_or_default()
}

/// Where a namespace's policies go: the folder of the kustomization that sets the namespace,
/// else of its Namespace object, else of its first manifest (or any manifest that is a file).
fn home(outcome: &Outcome, cluster: Option<&str>, namespace: &str) -> Option<Home> {
    let is_file = |i: usize| outcome.files.get(i).is_some_and(|f| f.bytes.is_none());
    let dir_of = |i: usize| {
        let file = &outcome.files[i];
        (
            file.path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            Path::new(&file.display)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        )
    };
    let model = &outcome.model;
    let key = (cluster, namespace);
    let ns = model.namespaces.get(&crate::model::NamespaceKey {
        cluster: cluster.map(str::to_string),
        name: namespace.to_string(),
    })?;
    // Where kustomize builds the namespace from: the outermost kustomization that sets it.
    if let Some(k) = ns.set_by.filter(|&k| is_file(k)) {
        let (dir, display_dir) = dir_of(k);
        return Some(Home {
            dir,
            display_dir,
            kustomization: Some(k),
            sets_namespace: true,
        });
    }
    let anchor = ns
        .object
        .into_iter()
        .chain([ns.first_manifest])
        .chain(
            model
                .policies
                .iter()
                .filter(|p| p.key() == key)
                .map(|p| p.location),
        )
        .chain(
            model
                .workloads
                .iter()
                .filter(|w| w.key() == key)
                .map(|w| w.location),
        )
        .find(|l| is_file(l.file))?;
    let (dir, display_dir) = dir_of(anchor.file);
    // A kustomization here that sets another namespace does not build this namespace's
    // manifests (they would be in that namespace); the new files stay out of it, like them.
    let kustomization = KUSTOMIZATION_NAMES
        .iter()
        .find_map(|name| {
            let path = normalize(&dir.join(name));
            outcome
                .files
                .iter()
                .position(|f| f.kustomization.is_some() && normalize(&f.path) == path)
        })
        .filter(|&k| {
            outcome.files[k]
                .kustomization
                .as_ref()
                .and_then(|node| node.get("namespace"))
                .and_then(Node::as_str)
                .is_none_or(|set| set.is_empty())
        });
    Some(Home {
        dir,
        display_dir,
        kustomization,
        sets_namespace: false,
    })
}

/// A YAML scalar: plain when it reads back as the same string, else double-quoted.
fn quoted(text: &str) -> String {
    let plain = yaml::Node {
        value: yaml::Value::Scalar {
            text: text.to_string(),
            quoted: false,
        },
        span: yaml::Span::default(),
    };
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '_'));
    if safe && plain.as_str() == Some(text) {
        text.to_string()
    } else {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// The text of a new policy.
pub fn policy_text(half: Half, name: &str, namespace: Option<&str>, targets: &[Target]) -> String {
    let mut text = String::from(
        "# Written by `imds-lint fix`: together with its pair it blocks the cloud metadata\n\
         # service for every pod of the namespace (see `imds-lint rule IMDS002`, `IMDS003`).\n\
         apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n",
    );
    text.push_str(&format!("  name: {name}\n"));
    if let Some(ns) = namespace {
        text.push_str(&format!("  namespace: {}\n", quoted(ns)));
    }
    text.push_str("spec:\n  podSelector: {}\n  policyTypes:\n    - Egress\n");
    if half == Half::DenyAll {
        return text;
    }
    let excepts = |v4: bool| -> BTreeSet<String> {
        targets
            .iter()
            .filter(|t| t.addr.is_ipv4() == v4)
            .map(|t| t.host_cidr().to_string())
            .collect()
    };
    text.push_str("  egress:\n    - to:\n");
    // Both families, so that pods no policy isolated keep all the egress they had but the
    // metadata addresses (without `::/0` they would lose IPv6).
    for (cidr, except) in [("0.0.0.0/0", excepts(true)), ("::/0", excepts(false))] {
        text.push_str(&format!(
            "        - ipBlock:\n            cidr: {}\n",
            quoted(cidr)
        ));
        if !except.is_empty() {
            text.push_str("            except:\n");
            for e in except {
                text.push_str(&format!("              - {}\n", quoted(&e)));
            }
        }
    }
    text
}

/// Byte offset just past the end of the line holding `offset` (past its `\n`, if any).
fn end_of_line(text: &str, offset: usize) -> usize {
    text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1)
}

/// `old` with `added` appended to its top-level `resources` list, editing only where the list
/// ends (or adding the key at the end), so comments and layout stay. `None` when the file is
/// not a kustomization this can edit safely.
pub fn add_resources(old: &str, added: &[String]) -> Option<String> {
    let root = yaml::parse_documents(old, 0).ok()?.into_iter().next()?;
    // Written as the entries already there are: `./x.yaml` where they all start with `./`.
    let existing = listed_resources(&root);
    let added: Vec<String> = if !existing.is_empty() && existing.iter().all(|e| e.starts_with("./"))
    {
        added.iter().map(|a| format!("./{a}")).collect()
    } else {
        added.to_vec()
    };
    let mut new = old.to_string();
    match root.entry("resources") {
        None => {
            if !new.is_empty() && !new.ends_with('\n') {
                new.push('\n');
            }
            new.push_str("resources:\n");
            new.push_str(&block_items("  - ", &added));
        }
        Some((key, value)) => {
            let (at, insert) = resources_insertion(old, key, value, &added)?;
            new.insert_str(at, &insert);
        }
    }
    // Check the edit means what it should: the old entries, then the new ones.
    let reparsed = yaml::parse_documents(&new, 0).ok()?.into_iter().next()?;
    let mut expected = existing;
    expected.extend(added);
    (listed_resources(&reparsed) == expected).then_some(new)
}

/// The strings of a kustomization's `resources` list.
fn listed_resources(root: &Node) -> Vec<String> {
    root.get("resources")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect()
}

/// One block-list line per entry: `{prefix}{entry}`.
fn block_items(prefix: &str, added: &[String]) -> String {
    added
        .iter()
        .map(|entry| format!("{prefix}{entry}\n"))
        .collect()
}

/// Where in `old` to insert `added` into the existing `resources:` entry (`key`, `value`),
/// and the text to insert; `None` for a form this cannot edit safely.
fn resources_insertion(
    old: &str,
    key: &Node,
    value: &Node,
    added: &[String],
) -> Option<(usize, String)> {
    match value.as_seq() {
        Some(items)
            if old[offset_of(
                old,
                value.span.start.line as usize,
                value.span.start.column as usize,
            )?..]
                .starts_with('[') =>
        {
            // Flow list: insert before its closing bracket.
            let end = offset_of(
                old,
                value.span.end.line as usize,
                value.span.end.column as usize,
            )?;
            let close = old[..end].rfind(']')?;
            let joined = added.join(", ");
            let insert = if items.is_empty() {
                joined
            } else {
                format!(", {joined}")
            };
            Some((close, insert))
        }
        Some(items) if !items.is_empty() => block_insertion(old, items, added),
        _ if value.is_null() && value.key_text() == Some("") => {
            // `resources:` with nothing after it.
            let at = end_of_line(
                old,
                offset_of(
                    old,
                    key.span.start.line as usize,
                    key.span.start.column as usize,
                )?,
            );
            Some((at, line_break_before(old, at) + &block_items("  - ", added)))
        }
        _ => None,
    }
}

/// After the last item of a block list, items written with the first item's prefix.
fn block_insertion(old: &str, items: &[Node], added: &[String]) -> Option<(usize, String)> {
    let first = items.first()?;
    let last = items.last()?;
    let first_line_start = offset_of(old, first.span.start.line as usize, 1)?;
    let first_at = offset_of(
        old,
        first.span.start.line as usize,
        first.span.start.column as usize,
    )?;
    let prefix = &old[first_line_start..first_at];
    // The prefix of a block item is indentation and a dash, possibly a quote.
    let prefix = prefix.trim_end_matches(['"', '\'']);
    if prefix.trim() != "-" {
        return None;
    }
    let last_end = offset_of(
        old,
        last.span.end.line as usize,
        last.span.end.column as usize,
    )?;
    // A node that ends at the start of a line (a block scalar) ends the line before.
    let at = if last.span.end.column == 1 && last.span.end.line > last.span.start.line {
        last_end
    } else {
        end_of_line(old, last_end)
    };
    Some((at, line_break_before(old, at) + &block_items(prefix, added)))
}

/// A line break when the text before `at` does not end one.
fn line_break_before(old: &str, at: usize) -> String {
    if old[..at].ends_with('\n') {
        String::new()
    } else {
        "\n".into()
    }
}

/// A unified diff of `old` → `new` (one changed region, which is all `fix` makes), with three
/// lines of context.
fn unified_diff(display: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let start = prefix.saturating_sub(3);
    let a_end = (a.len() - suffix + 3).min(a.len());
    let b_end = (b.len() - suffix + 3).min(b.len());
    let line = |l: &str| {
        if l.ends_with('\n') {
            l.to_string()
        } else {
            format!("{l}\n\\ No newline at end of file\n")
        }
    };
    let mut out = format!("--- a/{display}\n+++ b/{display}\n");
    let range = |from: usize, to: usize| {
        if to == from {
            format!("{},0", from)
        } else {
            format!("{},{}", from + 1, to - from)
        }
    };
    out.push_str(&format!(
        "@@ -{} +{} @@\n",
        range(start, a_end),
        range(start, b_end)
    ));
    for l in &a[start..prefix] {
        out.push_str(&format!(" {}", line(l)));
    }
    for l in &a[prefix..a.len() - suffix] {
        out.push_str(&format!("-{}", line(l)));
    }
    for l in &b[prefix..b.len() - suffix] {
        out.push_str(&format!("+{}", line(l)));
    }
    for l in &a[a.len() - suffix..a_end] {
        out.push_str(&format!(" {}", line(l)));
    }
    out
}

/// Why [`Plan::apply`] stopped; what it wrote before stays written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FixError {
    #[error("cannot write {file}: {source}")]
    CannotWrite {
        file: String,
        source: std::io::Error,
    },
    #[error("cannot read {file}: {source}")]
    CannotRead {
        file: String,
        source: std::io::Error,
    },
    #[error("{file} changed while fixing; add {} to its resources by hand", .added.join(", "))]
    Changed { file: String, added: Vec<String> },
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.edits.is_empty()
    }

    /// What `--dry-run` prints: a unified diff of every file written or edited.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            out.push_str(&format!(
                "--- /dev/null\n+++ b/{}\n@@ -0,0 +1,{} @@\n",
                file.display,
                file.text.lines().count()
            ));
            for line in file.text.lines() {
                out.push_str(&format!("+{line}\n"));
            }
        }
        for edit in &self.edits {
            out.push_str(&unified_diff(&edit.display, &edit.old, &edit.new));
        }
        out
    }

    /// The notes, one a line, after a word on an empty plan: nothing to fix, or nothing
    /// written because what lacks a half cannot be fixed here.
    pub fn notes(&self) -> String {
        let mut out = String::new();
        if self.is_empty() && self.unfixable.is_empty() {
            out.push_str(
                "nothing to fix: no namespace lacks a half of the pair (IMDS002, IMDS003)\n",
            );
        } else if self.is_empty() {
            out.push_str(&format!(
                "nothing written: {} {} a half of the pair, and fix cannot write it (see below)\n",
                self.unfixable.len(),
                if self.unfixable.len() == 1 {
                    "namespace lacks"
                } else {
                    "namespaces lack"
                }
            ));
        }
        for note in &self.notes {
            out.push_str(&format!("note: {note}\n"));
        }
        out
    }

    /// Writes the plan: new files (never over an existing file), then the kustomization
    /// edits (only if the file is still what the plan read). Returns what it did, one a line.
    pub fn apply(&self) -> Result<String, FixError> {
        let mut out = String::new();
        for file in &self.files {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file.path)
                .and_then(|mut f| f.write_all(file.text.as_bytes()))
                .map_err(|source| FixError::CannotWrite {
                    file: file.display.clone(),
                    source,
                })?;
            let half = if file.policy == file.half.name() {
                String::new()
            } else {
                format!(" (the {} half)", file.half.name())
            };
            out.push_str(&format!(
                "wrote {}: NetworkPolicy {}/{}{half}\n",
                file.display, file.namespace, file.policy
            ));
        }
        for edit in &self.edits {
            let current =
                std::fs::read_to_string(&edit.path).map_err(|source| FixError::CannotRead {
                    file: edit.display.clone(),
                    source,
                })?;
            if current != edit.old {
                return Err(FixError::Changed {
                    file: edit.display.clone(),
                    added: edit.added.clone(),
                });
            }
            std::fs::write(&edit.path, &edit.new).map_err(|source| FixError::CannotWrite {
                file: edit.display.clone(),
                source,
            })?;
            out.push_str(&format!(
                "edited {}: added {} to resources\n",
                edit.display,
                edit.added.join(", ")
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_grow_in_the_style_they_have() {
        let added = vec!["netpol-deny-egress-all.yaml".to_string()];
        let block = "# keep me\nresources:\n  - a.yaml # and me\n  - b.yaml\nnamespace: x\n";
        assert_eq!(
            add_resources(block, &added).unwrap(),
            "# keep me\nresources:\n  - a.yaml # and me\n  - b.yaml\n  - netpol-deny-egress-all.yaml\nnamespace: x\n"
        );
        let unindented = "resources:\n- a.yaml\n";
        assert_eq!(
            add_resources(unindented, &added).unwrap(),
            "resources:\n- a.yaml\n- netpol-deny-egress-all.yaml\n"
        );
        let no_newline = "resources:\n  - a.yaml";
        assert_eq!(
            add_resources(no_newline, &added).unwrap(),
            "resources:\n  - a.yaml\n  - netpol-deny-egress-all.yaml\n"
        );
        let flow = "resources: [a.yaml, b.yaml] # x\n";
        assert_eq!(
            add_resources(flow, &added).unwrap(),
            "resources: [a.yaml, b.yaml, netpol-deny-egress-all.yaml] # x\n"
        );
        assert_eq!(
            add_resources("resources: []\n", &added).unwrap(),
            "resources: [netpol-deny-egress-all.yaml]\n"
        );
        assert_eq!(
            add_resources("namespace: x", &added).unwrap(),
            "namespace: x\nresources:\n  - netpol-deny-egress-all.yaml\n"
        );
        assert_eq!(
            add_resources("resources:\nnamespace: x\n", &added).unwrap(),
            "resources:\n  - netpol-deny-egress-all.yaml\nnamespace: x\n"
        );
        assert_eq!(add_resources("resources: a.yaml\n", &added), None);
        assert_eq!(
            add_resources("resources:\n  - ./a.yaml\n  - ./b/ks.yaml\n", &added).unwrap(),
            "resources:\n  - ./a.yaml\n  - ./b/ks.yaml\n  - ./netpol-deny-egress-all.yaml\n"
        );
    }

    /// The disk as it is, plus files that only this test pretends exist.
    struct Pretend(Vec<PathBuf>);

    impl Disk for Pretend {
        fn exists(&self, path: &Path) -> bool {
            self.0.iter().any(|p| p == path) || path.exists()
        }
        fn read(&self, path: &Path) -> Option<String> {
            std::fs::read_to_string(path).ok()
        }
    }

    #[test]
    fn plan_places_names_and_lists_the_new_files() {
        let outcome = crate::run(crate::LintOptions {
            inputs: vec![crate::Input::Path("fixtures/fix".into())],
            excludes: Vec::new(),
            default_namespace: "default".into(),
            targets: Target::defaults(),
            cluster: None,
            cluster_map: Default::default(),
            settings: crate::lint::settings::Settings::default(),
        })
        .unwrap();
        let taken = normalize(Path::new(
            "fixtures/fix/clusters/team-a/netpol-deny-egress-all.yaml",
        ));
        let plan = plan(&outcome, &Target::defaults(), &Pretend(vec![taken]));
        let files: Vec<(&str, &str, &str)> = plan
            .files
            .iter()
            .map(|f| (f.display.as_str(), f.namespace.as_str(), f.policy.as_str()))
            .collect();
        assert_eq!(
            files,
            vec![
                (
                    "fixtures/fix/apps/shop/overlays/prod/netpol-deny-egress-all.yaml",
                    "shop",
                    "deny-egress-all"
                ),
                (
                    "fixtures/fix/apps/shop/overlays/prod/netpol-allow-egress-all-except-metadata.yaml",
                    "shop",
                    "allow-egress-all-except-metadata"
                ),
                (
                    "fixtures/fix/clusters/team-a/netpol-deny-egress-all-1.yaml",
                    "team-a",
                    "deny-egress-all"
                ),
                (
                    "fixtures/fix/clusters/team-a/netpol-allow-egress-all-except-metadata.yaml",
                    "team-a",
                    "allow-egress-all-except-metadata"
                ),
            ]
        );
        let edits: Vec<(&str, Vec<String>)> = plan
            .edits
            .iter()
            .map(|e| (e.display.as_str(), e.added.clone()))
            .collect();
        assert_eq!(
            edits,
            vec![
                (
                    "fixtures/fix/apps/shop/overlays/prod/kustomization.yaml",
                    vec![
                        "netpol-deny-egress-all.yaml".to_string(),
                        "netpol-allow-egress-all-except-metadata.yaml".to_string()
                    ]
                ),
                (
                    "fixtures/fix/clusters/team-a/kustomization.yaml",
                    vec![
                        "netpol-deny-egress-all-1.yaml".to_string(),
                        "netpol-allow-egress-all-except-metadata.yaml".to_string()
                    ]
                ),
            ]
        );
        assert_eq!(plan.notes.len(), 4, "{:?}", plan.notes);
    }

    /// What [`keep_egress`] keeps of both halves in namespace `ns` of `yaml`, and its note.
    fn kept(yaml: &str) -> Option<(Vec<Half>, String)> {
        let outcome = crate::lint_text(yaml);
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        let verdict = outcome
            .analysis
            .namespaces
            .iter()
            .find(|v| v.name == "ns")
            .expect("namespace ns");
        let halves = [Half::DenyAll, Half::AllowExceptMetadata];
        keep_egress(&outcome, verdict, &halves).map(|k| (k.halves, k.note))
    }

    fn egress(name: &str, selector: &str, rules: &str) -> String {
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  podSelector: {selector}\n  policyTypes: [Egress]\n  egress: {rules}\n"
        )
    }

    const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n";

    #[test]
    fn the_pair_is_kept_whole_where_it_takes_only_metadata_away() {
        // No policy: every pod keeps all but the metadata addresses.
        assert_eq!(kept(NAMESPACE), None);
        // Pods that may send everywhere already, on every port.
        let everywhere = format!("{NAMESPACE}{}", egress("all", "{}", "[{}]"));
        assert_eq!(kept(&everywhere), None);
        // An AdminNetworkPolicy decides before the NetworkPolicy layer and isolates nothing.
        let admin = format!(
            "{NAMESPACE}---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: a}}\nspec:\n  priority: 1\n  subject: {{namespaces: {{}}}}\n  egress: [{{name: r, action: Deny, to: [{{networks: [10.0.0.0/8]}}]}}]\n"
        );
        assert_eq!(kept(&admin), None);
    }

    #[test]
    fn the_allow_half_is_dropped_where_it_would_widen() {
        let narrow = format!(
            "{NAMESPACE}{}",
            egress("internal", "{}", "[{to: [ipBlock: {cidr: 10.0.0.0/8}]}]")
        );
        let (halves, note) = kept(&narrow).expect("changed");
        assert_eq!(halves, [Half::DenyAll], "every pod is isolated already");
        assert!(
            note.contains("may send only to 10.0.0.0/8 any port now"),
            "{note}"
        );
        // Every port to everywhere but on one protocol only is narrower too.
        let tcp_only = format!(
            "{NAMESPACE}{}",
            egress("tcp", "{}", "[{ports: [{protocol: TCP}]}]")
        );
        assert_eq!(kept(&tcp_only).map(|k| k.0), Some(vec![Half::DenyAll]));
    }

    #[test]
    fn nothing_is_written_where_some_pods_are_narrow_and_others_open_or_an_engine_decides() {
        let mixed = format!(
            "{NAMESPACE}{}",
            egress(
                "db",
                "{matchLabels: {app: db}}",
                "[{to: [ipBlock: {cidr: 10.0.0.0/8}]}]"
            )
        );
        let (halves, note) = kept(&mixed).expect("changed");
        assert!(halves.is_empty());
        assert!(note.contains("which no policy isolates"), "{note}");
        // A BaselineAdminNetworkPolicy decides after the NetworkPolicy layer: pods the pair
        // isolates would no longer reach it.
        let baseline = format!(
            "{NAMESPACE}---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {{name: default}}\nspec:\n  subject: {{namespaces: {{}}}}\n  egress: [{{name: r, action: Deny, to: [{{networks: [10.0.0.0/8]}}]}}]\n"
        );
        let (halves, note) = kept(&baseline).expect("changed");
        assert!(halves.is_empty());
        assert!(
            note.starts_with(
                "namespace ns: nothing written: BaselineAdminNetworkPolicy default selects"
            ),
            "{note}"
        );
    }

    #[test]
    fn names_do_not_clash() {
        assert_eq!(unique("deny-egress-all", |_| false), "deny-egress-all");
        let taken = ["deny-egress-all", "deny-egress-all-1"];
        assert_eq!(
            unique("deny-egress-all", |n| taken.contains(&n)),
            "deny-egress-all-2"
        );
    }

    #[test]
    fn allow_half_carves_out_every_target() {
        let targets: Vec<Target> = ["169.254.169.254", "169.254.170.2", "fd00:ec2::254"]
            .iter()
            .map(|t| Target::parse(t).unwrap())
            .collect();
        let text = policy_text(Half::AllowExceptMetadata, "allow", Some("web"), &targets);
        let outcome = crate::lint_text(&text);
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert!(
            text.contains("- 169.254.170.2/32\n") && text.contains("\"::/0\""),
            "{text}"
        );
        assert!(text.contains("namespace: web\n"), "{text}");
        let odd = policy_text(Half::DenyAll, "d", Some("true"), &targets);
        assert!(odd.contains("namespace: \"true\""), "{odd}");
        assert!(text.contains("\"fd00:ec2::254/128\""), "{text}");
        let only_v4 = policy_text(Half::AllowExceptMetadata, "allow", None, &targets[..1]);
        assert!(
            only_v4.contains("cidr: \"::/0\"\n") && !only_v4.contains("namespace:"),
            "IPv6 stays open where no IPv6 target is checked: {only_v4}"
        );
    }

    #[test]
    fn the_pair_it_writes_passes_the_lint() {
        let targets = Target::defaults();
        let text = format!(
            "{}---\n{}",
            policy_text(Half::DenyAll, "deny-egress-all", Some("web"), &targets),
            policy_text(
                Half::AllowExceptMetadata,
                "allow-egress-all-except-metadata",
                Some("web"),
                &targets
            )
        );
        let outcome = crate::lint_text(&text);
        assert!(outcome.findings.is_empty(), "{:?}", outcome.findings);
    }

    #[test]
    fn an_empty_plan_says_nothing_to_fix_only_when_nothing_lacks() {
        let mut plan = Plan::default();
        assert!(plan.notes().starts_with("nothing to fix"));
        plan.notes.push("namespace a: not fixable: …".into());
        plan.unfixable.push("a".into());
        let notes = plan.notes();
        assert!(!notes.contains("nothing to fix"), "{notes}");
        assert!(
            notes.starts_with("nothing written: 1 namespace lacks a half of the pair, and fix"),
            "{notes}"
        );
        assert!(
            notes.ends_with("note: namespace a: not fixable: …\n"),
            "{notes}"
        );
    }

    #[test]
    fn diff_shows_the_change_with_context() {
        let diff = unified_diff("k.yaml", "a\nb\nc\nd\ne\n", "a\nb\nc\nd\nx\ne\n");
        assert_eq!(
            diff,
            "--- a/k.yaml\n+++ b/k.yaml\n@@ -2,4 +2,5 @@\n b\n c\n d\n+x\n e\n"
        );
    }
}
