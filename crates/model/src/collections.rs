//! Small sorted collections with deterministic serialisation.
//!
//! A thing has a handful of attributes and groups; a `BTreeMap` node for three entries
//! costs more than the entries. These keep entries in a sorted `Vec`, which is compact,
//! compares structurally and serialises in a stable order.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use smallvec::SmallVec;

use crate::resource::Name;

/// A string-to-string map kept sorted by key (attributes, tags). Serialised as a JSON
/// object; on input a repeated key keeps its last value.
///
/// The entries live in one flat buffer (`len key len value ...`, lengths as LEB128
/// varints), which costs a sixth of a `Vec` of string pairs for a thing's few short
/// attributes: a million things in memory fit where they would not otherwise. Equality
/// is a byte comparison, since the encoding of a sorted map is canonical.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct StringMap(Box<[u8]>);

fn put_len(buf: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            buf.push(byte);
            return;
        }
        buf.push(byte | 0x80);
    }
}

/// The bytes [`put_str`] writes for `s`: a LEB128 length, then the text.
pub(crate) fn encoded_len(s: &str) -> usize {
    let mut n = s.len();
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len + s.len()
}

pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_len(buf, s.len());
    buf.extend_from_slice(s.as_bytes());
}

/// Iterates the entries of an encoded map.
#[derive(Clone)]
pub struct StringMapIter<'a> {
    rest: &'a [u8],
}

impl<'a> StringMapIter<'a> {
    fn take_str(&mut self) -> &'a str {
        // Only `put_str` writes the buffer, always from a `&str`.
        std::str::from_utf8(self.take_bytes()).expect("a StringMap holds UTF-8 only")
    }

    /// The bytes of the next string, without checking them again.
    fn take_bytes(&mut self) -> &'a [u8] {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let b = self.rest[0];
            self.rest = &self.rest[1..];
            n |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
            shift += 7;
        }
        let (s, rest) = self.rest.split_at(n);
        self.rest = rest;
        s
    }
}

impl<'a> Iterator for StringMapIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let k = self.take_str();
        let v = self.take_str();
        Some((k, v))
    }
}

impl StringMap {
    /// An empty map.
    pub fn new() -> Self {
        StringMap::default()
    }

    fn encode<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut buf = Vec::new();
        for (k, v) in entries {
            put_str(&mut buf, k);
            put_str(&mut buf, v);
        }
        StringMap(buf.into_boxed_slice())
    }

    /// A map from a buffer [`put_str`] filled with key, value, key, value ..., the keys
    /// strictly ascending (the caller checked).
    pub(crate) fn from_sorted_buffer(buf: Vec<u8>) -> Self {
        StringMap(buf.into_boxed_slice())
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries as bytes (UTF-8, as they were put in), in key order: for a writer
    /// that copies them out as they are.
    pub(crate) fn byte_entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut it = StringMapIter { rest: &self.0 };
        std::iter::from_fn(move || {
            if it.rest.is_empty() {
                return None;
            }
            let k = it.take_bytes();
            Some((k, it.take_bytes()))
        })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<Name>, value: impl Into<Name>) -> Option<Name> {
        let key = key.into();
        let value = value.into();
        let mut entries: Vec<(&str, &str)> = self.iter().collect();
        let old = match entries.binary_search_by(|(k, _)| (*k).cmp(key.as_str())) {
            Ok(i) => Some(Name::from(std::mem::replace(
                &mut entries[i].1,
                value.as_str(),
            ))),
            Err(i) => {
                entries.insert(i, (key.as_str(), value.as_str()));
                None
            }
        };
        let new = StringMap::encode(entries);
        *self = new;
        old
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Name> {
        let old = self.get(key).map(Name::from)?;
        let new = StringMap::encode(self.iter().filter(|(k, _)| *k != key));
        *self = new;
        Some(old)
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> StringMapIter<'_> {
        StringMapIter { rest: &self.0 }
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }
}

impl fmt::Debug for StringMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(K, V)> = iter.into_iter().collect();
        // Stable sort, then keep the last value of a repeated key.
        v.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(v.len());
        for (k, val) in &v {
            match out.last_mut() {
                Some(last) if last.0 == k.as_ref() => last.1 = val.as_ref(),
                _ => out.push((k.as_ref(), val.as_ref())),
            }
        }
        StringMap::encode(out)
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Appends a deserialised string to the map's buffer, without an intermediate `String`
/// when the input can lend it.
struct AppendStr<'b>(&'b mut Vec<u8>);

impl<'de> serde::de::DeserializeSeed<'de> for AppendStr<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for AppendStr<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        put_str(self.0, v);
        Ok(())
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<StringMap, A::Error> {
                let mut buf: Vec<u8> = Vec::new();
                let mut sorted = true;
                let mut last_key: Option<std::ops::Range<usize>> = None;
                loop {
                    let start = buf.len();
                    if a.next_key_seed(AppendStr(&mut buf))?.is_none() {
                        break;
                    }
                    let key = start..buf.len();
                    if let Some(prev) = &last_key {
                        // Encoded keys compare like their strings only when their
                        // lengths do; compare the decoded strings.
                        let p = StringMapIter {
                            rest: &buf[prev.clone()],
                        }
                        .take_str();
                        let k = StringMapIter {
                            rest: &buf[key.clone()],
                        }
                        .take_str();
                        sorted &= p < k;
                    }
                    a.next_value_seed(AppendStr(&mut buf))?;
                    last_key = Some(key);
                }
                let map = StringMap(buf.into_boxed_slice());
                if sorted {
                    Ok(map)
                } else {
                    Ok(map.iter().collect())
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// A sorted set of names (group names, policy names, principals). Serialised as a JSON
/// array; on input duplicates are dropped.
///
/// One name is kept inline: a thing is in one group and has one certificate, and a
/// certificate has one policy, far more often than not, and a one-name vector on the
/// heap costs 32 bytes besides the name (60 MB for a million things).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NameSet(SmallVec<[Name; 1]>);

impl NameSet {
    /// An empty set.
    pub fn new() -> Self {
        NameSet(SmallVec::new())
    }

    /// A set from names already strictly ascending (the caller checked).
    pub(crate) fn from_sorted(names: SmallVec<[Name; 1]>) -> Self {
        NameSet(names)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `name` is in the set.
    pub fn contains(&self, name: &str) -> bool {
        self.0.binary_search_by(|n| n.as_str().cmp(name)).is_ok()
    }

    /// Adds `name`; returns whether it was new.
    pub fn insert(&mut self, name: impl Into<Name>) -> bool {
        let name = name.into();
        match self.0.binary_search(&name) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, name);
                true
            }
        }
    }

    /// Removes `name`; returns whether it was present.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.0.binary_search_by(|n| n.as_str().cmp(name)) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    /// Keeps the names for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&Name) -> bool) {
        self.0.retain(|n| f(n));
    }

    /// The names, sorted.
    pub fn iter(&self) -> std::slice::Iter<'_, Name> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a NameSet {
    type Item = &'a Name;
    type IntoIter = std::slice::Iter<'a, Name>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<N: Into<Name>> FromIterator<N> for NameSet {
    fn from_iter<I: IntoIterator<Item = N>>(iter: I) -> Self {
        let mut v: SmallVec<[Name; 1]> = iter.into_iter().map(Into::into).collect();
        v.sort();
        v.dedup();
        NameSet(v)
    }
}

impl Serialize for NameSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut q = s.serialize_seq(Some(self.0.len()))?;
        for n in &self.0 {
            q.serialize_element(n)?;
        }
        q.end()
    }
}

impl<'de> Deserialize<'de> for NameSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NameSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<NameSet, A::Error> {
                let mut v: SmallVec<[Name; 1]> = SmallVec::new();
                let mut sorted = true;
                while let Some(n) = a.next_element::<Name>()? {
                    if let Some(last) = v.last() {
                        sorted &= *last < n;
                    }
                    v.push(n);
                }
                if sorted {
                    Ok(NameSet(v))
                } else {
                    Ok(v.into_iter().collect())
                }
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_map_sorts_and_keeps_last_duplicate() {
        let m: StringMap = serde_json::from_str(r#"{"b":"1","a":"2","b":"3"}"#).unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":"2","b":"3"}"#);
        assert_eq!(m.get("b"), Some("3"));
        assert_eq!(m.get("c"), None);
    }

    #[test]
    fn string_map_insert_remove() {
        let mut m = StringMap::new();
        assert_eq!(m.insert("z", "1"), None);
        assert_eq!(m.insert("a", "2"), None);
        assert_eq!(m.insert("z", "3").as_deref(), Some("1"));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "z"]);
        assert_eq!(m.get("z"), Some("3"));
        assert_eq!(m.remove("a").as_deref(), Some("2"));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn name_set_sorts_and_dedups() {
        let s: NameSet = serde_json::from_str(r#"["c","a","c","b"]"#).unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["a","b","c"]"#);
        assert!(s.contains("b"));
        let mut s = s;
        assert!(!s.insert("a"));
        assert!(s.remove("a"));
        assert!(!s.remove("a"));
    }

    #[test]
    fn string_map_encoding_handles_long_and_unicode_strings() {
        let long = "x".repeat(300);
        let m: StringMap = [("é", "ü"), (long.as_str(), "v"), ("", "")]
            .into_iter()
            .collect();
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(&long), Some("v"));
        assert_eq!(m.get(""), Some(""));
        let json = serde_json::to_string(&m).unwrap();
        let back: StringMap = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let escaped: StringMap = serde_json::from_str(r#"{"a\"b":"\u00e9"}"#).unwrap();
        assert_eq!(escaped.get("a\"b"), Some("é"));
    }

    #[test]
    fn string_map_rejects_non_string_values() {
        assert!(serde_json::from_str::<StringMap>(r#"{"a":1}"#).is_err());
    }
}
