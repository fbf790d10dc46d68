//! Copy-on-write lists ([`Shared`]): what lets a copy of the world (a
//! `reach` probe's) share every host and table it does not write. Imports
//! nothing of podpath.

use std::sync::Arc;

/// A list whose elements are shared between clones and copied on first
/// write: `v[i]` reads element `i` (shared or not), `&mut v[i]` gives this
/// list its own copy of it first (`Arc::make_mut`), so a change is never
/// seen through another clone. A clone of the list is a clone of its
/// pointers; what a run does with its copy is what it would do with a deep
/// copy.
pub struct Shared<T>(Vec<Arc<T>>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared(Vec::new())
    }
}

impl<T: std::fmt::Debug + Clone> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Clone> Shared<T> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.0.get(i).map(|a| &**a)
    }

    /// Element `i`, this list's own copy of it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.0.get_mut(i).map(Arc::make_mut)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + Clone {
        self.0.iter().map(|a| &**a)
    }

    /// Every element, each this list's own copy.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + ExactSizeIterator {
        self.0.iter_mut().map(Arc::make_mut)
    }

    pub fn push(&mut self, v: T) {
        self.0.push(Arc::new(v));
    }

    pub fn last(&self) -> Option<&T> {
        self.0.last().map(|a| &**a)
    }

    pub fn last_mut(&mut self) -> Option<&mut T> {
        self.0.last_mut().map(Arc::make_mut)
    }

    /// The elements, each its own copy (or the shared one when this list
    /// held the last pointer to it).
    pub fn into_vec(self) -> Vec<T> {
        self.0
            .into_iter()
            .map(|a| Arc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()))
            .collect()
    }
}

impl<T> From<Vec<T>> for Shared<T> {
    fn from(v: Vec<T>) -> Self {
        Shared(v.into_iter().map(Arc::new).collect())
    }
}

impl<T> FromIterator<T> for Shared<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> Self {
        Shared(it.into_iter().map(Arc::new).collect())
    }
}

impl<T> std::ops::Index<usize> for Shared<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.0[i]
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for Shared<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        Arc::make_mut(&mut self.0[i])
    }
}

impl<'a, T: Clone> IntoIterator for &'a Shared<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Map<std::slice::Iter<'a, Arc<T>>, fn(&'a Arc<T>) -> &'a T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|a| &**a)
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut Shared<T> {
    type Item = &'a mut T;
    type IntoIter =
        std::iter::Map<std::slice::IterMut<'a, Arc<T>>, fn(&'a mut Arc<T>) -> &'a mut T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut().map(Arc::make_mut)
    }
}
