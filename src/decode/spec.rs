//! Policies of every engine (native NetworkPolicy, Cilium, Calico, AdminNetworkPolicy and
//! BaselineAdminNetworkPolicy), decoded into one shape: rules with actions, placed in the
//! precedence chain a cluster evaluates them in.
//!
//! The chain, for one packet from one pod: AdminNetworkPolicies by priority; then the tiers of
//! the NetworkPolicy layer by order (Calico tiers; the default tier holds Calico's default-tier
//! policies, the native NetworkPolicies at order 1000 and the Cilium policies); then
//! BaselineAdminNetworkPolicies; then the default allow.

use super::labels::Labels;
use super::selector::LabelSelector;
use super::toolkit::Problem;
use crate::net::{IpSet, PortSet};
use crate::source::yaml::Span;
use std::sync::Arc;

/// The project whose semantics a policy follows, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Engine {
    /// `networking.k8s.io/v1` NetworkPolicy.
    NetworkPolicy,
    Cilium,
    Calico,
    AdminNetworkPolicy,
    BaselineAdminNetworkPolicy,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::NetworkPolicy => "NetworkPolicy",
            Engine::Cilium => "Cilium",
            Engine::Calico => "Calico",
            Engine::AdminNetworkPolicy => "AdminNetworkPolicy",
            Engine::BaselineAdminNetworkPolicy => "BaselineAdminNetworkPolicy",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Allow,
    Deny,
    /// Skip the rest of this tier (ANP: the rest of the AdminNetworkPolicies) and go on to the
    /// next one.
    Pass,
    /// Calico: record and go on to the next rule.
    Log,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
            Action::Pass => "Pass",
            Action::Log => "Log",
        }
    }
}

/// The three layers of the chain, evaluated in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Admin,
    NetworkPolicy,
    Baseline,
}

/// The Calico tier that holds native NetworkPolicies, Cilium policies and Calico policies that
/// name no tier.
pub const DEFAULT_TIER: &str = "default";
/// Where native NetworkPolicies sit in the default tier (documented Calico behaviour).
pub const NATIVE_ORDER: f64 = 1000.0;

/// Where a policy sits in the chain. Within a tier, policies run by ascending `order` (none:
/// last), ties broken by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub layer: Layer,
    /// The Calico tier in the NetworkPolicy layer; [`DEFAULT_TIER`] elsewhere.
    pub tier: String,
    /// Calico `order`, AdminNetworkPolicy `priority`; `None` sorts after every number.
    pub order: Option<f64>,
}

impl Placement {
    /// Where native NetworkPolicies sit, and Cilium's policies beside them: the default tier of
    /// the NetworkPolicy layer, at [`NATIVE_ORDER`].
    pub fn native() -> Self {
        Placement {
            layer: Layer::NetworkPolicy,
            tier: DEFAULT_TIER.into(),
            order: Some(NATIVE_ORDER),
        }
    }
}

/// Which pods a policy applies to: a pod is selected when some pair matches its namespace's
/// labels and its own labels. Namespace labels include `kubernetes.io/metadata.name`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selects {
    /// Namespaced kinds apply in their own namespace only, on top of `any_of`.
    pub own_namespace_only: bool,
    /// Empty: no pod.
    pub any_of: Vec<SelectorPair>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SelectorPair {
    pub namespaces: LabelSelector,
    pub pods: LabelSelector,
}

/// A hostname a rule allows by DNS (Cilium `toFQDNs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostnameMatch {
    /// `matchName`: one name.
    Name(String),
    /// `matchPattern`: `*` stands for any run of DNS-name characters.
    Pattern(String),
}

/// Where a rule sends traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDestinations {
    /// Addresses the rule matches.
    pub addresses: IpSet,
    /// Hostnames the rule matches, for targets known by a hostname.
    pub hostnames: Vec<HostnameMatch>,
    /// Endpoints picked by labels (Calico `destination.selector`): pods, which never hold a
    /// metadata address, and Calico network sets, whose `nets` count as addresses. As pairs of
    /// (namespace labels, set labels); a GlobalNetworkSet has no namespace and is matched by a
    /// pair whose namespace selector is empty. Empty: none.
    pub labelled: Vec<SelectorPair>,
    /// The pairs look in the policy's own namespace only (a namespaced Calico policy's
    /// selector without a namespaceSelector): known only once the namespace is resolved.
    pub labelled_in_own_namespace: bool,
    /// The labelled sets' addresses count only inside these (Calico ANDs a selector with
    /// `nets`, `notNets` and `ipVersion`); `None`: no such restriction.
    pub labelled_within: Option<IpSet>,
    /// CiliumCIDRGroups (`toCIDRSet` `cidrGroupRef` / `cidrGroupSelector`), by selectors over
    /// each group's labels plus [`CIDR_GROUP_NAME`]; their `externalCIDRs` count.
    pub cidr_groups: Vec<LabelSelector>,
    /// Services the rule names (Cilium `toServices`, Calico `destination.services`): those
    /// without a selector send to the addresses of their endpoints.
    pub services: Vec<ServiceRef>,
}

/// A Service a rule names, by name or by labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceRef {
    /// `None`: the policy's own namespace, or every namespace for a cluster-wide policy.
    pub namespace: Option<String>,
    pub name: ServiceName,
    /// The endpoints' ports are the rule's (Calico refuses ports beside `services`): a Deny is
    /// not known to cover a given port, so only an Allow counts the endpoints' addresses.
    pub ports_from_endpoints: bool,
}

/// How a [`ServiceRef`] picks Services.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceName {
    Name(String),
    /// Cilium `k8sServiceSelector`: by the Service's labels.
    Labels(LabelSelector),
}

/// The key under which a CiliumCIDRGroup's name is matched: not a valid label key, so no
/// real label can clash with it.
pub const CIDR_GROUP_NAME: &str = ":name";

/// How a rule reaches addresses, for findings.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    /// A native rule with no `to`: every destination.
    AnyDestination,
    /// A native ipBlock peer: its cidr minus its excepts.
    IpBlock(ipnet::IpNet),
    /// A native podSelector / namespaceSelector peer: pods, never an address outside the
    /// cluster. Which pods, for people: `pods matching app=db in the policy's namespace`.
    Pods(String),
    /// Another engine's rule, described in its terms: `toEntities world`,
    /// `destination.nets 169.254.0.0/16`, `no destination (every address)`.
    Described(String),
}

/// How a policy names one of its rules; shown as `egress rule 1`, `specs[1] egressDeny rule 2`,
/// `egress rule 3 (Deny)`, `egress rule 1 "deny-metadata" (Deny)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleName {
    /// The entry of a Cilium policy's `specs` the rule is in.
    pub specs_entry: Option<usize>,
    /// The list the rule is in: `egress`, `egressDeny`.
    pub list: &'static str,
    /// 1-based place in that list.
    pub number: usize,
    /// An AdminNetworkPolicy rule's `name`, when not empty.
    pub name: Option<String>,
    /// The action, where each rule states its own (Calico, AdminNetworkPolicy).
    pub action: Option<Action>,
}

impl RuleName {
    /// The `number`th rule of `list`, with nothing else to say.
    pub fn new(list: &'static str, number: usize) -> Self {
        Self {
            specs_entry: None,
            list,
            number,
            name: None,
            action: None,
        }
    }
}

impl std::fmt::Display for RuleName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(entry) = self.specs_entry {
            write!(f, "specs[{entry}] ")?;
        }
        write!(f, "{} rule {}", self.list, self.number)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        if let Some(action) = self.action {
            write!(f, " ({})", action.name())?;
        }
        Ok(())
    }
}

/// One egress rule, in the order its policy lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRule {
    pub action: Action,
    pub name: RuleName,
    /// The rule's 1-based number in reports when that is not its place among its spec's
    /// rules: the peers of a native egress rule, a rule each here, share that rule's number.
    pub number: Option<usize>,
    /// The rule's list item.
    pub span: Span,
    pub destinations: RuleDestinations,
    pub ports: PortSet,
    /// Calico `source.selector` and friends on an egress rule: only these sending pods (as
    /// pairs, like [`Selects`]); `None` for every pod the policy selects.
    pub senders: Option<Vec<SelectorPair>>,
    /// Part of the match cannot be known from the repository (a service account, a pod IP
    /// range): an Allow is taken to match, a Deny not to, so a verdict never looks safer than
    /// it is.
    pub unknowable: Option<String>,
    pub via: Via,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    pub engine: Engine,
    pub placement: Placement,
    /// Rules run in order and the first match decides (Calico, AdminNetworkPolicy). Otherwise
    /// (native and Cilium policies) a matching deny anywhere wins over every allow, and allows
    /// are unioned.
    pub ordered: bool,
    pub selects: Selects,
    /// The policy takes part in egress (native `policyTypes` has Egress; Calico `types` has
    /// Egress; Cilium has an egress or egressDeny section; an ANP has egress rules).
    pub governs_egress: bool,
    /// Selecting a pod makes egress that no rule of its tier matches denied (Calico and native
    /// policies, Cilium unless `enableDefaultDeny.egress: false`); AdminNetworkPolicies do not.
    pub isolates: bool,
    pub rules: Vec<PolicyRule>,
}

/// What a decoder makes of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedPolicy {
    /// Usually one; a Cilium policy gives one per entry of `specs`. Empty when the object
    /// cannot be evaluated at all.
    /// Shared with the model's policy, which needs them after the object is dropped.
    pub specs: Arc<[PolicySpec]>,
    pub problems: Vec<Problem>,
    /// The API server (or the engine's webhook) would refuse the object.
    pub rejected: bool,
    /// Why the object, or part of it, is not evaluated (a host policy, an unsupported
    /// selector): listed in the summary, never dropped silently.
    pub not_evaluated: Option<String>,
}

/// A Calico Tier: where its policies run in the NetworkPolicy layer.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSpec {
    pub order: Option<f64>,
    /// What happens to traffic that policies of the tier select but no rule matches.
    pub default_action: Action,
}

/// A Calico NetworkSet or GlobalNetworkSet: labelled addresses that rules can select.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSetSpec {
    pub labels: Labels,
    pub nets: IpSet,
}

/// The default tier's order, documented by Calico.
pub const DEFAULT_TIER_ORDER: f64 = 1_000_000.0;

/// The kinds besides native NetworkPolicy decoded into a [`PolicySpec`], a [`TierSpec`] or a
/// [`NetworkSetSpec`], told apart by API group (see [`super::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    CiliumNetworkPolicy,
    CiliumClusterwideNetworkPolicy,
    CalicoNetworkPolicy,
    CalicoGlobalNetworkPolicy,
    CalicoTier,
    CalicoNetworkSet,
    CalicoGlobalNetworkSet,
    CiliumCidrGroup,
    AdminNetworkPolicy,
    BaselineAdminNetworkPolicy,
}
