//! `--format markdown`: a short summary for a CI job's page (GitHub's `$GITHUB_STEP_SUMMARY`,
//! a merge request comment): the namespaces by verdict, then the findings per rule. The
//! findings themselves are in the other formats; this one stays small at any scale.

use super::Summary;
use crate::Outcome;
use crate::lint::{RULES, Severity};
use crate::model::NamespaceKey;
use std::collections::BTreeMap;

/// How many namespaces a verdict's row names before "… and N more".
const NAMES_SHOWN: usize = 20;

pub fn render(outcome: &Outcome) -> String {
    let summary = Summary::of(outcome);
    let mut out = String::from("## imds-lint\n\n");
    out.push_str(&headline(&summary));
    out.push_str("\n\n");

    // Namespaces by verdict, in the order a reader acts on them.
    let mut reachable = Vec::new();
    let mut uncertain = Vec::new();
    let mut closed = Vec::new();
    for verdict in &outcome.analysis.namespaces {
        let key = NamespaceKey {
            cluster: verdict.cluster.clone(),
            name: verdict.name.clone(),
        };
        let name = namespace_name(verdict.cluster.as_deref(), &verdict.name);
        if !verdict.reachable.is_empty() {
            reachable.push(name);
        } else if outcome
            .model
            .namespaces
            .get(&key)
            .is_some_and(|n| !n.uncertain.is_empty())
        {
            uncertain.push(name);
        } else {
            closed.push(name);
        }
    }
    let ignored: Vec<String> = outcome
        .ignored_namespaces
        .iter()
        .map(|n| escape(n))
        .collect();
    out.push_str("| verdict | count | namespaces |\n| --- | ---: | --- |\n");
    for (verdict, names) in [
        ("can reach a metadata endpoint", &reachable),
        (
            "closed, uncertain: something that lands there is not applied",
            &uncertain,
        ),
        ("closed", &closed),
        ("ignored by the configuration", &ignored),
    ] {
        if !names.is_empty() {
            out.push_str(&format!(
                "| {verdict} | {} | {} |\n",
                names.len(),
                listed(names)
            ));
        }
    }
    if reachable.is_empty() && uncertain.is_empty() && closed.is_empty() && ignored.is_empty() {
        out.push_str("| no namespace | 0 | |\n");
    }

    // Findings per rule, in the rules' order.
    let mut per_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for finding in &outcome.findings {
        let counts = per_rule.entry(finding.rule).or_default();
        match finding.severity {
            Severity::Error => counts.0 += 1,
            Severity::Warning => counts.1 += 1,
        }
    }
    out.push('\n');
    if per_rule.is_empty() && outcome.errors.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| rule | errors | warnings |\n| --- | ---: | ---: |\n");
        for rule in RULES {
            if let Some((errors, warnings)) = per_rule.get(rule.id) {
                out.push_str(&format!(
                    "| {} {} | {errors} | {warnings} |\n",
                    rule.id, rule.name
                ));
            }
        }
        if !outcome.errors.is_empty() {
            out.push_str(&format!(
                "| input not read or parsed | {} | 0 |\n",
                outcome.errors.len()
            ));
        }
    }
    if summary.suppressed > 0 {
        out.push_str(&format!(
            "\n{} suppressed by `imds-lint.io/ignore` annotations.\n",
            count(summary.suppressed, "finding")
        ));
    }
    out
}

/// One sentence: how many namespaces can reach a target, and how many findings there are.
fn headline(s: &Summary) -> String {
    let clusters = if s.clusters > 0 {
        format!(" in {}", count(s.clusters, "cluster"))
    } else {
        String::new()
    };
    format!(
        "**{} of {}{clusters} can reach a metadata endpoint.** {}, {} in {}, {}.",
        s.namespaces_reachable,
        count(s.namespaces, "namespace"),
        count(s.errors, "error"),
        count(s.warnings, "warning"),
        count(s.files, "file"),
        count(s.policies, "policy").replace("policys", "policies"),
    )
}

fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// A namespace as the table names it: `payments`, or `payments` (`clusters/prod`).
fn namespace_name(cluster: Option<&str>, name: &str) -> String {
    match cluster {
        Some(cluster) => format!("{} ({})", escape(name), escape(cluster)),
        None => escape(name),
    }
}

/// The first [`NAMES_SHOWN`] names, then how many more.
fn listed(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(NAMES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_SHOWN {
        text.push_str(&format!(" … and {} more", names.len() - NAMES_SHOWN));
    }
    text
}

/// Text from the manifests, as it reads in a table cell: Markdown and HTML characters are
/// escaped, a line break is a space. Names come from untrusted input.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_break_the_table() {
        assert_eq!(escape("web"), "web");
        assert_eq!(escape("a|b\n<x>`"), "a\\|b &lt;x&gt;\\`");
        assert_eq!(
            namespace_name(Some("clusters/prod"), "web"),
            "web (clusters/prod)"
        );
    }

    #[test]
    fn long_lists_end_with_a_count() {
        let names: Vec<String> = (0..25).map(|i| format!("ns{i}")).collect();
        let text = listed(&names);
        assert!(text.starts_with("ns0, ns1, "), "{text}");
        assert!(text.ends_with("ns19 … and 5 more"), "{text}");
        assert_eq!(listed(&names[..2]), "ns0, ns1");
    }
}
