//! Services and their endpoints, for the policy rules that name a Service (Cilium
//! `toServices`, Calico `destination.services`): a Service without a selector sends to the
//! addresses its `Endpoints` and `EndpointSlice`s list, which may be anything, a metadata
//! address included.

use super::labels::Labels;
use crate::net::IpSet;
use crate::source::yaml::Node;
use ipnet::IpNet;
use std::net::IpAddr;

/// The label an EndpointSlice names its Service by.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The kinds of this module, told apart in the kind table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// `v1` Service.
    Service,
    /// `v1` Endpoints.
    Endpoints,
    /// `discovery.k8s.io` EndpointSlice.
    EndpointSlice,
}

/// What the analysis reads of a Service, an Endpoints or an EndpointSlice.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceObject {
    Service {
        /// `spec.selector` is set and not empty: the Service sends to the pods it selects
        /// (the API server then writes its endpoints, from pods only). An `ExternalName`
        /// Service has no endpoints either way.
        selects_pods: bool,
        /// `metadata.labels`, for Cilium `k8sServiceSelector`.
        labels: Labels,
    },
    /// The addresses an Endpoints or EndpointSlice lists, ready or not, for the Service it
    /// names (`None`: an EndpointSlice without the service-name label serves none).
    Endpoints {
        service: Option<String>,
        addresses: IpSet,
        /// Addresses given by name (an `FQDN` EndpointSlice): where they resolve is not known.
        by_name: bool,
    },
}

/// Decodes an object of `kind` from its tree; `name` is its `metadata.name`.
pub fn decode(kind: ServiceKind, body: &Node, name: Option<&str>) -> ServiceObject {
    let labels = super::toolkit::string_map(body.get("metadata").and_then(|m| m.get("labels")));
    match kind {
        ServiceKind::Service => {
            let spec = body.get("spec");
            let selector = spec.and_then(|s| s.get("selector"));
            let external = spec
                .and_then(|s| s.get("type"))
                .and_then(Node::as_str)
                .is_some_and(|t| t == "ExternalName");
            ServiceObject::Service {
                selects_pods: external
                    || selector
                        .and_then(Node::as_map)
                        .is_some_and(|m| !m.is_empty()),
                labels,
            }
        }
        ServiceKind::Endpoints => {
            let mut addresses = IpSet::empty();
            for subset in seq(body.get("subsets")) {
                for list in ["addresses", "notReadyAddresses"] {
                    for address in seq(subset.get(list)) {
                        add_ip(&mut addresses, address.get("ip"));
                    }
                }
            }
            ServiceObject::Endpoints {
                service: name.map(str::to_string),
                addresses,
                by_name: false,
            }
        }
        ServiceKind::EndpointSlice => {
            let by_name = body
                .get("addressType")
                .and_then(Node::as_str)
                .is_some_and(|t| t == "FQDN");
            let mut addresses = IpSet::empty();
            if !by_name {
                for endpoint in seq(body.get("endpoints")) {
                    for address in seq(endpoint.get("addresses")) {
                        add_ip(&mut addresses, Some(address));
                    }
                }
            }
            ServiceObject::Endpoints {
                service: labels.get(SERVICE_NAME_LABEL).cloned(),
                addresses,
                by_name,
            }
        }
    }
}

fn seq(node: Option<&Node>) -> &[Node] {
    node.and_then(Node::as_seq).unwrap_or_default()
}

/// Adds an IP address as written (the API server refuses anything else).
fn add_ip(addresses: &mut IpSet, node: Option<&Node>) {
    let Some(ip) = node
        .and_then(Node::as_str)
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
    else {
        return;
    };
    *addresses = addresses.union(&IpSet::from_net(&IpNet::from(ip)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(kind: ServiceKind, text: &str) -> ServiceObject {
        let tree = crate::source::yaml::parse_documents(text, 0)
            .unwrap()
            .remove(0);
        decode(kind, &tree, Some("metadata"))
    }

    #[test]
    fn a_service_selects_pods_only_with_a_selector() {
        let with = "metadata: {labels: {a: b}}\nspec: {selector: {app: x}}\n";
        let without = "spec: {ports: [{port: 80}]}\n";
        let external = "spec: {type: ExternalName, externalName: x.example}\n";
        let selects = |text| match decoded(ServiceKind::Service, text) {
            ServiceObject::Service { selects_pods, .. } => selects_pods,
            other => panic!("{other:?}"),
        };
        assert!(selects(with));
        assert!(!selects(without));
        assert!(!selects("spec: {selector: {}}\n"));
        assert!(selects(external));
    }

    #[test]
    fn endpoints_and_slices_list_their_addresses() {
        let endpoints = "subsets:\n- addresses: [{ip: 169.254.169.254}]\n  notReadyAddresses: [{ip: 'fd00:ec2::254'}]\n  ports: [{port: 80}]\n- addresses: [{ip: nonsense}, {hostname: x}]\n";
        let ServiceObject::Endpoints {
            service,
            addresses,
            by_name,
        } = decoded(ServiceKind::Endpoints, endpoints)
        else {
            panic!()
        };
        assert_eq!(service.as_deref(), Some("metadata"));
        assert!(addresses.contains("169.254.169.254".parse().unwrap()));
        assert!(addresses.contains("fd00:ec2::254".parse().unwrap()));
        assert!(!addresses.contains("10.0.0.1".parse().unwrap()));
        assert!(!by_name);
        let slice = "metadata: {labels: {kubernetes.io/service-name: imds}}\naddressType: IPv4\nendpoints:\n- addresses: [169.254.169.254]\n";
        let ServiceObject::Endpoints {
            service, addresses, ..
        } = decoded(ServiceKind::EndpointSlice, slice)
        else {
            panic!()
        };
        assert_eq!(service.as_deref(), Some("imds"));
        assert!(addresses.contains("169.254.169.254".parse().unwrap()));
        let fqdn = "addressType: FQDN\nendpoints: [{addresses: [metadata.google.internal]}]\n";
        assert!(matches!(
            decoded(ServiceKind::EndpointSlice, fqdn),
            ServiceObject::Endpoints { by_name: true, .. }
        ));
    }
}
