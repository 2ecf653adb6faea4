//! Rendered manifests piped in on standard input (`helm template … | imds-lint -`,
//! `kubectl kustomize … | imds-lint -`): findings point at lines of the stream and name it by
//! `--stdin-filename`.

mod common;

use common::{json_in, root, run_in};
use serde_json::Value;

/// What `helm template shop ./chart` prints: a `---` and a `# Source:` comment before every
/// document, a template that rendered to nothing, and Windows line endings in none.
const HELM: &str = "---
# Source: shop/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: shop
  namespace: shop
---
# Source: shop/templates/hpa.yaml
# (disabled in values.yaml: rendered to nothing)
---
# Source: shop/templates/networkpolicy-baseline.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress-all
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
    - Egress
---
# Source: shop/templates/networkpolicy-dns.yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-node-local-dns
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/name: shop
  policyTypes:
    - Egress
  egress:
    - to:
        - ipBlock:
            cidr: 169.254.0.0/16
      ports:
        - port: 53
          protocol: UDP
        - port: 80
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-agent
  namespace: shop
spec:
  selector:
    matchLabels:
      app.kubernetes.io/name: shop-agent
  template:
    metadata:
      labels:
        app.kubernetes.io/name: shop-agent
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: shop/agent:1.0
";

/// What `kubectl kustomize overlays/prod` prints: keys sorted, no comments, `---` only between
/// documents, the namespace set by the kustomization.
const KUSTOMIZE: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: payments-prod
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-egress-all-except-metadata
  namespace: payments-prod
spec:
  egress:
  - to:
    - ipBlock:
        cidr: 0.0.0.0/0
        excepts:
        - 169.254.169.254/32
  podSelector: {}
  policyTypes:
  - Egress
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-egress-all
  namespace: payments-prod
spec:
  podSelector: {}
  policyTypes:
  - Egress
";

/// The 1-based line and column where `needle` first appears in `text`, after `after`.
fn position(text: &str, after: &str, needle: &str) -> (u64, u64) {
    let from = text.find(after).expect("anchor in the stream");
    let at = from + text[from..].find(needle).expect("needle in the stream");
    let line = text[..at].matches('\n').count() + 1;
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    (
        line as u64,
        (text[line_start..at].chars().count() + 1) as u64,
    )
}

fn findings(report: &Value) -> Vec<(String, String, u64, u64)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["file"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or_default(),
                f["column"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn helm_template_stream() {
    let name = "rendered/shop.yaml";
    let args = ["--stdin-filename", name, "-"];
    let report = json_in(root(), &args, Some(HELM.as_bytes()));
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(
        report["summary"]["documents"], 4,
        "the empty template is no document"
    );
    let (ip_line, ip_col) = position(HELM, "name: allow-node-local-dns", "ipBlock:");
    let (host_line, host_col) = position(HELM, "name: shop-agent", "hostNetwork:");
    // Namespace-level findings point at the first manifest that lands in the namespace.
    let (first_line, first_col) = position(HELM, "serviceaccount.yaml", "apiVersion");
    assert_eq!((ip_line, host_line, first_line), (37, 59, 3));
    let want = vec![
        (
            "IMDS003".to_string(),
            name.to_string(),
            first_line,
            first_col,
        ),
        ("IMDS001".to_string(), name.to_string(), ip_line, ip_col),
        // The hostNetwork workload: in the namespace's verdict, and IMDS005 at the same field.
        ("IMDS001".to_string(), name.to_string(), host_line, host_col),
        ("IMDS005".to_string(), name.to_string(), host_line, host_col),
    ];
    assert_eq!(findings(&report), want);
    let workload = &report["workloads"][0];
    assert_eq!(workload["name"], "shop-agent");
    assert_eq!(workload["file"], name);
    assert_eq!(
        workload["line"],
        position(HELM, "deployment.yaml", "apiVersion").0
    );

    // The human report shows the stream's own lines under its name.
    let r = run_in(
        root(),
        &["--color", "never", "--stdin-filename", name, "-"],
        Some(HELM.as_bytes()),
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains(&format!("[{name}:{ip_line}:{ip_col}]")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!(" {ip_line} │         - ipBlock:")),
        "{}",
        r.stdout
    );
}

#[test]
fn kubectl_kustomize_stream() {
    let report = json_in(root(), &["-"], Some(KUSTOMIZE.as_bytes()));
    let (except_line, except_col) = position(KUSTOMIZE, "cidr: 0.0.0.0/0", "excepts:");
    let (ip_line, ip_col) = position(KUSTOMIZE, "allow-egress-all-except", "ipBlock:");
    assert_eq!((except_line, ip_line), (16, 14));
    let want = vec![
        // The misspelt `excepts` leaves no allow-except-metadata policy: at the Namespace.
        ("IMDS003".to_string(), "<stdin>".to_string(), 1, 1),
        (
            "IMDS001".to_string(),
            "<stdin>".to_string(),
            ip_line,
            ip_col,
        ),
        (
            "IMDS004".to_string(),
            "<stdin>".to_string(),
            except_line,
            except_col,
        ),
    ];
    assert_eq!(findings(&report), want);
    assert_eq!(report["namespaces"][0]["name"], "payments-prod");

    // The same stream through the other formats names it the same way.
    let r = run_in(
        root(),
        &["--format", "github", "--stdin-filename", "prod.yaml", "-"],
        Some(KUSTOMIZE.as_bytes()),
    );
    assert!(
        r.stdout.contains(&format!(
            "::error file=prod.yaml,line={except_line},endLine={except_line},col={except_col},"
        )),
        "{}",
        r.stdout
    );
    let r = run_in(
        root(),
        &["--format", "sarif", "--stdin-filename", "prod.yaml", "-"],
        Some(KUSTOMIZE.as_bytes()),
    );
    let sarif: Value = serde_json::from_str(&r.stdout).expect("SARIF");
    let location = &sarif["runs"][0]["results"][1]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "prod.yaml");
    assert_eq!(location["region"]["startLine"], ip_line);
}

#[test]
fn windows_line_endings_and_a_byte_order_mark() {
    let text = format!("\u{feff}{}", KUSTOMIZE.replace('\n', "\r\n"));
    let report = json_in(root(), &["-"], Some(text.as_bytes()));
    let (except_line, except_col) = position(KUSTOMIZE, "cidr: 0.0.0.0/0", "excepts:");
    assert!(
        findings(&report).contains(&(
            "IMDS004".to_string(),
            "<stdin>".to_string(),
            except_line,
            except_col
        )),
        "{report}"
    );
}
