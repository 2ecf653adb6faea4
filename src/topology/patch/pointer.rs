//! RFC 6901 JSON pointers, as the JSON 6902 patches of kustomize write them.

/// A pointer split into its reference tokens, unescaped (`~1` is `/`, `~0` is `~`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// As written, for messages.
    pub text: String,
    pub tokens: Vec<String>,
}

impl Pointer {
    /// `""` is the whole document; anything else starts with `/`.
    pub fn parse(text: &str) -> Result<Pointer, String> {
        let tokens = if text.is_empty() {
            Vec::new()
        } else if let Some(rest) = text.strip_prefix('/') {
            rest.split('/').map(unescape).collect()
        } else {
            // kustomize reads such a path its own way (`spec/x` lands at the document's
            // root); imds-lint does not guess.
            return Err(format!(
                "path {text:?} is not a JSON pointer: it must start with `/`"
            ));
        };
        Ok(Pointer {
            text: text.to_string(),
            tokens,
        })
    }

    /// The pointer to `tokens` (each escaped): the tests' way to write one.
    #[cfg(test)]
    pub fn from_tokens(tokens: &[&str]) -> Pointer {
        Pointer {
            text: tokens.iter().map(|t| format!("/{}", escape(t))).collect(),
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// One reference token as written (`~1` for `/`, `~0` for `~`) to its text.
fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Text to one reference token; the inverse of [`unescape`].
#[cfg(test)]
fn escape(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

/// An array index as kustomize's JSON patch library reads it (Go's `strconv.Atoi`: an
/// optional sign, then decimal digits; leading zeros allowed).
pub(super) fn index(token: &str) -> Option<i64> {
    let digits = token.strip_prefix(['+', '-']).unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_are_unescaped() {
        let p = Pointer::parse("/metadata/labels/a~1b~0c").unwrap();
        assert_eq!(p.tokens, ["metadata", "labels", "a/b~c"]);
        // `~01` is `~1` unescaped once, not `/`.
        assert_eq!(Pointer::parse("/~01").unwrap().tokens, ["~1"]);
        assert!(Pointer::parse("").unwrap().tokens.is_empty());
        assert_eq!(Pointer::parse("/").unwrap().tokens, [""]);
        assert!(Pointer::parse("spec/x").is_err());
    }

    #[test]
    fn indexes_read_as_go_atoi() {
        assert_eq!(index("01"), Some(1));
        assert_eq!(index("+1"), Some(1));
        assert_eq!(index("-2"), Some(-2));
        assert_eq!(index("-"), None);
        assert_eq!(index("1a"), None);
        assert_eq!(index(""), None);
        assert_eq!(index("99999999999999999999999"), None);
    }

    /// The brute-force oracle: unescape by scanning, one character at a time.
    fn unescape_by_scan(token: &str) -> Option<String> {
        let mut out = String::new();
        let mut chars = token.chars();
        while let Some(c) = chars.next() {
            if c == '~' {
                match chars.next()? {
                    '0' => out.push('~'),
                    '1' => out.push('/'),
                    _ => return None,
                }
            } else {
                out.push(c);
            }
        }
        Some(out)
    }

    proptest! {
        #[test]
        fn escape_round_trips(text in "[a-z/~01]{0,12}") {
            let token = escape(&text);
            prop_assert!(!token.contains('/'));
            prop_assert_eq!(&unescape(&token), &text);
            prop_assert_eq!(unescape_by_scan(&token), Some(text.clone()));
            let p = Pointer::parse(&format!("/a/{token}")).unwrap();
            prop_assert_eq!(&p.tokens, &vec!["a".to_string(), text.clone()]);
            prop_assert_eq!(Pointer::from_tokens(&["a", &text]), p);
        }

        #[test]
        fn unescape_agrees_with_a_scan(token in "[a-z~01]{0,12}") {
            if let Some(expected) = unescape_by_scan(&token) {
                prop_assert_eq!(unescape(&token), expected);
            }
        }
    }
}
