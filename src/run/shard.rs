//! Shards: `--shard I/N` runs the I-th of N parts of the selected
//! scenarios, so that N machines (CI jobs) share one suite.
//!
//! The split must be the same on every machine, whatever its paths, file
//! system order or clock: the selected scenarios are sorted by their feature
//! file's path relative to the features folder, then by line (an outline's
//! examples each by their own row), and dealt out in turn, as cards are —
//! the first to shard 1, the second to shard 2, …, the N+1-th to shard 1
//! again. Shards then differ by one scenario at most, and together run each
//! selected scenario exactly once. Scenarios that this target or machine
//! skips (`@fresh` on a shared backend, `@browser` without a browser) are
//! dealt too, so that whether a machine has a browser does not move any
//! other scenario to another shard; each is reported skipped by its own
//! shard.
//!
//! Which scenarios are selected is decided by `--tags` and `--name`, so
//! every shard of a suite must be given the same ones.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One part of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let form = "give it as I/N, the I-th of N shards (1/3, 2/3, 3/3)";
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not a shard: {form}"))?;
        let number = |part: &str, what: &str| {
            part.trim().parse::<usize>().map_err(|_| {
                format!("'{text}' is not a shard: {what} '{part}' is not a whole number; {form}")
            })
        };
        let index = number(index, "I")?;
        let count = number(count, "N")?;
        if count == 0 {
            return Err(format!(
                "'{text}' is not a shard: a suite is split into 1 or more shards; {form}"
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "'{text}' is not a shard: shards are numbered from 1 to {count}; {form}"
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A scenario as the split knows it: its feature file relative to the
/// features folder, with `/` between folders, and its line.
pub type Key = (String, usize);

/// The key of the scenario at `line` of the feature file `path`, found
/// under the features folder `root`.
pub fn key(root: &Path, path: Option<&Path>, line: usize) -> Key {
    let relative = path.map(|path| relative(root, path)).unwrap_or_default();
    (relative, line)
}

fn relative(root: &Path, path: &Path) -> String {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (root, path) = (canonical(root), canonical(path));
    let inside: PathBuf = path
        .strip_prefix(&root)
        .map(Path::to_path_buf)
        .unwrap_or(path);
    inside
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The scenarios of `shard`, out of every selected one.
#[derive(Debug, Clone)]
pub struct Members {
    /// The shard.
    pub shard: Shard,
    /// Its scenarios.
    pub keys: HashSet<Key>,
    /// How many scenarios the whole run selects, every shard together.
    pub selected: usize,
}

impl Members {
    /// Deals `selected` (in any order; duplicates count once) out to
    /// `shard.count` shards and keeps those of `shard`.
    pub fn deal(shard: Shard, selected: impl IntoIterator<Item = Key>) -> Members {
        let mut all: Vec<Key> = selected.into_iter().collect();
        all.sort();
        all.dedup();
        let keys = all
            .iter()
            .enumerate()
            .filter(|(position, _)| position % shard.count == shard.index - 1)
            .map(|(_, key)| key.clone())
            .collect();
        Members {
            shard,
            keys,
            selected: all.len(),
        }
    }

    /// Whether the scenario of `key` is this shard's.
    pub fn has(&self, key: &Key) -> bool {
        self.keys.contains(key)
    }

    /// What the shard runs, for the top of its output.
    pub fn describe(&self) -> String {
        if self.keys.is_empty() {
            let others = match self.selected {
                1 => "shard 1 runs it".to_owned(),
                n => format!("shards 1 to {n} run them all"),
            };
            format!(
                "Shard {}: no scenario; the run selects {} scenario(s), fewer than {} shards, and {others}.\n",
                self.shard, self.selected, self.shard.count,
            )
        } else {
            format!(
                "Shard {}: {} of the {} selected scenario(s).\n",
                self.shard,
                self.keys.len(),
                self.selected
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_read_and_bad_ones_say_why() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("1/1".parse(), Ok(Shard { index: 1, count: 1 }));
        for (text, why) in [
            ("0/3", "numbered from 1 to 3"),
            ("4/3", "numbered from 1 to 3"),
            ("1/0", "1 or more shards"),
            ("x", "give it as I/N"),
            ("a/3", "I 'a' is not a whole number"),
            ("1/-2", "N '-2' is not a whole number"),
            ("", "is not a shard"),
        ] {
            let error = text.parse::<Shard>().unwrap_err();
            assert!(error.contains(why), "{text}: {error}");
            assert!(error.contains(&format!("'{text}'")), "{text}: {error}");
        }
    }

    #[test]
    fn dealing_gives_every_scenario_to_exactly_one_shard_evenly() {
        let keys: Vec<Key> = (0..10)
            .flat_map(|file| (1..=7).map(move |line| (format!("f{file}.feature"), line * 3)))
            .collect();
        let count = 4;
        let shards: Vec<Members> = (1..=count)
            .map(|index| Members::deal(Shard { index, count }, keys.iter().rev().cloned()))
            .collect();
        let mut seen = HashSet::new();
        for members in &shards {
            assert!(members.keys.len().abs_diff(keys.len() / count) <= 1);
            for key in &members.keys {
                assert!(seen.insert(key.clone()), "{key:?} is in two shards");
            }
        }
        assert_eq!(seen.len(), keys.len());
        // The order the scenarios come in does not change the split.
        let again = Members::deal(Shard { index: 2, count }, keys.iter().cloned());
        assert_eq!(again.keys, shards[1].keys);
    }

    #[test]
    fn an_empty_shard_says_the_others_run_everything() {
        let members = Members::deal(
            Shard { index: 3, count: 3 },
            [("a".to_owned(), 1), ("a".to_owned(), 5)],
        );
        assert!(members.keys.is_empty());
        assert!(members.describe().contains(
            "the run selects 2 scenario(s), fewer than 3 shards, and shards 1 to 2 run them all"
        ));
    }

    #[test]
    fn keys_are_relative_to_the_features_folder() {
        let root = Path::new("/nowhere/features");
        assert_eq!(
            key(root, Some(Path::new("/nowhere/features/sub/x.feature")), 7),
            ("sub/x.feature".to_owned(), 7)
        );
    }
}
