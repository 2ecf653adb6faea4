//! Sets of pod label sets, as decision diagrams over per-key finite domains.
//!
//! A label selector only ever tells a key's values apart by whether they are absent, one of
//! the values some selector names, or any other value: so each key is a variable whose domain
//! is "absent", each named value, and "every other value". A set of label sets is a reduced,
//! shared decision diagram over those variables (keys in a fixed order, one level each): a node
//! tests one key and lists the values whose branch differs from its default branch, so a key
//! with ten thousand named values costs a node per distinct set of branches, not a branch per
//! value everywhere. Equal sets are the same node, so comparing two sets is comparing numbers.
//!
//! Every operation walks with its own stack (no recursion that grows with the input) and
//! counts the nodes and steps it takes against a budget: past it, the operation fails with
//! [`TooComplex`], which the analysis reports as an error rather than guessing a verdict.

use super::labels::Labels;
use super::selector::{LabelSelector, LabelValue, Operator};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A set of label sets in a [`Space`]: the number of its root node.
pub type Set = u32;
/// No label set.
pub const NONE: Set = 0;
/// Every label set.
pub const ALL: Set = 1;

/// The level of the two terminal nodes: below every key.
const TERMINAL: u32 = u32::MAX;
/// The value number of "absent"; named values are numbered from 1 in string order, and any
/// other value has no number (it always takes the default branch).
const ABSENT: u32 = 0;

/// Nodes one space may hold before it gives up.
const MAX_NODES: usize = 1_000_000;
/// Steps (node pairs visited) one space may take before it gives up.
const MAX_STEPS: usize = 20_000_000;

/// The budget of a [`Space`] ran out: the selectors combine into more distinct sets than any
/// realistic repository has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooComplex;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Node {
    level: u32,
    default: Set,
    /// (value number, child), sorted by value; no child equals `default`, never empty.
    edges: Box<[(u32, Set)]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    And,
    Or,
    Diff,
}

/// The keys and values some selectors mention, and every set built over them.
#[derive(Debug)]
pub struct Space {
    /// Level → key, in string order.
    keys: Vec<String>,
    levels: HashMap<String, u32>,
    /// Per level, the named values in string order (value number − 1).
    values: Vec<Vec<String>>,
    value_numbers: Vec<HashMap<String, u32>>,
    nodes: Vec<Node>,
    unique: HashMap<Node, Set>,
    memo: HashMap<(Op, Set, Set), Set>,
    steps: usize,
    /// Nodes the space may hold ([`MAX_NODES`] but in tests).
    max_nodes: usize,
}

impl Space {
    /// The space of every key and value `selectors` mention.
    pub fn new<'a>(selectors: impl IntoIterator<Item = &'a LabelSelector>) -> Space {
        let mut named: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in selectors {
            for r in &s.requirements {
                let values = named.entry(r.key.as_str()).or_default();
                values.extend(r.values.iter().map(String::as_str));
            }
        }
        let mut space = Space {
            keys: Vec::with_capacity(named.len()),
            levels: HashMap::with_capacity(named.len()),
            values: Vec::with_capacity(named.len()),
            value_numbers: Vec::with_capacity(named.len()),
            nodes: Vec::new(),
            unique: HashMap::new(),
            memo: HashMap::new(),
            steps: 0,
            max_nodes: MAX_NODES,
        };
        for (level, (key, values)) in named.into_iter().enumerate() {
            space.keys.push(key.to_string());
            space.levels.insert(key.to_string(), level as u32);
            let values: Vec<String> = values.into_iter().map(str::to_string).collect();
            space.value_numbers.push(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (v.clone(), i as u32 + 1))
                    .collect(),
            );
            space.values.push(values);
        }
        for terminal in [NONE, ALL] {
            space.nodes.push(Node {
                level: TERMINAL,
                default: terminal,
                edges: Box::new([]),
            });
        }
        space
    }

    /// The keys of the space, in order.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    fn level(&self, s: Set) -> u32 {
        self.nodes[s as usize].level
    }

    /// The branch of `s` for value `value` of the key at `level`.
    fn child(&self, s: Set, level: u32, value: u32) -> Set {
        let node = &self.nodes[s as usize];
        if node.level != level {
            return s;
        }
        match node.edges.binary_search_by_key(&value, |e| e.0) {
            Ok(i) => node.edges[i].1,
            Err(_) => node.default,
        }
    }

    fn default_child(&self, s: Set, level: u32) -> Set {
        let node = &self.nodes[s as usize];
        if node.level == level { node.default } else { s }
    }

    /// The node testing `level`, shared with an equal one; its default when no value differs.
    fn make(
        &mut self,
        level: u32,
        default: Set,
        edges: Vec<(u32, Set)>,
    ) -> Result<Set, TooComplex> {
        if edges.is_empty() {
            return Ok(default);
        }
        let node = Node {
            level,
            default,
            edges: edges.into_boxed_slice(),
        };
        if let Some(&s) = self.unique.get(&node) {
            return Ok(s);
        }
        if self.nodes.len() >= self.max_nodes {
            return Err(TooComplex);
        }
        let s = self.nodes.len() as Set;
        self.nodes.push(node.clone());
        self.unique.insert(node, s);
        Ok(s)
    }

    /// The label sets a selector matches.
    pub fn selector(&mut self, selector: &LabelSelector) -> Result<Set, TooComplex> {
        // Per key (deepest level first, so children exist before parents): which of absent,
        // the values the requirements name, and any other value the requirements accept.
        let mut by_level: BTreeMap<u32, Vec<&super::selector::Requirement>> = BTreeMap::new();
        for r in &selector.requirements {
            let Some(&level) = self.levels.get(&r.key) else {
                // A key outside the space: no label set of it is told apart.
                return Err(TooComplex);
            };
            by_level.entry(level).or_default().push(r);
        }
        let mut set = ALL;
        for (&level, requirements) in by_level.iter().rev() {
            let mut named: Vec<u32> = requirements
                .iter()
                .flat_map(|r| &r.values)
                .map(|v| self.value_numbers[level as usize][v])
                .collect();
            named.sort_unstable();
            named.dedup();
            let accepts = |value: Option<u32>| {
                requirements.iter().all(|r| {
                    let name = value
                        .filter(|&n| n != ABSENT)
                        .map(|n| self.values[level as usize][n as usize - 1].as_str());
                    let listed = || name.is_some_and(|v| r.values.iter().any(|x| x == v));
                    match (r.operator, value) {
                        (Operator::Exists, v) => v != Some(ABSENT),
                        (Operator::DoesNotExist, v) => v == Some(ABSENT),
                        (_, Some(ABSENT)) => r.operator == Operator::NotIn,
                        (Operator::In, _) => listed(),
                        (Operator::NotIn, _) => !listed(),
                    }
                })
            };
            let other = accepts(None);
            let branch = |accepted: bool| if accepted { set } else { NONE };
            let mut edges = Vec::new();
            for value in std::iter::once(ABSENT).chain(named) {
                let accepted = accepts(Some(value));
                if accepted != other {
                    edges.push((value, branch(accepted)));
                }
            }
            let default = branch(other);
            set = self.make(level, default, edges)?;
            if set == NONE {
                return Ok(NONE);
            }
        }
        Ok(set)
    }

    pub fn and(&mut self, a: Set, b: Set) -> Result<Set, TooComplex> {
        self.apply(Op::And, a, b)
    }

    pub fn or(&mut self, a: Set, b: Set) -> Result<Set, TooComplex> {
        self.apply(Op::Or, a, b)
    }

    /// The label sets of `a` not in `b`.
    pub fn diff(&mut self, a: Set, b: Set) -> Result<Set, TooComplex> {
        self.apply(Op::Diff, a, b)
    }

    /// The union of many sets, merged pairwise so that each merge is of sets of like size.
    pub fn union(&mut self, sets: impl IntoIterator<Item = Set>) -> Result<Set, TooComplex> {
        let mut layer: Vec<Set> = sets.into_iter().collect();
        while layer.len() > 1 {
            let mut next = Vec::with_capacity(layer.len().div_ceil(2));
            for pair in layer.chunks(2) {
                next.push(match pair {
                    [a, b] => self.or(*a, *b)?,
                    [a] => *a,
                    _ => unreachable!("chunks of two"),
                });
            }
            layer = next;
        }
        Ok(layer.pop().unwrap_or(NONE))
    }

    fn terminal(op: Op, a: Set, b: Set) -> Option<Set> {
        match op {
            Op::And if a == NONE || b == NONE => Some(NONE),
            Op::And if a == ALL || a == b => Some(b),
            Op::And if b == ALL => Some(a),
            Op::Or if a == ALL || b == ALL => Some(ALL),
            Op::Or if a == NONE || a == b => Some(b),
            Op::Or if b == NONE => Some(a),
            Op::Diff if a == NONE || b == ALL || a == b => Some(NONE),
            Op::Diff if b == NONE => Some(a),
            _ => None,
        }
    }

    fn apply(&mut self, op: Op, a: Set, b: Set) -> Result<Set, TooComplex> {
        enum Task {
            Visit(Set, Set),
            Build {
                key: (Set, Set),
                level: u32,
                values: Vec<u32>,
            },
        }
        let mut tasks = vec![Task::Visit(a, b)];
        let mut results: Vec<Set> = Vec::new();
        while let Some(task) = tasks.pop() {
            match task {
                Task::Visit(a, b) => {
                    let (a, b) = match op {
                        Op::And | Op::Or if b < a => (b, a),
                        _ => (a, b),
                    };
                    if let Some(r) = Self::terminal(op, a, b) {
                        results.push(r);
                        continue;
                    }
                    if let Some(&r) = self.memo.get(&(op, a, b)) {
                        results.push(r);
                        continue;
                    }
                    self.steps += 1;
                    if self.steps > MAX_STEPS {
                        return Err(TooComplex);
                    }
                    let level = self.level(a).min(self.level(b));
                    let mut values: Vec<u32> = [a, b]
                        .iter()
                        .filter(|&&s| self.level(s) == level)
                        .flat_map(|&s| self.nodes[s as usize].edges.iter().map(|e| e.0))
                        .collect();
                    values.sort_unstable();
                    values.dedup();
                    let pairs: Vec<(Set, Set)> = values
                        .iter()
                        .map(|&v| (self.child(a, level, v), self.child(b, level, v)))
                        .collect();
                    let default = (self.default_child(a, level), self.default_child(b, level));
                    // Visited default first, then each value, then built from their results.
                    tasks.push(Task::Build {
                        key: (a, b),
                        level,
                        values,
                    });
                    tasks.extend(pairs.into_iter().rev().map(|(x, y)| Task::Visit(x, y)));
                    tasks.push(Task::Visit(default.0, default.1));
                }
                Task::Build { key, level, values } => {
                    let children = results.split_off(results.len() - values.len() - 1);
                    let default = children[0];
                    let edges: Vec<(u32, Set)> = values
                        .into_iter()
                        .zip(children[1..].iter().copied())
                        .filter(|&(_, c)| c != default)
                        .collect();
                    let r = self.make(level, default, edges)?;
                    self.memo.insert((op, key.0, key.1), r);
                    results.push(r);
                }
            }
        }
        Ok(results.pop().unwrap_or(NONE))
    }

    /// Whether `labels` are in `set`.
    pub fn contains(&self, set: Set, labels: &Labels) -> bool {
        let mut s = set;
        while self.level(s) != TERMINAL {
            let level = self.level(s);
            let value = match labels.get(&self.keys[level as usize]) {
                None => Some(ABSENT),
                Some(v) => self.value_numbers[level as usize].get(v).copied(),
            };
            s = match value {
                Some(v) => self.child(s, level, v),
                None => self.default_child(s, level),
            };
        }
        s == ALL
    }

    /// A label set in `set` with as few labels as possible (ties: absent before named values
    /// in string order before any other value, key by key), a value for each of `keys`
    /// (keys the set does not test are absent); `None` when `set` is empty.
    pub fn witness(&self, set: Set, keys: &[String]) -> Option<BTreeMap<String, LabelValue>> {
        if set == NONE {
            return None;
        }
        // Children are made before their parents, so ascending numbers are a bottom-up order.
        let mut reachable = vec![set];
        let mut seen: std::collections::HashSet<Set> = [set].into();
        let mut i = 0;
        while i < reachable.len() {
            let node = &self.nodes[reachable[i] as usize];
            i += 1;
            for child in std::iter::once(node.default).chain(node.edges.iter().map(|e| e.1)) {
                if seen.insert(child) {
                    reachable.push(child);
                }
            }
        }
        reachable.sort_unstable();
        // Per node: (labels present, branch chosen: a value number, or None for the default).
        let mut best: HashMap<Set, (usize, Option<u32>)> = HashMap::with_capacity(reachable.len());
        best.insert(ALL, (0, None));
        for &s in &reachable {
            if s == NONE || s == ALL {
                continue;
            }
            let node = &self.nodes[s as usize];
            let cost = |child: Set| best.get(&child).map(|b| b.0);
            let absent_child = self.child(s, node.level, ABSENT);
            let mut choice: Option<(usize, Option<u32>)> =
                cost(absent_child).map(|c| (c, Some(ABSENT)));
            let others = node
                .edges
                .iter()
                .filter(|e| e.0 != ABSENT)
                .map(|e| (e.1, Some(e.0)))
                .chain(std::iter::once((node.default, None)));
            for (child, branch) in others {
                if let Some(c) = cost(child)
                    && choice.is_none_or(|(best, _)| c + 1 < best)
                {
                    choice = Some((c + 1, branch));
                }
            }
            if let Some(choice) = choice {
                best.insert(s, choice);
            }
        }
        best.get(&set)?;
        let mut witness: BTreeMap<String, LabelValue> = keys
            .iter()
            .map(|k| (k.clone(), LabelValue::Absent))
            .collect();
        let mut s = set;
        while s != ALL {
            let node = &self.nodes[s as usize];
            let level = node.level as usize;
            let (_, branch) = best[&s];
            let value = match branch {
                Some(ABSENT) => LabelValue::Absent,
                Some(v) => LabelValue::Named(self.values[level][v as usize - 1].clone()),
                None => LabelValue::Other,
            };
            s = match branch {
                Some(v) => self.child(s, node.level, v),
                None => node.default,
            };
            witness.insert(self.keys[level].clone(), value);
        }
        Some(witness)
    }
}

/// Whether some pod escapes every selector of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Every label set matches at least one selector.
    Covered,
    /// A label set no selector matches, one value per key the selectors mention: one with as
    /// few labels as any such set.
    Gap(BTreeMap<String, LabelValue>),
    /// The selectors combine into more distinct sets than the analysis may build (only
    /// crafted input gets here); an error, not a verdict.
    TooComplex,
}

/// Searches for a label set that none of `selectors` matches: the complement of their union,
/// as a set of label sets.
pub fn find_gap(selectors: &[&LabelSelector]) -> Coverage {
    if selectors.iter().any(|s| s.selects_all()) {
        return Coverage::Covered;
    }
    let mut space = Space::new(selectors.iter().copied());
    let gap = (|| {
        let sets = selectors
            .iter()
            .map(|s| space.selector(s))
            .collect::<Result<Vec<_>, _>>()?;
        let union = space.union(sets)?;
        space.diff(ALL, union)
    })();
    match gap {
        Err(TooComplex) => Coverage::TooComplex,
        Ok(gap) => match space.witness(gap, space.keys()) {
            Some(witness) => Coverage::Gap(witness),
            None => Coverage::Covered,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::selector::Requirement;
    use crate::decode::selector::brute_force::{all_label_sets, arb_requirement, concrete};
    use proptest::prelude::*;

    fn req(key: &str, operator: Operator, values: &[&str]) -> Requirement {
        Requirement {
            key: key.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn sel(requirements: Vec<Requirement>) -> LabelSelector {
        LabelSelector { requirements }
    }

    #[test]
    fn complementary_selectors_cover_everything() {
        let selectors: Vec<LabelSelector> = (0..30)
            .flat_map(|i| {
                let key = format!("k{i}");
                [
                    sel(vec![req(&key, Operator::Exists, &[])]),
                    sel(vec![req(&key, Operator::DoesNotExist, &[])]),
                ]
            })
            .collect();
        let mut space = Space::new(&selectors);
        let sets: Vec<Set> = selectors
            .iter()
            .map(|s| space.selector(s).unwrap())
            .collect();
        // Each pair covers every pod; so does every half of them.
        assert_eq!(space.or(sets[0], sets[1]).unwrap(), ALL);
        let has: Vec<Set> = sets.iter().step_by(2).copied().collect();
        let union = space.union(has).unwrap();
        let gap = space.diff(ALL, union).unwrap();
        let witness = space.witness(gap, space.keys()).unwrap();
        assert!(witness.values().all(|v| *v == LabelValue::Absent));
    }

    #[test]
    fn many_values_of_one_key_and_many_keys_stay_small() {
        let one_key: Vec<LabelSelector> = (0..5_000)
            .map(|i| sel(vec![req("app", Operator::In, &[&format!("v{i}")])]))
            .collect();
        let mut space = Space::new(&one_key);
        let sets: Vec<Set> = one_key.iter().map(|s| space.selector(s).unwrap()).collect();
        let union = space.union(sets).unwrap();
        let gap = space.diff(ALL, union).unwrap();
        assert_eq!(
            space.witness(gap, space.keys()).unwrap()["app"],
            LabelValue::Absent
        );
        let distinct: Vec<LabelSelector> = (0..10_000)
            .map(|i| sel(vec![req(&format!("k{i}"), Operator::In, &["v"])]))
            .collect();
        let mut space = Space::new(&distinct);
        let sets: Vec<Set> = distinct
            .iter()
            .map(|s| space.selector(s).unwrap())
            .collect();
        let union = space.union(sets).unwrap();
        assert_ne!(space.diff(ALL, union).unwrap(), NONE);
    }

    #[test]
    fn a_union_past_the_budget_is_an_error_not_an_answer() {
        // (a0 = x and b0 = x) or (a1 = x and b1 = x) or …, with every a before every b: the
        // diagram must remember which a's were x, 2^n nodes.
        let selectors: Vec<LabelSelector> = (0..16)
            .map(|i| {
                sel(vec![
                    req(&format!("a{i}"), Operator::In, &["x"]),
                    req(&format!("b{i}"), Operator::In, &["x"]),
                ])
            })
            .collect();
        let mut space = Space::new(&selectors);
        space.max_nodes = 10_000;
        let sets: Vec<Set> = selectors
            .iter()
            .map(|s| space.selector(s).unwrap())
            .collect();
        assert_eq!(space.union(sets), Err(TooComplex));
        // Within the budget the same family is exact.
        let mut space = Space::new(&selectors[..8]);
        space.max_nodes = 10_000;
        let sets: Vec<Set> = selectors[..8]
            .iter()
            .map(|s| space.selector(s).unwrap())
            .collect();
        let union = space.union(sets).unwrap();
        let gap = space.diff(ALL, union).unwrap();
        assert!(space.witness(gap, space.keys()).is_some());
    }

    #[test]
    fn the_witness_has_the_fewest_labels() {
        let selectors = [
            sel(vec![req("app", Operator::DoesNotExist, &[])]),
            sel(vec![req("app", Operator::In, &["web"])]),
        ];
        let mut space = Space::new(&selectors);
        let sets: Vec<Set> = selectors
            .iter()
            .map(|s| space.selector(s).unwrap())
            .collect();
        let union = space.union(sets).unwrap();
        let gap = space.diff(ALL, union).unwrap();
        let witness = space.witness(gap, space.keys()).unwrap();
        assert_eq!(witness["app"], LabelValue::Other);
    }

    fn arb_selector() -> impl Strategy<Value = LabelSelector> {
        let requirement = (
            prop::sample::select(vec!["a", "b"]),
            prop::sample::select(vec![
                Operator::In,
                Operator::NotIn,
                Operator::Exists,
                Operator::DoesNotExist,
            ]),
            prop::collection::vec(prop::sample::select(vec!["x", "y"]), 1..3),
        )
            .prop_map(|(key, operator, values)| Requirement {
                key: key.into(),
                operator,
                values: match operator {
                    Operator::In | Operator::NotIn => {
                        values.into_iter().map(String::from).collect()
                    }
                    _ => Vec::new(),
                },
            });
        prop::collection::vec(requirement, 0..4)
            .prop_map(|requirements| LabelSelector { requirements })
    }

    proptest! {
        /// Sets built from random selectors by union, intersection and difference hold
        /// exactly the label sets the same formula holds, enumerated; witnesses are members
        /// with the fewest labels.
        #[test]
        fn sets_match_brute_force(
            selectors in prop::collection::vec(arb_selector(), 1..6),
            exprs in prop::collection::vec((0..4usize, 0..64usize, 0..64usize), 0..12),
        ) {
            let mut space = Space::new(&selectors);
            let universe = all_label_sets();
            let mut sets: Vec<(Set, Vec<bool>)> = selectors
                .iter()
                .map(|s| {
                    let members = universe.iter().map(|l| s.matches(l)).collect();
                    (space.selector(s).unwrap(), members)
                })
                .collect();
            for (kind, i, j) in exprs {
                let (i, j) = (i % sets.len(), j % sets.len());
                let (a, am) = sets[i].clone();
                let (b, bm) = sets[j].clone();
                let built = match kind {
                    0 => (space.diff(ALL, a).unwrap(), am.iter().map(|x| !x).collect()),
                    1 => (space.and(a, b).unwrap(), am.iter().zip(&bm).map(|(x, y)| *x && *y).collect()),
                    2 => (space.or(a, b).unwrap(), am.iter().zip(&bm).map(|(x, y)| *x || *y).collect()),
                    _ => (space.diff(a, b).unwrap(), am.iter().zip(&bm).map(|(x, y)| *x && !*y).collect()),
                };
                sets.push(built);
            }
            for (set, members) in &sets {
                for (labels, &member) in universe.iter().zip(members) {
                    prop_assert_eq!(space.contains(*set, labels), member);
                }
                // Equal sets are the same node.
                prop_assert_eq!(*set == NONE, members.iter().all(|m| !m));
                prop_assert_eq!(*set == ALL, members.iter().all(|m| *m));
                match space.witness(*set, space.keys()) {
                    None => prop_assert!(members.iter().all(|m| !m)),
                    Some(w) => {
                        let labels = concrete(&w);
                        prop_assert!(space.contains(*set, &labels));
                        let fewest = universe
                            .iter()
                            .zip(members)
                            .filter(|(_, m)| **m)
                            .map(|(l, _)| l.len())
                            .min();
                        prop_assert_eq!(Some(labels.len()), fewest);
                    }
                }
            }
        }
    }

    fn selecting(requirements: Vec<Requirement>) -> LabelSelector {
        LabelSelector { requirements }
    }

    #[test]
    fn coverage_of_complementary_selectors() {
        let exists = selecting(vec![req("app", Operator::Exists, &[])]);
        let missing = selecting(vec![req("app", Operator::DoesNotExist, &[])]);
        assert_eq!(find_gap(&[&exists, &missing]), Coverage::Covered);
        let inx = selecting(vec![req("app", Operator::In, &["x"])]);
        let notinx = selecting(vec![req("app", Operator::NotIn, &["x"])]);
        assert_eq!(find_gap(&[&inx, &notinx]), Coverage::Covered);
        let Coverage::Gap(gap) = find_gap(&[&inx, &exists]) else {
            panic!()
        };
        assert_eq!(gap.get("app"), Some(&LabelValue::Absent));
        let web = selecting(vec![req("app", Operator::In, &["web"])]);
        let Coverage::Gap(gap) = find_gap(&[&web, &missing]) else {
            panic!()
        };
        assert_eq!(gap.get("app"), Some(&LabelValue::Other));
        assert_eq!(find_gap(&[&web, &selecting(Vec::new())]), Coverage::Covered);
        assert!(matches!(find_gap(&[]), Coverage::Gap(_)));
    }

    #[test]
    fn coverage_does_not_blow_up_over_unrelated_keys() {
        let selectors: Vec<LabelSelector> = (0..60)
            .map(|i| {
                selecting(vec![
                    req(&format!("key{i}"), Operator::In, &[&format!("v{i}")]),
                    req("app", Operator::In, &[&format!("a{i}")]),
                ])
            })
            .collect();
        let refs: Vec<&LabelSelector> = selectors.iter().collect();
        assert!(matches!(find_gap(&refs), Coverage::Gap(_)));
    }

    fn brute_gap(selectors: &[LabelSelector]) -> bool {
        all_label_sets()
            .iter()
            .any(|labels| selectors.iter().all(|s| !s.matches(labels)))
    }

    proptest! {
        #[test]
        fn coverage_matches_brute_force(
            selectors in prop::collection::vec(
                prop::collection::vec(arb_requirement(), 1..4).prop_map(|requirements| LabelSelector { requirements }),
                0..6,
            ),
        ) {
            let refs: Vec<&LabelSelector> = selectors.iter().collect();
            let coverage = find_gap(&refs);
            prop_assert_eq!(matches!(coverage, Coverage::Gap(_)), brute_gap(&selectors));
            if let Coverage::Gap(gap) = coverage {
                // The witness really escapes every selector, with as few labels as any.
                let labels = concrete(&gap);
                let fewest = all_label_sets()
                    .into_iter()
                    .filter(|l| selectors.iter().all(|s| !s.matches(l)))
                    .map(|l| l.len())
                    .min();
                prop_assert_eq!(Some(labels.len()), fewest);
                prop_assert!(selectors.iter().all(|s| !s.matches(&labels)));
            }
        }
    }
}
