//! One object per identity, through the built binary on `fixtures/duplicates` (see its
//! README for what kubectl says about each folder).

mod common;

use common::{copy_dir, findings, json_in, json_report, namespace, root, run};
use serde_json::Value;

/// `(severity, file, line, message)` of every IMDS007 finding.
fn duplicates(report: &Value) -> Vec<(String, String, u64, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS007")
        .map(|f| {
            (
                f["severity"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The one IMDS007 finding at `file`, whole.
fn duplicate_at<'a>(report: &'a Value, file: &str) -> &'a Value {
    let at: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "IMDS007" && f["file"] == file)
        .collect();
    assert_eq!(at.len(), 1, "{:#?}", duplicates(report));
    at[0]
}

#[test]
fn in_a_plain_tree_the_copy_applied_last_decides_the_verdict() {
    let (code, report) = json_report(&["fixtures/duplicates/plain"]);
    assert_eq!(code, 1);
    // kubectl walks folder `policies/` before file `policies-override.yaml`: the override,
    // without the `except`, is applied last and opens the endpoint.
    let shop = namespace(&report, "shop");
    assert_eq!(shop["metadata_reachable"], true, "{shop}");
    let openings = findings(&report, "IMDS001", "shop");
    assert_eq!(openings.len(), 1, "{openings:#?}");
    assert_eq!(
        openings[0]["file"],
        "fixtures/duplicates/plain/policies-override.yaml"
    );
    // A warning at the later copy naming the earlier one, which it replaces.
    let finding = duplicate_at(&report, "fixtures/duplicates/plain/policies-override.yaml");
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["line"], 2);
    let message = finding["message"].as_str().unwrap();
    assert!(
        message
            .starts_with("NetworkPolicy shop/allow-egress-all-except-metadata is declared twice")
            && message.contains("fixtures/duplicates/plain/policies/pair.yaml:10"),
        "{message}"
    );
    assert_eq!(
        finding["related"][0]["file"],
        "fixtures/duplicates/plain/policies/pair.yaml"
    );
    assert_eq!(finding["related"][0]["line"], 10);
    // One policy of that name is in the cluster: the later one.
    let allow: Vec<&Value> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "allow-egress-all-except-metadata")
        .collect();
    assert_eq!(allow.len(), 1, "{allow:#?}");
    assert_eq!(
        allow[0]["file"],
        "fixtures/duplicates/plain/policies-override.yaml"
    );
}

#[test]
fn a_workload_declared_twice_is_one_workload() {
    let (_, report) = json_report(&["fixtures/duplicates/plain"]);
    let web: Vec<&Value> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == "web")
        .collect();
    assert_eq!(web.len(), 1, "{web:#?}");
    // `app-copy.yaml` comes before `app.yaml` (`-` before `.`): `app.yaml` wins.
    assert_eq!(web[0]["file"], "fixtures/duplicates/plain/app.yaml");
    let finding = duplicate_at(&report, "fixtures/duplicates/plain/app.yaml");
    assert_eq!(finding["severity"], "warning");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("fixtures/duplicates/plain/app-copy.yaml:1"),
        "{finding}"
    );
    // Messages name it once.
    let opening = &findings(&report, "IMDS001", "shop")[0];
    assert_eq!(
        opening["message"]
            .as_str()
            .unwrap()
            .matches("Deployment shop/web")
            .count(),
        1,
        "{opening}"
    );
    assert_eq!(duplicates(&report).len(), 2, "{:#?}", duplicates(&report));
}

#[test]
fn a_kustomize_build_with_a_duplicate_is_an_error_and_counts_the_first_copy() {
    let (code, report) = json_report(&["fixtures/duplicates/build"]);
    assert_eq!(code, 1);
    let finding = duplicate_at(&report, "fixtures/duplicates/build/second-allow.yaml");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["namespace"], "payments");
    assert_eq!(finding["line"], 2);
    let message = finding["message"].as_str().unwrap();
    for part in [
        "NetworkPolicy payments/allow-egress-all-except-metadata is declared twice in one kustomize build",
        "also at fixtures/duplicates/build/allow.yaml:1",
        "fixtures/duplicates/build/kustomization.yaml",
        "may not add resource with an already registered id",
        "none of its objects are applied",
    ] {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    assert_eq!(
        finding["related"][0]["file"],
        "fixtures/duplicates/build/allow.yaml"
    );
    // The first copy is kept: the pair holds, the verdict does not go silent.
    let payments = namespace(&report, "payments");
    assert_eq!(payments["metadata_reachable"], false, "{payments}");
    assert!(findings(&report, "IMDS001", "payments").is_empty());
}

#[test]
fn a_namespace_that_makes_two_ids_one_is_refused_too() {
    let (_, report) = json_report(&["fixtures/duplicates/refused-after-namespace"]);
    let found = duplicates(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (severity, file, line, message) = &found[0];
    assert_eq!(severity, "error");
    assert_eq!(
        (file.as_str(), *line),
        (
            "fixtures/duplicates/refused-after-namespace/policies.yaml",
            10
        )
    );
    assert!(
        message.contains("NetworkPolicy z/deny-egress-all")
            && message.contains("namespace transformation produces ID conflict"),
        "{message}"
    );
}

#[test]
fn a_flux_kustomization_is_one_build() {
    let (_, report) = json_report(&["fixtures/duplicates/flux"]);
    let finding = duplicate_at(&report, "fixtures/duplicates/flux/apps/shop/deny.yaml");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["namespace"], "shop");
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("also at fixtures/duplicates/flux/apps/shop/deny-again.yaml:1")
            && message.contains(
                "Flux Kustomization flux-system/shop (fixtures/duplicates/flux/clusters/prod/shop.yaml:2)"
            ),
        "{message}"
    );
}

#[test]
fn one_source_reaching_one_place_by_two_builds_is_one_object_silently() {
    let (_, report) = json_report(&["fixtures/duplicates/shared"]);
    assert!(duplicates(&report).is_empty(), "{:#?}", duplicates(&report));
    let api: Vec<&Value> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == "api")
        .collect();
    assert_eq!(api.len(), 1, "{api:#?}");
    assert_eq!(api[0]["namespace"], "shared");
}

#[test]
fn one_manifest_that_two_builds_change_differently_is_two_versions() {
    let (_, report) = json_report(&["fixtures/duplicates/rendered"]);
    let api: Vec<&Value> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["name"] == "api")
        .collect();
    assert_eq!(api.len(), 1, "{api:#?}");
    let found = duplicates(&report);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (severity, file, _, message) = &found[0];
    assert_eq!(severity, "warning");
    assert_eq!(file, "fixtures/duplicates/rendered/base/app.yaml");
    assert!(
        message.starts_with(
            "Deployment rendered/api is applied twice from this manifest, by two builds that change it differently"
        ),
        "{message}"
    );
    // What one way does not apply makes the namespace uncertain, whichever copy counts.
    let rendered = namespace(&report, "rendered");
    let reasons: Vec<&str> = rendered["uncertain"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["reason"].as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("replacements")),
        "{rendered}"
    );
}

/// Every output format carries the rule; `--fail-on`, the configuration and annotations treat
/// it like any other.
#[test]
fn the_rule_is_in_every_format_and_obeys_the_settings() {
    let human = run(&["--color", "never", "fixtures/duplicates/build"]);
    assert!(human.stdout.contains("IMDS007"), "{}", human.stdout);
    assert!(
        human.stdout.contains(
            "second NetworkPolicy payments/allow-egress-all-except-metadata in this build"
        ),
        "{}",
        human.stdout
    );
    let github = run(&["--format", "github", "fixtures/duplicates/build"]);
    assert!(
        github.stdout.lines().any(|l| l
            .starts_with("::error file=fixtures/duplicates/build/second-allow.yaml")
            && l.contains("IMDS007")),
        "{}",
        github.stdout
    );
    let sarif = run(&["--format", "sarif", "fixtures/duplicates/build"]);
    let sarif: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let result = results
        .iter()
        .find(|r| r["ruleId"] == "IMDS007")
        .expect("an IMDS007 result");
    assert_eq!(result["level"], "error");
    assert_eq!(
        result["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "fixtures/duplicates/build/allow.yaml"
    );

    // A warning alone does not fail the run, unless asked.
    let plain_only_warnings = |args: &[&str]| {
        let mut all = vec![
            "fixtures/duplicates/shared",
            "fixtures/duplicates/plain/app.yaml",
        ];
        all.extend_from_slice(args);
        all.push("fixtures/duplicates/plain/app-copy.yaml");
        run(&all).code
    };
    assert_eq!(plain_only_warnings(&["--fail-on", "never"]), 0);
    assert_eq!(plain_only_warnings(&["--fail-on", "warning"]), 1);

    // A severity in the configuration applies to every finding of the rule.
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("fixtures/duplicates"), temp.path());
    std::fs::write(
        temp.path().join(".imds-lint.yaml"),
        "rules:\n  duplicate-object: warning\n",
    )
    .unwrap();
    let report = json_in(temp.path(), &["build"], None);
    let severities: Vec<String> = duplicates(&report).into_iter().map(|d| d.0).collect();
    assert_eq!(severities, ["warning"]);
    std::fs::write(
        temp.path().join(".imds-lint.yaml"),
        "rules:\n  IMDS007: {enabled: false}\n",
    )
    .unwrap();
    assert!(duplicates(&json_in(temp.path(), &["build"], None)).is_empty());

    // An annotation on the copy that counts suppresses it.
    std::fs::remove_file(temp.path().join(".imds-lint.yaml")).unwrap();
    let app = temp.path().join("plain/app.yaml");
    let text = std::fs::read_to_string(&app).unwrap().replace(
        "  namespace: shop\n",
        "  namespace: shop\n  annotations:\n    imds-lint.io/ignore: IMDS007\n    imds-lint.io/reason: the copy is generated\n",
    );
    std::fs::write(&app, text).unwrap();
    let report = json_in(temp.path(), &["plain"], None);
    let suppressed: Vec<&Value> = report["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["finding"]["rule"] == "IMDS007")
        .collect();
    assert_eq!(suppressed.len(), 1, "{:#}", report["suppressed"]);
    assert!(
        !duplicates(&report).iter().any(|d| d.1 == "plain/app.yaml"),
        "{:#?}",
        duplicates(&report)
    );
}

/// `imds-lint init` writes a configuration that changes nothing, warnings of this rule included:
/// it names no severity for it that would override each finding's own.
#[test]
fn the_default_configuration_keeps_both_severities() {
    let temp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("fixtures/duplicates"), temp.path());
    let before = json_in(temp.path(), &["."], None);
    assert_eq!(common::run_in(temp.path(), &["init"], None).code, 0);
    let text = std::fs::read_to_string(temp.path().join(".imds-lint.yaml")).unwrap();
    assert!(text.contains("IMDS007: {enabled: true}"), "{text}");
    let after = json_in(temp.path(), &["."], None);
    assert_eq!(after["findings"], before["findings"]);
    let severities: Vec<String> = duplicates(&after).into_iter().map(|d| d.0).collect();
    assert!(
        severities.contains(&"error".to_string()) && severities.contains(&"warning".to_string()),
        "{severities:?}"
    );
}
