//! The skim (a document's kind read off its text, the bodies the analysis does not read passed
//! over unparsed) against a full parse of every document: the same objects, the same errors.
//! On every file a run reads under `fixtures/` and the folders `IMDS_SKIM_ROOTS` names
//! (`:`-separated; CI names the real-world corpora), and on mutated documents of kinds whose
//! bodies are skimmed.

use imds_lint::decode::object::{Object, file_objects, keep};
use imds_lint::source::discover::{DiscoverOptions, discover};
use imds_lint::source::load::{LoadError, load_stream, load_stream_parsed_whole};
use imds_lint::source::skim;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// The objects, errors and document count of `bytes` read as `name`: skimmed, and whole.
fn both(name: &str, bytes: &[u8]) -> [(Vec<Object>, Vec<LoadError>, usize); 2] {
    let mut skimmed = load_stream(name, bytes, &keep);
    let mut whole = load_stream_parsed_whole(name, bytes, &keep);
    [&mut skimmed, &mut whole].map(|f| (file_objects(f), f.errors.clone(), f.documents))
}

/// Documents of a file the skim takes (split at `---` lines; enough to count).
fn skimmed_documents(text: &str) -> usize {
    text.split("\n---")
        .filter(|doc| skim::skim(doc, &keep).is_some() || skim::skim_flow(doc, &keep).is_some())
        .count()
}

#[test]
fn the_skim_agrees_with_a_full_parse_on_every_file() {
    let mut roots = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")];
    if let Ok(extra) = std::env::var("IMDS_SKIM_ROOTS") {
        roots.extend(
            extra
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        );
    }
    // The files a run reads (Helm templates, for one, are not).
    let options = DiscoverOptions { excludes: vec![] };
    let files = discover(&roots, &options).unwrap().files;
    let mut skimmed = 0;
    for source in &files {
        let bytes = std::fs::read(&source.path).unwrap();
        let name = &source.display;
        let [a, b] = both(name, &bytes);
        assert_eq!(a, b, "{name}: the skim disagrees with a full parse");
        skimmed += skimmed_documents(&String::from_utf8_lossy(&bytes));
    }
    eprintln!("{} files, {skimmed} documents skimmed", files.len());
    assert!(skimmed >= 20, "only {skimmed} documents skimmed");
}

/// Documents whose bodies the skim passes over, in the shapes real repositories have.
const SEEDS: &[&str] = &[
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: web\n  labels: {app: web}\ndata:\n  nginx.conf: |\n    events {\n      worker_connections 1024; # it's\n    }\n  script.sh: >-\n    echo \"$(cat 'x')\" && [ -f y ]\n  json: '{\"a\": [1, 2], \"b\": \"c\"}'\n  plain: a 'b' \"c\" d\n",
    "kind: Service\napiVersion: v1\nmetadata: {name: svc, namespace: web}\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: http\n  - {port: 443, targetPort: 8443}\n",
    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\nspec:\n  group: example.com\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}\n          pattern: {type: string, pattern: '^[a-z]+$'}\n",
    "data:\n  k: \"multi\n    line\"\nkind: Secret\nmetadata:\n  name: s\n  namespace: web\ntype: Opaque\nstringData:\n  - [a, b]\n  - {c: d}\n",
    "{\n    \"apiVersion\": \"v1\",\n    \"data\": {\n        \"a.json\": \"{\\\"x\\\": [1, 2]}\",\n        \"b\": \"it's \\\"q\\\" ]}\"\n    },\n    \"kind\": \"ConfigMap\",\n    \"metadata\": {\n        \"name\": \"cfg\",\n        \"namespace\": \"web\",\n        \"labels\": {\"app\": \"web\"}\n    }\n}\n",
    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"svc\",\"namespace\":\"web\"},\"spec\":{\"ports\":[{\"port\":80}],\"selector\":{\"app\":\"web\"},\"x\":null,\"y\":[true, 1.5]}}",
];

#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, &'static str),
    Truncate(usize),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0usize..600;
    prop_oneof![
        (
            at.clone(),
            prop::sample::select(vec![
                "\"",
                "'",
                "''",
                "[",
                "]",
                "{",
                "}",
                ",",
                ":",
                ": ",
                "- ",
                "#",
                " #",
                "*a",
                "&a ",
                "|",
                "|\n",
                ">-\n  ",
                "\n",
                "\n  ",
                "\nkind: ConfigMap\n",
                "\nmetadata: {}\n",
                "\nkind: NetworkPolicy\n",
                "\t",
                "\r",
                "? ",
                "!!str ",
                "<<: *a\n",
                "\\",
                "%",
                "\nspec:\n  x: [",
                "\ndata: \"",
                "\n  - ",
            ])
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        at.clone().prop_map(Mutation::Truncate),
        (at.clone(), 1usize..20).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &mut String, m: &Mutation) {
    match *m {
        Mutation::Insert(at, s) => {
            let at = boundary(text, at);
            text.insert_str(at, s);
        }
        Mutation::Truncate(at) => {
            let at = boundary(text, at);
            text.truncate(at);
        }
        Mutation::Remove(at, n) => {
            let at = boundary(text, at);
            let end = boundary(text, (at + n).min(text.len()));
            if end > at {
                text.replace_range(at..end, "");
            }
        }
    }
}

/// The 1-based line of byte `at` of `text`, counting `\n`, `\r\n` and a lone `\r`.
fn line_of(text: &str, at: usize) -> usize {
    let b = text.as_bytes();
    1 + (0..at.min(b.len()))
        .filter(|&i| b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')))
        .count()
}

fn cases() -> u32 {
    std::env::var("IMDS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// On a mutated document: the same objects and errors as a full parse, except an error the
    /// full parse finds inside a body the skim passed over, or where the parser notices it, on
    /// the line after (which the skim does not check).
    #[test]
    fn mutated_documents_skim_as_they_parse(
        seed in prop::sample::select(SEEDS.to_vec()),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let mut text = seed.to_string();
        for m in &mutations {
            apply(&mut text, m);
        }
        // One document: the loader splits at markers before the skim sees a document.
        prop_assume!(!text.contains("---") && !text.contains("..."));
        let [skimmed, whole] = both("m.yaml", text.as_bytes());
        if skimmed == whole {
            return Ok(());
        }
        let skipped = match (skim::skim(&text, &keep), skim::skim_flow(&text, &keep)) {
            (Some(s), _) => s.skipped,
            (_, Some(s)) => s.skipped,
            _ => return Err(TestCaseError::fail(format!("differs, not skimmed: {text:?}\n{skimmed:?}\n{whole:?}"))),
        };
        prop_assert!(skimmed.1.is_empty(), "{text:?}: {:?}", skimmed.1);
        for e in &whole.1 {
            let line = e.pos.map_or(0, |p| p.line as usize);
            let inside = skipped
                .iter()
                .any(|r| line >= line_of(&text, r.start) && line <= line_of(&text, r.end) + 1);
            prop_assert!(inside, "{text:?}: error outside the skipped bodies: {e:?} ({skipped:?})");
        }
    }
}
