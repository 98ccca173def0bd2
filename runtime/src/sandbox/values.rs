//! The per-service value store a check reads and writes through the
//! `value-store` import, so a fresh instance can see what the previous run
//! of the same service left.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_LEN: usize = 64 << 10;
/// Most keys per service.
pub const MAX_KEYS: usize = 64;

/// The values one service's check has stored. Runs that do not complete
/// (timeout, trap, memory limit) leave it unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Values {
    entries: BTreeMap<String, Vec<u8>>,
}

impl Values {
    /// An empty store.
    pub fn new() -> Values {
        Values::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.entries.get(key).map(Vec::as_slice)
    }

    /// Stores `value` under `key`, within the store's limits.
    pub fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        if key.len() > MAX_KEY_LEN {
            return Err(format!(
                "value-store key of {} bytes is longer than the limit of {MAX_KEY_LEN} bytes",
                key.len()
            ));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(format!(
                "value-store value for '{key}' of {} bytes is larger than the limit of {MAX_VALUE_LEN} bytes",
                value.len()
            ));
        }
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_KEYS {
            return Err(format!("value-store is full: at most {MAX_KEYS} keys per service"));
        }
        self.entries.insert(key, value);
        Ok(())
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Every key and its value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Number of keys stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_enforced_and_name_the_limit() {
        let mut v = Values::new();
        assert!(v.set("k".repeat(MAX_KEY_LEN + 1), vec![]).unwrap_err().contains("256 bytes"));
        assert!(v.set("k".into(), vec![0; MAX_VALUE_LEN + 1]).unwrap_err().contains("65536 bytes"));
        for i in 0..MAX_KEYS {
            v.set(format!("k{i}"), vec![1]).unwrap();
        }
        assert!(v.set("one-more".into(), vec![]).unwrap_err().contains("at most 64 keys"));
        v.set("k0".into(), vec![2]).unwrap();
        assert_eq!(v.get("k0"), Some(&[2u8][..]));
        v.delete("k0");
        assert_eq!(v.get("k0"), None);
    }
}
