//! The common shape of a quote read in one pass over its bytes, without a JSON parser.
//!
//! SPEC's canonical quote is a flat object whose members are plain strings, integers or `null`,
//! and for those serde_json's general scanning was about 6 % of the graph's time (`perf` of
//! `dataflow/graph/1`, README "Benchmarks").
//! [`members`] reads only that shape, and gives up on anything else: an escape, a control
//! character, a fraction or exponent, a nested value, a malformed object. The caller then parses
//! the message with serde_json as before, so the shapes accepted here are a subset whose raw
//! member texts are exactly what serde_json gives, and every rejection still comes from the
//! parser (a property test in `decode` checks both).

/// Calls `member` with each key and raw JSON value text of `text`, in order, when `text` is a
/// flat object of that shape; `false` as soon as it is not, or `member` returns `false`.
pub(super) fn members<'a>(text: &'a str, mut member: impl FnMut(&'a str, &'a str) -> bool) -> bool {
    let bytes = text.as_bytes();
    let mut at = blank(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return false;
    }
    at = blank(bytes, at + 1);
    if bytes.get(at) == Some(&b'}') {
        return blank(bytes, at + 1) == bytes.len();
    }
    loop {
        let Some(key_end) = string_end(bytes, at) else {
            return false;
        };
        let key = text.get(at + 1..key_end - 1);
        at = blank(bytes, key_end);
        if bytes.get(at) != Some(&b':') {
            return false;
        }
        at = blank(bytes, at + 1);
        let value_end = match bytes.get(at) {
            Some(b'"') => string_end(bytes, at),
            Some(b'1'..=b'9') => Some(digits_end(bytes, at + 1)),
            Some(b'0') => Some(at + 1),
            Some(b'n') if bytes[at..].starts_with(b"null") => Some(at + 4),
            _ => None,
        };
        // Both ends are at ASCII bytes, so the slices fall on character boundaries.
        let (Some(key), Some(value)) = (key, value_end.and_then(|end| text.get(at..end))) else {
            return false;
        };
        if !member(key, value) {
            return false;
        }
        at = blank(bytes, at + value.len());
        match bytes.get(at) {
            Some(b',') => at = blank(bytes, at + 1),
            Some(b'}') => return blank(bytes, at + 1) == bytes.len(),
            _ => return false,
        }
    }
}

/// The index past JSON whitespace from `at`.
fn blank(bytes: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(at) {
        at += 1;
    }
    at
}

/// The index past the digits from `at`.
fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

/// The index past the string starting at `at`, if there is one there without escapes or
/// control characters.
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let mut i = at + 1;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' | 0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Option<Vec<(String, String)>> {
        let mut seen = Vec::new();
        members(text, |k, v| {
            seen.push((k.to_owned(), v.to_owned()));
            true
        })
        .then_some(seen)
    }

    #[test]
    fn reads_the_spec_example() {
        let text = r#"{"pair": "BTC-USD", "bid": "50000.10", "ask": "50000.60", "timestamp": "2026-11-21T10:00:00.123Z"}"#;
        let pairs = |m: &[(&str, &str)]| -> Vec<(String, String)> {
            m.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            read(text),
            Some(pairs(&[
                ("pair", r#""BTC-USD""#),
                ("bid", r#""50000.10""#),
                ("ask", r#""50000.60""#),
                ("timestamp", r#""2026-11-21T10:00:00.123Z""#),
            ]))
        );
        assert_eq!(
            read(" {\"t\" :\t0 ,\"u\":null,\"v\":1700}\n"),
            Some(pairs(&[("t", "0"), ("u", "null"), ("v", "1700")]))
        );
        assert_eq!(read("{}"), Some(Vec::new()));
        assert_eq!(read(r#"{"é":"€"}"#), Some(pairs(&[("é", r#""€""#)])));
    }

    #[test]
    fn gives_up_on_other_shapes() {
        for text in [
            r#"{"a":"\n"}"#,
            "{\"a\":\"\t\"}",
            r#"{"a":1.5}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-1}"#,
            r#"{"a":01}"#,
            r#"{"a":true}"#,
            r#"{"a":{}}"#,
            r#"{"a":[1]}"#,
            r#"{"a":nul}"#,
            r#"{"a":nullx}"#,
            r#"{"a":"1",}"#,
            r#"{"a":"1"} x"#,
            r#"{"a":"1""#,
            r#"{"a" "1"}"#,
            r#"["a"]"#,
            "",
        ] {
            assert_eq!(read(text), None, "{text}");
        }
    }
}
