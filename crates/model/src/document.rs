//! Policy documents compared as JSON: AWS may reformat a document's whitespace or key
//! order, so two documents are the same when their JSON values are.

/// A policy document in comparable form: JSON with keys sorted at every level and no
/// insignificant whitespace, or the text itself when it is not JSON. (Keys are sorted
/// here rather than by `serde_json::Value`, whose map keeps insertion order when a
/// dependency turns on its `preserve_order` feature.)
pub fn canonical_document(doc: &str) -> String {
    fn write(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&m[k], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(x, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    match serde_json::from_str::<serde_json::Value>(doc) {
        Ok(v) => {
            let mut out = String::with_capacity(doc.len());
            write(&v, &mut out);
            out
        }
        Err(_) => doc.to_string(),
    }
}

/// Whether two policy documents are the same: equal text, or equal JSON values.
pub fn same_document(a: &str, b: &str) -> bool {
    a == b || canonical_document(a) == canonical_document(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_compare_as_json() {
        assert!(same_document(
            r#"{"a": 1, "b": [1, 2]}"#,
            r#"{"b":[1,2],"a":1}"#
        ));
        assert!(!same_document(r#"{"a": 1}"#, r#"{"a":2}"#));
        assert!(!same_document("not json", "not  json"));
        assert!(same_document("x", "x"));
        assert_eq!(
            canonical_document(r#"{ "b":1, "a":{"d":2,"c":3}}"#),
            r#"{"a":{"c":3,"d":2},"b":1}"#
        );
    }
}
