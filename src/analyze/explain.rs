//! Why a namespace's verdict is what it is: per pod class (or per workload), the effective
//! egress and the rules that grant each part of it. Pure.

use super::chain::{self, Chain, Decision, Region, RegionBy, Symbolic};
use super::egress::EgressSet;
use super::{Analysis, WorkloadVerdict};
use crate::decode::labels::Labels;
use crate::decode::labelsets::{ALL, NONE, Set, TooComplex};
use crate::decode::selector::{LabelValue, describe_example};
use crate::model::{Model, NamespaceKey, Policy, PolicyId, WorkloadId};
use crate::net::Target;
use std::collections::BTreeMap;

/// The part a policy of the namespace plays in egress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRole {
    /// It isolates the pods it selects and grants its rules to them.
    Egress,
    /// Its policyTypes leave Egress out: it changes nothing for egress.
    IngressOnly,
    /// The API server would refuse it (IMDS004): it never reaches the cluster.
    Rejected,
    /// Its podSelector can match no label set.
    SelectsNoPod,
    /// Another engine's policy that imds-lint cannot evaluate (listed under not evaluated).
    NotEvaluated,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyEntry {
    pub policy: PolicyId,
    pub role: PolicyRole,
}

/// Pods that exactly the same Egress policies select, and so send exactly the same traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassExplanation {
    /// One label set in the class (a value per key the selectors use).
    pub example: BTreeMap<String, LabelValue>,
    pub selected_by: Vec<PolicyId>,
    pub egress: EgressSet,
    pub reachable: Vec<Target>,
    /// Per target, the decision of the precedence chain and the steps to it.
    pub decisions: Vec<(Target, Decision)>,
    /// Workloads whose pods are in this class and use the pod network.
    pub workloads: Vec<WorkloadId>,
}

impl ClassExplanation {
    /// The class for people: `a pod labelled app=web`.
    pub fn describe(&self) -> String {
        describe_example(&self.example)
    }

    /// Its workloads for people: `Deployment web`.
    pub fn workload_names(&self, model: &Model) -> Vec<String> {
        self.workloads
            .iter()
            .map(|&w| {
                let w = model.workload(w);
                format!("{} {}", w.kind, w.name)
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadExplanation {
    pub workload: WorkloadId,
    /// hostNetwork pods bypass every policy: `egress` then says what policy would allow, and
    /// `reachable` is every target.
    pub host_network: bool,
    pub selected_by: Vec<PolicyId>,
    pub egress: EgressSet,
    pub reachable: Vec<Target>,
    pub decisions: Vec<(Target, Decision)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Classes {
    Listed(Vec<ClassExplanation>),
    /// The selectors split pods into more classes than can be listed; per-workload
    /// explanations still hold.
    TooMany,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceExplanation {
    pub cluster: Option<String>,
    pub namespace: String,
    pub targets: Vec<Target>,
    /// The namespace's verdict, as the analysis gave it.
    pub reachable: Vec<Target>,
    /// Other engines' policies that keep every target closed here (the pair is not needed).
    pub protected_by: Vec<PolicyId>,
    /// Every policy of the namespace, in file order, then the cluster-wide ones that apply.
    pub policies: Vec<PolicyEntry>,
    /// Another engine's policy applies here, so the precedence chain decides.
    pub chained: bool,
    pub classes: Classes,
    pub workloads: Vec<WorkloadExplanation>,
}

fn role(policy: &Policy) -> PolicyRole {
    let selects_a_pod = || {
        policy
            .egress_specs()
            .any(|(_, spec)| spec.selects.any_of.iter().any(|p| p.pods.is_satisfiable()))
    };
    if policy.rejected {
        PolicyRole::Rejected
    } else if policy.is_unevaluated() {
        PolicyRole::NotEvaluated
    } else if !policy.governs_egress() {
        PolicyRole::IngressOnly
    } else if policy.is_native() && !selects_a_pod() {
        PolicyRole::SelectsNoPod
    } else {
        PolicyRole::Egress
    }
}

/// Explains namespace `name` of `cluster`; `None` when the repository has no such namespace.
pub fn explain_namespace(
    model: &Model,
    analysis: &Analysis,
    cluster: Option<&str>,
    name: &str,
) -> Option<NamespaceExplanation> {
    let key = (cluster, name);
    let verdict = analysis
        .namespaces
        .iter()
        .find(|v| (v.cluster.as_deref(), v.name.as_str()) == key)?;
    let namespace_key = NamespaceKey {
        cluster: cluster.map(str::to_string),
        name: name.to_string(),
    };
    let engine = chain::engine_policies_in(model, &chain::engine_policies(model), &namespace_key);
    let policies = policy_entries(model, key, &engine);
    let native: Vec<PolicyId> = policies
        .iter()
        .filter(|e| e.role == PolicyRole::Egress && model.policy(e.policy).is_native())
        .map(|e| e.policy)
        .collect();
    let explainer = Explainer {
        model,
        chain: Chain::build(model, &namespace_key, &[&native[..], &engine].concat()),
        targets: &analysis.targets,
        chained: !engine.is_empty(),
    };
    // The analysis already knows which policies select each workload's pods.
    let workloads: Vec<WorkloadExplanation> = analysis
        .workloads
        .iter()
        .filter(|v| model.workload(v.workload).key() == key)
        .map(|verdict| explainer.workload(verdict))
        .collect();
    let classes = explainer.classes(&workloads);
    Some(NamespaceExplanation {
        cluster: cluster.map(str::to_string),
        namespace: name.to_string(),
        targets: analysis.targets.clone(),
        reachable: verdict.reachable.clone(),
        protected_by: verdict.protected_by.clone(),
        chained: explainer.chained,
        policies,
        classes,
        workloads,
    })
}

/// Every policy of the namespace `key`, in file order, then the cluster-wide ones among
/// `engine` (the other engines' policies that apply there).
fn policy_entries(
    model: &Model,
    key: (Option<&str>, &str),
    engine: &[PolicyId],
) -> Vec<PolicyEntry> {
    let mut policies: Vec<PolicyEntry> = model
        .policies_with_ids()
        .filter(|(_, p)| p.key() == key)
        .map(|(i, p)| PolicyEntry {
            policy: i,
            role: role(p),
        })
        .collect();
    policies.extend(
        engine
            .iter()
            .filter(|&&i| model.policy(i).namespace.is_empty())
            .map(|&i| PolicyEntry {
                policy: i,
                role: PolicyRole::Egress,
            }),
    );
    policies
}

/// The precedence chain of one namespace, and what explaining its pods reads beside it.
struct Explainer<'m> {
    model: &'m Model,
    chain: Chain<'m>,
    targets: &'m [Target],
    /// Another engine's policy applies here.
    chained: bool,
}

impl Explainer<'_> {
    /// The chain's decision for `pod` and each target.
    fn decide(&self, pod: &dyn Fn(usize) -> bool) -> Vec<(Target, Decision)> {
        self.targets
            .iter()
            .map(|t| (*t, self.chain.decide(pod, t)))
            .collect()
    }

    /// The policies selecting `pod` as they are listed. Where another engine applies, in the
    /// order the chain consults them; elsewhere `selecting` in file order.
    fn display_order(&self, pod: &dyn Fn(usize) -> bool, selecting: &[PolicyId]) -> Vec<PolicyId> {
        if self.chained {
            self.chain.selecting(pod)
        } else {
            let mut sorted = selecting.to_vec();
            sorted.sort_unstable();
            sorted
        }
    }

    /// What the native policies among `selected_by` grant, shown beside the chain's
    /// decisions.
    fn native_egress(&self, selected_by: &[PolicyId]) -> EgressSet {
        let native: Vec<PolicyId> = selected_by
            .iter()
            .copied()
            .filter(|&i| self.model.policy(i).is_native())
            .collect();
        EgressSet::of(self.model, &native)
    }

    fn workload(&self, verdict: &WorkloadVerdict) -> WorkloadExplanation {
        let workload = self.model.workload(verdict.workload);
        let labels = &workload.spec.pod_labels;
        let pod = |i: usize| self.chain.selectors[i].matches(labels);
        let decisions = self.decide(&pod);
        let selected_by = self.display_order(&pod, &verdict.selected_by);
        let egress = self.native_egress(&selected_by);
        let host_network = workload.spec.host_network.is_some();
        let reachable = if host_network {
            self.targets.to_vec()
        } else {
            allowed(&decisions)
        };
        WorkloadExplanation {
            workload: verdict.workload,
            host_network,
            selected_by,
            egress,
            reachable,
            decisions,
        }
    }

    /// The namespace's pods split into the regions the chain decides alike for every target,
    /// each class with the `workloads` whose pods are in it.
    fn classes(&self, workloads: &[WorkloadExplanation]) -> Classes {
        match self.regions() {
            Err(TooComplex) => Classes::TooMany,
            Ok((symbolic, regions)) => {
                let keys = self.chain_keys();
                let mut classes: Vec<(usize, BTreeMap<String, LabelValue>, Set)> = regions
                    .into_iter()
                    .filter_map(|pods| {
                        let example = symbolic.space.witness(pods, &keys)?;
                        let present = example
                            .values()
                            .filter(|v| **v != LabelValue::Absent)
                            .count();
                        Some((present, example, pods))
                    })
                    .collect();
                classes.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
                Classes::Listed(
                    classes
                        .into_iter()
                        .map(|(_, example, pods)| self.class(&symbolic, pods, example, workloads))
                        .collect(),
                )
            }
        }
    }

    /// The keys of every selector of the chain, which a class's example names.
    fn chain_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .chain
            .selectors
            .iter()
            .flat_map(|s| s.requirements.iter().map(|r| r.key.clone()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// The pods split by what the chain decides for them, target by target: for each target
    /// the regions of pods decided alike (the same outcome, rules, tier and steps, whichever
    /// policies isolate them), and the classes their common refinement.
    fn regions(&self) -> Result<(Symbolic, Vec<Set>), TooComplex> {
        let mut symbolic = self.chain.symbolic()?;
        let mut classes = vec![ALL];
        for target in self.targets {
            let reduced = self.chain.for_target(target);
            let mut alike: Vec<(RegionKey, Set)> = Vec::new();
            for region in reduced.regions(self.model, &mut symbolic, target)? {
                // Pods of a region that different rules of a group decide for are told apart:
                // the rules are part of the explanation.
                let mut pieces = vec![(region.pods, Vec::new())];
                if let RegionBy::Rules(rules) = &region.by {
                    for (rule, &matching) in rules.iter().zip(&region.rule_pods) {
                        let mut split = Vec::new();
                        for (pods, mut by) in pieces {
                            let hit = symbolic.space.and(pods, matching)?;
                            let miss = symbolic.space.diff(pods, matching)?;
                            if miss != NONE {
                                split.push((miss, by.clone()));
                            }
                            if hit != NONE {
                                by.push(*rule);
                                split.push((hit, by));
                            }
                        }
                        pieces = split;
                    }
                }
                for (pods, rules) in pieces {
                    let key = RegionKey::of(&region, rules);
                    match alike.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, all)) => *all = symbolic.space.or(*all, pods)?,
                        None => alike.push((key, pods)),
                    }
                }
            }
            let mut refined = Vec::new();
            for &class in &classes {
                for (_, pods) in &alike {
                    let both = symbolic.space.and(class, *pods)?;
                    if both != NONE {
                        refined.push(both);
                    }
                }
            }
            classes = refined;
        }
        Ok((symbolic, classes))
    }

    fn class(
        &self,
        symbolic: &Symbolic,
        pods: Set,
        example: BTreeMap<String, LabelValue>,
        workloads: &[WorkloadExplanation],
    ) -> ClassExplanation {
        // The example's labels, "any other value" as one no selector can name.
        let labels: Labels = example
            .iter()
            .filter_map(|(k, v)| match v {
                LabelValue::Absent => None,
                LabelValue::Named(n) => Some((k.clone(), n.clone())),
                LabelValue::Other => Some((k.clone(), "\u{0}".into())),
            })
            .collect();
        let selected: Vec<bool> = symbolic
            .selectors
            .iter()
            .map(|&s| symbolic.space.contains(s, &labels))
            .collect();
        let pod = |i: usize| selected[i];
        let selected_by = self.display_order(&pod, &self.chain.selecting(&pod));
        let decisions = self.decide(&pod);
        let egress = self.native_egress(&selected_by);
        ClassExplanation {
            reachable: allowed(&decisions),
            decisions,
            workloads: workloads
                .iter()
                .filter(|w| {
                    !w.host_network
                        && symbolic
                            .space
                            .contains(pods, &self.model.workload(w.workload).spec.pod_labels)
                })
                .map(|w| w.workload)
                .collect(),
            example,
            selected_by,
            egress,
        }
    }
}

/// What makes two regions of one target decide alike for explain: the outcome, the rules or
/// the tier, and the steps; not which policies isolate which pods at a tier's end.
#[derive(Debug, PartialEq)]
struct RegionKey {
    allowed: bool,
    rules: Vec<crate::model::RuleRef>,
    tier: Option<String>,
    isolated: bool,
    steps: Vec<chain::Step>,
}

impl RegionKey {
    /// `rules`: those that decide for the pods at hand, for a region decided by rules.
    fn of(region: &Region, rules: Vec<crate::model::RuleRef>) -> RegionKey {
        let (rules, tier, isolated) = match &region.by {
            RegionBy::Rules(_) => (rules, None, false),
            RegionBy::TierEnd { tier, .. } => (Vec::new(), Some(tier.clone()), true),
            RegionBy::DefaultAllow { isolated } => (Vec::new(), None, *isolated),
        };
        RegionKey {
            allowed: region.allowed,
            rules,
            tier,
            isolated,
            steps: region.steps.clone(),
        }
    }
}

/// The targets `decisions` allow.
fn allowed(decisions: &[(Target, Decision)]) -> Vec<Target> {
    decisions
        .iter()
        .filter(|(_, d)| d.allowed)
        .map(|(t, _)| *t)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint_text;
    use proptest::prelude::*;

    fn explain(yaml: &str) -> (NamespaceExplanation, crate::Outcome) {
        let outcome = lint_text(yaml);
        let explanation =
            explain_namespace(&outcome.model, &outcome.analysis, None, "ns").expect("namespace ns");
        (explanation, outcome)
    }

    fn policy(name: &str, selector: &str, rules: &str) -> String {
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  podSelector: {selector}\n  policyTypes: [Egress]\n  egress: {rules}\n"
        )
    }

    fn deployment(name: &str, labels: &str) -> String {
        format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  template:\n    metadata: {{labels: {labels}}}\n"
        )
    }

    #[test]
    fn classes_show_who_reaches_metadata_and_through_which_rule() {
        let yaml = [
            policy("deny", "{}", "[]"),
            policy(
                "allow",
                "{}",
                "[{to: [ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}]}]",
            ),
            policy(
                "web-egress",
                "{matchLabels: {app: web}}",
                "[{to: [ipBlock: {cidr: 169.254.0.0/16}]}]",
            ),
            deployment("api", "{app: api}"),
            deployment("web", "{app: web}"),
        ]
        .concat();
        let (explanation, outcome) = explain(&yaml);
        let Classes::Listed(classes) = &explanation.classes else {
            panic!("too many classes")
        };
        let summary: Vec<(String, usize, Vec<String>)> = classes
            .iter()
            .map(|c| {
                (
                    c.describe(),
                    c.selected_by.len(),
                    c.reachable.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "a pod with none of the labels the selectors use".to_string(),
                    2,
                    vec![]
                ),
                (
                    "a pod labelled app=web".to_string(),
                    3,
                    vec!["169.254.169.254:80/TCP".to_string()]
                ),
            ]
        );
        let web = &classes[1];
        let grants = web.egress.grants_to(&explanation.targets[0]);
        assert_eq!(grants.len(), 1);
        assert_eq!(outcome.model.policy(grants[0].policy()).name, "web-egress");
        let workload_names = |c: &ClassExplanation| -> Vec<&str> {
            c.workloads
                .iter()
                .map(|&w| outcome.model.workload(w).name.as_str())
                .collect()
        };
        assert_eq!(workload_names(web), ["web"]);
        assert_eq!(
            workload_names(&classes[0]),
            ["api"],
            "app=api is selected like an unlabelled pod: one class"
        );
        assert_eq!(explanation.workloads.len(), 2);
        assert_eq!(
            explanation.reachable,
            [explanation.targets[0]],
            "the verdict agrees with the classes"
        );
    }

    #[test]
    fn policies_that_take_no_part_say_why() {
        let yaml = [
            policy("deny", "{}", "[]"),
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: in, namespace: ns}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n".to_string(),
            policy(
                "nobody",
                "{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: DoesNotExist}]}",
                "[{}]",
            ),
            policy("bad", "{}", "[{ports: [{port: 0}]}]"),
        ]
        .concat();
        let (explanation, _) = explain(&yaml);
        let roles: Vec<PolicyRole> = explanation.policies.iter().map(|p| p.role).collect();
        assert_eq!(
            roles,
            [
                PolicyRole::Egress,
                PolicyRole::IngressOnly,
                PolicyRole::SelectsNoPod,
                PolicyRole::Rejected
            ]
        );
        let Classes::Listed(classes) = &explanation.classes else {
            panic!()
        };
        assert_eq!(classes.len(), 1, "only the deny policy splits nothing");
        assert!(classes[0].egress.isolated && classes[0].reachable.is_empty());
    }

    #[test]
    fn host_network_workloads_reach_everything_whatever_the_class() {
        let yaml = [
            policy("deny", "{}", "[]"),
            "---\napiVersion: v1\nkind: Pod\nmetadata: {name: agent, namespace: ns}\nspec: {hostNetwork: true}\n".to_string(),
        ]
        .concat();
        let (explanation, _) = explain(&yaml);
        let agent = &explanation.workloads[0];
        assert!(agent.host_network && agent.egress.isolated);
        assert_eq!(agent.reachable, explanation.targets);
        let Classes::Listed(classes) = &explanation.classes else {
            panic!()
        };
        assert!(classes[0].workloads.is_empty(), "not counted in any class");
    }

    #[test]
    fn classes_are_the_regions_decided_alike_not_every_selector_combination() {
        // Twenty policies on twenty unrelated keys split pods 2^20 ways by which select
        // them, but every selected pod is denied alike: two classes (the example of the second
        // has the label whose key sorts last, all others absent).
        let mut yaml: String = (0..20)
            .map(|i| {
                policy(
                    &format!("p{i}"),
                    &format!("{{matchLabels: {{k{i}: v}}}}"),
                    "[]",
                )
            })
            .collect();
        yaml.push_str(&deployment("api", "{k3: v}"));
        let (explanation, outcome) = explain(&yaml);
        let Classes::Listed(classes) = &explanation.classes else {
            panic!("too many classes")
        };
        let described: Vec<String> = classes.iter().map(ClassExplanation::describe).collect();
        assert_eq!(
            described,
            [
                "a pod with none of the labels the selectors use",
                "a pod labelled k9=v"
            ]
        );
        assert_eq!(classes[0].reachable, explanation.targets);
        assert!(classes[1].reachable.is_empty());
        assert_eq!(
            classes[1].workloads.len(),
            1,
            "api (k3=v) is in the denied class"
        );
        let api = &explanation.workloads[0];
        assert_eq!(outcome.model.policy(api.selected_by[0]).name, "p3");
        assert!(api.reachable.is_empty());
        assert_eq!(
            explanation.reachable, explanation.targets,
            "unlabelled pods are open"
        );
    }

    fn arb_selector() -> impl Strategy<Value = String> {
        let requirement = (
            prop::sample::select(vec!["a", "b"]),
            prop::sample::select(vec!["In", "NotIn", "Exists", "DoesNotExist"]),
            prop::sample::select(vec!["x", "y"]),
        )
            .prop_map(|(key, op, value)| match op {
                "In" | "NotIn" => format!("{{key: {key}, operator: {op}, values: [{value}]}}"),
                _ => format!("{{key: {key}, operator: {op}}}"),
            });
        prop::collection::vec(requirement, 0..3)
            .prop_map(|rs| format!("{{matchExpressions: [{}]}}", rs.join(", ")))
    }

    fn arb_rules() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "[]",
            "[{}]",
            "[{ports: [{port: 80}]}]",
            "[{ports: [{port: 53, protocol: UDP}]}]",
            "[{to: [ipBlock: {cidr: 169.254.0.0/16}]}]",
            "[{to: [ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}]}]",
            "[{to: [ipBlock: {cidr: '::/0'}]}]",
            "[{to: [podSelector: {}]}]",
        ])
        .prop_map(String::from)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The namespace is reachable iff some class is; each target a class reaches is one a
        /// pod with the class's witness labels reaches, by brute force over the rules.
        #[test]
        fn verdict_is_the_union_of_the_classes(
            policies in prop::collection::vec((arb_selector(), arb_rules()), 0..5),
        ) {
            let yaml: String = policies
                .iter()
                .enumerate()
                .map(|(i, (selector, rules))| policy(&format!("p{i}"), selector, rules))
                .collect::<String>()
                + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n";
            let (explanation, outcome) = explain(&yaml);
            let Classes::Listed(classes) = &explanation.classes else {
                return Err(TestCaseError::fail("too many classes"));
            };
            let mut union: Vec<Target> = classes.iter().flat_map(|c| c.reachable.iter().copied()).collect();
            union.sort();
            union.dedup();
            prop_assert_eq!(&union, &explanation.reachable);
            for class in classes {
                let labels: Labels = class
                    .example
                    .iter()
                    .filter_map(|(k, v)| match v {
                        LabelValue::Absent => None,
                        LabelValue::Named(n) => Some((k.clone(), n.clone())),
                        LabelValue::Other => Some((k.clone(), "zz".into())),
                    })
                    .collect();
                let selecting: Vec<&crate::decode::spec::PolicySpec> = outcome
                    .model
                    .policies
                    .iter()
                    .flat_map(|p| p.egress_specs().map(|(_, spec)| spec))
                    .filter(|spec| spec.selects.any_of.iter().any(|pair| pair.pods.matches(&labels)))
                    .collect();
                for target in &explanation.targets {
                    let brute = selecting.is_empty()
                        || selecting.iter().any(|spec| {
                            spec.rules.iter().any(|r| {
                                r.ports.contains(target.protocol, target.port)
                                    && r.destinations.addresses.contains(target.addr)
                            })
                        });
                    prop_assert_eq!(class.reachable.contains(target), brute, "{} {}", class.describe(), target);
                }
            }
        }
    }
}
