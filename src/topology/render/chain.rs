//! Chains of transformers, shared: a chain is one step in front of a shorter chain, and equal
//! chains are one id (hash-consed). A way names its chain in constant space, so a chain of
//! kustomizations costs its length once, not once per level below it.

use super::transformer::{Transformer, TransformerId};
use std::collections::HashMap;

/// The transformers a way applies, innermost first; [`Steps::NONE`] applies none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Steps(Option<u32>);

impl Steps {
    pub const NONE: Steps = Steps(None);

    pub fn is_empty(self) -> bool {
        self.0.is_none()
    }
}

#[derive(Debug, Clone, Copy)]
struct Link {
    step: TransformerId,
    rest: Steps,
    /// Some step of the chain does more than set a namespace.
    renders: bool,
    len: usize,
}

/// Every chain the walk made.
#[derive(Debug, Default)]
pub struct Chains {
    links: Vec<Link>,
    interned: HashMap<(TransformerId, Steps), u32>,
}

impl Chains {
    /// `step` in front of `rest`.
    pub(in crate::topology) fn push(
        &mut self,
        step: TransformerId,
        rest: Steps,
        transformers: &[Transformer],
    ) -> Steps {
        if let Some(&id) = self.interned.get(&(step, rest)) {
            return Steps(Some(id));
        }
        let below = self.link(rest);
        let link = Link {
            step,
            rest,
            renders: transformers[step.index()].renders() || below.is_some_and(|l| l.renders),
            len: 1 + below.map_or(0, |l| l.len),
        };
        let id = u32::try_from(self.links.len()).unwrap_or(u32::MAX);
        self.links.push(link);
        self.interned.insert((step, rest), id);
        Steps(Some(id))
    }

    /// `steps` (innermost first) in front of `rest`.
    pub(in crate::topology) fn prepend(
        &mut self,
        steps: &[TransformerId],
        rest: Steps,
        transformers: &[Transformer],
    ) -> Steps {
        steps
            .iter()
            .rev()
            .fold(rest, |rest, &step| self.push(step, rest, transformers))
    }

    fn link(&self, steps: Steps) -> Option<Link> {
        steps.0.and_then(|id| self.links.get(id as usize).copied())
    }

    /// Whether some step does more than set a namespace: the way is rendered.
    pub(in crate::topology) fn renders(&self, steps: Steps) -> bool {
        self.link(steps).is_some_and(|l| l.renders)
    }

    /// How many steps.
    pub(in crate::topology) fn len(&self, steps: Steps) -> usize {
        self.link(steps).map_or(0, |l| l.len)
    }

    /// The steps, innermost first.
    pub(in crate::topology) fn iter(
        &self,
        steps: Steps,
    ) -> impl Iterator<Item = TransformerId> + '_ {
        std::iter::successors(self.link(steps), |l| self.link(l.rest)).map(|l| l.step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_chains_are_one_and_keep_their_order() {
        let transformers = vec![Transformer::default(); 3];
        let mut chains = Chains::default();
        let ids: Vec<TransformerId> = (0..3).map(TransformerId::new).collect();
        let a = chains.prepend(&ids, Steps::NONE, &transformers);
        let b = chains.prepend(&ids[1..], Steps::NONE, &transformers);
        let b = chains.push(ids[0], b, &transformers);
        assert_eq!(a, b);
        assert_eq!(chains.iter(a).collect::<Vec<_>>(), ids);
        assert_eq!(chains.len(a), 3);
        assert!(
            !chains.renders(a),
            "namespace-only transformers render nothing"
        );
        assert!(chains.iter(Steps::NONE).next().is_none());
    }
}
