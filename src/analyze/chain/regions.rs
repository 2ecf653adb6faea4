//! The chain's decisions over sets of pods at once: the walk of [`Chain::decide`] with a set
//! of label sets (see [`labelsets`](crate::decode::labelsets)) in place of one pod, split only
//! where a policy or rule tells pods apart. Pods a tier's end isolates are one region however
//! many policies isolate which of them, so complementary selectors on twenty keys are a handful
//! of regions, not a million classes.

use super::{Chain, Member, MemberRule, Step, order_cmp, reaches};
use crate::decode::labelsets::{ALL, NONE, Set, Space, TooComplex};
use crate::decode::spec::Action;
use crate::model::{Model, PolicyId, RuleRef};
use crate::net::Target;
use std::cmp::Ordering;

/// The sets of pods each of a chain's selectors matches, in one space.
#[derive(Debug)]
pub struct Symbolic {
    pub space: Space,
    /// Per selector of the chain (same index): the label sets it matches.
    pub selectors: Vec<Set>,
}

/// How the pods of a region are decided.
#[derive(Debug, Clone, PartialEq)]
pub enum RegionBy {
    /// Matching rules: for each pod, some of these (every one decides for some pod).
    Rules(Vec<RuleRef>),
    /// No rule of `tier` matched and a policy of it isolates each pod. `isolated_by`: the
    /// policies isolating some pod of the region, in chain order; `by_other_engines`: each pod
    /// is isolated by some policy that is not a native NetworkPolicy.
    TierEnd {
        tier: String,
        isolated_by: Vec<PolicyId>,
        by_other_engines: bool,
    },
    /// No tier decided; `isolated`: some policy that selects the pods isolates them (a Pass
    /// handed them on).
    DefaultAllow { isolated: bool },
}

/// Pods the chain decides alike for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub pods: Set,
    pub allowed: bool,
    pub by: RegionBy,
    /// Pass and Log rules met before the decision, in order.
    pub steps: Vec<Step>,
    /// For [`RegionBy::Rules`], the pods of the region each rule matches (same order).
    pub rule_pods: Vec<Set>,
}

/// Pods on their way through a tier: the steps they took, and the unordered policies of the
/// group they are in (which decide together when the group ends).
#[derive(Debug, Clone)]
struct Fragment {
    pods: Set,
    steps: Vec<Step>,
    group: Vec<usize>,
}

impl<'m> Chain<'m> {
    /// Each selector's label sets, in a space of every key and value they name.
    pub fn symbolic(&self) -> Result<Symbolic, TooComplex> {
        let mut space = Space::new(self.selectors.iter().copied());
        let selectors = self
            .selectors
            .iter()
            .map(|s| space.selector(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Symbolic { space, selectors })
    }

    /// The keys of the selectors some member or rule uses.
    pub fn used_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .used_selectors()
            .into_iter()
            .flat_map(|i| self.selectors[i].requirements.iter().map(|r| r.key.clone()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Every pod's decision for `target`, as regions that partition the pods: what
    /// [`Chain::decide`] says for each pod, with a region's rules and isolating policies the
    /// union of its pods'. Call on the chain [`Chain::for_target`] gave, or any chain.
    pub fn regions(
        &self,
        model: &Model,
        symbolic: &mut Symbolic,
        target: &Target,
    ) -> Result<Vec<Region>, TooComplex> {
        let mut walk = Walk {
            chain: self,
            model,
            space: &mut symbolic.space,
            members: Vec::with_capacity(self.members.len()),
            out: Vec::new(),
        };
        for m in &self.members {
            let sets = m.pods.iter().map(|&s| symbolic.selectors[s]);
            let pods = walk.space.union(sets)?;
            let rules = m
                .rules
                .iter()
                .filter(|r| can_match(r, target))
                .map(|r| {
                    let senders = match &r.senders {
                        None => ALL,
                        Some(s) => walk.space.union(s.iter().map(|&i| symbolic.selectors[i]))?,
                    };
                    Ok((walk.space.and(pods, senders)?, r))
                })
                .collect::<Result<Vec<_>, TooComplex>>()?;
            walk.members.push((pods, rules));
        }
        walk.run()?;
        Ok(walk.out)
    }
}

/// Whether a rule can match a packet to `target` from some pod (see `matches`).
fn can_match(rule: &MemberRule, target: &Target) -> bool {
    reaches(rule, target) && (!rule.unknowable || rule.action == Action::Allow)
}

struct Walk<'a, 'm> {
    chain: &'a Chain<'m>,
    model: &'a Model,
    space: &'a mut Space,
    /// Per member: the pods it selects, and per rule that can match, the pods it matches.
    #[allow(clippy::type_complexity)]
    members: Vec<(Set, Vec<(Set, &'a MemberRule<'m>)>)>,
    out: Vec<Region>,
}

impl Walk<'_, '_> {
    fn member(&self, i: usize) -> &Member<'_> {
        &self.chain.members[i]
    }

    fn run(&mut self) -> Result<(), TooComplex> {
        let n = self.chain.members.len();
        let mut pending = vec![Fragment {
            pods: ALL,
            steps: Vec::new(),
            group: Vec::new(),
        }];
        let mut start = 0;
        while start < n {
            let tier = self.member(start).tier;
            let end = (start..n)
                .find(|&i| self.member(i).tier != tier)
                .unwrap_or(n);
            let mut fragments = std::mem::take(&mut pending);
            for i in start..end {
                fragments = if self.member(i).ordered {
                    self.ordered(i, fragments, &mut pending)?
                } else {
                    self.unordered(i, fragments)?
                };
            }
            for f in fragments {
                let rest = self.close_group(&f)?;
                let rest = self.tier_end(start..end, rest, &f.steps)?;
                if rest != NONE {
                    push_merged(
                        &mut pending,
                        Fragment {
                            pods: rest,
                            steps: f.steps,
                            group: Vec::new(),
                        },
                        self.space,
                    )?;
                }
            }
            start = end;
        }
        let isolating: Vec<Set> = (0..n)
            .filter(|&i| self.isolates(i))
            .map(|i| self.members[i].0)
            .collect();
        let isolated = self.space.union(isolating)?;
        for f in pending {
            for (pods, isolated) in [
                (self.space.and(f.pods, isolated)?, true),
                (self.space.diff(f.pods, isolated)?, false),
            ] {
                if pods != NONE {
                    self.out.push(Region {
                        pods,
                        allowed: true,
                        by: RegionBy::DefaultAllow { isolated },
                        steps: f.steps.clone(),
                        rule_pods: Vec::new(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Member `i` isolates the pods it selects: its tier denies what no rule matched.
    fn isolates(&self, i: usize) -> bool {
        let m = self.member(i);
        m.isolates && self.chain.tiers[m.tier].default_action == Action::Deny
    }

    /// An ordered member: the pods it selects end the open group, then meet its rules in
    /// order; the first that matches decides (Log goes on, Pass leaves the tier).
    fn ordered(
        &mut self,
        i: usize,
        fragments: Vec<Fragment>,
        passed: &mut Vec<Fragment>,
    ) -> Result<Vec<Fragment>, TooComplex> {
        let selected = self.members[i].0;
        let mut next: Vec<Fragment> = Vec::new();
        for f in fragments {
            let outside = self.space.diff(f.pods, selected)?;
            let inside = self.space.and(f.pods, selected)?;
            if outside != NONE {
                push_merged(
                    &mut next,
                    Fragment {
                        pods: outside,
                        ..f.clone()
                    },
                    self.space,
                )?;
            }
            if inside == NONE {
                continue;
            }
            let rest = self.close_group(&Fragment {
                pods: inside,
                ..f.clone()
            })?;
            let mut live: Vec<(Set, Vec<Step>)> = vec![(rest, f.steps.clone())];
            for r in 0..self.members[i].1.len() {
                let (matching, rule) = self.members[i].1[r];
                let mut after = Vec::new();
                for (pods, steps) in live {
                    let hit = self.space.and(pods, matching)?;
                    let miss = self.space.diff(pods, matching)?;
                    if hit != NONE {
                        let step = |action| {
                            let mut steps = steps.clone();
                            steps.push(Step {
                                rule: rule.rule,
                                action,
                            });
                            steps
                        };
                        match rule.action {
                            Action::Allow | Action::Deny => self.out.push(Region {
                                pods: hit,
                                allowed: rule.action == Action::Allow,
                                by: RegionBy::Rules(vec![rule.rule]),
                                steps: steps.clone(),
                                rule_pods: vec![hit],
                            }),
                            Action::Pass => push_merged(
                                passed,
                                Fragment {
                                    pods: hit,
                                    steps: step(Action::Pass),
                                    group: Vec::new(),
                                },
                                self.space,
                            )?,
                            Action::Log => after.push((hit, step(Action::Log))),
                        }
                    }
                    if miss != NONE {
                        after.push((miss, steps));
                    }
                }
                live = after;
            }
            for (pods, steps) in live {
                if pods != NONE {
                    push_merged(
                        &mut next,
                        Fragment {
                            pods,
                            steps,
                            group: Vec::new(),
                        },
                        self.space,
                    )?;
                }
            }
        }
        Ok(next)
    }

    /// An unordered member joins the open group of equal order, or ends it and opens one.
    fn unordered(
        &mut self,
        i: usize,
        fragments: Vec<Fragment>,
    ) -> Result<Vec<Fragment>, TooComplex> {
        let mut next = Vec::new();
        for mut f in fragments {
            let same_order = f.group.first().is_none_or(|&g| {
                order_cmp(self.member(g).order, self.member(i).order) == Ordering::Equal
            });
            if !same_order {
                let rest = self.close_group(&f)?;
                f = Fragment {
                    pods: rest,
                    group: Vec::new(),
                    ..f
                };
                if f.pods == NONE {
                    continue;
                }
            }
            // A member without a rule that can match decides nothing in the group; it is kept
            // only to mark the group's order.
            if f.group.is_empty() || !self.members[i].1.is_empty() {
                f.group.push(i);
            }
            push_merged(&mut next, f, self.space)?;
        }
        Ok(next)
    }

    /// The open group of `f` decides for its pods: a matching deny anywhere wins, else any
    /// matching allow. Returns the pods it left undecided.
    fn close_group(&mut self, f: &Fragment) -> Result<Set, TooComplex> {
        let mut rest = f.pods;
        for action in [Action::Deny, Action::Allow] {
            if rest == NONE {
                break;
            }
            let mut rules = Vec::new();
            let mut decided = Vec::new();
            for &g in &f.group {
                for &(matching, rule) in &self.members[g].1 {
                    if rule.action != action {
                        continue;
                    }
                    let hit = self.space.and(rest, matching)?;
                    if hit != NONE {
                        rules.push(rule.rule);
                        decided.push(hit);
                    }
                }
            }
            if rules.is_empty() {
                continue;
            }
            let pods = self.space.union(decided.iter().copied())?;
            rest = self.space.diff(rest, pods)?;
            self.out.push(Region {
                pods,
                allowed: action == Action::Allow,
                by: RegionBy::Rules(rules),
                steps: f.steps.clone(),
                rule_pods: decided,
            });
        }
        Ok(rest)
    }

    /// The pods of `pods` that no rule of the tier `members` matched: those a policy of the
    /// tier isolates are denied at its end; the rest go on.
    fn tier_end(
        &mut self,
        members: std::ops::Range<usize>,
        pods: Set,
        steps: &[Step],
    ) -> Result<Set, TooComplex> {
        if pods == NONE {
            return Ok(NONE);
        }
        let tier = self.member(members.start).tier;
        if self.chain.tiers[tier].default_action != Action::Deny {
            return Ok(pods);
        }
        let isolating: Vec<usize> = members.filter(|&i| self.member(i).isolates).collect();
        let all = self
            .space
            .union(isolating.iter().map(|&i| self.members[i].0))?;
        let denied = self.space.and(pods, all)?;
        if denied == NONE {
            return Ok(pods);
        }
        let mut isolated_by = Vec::new();
        let mut engine = Vec::new();
        for &i in &isolating {
            let policy = self.member(i).policy;
            let native = self.model.policy(policy).is_native();
            let selected = self.members[i].0;
            // Usually every isolated pod reaches the tier's end together: then each isolating
            // member meets them, and no intersection need be built.
            let meets = if denied == all {
                selected != NONE
            } else {
                self.space.and(denied, selected)? != NONE
            };
            if meets {
                isolated_by.push(policy);
                if !native {
                    engine.push(self.members[i].0);
                }
            }
        }
        let by_engines = self.space.union(engine)?;
        let by_other_engines = self.space.diff(denied, by_engines)? == NONE;
        self.out.push(Region {
            pods: denied,
            allowed: false,
            by: RegionBy::TierEnd {
                tier: self.chain.tiers[tier].name.clone(),
                isolated_by,
                by_other_engines,
            },
            steps: steps.to_vec(),
            rule_pods: Vec::new(),
        });
        self.space.diff(pods, denied)
    }
}

/// Adds `f` to `fragments`, into the one with the same steps and group if there is one.
fn push_merged(
    fragments: &mut Vec<Fragment>,
    f: Fragment,
    space: &mut Space,
) -> Result<(), TooComplex> {
    match fragments
        .iter_mut()
        .find(|g| g.steps == f.steps && g.group == f.group)
    {
        Some(g) => g.pods = space.or(g.pods, f.pods)?,
        None => fragments.push(f),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::chain::{DecidedBy, engine_policies, engine_policies_in};
    use crate::decode::selector::brute_force::all_label_sets;
    use crate::lint_text;
    use crate::model::NamespaceKey;
    use proptest::prelude::*;

    const CALICO_SELECTORS: [&str; 7] = [
        "all()",
        "a == 'x'",
        "has(a)",
        "!has(b)",
        "a != 'y' && b == 'x'",
        "b in {'x', 'y'}",
        "has(a) && !has(b)",
    ];
    const NATIVE_SELECTORS: [&str; 5] = [
        "{}",
        "{matchLabels: {a: x}}",
        "{matchExpressions: [{key: b, operator: DoesNotExist}]}",
        "{matchExpressions: [{key: a, operator: NotIn, values: [x, y]}]}",
        "{matchLabels: {a: y, b: y}}",
    ];

    fn calico(i: usize, order: u8, selector: &str, rules: &[(u8, Option<&str>)]) -> String {
        let rules: Vec<String> = rules
            .iter()
            .map(|(action, source)| {
                let action = ["Allow", "Deny", "Pass", "Log"][*action as usize % 4];
                let source = source.map_or(String::new(), |s| {
                    format!(", source: {{selector: \"{s}\"}}")
                });
                format!("{{action: {action}, destination: {{nets: [169.254.0.0/16]}}{source}}}")
            })
            .collect();
        format!(
            "---\napiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {{name: c{i}, namespace: ns}}\nspec:\n  order: {}\n  selector: \"{selector}\"\n  types: [Egress]\n  egress: [{}]\n",
            [500, 1000, 1500][order as usize % 3],
            rules.join(", ")
        )
    }

    fn native(i: usize, selector: &str, opens: bool) -> String {
        let rules = if opens {
            "[{to: [ipBlock: {cidr: 169.254.0.0/16}]}]"
        } else {
            "[]"
        };
        format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: n{i}, namespace: ns}}\nspec:\n  podSelector: {selector}\n  policyTypes: [Egress]\n  egress: {rules}\n"
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(120))]

        /// The regions partition every label set, and each pod's region says what the chain
        /// decides for that pod alone: the same outcome and steps, its rules and isolating
        /// policies among the region's.
        #[test]
        fn regions_agree_with_each_pods_decision(
            calico_policies in prop::collection::vec((
                0..3u8,
                prop::sample::select(CALICO_SELECTORS.to_vec()),
                prop::collection::vec((0..4u8, prop::option::of(prop::sample::select(CALICO_SELECTORS.to_vec()))), 0..3),
            ), 0..4),
            native_policies in prop::collection::vec((prop::sample::select(NATIVE_SELECTORS.to_vec()), any::<bool>()), 0..4),
        ) {
            let mut yaml = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n");
            for (i, (order, selector, rules)) in calico_policies.iter().enumerate() {
                yaml.push_str(&calico(i, *order, selector, rules));
            }
            for (i, (selector, opens)) in native_policies.iter().enumerate() {
                yaml.push_str(&native(i, selector, *opens));
            }
            let model = lint_text(&yaml).model;
            let key = NamespaceKey { cluster: None, name: "ns".into() };
            let mut policies: Vec<_> = model
                .policies_with_ids()
                .filter(|(_, p)| p.is_native() && p.governs_egress())
                .map(|(id, _)| id)
                .collect();
            policies.extend(engine_policies_in(&model, &engine_policies(&model), &key));
            let chain = Chain::build(&model, &key, &policies);
            let mut symbolic = chain.symbolic().unwrap();
            for target in Target::defaults() {
                let reduced = chain.for_target(&target);
                let regions = reduced.regions(&model, &mut symbolic, &target).unwrap();
                for labels in all_label_sets() {
                    let within: Vec<&Region> = regions
                        .iter()
                        .filter(|r| symbolic.space.contains(r.pods, &labels))
                        .collect();
                    prop_assert_eq!(within.len(), 1, "{:?} in {} regions", labels, within.len());
                    let region = within[0];
                    let pod = |i: usize| chain.selectors[i].matches(&labels);
                    let decision = reduced.decide(&pod, &target);
                    prop_assert_eq!(decision.allowed, region.allowed, "{:?}", labels);
                    prop_assert_eq!(&decision.steps, &region.steps, "{:?}", labels);
                    match (&decision.by, &region.by) {
                        (DecidedBy::Rules(rules), RegionBy::Rules(all)) => {
                            // Exactly the rules whose pods hold this one, in order.
                            let exact: Vec<RuleRef> = all
                                .iter()
                                .zip(&region.rule_pods)
                                .filter(|(_, p)| symbolic.space.contains(**p, &labels))
                                .map(|(r, _)| *r)
                                .collect();
                            prop_assert_eq!(rules, &exact, "{:?}", labels);
                        }
                        (
                            DecidedBy::TierEnd { tier, isolated_by },
                            RegionBy::TierEnd { tier: t, isolated_by: all, .. },
                        ) => {
                            prop_assert_eq!(tier, t);
                            prop_assert!(isolated_by.iter().all(|p| all.contains(p)));
                        }
                        (DecidedBy::DefaultAllow, RegionBy::DefaultAllow { isolated }) => {
                            prop_assert_eq!(reduced.isolates(&pod), *isolated);
                        }
                        (want, got) => prop_assert!(false, "{:?}: {:?} vs {:?}", labels, want, got),
                    }
                }
            }
        }
    }
}
