//! Small sorted collections with deterministic serialisation.
//!
//! A thing has a handful of attributes and groups; a `BTreeMap` node for three entries
//! costs more than the entries. These keep entries in a sorted `Vec`, which is compact,
//! compares structurally and serialises in a stable order.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::resource::Name;

/// A string-to-string map kept sorted by key (attributes, tags). Serialised as a JSON
/// object; on input a repeated key keeps its last value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct StringMap(Vec<(Name, Name)>);

impl StringMap {
    /// An empty map.
    pub fn new() -> Self {
        StringMap(Vec::new())
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<Name>, value: impl Into<Name>) -> Option<Name> {
        let key = key.into();
        let value = value.into();
        match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Name> {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(key)) {
            Ok(i) => Some(self.0.remove(i).1),
            Err(_) => None,
        }
    }

    /// The entries, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&Name, &Name)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &Name> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl<K: Into<Name>, V: Into<Name>> FromIterator<(K, V)> for StringMap {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut v: Vec<(Name, Name)> = iter
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        // Stable sort, then keep the last value of a repeated key.
        v.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Name, Name)> = Vec::with_capacity(v.len());
        for (k, val) in v {
            match out.last_mut() {
                Some(last) if last.0 == k => last.1 = val,
                _ => out.push((k, val)),
            }
        }
        StringMap(out)
    }
}

impl Serialize for StringMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
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
                let mut v: Vec<(Name, Name)> = Vec::with_capacity(a.size_hint().unwrap_or(4));
                let mut sorted = true;
                while let Some((k, val)) = a.next_entry::<Name, Name>()? {
                    if let Some(last) = v.last() {
                        sorted &= last.0 < k;
                    }
                    v.push((k, val));
                }
                if sorted {
                    Ok(StringMap(v))
                } else {
                    Ok(v.into_iter().collect())
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// A sorted set of names (group names, policy names, principals). Serialised as a JSON
/// array; on input duplicates are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NameSet(Vec<Name>);

impl NameSet {
    /// An empty set.
    pub fn new() -> Self {
        NameSet(Vec::new())
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
    pub fn retain(&mut self, f: impl FnMut(&Name) -> bool) {
        self.0.retain(f);
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
        let mut v: Vec<Name> = iter.into_iter().map(Into::into).collect();
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
                let mut v: Vec<Name> = Vec::with_capacity(a.size_hint().unwrap_or(2));
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
        assert_eq!(m.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "z"]);
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
    fn string_map_rejects_non_string_values() {
        assert!(serde_json::from_str::<StringMap>(r#"{"a":1}"#).is_err());
    }
}
