//! De-aggregation, aggregation and their round trip.

use iot_crr_kpl::{
    AggregateError, Aggregator, DEFAULT_MAX_RECORD_SIZE, KINESIS_MAX_RECORD_SIZE, KplError, MAGIC,
    UserRecord, aggregate, deaggregate, is_aggregated,
};
use md5::{Digest, Md5};
use proptest::prelude::*;

type Input = (String, Option<String>, Vec<u8>);

/// Wraps protobuf bytes as an aggregated record (magic, body, MD5 of the body).
fn wrap(body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(&Md5::digest(body));
    out
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_bytes(key: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.push(key);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A `Record` message with the given indexes and data.
fn record(pk_index: u64, ehk_index: Option<u64>, data: &[u8]) -> Vec<u8> {
    let mut r = vec![0x08];
    varint(pk_index, &mut r);
    if let Some(i) = ehk_index {
        r.push(0x10);
        varint(i, &mut r);
    }
    field_bytes(0x1A, data, &mut r);
    r
}

/// An `AggregatedRecord` message from tables and encoded records.
fn body(pks: &[&str], ehks: &[&str], records: &[Vec<u8>]) -> Vec<u8> {
    let mut b = Vec::new();
    for k in pks {
        field_bytes(0x0A, k.as_bytes(), &mut b);
    }
    for k in ehks {
        field_bytes(0x12, k.as_bytes(), &mut b);
    }
    for r in records {
        field_bytes(0x1A, r, &mut b);
    }
    b
}

fn run_aggregator(agg: &mut Aggregator, inputs: &[Input]) -> Vec<iot_crr_kpl::KinesisRecord> {
    let mut out = Vec::new();
    for (pk, ehk, data) in inputs {
        out.extend(agg.add(pk, ehk.as_deref(), data).expect("record fits"));
    }
    out.extend(agg.finish());
    out
}

fn user_records_of(records: &[iot_crr_kpl::KinesisRecord]) -> Vec<Input> {
    let mut all = Vec::new();
    for r in records {
        let users = deaggregate(&r.data, &r.partition_key).expect("our own records decode");
        assert_eq!(users.len(), r.user_records);
        for (i, u) in users.into_iter().enumerate() {
            assert_eq!(u.sub_sequence_number, i as u64);
            // A plain record carries its explicit hash key outside the data.
            let ehk = if u.aggregated {
                u.explicit_hash_key
            } else {
                r.explicit_hash_key.clone()
            };
            all.push((u.partition_key, ehk, u.data));
        }
    }
    all
}

#[test]
fn plain_records_pass_through() {
    for data in [
        &b""[..],
        b"\xF3",
        b"\xF3\x89\x9A",
        b"hello",
        b"\xF3\x89\x9A\xC3 almost magic",
    ] {
        let users = deaggregate(data, "pk-1").unwrap();
        assert_eq!(
            users,
            vec![UserRecord {
                partition_key: "pk-1".into(),
                explicit_hash_key: None,
                data: data.to_vec(),
                sub_sequence_number: 0,
                aggregated: false,
            }]
        );
        assert!(!is_aggregated(data));
    }
}

#[test]
fn aggregated_record_with_tables_and_tags() {
    // Two partition keys, one explicit hash key used by the second record only, a tag on the
    // first record (tags are accepted and ignored).
    let mut first = record(1, None, b"one");
    let mut tag = Vec::new();
    field_bytes(0x0A, b"k", &mut tag);
    field_bytes(0x12, b"v", &mut tag);
    field_bytes(0x22, &tag, &mut first);
    let data = wrap(&body(
        &["a", "b"],
        &["42"],
        &[first, record(0, Some(0), b"two"), record(1, None, b"")],
    ));
    let users = deaggregate(&data, "outer").unwrap();
    let got: Vec<_> = users
        .iter()
        .map(|u| {
            (
                u.partition_key.as_str(),
                u.explicit_hash_key.as_deref(),
                u.data.as_slice(),
                u.sub_sequence_number,
                u.aggregated,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("b", None, &b"one"[..], 0, true),
            ("a", Some("42"), &b"two"[..], 1, true),
            ("b", None, &b""[..], 2, true),
        ]
    );
    // An aggregated record with no user record is valid and empty.
    assert_eq!(deaggregate(&wrap(&[]), "outer").unwrap(), vec![]);
}

#[test]
fn too_short() {
    for len in 4..20 {
        let mut data = MAGIC.to_vec();
        data.resize(len, 0);
        let err = deaggregate(&data, "pk").unwrap_err();
        assert!(
            matches!(err, KplError::TooShort { len: l } if l == len),
            "{err}"
        );
        assert!(err.to_string().contains("too short"), "{err}");
    }
}

#[test]
fn bad_checksum_names_expected_and_found() {
    let mut data = wrap(&body(&["a"], &[], &[record(0, None, b"x")]));
    let last = data.len() - 1;
    data[last] ^= 0xFF;
    let err = deaggregate(&data, "pk").unwrap_err();
    let KplError::BadChecksum { expected, found } = &err else {
        panic!("{err}");
    };
    assert_eq!(expected.len(), 32);
    assert_eq!(found.len(), 32);
    assert_ne!(expected, found);
    let msg = err.to_string();
    assert!(
        msg.contains("MD5") && msg.contains(expected.as_str()) && msg.contains(found.as_str()),
        "{msg}"
    );
    // A corrupted body (trailer unchanged) is a checksum error too.
    let mut data = wrap(&body(&["a"], &[], &[record(0, None, b"x")]));
    data[6] ^= 1;
    assert!(matches!(
        deaggregate(&data, "pk"),
        Err(KplError::BadChecksum { .. })
    ));
}

#[test]
fn truncated_protobuf() {
    let full = body(&["a"], &[], &[record(0, None, b"some data")]);
    for cut in 1..full.len() {
        let truncated = &full[..cut];
        match deaggregate(&wrap(truncated), "pk") {
            Err(KplError::Decode(e)) => {
                let msg = KplError::Decode(e).to_string();
                assert!(msg.contains("cannot be decoded"), "{msg}");
            }
            // Cutting exactly between fields leaves a valid (shorter) message.
            Ok(users) => assert!(users.is_empty() || cut == full.len()),
            Err(other) => panic!("cut {cut}: {other}"),
        }
    }
    // Cut inside the record's data: certainly a decode error.
    let err = deaggregate(&wrap(&full[..full.len() - 3]), "pk").unwrap_err();
    assert!(matches!(err, KplError::Decode(_)), "{err}");
    // Invalid UTF-8 in a partition key is a decode error, not a panic.
    let mut b = Vec::new();
    field_bytes(0x0A, b"\xFF\xFE", &mut b);
    field_bytes(0x1A, &record(0, None, b"x"), &mut b);
    assert!(matches!(
        deaggregate(&wrap(&b), "pk"),
        Err(KplError::Decode(_))
    ));
}

#[test]
fn partition_key_index_out_of_range() {
    let data = wrap(&body(
        &["a", "b"],
        &[],
        &[record(0, None, b"x"), record(2, None, b"y")],
    ));
    let err = deaggregate(&data, "pk").unwrap_err();
    assert!(
        matches!(
            err,
            KplError::PartitionKeyIndexOutOfRange {
                record: 1,
                index: 2,
                table_len: 2
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("partition key index 2 out of range"),
        "{err}"
    );
    // An index beyond usize on any platform.
    let data = wrap(&body(&["a"], &[], &[record(u64::MAX, None, b"x")]));
    assert!(matches!(
        deaggregate(&data, "pk"),
        Err(KplError::PartitionKeyIndexOutOfRange {
            index: u64::MAX,
            ..
        })
    ));
}

#[test]
fn explicit_hash_key_index_out_of_range() {
    let data = wrap(&body(
        &["a"],
        &["1"],
        &[record(0, Some(0), b"x"), record(0, Some(1), b"y")],
    ));
    let err = deaggregate(&data, "pk").unwrap_err();
    assert!(
        matches!(
            err,
            KplError::ExplicitHashKeyIndexOutOfRange {
                record: 1,
                index: 1,
                table_len: 1
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("explicit hash key index 1 out of range"),
        "{err}"
    );
    let data = wrap(&body(&["a"], &[], &[record(0, Some(0), b"x")]));
    assert!(matches!(
        deaggregate(&data, "pk"),
        Err(KplError::ExplicitHashKeyIndexOutOfRange { table_len: 0, .. })
    ));
}

#[test]
fn aggregator_deduplicates_partition_keys() {
    let mut agg = Aggregator::new();
    for i in 0..100 {
        assert!(
            agg.add("the-one-key", None, format!("d{i}").as_bytes())
                .unwrap()
                .is_none()
        );
    }
    let out = agg.finish().unwrap();
    assert_eq!(out.user_records, 100);
    assert_eq!(out.partition_key, "the-one-key");
    let hits = out.data.windows(11).filter(|w| w == b"the-one-key").count();
    assert_eq!(hits, 1, "the partition key is stored once");
    assert_eq!(out.size(), out.data.len() + "the-one-key".len());
    assert!(agg.finish().is_none());
    assert!(agg.is_empty());
}

#[test]
fn aggregator_size_accounting_is_exact() {
    let mut agg = Aggregator::new();
    for i in 0..300u32 {
        let pk = format!("pk-{}", i % 37);
        let ehk = (i % 3 == 0).then(|| format!("{}", u128::from(i) * 1_000_000_007));
        agg.add(&pk, ehk.as_deref(), &vec![b'x'; (i * 13 % 400) as usize])
            .unwrap();
    }
    let predicted = agg.size();
    let out = agg.finish().unwrap();
    assert_eq!(out.size(), predicted);
}

#[test]
fn aggregator_splits_at_max_size_and_refuses_oversize() {
    let max = 1000;
    let mut agg = Aggregator::with_max_size(max).unwrap();
    let inputs: Vec<Input> = (0..200)
        .map(|i| (format!("k{}", i % 5), None, vec![i as u8; 37]))
        .collect();
    let out = run_aggregator(&mut agg, &inputs);
    assert!(out.len() > 5);
    for r in &out {
        assert!(r.size() <= max, "{} > {max}", r.size());
        // Full enough: another 37-byte user record would not have fitted.
        assert!(r.size() + 37 + 8 > max || std::ptr::eq(r, out.last().unwrap()));
    }
    assert_eq!(user_records_of(&out), inputs);

    // Too large alone: refused, and the waiting records are kept.
    let mut agg = Aggregator::with_max_size(max).unwrap();
    agg.add("a", None, b"small").unwrap();
    let err = agg.add("a", None, &vec![0; max]).unwrap_err();
    assert!(
        matches!(err, AggregateError::RecordTooLarge { max: 1000, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("too large"));
    assert_eq!(agg.len(), 1);
    let out = agg.finish().unwrap();
    assert_eq!(
        deaggregate(&out.data, &out.partition_key).unwrap()[0].data,
        b"small"
    );

    // The default bound accepts close to 1 MiB and refuses 1 MiB.
    let mut agg = Aggregator::new();
    assert_eq!(agg.max_size(), DEFAULT_MAX_RECORD_SIZE);
    agg.add("k", None, &vec![0; DEFAULT_MAX_RECORD_SIZE - 64])
        .unwrap();
    assert!(matches!(
        agg.add("k", None, &vec![0; KINESIS_MAX_RECORD_SIZE]),
        Err(AggregateError::RecordTooLarge { .. })
    ));
}

#[test]
fn aggregator_validates_keys_and_bounds() {
    let mut agg = Aggregator::new();
    assert_eq!(
        agg.add("", None, b"x"),
        Err(AggregateError::EmptyPartitionKey)
    );
    let long = "é".repeat(257);
    assert_eq!(
        agg.add(&long, None, b"x"),
        Err(AggregateError::PartitionKeyTooLong { chars: 257 })
    );
    assert!(agg.add(&"é".repeat(256), None, b"x").is_ok());
    for bad in [
        "",
        "-1",
        "01",
        "1a",
        "340282366920938463463374607431768211456",
    ] {
        assert!(
            matches!(
                agg.add("k", Some(bad), b"x"),
                Err(AggregateError::InvalidExplicitHashKey { .. })
            ),
            "{bad:?}"
        );
    }
    for good in ["0", "7", "340282366920938463463374607431768211455"] {
        assert!(agg.add("k", Some(good), b"x").is_ok(), "{good}");
    }
    assert!(matches!(
        Aggregator::with_max_size(KINESIS_MAX_RECORD_SIZE + 1),
        Err(AggregateError::MaxSizeOutOfRange { .. })
    ));
    assert!(matches!(
        Aggregator::with_max_size(10),
        Err(AggregateError::MaxSizeOutOfRange { .. })
    ));
}

#[test]
fn aggregate_sends_a_lone_record_plain() {
    let out = aggregate([("pk", Some("12"), &b"hello"[..])], DEFAULT_MAX_RECORD_SIZE).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].data, b"hello");
    assert_eq!(out[0].partition_key, "pk");
    assert_eq!(out[0].explicit_hash_key.as_deref(), Some("12"));
    // Data that starts with the magic stays aggregated, so it reads back as itself.
    let tricky = [&MAGIC[..], b"not really"].concat();
    let out = aggregate([("pk", None, tricky.as_slice())], DEFAULT_MAX_RECORD_SIZE).unwrap();
    assert!(is_aggregated(&out[0].data) && out[0].data != tricky);
    assert_eq!(deaggregate(&out[0].data, "pk").unwrap()[0].data, tricky);
    // Two records: aggregated.
    let out = aggregate(
        [("a", None, &b"1"[..]), ("b", None, &b"2"[..])],
        DEFAULT_MAX_RECORD_SIZE,
    )
    .unwrap();
    assert_eq!(out.len(), 1);
    assert!(is_aggregated(&out[0].data));
    assert!(
        aggregate(std::iter::empty(), DEFAULT_MAX_RECORD_SIZE)
            .unwrap()
            .is_empty()
    );
}

fn input_strategy() -> impl Strategy<Value = Vec<Input>> {
    let pk = prop_oneof![(0u8..8).prop_map(|i| format!("pk-{i}")), "\\PC{1,40}",];
    let ehk = proptest::option::of(any::<u128>().prop_map(|v| v.to_string()));
    let data = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..3000),
    ];
    proptest::collection::vec((pk, ehk, data), 0..120)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(inputs in input_strategy(), max in 3200usize..40_000) {
        let mut agg = Aggregator::with_max_size(max).unwrap();
        let out = run_aggregator(&mut agg, &inputs);
        for r in &out {
            prop_assert!(r.size() <= max);
        }
        prop_assert_eq!(user_records_of(&out), inputs.clone());

        let out = aggregate(
            inputs.iter().map(|(p, e, d)| (p.as_str(), e.as_deref(), d.as_slice())),
            max,
        ).unwrap();
        for r in &out {
            prop_assert!(r.size() <= max);
        }
        prop_assert_eq!(user_records_of(&out), inputs);
    }

    #[test]
    fn arbitrary_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400), with_md5 in any::<bool>()) {
        let data = if with_md5 { wrap(&tail) } else { [&MAGIC[..], &tail].concat() };
        let _ = deaggregate(&data, "pk");
        let _ = deaggregate(&tail, "pk");
    }

    #[test]
    fn mutated_records_never_panic(inputs in input_strategy(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut agg = Aggregator::new();
        let out = run_aggregator(&mut agg, &inputs);
        for r in out {
            // Mutate the protobuf body and re-seal it so decoding gets past the checksum.
            let body_len = r.data.len() - MAGIC.len() - 16;
            let mut body = r.data[MAGIC.len()..MAGIC.len() + body_len].to_vec();
            for &(at, x) in &flips {
                if !body.is_empty() {
                    let i = at % body.len();
                    body[i] ^= x;
                }
            }
            body.truncate(cut % (body.len() + 1));
            let _ = deaggregate(&wrap(&body), "pk");
        }
    }
}
