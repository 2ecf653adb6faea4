//! `imds-lint render`: the objects as imds-lint sees them, as multi-document YAML, each
//! headed by comments naming where it lands, where it comes from and what changed it.
//!
//! The writer is deterministic (keys in document order, one style), quotes every string YAML
//! would read as something else, and keeps its own stack: nesting never grows the call stack.

use crate::source::yaml::{Node, Scalar, Value};
use crate::{Rendered, RenderedDocument};

/// The rendered objects, each headed by its comments, `---` between them.
pub fn render(rendered: &Rendered) -> String {
    let mut out = String::new();
    for document in &rendered.documents {
        write_rendered(&mut out, document);
    }
    out
}

fn write_rendered(out: &mut String, document: &RenderedDocument) {
    out.push_str("---\n");
    let mut header = |key: &str, value: &str| {
        out.push_str("# ");
        out.push_str(key);
        out.push_str(": ");
        out.push_str(&comment_text(value));
        out.push('\n');
    };
    header("cluster", document.cluster.as_deref().unwrap_or("(none)"));
    header("source", &format!("{}:{}", document.file, document.line));
    header("build", document.build.as_deref().unwrap_or("(none)"));
    for step in &document.transformations {
        header("transformed", step);
    }
    for reason in &document.not_applied {
        header("not applied", reason);
    }
    write_node(out, &document.tree);
}

/// Text for a comment line: control characters (a line break in a file name) escaped, so a
/// comment never ends early and nothing after it is read as YAML.
fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// One step of the writer: text to append, or a node to write in block style.
enum Step<'a> {
    Text(String),
    /// A node at `indent`; `inline` when the cursor already stands at its column (after `- `
    /// or `? `), else at the start of a line.
    Block {
        node: &'a Node,
        indent: usize,
        inline: bool,
    },
    /// The value of a mapping entry, after its key and `:`; `compact` lets a list sit at the
    /// key's own indentation (`key:\n- a`), as kustomize prints it.
    Value {
        node: &'a Node,
        indent: usize,
        compact: bool,
    },
}

/// Writes `node` as one YAML document body (no `---`), ending with a line break.
pub fn write_node(out: &mut String, node: &Node) {
    let mut steps = vec![Step::Block {
        node,
        indent: 0,
        inline: true,
    }];
    while let Some(step) = steps.pop() {
        match step {
            Step::Text(text) => out.push_str(&text),
            Step::Value {
                node,
                indent,
                compact,
            } => match &node.value {
                Value::Map(entries) if !entries.is_empty() => {
                    out.push('\n');
                    steps.push(Step::Block {
                        node,
                        indent: indent + 2,
                        inline: false,
                    });
                }
                Value::Seq(items) if !items.is_empty() => {
                    out.push('\n');
                    steps.push(Step::Block {
                        node,
                        indent: if compact { indent } else { indent + 2 },
                        inline: false,
                    });
                }
                _ => {
                    out.push(' ');
                    out.push_str(&leaf(node));
                    out.push('\n');
                }
            },
            Step::Block {
                node,
                indent,
                inline,
            } => {
                let pad = " ".repeat(indent);
                match &node.value {
                    Value::Map(entries) if !entries.is_empty() => {
                        // Pushed in reverse: the stack pops the first entry first.
                        for (i, (key, value)) in entries.iter().enumerate().rev() {
                            let start = if i == 0 && inline { "" } else { &pad };
                            let value_step = |compact| Step::Value {
                                node: value,
                                indent,
                                compact,
                            };
                            match simple_key(key) {
                                Some(text) => {
                                    steps.push(value_step(true));
                                    steps.push(Step::Text(format!("{start}{text}:")));
                                }
                                None => {
                                    // `? key` on its own lines, then `:` and the value.
                                    steps.push(value_step(false));
                                    steps.push(Step::Text(format!("{pad}:")));
                                    steps.push(Step::Block {
                                        node: key,
                                        indent: indent + 2,
                                        inline: true,
                                    });
                                    steps.push(Step::Text(format!("{start}? ")));
                                }
                            }
                        }
                    }
                    Value::Seq(items) if !items.is_empty() => {
                        for (i, item) in items.iter().enumerate().rev() {
                            let start = if i == 0 && inline { "" } else { &pad };
                            steps.push(Step::Block {
                                node: item,
                                indent: indent + 2,
                                inline: true,
                            });
                            steps.push(Step::Text(format!("{start}- ")));
                        }
                    }
                    _ => {
                        if !inline {
                            out.push_str(&pad);
                        }
                        out.push_str(&leaf(node));
                        out.push('\n');
                    }
                }
            }
        }
    }
}

/// Longest key written as `key:`; a longer one goes on its own line after `? ` (YAML limits an
/// implicit key to 1024 characters).
const MAX_SIMPLE_KEY: usize = 1000;

/// A key written as `key:`: a scalar, short enough.
fn simple_key(key: &Node) -> Option<String> {
    match &key.value {
        Value::Scalar { .. } => Some(leaf(key)).filter(|t| t.chars().count() <= MAX_SIMPLE_KEY),
        _ => None,
    }
}

/// A scalar or an empty collection, on one line.
fn leaf(node: &Node) -> String {
    match &node.value {
        Value::Map(_) => "{}".into(),
        Value::Seq(_) => "[]".into(),
        Value::Scalar { text, .. } => match node.scalar() {
            Some(Scalar::Str(s)) => {
                if plain_is_safe(s) {
                    s.to_string()
                } else {
                    double_quoted(s)
                }
            }
            // Read unquoted, a null, boolean or number keeps its spelling: it means what
            // it meant (`yes` is still the boolean true, as Kubernetes reads it).
            Some(Scalar::Null) if text.is_empty() => "null".into(),
            _ => text.clone(),
        },
    }
}

/// Whether `s`, written without quotes, reads back as the same string in YAML 1.1 and 1.2
/// (kubectl's go-yaml, PyYAML, saphyr) wherever the writer puts it.
pub fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let last = s.chars().next_back().unwrap_or(first);
    let unquoted = Node {
        value: Value::Scalar {
            text: s.to_string(),
            quoted: false,
        },
        span: Default::default(),
    };
    let reads_as_string = matches!(unquoted.scalar(), Some(Scalar::Str(_)));
    reads_as_string
        && !"-?:,[]{}#&*!|>'\"%@`=<".contains(first)
        && !first.is_whitespace()
        && !last.is_whitespace()
        && last != ':'
        && !s.starts_with("---")
        && !s.starts_with("...")
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains([',', '[', ']', '{', '}'])
        && !s.chars().any(|c| c == '\t' || needs_escape(c))
        && !yaml11_non_string(s)
}

/// A string YAML 1.1 readers may take for a number, a time or a date (`1:20`, `2001-12-14`,
/// `1.2.3`): digits (after a sign or a dot) and nothing but number punctuation and letters.
fn yaml11_non_string(s: &str) -> bool {
    let body = s.trim_start_matches(['-', '+', '.']);
    body.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:+- ".contains(c))
}

/// Characters written as escapes: control characters, line and paragraph separators, the
/// byte order mark and the non-characters YAML does not allow.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
}

fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02X}", c as u32)),
        c => out.push_str(&format!("\\u{:04X}", c as u32)),
    }
}

/// `s` in double quotes, with `\` and `"` and every character [`needs_escape`] escaped.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if needs_escape(c) => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::yaml::{Span, parse_documents};
    use proptest::prelude::*;

    /// The tree as YAML reads it: structure, and each scalar's typed reading (strings by
    /// text, the rest by spelling), spans and quoting style aside.
    #[derive(Debug, PartialEq)]
    enum Shape {
        Str(String),
        Other(String),
        Null,
        Seq(Vec<Shape>),
        Map(Vec<(Shape, Shape)>),
    }

    /// Without recursion, so a deep tree cannot overflow the test's stack either: children
    /// are shaped first (post-order), then assembled.
    fn shape(node: &Node) -> Shape {
        enum Visit<'a> {
            Enter(&'a Node),
            Leave(&'a Node),
        }
        let mut visits = vec![Visit::Enter(node)];
        let mut done: Vec<Shape> = Vec::new();
        while let Some(visit) = visits.pop() {
            match visit {
                Visit::Enter(n) => {
                    visits.push(Visit::Leave(n));
                    match &n.value {
                        Value::Seq(items) => visits.extend(items.iter().rev().map(Visit::Enter)),
                        Value::Map(entries) => {
                            for (k, v) in entries.iter().rev() {
                                visits.push(Visit::Enter(v));
                                visits.push(Visit::Enter(k));
                            }
                        }
                        Value::Scalar { .. } => {}
                    }
                }
                Visit::Leave(n) => {
                    let made = match &n.value {
                        Value::Seq(items) => {
                            let items = done.split_off(done.len() - items.len());
                            Shape::Seq(items)
                        }
                        Value::Map(entries) => {
                            let mut flat = done.split_off(done.len() - 2 * entries.len());
                            let mut pairs = Vec::new();
                            while !flat.is_empty() {
                                let rest = flat.split_off(2);
                                let mut two = flat.into_iter();
                                pairs.push((two.next().unwrap(), two.next().unwrap()));
                                flat = rest;
                            }
                            Shape::Map(pairs)
                        }
                        Value::Scalar { text, .. } => match n.scalar() {
                            Some(Scalar::Str(s)) => Shape::Str(s.to_string()),
                            Some(Scalar::Null) => Shape::Null,
                            _ => Shape::Other(text.clone()),
                        },
                    };
                    done.push(made);
                }
            }
        }
        done.pop().unwrap()
    }

    fn written(node: &Node) -> String {
        let mut out = String::new();
        write_node(&mut out, node);
        out
    }

    /// Writes `node` as the value of a document's only key (a document that is only a null
    /// scalar reads back as no document) and parses it back.
    fn round_trip(node: &Node) {
        let node = &map(vec![(s("root"), node.clone())]);
        let text = written(node);
        let back = parse_documents(&text, 0).unwrap_or_else(|e| panic!("{e:?} in\n{text}"));
        assert_eq!(back.len(), 1, "{text}");
        assert_eq!(shape(&back[0]), shape(node), "written as\n{text}");
    }

    fn s(text: &str) -> Node {
        Node::string(text, Span::default())
    }

    fn plain(text: &str) -> Node {
        Node {
            value: Value::Scalar {
                text: text.into(),
                quoted: false,
            },
            span: Span::default(),
        }
    }

    fn map(entries: Vec<(Node, Node)>) -> Node {
        Node::mapping(entries, Span::default())
    }

    fn seq(items: Vec<Node>) -> Node {
        Node::sequence(items, Span::default())
    }

    #[test]
    fn writes_block_style_like_kustomize() {
        let tree = &parse_documents(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, labels: {}}\nspec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}\n    ports: [{port: 80}, {port: '80'}]\n  - [a, [b, c]]\n",
            0,
        )
        .unwrap()[0];
        assert_eq!(
            written(tree),
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: a\n  labels: {}\nspec:\n  podSelector: {}\n  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/0\n        except:\n        - 169.254.169.254/32\n    ports:\n    - port: 80\n    - port: \"80\"\n  - - a\n    - - b\n      - c\n"
        );
        round_trip(tree);
    }

    #[test]
    fn strings_yaml_would_read_otherwise_are_quoted() {
        for text in [
            "yes",
            "No",
            "on",
            "y",
            "~",
            "null",
            "",
            "0x1",
            "0o17",
            "017",
            "1e3",
            "1_000",
            ".inf",
            "-.5",
            "1:20",
            "2001-12-14",
            "1.2.3",
            "*a",
            "&a",
            "!tag",
            "|",
            ">",
            "%x",
            "@x",
            "`x",
            "- a",
            "-",
            "? a",
            "a: b",
            "a #b",
            "a:",
            " a",
            "a ",
            "---",
            "...",
            "<<",
            "=",
            "a\nb",
            "tab\there",
            "nul\0",
            "\u{85}",
            "\u{2028}",
            "\u{feff}x",
            "{a}",
            "[a]",
            "a,b",
            "'a'",
            "\"a\"",
            "#x",
        ] {
            let written = leaf(&s(text));
            assert!(written.starts_with('"'), "{text:?} written as {written}");
            round_trip(&map(vec![(s("k"), s(text))]));
            round_trip(&map(vec![(s(text), s("v"))]));
            round_trip(&seq(vec![s(text)]));
        }
        for text in [
            "a",
            "web",
            "10.0.0.0/8",
            "169.254.169.254/32",
            "app.kubernetes.io/name",
            "80/TCP",
            "v1",
            "a#b",
            "a:b",
            "héllo wörld",
        ] {
            assert_eq!(leaf(&s(text)), text);
        }
    }

    #[test]
    fn unquoted_non_strings_keep_their_spelling() {
        for text in ["yes", "true", "80", "0x1F", "1e3", "~", "null"] {
            assert_eq!(leaf(&plain(text)), text);
            round_trip(&map(vec![(s("k"), plain(text))]));
        }
        assert_eq!(leaf(&plain("")), "null");
    }

    #[test]
    fn complex_and_long_keys_use_question_marks() {
        let long = "k".repeat(2000);
        let tree = map(vec![
            (seq(vec![s("a"), s("b")]), s("v")),
            (map(vec![(s("x"), s("y"))]), seq(vec![s("z")])),
            (s(&long), map(vec![(s("x"), s("y"))])),
            (seq(vec![]), map(vec![])),
        ]);
        round_trip(&tree);
        round_trip(&seq(vec![tree]));
    }

    #[test]
    fn deep_trees_are_written_without_recursion() {
        let mut tree = s("bottom");
        for _ in 0..100_000 {
            tree = seq(vec![tree]);
        }
        for _ in 0..2_000 {
            tree = map(vec![(s("k"), tree)]);
        }
        let text = written(&tree);
        assert!(text.ends_with("- - bottom\n"));
        // Too deep for the parser's nesting limit to read back (shallower trees are checked
        // by the property test), and too deep to drop by recursion.
        std::mem::forget(tree);
    }

    #[test]
    fn comments_never_end_early() {
        assert_eq!(comment_text("a\nkind: Secret"), "a\\nkind: Secret");
    }

    /// Arbitrary trees: strings of any characters (quoted or plain), short nesting.
    fn tree() -> impl Strategy<Value = Node> {
        let text = prop_oneof![
            "\\PC{0,12}",
            "[ -~]{0,8}",
            "[\\x00-\\x20\\x7f\\u{85}\\u{2028}\\u{feff}a:#'\"\\\\-]{0,6}",
            prop::sample::select(vec![
                "yes", "~", "", "0x1", "1e3", "- x", ": ", " #", "<<", "*a", "1:2", "a\n b",
            ])
            .prop_map(str::to_string),
        ];
        let leaf = (text, any::<bool>()).prop_map(|(text, quoted)| {
            if quoted {
                s(&text)
            } else {
                // A plain scalar as a parser would have made it: only what reads back plain.
                let node = plain(&text);
                match node.scalar() {
                    Some(Scalar::Str(t)) if plain_is_safe(t) => node,
                    Some(Scalar::Str(_)) => s(&text),
                    _ => node,
                }
            }
        });
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(seq),
                prop::collection::vec((inner.clone(), inner), 0..5).prop_map(map),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Writing a tree and parsing it back gives the same tree, spans aside.
        #[test]
        fn written_trees_read_back_the_same(tree in tree()) {
            round_trip(&tree);
        }
    }
}
