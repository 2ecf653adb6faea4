//! Calico's selector language (`role == 'db' && !has(canary)`): parsed the way Calico's own
//! tokenizer and parser read it, then turned into disjunctive normal form over Kubernetes label
//! requirements so that the rest of imds-lint can match it like any label selector.
//!
//! Grammar (Calico `libcalico-go/lib/selector`): `||` binds loosest, then `&&`, then any number
//! of leading `!`; operands are `all()`, `global()`, `has(k)`, `k == 'v'`, `k != 'v'`,
//! `k in {'a', 'b'}`, `k not in {…}`, `k contains 'v'`, `k starts with 'v'`, `k ends with 'v'`
//! and parenthesised expressions. Strings take single or double quotes, without escapes;
//! whitespace is spaces and tabs. The empty selector is `all()`.

use crate::decode::labels::Labels;
use crate::decode::selector::{LabelSelector, Operator, Requirement};
use crate::decode::workload::SERVICE_ACCOUNT_LABEL;
use std::collections::HashSet;
use std::fmt;

/// A parsed selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    All,
    /// Endpoints outside any namespace (GlobalNetworkSets, host endpoints).
    Global,
    Has(String),
    Eq(String, String),
    /// Also true when the label is absent.
    Ne(String, String),
    In(String, Vec<String>),
    /// Also true when the label is absent.
    NotIn(String, Vec<String>),
    /// `contains`, `starts with`, `ends with`: no label requirement says the same.
    Substring(String, SubstringOp, String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubstringOp {
    Contains,
    StartsWith,
    EndsWith,
}

impl SubstringOp {
    pub fn keyword(self) -> &'static str {
        match self {
            SubstringOp::Contains => "contains",
            SubstringOp::StartsWith => "starts with",
            SubstringOp::EndsWith => "ends with",
        }
    }
}

/// Why a selector does not parse, and where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}")]
pub struct SelectorError {
    pub problem: SelectorProblem,
    /// Byte offset in the selector text of the character or token that stopped the reading
    /// (the text's length at its end); `None` when the selector is refused as a whole.
    pub offset: Option<usize>,
}

/// What is wrong with a selector, in the words shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorProblem {
    #[error("parentheses nest deeper than {MAX_NESTING}")]
    TooDeep,
    #[error("unterminated string")]
    UnterminatedString,
    /// A lone `=`, `&` or `|`; the field is the token it should have been.
    #[error("expected {0}")]
    IncompleteOperator(&'static str),
    #[error("unexpected characters after label {0:?}, expected an operator")]
    NoWordOperator(String),
    #[error("no label name in has(")]
    NoLabelInHas,
    /// `has(`, `all(` or `global(` without its `)`; the field is the function's name.
    #[error("no closing ) after {0}(")]
    Unclosed(&'static str),
    #[error("unexpected character {0:?}")]
    UnexpectedCharacter(char),
    #[error("unexpected content at end of selector")]
    TrailingContent,
    #[error("unexpected end of selector")]
    UnexpectedEnd,
    #[error("expected a quoted string")]
    ExpectedString,
    #[error("expected a set literal {{…}}")]
    ExpectedSet,
    #[error("expected }}")]
    UnclosedSet,
    #[error("expected )")]
    UnclosedParenthesis,
    #[error("expected an operator after {0:?}")]
    ExpectedOperator(String),
    #[error("unexpected token")]
    UnexpectedToken,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Label(String),
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
    Not,
    In,
    NotIn,
    Substring(SubstringOp),
    All,
    Global,
    Has(String),
    And,
    Or,
    End,
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-')
}

fn trim_space(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// The label name at the start of `s` (Calico allows alphanumerics and `_./-`).
fn label_prefix(s: &str) -> &str {
    let end = s.bytes().position(|b| !is_label_byte(b)).unwrap_or(s.len());
    &s[..end]
}

/// `keyword` followed by optional whitespace and `rest_keyword`, as in `starts with`.
fn two_words<'a>(input: &'a str, first: &str, second: &str) -> Option<&'a str> {
    trim_space(input.strip_prefix(first)?).strip_prefix(second)
}

/// The tokens of `text`, each with its byte offset, ending with [`Token::End`].
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, SelectorError> {
    let mut tokens: Vec<(Token, usize)> = Vec::new();
    let mut input = text;
    loop {
        input = trim_space(input);
        let offset = text.len() - input.len();
        let fail = |problem| SelectorError {
            problem,
            offset: Some(offset),
        };
        let Some(&first) = input.as_bytes().first() else {
            tokens.push((Token::End, offset));
            return Ok(tokens);
        };
        if let Some((token, len)) = punctuation(input).map_err(fail)? {
            tokens.push((token, offset));
            input = &input[len..];
            continue;
        }
        if first == b'"' || first == b'\'' {
            let quote = first as char;
            let body = &input[1..];
            let end = body
                .find(quote)
                .ok_or_else(|| fail(SelectorProblem::UnterminatedString))?;
            tokens.push((Token::Str(body[..end].to_string()), offset));
            input = &body[end + 1..];
            continue;
        }
        let (token, rest) = match tokens.last() {
            Some((Token::Label(label), _)) => operator(input, label),
            _ => word(input),
        }
        .map_err(fail)?;
        tokens.push((token, offset));
        input = rest;
    }
}

/// A one- or two-character token at the start of `input`, with its length.
fn punctuation(input: &str) -> Result<Option<(Token, usize)>, SelectorProblem> {
    let Some(&first) = input.as_bytes().first() else {
        return Ok(None);
    };
    Ok(match first {
        b'(' => Some((Token::LParen, 1)),
        b')' => Some((Token::RParen, 1)),
        b'{' => Some((Token::LBrace, 1)),
        b'}' => Some((Token::RBrace, 1)),
        b',' => Some((Token::Comma, 1)),
        b'=' if input.starts_with("==") => Some((Token::Eq, 2)),
        b'=' => return Err(SelectorProblem::IncompleteOperator("==")),
        b'!' if input.starts_with("!=") => Some((Token::Ne, 2)),
        b'!' => Some((Token::Not, 1)),
        b'&' if input.starts_with("&&") => Some((Token::And, 2)),
        b'&' => return Err(SelectorProblem::IncompleteOperator("&&")),
        b'|' if input.starts_with("||") => Some((Token::Or, 2)),
        b'|' => return Err(SelectorProblem::IncompleteOperator("||")),
        _ => None,
    })
}

/// The word operator after `label`, and the rest of the input.
fn operator<'a>(input: &'a str, label: &str) -> Result<(Token, &'a str), SelectorProblem> {
    if let Some(rest) = input.strip_prefix("contains") {
        Ok((Token::Substring(SubstringOp::Contains), rest))
    } else if let Some(rest) = two_words(input, "starts", "with") {
        Ok((Token::Substring(SubstringOp::StartsWith), rest))
    } else if let Some(rest) = two_words(input, "ends", "with") {
        Ok((Token::Substring(SubstringOp::EndsWith), rest))
    } else if let Some(rest) = two_words(input, "not", "in") {
        Ok((Token::NotIn, rest))
    } else if let Some(rest) = input.strip_prefix("in") {
        Ok((Token::In, rest))
    } else {
        Err(SelectorProblem::NoWordOperator(label.to_string()))
    }
}

/// `has(label)`, `all()`, `global()` or a label, and the rest of the input.
fn word(input: &str) -> Result<(Token, &str), SelectorProblem> {
    if let Some(rest) = input.strip_prefix("has(") {
        let rest = trim_space(rest);
        let label = label_prefix(rest);
        if label.is_empty() {
            return Err(SelectorProblem::NoLabelInHas);
        }
        let rest = trim_space(&rest[label.len()..]);
        let rest = rest
            .strip_prefix(')')
            .ok_or(SelectorProblem::Unclosed("has"))?;
        Ok((Token::Has(label.to_string()), rest))
    } else if let Some(rest) = input.strip_prefix("all(") {
        let rest = trim_space(rest)
            .strip_prefix(')')
            .ok_or(SelectorProblem::Unclosed("all"))?;
        Ok((Token::All, rest))
    } else if let Some(rest) = input.strip_prefix("global(") {
        let rest = trim_space(rest)
            .strip_prefix(')')
            .ok_or(SelectorProblem::Unclosed("global"))?;
        Ok((Token::Global, rest))
    } else {
        let label = label_prefix(input);
        if label.is_empty() {
            let c = input.chars().next().unwrap_or(' ');
            return Err(SelectorProblem::UnexpectedCharacter(c));
        }
        Ok((Token::Label(label.to_string()), &input[label.len()..]))
    }
}

/// Parentheses a selector may nest: Calico has no limit, but real selectors stay far below
/// it and deeper ones would exhaust the stack of a recursive reading.
pub const MAX_NESTING: usize = 64;

/// How deeply the parentheses of a selector nest (quoted text aside).
pub fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0, None);
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses a selector; the empty selector is `all()`.
pub fn parse(text: &str) -> Result<Expr, SelectorError> {
    if nesting(text) > MAX_NESTING {
        return Err(SelectorError {
            problem: SelectorProblem::TooDeep,
            offset: None,
        });
    }
    let tokens = tokenize(text)?;
    if tokens
        .first()
        .is_some_and(|(token, _)| *token == Token::End)
    {
        return Ok(Expr::All);
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        taken_at: 0,
    };
    let expr = parser.or()?;
    if parser.next() != Token::End {
        return parser.fail(SelectorProblem::TrailingContent);
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    /// The offset of the token last taken, where an error about it points.
    taken_at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens
            .get(self.at)
            .map_or(&Token::End, |(token, _)| token)
    }

    fn next(&mut self) -> Token {
        let token = self.peek().clone();
        if let Some(&(_, offset)) = self.tokens.get(self.at) {
            self.taken_at = offset;
            self.at += 1;
        }
        token
    }

    /// `problem`, at the token last taken.
    fn fail<T>(&self, problem: SelectorProblem) -> Result<T, SelectorError> {
        Err(SelectorError {
            problem,
            offset: Some(self.taken_at),
        })
    }

    fn or(&mut self) -> Result<Expr, SelectorError> {
        let mut terms = vec![self.and()?];
        while self.peek() == &Token::Or {
            self.next();
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, SelectorError> {
        let mut terms = vec![self.operation()?];
        while self.peek() == &Token::And {
            self.next();
            terms.push(self.operation()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        match self.next() {
            Token::Str(s) => Ok(s),
            _ => self.fail(SelectorProblem::ExpectedString),
        }
    }

    fn operation(&mut self) -> Result<Expr, SelectorError> {
        let mut negated = false;
        while self.peek() == &Token::Not {
            self.next();
            negated = !negated;
        }
        let expr = match self.next() {
            Token::Has(label) => Expr::Has(label),
            Token::All => Expr::All,
            Token::Global => Expr::Global,
            Token::Label(label) => match self.next() {
                Token::Eq => Expr::Eq(label, self.string()?),
                Token::Ne => Expr::Ne(label, self.string()?),
                Token::Substring(op) => Expr::Substring(label, op, self.string()?),
                op @ (Token::In | Token::NotIn) => {
                    if self.next() != Token::LBrace {
                        return self.fail(SelectorProblem::ExpectedSet);
                    }
                    let mut values = Vec::new();
                    while let Token::Str(value) = self.peek().clone() {
                        self.next();
                        values.push(value);
                        if self.peek() != &Token::Comma {
                            break;
                        }
                        self.next();
                    }
                    if self.next() != Token::RBrace {
                        return self.fail(SelectorProblem::UnclosedSet);
                    }
                    values.sort();
                    values.dedup();
                    if op == Token::In {
                        Expr::In(label, values)
                    } else {
                        Expr::NotIn(label, values)
                    }
                }
                Token::End => return self.fail(SelectorProblem::UnexpectedEnd),
                _ => return self.fail(SelectorProblem::ExpectedOperator(label)),
            },
            Token::LParen => {
                let inner = self.or()?;
                if self.next() != Token::RParen {
                    return self.fail(SelectorProblem::UnclosedParenthesis);
                }
                inner
            }
            Token::End => return self.fail(SelectorProblem::UnexpectedEnd),
            _ => return self.fail(SelectorProblem::UnexpectedToken),
        };
        Ok(if negated {
            Expr::Not(Box::new(expr))
        } else {
            expr
        })
    }
}

impl Expr {
    /// Whether `global()` appears anywhere.
    pub fn mentions_global(&self) -> bool {
        match self {
            Expr::Global => true,
            Expr::Not(e) => e.mentions_global(),
            Expr::And(es) | Expr::Or(es) => es.iter().any(Expr::mentions_global),
            _ => false,
        }
    }

    /// Evaluates the selector on one endpoint's labels, as Calico does; `global()` is false
    /// (the endpoint is taken to be in a namespace).
    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Expr::All => true,
            Expr::Global => false,
            Expr::Has(k) => labels.contains_key(k),
            Expr::Eq(k, v) => labels.get(k) == Some(v),
            Expr::Ne(k, v) => labels.get(k) != Some(v),
            Expr::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Expr::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Expr::Substring(k, op, s) => labels.get(k).is_some_and(|v| match op {
                SubstringOp::Contains => v.contains(s.as_str()),
                SubstringOp::StartsWith => v.starts_with(s.as_str()),
                SubstringOp::EndsWith => v.ends_with(s.as_str()),
            }),
            Expr::Not(e) => !e.matches(labels),
            Expr::And(es) => es.iter().all(|e| e.matches(labels)),
            Expr::Or(es) => es.iter().any(|e| e.matches(labels)),
        }
    }
}

/// Writes a string literal in whichever quotes it does not contain.
fn quote(s: &str) -> String {
    if s.contains('\'') {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}

/// Renders the selector back in Calico syntax (fully parenthesised).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |vs: &[String]| vs.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ");
        match self {
            Expr::All => write!(f, "all()"),
            Expr::Global => write!(f, "global()"),
            Expr::Has(k) => write!(f, "has({k})"),
            Expr::Eq(k, v) => write!(f, "{k} == {}", quote(v)),
            Expr::Ne(k, v) => write!(f, "{k} != {}", quote(v)),
            Expr::In(k, vs) => write!(f, "{k} in {{{}}}", set(vs)),
            Expr::NotIn(k, vs) => write!(f, "{k} not in {{{}}}", set(vs)),
            Expr::Substring(k, op, v) => write!(f, "{k} {} {}", op.keyword(), quote(v)),
            Expr::Not(e) => write!(f, "!({e})"),
            Expr::And(es) | Expr::Or(es) => {
                let joint = if matches!(self, Expr::And(_)) {
                    " && "
                } else {
                    " || "
                };
                let parts: Vec<String> = es.iter().map(|e| format!("({e})")).collect();
                write!(f, "{}", parts.join(joint))
            }
        }
    }
}

/// The namespace label every namespace carries; Calico's `projectcalico.org/name` (on
/// namespaces) and `projectcalico.org/namespace` (on endpoints) say the same thing.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The label Calico gives a pod for its service account's name; it becomes a requirement on
/// imds-lint's [`SERVICE_ACCOUNT_LABEL`]. (`pcsa.<key>`, the service account's own labels, is
/// not known from a workload.)
const SERVICE_ACCOUNT_NAME_KEY: &str = "projectcalico.org/serviceaccount";

/// What the labels of a selector are labels of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Pods (a policy's `selector`, a rule's `source.selector`): Calico adds
    /// `projectcalico.org/namespace`, `projectcalico.org/orchestrator: k8s`,
    /// `projectcalico.org/serviceaccount` and the namespace's labels as `pcns.<key>`.
    Pods,
    /// Namespaces (`namespaceSelector`): Calico adds `projectcalico.org/name`.
    Namespaces,
    /// Destinations of a rule, of which only network sets can hold a metadata address: they
    /// carry their own labels and the namespace ones, nothing about orchestrators or service
    /// accounts.
    NetworkSets,
}

/// Which side of a (namespace, endpoint) pair a requirement constrains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Namespace,
    Endpoint,
}

/// What a label key means in a context.
enum Key {
    On(Side, String),
    /// Known without looking: the value every matching endpoint has (`None`: absent).
    Fixed(Option<&'static str>),
    /// Depends on something imds-lint does not read (service accounts).
    Unknown(String),
}

fn namespace_key(key: &str) -> String {
    if key == "projectcalico.org/name" {
        NAMESPACE_NAME_LABEL.to_string()
    } else {
        key.to_string()
    }
}

fn classify(context: Context, key: &str) -> Key {
    if context == Context::Namespaces {
        return Key::On(Side::Namespace, namespace_key(key));
    }
    if key == "projectcalico.org/namespace" {
        return Key::On(Side::Namespace, NAMESPACE_NAME_LABEL.to_string());
    }
    if let Some(ns_key) = key.strip_prefix("pcns.") {
        return Key::On(Side::Namespace, namespace_key(ns_key));
    }
    let service_account = key == SERVICE_ACCOUNT_NAME_KEY || key.starts_with("pcsa.");
    match context {
        Context::Pods if key == "projectcalico.org/orchestrator" => Key::Fixed(Some("k8s")),
        // The pod's service account's name is known from its workload.
        Context::Pods if key == SERVICE_ACCOUNT_NAME_KEY => {
            Key::On(Side::Endpoint, SERVICE_ACCOUNT_LABEL.to_string())
        }
        Context::Pods if service_account => Key::Unknown(format!(
            "the selector uses the service-account label {key:?}, and ServiceAccount objects' labels are not read"
        )),
        Context::NetworkSets if key == "projectcalico.org/orchestrator" || service_account => {
            Key::Fixed(None)
        }
        _ => Key::On(Side::Endpoint, key.to_string()),
    }
}

/// Why a selector has no exact DNF here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// Conjunctions the DNF may hold before the selector counts as too complex.
pub const MAX_CONJUNCTIONS: usize = 256;

/// One conjunction: requirements on the namespace's labels and on the endpoint's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conjunction {
    pub namespaces: Vec<Requirement>,
    pub endpoints: Vec<Requirement>,
}

impl Conjunction {
    fn push(&mut self, side: Side, r: Requirement) {
        let list = match side {
            Side::Namespace => &mut self.namespaces,
            Side::Endpoint => &mut self.endpoints,
        };
        if !list.contains(&r) {
            list.push(r);
        }
    }

    /// Adds a requirement the caller knows is not there yet.
    fn push_new(&mut self, side: Side, r: Requirement) {
        match side {
            Side::Namespace => self.namespaces.push(r),
            Side::Endpoint => self.endpoints.push(r),
        }
    }

    fn and(&self, other: &Conjunction) -> Conjunction {
        let mut out = self.clone();
        for r in &other.namespaces {
            out.push(Side::Namespace, r.clone());
        }
        for r in &other.endpoints {
            out.push(Side::Endpoint, r.clone());
        }
        out
    }

    fn is_satisfiable(&self) -> bool {
        [&self.namespaces, &self.endpoints].iter().all(|rs| {
            LabelSelector {
                requirements: rs.to_vec(),
            }
            .is_satisfiable()
        })
    }

    /// Evaluates on a namespace's and an endpoint's labels.
    pub fn matches(&self, namespace: &Labels, endpoint: &Labels) -> bool {
        self.namespaces.iter().all(|r| r.matches(namespace))
            && self.endpoints.iter().all(|r| r.matches(endpoint))
    }
}

/// A disjunction of conjunctions; empty is false, one empty conjunction is true.
pub type Dnf = Vec<Conjunction>;

pub fn always() -> Dnf {
    vec![Conjunction::default()]
}

fn too_complex() -> Unsupported {
    Unsupported(format!(
        "the selector expands to more than {MAX_CONJUNCTIONS} alternatives"
    ))
}

/// The conjunctions of `a` and of `b` ANDed pairwise, without contradictions.
pub fn and(a: &Dnf, b: &Dnf) -> Result<Dnf, Unsupported> {
    if a.len().saturating_mul(b.len()) > MAX_CONJUNCTIONS * MAX_CONJUNCTIONS {
        return Err(too_complex());
    }
    let mut out: Dnf = Vec::new();
    for x in a {
        for y in b {
            let c = x.and(y);
            if c.is_satisfiable() && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    simplify(out)
}

fn or(mut a: Dnf, b: Dnf) -> Result<Dnf, Unsupported> {
    for c in b {
        if !a.contains(&c) {
            a.push(c);
        }
    }
    simplify(a)
}

fn simplify(dnf: Dnf) -> Result<Dnf, Unsupported> {
    // Something that is always true absorbs every other alternative.
    if dnf
        .iter()
        .any(|c| c.namespaces.is_empty() && c.endpoints.is_empty())
    {
        return Ok(always());
    }
    if dnf.len() > MAX_CONJUNCTIONS {
        return Err(too_complex());
    }
    Ok(dnf)
}

fn requirement(key: String, operator: Operator, values: Vec<String>) -> Requirement {
    Requirement {
        key,
        operator,
        values,
    }
}

/// One atom (possibly negated) as a DNF: a single requirement, or a constant.
fn atom(context: Context, key: &str, test: Atom, negated: bool) -> Result<Dnf, Unsupported> {
    let truth = |holds: bool| {
        if holds != negated {
            always()
        } else {
            Vec::new()
        }
    };
    match classify(context, key) {
        Key::Unknown(reason) => Err(Unsupported(reason)),
        Key::Fixed(value) => Ok(truth(test.holds(value))),
        // Every pod has a service account: decided here, so that no pod class "without a
        // service account" is ever considered.
        Key::On(_, key) if key == SERVICE_ACCOUNT_LABEL && matches!(test, Atom::Has) => {
            Ok(truth(true))
        }
        // `in {}` never holds and `not in {}` always does, whatever the label.
        Key::On(..) if matches!(test, Atom::In([]) | Atom::NotIn([])) => {
            Ok(truth(test.holds(None)))
        }
        Key::On(side, key) => {
            let (operator, values) = test.requirement(negated);
            let mut c = Conjunction::default();
            c.push(side, requirement(key, operator, values));
            Ok(vec![c])
        }
    }
}

/// The test an atom makes on one label.
#[derive(Clone, Copy)]
enum Atom<'a> {
    Has,
    In(&'a [String]),
    NotIn(&'a [String]),
}

impl Atom<'_> {
    fn holds(self, value: Option<&str>) -> bool {
        match self {
            Atom::Has => value.is_some(),
            Atom::In(vs) => value.is_some_and(|v| vs.iter().any(|x| x == v)),
            Atom::NotIn(vs) => value.is_none_or(|v| vs.iter().all(|x| x != v)),
        }
    }

    /// The requirement for the atom, or for its negation.
    fn requirement(self, negated: bool) -> (Operator, Vec<String>) {
        match (self, negated) {
            (Atom::Has, false) => (Operator::Exists, Vec::new()),
            (Atom::Has, true) => (Operator::DoesNotExist, Vec::new()),
            (Atom::In(vs), false) | (Atom::NotIn(vs), true) => (Operator::In, vs.to_vec()),
            (Atom::NotIn(vs), false) | (Atom::In(vs), true) => (Operator::NotIn, vs.to_vec()),
        }
    }
}

/// The selector (or its negation) in disjunctive normal form, with negations pushed down to
/// the atoms (De Morgan) so that every atom is one label requirement.
pub fn to_dnf(expr: &Expr, context: Context, negated: bool) -> Result<Dnf, Unsupported> {
    match expr {
        Expr::All => Ok(if negated { Vec::new() } else { always() }),
        Expr::Global => match context {
            // Pods always live in a namespace.
            Context::Pods => Ok(if negated { always() } else { Vec::new() }),
            // No namespace: no namespace name label.
            Context::Namespaces | Context::NetworkSets => {
                let operator = if negated {
                    Operator::Exists
                } else {
                    Operator::DoesNotExist
                };
                let mut c = Conjunction::default();
                c.push(
                    Side::Namespace,
                    requirement(NAMESPACE_NAME_LABEL.into(), operator, Vec::new()),
                );
                Ok(vec![c])
            }
        },
        Expr::Has(k) => atom(context, k, Atom::Has, negated),
        Expr::Eq(k, v) => atom(context, k, Atom::In(std::slice::from_ref(v)), negated),
        Expr::Ne(k, v) => atom(context, k, Atom::NotIn(std::slice::from_ref(v)), negated),
        Expr::In(k, vs) => atom(context, k, Atom::In(vs), negated),
        Expr::NotIn(k, vs) => atom(context, k, Atom::NotIn(vs), negated),
        Expr::Substring(_, op, _) => Err(Unsupported(format!(
            "the selector uses the {:?} operator, which no label requirement can express",
            op.keyword()
        ))),
        Expr::Not(e) => to_dnf(e, context, !negated),
        Expr::And(es) | Expr::Or(es) => {
            // Under negation, && becomes || and back.
            let conjunctive = matches!(expr, Expr::And(_)) != negated;
            if conjunctive {
                return conjoin(es, context, negated);
            }
            let mut acc: Dnf = Vec::new();
            for e in es {
                let part = to_dnf(e, context, negated)?;
                acc = if conjunctive {
                    and(&acc, &part)?
                } else {
                    or(acc, part)?
                };
            }
            Ok(acc)
        }
    }
}

/// The conjunction of `es`. While every part is one conjunction (a long `a == 'x' && b ==
/// 'y' && …`), their requirements are gathered into one, each once, and its satisfiability
/// checked at the end: linear in the terms, where ANDing them pairwise copied and checked the
/// growing conjunction at every term.
fn conjoin(es: &[Expr], context: Context, negated: bool) -> Result<Dnf, Unsupported> {
    let mut single = Conjunction::default();
    let mut seen: HashSet<(bool, &Requirement)> = HashSet::new();
    let mut parts = Vec::with_capacity(es.len());
    let mut rest = es.iter();
    for e in rest.by_ref() {
        let part = to_dnf(e, context, negated)?;
        if part.len() != 1 {
            parts.push(part);
            break;
        }
        parts.push(part);
    }
    let gathered = parts.len() - usize::from(parts.last().is_some_and(|p| p.len() != 1));
    for part in &parts[..gathered] {
        let c = &part[0];
        for (namespace, list) in [(true, &c.namespaces), (false, &c.endpoints)] {
            for r in list {
                if seen.insert((namespace, r)) {
                    let side = if namespace {
                        Side::Namespace
                    } else {
                        Side::Endpoint
                    };
                    single.push_new(side, r.clone());
                }
            }
        }
    }
    let mut acc: Dnf = if single.is_satisfiable() {
        simplify(vec![single])?
    } else {
        Vec::new()
    };
    for part in &parts[gathered..] {
        acc = and(&acc, part)?;
    }
    for e in rest {
        let part = to_dnf(e, context, negated)?;
        acc = and(&acc, &part)?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn dnf(text: &str) -> Dnf {
        to_dnf(&parse(text).unwrap(), Context::Pods, false).unwrap()
    }

    /// Whether the DNF (pod context, no namespace labels used) selects a pod.
    fn dnf_matches(d: &Dnf, pod: &Labels) -> bool {
        d.iter().any(|c| c.matches(&Labels::default(), pod))
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> Requirement {
        Requirement {
            key: key.into(),
            operator,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn each_operator_parses() {
        assert_eq!(parse("").unwrap(), Expr::All);
        assert_eq!(parse("  all( )  ").unwrap(), Expr::All);
        assert_eq!(parse("global()").unwrap(), Expr::Global);
        assert_eq!(parse("has( app )").unwrap(), Expr::Has("app".into()));
        assert_eq!(
            parse("app=='web'").unwrap(),
            Expr::Eq("app".into(), "web".into())
        );
        assert_eq!(
            parse("app != \"web\"").unwrap(),
            Expr::Ne("app".into(), "web".into())
        );
        assert_eq!(
            parse("tier in {'b', \"a\",}").unwrap(),
            Expr::In("tier".into(), vec!["a".into(), "b".into()])
        );
        assert_eq!(
            parse("tier not  in {}").unwrap(),
            Expr::NotIn("tier".into(), vec![])
        );
        assert_eq!(
            parse("k8s.io/app contains 'we'").unwrap(),
            Expr::Substring("k8s.io/app".into(), SubstringOp::Contains, "we".into())
        );
        assert_eq!(
            parse("a starts with 'x'").unwrap(),
            Expr::Substring("a".into(), SubstringOp::StartsWith, "x".into())
        );
        assert_eq!(
            parse("a ends\twith 'x'").unwrap(),
            Expr::Substring("a".into(), SubstringOp::EndsWith, "x".into())
        );
        assert_eq!(
            parse("!!has(a)").unwrap(),
            Expr::Has("a".into()),
            "double negation collapses"
        );
        assert_eq!(
            parse("a == 'it''s'").map_err(|e| e.problem),
            Err(SelectorProblem::TrailingContent)
        );
        assert_eq!(
            parse("a == \"it's\"").unwrap(),
            Expr::Eq("a".into(), "it's".into())
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let e = parse("a == 'x' || b == 'y' && c == 'z'").unwrap();
        let Expr::Or(terms) = &e else { panic!("{e:?}") };
        assert_eq!(terms.len(), 2);
        assert!(matches!(&terms[1], Expr::And(parts) if parts.len() == 2));
        assert!(e.matches(&labels(&[("a", "x")])));
        assert!(!e.matches(&labels(&[("b", "y")])));
        let grouped = parse("(a == 'x' || b == 'y') && c == 'z'").unwrap();
        assert!(!grouped.matches(&labels(&[("a", "x")])));
        assert!(grouped.matches(&labels(&[("a", "x"), ("c", "z")])));
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "app = 'web'",
            "app == web",
            "app == 'web",
            "has(app",
            "has()",
            "all(",
            "(has(a)",
            "has(a))",
            "has(a) &&",
            "has(a) & has(b)",
            "has(a) | has(b)",
            "app",
            "app in 'a'",
            "app in {'a'",
            "app in {'a' 'b'}",
            "app is 'a'",
            "has(a) has(b)",
            "app == 'a'\n",
            "é",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn syntax_errors_say_what_and_where() {
        for (text, message, offset) in [
            ("app = 'web'", "expected ==", 4),
            ("app == 'web", "unterminated string", 7),
            ("app == web", "expected a quoted string", 7),
            ("has(app", "no closing ) after has(", 0),
            (
                "app is 'a'",
                "unexpected characters after label \"app\", expected an operator",
                4,
            ),
            ("app in {'a'", "expected }", 11),
            ("has(a) &&", "unexpected end of selector", 9),
            ("has(a) has(b)", "unexpected content at end of selector", 7),
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(error.to_string(), message, "{text:?}");
            assert_eq!(error.offset, Some(offset), "{text:?}");
        }
        let deep = format!("{}has(a){}", "(".repeat(65), ")".repeat(65));
        let error = parse(&deep).expect_err("too deep");
        assert_eq!(error.to_string(), "parentheses nest deeper than 64");
        assert_eq!(error.offset, None);
    }

    #[test]
    fn not_equal_and_not_in_hold_when_the_label_is_absent() {
        let d = dnf("app != 'web'");
        assert!(dnf_matches(&d, &labels(&[])));
        assert!(dnf_matches(&d, &labels(&[("app", "db")])));
        assert!(!dnf_matches(&d, &labels(&[("app", "web")])));
        let d = dnf("app not in {'web', 'db'}");
        assert!(dnf_matches(&d, &labels(&[])));
        assert!(!dnf_matches(&d, &labels(&[("app", "db")])));
        assert_eq!(dnf("app in {}"), Vec::<Conjunction>::new());
        assert_eq!(dnf("app not in {}"), always());
    }

    #[test]
    fn negation_is_pushed_down_to_requirements() {
        let d = dnf("!(has(a) && b == 'x')");
        assert_eq!(
            d,
            vec![
                Conjunction {
                    namespaces: vec![],
                    endpoints: vec![req("a", Operator::DoesNotExist, &[])],
                },
                Conjunction {
                    namespaces: vec![],
                    endpoints: vec![req("b", Operator::NotIn, &["x"])],
                },
            ]
        );
        let d = dnf("!(a in {'x'} || !has(b))");
        assert_eq!(
            d,
            vec![Conjunction {
                namespaces: vec![],
                endpoints: vec![
                    req("a", Operator::NotIn, &["x"]),
                    req("b", Operator::Exists, &[])
                ],
            }]
        );
        assert_eq!(dnf("!all()"), Vec::<Conjunction>::new());
        assert_eq!(dnf("has(a) && !has(a)"), Vec::<Conjunction>::new());
        assert_eq!(dnf("has(a) || !has(a)").len(), 2);
        assert_eq!(dnf("has(a) || all()"), always());
    }

    #[test]
    fn calico_labels_map_to_namespaces_and_constants() {
        let d = dnf("projectcalico.org/namespace == 'prod' && app == 'web'");
        assert_eq!(
            d,
            vec![Conjunction {
                namespaces: vec![req(NAMESPACE_NAME_LABEL, Operator::In, &["prod"])],
                endpoints: vec![req("app", Operator::In, &["web"])],
            }]
        );
        let d = dnf("pcns.team == 'a'");
        assert_eq!(d[0].namespaces, vec![req("team", Operator::In, &["a"])]);
        assert_eq!(dnf("projectcalico.org/orchestrator == 'k8s'"), always());
        assert_eq!(
            dnf("projectcalico.org/orchestrator != 'k8s'"),
            Vec::<Conjunction>::new()
        );
        assert_eq!(dnf("global()"), Vec::<Conjunction>::new());
        let ns = to_dnf(
            &parse("projectcalico.org/name in {'a'}").unwrap(),
            Context::Namespaces,
            false,
        )
        .unwrap();
        assert_eq!(
            ns[0].namespaces,
            vec![req(NAMESPACE_NAME_LABEL, Operator::In, &["a"])]
        );
        let global = to_dnf(&Expr::Global, Context::Namespaces, false).unwrap();
        assert_eq!(
            global[0].namespaces,
            vec![req(NAMESPACE_NAME_LABEL, Operator::DoesNotExist, &[])]
        );
        let sets = to_dnf(
            &parse("projectcalico.org/orchestrator == 'k8s'").unwrap(),
            Context::NetworkSets,
            false,
        )
        .unwrap();
        assert!(sets.is_empty(), "network sets are not pods");
    }

    #[test]
    fn unsupported_operators_and_labels_are_named() {
        let e = to_dnf(&parse("a contains 'x'").unwrap(), Context::Pods, false).unwrap_err();
        assert!(e.0.contains("\"contains\""), "{e:?}");
        let e = to_dnf(
            &parse("has(b) || a starts with 'x'").unwrap(),
            Context::Pods,
            false,
        )
        .unwrap_err();
        assert!(e.0.contains("starts with"), "{e:?}");
        let e = to_dnf(&parse("pcsa.role == 'x'").unwrap(), Context::Pods, false).unwrap_err();
        assert!(e.0.contains("service-account"), "{e:?}");
    }

    #[test]
    fn service_account_name_is_the_synthetic_pod_label() {
        let d = dnf("projectcalico.org/serviceaccount in {'batch', 'cron'} && app == 'x'");
        assert_eq!(
            d[0].endpoints,
            vec![
                req(SERVICE_ACCOUNT_LABEL, Operator::In, &["batch", "cron"]),
                req("app", Operator::In, &["x"]),
            ]
        );
        let pod = |sa: &str| labels(&[("app", "x"), (SERVICE_ACCOUNT_LABEL, sa)]);
        assert!(dnf_matches(&d, &pod("cron")) && !dnf_matches(&d, &pod("web")));
        let not = dnf("!(projectcalico.org/serviceaccount == 'web')");
        assert!(dnf_matches(&not, &pod("batch")) && !dnf_matches(&not, &pod("web")));
        assert_eq!(dnf("has(projectcalico.org/serviceaccount)"), always());
        assert!(dnf("!has(projectcalico.org/serviceaccount)").is_empty());
        // Network sets have no service account.
        let sets = to_dnf(
            &parse("has(projectcalico.org/serviceaccount)").unwrap(),
            Context::NetworkSets,
            false,
        )
        .unwrap();
        assert!(sets.is_empty());
        // imds-lint's synthetic key is not a Calico label name.
        assert!(parse("@serviceaccount == 'x'").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}has(a){}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(nesting(&deep) > MAX_NESTING);
        assert!(parse(&deep).is_err());
        let fine = format!(
            "{}has(a){}",
            "(".repeat(MAX_NESTING - 1),
            ")".repeat(MAX_NESTING - 1)
        );
        assert_eq!(parse(&fine).unwrap(), Expr::Has("a".into()));
        assert_eq!(nesting("a == '((('"), 0);
    }

    #[test]
    fn a_long_conjunction_is_one_conjunction_each_requirement_once() {
        let text: String = (0..5000)
            .map(|i| format!("k{} == 'v'", i % 4000))
            .collect::<Vec<_>>()
            .join(" && ");
        let d = dnf(&text);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].endpoints.len(), 4000, "repeated terms count once");
        assert_eq!(d[0].endpoints[0], req("k0", Operator::In, &["v"]));
        assert!(
            dnf(&format!("{text} && k7 == 'w'")).is_empty(),
            "contradiction"
        );
        // A disjunction part ends the gathering; the rest is ANDed as before.
        let mixed = dnf("a == 'x' && (b == 'y' || c == 'z') && d == 'w'");
        assert_eq!(mixed.len(), 2);
        assert!(mixed.iter().all(|c| c.endpoints.len() == 3));
    }

    #[test]
    fn dnf_is_capped() {
        // (a1 || b1) && (a2 || b2) && … doubles with every factor.
        let factors: Vec<String> = (0..9)
            .map(|i| format!("(a{i} == 'x' || b{i} == 'x')"))
            .collect();
        let e = to_dnf(&parse(&factors.join(" && ")).unwrap(), Context::Pods, false);
        assert_eq!(e, Err(too_complex()));
        let fine: Vec<String> = (0..8)
            .map(|i| format!("(a{i} == 'x' || b{i} == 'x')"))
            .collect();
        let d = to_dnf(&parse(&fine.join(" && ")).unwrap(), Context::Pods, false).unwrap();
        assert_eq!(d.len(), 256);
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        let key = prop::sample::select(vec!["a", "b", "c"]).prop_map(String::from);
        let value = prop::sample::select(vec!["x", "y"]).prop_map(String::from);
        let values = prop::collection::vec(value.clone(), 0..3);
        let leaf = prop_oneof![
            Just(Expr::All),
            Just(Expr::Global),
            key.clone().prop_map(Expr::Has),
            (key.clone(), value.clone()).prop_map(|(k, v)| Expr::Eq(k, v)),
            (key.clone(), value).prop_map(|(k, v)| Expr::Ne(k, v)),
            (key.clone(), values.clone()).prop_map(|(k, mut vs)| {
                vs.sort();
                vs.dedup();
                Expr::In(k, vs)
            }),
            (key, values).prop_map(|(k, mut vs)| {
                vs.sort();
                vs.dedup();
                Expr::NotIn(k, vs)
            }),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
            ]
        })
    }

    fn arb_labels() -> impl Strategy<Value = Labels> {
        prop::collection::btree_map(
            prop::sample::select(vec!["a", "b", "c"]).prop_map(String::from),
            prop::sample::select(vec!["x", "y", "z"]).prop_map(String::from),
            0..4,
        )
        .prop_map(|map| map.into_iter().collect())
    }

    proptest! {
        /// The DNF selects exactly the pods the expression does, and so does the expression
        /// read back from its rendering.
        #[test]
        fn dnf_agrees_with_direct_evaluation(expr in arb_expr(), pods in prop::collection::vec(arb_labels(), 1..8)) {
            let d = to_dnf(&expr, Context::Pods, false).unwrap();
            let negated = to_dnf(&expr, Context::Pods, true).unwrap();
            let reparsed = parse(&expr.to_string()).unwrap();
            for pod in &pods {
                prop_assert_eq!(dnf_matches(&d, pod), expr.matches(pod), "{} on {:?}", expr, pod);
                prop_assert_eq!(dnf_matches(&negated, pod), !expr.matches(pod));
                prop_assert_eq!(reparsed.matches(pod), expr.matches(pod));
            }
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn parser_never_panics(text in "[ a-c!=&|(){},'\"inotshé😀]{0,40}") {
            let _ = parse(&text);
        }
    }
}
