//! Python's `repr()` and `str()` of JSON values as Python's `json` module loads them (objects as
//! dicts in the request's key order, numbers as `int` or `float`), because jsonschema's, webob's
//! and the services' own messages embed them and conformance is judged on those texts.

use serde_json::Value;

/// `repr()` of a JSON value: `None`, `True`, `1`, `1.0`, `'text'`, `[...]`, `{'key': ...}`.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) if n.is_f64() => py_float(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(items) => format!("[{}]", items.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let items: Vec<String> = map.iter().map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v))).collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// `str()` of a JSON value (`%s` formatting): a string as it is, anything else its `repr()`.
pub fn py_display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// `repr()` of a `float`: the shortest digits that read back the same, in positional notation
/// for exponents from -4 to 15 (always with a fraction: `5.0`), scientific beyond (`1e+16`).
fn py_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "nan".into()
        } else if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = f.to_string();
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// `repr()` of a `str`: single quotes unless the text has one and no double quote, escapes for
/// backslashes, quotes and what is not printable.
pub fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !printable(c) => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// An approximation of `str.isprintable()`: controls, separators and common format characters
/// are not (unassigned code points, which Python escapes too, are shown as they are).
fn printable(c: char) -> bool {
    c == ' '
        || !(c.is_control()
            || c.is_whitespace()
            || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_quote_and_escape_as_python() {
        assert_eq!(py_str("x"), "'x'");
        assert_eq!(py_str(""), "''");
        assert_eq!(py_str("it's"), "\"it's\"");
        assert_eq!(py_str("a'\"b"), "'a\\'\"b'");
        assert_eq!(py_str("say \"hi\""), "'say \"hi\"'");
        assert_eq!(py_str("tab\there\u{7}"), "'tab\\there\\x07'");
        assert_eq!(py_str("back\\slash\r\n"), "'back\\\\slash\\r\\n'");
        assert_eq!(py_str(r"[\S]+"), r"'[\\S]+'");
    }

    #[test]
    fn unicode_is_shown_unless_python_escapes_it() {
        assert_eq!(py_str("é日本😀"), "'é日本😀'");
        assert_eq!(py_str("\u{7f}\u{85}\u{a0}"), "'\\x7f\\x85\\xa0'");
        assert_eq!(py_str("a\u{200b}b\u{2028}\u{feff}"), "'a\\u200bb\\u2028\\ufeff'");
    }

    #[test]
    fn numbers_keep_int_and_float_apart() {
        let reprs = |v: Value| py_repr(&v);
        assert_eq!(reprs(json!(1)), "1");
        assert_eq!(reprs(json!(-7)), "-7");
        assert_eq!(reprs(json!(18446744073709551615u64)), "18446744073709551615");
        assert_eq!(reprs(serde_json::from_str("1.0").unwrap()), "1.0");
        assert_eq!(reprs(json!(2.5)), "2.5");
        assert_eq!(reprs(json!(-0.0)), "-0.0");
        assert_eq!(reprs(json!(0.1)), "0.1");
        assert_eq!(reprs(json!(1e15)), "1000000000000000.0");
        assert_eq!(reprs(json!(1e16)), "1e+16");
        assert_eq!(reprs(json!(1e20)), "1e+20");
        assert_eq!(reprs(json!(0.0001)), "0.0001");
        assert_eq!(reprs(json!(0.00001)), "1e-05");
        assert_eq!(reprs(json!(1.5e-7)), "1.5e-07");
        assert_eq!(py_float(f64::INFINITY), "inf");
    }

    #[test]
    fn constants_and_nesting() {
        assert_eq!(py_repr(&json!(null)), "None");
        assert_eq!(py_repr(&json!(true)), "True");
        assert_eq!(py_repr(&json!(false)), "False");
        assert_eq!(py_repr(&json!([])), "[]");
        assert_eq!(py_repr(&json!({})), "{}");
        assert_eq!(py_repr(&json!([1, 2.5, 1e20, true, null, {"a": "b"}])), "[1, 2.5, 1e+20, True, None, {'a': 'b'}]");
        assert_eq!(py_repr(&json!({"a": [true, null, "it's"], "b": {"c": [{}]}})), r#"{'a': [True, None, "it's"], 'b': {'c': [{}]}}"#);
    }

    #[test]
    fn dicts_keep_the_request_order() {
        let body: Value = serde_json::from_str(r#"{"zeta": 1, "alpha": {"y": 2, "b": 3}, "mid": null}"#).unwrap();
        assert_eq!(py_repr(&body), "{'zeta': 1, 'alpha': {'y': 2, 'b': 3}, 'mid': None}");
    }

    #[test]
    fn str_of_a_string_is_bare() {
        assert_eq!(py_display(&json!("it's")), "it's");
        assert_eq!(py_display(&json!("")), "");
        assert_eq!(py_display(&json!(5)), "5");
        assert_eq!(py_display(&json!(null)), "None");
        assert_eq!(py_display(&json!({"k": "v"})), "{'k': 'v'}");
    }
}
