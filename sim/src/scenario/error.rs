//! Where a scenario is wrong: [`ScenarioError`] (file, line, column, key
//! path, message) and the helper that places an error at a value's span.

use std::fmt;

use serde_saphyr::Spanned;

/// An error in a scenario: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The key path, e.g. `hosts.minikube.routes[0].dev`.
    pub key: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.message)
    }
}

/// Makes errors that point at a value's place in the scenario file.
pub(super) struct Errs<'a> {
    pub(super) file: &'a str,
}

impl Errs<'_> {
    /// An error at `s`'s line and column, under the key path `key`.
    pub(super) fn at<T>(&self, s: &Spanned<T>, key: String, message: String) -> ScenarioError {
        ScenarioError {
            file: self.file.to_string(),
            line: s.referenced.line() as usize,
            column: s.referenced.column() as usize,
            key,
            message,
        }
    }
}
