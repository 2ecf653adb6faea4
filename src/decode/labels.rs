//! [`Labels`]: the label maps kept for the whole run (of every workload, namespace, Service,
//! network set and CIDR group).

use std::fmt;

/// A map from label key to value, in key order, stored as one exact-length slice: most
/// objects carry one to five labels, for which a `BTreeMap` would allocate a whole node.
/// It reads and compares as the `BTreeMap<String, String>` built from the same insertions.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Labels(Box<[(String, String)]>);

impl Labels {
    /// The labels of `pairs`; of pairs with the same key the last one is kept, as inserting
    /// them one after another would.
    pub fn from_pairs(mut pairs: Vec<(String, String)>) -> Labels {
        // Stable: pairs of one key stay in the order they were written.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        Labels(pairs.into_boxed_slice())
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.position(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                let mut pairs = std::mem::take(&mut self.0).into_vec();
                // Exactly one more, so that the slice is not reallocated again to shrink.
                pairs.reserve_exact(1);
                pairs.insert(i, (key, value));
                self.0 = pairs.into_boxed_slice();
                None
            }
        }
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.0.iter())
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, String)> for Labels {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Labels {
        Labels::from_pairs(iter.into_iter().collect())
    }
}

impl<const N: usize> From<[(String, String); N]> for Labels {
    fn from(pairs: [(String, String); N]) -> Labels {
        Labels::from_pairs(pairs.into())
    }
}

/// Inserts every pair in order: a pair overrides an earlier one of its key.
impl Extend<(String, String)> for Labels {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        let mut pairs = std::mem::take(&mut self.0).into_vec();
        pairs.extend(iter);
        *self = Labels::from_pairs(pairs);
    }
}

/// The entries of [`Labels`] in key order, as `(key, value)`.
#[derive(Debug, Clone)]
pub struct Iter<'a>(std::slice::Iter<'a, (String, String)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a String, &'a String);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Labels {
    type Item = (&'a String, &'a String);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The entries in key order.
impl IntoIterator for Labels {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_vec().into_iter()
    }
}

/// As a `BTreeMap` prints: `{"app": "web"}`.
impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_last_value_of_a_key_is_kept() {
        let labels = Labels::from_pairs(pairs(&[("b", "1"), ("a", "2"), ("b", "3"), ("b", "4")]));
        assert_eq!(labels.len(), 2);
        assert_eq!(labels.get("b").map(String::as_str), Some("4"));
        assert_eq!(labels.keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn insert_replaces_or_adds_in_key_order() {
        let mut labels = Labels::from_pairs(pairs(&[("a", "1"), ("c", "3")]));
        assert_eq!(labels.insert("b".into(), "2".into()), None);
        assert_eq!(labels.insert("c".into(), "4".into()), Some("3".into()));
        assert_eq!(
            labels,
            Labels::from_pairs(pairs(&[("a", "1"), ("b", "2"), ("c", "4")]))
        );
        assert_eq!(labels.0.len(), 3);
    }

    #[test]
    fn debug_prints_as_a_map() {
        let labels = Labels::from_pairs(pairs(&[("app", "web")]));
        assert_eq!(format!("{labels:?}"), r#"{"app": "web"}"#);
        assert_eq!(format!("{:?}", Labels::default()), "{}");
    }

    /// Few keys and values, so that keys repeat.
    fn arb_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(("[a-d]{0,2}", "[xy]{0,2}"), 0..12)
    }

    proptest! {
        #[test]
        fn reads_as_the_btreemap_of_the_same_pairs(written in arb_pairs(), probe in "[a-d]{0,2}") {
            let map: BTreeMap<String, String> = written.iter().cloned().collect();
            let labels: Labels = written.into_iter().collect();
            prop_assert_eq!(labels.iter().collect::<Vec<_>>(), map.iter().collect::<Vec<_>>());
            prop_assert_eq!(labels.iter().rev().collect::<Vec<_>>(), map.iter().rev().collect::<Vec<_>>());
            prop_assert_eq!(labels.keys().collect::<Vec<_>>(), map.keys().collect::<Vec<_>>());
            prop_assert_eq!(labels.get(&probe), map.get(&probe));
            prop_assert_eq!(labels.contains_key(&probe), map.contains_key(&probe));
            prop_assert_eq!(labels.len(), map.len());
            prop_assert_eq!(labels.is_empty(), map.is_empty());
            prop_assert_eq!(format!("{labels:?}"), format!("{map:?}"));
        }

        #[test]
        fn insert_and_extend_as_the_btreemap_does(
            first in arb_pairs(),
            then in arb_pairs(),
            key in "[a-d]{0,2}",
            value in "[xy]{0,2}",
        ) {
            let mut map: BTreeMap<String, String> = first.iter().cloned().collect();
            let mut labels: Labels = first.into_iter().collect();
            prop_assert_eq!(labels.insert(key.clone(), value.clone()), map.insert(key, value));
            map.extend(then.iter().cloned());
            labels.extend(then);
            prop_assert_eq!(labels.iter().collect::<Vec<_>>(), map.iter().collect::<Vec<_>>());
        }

        #[test]
        fn equal_iff_the_btreemaps_are(a in arb_pairs(), b in arb_pairs()) {
            let (ma, mb): (BTreeMap<_, _>, BTreeMap<_, _>) =
                (a.iter().cloned().collect(), b.iter().cloned().collect());
            let (la, lb): (Labels, Labels) = (a.into_iter().collect(), b.into_iter().collect());
            prop_assert_eq!(la == lb, ma == mb);
        }
    }
}
