//! IP and port arithmetic: sets of addresses and ports as sorted, disjoint, inclusive ranges.
//!
//! Everything the analysis knows about "where may this pod send traffic" is a value of these
//! types, so they are kept small, exact and exhaustively tested.

use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A set of integers as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RangeSet {
    ranges: Vec<(u128, u128)>,
}

impl RangeSet {
    pub fn empty() -> Self {
        Self::default()
    }

    /// The inclusive range `lo..=hi` (empty when `lo > hi`).
    pub fn range(lo: u128, hi: u128) -> Self {
        if lo > hi {
            return Self::empty();
        }
        Self {
            ranges: vec![(lo, hi)],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn ranges(&self) -> &[(u128, u128)] {
        &self.ranges
    }

    pub fn contains(&self, x: u128) -> bool {
        // Ranges are sorted: find the last one starting at or before x.
        let i = self.ranges.partition_point(|&(lo, _)| lo <= x);
        i > 0 && self.ranges[i - 1].1 >= x
    }

    pub fn union(&self, other: &Self) -> Self {
        let mut all: Vec<(u128, u128)> = self.ranges.iter().chain(&other.ranges).copied().collect();
        all.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(all.len());
        for (lo, hi) in all {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Self { ranges: merged }
    }

    pub fn difference(&self, other: &Self) -> Self {
        let mut out = Vec::new();
        for &(lo, hi) in &self.ranges {
            let mut cur = lo;
            let mut open = true;
            for &(olo, ohi) in &other.ranges {
                if ohi < cur || olo > hi {
                    continue;
                }
                if olo > cur {
                    out.push((cur, olo - 1));
                }
                if ohi >= hi {
                    open = false;
                    break;
                }
                cur = ohi + 1;
            }
            if open {
                out.push((cur, hi));
            }
        }
        Self { ranges: out }
    }
}

/// A set of IPv4 and IPv6 addresses. The two families never mix: an IPv4 block says
/// nothing about IPv6 addresses and vice versa.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpSet {
    pub v4: RangeSet,
    pub v6: RangeSet,
}

impl IpSet {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every address of both families.
    pub fn all() -> Self {
        Self {
            v4: RangeSet::range(0, u32::MAX as u128),
            v6: RangeSet::range(0, u128::MAX),
        }
    }

    pub fn from_net(net: &IpNet) -> Self {
        match net {
            IpNet::V4(n) => Self {
                v4: RangeSet::range(
                    u32::from(n.network()) as u128,
                    u32::from(n.broadcast()) as u128,
                ),
                v6: RangeSet::empty(),
            },
            IpNet::V6(n) => Self {
                v4: RangeSet::empty(),
                v6: RangeSet::range(u128::from(n.network()), u128::from(n.broadcast())),
            },
        }
    }

    /// `cidr` minus every block in `except`, as an ipBlock peer allows.
    pub fn from_block(cidr: &IpNet, except: &[IpNet]) -> Self {
        except.iter().fold(Self::from_net(cidr), |set, e| {
            set.difference(&Self::from_net(e))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4.contains(u32::from(a) as u128),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }

    pub fn union(&self, other: &Self) -> Self {
        Self {
            v4: self.v4.union(&other.v4),
            v6: self.v6.union(&other.v6),
        }
    }

    pub fn difference(&self, other: &Self) -> Self {
        Self {
            v4: self.v4.difference(&other.v4),
            v6: self.v6.difference(&other.v6),
        }
    }
}

/// The last address of the block of 2^`size_log` addresses starting at the aligned `lo`.
fn block_end(lo: u128, size_log: u32) -> u128 {
    if size_log >= 128 {
        u128::MAX
    } else {
        lo + ((1u128 << size_log) - 1)
    }
}

/// The fewest CIDR blocks covering exactly `lo..=hi` in a family of `bits`-bit addresses, as
/// (network, prefix length).
fn range_to_blocks(mut lo: u128, hi: u128, bits: u32) -> Vec<(u128, u32)> {
    let mut blocks = Vec::new();
    loop {
        // The largest aligned block starting at `lo` that does not pass `hi`.
        let mut size_log = lo.trailing_zeros().min(bits);
        while size_log > 0 && block_end(lo, size_log) > hi {
            size_log -= 1;
        }
        blocks.push((lo, bits - size_log));
        let end = block_end(lo, size_log);
        if end >= hi {
            return blocks;
        }
        lo = end + 1;
    }
}

fn block_to_net(network: u128, prefix: u32, bits: u32) -> Option<IpNet> {
    let prefix = u8::try_from(prefix).ok()?;
    if bits == 32 {
        let addr = Ipv4Addr::from(u32::try_from(network).ok()?);
        ipnet::Ipv4Net::new(addr, prefix).ok().map(IpNet::V4)
    } else {
        ipnet::Ipv6Net::new(Ipv6Addr::from(network), prefix)
            .ok()
            .map(IpNet::V6)
    }
}

impl IpSet {
    /// The set as the fewest CIDR blocks, IPv4 first.
    pub fn cidrs(&self) -> Vec<IpNet> {
        [(&self.v4, 32), (&self.v6, 128)]
            .into_iter()
            .flat_map(|(family, bits)| {
                family
                    .ranges()
                    .iter()
                    .flat_map(move |&(lo, hi)| range_to_blocks(lo, hi, bits))
                    .filter_map(move |(network, prefix)| block_to_net(network, prefix, bits))
            })
            .collect()
    }

    /// A short form for people, per family: the CIDRs when few, else the smallest block that
    /// holds the set with its holes carved out (`0.0.0.0/0 except 169.254.169.254/32`).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (family, bits) in [(&self.v4, 32), (&self.v6, 128)] {
            let (Some(first), Some(last)) = (family.ranges().first(), family.ranges().last())
            else {
                continue;
            };
            let only = |ranges: RangeSet| match bits {
                32 => IpSet {
                    v4: ranges,
                    v6: RangeSet::empty(),
                },
                _ => IpSet {
                    v4: RangeSet::empty(),
                    v6: ranges,
                },
            };
            let blocks = only(family.clone()).cidrs();
            if blocks.len() <= 3 {
                let blocks: Vec<String> = blocks.iter().map(ToString::to_string).collect();
                parts.push(blocks.join(", "));
                continue;
            }
            // The smallest block holding the set: the common prefix of its first and last.
            let common = ((first.0 ^ last.1).leading_zeros() - (128 - bits)).min(bits);
            let host_bits = bits - common;
            let network = if host_bits >= 128 {
                0
            } else {
                first.0 >> host_bits << host_bits
            };
            let hull = RangeSet::range(network, block_end(network, host_bits));
            let holes = only(hull.difference(family)).cidrs();
            match block_to_net(network, common, bits) {
                Some(hull) if holes.len() <= 4 => {
                    let holes: Vec<String> = holes.iter().map(ToString::to_string).collect();
                    parts.push(format!("{hull} except {}", holes.join(", ")));
                }
                _ => {
                    let shown: Vec<String> =
                        blocks.iter().take(3).map(ToString::to_string).collect();
                    parts.push(format!(
                        "{}, … ({} blocks in all)",
                        shown.join(", "),
                        blocks.len()
                    ));
                }
            }
        }
        if parts.is_empty() {
            "no address".into()
        } else {
            parts.join("; ")
        }
    }
}

/// The transport protocols NetworkPolicy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    /// Parses the exact spelling the API server accepts (it is case-sensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// Ports per protocol.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortSet {
    tcp: RangeSet,
    udp: RangeSet,
    sctp: RangeSet,
}

impl PortSet {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every port of every protocol (a rule without `ports`).
    pub fn all() -> Self {
        let every = RangeSet::range(0, u16::MAX as u128);
        Self {
            tcp: every.clone(),
            udp: every.clone(),
            sctp: every,
        }
    }

    /// Ports `lo..=hi` of one protocol.
    pub fn range(protocol: Protocol, lo: u16, hi: u16) -> Self {
        let mut set = Self::empty();
        *set.of_mut(protocol) = RangeSet::range(lo as u128, hi as u128);
        set
    }

    pub fn of(&self, protocol: Protocol) -> &RangeSet {
        match protocol {
            Protocol::Tcp => &self.tcp,
            Protocol::Udp => &self.udp,
            Protocol::Sctp => &self.sctp,
        }
    }

    fn of_mut(&mut self, protocol: Protocol) -> &mut RangeSet {
        match protocol {
            Protocol::Tcp => &mut self.tcp,
            Protocol::Udp => &mut self.udp,
            Protocol::Sctp => &mut self.sctp,
        }
    }

    pub fn contains(&self, protocol: Protocol, port: u16) -> bool {
        self.of(protocol).contains(port as u128)
    }

    pub fn union(&self, other: &Self) -> Self {
        Self {
            tcp: self.tcp.union(&other.tcp),
            udp: self.udp.union(&other.udp),
            sctp: self.sctp.union(&other.sctp),
        }
    }

    /// The ports in `self` and not in `other` (Calico `notPorts`, `notProtocol`).
    pub fn difference(&self, other: &Self) -> Self {
        Self {
            tcp: self.tcp.difference(&other.tcp),
            udp: self.udp.difference(&other.udp),
            sctp: self.sctp.difference(&other.sctp),
        }
    }

    pub fn is_empty(&self) -> bool {
        Protocol::ALL.iter().all(|&p| self.of(p).is_empty())
    }

    /// For people: `any port`, or per protocol `TCP 80, 443-445; UDP 53` (`all TCP` when every
    /// port of that protocol).
    pub fn describe(&self) -> String {
        if *self == Self::all() {
            return "any port".into();
        }
        let every = RangeSet::range(0, u16::MAX as u128);
        let parts: Vec<String> = Protocol::ALL
            .iter()
            .filter(|&&p| !self.of(p).is_empty())
            .map(|&p| {
                let ports = self.of(p);
                if *ports == every {
                    return format!("all {}", p.as_str());
                }
                let ranges: Vec<String> = ports
                    .ranges()
                    .iter()
                    .map(|&(lo, hi)| {
                        if lo == hi {
                            lo.to_string()
                        } else {
                            format!("{lo}-{hi}")
                        }
                    })
                    .collect();
                format!("{} {}", p.as_str(), ranges.join(", "))
            })
            .collect();
        if parts.is_empty() {
            "no port".into()
        } else {
            parts.join("; ")
        }
    }
}

/// A metadata endpoint: an address, a port and a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub addr: IpAddr,
    pub port: u16,
    pub protocol: Protocol,
}

/// A named set of well-known metadata endpoints, selectable with `--preset`.
pub struct Preset {
    pub name: &'static str,
    pub description: &'static str,
    /// Addresses, each served on TCP port 80.
    pub addresses: &'static [&'static str],
}

pub const PRESETS: &[Preset] = &[
    Preset {
        name: "aws",
        description: "EC2 instance metadata (IMDS) over IPv4 and IPv6",
        addresses: &["169.254.169.254", "fd00:ec2::254"],
    },
    Preset {
        name: "eks-pod-identity",
        description: "EKS Pod Identity agent",
        addresses: &["169.254.170.23", "fd00:ec2::23"],
    },
    Preset {
        name: "ecs",
        description: "ECS task metadata and credentials endpoint",
        addresses: &["169.254.170.2"],
    },
    Preset {
        name: "gcp",
        description: "GCE metadata server (metadata.google.internal)",
        addresses: &["169.254.169.254"],
    },
    Preset {
        name: "azure",
        description: "Azure Instance Metadata Service",
        addresses: &["169.254.169.254"],
    },
    Preset {
        name: "oci",
        description: "OCI instance metadata service",
        addresses: &["169.254.169.254"],
    },
    Preset {
        name: "alibaba",
        description: "Alibaba Cloud ECS metadata service",
        addresses: &["100.100.100.200"],
    },
];

/// The preset the tool checks when no target is given.
pub const DEFAULT_PRESET: &str = "aws";

/// Looks a preset up by name; `all` is every preset together.
pub fn preset_targets(name: &str) -> Option<Vec<Target>> {
    let chosen: Vec<&Preset> = if name == "all" {
        PRESETS.iter().collect()
    } else {
        vec![PRESETS.iter().find(|p| p.name == name)?]
    };
    let mut targets: Vec<Target> = chosen
        .iter()
        .flat_map(|p| p.addresses.iter())
        .filter_map(|a| a.parse().ok())
        .map(|addr| Target {
            addr,
            port: 80,
            protocol: Protocol::Tcp,
        })
        .collect();
    targets.sort();
    targets.dedup();
    Some(targets)
}

/// Why a target (`ADDR[:PORT][/PROTO]`) did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("unknown protocol {protocol:?} in target {target:?} (TCP, UDP or SCTP)")]
    UnknownProtocol { target: String, protocol: String },
    #[error("unclosed `[` in target {target:?}")]
    UnclosedBracket { target: String },
    #[error("expected `:PORT` after `]` in target {target:?}")]
    NoPortAfterBracket { target: String },
    #[error("{addr:?} is not an IP address (target {target:?})")]
    NotAnAddress { target: String, addr: String },
    #[error("port {port:?} in target {target:?} is not in 1..65535")]
    PortOutOfRange { target: String, port: String },
}

impl Target {
    /// The endpoints checked by default: IMDS over IPv4 (every major cloud) and IPv6 (AWS).
    pub fn defaults() -> Vec<Target> {
        preset_targets(DEFAULT_PRESET).unwrap_or_default()
    }

    /// Parses `ADDR[:PORT][/PROTO]`: `169.254.170.2`, `169.254.170.2:8080/TCP`,
    /// `[fd00:ec2::23]:80`, `fd00:ec2::23` or `100.100.100.200/udp`. The port defaults to 80 and
    /// the protocol to TCP, as metadata services serve HTTP.
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let target = || text.to_string();
        let not_an_address = |addr: &str| TargetError::NotAnAddress {
            target: target(),
            addr: addr.to_string(),
        };
        let (rest, protocol) = match text.rsplit_once('/') {
            Some((rest, proto)) => {
                let protocol = Protocol::parse(&proto.to_ascii_uppercase()).ok_or_else(|| {
                    TargetError::UnknownProtocol {
                        target: target(),
                        protocol: proto.to_string(),
                    }
                })?;
                (rest, protocol)
            }
            None => (text, Protocol::Tcp),
        };
        let (addr, port) = if let Ok(addr) = rest.parse::<IpAddr>() {
            (addr, None)
        } else if let Some(bracketed) = rest.strip_prefix('[') {
            let (addr, after) = bracketed
                .split_once(']')
                .ok_or_else(|| TargetError::UnclosedBracket { target: target() })?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| TargetError::NoPortAfterBracket { target: target() })?,
                ),
            };
            (
                addr.parse::<IpAddr>().map_err(|_| not_an_address(addr))?,
                port,
            )
        } else {
            let (addr, port) = rest.rsplit_once(':').ok_or_else(|| not_an_address(rest))?;
            let addr = addr.parse::<Ipv4Addr>().map_err(|_| not_an_address(addr))?;
            (IpAddr::V4(addr), Some(port))
        };
        let port = match port {
            None => 80,
            Some(p) => p.parse::<u16>().ok().filter(|&p| p >= 1).ok_or_else(|| {
                TargetError::PortOutOfRange {
                    target: target(),
                    port: p.to_string(),
                }
            })?,
        };
        Ok(Target {
            addr,
            port,
            protocol,
        })
    }

    /// The well-known endpoint this target is, for messages (`None` for a user's own).
    /// Names that resolve to the target's address, for policies that allow by DNS name.
    pub fn hostnames(&self) -> &'static [&'static str] {
        const METADATA_V4: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 169, 254));
        if self.addr == METADATA_V4 {
            &["metadata.google.internal", "metadata"]
        } else {
            &[]
        }
    }

    pub fn known_as(&self) -> Option<String> {
        let names: Vec<&str> = PRESETS
            .iter()
            .filter(|p| p.addresses.iter().any(|a| a.parse() == Ok(self.addr)))
            .map(|p| p.name)
            .collect();
        (!names.is_empty() && self.port == 80 && self.protocol == Protocol::Tcp)
            .then(|| names.join(", "))
    }
}

impl Target {
    /// The target's address as a one-address CIDR, as an `except` entry takes it.
    pub fn host_cidr(&self) -> IpNet {
        IpNet::from(self.addr)
    }
}

/// Targets for messages: `169.254.169.254:80/TCP, [fd00:ec2::254]:80/TCP`.
pub fn list_targets(targets: &[Target]) -> String {
    targets
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}/{}", self.port, self.protocol.as_str()),
            IpAddr::V6(a) => write!(f, "[{a}]:{}/{}", self.port, self.protocol.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn block_minus_except_excludes_exactly_the_except() {
        let set = IpSet::from_block(&net("0.0.0.0/0"), &[net("169.254.169.254/32")]);
        assert!(!set.contains(ip("169.254.169.254")));
        assert!(set.contains(ip("169.254.169.253")));
        assert!(set.contains(ip("169.254.169.255")));
        assert!(set.contains(ip("0.0.0.0")));
        assert!(set.contains(ip("255.255.255.255")));
        assert_eq!(set.v4.ranges().len(), 2);
    }

    #[test]
    fn ipv4_block_never_matches_ipv6_and_back() {
        let v4 = IpSet::from_net(&net("0.0.0.0/0"));
        assert!(!v4.contains(ip("fd00:ec2::254")));
        assert!(!v4.contains(ip("::ffff:169.254.169.254")));
        let v6 = IpSet::from_net(&net("::/0"));
        assert!(!v6.contains(ip("169.254.169.254")));
        assert!(v6.contains(ip("fd00:ec2::254")));
    }

    #[test]
    fn host_bits_in_cidr_cover_the_whole_network() {
        // ipnet keeps host bits; the set covers the network the prefix names.
        let set = IpSet::from_net(&net("169.254.169.1/16"));
        assert!(set.contains(ip("169.254.0.0")));
        assert!(set.contains(ip("169.254.255.255")));
    }

    #[test]
    fn edges_of_the_address_space() {
        let all = IpSet::all();
        assert!(all.contains(ip("0.0.0.0")) && all.contains(ip("255.255.255.255")));
        assert!(
            all.contains(ip("::")) && all.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))
        );
        let none = all.difference(&IpSet::all());
        assert!(none.is_empty());
        let top = IpSet::from_net(&net("255.255.255.255/32"));
        assert!(top.contains(ip("255.255.255.255")));
        let v6top = IpSet::from_net(&net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"));
        assert_eq!(v6top.v6.ranges(), &[(u128::MAX, u128::MAX)]);
    }

    #[test]
    fn union_merges_adjacent_ranges() {
        let a = RangeSet::range(0, 9).union(&RangeSet::range(10, 20));
        assert_eq!(a.ranges(), &[(0, 20)]);
        let b = RangeSet::range(0, 9).union(&RangeSet::range(11, 20));
        assert_eq!(b.ranges(), &[(0, 9), (11, 20)]);
    }

    #[test]
    fn port_difference_is_per_protocol() {
        let web =
            PortSet::range(Protocol::Tcp, 1, 1024).union(&PortSet::range(Protocol::Udp, 53, 53));
        let carved = web.difference(&PortSet::range(Protocol::Tcp, 80, 80));
        assert!(!carved.contains(Protocol::Tcp, 80));
        assert!(carved.contains(Protocol::Tcp, 79) && carved.contains(Protocol::Tcp, 81));
        assert!(
            carved.contains(Protocol::Udp, 53),
            "other protocols are untouched"
        );
        let no_tcp = PortSet::all().difference(&PortSet::range(Protocol::Tcp, 0, u16::MAX));
        assert!(!no_tcp.contains(Protocol::Tcp, 443));
        assert!(no_tcp.contains(Protocol::Udp, 443) && no_tcp.contains(Protocol::Sctp, 0));
        assert!(web.difference(&PortSet::all()).is_empty());
        assert_eq!(web.difference(&PortSet::empty()), web);
    }

    #[test]
    fn ports_are_per_protocol() {
        let tcp80 = PortSet::range(Protocol::Tcp, 80, 80);
        assert!(tcp80.contains(Protocol::Tcp, 80));
        assert!(!tcp80.contains(Protocol::Udp, 80));
        assert!(!tcp80.contains(Protocol::Tcp, 81));
        let range = PortSet::range(Protocol::Tcp, 1, 1024);
        assert!(range.contains(Protocol::Tcp, 80) && range.contains(Protocol::Tcp, 1024));
        assert!(!range.contains(Protocol::Tcp, 1025));
        assert!(PortSet::all().contains(Protocol::Sctp, 65535));
        assert!(PortSet::empty().is_empty());
        assert!(
            !tcp80
                .union(&PortSet::range(Protocol::Udp, 53, 53))
                .contains(Protocol::Udp, 80)
        );
    }

    #[test]
    fn protocol_names_are_case_sensitive() {
        assert_eq!(Protocol::parse("TCP"), Some(Protocol::Tcp));
        assert_eq!(Protocol::parse("tcp"), None);
        assert_eq!(Protocol::parse("ICMP"), None);
    }

    #[test]
    fn targets_parse_with_default_port_and_protocol() {
        let t = |s: &str| Target::parse(s).map(|t| t.to_string());
        assert_eq!(t("169.254.170.2").as_deref(), Ok("169.254.170.2:80/TCP"));
        assert_eq!(
            t("169.254.170.2:8080").as_deref(),
            Ok("169.254.170.2:8080/TCP")
        );
        assert_eq!(
            t("100.100.100.200/udp").as_deref(),
            Ok("100.100.100.200:80/UDP")
        );
        assert_eq!(t("10.0.0.1:53/UDP").as_deref(), Ok("10.0.0.1:53/UDP"));
        assert_eq!(t("fd00:ec2::23").as_deref(), Ok("[fd00:ec2::23]:80/TCP"));
        assert_eq!(
            t("[fd00:ec2::23]:81/SCTP").as_deref(),
            Ok("[fd00:ec2::23]:81/SCTP")
        );
        for bad in [
            "",
            "metadata",
            "1.2.3.4:0",
            "1.2.3.4:70000",
            "1.2.3.4/ICMP",
            "[::1",
            "[::1]80",
            "1.2.3:80",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn presets_name_the_known_endpoints() {
        assert_eq!(Target::defaults(), preset_targets("aws").unwrap());
        let all = preset_targets("all").unwrap();
        assert_eq!(all.len(), 6, "shared 169.254.169.254 counted once: {all:?}");
        assert!(preset_targets("nope").is_none());
        let ecs = Target::parse("169.254.170.2").unwrap();
        assert_eq!(ecs.known_as().as_deref(), Some("ecs"));
        assert_eq!(
            Target::defaults()[0].known_as().as_deref(),
            Some("aws, gcp, azure, oci")
        );
        assert_eq!(Target::parse("169.254.170.2:81").unwrap().known_as(), None);
    }

    #[test]
    fn sets_describe_themselves_compactly() {
        let block = |cidr: &str, except: &[&str]| {
            IpSet::from_block(
                &net(cidr),
                &except.iter().map(|e| net(e)).collect::<Vec<_>>(),
            )
        };
        assert_eq!(IpSet::all().describe(), "0.0.0.0/0; ::/0");
        assert_eq!(
            block("0.0.0.0/0", &["169.254.169.254/32"]).describe(),
            "0.0.0.0/0 except 169.254.169.254/32"
        );
        assert_eq!(
            block("10.0.0.0/8", &["10.0.0.0/9"]).describe(),
            "10.128.0.0/9"
        );
        assert_eq!(
            block("10.0.0.0/30", &[])
                .union(&block("10.0.0.8/32", &[]))
                .describe(),
            "10.0.0.0/30, 10.0.0.8/32"
        );
        assert_eq!(
            block("::/0", &["fd00:ec2::254/128"]).describe(),
            "::/0 except fd00:ec2::254/128"
        );
        assert_eq!(IpSet::empty().describe(), "no address");
        assert_eq!(
            block("0.0.0.0/0", &["169.254.169.254/32"]).cidrs().len(),
            32,
            "a /0 minus one address is 32 blocks"
        );
        assert_eq!(PortSet::all().describe(), "any port");
        assert_eq!(
            PortSet::range(Protocol::Tcp, 80, 80)
                .union(&PortSet::range(Protocol::Tcp, 443, 445))
                .union(&PortSet::range(Protocol::Udp, 53, 53))
                .describe(),
            "TCP 80, 443-445; UDP 53"
        );
        assert_eq!(
            PortSet::range(Protocol::Sctp, 0, 65535).describe(),
            "all SCTP"
        );
    }

    proptest! {
        /// The CIDR blocks of a set cover exactly the set (brute force over a small space).
        #[test]
        fn cidrs_cover_exactly_the_set(
            ranges in proptest::collection::vec((0u8..=255, 0u8..=255), 0..4),
        ) {
            let set = ranges.iter().fold(IpSet::empty(), |s, &(a, b)| {
                s.union(&IpSet { v4: RangeSet::range(a.min(b) as u128, a.max(b) as u128), v6: RangeSet::empty() })
            });
            let blocks = set.cidrs();
            for a in 0..=255u8 {
                let addr = IpAddr::V4(Ipv4Addr::new(0, 0, 0, a));
                prop_assert_eq!(blocks.iter().any(|b| b.contains(&addr)), set.contains(addr));
            }
            // The fewest blocks: no two neighbours are the halves of one block.
            for pair in blocks.windows(2) {
                prop_assert!(pair[0].prefix_len() != pair[1].prefix_len() || pair[0].supernet() != pair[1].supernet());
            }
        }
    }

    #[test]
    fn targets_display_with_port_and_protocol() {
        let t = Target::defaults();
        assert_eq!(t[0].to_string(), "169.254.169.254:80/TCP");
        assert_eq!(t[1].to_string(), "[fd00:ec2::254]:80/TCP");
        assert_eq!(t[0].host_cidr().to_string(), "169.254.169.254/32");
        assert_eq!(t[1].host_cidr().to_string(), "fd00:ec2::254/128");
    }

    /// A brute-force model: the set of addresses in an 8-bit space (x.y.z.0/24 networks).
    fn brute(cidr: (u8, u8), excepts: &[(u8, u8)]) -> Vec<bool> {
        let inside = |addr: u8, (base, len): (u8, u8)| {
            let mask = if len == 0 { 0u8 } else { u8::MAX << (8 - len) };
            addr & mask == base & mask
        };
        (0..=255u8)
            .map(|a| inside(a, cidr) && !excepts.iter().any(|&e| inside(a, e)))
            .collect()
    }

    fn small_net((base, len): (u8, u8)) -> IpNet {
        format!("10.0.0.{base}/{}", 24 + len).parse().unwrap()
    }

    proptest! {
        #[test]
        fn block_arithmetic_matches_brute_force(
            cidr in (any::<u8>(), 0u8..=8),
            excepts in proptest::collection::vec((any::<u8>(), 0u8..=8), 0..5),
        ) {
            let set = IpSet::from_block(
                &small_net(cidr),
                &excepts.iter().map(|&e| small_net(e)).collect::<Vec<_>>(),
            );
            let want = brute(cidr, &excepts);
            for a in 0..=255u8 {
                let addr: IpAddr = format!("10.0.0.{a}").parse().unwrap();
                prop_assert_eq!(set.contains(addr), want[a as usize], "address {}", a);
            }
            // Normal form: sorted, disjoint, never adjacent.
            for w in set.v4.ranges().windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
        }

        #[test]
        fn union_and_difference_match_brute_force(
            a in proptest::collection::vec((0u128..64, 0u128..64), 0..6),
            b in proptest::collection::vec((0u128..64, 0u128..64), 0..6),
        ) {
            let build = |v: &Vec<(u128, u128)>| v.iter().fold(RangeSet::empty(), |s, &(x, y)| s.union(&RangeSet::range(x.min(y), x.max(y))));
            let (sa, sb) = (build(&a), build(&b));
            let member = |v: &Vec<(u128, u128)>, x: u128| v.iter().any(|&(p, q)| p.min(q) <= x && x <= p.max(q));
            let (u, d) = (sa.union(&sb), sa.difference(&sb));
            for x in 0..70u128 {
                prop_assert_eq!(sa.contains(x), member(&a, x));
                prop_assert_eq!(u.contains(x), member(&a, x) || member(&b, x));
                prop_assert_eq!(d.contains(x), member(&a, x) && !member(&b, x));
            }
        }
    }
}
