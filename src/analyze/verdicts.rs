//! Verdicts: per namespace and per workload, which metadata targets some pod can reach and
//! through which rules.
//!
//! Every policy is evaluated through the precedence chain ([`chain`]). Where only native
//! policies apply, the chain is one deny-wins group of Allow rules, so its answer is the
//! Kubernetes union: a pod is egress-isolated iff some Egress policy selects it; an isolated
//! pod may send exactly what the union of the rules of the policies selecting it allows; a pod
//! that no Egress policy selects may send anything. Those namespaces take that shortcut, read
//! from the same specs (a property test in [`chain`] checks that the two agree).

use super::chain::{self, Chain, DecidedBy, Decision, Region, RegionBy};
use super::egress;
use crate::decode::labelsets::{Coverage, Space, TooComplex, find_gap};
use crate::decode::selector::{LabelSelector, LabelValue, describe_gap};
use crate::decode::spec::{Action, PolicySpec, Via};
use crate::model::{Model, NamespaceKey, Policy, PolicyId, RuleRef, Workload, WorkloadId};
use crate::net::{PortSet, Target};
use ipnet::IpNet;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A place in a policy that opens one or more targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    /// The rule, and for a native policy the peer, that opens them.
    pub rule: RuleRef,
    pub targets: Vec<Target>,
    /// Rules that passed the traffic on to this one's tier (AdminNetworkPolicy or Calico
    /// `Pass`), in order.
    pub passed_by: Vec<RuleRef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceVerdict {
    pub cluster: Option<String>,
    pub name: String,
    /// Pods that could exist here and that no Egress policy selects (so are not isolated),
    /// described for messages; `None` when every pod is isolated.
    pub unselected_pods: Option<String>,
    pub openings: Vec<Opening>,
    /// Targets some pod here can reach, sorted: every target when some workload here runs
    /// with `hostNetwork: true`.
    pub reachable: Vec<Target>,
    /// Targets some pod on the pod network (where policies apply) can reach, sorted.
    pub pod_network_reachable: Vec<Target>,
    /// A policy selecting every pod for Egress with no rules (the deny half), if any.
    pub deny_all: Option<PolicyId>,
    /// A policy selecting every pod that allows 0.0.0.0/0 minus every IPv4 target, if any.
    pub allow_except_metadata: Option<PolicyId>,
    /// Other engines' policies that keep every target closed for every pod here (by a deny
    /// rule, or by isolating the pods at a tier's end), so the native pair is not needed;
    /// empty otherwise. Pods on the pod network only: see `host_network`.
    pub protected_by: Vec<PolicyId>,
    /// Workloads here whose pods run with `hostNetwork: true`: no policy applies to them, so
    /// each makes every target reachable from the namespace.
    pub host_network: Vec<WorkloadId>,
    /// The policies here combine into more distinct sets of pods than the analysis may build
    /// (only crafted input gets here): every target counts as reachable, and the run fails.
    pub too_complex: bool,
}

impl NamespaceVerdict {
    /// The verdict of namespace `key` before anything is found: nothing open, no pair.
    fn new(key: &NamespaceKey) -> NamespaceVerdict {
        NamespaceVerdict {
            cluster: key.cluster.clone(),
            name: key.name.clone(),
            unselected_pods: None,
            openings: Vec::new(),
            reachable: Vec::new(),
            pod_network_reachable: Vec::new(),
            deny_all: None,
            allow_except_metadata: None,
            protected_by: Vec::new(),
            host_network: Vec::new(),
            too_complex: false,
        }
    }

    /// The namespace's key in [`Model::namespaces`].
    pub fn key(&self) -> crate::model::NamespaceKey {
        crate::model::NamespaceKey {
            cluster: self.cluster.clone(),
            name: self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadVerdict {
    pub workload: WorkloadId,
    /// Some Egress policy that isolates selects the workload's pods.
    pub isolated: bool,
    /// Some target is reachable because no policy decides its traffic.
    pub default_allowed: bool,
    /// The Egress policies selecting its pods.
    pub selected_by: Vec<PolicyId>,
    /// Where those policies open a target to its pods.
    pub openings: Vec<Opening>,
    pub reachable: Vec<Target>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    pub targets: Vec<Target>,
    /// One verdict per namespace, sorted by name.
    pub namespaces: Vec<NamespaceVerdict>,
    pub workloads: Vec<WorkloadVerdict>,
}

/// Where a rule of policy `index` opens `targets`, one entry per opening peer or `to`-less
/// rule.
fn openings_of(model: &Model, id: PolicyId, targets: &[Target]) -> Vec<Opening> {
    egress::egress_rules(model, id)
        .filter(|(_, rule)| rule.action == Action::Allow)
        .filter_map(|(rule_id, rule)| {
            let reached: Vec<Target> = targets
                .iter()
                .copied()
                .filter(|t| {
                    rule.ports.contains(t.protocol, t.port)
                        && rule.destinations.addresses.contains(t.addr)
                })
                .collect();
            (!reached.is_empty()).then_some(Opening {
                rule: rule_id,
                targets: reached,
                passed_by: Vec::new(),
            })
        })
        .collect()
}

/// The pod selectors of a policy's egress specs: a pod is selected when one matches (with its
/// namespace's side; a native policy's is its own namespace).
fn pod_selectors(policy: &Policy) -> impl Iterator<Item = &LabelSelector> {
    policy
        .egress_specs()
        .flat_map(|(_, spec)| spec.selects.any_of.iter().map(|pair| &pair.pods))
}

/// Whether a spec selects every pod of every namespace it applies in.
fn selects_every_pod(spec: &PolicySpec) -> bool {
    spec.selects
        .any_of
        .iter()
        .any(|pair| pair.namespaces.selects_all() && pair.pods.selects_all())
}

/// The deny half of the pair: every pod selected for Egress, no rule.
fn is_deny_all(policy: &Policy) -> bool {
    policy
        .egress_specs()
        .any(|(_, spec)| selects_every_pod(spec) && spec.rules.is_empty())
}

/// The allow half: every pod may send to an ipBlock `0.0.0.0/0` on every port, except every
/// IPv4 target.
fn is_allow_except_metadata(policy: &Policy, targets: &[Target]) -> bool {
    policy.egress_specs().any(|(_, spec)| {
        selects_every_pod(spec)
            && spec.rules.iter().any(|rule| {
                rule.action == Action::Allow
                    && rule.ports == PortSet::all()
                    && matches!(&rule.via, Via::IpBlock(IpNet::V4(net)) if net.prefix_len() == 0)
                    && targets
                        .iter()
                        .filter(|t| t.addr.is_ipv4())
                        .all(|t| !rule.destinations.addresses.contains(t.addr))
            })
    })
}

pub fn analyze(model: &Model, targets: &[Target]) -> Analysis {
    let inputs = VerdictInputs::new(model, targets);
    let mut namespaces: Vec<NamespaceVerdict> = model
        .namespaces
        .keys()
        .map(|key| inputs.namespace(key))
        .collect();
    add_host_network(model, targets, &mut namespaces);
    let workloads = model
        .workloads_with_ids()
        .map(|(w, workload)| inputs.workload(w, workload))
        .collect();
    Analysis {
        targets: targets.to_vec(),
        namespaces,
        workloads,
    }
}

/// Native Egress policies by the (cluster, namespace) they apply in.
type NativeByNamespace<'m> = HashMap<(Option<&'m str>, &'m str), Vec<PolicyId>>;

/// What every verdict reads, worked out once for the whole model.
struct VerdictInputs<'m> {
    model: &'m Model,
    targets: &'m [Target],
    native_by_namespace: NativeByNamespace<'m>,
    /// The precedence chain of each namespace where another engine's policy applies.
    chains: Chains<'m>,
    /// The verdict of each chain, worked out for the first namespace that has it.
    chain_verdicts: RefCell<HashMap<usize, Result<NamespaceVerdict, TooComplex>>>,
    /// Where each native policy that can select a pod opens a target.
    openings_by_policy: HashMap<PolicyId, Vec<Opening>>,
}

impl<'m> VerdictInputs<'m> {
    fn new(model: &'m Model, targets: &'m [Target]) -> Self {
        let native_by_namespace = native_egress_by_namespace(model);
        let chains = engine_chains(model, &native_by_namespace);
        let openings_by_policy = native_openings(model, &native_by_namespace, targets);
        VerdictInputs {
            model,
            targets,
            native_by_namespace,
            chains,
            chain_verdicts: RefCell::new(HashMap::new()),
            openings_by_policy,
        }
    }

    /// The native Egress policies of the namespace `key`.
    fn native_in<'k>(&'k self, key: (Option<&'k str>, &'k str)) -> &'k [PolicyId] {
        self.native_by_namespace
            .get(&key)
            .map_or(&[][..], Vec::as_slice)
    }

    fn namespace(&self, key: &NamespaceKey) -> NamespaceVerdict {
        let governing = self.native_in(key.as_pair());
        let policies = || governing.iter().map(|&i| (i, self.model.policy(i)));
        let deny_all = policies().find(|(_, p)| is_deny_all(p)).map(|(i, _)| i);
        let allow_except_metadata = policies()
            .find(|(_, p)| is_allow_except_metadata(p, self.targets))
            .map(|(i, _)| i);
        let verdict = match self.chains.by_namespace.get(key) {
            Some(&i) => {
                // Namespaces that share a chain share its verdict, under their own name.
                let mut done = self.chain_verdicts.borrow_mut();
                let verdict = done.entry(i).or_insert_with(|| {
                    namespace_by_chain(self.model, key, &self.chains.chains[i], self.targets)
                });
                verdict.clone().map(|v| NamespaceVerdict {
                    cluster: key.cluster.clone(),
                    name: key.name.clone(),
                    ..v
                })
            }
            None => self.namespace_by_union(key, governing),
        };
        let verdict = verdict.unwrap_or_else(|TooComplex| NamespaceVerdict {
            // Never a guess: every target counts as reachable, and the run fails (exit 2)
            // with the namespace's policies named.
            unselected_pods: Some(TOO_COMPLEX.into()),
            reachable: self.targets.to_vec(),
            too_complex: true,
            ..NamespaceVerdict::new(key)
        });
        NamespaceVerdict {
            deny_all,
            allow_except_metadata,
            pod_network_reachable: verdict.reachable.clone(),
            ..verdict
        }
    }

    /// The verdict of a namespace only native policies reach: the union of `governing`, its
    /// native Egress policies.
    fn namespace_by_union(
        &self,
        key: &NamespaceKey,
        governing: &[PolicyId],
    ) -> Result<NamespaceVerdict, TooComplex> {
        let selectors: Vec<&LabelSelector> = governing
            .iter()
            .flat_map(|&i| pod_selectors(self.model.policy(i)))
            .collect();
        let unselected_pods = match find_gap(&selectors) {
            Coverage::Covered => None,
            Coverage::Gap(gap) => Some(describe_gap(&gap)),
            Coverage::TooComplex => return Err(TooComplex),
        };
        let openings: Vec<Opening> = governing
            .iter()
            .flat_map(|i| self.openings_by_policy.get(i).cloned().unwrap_or_default())
            .collect();
        let reachable = reachable_through(unselected_pods.is_some(), &openings, self.targets);
        Ok(NamespaceVerdict {
            unselected_pods,
            openings,
            reachable,
            ..NamespaceVerdict::new(key)
        })
    }

    fn workload(&self, w: WorkloadId, workload: &Workload) -> WorkloadVerdict {
        let key = NamespaceKey {
            cluster: workload.cluster.clone(),
            name: workload.namespace.clone(),
        };
        match self.chains.by_namespace.get(&key) {
            Some(&i) => workload_by_chain(self.model, w, &self.chains.chains[i], self.targets),
            None => self.workload_by_union(w, workload),
        }
    }

    /// The verdict of a workload only native policies reach: the union of those selecting
    /// its pods.
    fn workload_by_union(&self, w: WorkloadId, workload: &Workload) -> WorkloadVerdict {
        let selecting: Vec<PolicyId> = self
            .native_in(workload.key())
            .iter()
            .copied()
            .filter(|&i| {
                pod_selectors(self.model.policy(i)).any(|s| s.matches(&workload.spec.pod_labels))
            })
            .collect();
        let isolated = !selecting.is_empty();
        let openings: Vec<Opening> = selecting
            .iter()
            .flat_map(|i| self.openings_by_policy.get(i).into_iter().flatten())
            .cloned()
            .collect();
        let open_to_all = workload.spec.host_network.is_some() || !isolated;
        let reachable = reachable_through(open_to_all, &openings, self.targets);
        WorkloadVerdict {
            workload: w,
            isolated,
            default_allowed: !isolated,
            selected_by: selecting,
            openings,
            reachable,
        }
    }
}

/// Counts each hostNetwork workload in its namespace's verdict: its pods share the node's
/// network namespace, where no policy applies, so they reach every target.
fn add_host_network(model: &Model, targets: &[Target], namespaces: &mut [NamespaceVerdict]) {
    let index: HashMap<(Option<&str>, &str), usize> = model
        .namespaces
        .keys()
        .enumerate()
        .map(|(i, key)| (key.as_pair(), i))
        .collect();
    for (w, workload) in model.workloads_with_ids() {
        if workload.spec.host_network.is_none() {
            continue;
        }
        if let Some(&i) = index.get(&workload.key()) {
            let verdict = &mut namespaces[i];
            verdict.host_network.push(w);
            verdict.reachable = reachable_through(true, &[], targets);
        }
    }
}

/// Every target when `open_to_all`, else those `openings` open; sorted, each once.
fn reachable_through(open_to_all: bool, openings: &[Opening], targets: &[Target]) -> Vec<Target> {
    let mut reachable: Vec<Target> = if open_to_all {
        targets.to_vec()
    } else {
        openings
            .iter()
            .flat_map(|o| o.targets.iter().copied())
            .collect()
    };
    reachable.sort();
    reachable.dedup();
    reachable
}

fn native_egress_by_namespace(model: &Model) -> NativeByNamespace<'_> {
    let mut by_namespace: NativeByNamespace = HashMap::new();
    for (i, p) in model.policies_with_ids() {
        if p.is_native() && p.governs_egress() {
            by_namespace.entry(p.key()).or_default().push(i);
        }
    }
    by_namespace
}

/// The precedence chains of the namespaces where another engine's policy applies, each
/// built once: namespaces with no policy of their own share the chain of every namespace
/// whose labels the cluster-wide policies' namespace selectors cannot tell apart.
#[derive(Default)]
struct Chains<'m> {
    chains: Vec<Chain<'m>>,
    by_namespace: HashMap<&'m NamespaceKey, usize>,
}

/// The chains of the namespaces where another engine's policy applies: those are decided by
/// the precedence chain; the rest by the native union, which is the chain's answer there too,
/// only faster. A namespace with no native Egress policy and no other engine's policy of its
/// own meets only cluster-wide policies, whose namespace selectors see only the label keys
/// they name: its chain is that of every such namespace of its cluster with the same values
/// on those keys, built and matched once per distinct label set.
fn engine_chains<'m>(model: &'m Model, native_by_namespace: &NativeByNamespace) -> Chains<'m> {
    let engine = chain::engine_policies(model);
    let mut chains = Chains::default();
    if engine.is_empty() {
        return chains;
    }
    let mut keys: Vec<&str> = Vec::new();
    let mut namespaced: HashSet<(Option<&str>, &str)> = HashSet::new();
    for &id in &engine {
        let p = model.policy(id);
        if !p.namespace.is_empty() {
            namespaced.insert(p.key());
        }
        for (_, spec) in p.egress_specs() {
            let senders = spec.rules.iter().flat_map(|r| r.senders.iter().flatten());
            for pair in spec.selects.any_of.iter().chain(senders) {
                keys.extend(pair.namespaces.requirements.iter().map(|r| r.key.as_str()));
            }
        }
    }
    keys.sort_unstable();
    keys.dedup();
    type Group = (Option<String>, Vec<Option<String>>);
    let mut shared: HashMap<Group, Option<usize>> = HashMap::new();
    for key in model.namespaces.keys() {
        let native = native_by_namespace
            .get(&key.as_pair())
            .map_or(&[][..], Vec::as_slice);
        let group: Option<Group> = (native.is_empty() && !namespaced.contains(&key.as_pair()))
            .then(|| {
                let labels = chain::namespace_labels(model, key);
                let values = keys.iter().map(|k| labels.get(k).cloned()).collect();
                (key.cluster.clone(), values)
            });
        let known = group.as_ref().and_then(|g| shared.get(g));
        let index = match known {
            Some(&index) => index,
            None => {
                let in_namespace = chain::engine_policies_in(model, &engine, key);
                let index = (!in_namespace.is_empty()).then(|| {
                    let policies = [native, &in_namespace].concat();
                    chains.chains.push(Chain::build(model, key, &policies));
                    chains.chains.len() - 1
                });
                if let Some(group) = group {
                    shared.insert(group, index);
                }
                index
            }
        };
        if let Some(index) = index {
            chains.by_namespace.insert(key, index);
        }
    }
    chains
}

/// Where each native policy that can select some pod opens a target.
fn native_openings(
    model: &Model,
    native_by_namespace: &NativeByNamespace,
    targets: &[Target],
) -> HashMap<PolicyId, Vec<Opening>> {
    let mut openings_by_policy: HashMap<PolicyId, Vec<Opening>> = HashMap::new();
    for indices in native_by_namespace.values() {
        for &i in indices {
            let policy = model.policy(i);
            if pod_selectors(policy).any(LabelSelector::is_satisfiable) {
                openings_by_policy.insert(i, openings_of(model, i, targets));
            }
        }
    }
    openings_by_policy
}

const TOO_COMPLEX: &str =
    "some pods (the selectors combine into more sets of pods than the analysis may build)";

/// Collects the rules that let targets through into openings, one per rule.
#[derive(Default)]
struct OpeningsFound {
    by_rule: Vec<(RuleRef, Vec<Target>, Vec<RuleRef>)>,
}

impl OpeningsFound {
    fn add(&mut self, rules: &[RuleRef], target: Target, passed_by: Vec<RuleRef>) {
        for rule in rules {
            match self.by_rule.iter_mut().find(|(r, _, _)| r == rule) {
                Some((_, targets, _)) if targets.contains(&target) => {}
                Some((_, targets, _)) => targets.push(target),
                None => self.by_rule.push((*rule, vec![target], passed_by.clone())),
            }
        }
    }

    fn into_openings(mut self) -> Vec<Opening> {
        self.by_rule.sort_by_key(|(r, _, _)| *r);
        self.by_rule
            .into_iter()
            .map(|(rule, mut targets, passed_by)| {
                targets.sort();
                Opening {
                    rule,
                    targets,
                    passed_by,
                }
            })
            .collect()
    }
}

fn passes(steps: &[chain::Step]) -> Vec<RuleRef> {
    steps
        .iter()
        .filter(|s| s.action == crate::decode::spec::Action::Pass)
        .map(|s| s.rule)
        .collect()
}

/// The rules that let an allowed packet through, with the Passes before them: the deciding
/// Allow rules; or, when no tier decided and the pod is `isolated`, the last Pass, which
/// handed the packet past every policy that isolates it. `None` when the packet is denied, or
/// allowed only because no policy selects the pod.
fn opened_by(decision: &Decision, isolated: bool) -> Option<(Vec<RuleRef>, Vec<RuleRef>)> {
    match &decision.by {
        DecidedBy::Rules(rules) if decision.allowed => {
            Some((rules.clone(), passes(&decision.steps)))
        }
        DecidedBy::DefaultAllow if isolated => {
            let mut before = passes(&decision.steps);
            let last = before.pop()?;
            Some((vec![last], before))
        }
        _ => None,
    }
}

/// A namespace's verdict from its precedence chain, over every region of pods the chain
/// decides alike.
fn namespace_by_chain(
    model: &Model,
    key: &NamespaceKey,
    chain: &Chain,
    targets: &[Target],
) -> Result<NamespaceVerdict, TooComplex> {
    let mut symbolic = chain.symbolic()?;
    let mut tally = ChainTally::new();
    for target in targets {
        // Per target, only the selectors that can change its decision split the pods.
        let chain = chain.for_target(target);
        let regions = chain.regions(model, &mut symbolic, target)?;
        let keys = chain.used_keys();
        tally.record(model, target, &regions, &mut symbolic.space, &keys)?;
    }
    Ok(tally.into_verdict(key))
}

/// What the chain's decisions for every region of pods and every target add up to.
struct ChainTally {
    openings: OpeningsFound,
    /// Targets some pod may reach, in the order first found.
    reachable: Vec<Target>,
    /// A label set of pods no policy decides for.
    unselected: Option<BTreeMap<String, LabelValue>>,
    /// Whether another engine took part in every denial so far.
    protected: bool,
    protected_by: Vec<PolicyId>,
}

impl ChainTally {
    fn new() -> ChainTally {
        ChainTally {
            openings: OpeningsFound::default(),
            reachable: Vec::new(),
            unselected: None,
            protected: true,
            protected_by: Vec::new(),
        }
    }

    /// Adds the decisions of every region of pods sending to `target`; `keys`: the keys of
    /// the selectors that decide for it, which a witness names.
    fn record(
        &mut self,
        model: &Model,
        target: &Target,
        regions: &[Region],
        space: &mut Space,
        keys: &[String],
    ) -> Result<(), TooComplex> {
        // Regions in the order of their witnesses (fewest labels first), so that what is
        // found first (an opening's Passes, the order of protecting policies) reads from the
        // simplest pods.
        let mut ordered: Vec<(usize, BTreeMap<String, LabelValue>, &Region)> = regions
            .iter()
            .filter_map(|r| {
                let w = space.witness(r.pods, keys)?;
                let present = w.values().filter(|v| **v != LabelValue::Absent).count();
                Some((present, w, r))
            })
            .collect();
        ordered.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut unselected = Vec::new();
        for (_, _, region) in ordered {
            let passes = passes(&region.steps);
            match &region.by {
                RegionBy::Rules(rules) if region.allowed => {
                    self.openings.add(rules, *target, passes);
                }
                // A Pass handed isolated pods past every policy: the last Pass opened it.
                RegionBy::DefaultAllow { isolated: true } if !passes.is_empty() => {
                    let mut before = passes;
                    let last = before.pop().expect("not empty");
                    self.openings.add(&[last], *target, before);
                }
                RegionBy::DefaultAllow { .. } => unselected.push(region.pods),
                _ => {}
            }
            // Protected only while another engine takes part in every denial.
            let deciders: Vec<PolicyId> = match &region.by {
                RegionBy::Rules(rules) if !region.allowed => {
                    let policies: Vec<PolicyId> = rules.iter().map(|r| r.policy()).collect();
                    if policies.iter().all(|p| !model.policy(*p).is_native()) {
                        policies
                    } else {
                        Vec::new()
                    }
                }
                RegionBy::TierEnd {
                    isolated_by,
                    by_other_engines,
                    ..
                } => {
                    self.protected &= by_other_engines;
                    isolated_by
                        .iter()
                        .copied()
                        .filter(|p| !model.policy(*p).is_native())
                        .collect()
                }
                _ => Vec::new(),
            };
            self.protected &= !deciders.is_empty();
            for p in deciders {
                if !self.protected_by.contains(&p) {
                    self.protected_by.push(p);
                }
            }
            if region.allowed && !self.reachable.contains(target) {
                self.reachable.push(*target);
            }
        }
        // The witness that names the fewest labels reads best.
        if !unselected.is_empty()
            && self
                .unselected
                .as_ref()
                .is_none_or(|e: &BTreeMap<String, LabelValue>| keys.len() < e.len())
        {
            let pods = space.union(unselected)?;
            self.unselected = space.witness(pods, keys);
        }
        Ok(())
    }

    fn into_verdict(mut self, key: &NamespaceKey) -> NamespaceVerdict {
        self.reachable.sort();
        NamespaceVerdict {
            unselected_pods: self.unselected.as_ref().map(describe_gap),
            openings: self.openings.into_openings(),
            reachable: self.reachable,
            protected_by: if self.protected {
                self.protected_by
            } else {
                Vec::new()
            },
            ..NamespaceVerdict::new(key)
        }
    }
}

/// A workload's verdict from its namespace's precedence chain, for its own labels.
fn workload_by_chain(
    model: &Model,
    w: WorkloadId,
    chain: &Chain,
    targets: &[Target],
) -> WorkloadVerdict {
    // The workload's labels meet each selector once, not once per policy and target.
    let labels = &model.workload(w).spec.pod_labels;
    let matched: Vec<bool> = chain.selectors.iter().map(|s| s.matches(labels)).collect();
    let pod = |i: usize| matched[i];
    let mut found = OpeningsFound::default();
    let mut reachable = Vec::new();
    let mut default_allowed = false;
    let isolated = chain.isolates(&pod);
    for target in targets {
        let decision = chain.decide(&pod, target);
        match opened_by(&decision, isolated) {
            Some((rules, passed_by)) => found.add(&rules, *target, passed_by),
            None => default_allowed |= decision.by == DecidedBy::DefaultAllow,
        }
        if decision.allowed || model.workload(w).spec.host_network.is_some() {
            reachable.push(*target);
        }
    }
    reachable.sort();
    reachable.dedup();
    WorkloadVerdict {
        workload: w,
        isolated,
        default_allowed,
        selected_by: chain.selecting(&pod),
        openings: found.into_openings(),
        reachable,
    }
}

#[cfg(test)]
mod tests {
    use crate::Outcome;
    use crate::lint_text;

    const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n";

    fn policy(name: &str, spec: &str) -> String {
        let spec: String = spec.lines().map(|l| format!("  {l}\n")).collect();
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: ns\nspec:\n{spec}"
        )
    }

    fn deny() -> String {
        policy("deny", "podSelector: {}\npolicyTypes: [Egress]\n")
    }

    fn allow_except() -> String {
        policy(
            "allow",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}\n",
        )
    }

    fn lint(policies: &[String]) -> Outcome {
        lint_text(&format!("{NS}{}", policies.concat()))
    }

    /// The reachable targets of namespace `ns`.
    fn reachable(policies: &[String]) -> Vec<String> {
        let outcome = lint(policies);
        let v = outcome
            .analysis
            .namespaces
            .iter()
            .find(|n| n.name == "ns")
            .expect("ns");
        v.reachable.iter().map(ToString::to_string).collect()
    }

    const BOTH: [&str; 2] = ["169.254.169.254:80/TCP", "[fd00:ec2::254]:80/TCP"];

    #[test]
    fn no_egress_policy_means_wide_open() {
        assert_eq!(reachable(&[]), BOTH);
    }

    #[test]
    fn deny_only_isolates_everything() {
        assert!(reachable(&[deny()]).is_empty());
    }

    #[test]
    fn the_pair_closes_ipv4_and_the_deny_keeps_ipv6_closed() {
        assert!(reachable(&[deny(), allow_except()]).is_empty());
    }

    #[test]
    fn missing_pod_selector_isolates_every_pod() {
        assert!(reachable(&[policy("deny", "policyTypes: [Egress]\n")]).is_empty());
    }

    #[test]
    fn ingress_only_policy_does_nothing_for_egress() {
        assert_eq!(
            reachable(&[policy("in", "podSelector: {}\npolicyTypes: [Ingress]\n")]),
            BOTH
        );
        assert_eq!(
            reachable(&[policy("in", "podSelector: {}\negress: []\n")]),
            BOTH,
            "no rules: Ingress only"
        );
    }

    #[test]
    fn absent_policy_types_with_egress_rules_mean_egress() {
        let private = policy(
            "private",
            "podSelector: {}\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8}\n",
        );
        assert!(reachable(&[private]).is_empty());
    }

    #[test]
    fn pods_no_policy_selects_are_not_isolated() {
        let partial = policy(
            "web-only",
            "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n",
        );
        assert_eq!(reachable(&[partial]), BOTH);
    }

    #[test]
    fn selectors_that_together_cover_every_pod_isolate_the_namespace() {
        let exists = policy(
            "labelled",
            "podSelector:\n  matchExpressions: [{key: app, operator: Exists}]\npolicyTypes: [Egress]\n",
        );
        let missing = policy(
            "unlabelled",
            "podSelector:\n  matchExpressions: [{key: app, operator: DoesNotExist}]\npolicyTypes: [Egress]\n",
        );
        assert!(reachable(&[exists.clone(), missing]).is_empty());
        let web = policy(
            "web",
            "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n",
        );
        let outcome = lint(&[exists, web]);
        assert_eq!(
            outcome.analysis.namespaces[0].unselected_pods.as_deref(),
            Some("pods without label app")
        );
    }

    #[test]
    fn allows_are_unioned_across_policies() {
        let reopen = policy(
            "reopen",
            "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 169.254.0.0/16}\n",
        );
        assert_eq!(reachable(&[deny(), allow_except(), reopen]), [BOTH[0]]);
    }

    #[test]
    fn rule_without_to_opens_on_its_ports_only() {
        let http = policy(
            "http",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{port: 80}]\n",
        );
        assert_eq!(reachable(&[http]), BOTH);
        let https = policy(
            "https",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{port: 443}]\n",
        );
        assert!(reachable(&[https]).is_empty());
        let udp = policy(
            "udp",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{port: 80, protocol: UDP}]\n",
        );
        assert!(reachable(&[udp]).is_empty());
    }

    #[test]
    fn dns_only_to_the_metadata_address_is_fine() {
        let dns = policy(
            "dns",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 169.254.169.254/32}\n  ports:\n  - {port: 53, protocol: UDP}\n  - {port: 53, protocol: TCP}\n",
        );
        assert!(reachable(&[deny(), allow_except(), dns]).is_empty());
    }

    #[test]
    fn named_ports_and_pod_peers_never_reach_metadata() {
        let named = policy(
            "named",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{port: http}]\n",
        );
        assert!(reachable(&[named]).is_empty());
        let pods = policy(
            "pods",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - namespaceSelector: {}\n  - podSelector: {}\n",
        );
        assert!(reachable(&[pods]).is_empty());
    }

    #[test]
    fn ipv6_block_opens_only_the_ipv6_target() {
        let v6 = policy(
            "v6",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: '::/0'}\n",
        );
        assert_eq!(reachable(&[deny(), allow_except(), v6]), [BOTH[1]]);
    }

    #[test]
    fn a_policy_the_api_server_refuses_takes_no_part() {
        // Its except is outside its cidr: refused, so it neither isolates nor opens.
        let refused_deny = policy(
            "bad",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}\n",
        );
        assert_eq!(reachable(&[refused_deny]), BOTH);
        let refused_open = policy(
            "bad-open",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{port: 80, endPort: 70}]\n",
        );
        assert!(reachable(&[deny(), refused_open]).is_empty());
    }

    #[test]
    fn an_unknown_field_is_ignored_for_the_verdict() {
        let typo = policy(
            "typo",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock:\n      cidr: 0.0.0.0/0\n      excepts: [169.254.169.254/32]\n",
        );
        assert_eq!(reachable(&[deny(), typo]), [BOTH[0]]);
    }

    #[test]
    fn an_unsatisfiable_selector_selects_no_pod() {
        let nobody = policy(
            "nobody",
            "podSelector:\n  matchExpressions:\n  - {key: a, operator: Exists}\n  - {key: a, operator: DoesNotExist}\npolicyTypes: [Egress]\negress:\n- {}\n",
        );
        assert!(reachable(&[deny(), nobody]).is_empty());
    }

    #[test]
    fn pair_detection() {
        let outcome = lint(&[deny(), allow_except()]);
        let v = &outcome.analysis.namespaces[0];
        assert!(v.deny_all.is_some() && v.allow_except_metadata.is_some());
        let wide = policy(
            "wide",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.0.0/16]}\n",
        );
        assert!(
            lint(&[wide]).analysis.namespaces[0]
                .allow_except_metadata
                .is_some()
        );
        let port_limited = policy(
            "limited",
            "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}\n  ports: [{port: 443}]\n",
        );
        assert!(
            lint(&[port_limited]).analysis.namespaces[0]
                .allow_except_metadata
                .is_none()
        );
        let selective = policy(
            "deny-web",
            "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\n",
        );
        assert!(lint(&[selective]).analysis.namespaces[0].deny_all.is_none());
    }

    #[test]
    fn workloads_get_their_own_verdict() {
        let reopen = policy(
            "reopen",
            "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 0.0.0.0/0}\n",
        );
        let workload = |name: &str, labels: &str, host: bool| {
            format!(
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  template:\n    metadata: {{labels: {labels}}}\n    spec: {{hostNetwork: {host}}}\n"
            )
        };
        let outcome = lint(&[
            deny(),
            allow_except(),
            reopen,
            workload("web", "{app: web}", false),
            workload("api", "{app: api}", false),
            workload("agent", "{app: api}", true),
        ]);
        let reach = |name: &str| {
            let w = outcome
                .model
                .workloads
                .iter()
                .position(|w| w.name == name)
                .unwrap();
            outcome.analysis.workloads[w].reachable.len()
        };
        assert_eq!(reach("web"), 1);
        assert_eq!(reach("api"), 0);
        assert_eq!(reach("agent"), 2, "hostNetwork ignores every policy");
    }

    #[test]
    fn a_host_network_workload_makes_its_namespace_reachable() {
        let agent = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: ns}\nspec: {hostNetwork: true}\n".to_string();
        let outcome = lint(&[deny(), allow_except(), agent]);
        let v = &outcome.analysis.namespaces[0];
        let open: Vec<String> = v.reachable.iter().map(ToString::to_string).collect();
        assert_eq!(open, BOTH);
        assert_eq!(v.host_network.len(), 1);
        assert_eq!(outcome.model.workload(v.host_network[0]).name, "agent");
        assert!(
            v.unselected_pods.is_none() && v.openings.is_empty(),
            "policy unchanged"
        );
        assert!(v.pod_network_reachable.is_empty());
        let off = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: ns}\nspec: {hostNetwork: false}\n".to_string();
        assert!(
            reachable(&[deny(), off]).is_empty(),
            "hostNetwork: false: the pod network"
        );
    }

    #[test]
    fn a_pass_past_every_isolating_policy_is_the_opening() {
        let pass = "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: pass}\nspec:\n  order: 100\n  selector: all()\n  types: [Egress]\n  egress:\n  - action: Pass\n    destination: {nets: [169.254.169.254/32]}\n".to_string();
        let outcome = lint(&[deny(), pass]);
        let v = &outcome.analysis.namespaces[0];
        assert_eq!(v.reachable.len(), 1);
        assert!(v.unselected_pods.is_none(), "deny isolates every pod");
        assert_eq!(v.openings.len(), 1);
        assert_eq!(
            outcome.model.policy(v.openings[0].rule.policy()).name,
            "pass"
        );
        assert!(
            v.openings[0].passed_by.is_empty(),
            "the Pass is the opening itself"
        );
    }

    #[test]
    fn where_namespaces_come_from() {
        let outcome = lint_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\
             apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: explicit}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: c, namespace: bogus}\n---\n\
             apiVersion: v1\nkind: Pod\nmetadata: {name: d}\n",
        );
        let names: Vec<&str> = outcome
            .analysis
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["default", "explicit"],
            "a Pod lands in default; a ConfigMap without namespace creates none"
        );
    }
}
