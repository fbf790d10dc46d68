//! Copy-on-write lists ([`Shared`]): what lets a copy of the world (a
//! `reach` probe's) share every host and table it does not write. Imports
//! nothing of podpath.

use std::sync::Arc;

/// A list whose elements are shared between clones and copied on first
/// write: `v[i]` reads element `i` (shared or not), `&mut v[i]` gives this
/// list its own copy of it first, so a change is never seen through
/// another clone. What a run does with its copy is what it would do with
/// a deep copy.
///
/// A clone costs the same whatever the length: the elements are held
/// behind one shared pointer (`base`), and a list whose base is shared
/// keeps its own copies of the elements it wrote apart (`over`, sorted by
/// index), so a `reach` probe's copy of a 1,000-host world pays for the
/// few hosts its packets pass, not for the list. A list that holds the only
/// pointer to its base writes in it directly.
pub struct Shared<T> {
    base: Arc<Vec<Arc<T>>>,
    /// (index, this list's copy), sorted by index: written elements of a
    /// base other lists share.
    over: Vec<(usize, Arc<T>)>,
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            base: Arc::clone(&self.base),
            over: self.over.clone(),
        }
    }
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            base: Arc::new(Vec::new()),
            over: Vec::new(),
        }
    }
}

impl<T: std::fmt::Debug + Clone> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Shared<T> {
    fn at(&self, i: usize) -> &Arc<T> {
        if !self.over.is_empty() {
            if let Ok(k) = self.over.binary_search_by_key(&i, |(j, _)| *j) {
                return &self.over[k].1;
            }
        }
        &self.base[i]
    }
}

impl<T: Clone> Shared<T> {
    pub fn len(&self) -> usize {
        self.base.len()
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        (i < self.len()).then(|| &**self.at(i))
    }

    /// Element `i`, this list's own copy.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len() {
            return None;
        }
        let k = match self.over.binary_search_by_key(&i, |(j, _)| *j) {
            Ok(k) => k,
            Err(k) => {
                if Arc::get_mut(&mut self.base).is_some() {
                    let b = Arc::get_mut(&mut self.base).expect("unique");
                    return Some(Arc::make_mut(&mut b[i]));
                }
                self.over.insert(k, (i, Arc::clone(&self.base[i])));
                k
            }
        };
        Some(Arc::make_mut(&mut self.over[k].1))
    }

    /// The base made this list's alone, with its written elements in it.
    fn own(&mut self) -> &mut Vec<Arc<T>> {
        if Arc::get_mut(&mut self.base).is_none() {
            self.base = Arc::new((*self.base).clone());
        }
        let b = Arc::get_mut(&mut self.base).expect("made unique");
        for (i, v) in self.over.drain(..) {
            b[i] = v;
        }
        b
    }

    /// Folds this list's written elements into a base of its own, so that
    /// its clones share them too (a clone copies the written elements'
    /// pointers: one per element written since the list was last
    /// compacted).
    pub fn compact(&mut self) {
        if !self.over.is_empty() {
            self.own();
        }
    }

    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            s: self,
            range: 0..self.len(),
        }
    }

    /// Every element, each this list's own copy.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + ExactSizeIterator {
        self.own().iter_mut().map(Arc::make_mut)
    }

    pub fn push(&mut self, v: T) {
        self.own().push(Arc::new(v));
    }

    pub fn last(&self) -> Option<&T> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.len().checked_sub(1).and_then(|i| self.get_mut(i))
    }

    /// The elements, each its own copy (or the shared one when this list
    /// held the last pointer to it).
    pub fn into_vec(mut self) -> Vec<T> {
        std::mem::take(self.own())
            .into_iter()
            .map(|a| Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()))
            .collect()
    }
}

/// The elements of a [`Shared`], in order.
#[derive(Clone)]
pub struct Iter<'a, T> {
    s: &'a Shared<T>,
    range: std::ops::Range<usize>,
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        let i = self.range.next()?;
        Some(&**self.s.at(i))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let i = self.range.next_back()?;
        Some(&**self.s.at(i))
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Self {
        v.into_iter().collect()
    }
}

impl<T> FromIterator<T> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        Shared {
            base: Arc::new(it.into_iter().map(Arc::new).collect()),
            over: Vec::new(),
        }
    }
}

impl<T> std::ops::Index<usize> for Shared<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        self.at(i)
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for Shared<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let n = self.len();
        self.get_mut(i)
            .unwrap_or_else(|| panic!("index {i} out of range for a list of {n}"))
    }
}

impl<'a, T: Clone> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut Shared<T> {
    type Item = &'a mut T;
    type IntoIter =
        std::iter::Map<std::slice::IterMut<'a, Arc<T>>, fn(&'a mut Arc<T>) -> &'a mut T>;
    fn into_iter(self) -> Self::IntoIter {
        self.own().iter_mut().map(Arc::make_mut)
    }
}

#[cfg(test)]
mod tests {
    use super::Shared;

    #[test]
    fn a_clone_sees_none_of_the_others_writes() {
        let mut a: Shared<Vec<u32>> = (0..100).map(|i| vec![i]).collect();
        let mut b = a.clone();
        b[7].push(70);
        b[3].push(30);
        assert_eq!(a[7], vec![7]);
        assert_eq!(b[7], vec![7, 70]);
        a[7].push(71);
        assert_eq!((a[7].clone(), b[7].clone()), (vec![7, 71], vec![7, 70]));
        // the written elements stay this list's, in every way of reading
        let seen: Vec<usize> = b.iter().map(Vec::len).collect();
        assert_eq!(seen.iter().sum::<usize>(), 102);
        assert_eq!(b.iter().rev().nth(92), Some(&vec![7, 70]));
        let c = b.clone();
        b.push(vec![100]);
        assert_eq!((b.len(), c.len(), a.len()), (101, 100, 100));
        assert_eq!(c[3], vec![3, 30]);
        for v in &mut b {
            v.push(0);
        }
        assert_eq!(b[3], vec![3, 30, 0]);
        assert_eq!(c[3], vec![3, 30]);
        assert_eq!(a[3], vec![3]);
        let v = c.into_vec();
        assert_eq!(v[7], vec![7, 70]);
        assert_eq!(b.last(), Some(&vec![100, 0]));
        assert!(b.get(101).is_none());
    }
}
