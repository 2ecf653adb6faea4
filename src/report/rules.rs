//! `imds-lint rule --format json`: the rules as JSON, for other programs.

use crate::lint::Rule;

/// One rule: what `imds-lint rule --format json ID` prints, and each entry of the list.
#[derive(serde::Serialize)]
struct RuleJson<'a> {
    id: &'a str,
    name: &'a str,
    /// The default severity (the highest, for a rule whose findings differ in weight).
    severity: String,
    summary: &'a str,
    /// The rule's page (what, why, examples, fix) as Markdown.
    markdown: &'a str,
}

fn entry(rule: &Rule) -> RuleJson<'_> {
    RuleJson {
        id: rule.id,
        name: rule.name,
        severity: rule.severity.to_string(),
        summary: rule.summary,
        markdown: rule.doc,
    }
}

/// One rule as a JSON object, with a final newline.
pub fn render_one(rule: &Rule) -> String {
    let mut text = serde_json::to_string_pretty(&entry(rule)).expect("plain data serializes");
    text.push('\n');
    text
}

/// Every rule, as a JSON array of the objects [`render_one`] prints, with a final newline.
pub fn render_all(rules: &[&Rule]) -> String {
    let all: Vec<RuleJson> = rules.iter().map(|r| entry(r)).collect();
    let mut text = serde_json::to_string_pretty(&all).expect("plain data serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::RULES;

    #[test]
    fn every_rule_has_its_page() {
        let all: serde_json::Value = serde_json::from_str(&render_all(&RULES)).unwrap();
        assert_eq!(all.as_array().unwrap().len(), RULES.len());
        let one: serde_json::Value = serde_json::from_str(&render_one(RULES[0])).unwrap();
        assert_eq!(one["id"], "IMDS001");
        assert_eq!(one["severity"], "error");
        assert!(one["markdown"].as_str().unwrap().starts_with("# IMDS001"));
        assert_eq!(all[0], one);
    }
}
