//! `--format github`: GitHub Actions workflow commands, one line per finding or input error,
//! which the runner turns into annotations on the pull request's files.

use crate::Outcome;
use crate::lint::{RULES, Severity};

/// Escapes a command's message, as the Actions runner unescapes it.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`): as data, plus the `:` and `,` that end it.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `key=value` properties, the values escaped.
fn properties(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", escape_property(value)))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    for finding in &outcome.findings {
        let at = &finding.at;
        let file = outcome.model.files.get(at.file).map_or("", String::as_str);
        let name = RULES
            .iter()
            .find(|r| r.id == finding.rule)
            .map_or("", |r| r.name);
        let mut pairs = vec![
            ("file", file.to_string()),
            ("line", at.line.to_string()),
            ("endLine", at.end_line.to_string()),
        ];
        // The runner accepts columns only on an annotation within one line.
        if at.line == at.end_line {
            pairs.push(("col", at.column.to_string()));
            pairs.push(("endColumn", at.end_column.to_string()));
        }
        // The cluster in the title, so that prod's and staging's findings on a shared base
        // are told apart.
        let title = match &finding.cluster {
            Some(cluster) => format!("{} {name} (cluster {cluster})", finding.rule),
            None => format!("{} {name}", finding.rule),
        };
        pairs.push(("title", title));
        let message = match &finding.help {
            Some(help) => format!("{}\nhelp: {help}", finding.text()),
            None => finding.text(),
        };
        let command = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties(&pairs),
            escape_data(&message)
        ));
    }
    for error in &outcome.errors {
        let mut pairs = vec![("file", error.file.clone())];
        if let Some(pos) = error.pos {
            pairs.push(("line", pos.line.to_string()));
            pairs.push(("col", pos.column.to_string()));
        }
        pairs.push(("title", "imds-lint input error".to_string()));
        out.push_str(&format!(
            "::error {}::{}\n",
            properties(&pairs),
            escape_data(&error.message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_as_the_runner_unescapes() {
        assert_eq!(escape_data("50% of\r\nit: a, b"), "50%25 of%0D%0Ait: a, b");
        assert_eq!(
            escape_property("50% of\r\nit: a, b"),
            "50%25 of%0D%0Ait%3A a%2C b"
        );
        // `%` first, so an escape is never escaped twice.
        assert_eq!(escape_property("%3A:"), "%253A%3A");
    }
}
