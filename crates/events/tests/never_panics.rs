//! `decode` never panics: not on arbitrary bytes, not on mutated fixtures.

use proptest::prelude::*;

fn fixtures() -> &'static [Vec<u8>] {
    static ALL: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    ALL.get_or_init(read_fixtures)
}

fn read_fixtures() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// One mutation of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                b"null".to_vec(),
                b"1".to_vec(),
                b"\"\"".to_vec(),
                b"[]".to_vec(),
                b"{}".to_vec(),
                b"\"arn:aws:iot:r:1:thing/x\"".to_vec(),
                b"/".to_vec(),
                b"\\u0000".to_vec(),
                b"-1e999".to_vec(),
            ])
        )
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let len = bytes.len().max(1);
    match m {
        Mutation::Flip(i, b) => {
            if let Some(x) = bytes.get_mut(i % len) {
                *x ^= b;
            }
        }
        Mutation::Delete(i, n) => {
            let start = (i % len).min(bytes.len());
            let end = (start + n).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Insert(i, s) => {
            let at = (i % len).min(bytes.len());
            bytes.splice(at..at, s.iter().copied());
        }
        Mutation::Truncate(i) => bytes.truncate(i % len),
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = iot_crr_events::decode(&bytes);
    }

    #[test]
    fn mutated_fixtures(which in any::<prop::sample::Index>(), ms in prop::collection::vec(mutation(), 1..6)) {
        let all = fixtures();
        let mut bytes = which.get::<Vec<u8>>(all).clone();
        for m in &ms {
            bytes = apply(bytes, m);
        }
        let _ = iot_crr_events::decode(&bytes);
    }

    /// Values of any type in any field of a fixture (structure kept, types changed).
    #[test]
    fn retyped_fields(which in any::<prop::sample::Index>(), field in any::<prop::sample::Index>(), v in prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ]) {
        let all = fixtures();
        let mut json: serde_json::Value = serde_json::from_slice(which.get::<Vec<u8>>(all)).unwrap();
        let obj = json.as_object_mut().unwrap();
        let target = if obj.contains_key("detail") {
            obj.get_mut("detail").unwrap().as_object_mut().unwrap()
        } else {
            obj
        };
        let keys: Vec<String> = target.keys().cloned().collect();
        let k = field.get(&keys).clone();
        target.insert(k, v);
        let _ = iot_crr_events::decode(json.to_string().as_bytes());
    }
}
