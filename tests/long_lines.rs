//! The human report on a very long source line (minified JSON, a deep flow collection): the
//! snippet is a window around the column, never the whole line.

mod common;

use common::{root, run_in, run_piped};

/// A NetworkPolicy as one JSON line, `pad` characters of annotation before its `ipBlock` and
/// as many after it.
fn one_line_policy(pad: usize) -> String {
    let filler = "x".repeat(pad);
    format!(
        r#"{{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{{"name":"wide","namespace":"payments","annotations":{{"before":"{filler}"}}}},"spec":{{"podSelector":{{}},"policyTypes":["Egress"],"egress":[{{"to":[{{"ipBlock":{{"cidr":"0.0.0.0/0"}}}}]}}]}},"status":{{"after":"{filler}"}}}}"#
    )
}

#[test]
fn a_long_line_is_shown_as_a_window_around_the_column() {
    let text = one_line_policy(400_000);
    let r = run_piped(root(), &["--color", "never", "-"], text.as_bytes());
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The finding is there, with its place...
    assert!(
        r.stdout.contains("IMDS001"),
        "{}",
        &r.stdout[..2000.min(r.stdout.len())]
    );
    let json = common::json_in(root(), &["-"], Some(text.as_bytes()));
    let column = &common::findings(&json, "IMDS001", "payments")[0]["column"];
    assert!(
        r.stdout.contains(&format!("<stdin>:1:{column}")),
        "{}",
        &r.stdout[..2000.min(r.stdout.len())]
    );
    // ...the text at the column, cut on both sides with a marker that the line goes on...
    let snippet = r
        .stdout
        .lines()
        .find(|l| l.contains(r#""ipBlock":{"cidr":"0.0.0.0/0"}"#))
        .expect("the column's text is shown");
    assert!(snippet.contains("│ …"), "{snippet}");
    assert!(snippet.trim_end().ends_with('…'), "{snippet}");
    assert!(snippet.chars().count() < 200, "{snippet}");
    // ...and the report stays small.
    assert!(r.stdout.len() < 10_000, "{} bytes", r.stdout.len());
}

#[test]
fn the_underline_points_at_the_column_in_the_window() {
    let text = one_line_policy(5_000);
    let r = run_piped(root(), &["--color", "never", "-"], text.as_bytes());
    let lines: Vec<&str> = r.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(r#""ipBlock""#))
        .expect("the column's text is shown");
    let source = lines[at];
    let marker = lines[at + 1];
    let column = |s: &str, needle: &str| s[..s.find(needle).unwrap()].chars().count();
    assert_eq!(
        column(source, r#""ipBlock""#),
        column(marker, "┬").min(column(marker, "─")),
        "\n{source}\n{marker}"
    );
}

#[test]
fn short_lines_are_shown_whole() {
    let r = run_in(root(), &["--color", "never", "fixtures/demo"], None);
    let snippets: Vec<&str> = r.stdout.lines().filter(|l| l.contains(" │ ")).collect();
    assert!(!snippets.is_empty(), "{}", r.stdout);
    assert!(!snippets.iter().any(|l| l.contains('…')), "{}", r.stdout);
}

#[test]
fn a_long_line_in_an_input_error_is_a_window_too() {
    let r = run_in(
        root(),
        &["--color", "never", "fixtures/bad-input/deep.yaml"],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.contains("deep.yaml"), "{}", r.stdout);
    assert!(r.stdout.contains('…'), "{}", r.stdout);
    assert!(r.stdout.len() < 5_000, "{} bytes", r.stdout.len());
}
