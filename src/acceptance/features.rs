//! Feature files: finding and reading them so that none is ever dropped,
//! and the project's own, compiled into the library so `discos-sim check`
//! can run them with no checkout at hand.
//!
//! Every run reads its feature files here before anything starts. A file
//! that cannot be read or parsed stops the run, the dry run and the step
//! listing with its place and what was expected there; so does a file
//! Gherkin would accept but whose scenarios would silently never run (a
//! misspelt `Scenerio:` makes the rest of the file a description; a
//! misspelt `Gvien` before a scenario's first step makes it part of the
//! scenario's description).

use std::fmt;
use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use cucumber::gherkin::{self, Feature, GherkinEnv, ParseFileError};

/// Every file of `features/`, by name, with its text: `build.rs` lists the
/// folder, so a new feature file is compiled in without a list to keep.
pub const FEATURES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/features.rs"));

/// Files the features refer to, by path relative to the project's root.
pub const FIXTURES: &[(&str, &str)] = &[(
    "fixtures/catalogue.toml",
    include_str!("../../fixtures/catalogue.toml"),
)];

/// The compiled-in features, unpacked as `features/` and `fixtures/` under
/// a fresh directory, which is removed when this is dropped.
#[derive(Debug)]
pub struct Unpacked {
    root: PathBuf,
}

impl Unpacked {
    /// Unpacks under `parent`.
    pub fn new(parent: &Path) -> std::io::Result<Unpacked> {
        let root = parent.join(format!("discos-check-{}", std::process::id()));
        // Removed on drop; by the reaper if the run is killed first.
        crate::orchestration::reaper().remove_at_exit(&root)?;
        let unpacked = Unpacked { root };
        std::fs::create_dir_all(unpacked.features())?;
        for (name, text) in FEATURES {
            std::fs::write(unpacked.features().join(name), text)?;
        }
        for (path, text) in FIXTURES {
            let path = unpacked.root.join(path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(path, text)?;
        }
        Ok(unpacked)
    }

    /// The directory of `.feature` files.
    pub fn features(&self) -> PathBuf {
        self.root.join("features")
    }
}

impl Drop for Unpacked {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

// ------------------------------------------------------------- reading

/// A feature file that cannot be run as written: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The file, as the user knows it.
    pub file: String,
    /// Line and column (from 1) of the problem, when it has a place.
    pub at: Option<(usize, usize)>,
    /// What is wrong there, and what was expected.
    pub problem: String,
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.problem),
            None => write!(f, "{}: {}", self.file, self.problem),
        }
    }
}

impl std::error::Error for Unreadable {}

/// The `.feature` files a run reads from `path`: the file itself, or every
/// one under the folder, in the order cucumber reads them (its extension in
/// any case, as cucumber matches it). A folder or entry that cannot be
/// listed is an error, not a file left out.
pub fn files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| anyhow::anyhow!("cannot read the folder {}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| anyhow::anyhow!("cannot read the folder {}: {e}", dir.display()))?;
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("feature"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads and parses the feature file at `path` (shown as `shown`), its
/// outlines expanded, as a run will.
pub fn read(path: &Path, shown: &str) -> Result<Feature, Unreadable> {
    let unreadable = |at, problem| Unreadable {
        file: shown.to_owned(),
        at,
        problem,
    };
    let bytes =
        std::fs::read(path).map_err(|e| unreadable(None, format!("cannot read it: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|error| {
        let byte = bytes.get(error.valid_up_to()).copied().unwrap_or_default();
        unreadable(
            Some(place_of(&bytes[..error.valid_up_to()])),
            format!("byte 0x{byte:02x} is not UTF-8; a feature file is UTF-8 text"),
        )
    })?;
    // Parsed from the file, as cucumber parses it: its error keeps the
    // parser's reason (an unknown keyword, a ragged table).
    let parsed = Feature::parse_path(path, GherkinEnv::default()).map_err(|error| match error {
        ParseFileError::Parsing { error, source, .. } => {
            let (at, problem) = explain(text, error.as_ref(), &source.to_string());
            unreadable(Some(at), problem)
        }
        ParseFileError::Reading { source, .. } => {
            unreadable(None, format!("cannot read it: {source}"))
        }
    });
    expand(checked(text, shown, parsed)?, shown)
}

/// `feature` with each outline's examples expanded into scenarios, as a
/// run expands them.
pub fn expand(feature: Feature, shown: &str) -> Result<Feature, Unreadable> {
    feature.expand_examples().map_err(|error| Unreadable {
        file: shown.to_owned(),
        at: Some((error.pos.line, error.pos.col)),
        problem: format!(
            "<{}> is not a column of the outline's Examples table",
            error.name
        ),
    })
}

/// Parses a feature file's `text` (shown as `shown`) as [`read`] does,
/// outlines left unexpanded.
pub fn parse(text: &str, shown: &str) -> Result<Feature, Unreadable> {
    let parsed = Feature::parse(text, GherkinEnv::default()).map_err(|error| {
        let (at, problem) = explain(text, None, &error.to_string());
        Unreadable {
            file: shown.to_owned(),
            at: Some(at),
            problem,
        }
    });
    checked(text, shown, parsed)
}

/// A parsed feature, unless its text holds a scenario or step that would
/// silently never run, or no scenario at all.
fn checked(
    text: &str,
    shown: &str,
    parsed: Result<Feature, Unreadable>,
) -> Result<Feature, Unreadable> {
    let unreadable = |at, problem| Unreadable {
        file: shown.to_owned(),
        at: Some(at),
        problem,
    };
    // A misspelt keyword can also fail the parse further down: the line
    // that caused it comes first.
    if let Some((at, problem)) = unsaid(text) {
        return Err(unreadable(at, problem));
    }
    let feature = parsed?;
    let scenarios = feature.scenarios.len()
        + feature
            .rules
            .iter()
            .map(|rule| rule.scenarios.len())
            .sum::<usize>();
    if scenarios == 0 {
        return Err(unreadable(
            (feature.position.line, feature.position.col),
            "it has no scenario, so nothing of it would run (a scenario starts with `Scenario:`)"
                .to_owned(),
        ));
    }
    Ok(feature)
}

/// Line and column (from 1) just after `before`.
fn place_of(before: &[u8]) -> (usize, usize) {
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// Words a step starts with.
const STEP_KEYWORDS: [&str; 5] = ["Given", "When", "Then", "And", "But"];

/// Words that start a block, before their colon.
const BLOCK_KEYWORDS: [&str; 11] = [
    "Feature",
    "Rule",
    "Background",
    "Scenario",
    "Scenario Outline",
    "Scenario Template",
    "Example",
    "Examples",
    "Scenarios",
    "Business Need",
    "Ability",
];

/// The place and words for the parser's error, as precise as the text
/// allows: the parser's own position is often the end of a line or of the
/// file, after the line at fault.
fn explain(
    text: &str,
    reason: Option<&gherkin::EnvError>,
    error: &str,
) -> ((usize, usize), String) {
    let lines: Vec<&str> = text.lines().collect();
    let reported = parser_position(error).unwrap_or((1, 1));
    if let Some(explained) = before_feature(&lines) {
        return explained;
    }
    match reason {
        Some(gherkin::EnvError::UnknownKeyword(word)) => unknown_keyword(&lines, word, reported),
        Some(gherkin::EnvError::InconsistentCellCount(rows)) => {
            ragged_table(&lines, rows, reported)
        }
        Some(gherkin::EnvError::UnsupportedLanguage(language)) => (
            reported,
            format!("the language `{language}` is not one Gherkin knows"),
        ),
        None => {
            let expected = parser_expected(error);
            (
                reported,
                if expected.is_empty() {
                    "the parser cannot read on from here".to_owned()
                } else {
                    format!("the parser expected {}", expected.join(" or "))
                },
            )
        }
    }
}

/// The column a line's text starts at, counted from 1.
fn starts(line: &str) -> usize {
    line.len() - line.trim_start().len() + 1
}

/// Anything but comments, tags and blank lines before `Feature:`, or no
/// `Feature:` at all.
fn before_feature(lines: &[&str]) -> Option<((usize, usize), String)> {
    let stray = lines.iter().position(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && !l.starts_with('@')
    });
    match stray {
        Some(index) if !lines[index].trim_start().starts_with("Feature:") => Some((
            (index + 1, starts(lines[index])),
            format!(
                "expected `Feature:` (only comments, tags and blank lines may come before it), found `{}`",
                lines[index].trim()
            ),
        )),
        None => Some((
            (lines.len().max(1), 1),
            "expected `Feature:`: the file holds no feature".to_owned(),
        )),
        Some(_) => None,
    }
}

/// A word the parser took for no keyword: placed at the line that starts
/// with it, at or before the reported one, with the step keyword it is a
/// slip of.
fn unknown_keyword(
    lines: &[&str],
    word: &str,
    reported: (usize, usize),
) -> ((usize, usize), String) {
    let word = word.split_whitespace().next().unwrap_or("").to_owned();
    let found = (0..reported.0.min(lines.len()))
        .rev()
        .find(|&index| lines[index].trim_start().starts_with(&word));
    let Some(index) = found else {
        return (reported, format!("`{word}` is not a keyword Gherkin knows"));
    };
    let line = lines[index];
    let written = line.split_whitespace().next().unwrap_or("");
    let problem = format!(
        "`{written}` is not a keyword{}: expected a step (Given, When, Then, And, But or *), a table row (|), a doc string, or a new block (Scenario:, Rule:, Examples:…)",
        nearest_keyword(written, &STEP_KEYWORDS)
            .map(|k| format!(" — did you mean `{k}`?"))
            .unwrap_or_default()
    );
    ((index + 1, starts(line)), problem)
}

/// A table whose rows have different numbers of cells: placed at the first
/// row whose count differs from the first row's.
fn ragged_table(
    lines: &[&str],
    rows: &[Vec<String>],
    reported: (usize, usize),
) -> ((usize, usize), String) {
    let width = rows.first().map_or(0, Vec::len);
    let ragged = rows.iter().position(|row| row.len() != width);
    let place = ragged.and_then(|ragged| {
        let index = (1..lines.len()).find(|&i| {
            table_cells(lines[i]).as_ref() == Some(&rows[ragged])
                && table_cells(lines[i - 1]).is_some()
        })?;
        Some((index + 1, starts(lines[index])))
    });
    let cells = |n: usize| {
        if n == 1 {
            "1 cell".to_owned()
        } else {
            format!("{n} cells")
        }
    };
    let problem = match ragged {
        Some(ragged) => format!(
            "this table row has {}, the first row {}: every row of a table has as many cells",
            cells(rows[ragged].len()),
            cells(width)
        ),
        None => "the rows of this table have different numbers of cells".to_owned(),
    };
    (place.unwrap_or(reported), problem)
}

/// `(line, column)` from gherkin's `Error at L:C: …`.
fn parser_position(error: &str) -> Option<(usize, usize)> {
    let rest = error.strip_prefix("Error at ")?;
    let (place, _) = rest.split_once(": ")?;
    let (line, column) = place.split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// What gherkin's `Error at L:C: {…}` says it expected, in a person's
/// words: literal tokens as written, the parser's inner names left out.
fn parser_expected(error: &str) -> Vec<String> {
    let Some((_, set)) = error.split_once(": {") else {
        return Vec::new();
    };
    let mut tokens: Vec<String> = set
        .trim_end_matches('}')
        .split(", ")
        .filter_map(|token| {
            // Each token is printed as a Rust string: `"\"@\""` is `"@"`.
            let token = token.strip_prefix('"')?.strip_suffix('"')?;
            let literal = token.strip_prefix("\\\"")?.strip_suffix("\\\"")?;
            Some(format!("`{literal}`"))
        })
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The cells of a table row, or `None` for a line that is not one.
fn table_cells(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(
        inner
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect(),
    )
}

/// The first line of `text` that Gherkin would read as a description,
/// though its writer meant a block or a step: a scenario or step that
/// would silently never run. English keywords only: a file in another
/// language (`# language: …`) is left to the parser.
fn unsaid(text: &str) -> Option<((usize, usize), String)> {
    #[derive(PartialEq)]
    enum Under {
        /// Steps, or nothing yet.
        Other,
        /// A scenario's or background's text before its first step.
        Heading,
    }
    let mut under = Under::Other;
    let mut doc_string: Option<&str> = None;
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        let at = (index + 1, line.len() - line.trim_start().len() + 1);
        if let Some(delimiter) = doc_string {
            if trimmed.starts_with(delimiter) {
                doc_string = None;
            }
            continue;
        }
        if trimmed.starts_with("# language:") && trimmed != "# language: en" {
            return None;
        }
        if let Some(delimiter) = ["\"\"\"", "```"]
            .into_iter()
            .find(|d| trimmed.starts_with(d))
        {
            doc_string = Some(delimiter);
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with(['#', '@', '|']) {
            continue;
        }
        if let Some(block) = BLOCK_KEYWORDS.iter().find(|k| {
            trimmed
                .strip_prefix(**k)
                .is_some_and(|rest| rest.starts_with(':'))
        }) {
            under = match *block {
                "Background" | "Scenario" | "Scenario Outline" | "Scenario Template"
                | "Example" => Under::Heading,
                _ => Under::Other,
            };
            continue;
        }
        let first = trimmed.split_whitespace().next().unwrap_or("");
        if first == "*" || STEP_KEYWORDS.contains(&first) {
            under = Under::Other;
            continue;
        }
        if heads_steps(&lines, index)
            && let Some(problem) = misspelt_heading(trimmed)
        {
            return Some((at, problem));
        }
        if under == Under::Heading
            && let Some(problem) = misspelt_step(first)
        {
            return Some((at, problem));
        }
    }
    None
}

/// Whether the line after `index` (blank lines and comments aside) is a
/// step or a table row: what a heading heads.
fn heads_steps(lines: &[&str], index: usize) -> bool {
    lines[index + 1..]
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|next| {
            let first = next.split_whitespace().next().unwrap_or("");
            next.starts_with('|') || first == "*" || STEP_KEYWORDS.contains(&first)
        })
}

/// A heading with a misspelt keyword, or a keyword without its colon.
fn misspelt_heading(trimmed: &str) -> Option<String> {
    if let Some((heading, _)) = trimmed.split_once(':')
        && heading.split_whitespace().count() <= 3
        && let Some(meant) = nearest_keyword(heading, &BLOCK_KEYWORDS)
    {
        return Some(format!(
            "`{heading}:` is not a keyword Gherkin knows — did you mean `{meant}:`? As written, this line and the steps under it are a description, and never run"
        ));
    }
    let block = BLOCK_KEYWORDS.iter().find(|k| {
        trimmed
            .strip_prefix(**k)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    })?;
    Some(format!(
        "`{block}` needs a colon (`{block}:`): as written, this line and the steps under it are a description, and never run"
    ))
}

/// A step keyword lowercased or misspelt at the start of a line that comes
/// where a scenario's first step would.
fn misspelt_step(first: &str) -> Option<String> {
    let lower = STEP_KEYWORDS
        .iter()
        .find(|k| k.to_lowercase() == first)
        .copied();
    let meant = lower.or_else(|| {
        nearest_keyword(first, &STEP_KEYWORDS[..3]).filter(|k| {
            k.len() == first.len() && !["They", "Them", "Than", "Thin"].contains(&first)
        })
    })?;
    Some(format!(
        "`{first}` is not a step keyword — did you mean `{meant}`? A step starts with Given, When, Then, And, But or *; as written, this line is the scenario's description, and never runs"
    ))
}

/// The keyword `written` is a slip of, if any: a letter or two off (a
/// swap of two counts one), in any case, and not the keyword itself.
fn nearest_keyword(written: &str, keywords: &[&'static str]) -> Option<&'static str> {
    let written = written.trim();
    keywords
        .iter()
        .filter(|k| **k != written)
        .map(|k| (slips(written, k), *k))
        .filter(|(distance, k)| *distance <= if k.len() > 4 { 2 } else { 1 })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// Edits from `a` to `b`, a swap of neighbours counting one, case
/// ignored.
fn slips(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What reading `text` as a feature file says is wrong with it.
    fn problem(text: &str) -> String {
        match parse(text, "x.feature").and_then(|f| expand(f, "x.feature")) {
            Ok(_) => "nothing".to_owned(),
            Err(error) => error.to_string(),
        }
    }

    fn file(text: &[u8]) -> Result<Feature, Unreadable> {
        let dir = std::env::temp_dir().join(format!("features-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{}.feature", text.len()));
        std::fs::write(&path, text).unwrap();
        let read = read(&path, "x.feature");
        let _ = std::fs::remove_dir_all(&dir);
        read
    }

    #[test]
    fn a_file_the_parser_refuses_is_named_with_its_line_column_and_what_was_expected() {
        assert_eq!(
            problem("Hello there\nFeature: X\n  Scenario: a\n    Given a backend\n"),
            "x.feature:1:1: expected `Feature:` (only comments, tags and blank lines may come before it), found `Hello there`"
        );
        assert_eq!(
            problem(""),
            "x.feature:1:1: expected `Feature:`: the file holds no feature"
        );
        assert_eq!(
            problem("# a comment\n"),
            "x.feature:1:1: expected `Feature:`: the file holds no feature"
        );
        // The parser's own reasons come through the file, as cucumber reads it.
        let read = file(
            b"Feature: X\n\n  Scenario: a\n    Given a backend\n    Wehn the client sends \"x\"\n",
        );
        assert_eq!(
            read.unwrap_err().to_string(),
            "x.feature:5:5: `Wehn` is not a keyword — did you mean `When`?: expected a step (Given, When, Then, And, But or *), a table row (|), a doc string, or a new block (Scenario:, Rule:, Examples:…)"
        );
        let read =
            file(b"Feature: X\n  Scenario: a\n    Given a backend\n      | a | b |\n      | c |\n");
        assert_eq!(
            read.unwrap_err().to_string(),
            "x.feature:5:7: this table row has 1 cell, the first row 2 cells: every row of a table has as many cells"
        );
        let read = file(b"Feature: X\n  Scenario: a\n    Given a backend \xff\n");
        assert_eq!(
            read.unwrap_err().to_string(),
            "x.feature:3:21: byte 0xff is not UTF-8; a feature file is UTF-8 text"
        );
    }

    #[test]
    fn an_outline_error_names_the_file_as_given() {
        let text = "Feature: X\n  Scenario Outline: a\n    When the client sends \"<line>\"\n  Examples:\n    | other |\n    | x |\n";
        assert_eq!(
            problem(text),
            "x.feature:3:5: <line> is not a column of the outline's Examples table"
        );
        let absolute = Unreadable {
            file: "/tmp/x.feature".to_owned(),
            at: Some((3, 5)),
            problem: "p".to_owned(),
        };
        assert_eq!(absolute.to_string(), "/tmp/x.feature:3:5: p");
    }

    #[test]
    fn a_scenario_that_would_silently_never_run_is_an_error() {
        assert_eq!(
            problem("Feature: X\n  Scenerio: a\n    Given a backend\n"),
            "x.feature:2:3: `Scenerio:` is not a keyword Gherkin knows — did you mean `Scenario:`? As written, this line and the steps under it are a description, and never run"
        );
        assert_eq!(
            problem(
                "Feature: X\n  Scenario: a\n    Given a backend\n\n  Scenario Outine: b\n    Given a backend\n"
            ),
            "x.feature:5:3: `Scenario Outine:` is not a keyword Gherkin knows — did you mean `Scenario Outline:`? As written, this line and the steps under it are a description, and never run"
        );
        assert_eq!(
            problem("Feature: X\n  Scenario a\n    Given a backend\n"),
            "x.feature:2:3: `Scenario` needs a colon (`Scenario:`): as written, this line and the steps under it are a description, and never run"
        );
        assert_eq!(
            problem("Feature: X\n  Scenario: a\n    Gvien a backend\n    When a client connects\n"),
            "x.feature:3:5: `Gvien` is not a step keyword — did you mean `Given`? A step starts with Given, When, Then, And, But or *; as written, this line is the scenario's description, and never runs"
        );
        assert!(
            problem("Feature: X\n  Scenario: a\n    given a backend\n    When a client connects\n")
                .starts_with(
                    "x.feature:3:5: `given` is not a step keyword — did you mean `Given`?"
                )
        );
        assert_eq!(
            problem("Feature: X\n  Only a description.\n"),
            "x.feature:1:1: it has no scenario, so nothing of it would run (a scenario starts with `Scenario:`)"
        );
    }

    #[test]
    fn prose_is_not_mistaken_for_a_keyword() {
        let text = "Feature: X\n  The backend answers; then it waits.\n  Note: a rule of thumb.\n  Senario writers read this.\n\n  Scenario: a\n    The client is a program.\n    Given a backend\n    \"\"\"\n    Scenerio: inside a doc string\n    \"\"\"\n";
        assert_eq!(problem(text), "nothing");
        for (name, text) in FEATURES {
            assert!(parse(text, name).is_ok(), "{name}: {}", problem(text));
        }
    }

    #[test]
    fn a_file_stands_for_itself_and_a_folder_for_every_feature_file_under_it() {
        let dir = std::env::temp_dir().join(format!("features-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["a.feature", "sub/B.FEATURE", "notes.txt"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        let found = files(&dir).unwrap();
        assert_eq!(found, [dir.join("a.feature"), dir.join("sub/B.FEATURE")]);
        assert_eq!(
            files(&dir.join("a.feature")).unwrap(),
            [dir.join("a.feature")]
        );
        let missing = files(&dir.join("none")).unwrap_err().to_string();
        assert!(missing.contains("none"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_feature_file_is_compiled_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("features");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".feature"))
            .collect();
        on_disk.sort();
        let mut compiled: Vec<String> = FEATURES
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        compiled.sort();
        assert_eq!(compiled, on_disk, "build.rs lists features/ into FEATURES");
    }

    #[test]
    fn unpacking_writes_features_and_fixtures_and_cleans_up() {
        let parent = std::env::temp_dir().join(format!("unpack-test-{}", std::process::id()));
        let unpacked = Unpacked::new(&parent).unwrap();
        assert!(unpacked.features().join("handshake.feature").is_file());
        assert!(
            unpacked
                .features()
                .join("../fixtures/catalogue.toml")
                .is_file()
        );
        let root = unpacked.features().parent().unwrap().to_owned();
        drop(unpacked);
        assert!(!root.exists());
        let _ = std::fs::remove_dir_all(parent);
    }
}
