//! A mutation fuzzer on the stable toolchain: real manifests of every engine, mutated the ways
//! a hostile or sloppy pull request would (byte flips, truncation, indentation, duplicate
//! keys, type swaps, anchors and aliases, merge keys, tags, NUL, BOM, CRLF and lone CR, deep
//! nesting), run through the binary from load to report.
//!
//! Every run must exit 0, 1 or 2 without a panic; `--format json` must print valid JSON;
//! `render` YAML that reads back; and no document that the mutation left untouched may lose an
//! object. `IMDS_FUZZ_CASES` sets
//! the number of cases (default 150; `.ci/run` runs many more).

mod common;

use common::run_piped;
use imds_lint::source::yaml::{self, Node};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, Mutex};

/// Real manifests, every engine and workloads among them.
const SEEDS: &[&str] = &[
    include_str!("../fixtures/demo/clusters/prod/web/netpol-egress-baseline.yaml"),
    include_str!("../fixtures/demo/clusters/prod/web/netpol-frontend-egress.yaml"),
    include_str!("../fixtures/demo/clusters/prod/web/deployment-frontend.yaml"),
    include_str!("../fixtures/demo/clusters/prod/web/namespace.yaml"),
    include_str!("../fixtures/engines/calico/global-policies.yaml"),
    include_str!("../fixtures/engines/cilium/clusterwide-block-imds.yaml"),
    include_str!("../fixtures/engines/cilium/apps.yaml"),
    include_str!("../fixtures/engines/admin/cluster-policies.yaml"),
];

/// Every document of the seeds, on its own.
static DOCUMENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    SEEDS
        .iter()
        .flat_map(|seed| seed.split("\n---\n"))
        .map(|doc| doc.trim_start_matches("---\n").trim_end().to_string() + "\n")
        .filter(|doc| doc.contains("kind:"))
        .collect()
});

/// An object as the JSON report lists it: (list, kind, namespace, name).
type Identity = (String, String, String, String);

fn identities(report: &Value) -> BTreeSet<Identity> {
    let mut out = BTreeSet::new();
    for list in ["policies", "workloads"] {
        for o in report[list].as_array().into_iter().flatten() {
            let text = |key: &str| o[key].as_str().unwrap_or_default().to_string();
            out.insert((
                list.to_string(),
                text("kind"),
                text("namespace"),
                text("name"),
            ));
        }
    }
    for ns in report["namespaces"].as_array().into_iter().flatten() {
        let name = ns["name"].as_str().unwrap_or_default().to_string();
        out.insert(("namespaces".into(), String::new(), String::new(), name));
    }
    out
}

/// The check below means something only if the seed documents show in the report on their
/// own (all but network sets, which the report does not list).
#[test]
fn seed_documents_are_reported_on_their_own() {
    let silent: Vec<&String> = DOCUMENTS
        .iter()
        .filter(|d| objects_of(d).is_empty())
        .collect();
    assert!(DOCUMENTS.len() >= 12, "{}", DOCUMENTS.len());
    assert!(
        silent
            .iter()
            .all(|d| d.contains("kind: GlobalNetworkSet") || d.contains("kind: NetworkSet")),
        "{silent:?}"
    );
}

/// An object's kind and name, as written.
fn kind_and_name(object: &Node) -> Option<(String, String)> {
    let kind = object.get("kind")?.as_str()?;
    let name = object.get("metadata")?.get("name")?.as_str()?;
    Some((kind.to_string(), name.to_string()))
}

/// The objects imds-lint reports for one document linted on its own, remembered.
fn objects_of(document: &str) -> BTreeSet<Identity> {
    static SEEN: LazyLock<Mutex<BTreeMap<String, BTreeSet<Identity>>>> =
        LazyLock::new(Default::default);
    if let Some(known) = SEEN.lock().unwrap().get(document) {
        return known.clone();
    }
    let run = run_piped(
        common::root(),
        &["--format", "json", "-"],
        document.as_bytes(),
    );
    let found = identities(&serde_json::from_str(&run.stdout).expect("JSON"));
    SEEN.lock()
        .unwrap()
        .insert(document.to_string(), found.clone());
    found
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(usize, u8),
    Truncate(usize),
    Indent(usize, bool),
    DuplicateLine(usize),
    SwapValue(usize, &'static str),
    Anchor(usize, usize),
    MergeKey(usize, &'static str),
    Tag(usize, &'static str),
    Insert(usize, &'static str),
    LineBreaks(&'static str),
    DeepNesting(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0usize..4000;
    prop_oneof![
        (at.clone(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        at.clone().prop_map(Mutation::Truncate),
        (at.clone(), any::<bool>()).prop_map(|(i, more)| Mutation::Indent(i, more)),
        at.clone().prop_map(Mutation::DuplicateLine),
        (
            at.clone(),
            prop::sample::select(vec![
                "[]",
                "{}",
                "80",
                "\"80\"",
                "yes",
                "~",
                "1.5",
                "[a, {b: c}]",
                "|\n  x",
                "-1",
                "0x1F",
                "''"
            ])
        )
            .prop_map(|(i, v)| Mutation::SwapValue(i, v)),
        (at.clone(), at.clone()).prop_map(|(a, b)| Mutation::Anchor(a, b)),
        (
            at.clone(),
            prop::sample::select(vec!["<<: *a", "<<: [*a, *b]", "<<: {app: x}", "<<: 1"])
        )
            .prop_map(|(i, v)| Mutation::MergeKey(i, v)),
        (
            at.clone(),
            prop::sample::select(vec![
                "!!str ",
                "!!int ",
                "!custom ",
                "!!binary ",
                "!<tag:x> "
            ])
        )
            .prop_map(|(i, t)| Mutation::Tag(i, t)),
        (
            at.clone(),
            prop::sample::select(vec![
                "\0",
                "\u{feff}",
                "\r",
                "\t",
                "...\n",
                "---\n",
                "%YAML 1.2\n",
                "\u{e9}",
                "\"",
                "'",
                "#",
                "&",
                "*",
                "? ",
                ": ",
                "- "
            ])
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        prop::sample::select(vec!["\r\n", "\r"]).prop_map(Mutation::LineBreaks),
        (at.clone(), 1usize..400).prop_map(|(i, d)| Mutation::DeepNesting(i, d)),
    ]
}

/// The byte offset `at` (wrapped into `text`) moved back to a character boundary.
fn offset(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The start of the line holding offset `at`, and the line.
fn line_at(text: &str, at: usize) -> (usize, &str) {
    let at = offset(text, at);
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    (start, &text[start..end])
}

fn apply(text: &mut Vec<u8>, mutation: &Mutation) {
    if let Mutation::FlipByte(at, byte) = *mutation {
        if !text.is_empty() {
            let at = at % text.len();
            text[at] = byte;
        }
        return;
    }
    let mut s = String::from_utf8_lossy(text).into_owned();
    match *mutation {
        Mutation::FlipByte(..) => unreachable!("handled above"),
        Mutation::Truncate(at) => s.truncate(offset(&s, at)),
        Mutation::Indent(at, more) => {
            let (start, line) = line_at(&s, at);
            if more {
                s.insert(start, ' ');
            } else if line.starts_with(' ') {
                s.remove(start);
            }
        }
        Mutation::DuplicateLine(at) => {
            let (start, line) = line_at(&s, at);
            let copy = format!("{line}\n");
            s.insert_str(start, &copy);
        }
        Mutation::SwapValue(at, value) => {
            let (start, line) = line_at(&s, at);
            if let Some(colon) = line.find(": ") {
                let end = start + line.len();
                s.replace_range(start + colon + 2..end, value);
            }
        }
        Mutation::Anchor(a, b) => {
            let (start, line) = line_at(&s, a);
            if let Some(colon) = line.find(": ") {
                s.insert_str(start + colon + 2, "&a ");
            }
            let (start, line) = line_at(&s, b);
            if let Some(colon) = line.find(": ") {
                let end = start + line.len();
                s.replace_range(start + colon + 2..end, "*a");
            }
        }
        Mutation::MergeKey(at, entry) => {
            let (start, line) = line_at(&s, at);
            let indent = line.len() - line.trim_start().len();
            s.insert_str(start, &format!("{}{entry}\n", " ".repeat(indent)));
        }
        Mutation::Tag(at, tag) => {
            let (start, line) = line_at(&s, at);
            if let Some(colon) = line.find(": ") {
                s.insert_str(start + colon + 2, tag);
            }
        }
        Mutation::Insert(at, what) => {
            let at = offset(&s, at);
            s.insert_str(at, what);
        }
        Mutation::LineBreaks(br) => s = s.replace('\n', br),
        Mutation::DeepNesting(at, depth) => {
            let at = offset(&s, at);
            s.insert_str(at, &"[".repeat(depth));
        }
    }
    *text = s.into_bytes();
}

fn cases() -> u32 {
    std::env::var("IMDS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(150)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_manifests_are_linted_or_reported_never_lost(
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..6),
        victim in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
        format in prop::sample::select(vec!["json", "human", "sarif", "github", "render"]),
    ) {
        let documents: Vec<&String> = picks.iter().map(|i| i.get(&DOCUMENTS)).collect();
        let victim = victim.index(documents.len());
        let mut stream = Vec::new();
        for (i, doc) in documents.iter().enumerate() {
            let mut bytes = doc.as_bytes().to_vec();
            if i == victim {
                for m in &mutations {
                    apply(&mut bytes, m);
                }
            }
            stream.extend_from_slice(b"---\n");
            stream.extend_from_slice(&bytes);
            if !stream.ends_with(b"\n") {
                stream.push(b'\n');
            }
        }
        if format == "render" {
            let run = run_piped(common::root(), &["render", "-"], &stream);
            prop_assert!(matches!(run.code, 0 | 2), "exit {}: {}", run.code, run.stderr);
            let rendered = yaml::parse_documents(&run.stdout, 0)
                .map_err(|e| TestCaseError::fail(format!("render output does not read back: {e:?}\n{}", run.stdout)))?;
            let found: BTreeSet<(String, String)> = rendered.iter().filter_map(kind_and_name).collect();
            for (i, doc) in documents.iter().enumerate() {
                let written = yaml::parse_documents(doc, 0).unwrap_or_default();
                if i != victim && let Some(object) = written.first().and_then(kind_and_name) {
                    prop_assert!(found.contains(&object), "untouched document lost {object:?}");
                }
            }
            return Ok(());
        }
        let run = run_piped(common::root(), &["--format", format, "-"], &stream);
        prop_assert!(matches!(run.code, 0..=2), "exit {}: {}", run.code, run.stderr);
        if format != "human" && format != "github" {
            let report: Value = serde_json::from_str(&run.stdout)
                .map_err(|e| TestCaseError::fail(format!("{format} output is not JSON: {e}")))?;
            if format == "json" {
                let found = identities(&report);
                for (i, doc) in documents.iter().enumerate() {
                    if i == victim {
                        continue;
                    }
                    for object in objects_of(doc) {
                        prop_assert!(found.contains(&object), "untouched document lost {object:?}");
                    }
                }
            }
        }
    }
}
