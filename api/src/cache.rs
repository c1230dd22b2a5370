//! `Bounded`: the one in-process cache shape this code uses, a map shared between tasks that is
//! emptied when full and refilled by use. Its entries are cheap to recompute and the recent ones
//! are what matter (documents clients send again and again, renders of the latest events,
//! sellers of tickets just listed), so no eviction order is kept, and junk cannot crowd the
//! useful entries out for longer than one refill.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
};

pub struct Bounded<K, V> {
    map: Arc<Mutex<HashMap<K, V>>>,
    capacity: usize,
}

impl<K, V> Clone for Bounded<K, V> {
    fn clone(&self) -> Self {
        Self {
            map: self.map.clone(),
            capacity: self.capacity,
        }
    }
}

impl<K: Eq + Hash, V: Clone> Bounded<K, V> {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            map: Arc::default(),
            capacity,
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.map.lock().ok()?.get(key).cloned()
    }

    /// How many entries it holds now.
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Remembers `value`, first emptying the cache if it is full.
    pub fn insert(&self, key: K, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.capacity && !map.contains_key(&key) {
                map.clear();
            }
            map.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_is_emptied_before_it_grows() {
        let cache = Bounded::new(2);
        cache.insert("a", 1);
        cache.insert("b", 2);
        cache.insert("b", 3);
        assert_eq!((cache.get("a"), cache.get("b")), (Some(1), Some(3)));
        cache.insert("c", 4);
        assert_eq!((cache.get("a"), cache.get("b")), (None, None));
        assert_eq!(cache.get("c"), Some(4));
    }
}
