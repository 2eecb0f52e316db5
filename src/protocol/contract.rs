//! What `docs/protocol.md` fixes, in the form the steps check it.
//!
//! The features are a conformance suite: a failing step of a portable
//! scenario must mean "this backend breaks the contract", and say which
//! clause, so that a backend author can read it and decide whether to fix
//! the backend or question the contract. So the steps compare replies only
//! as the contract does (name, code, success fields, numbers as numbers,
//! the fixed phrases word for word) and cite the clause's anchor.

use std::ops::Range;
use std::sync::OnceLock;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use crate::protocol::{Code, Message, request_from_text};

/// Where the contract lives, relative to the project's root.
pub const CONTRACT: &str = "docs/protocol.md";

/// The text of the contract, compiled in so that a check can prove the
/// features and the contract agree.
pub const CONTRACT_TEXT: &str = include_str!("../../docs/protocol.md");

/// The anchor of the clause about the simulator's own behaviour, which the
/// `@simulator` scenarios check.
pub const SIMULATOR_CLAUSE: &str = "the-simulators-own-behaviour";

/// The commands of protocol 1.4, and `get-rms`, which DISCOS sends; each
/// has a clause of its own, anchored by its name.
pub const COMMANDS: [&str; 20] = crate::protocol::COMMAND_NAMES;

/// The reasons the contract fixes word for word; `<…>` stands for what the
/// request held.
pub const FIXED_PHRASES: [&str; 7] = [
    "invalid command '<name>'",
    "cannot find configuration '<id>'",
    "integration time must be an integer number",
    "wrong timestamp '<time>'",
    "set-section needs 7 arguments",
    "wrong parameter format",
    "interleave samples must be a positive int",
];

/// The anchor of the clause that governs the reply to a request named
/// `name`: the command's own, or the rule for unknown commands.
pub fn clause_of(name: &str) -> &'static str {
    COMMANDS
        .iter()
        .find(|command| **command == name)
        .copied()
        .unwrap_or("unknown-commands")
}

/// Whether `reason` is one of the [`FIXED_PHRASES`], placeholders filled.
pub fn is_fixed_phrase(reason: &str) -> bool {
    FIXED_PHRASES.iter().any(|pattern| fills(pattern, reason))
}

/// Whether `text` is `pattern` with each `<…>` replaced by some text.
fn fills(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('<');
    let Some(first) = parts.next() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut pieces: Vec<&str> = Vec::new();
    for part in parts {
        let literal = part.split_once('>').map_or(part, |(_, literal)| literal);
        pieces.push(literal);
    }
    if pieces.is_empty() {
        return rest.is_empty();
    }
    let last = pieces.len() - 1;
    for (index, literal) in pieces.iter().enumerate() {
        if index == last {
            return rest.len() >= literal.len() && rest.ends_with(literal);
        }
        match rest.find(literal) {
            Some(at) => rest = &rest[at + literal.len()..],
            None => return false,
        }
    }
    true
}

/// Compares a reply with the reply a scenario expects, as the contract
/// does: the same name and code; for `ok`, the same fields, numbers
/// compared as numbers; for `fail` and `invalid`, the same reason if the
/// expected reply gives one (`!stop,fail` matches any reason). The error
/// says what differs.
pub fn compare(expected: &str, got: &Message) -> Result<(), String> {
    let wanted = request_from_text(expected)
        .map_err(|error| format!("the expected reply \"{expected}\" is not a message: {error}"))?;
    let Some(code) = wanted.code() else {
        return Err(format!(
            "the expected reply \"{expected}\" is a request; write a reply, starting with '!'"
        ));
    };
    if got.name != wanted.name {
        return Err(format!(
            "the reply is named '{}', not '{}'",
            got.name, wanted.name
        ));
    }
    if got.code() != Some(code) {
        return Err(format!(
            "the reply's code is {}, not {code}",
            got.code().map_or("missing", Code::as_str)
        ));
    }
    if code != Code::Ok {
        return match (wanted.reason(), got.reason()) {
            (None, _) => Ok(()),
            (Some(want), Some(have)) if want == have => Ok(()),
            (Some(want), have) => Err(format!(
                "the reason is \"{}\", not \"{want}\"",
                have.unwrap_or_default()
            )),
        };
    }
    if got.arguments.len() != wanted.arguments.len() {
        return Err(format!(
            "the reply has {} field(s) after ok, not {}",
            got.arguments.len(),
            wanted.arguments.len()
        ));
    }
    for (index, (have, want)) in got.arguments.iter().zip(&wanted.arguments).enumerate() {
        if !same_value(have, want) {
            return Err(format!("field {} is '{have}', not '{want}'", index + 1));
        }
    }
    Ok(())
}

/// Two fields are the same value: equal as numbers when both are numbers
/// (`0`, `0.0` and `0.000` are one value), equal as text otherwise.
pub fn same_value(a: &str, b: &str) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// A field read as a decimal number, as the protocol writes them.
pub fn number(text: &str) -> Option<f64> {
    let decimal = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'));
    if decimal { text.parse().ok() } else { None }
}

/// How much a requirement of the contract weighs, as conformance suites
/// grade them: a backend that breaks a MUST cannot be driven by DISCOS (it
/// breaks, or silently misreads a reply); one that breaks a SHOULD departs
/// from the protocol text's wording or the reference's behaviour, which
/// DISCOS does not rely on, and passes unless the run is `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Strength {
    /// DISCOS breaks or misreads otherwise.
    #[serde(rename = "MUST")]
    Must,
    /// The protocol text's or the reference's way, which DISCOS does not
    /// rely on.
    #[serde(rename = "SHOULD")]
    Should,
}

impl Strength {
    /// `MUST` or `SHOULD`, as the contract's table writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Must => "MUST",
            Strength::Should => "SHOULD",
        }
    }

    /// `must` or `should`, as a scenario's tag starts (`@must:crlf`).
    pub fn tag(self) -> &'static str {
        match self {
            Strength::Must => "must",
            Strength::Should => "should",
        }
    }

    fn of_word(word: &str) -> Option<Strength> {
        match word {
            "MUST" => Some(Strength::Must),
            "SHOULD" => Some(Strength::Should),
            _ => None,
        }
    }
}

impl std::fmt::Display for Strength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the contract's `## Requirements` table: what a scenario names
/// with `@must:<id>` or `@should:<id>`, and a failing step with
/// [`DiscosWorld::fail_requirement`](crate::acceptance::world::DiscosWorld::fail_requirement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// Kebab-case, stable once published: reports and tags use it.
    pub id: String,
    /// MUST or SHOULD.
    pub strength: Strength,
    /// What a backend does, completing "a backend …" (Markdown).
    pub statement: String,
    /// Why DISCOS or the contract needs it (Markdown).
    pub because: String,
    /// The anchor of the clause that states it in detail.
    pub clause: String,
    /// Its row's line in the contract.
    #[serde(default)]
    pub line: usize,
}

impl Requirement {
    /// How a failure of it begins: `MUST same-name — docs/protocol.md#replies`.
    pub fn citation(&self) -> String {
        cite(self.strength, &self.id, &self.clause)
    }
}

/// The heading of the section that holds the requirements table.
pub const REQUIREMENTS_HEADING: &str = "Requirements";

/// The table's columns, as the contract writes its header (the third starts
/// so: it is read as "a backend …").
const COLUMNS: [&str; 5] = ["id", "strength", "a backend", "because", "clause"];

/// What is wrong with the requirements table, and on which line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{CONTRACT}:{line}: {problem}")]
pub struct TableError {
    /// The line of the row (or heading) at fault, from 1.
    pub line: usize,
    /// What is wrong with it, and what the table needs instead.
    pub problem: String,
}

/// The requirements of the compiled-in contract, read once; the error names
/// the row at fault (a unit test keeps the compiled-in table readable).
pub fn requirements() -> Result<&'static [Requirement], &'static TableError> {
    static TABLE: OnceLock<Result<Vec<Requirement>, TableError>> = OnceLock::new();
    TABLE
        .get_or_init(|| parse_requirements(CONTRACT_TEXT))
        .as_ref()
        .map(Vec::as_slice)
}

/// The requirement of the compiled-in contract called `id`.
pub fn requirement(id: &str) -> Option<&'static Requirement> {
    requirements().ok()?.iter().find(|r| r.id == id)
}

/// The requirement a scenario's tag names: `must:crlf` is (MUST, `crlf`).
/// Whether the table has it, with that strength, is for the caller to check.
pub fn requirement_tag(tag: &str) -> Option<(Strength, &str)> {
    let (strength, id) = tag.split_once(':')?;
    let strength = [Strength::Must, Strength::Should]
        .into_iter()
        .find(|s| s.tag() == strength)?;
    Some((strength, id))
}

/// How a failure of a requirement begins: `MUST same-name —
/// docs/protocol.md#replies`; [`cited`] reads it back.
pub fn cite(strength: Strength, id: &str, clause: &str) -> String {
    format!("{strength} {id} — {CONTRACT}#{clause}")
}

/// The strength and id a failure message begins with, if it begins with a
/// [`cite`]ation.
pub fn cited(message: &str) -> Option<(Strength, &str)> {
    let (word, rest) = message.split_once(' ')?;
    let strength = Strength::of_word(word)?;
    let (id, rest) = rest.split_once(" — ")?;
    (is_kebab(id) && rest.starts_with(&format!("{CONTRACT}#"))).then_some((strength, id))
}

fn is_kebab(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Reads the table of the `## Requirements` section of `markdown` (the
/// contract's text). Every row must hold a kebab-case id in backticks, once
/// in the table; `MUST` or `SHOULD`; a statement and a reason; and a link
/// to the anchor of a heading of the same page. The error names the first
/// row that does not.
pub fn parse_requirements(markdown: &str) -> Result<Vec<Requirement>, TableError> {
    let line_of = |offset: usize| markdown[..offset].matches('\n').count() + 1;
    let anchors = heading_anchors(markdown);
    let mut events = Parser::new_ext(markdown, Options::ENABLE_TABLES).into_offset_iter();
    let (section, table_at) = find_table(&mut events);
    let Some(heading_at) = section else {
        return Err(TableError {
            line: 1,
            problem: format!(
                "there is no section \"## {REQUIREMENTS_HEADING}\" holding the table of requirements"
            ),
        });
    };
    let Some(table_at) = table_at else {
        return Err(TableError {
            line: line_of(heading_at),
            problem: format!(
                "the section \"{REQUIREMENTS_HEADING}\" holds no table; it needs one with the columns | {} … | because | clause |",
                COLUMNS[..3].join(" | ")
            ),
        });
    };
    let mut rows = read_rows(markdown, events).into_iter();
    let Some(head) = rows.next() else {
        return Err(TableError {
            line: line_of(table_at),
            problem: "the requirements table has no header".to_owned(),
        });
    };
    check_header(&head).map_err(|problem| TableError {
        line: line_of(head.at),
        problem,
    })?;
    let mut requirements: Vec<Requirement> = Vec::new();
    for row in rows {
        let line = line_of(row.at);
        let requirement = row.requirement(&anchors).map_err(|problem| TableError {
            line,
            problem: format!("the row \"{}\" {problem}", row.text),
        })?;
        if let Some(first) = requirements.iter().find(|r| r.id == requirement.id) {
            return Err(TableError {
                line,
                problem: format!(
                    "the row \"{}\" repeats the id `{}` of line {}; an id names one requirement",
                    row.text, first.id, first.line
                ),
            });
        }
        requirements.push(Requirement {
            line,
            ..requirement
        });
    }
    if requirements.is_empty() {
        return Err(TableError {
            line: line_of(table_at),
            problem: "the requirements table has no rows".to_owned(),
        });
    }
    Ok(requirements)
}

/// Reads `events` up to the first table of the requirements section, before
/// the next heading of its level or above: where the section's heading
/// starts, if there is one, and where its table starts, if it has one.
fn find_table<'a>(
    events: &mut impl Iterator<Item = (Event<'a>, Range<usize>)>,
) -> (Option<usize>, Option<usize>) {
    let mut heading: Option<(HeadingLevel, usize, String)> = None;
    let mut section: Option<(HeadingLevel, usize)> = None;
    for (event, range) in events {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                if let Some((open, _)) = section
                    && level <= open
                {
                    break;
                }
                heading = Some((level, range.start, String::new()));
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, _, title)) = &mut heading {
                    title.push_str(&text);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, at, title)) = heading.take()
                    && section.is_none()
                    && title.trim() == REQUIREMENTS_HEADING
                {
                    section = Some((level, at));
                }
            }
            Event::Start(Tag::Table(_)) if section.is_some() => {
                return (section.map(|(_, at)| at), Some(range.start));
            }
            _ => {}
        }
    }
    (section.map(|(_, at)| at), None)
}

/// The rows of the table whose start `events` has just passed, the header
/// first, each cell with its source and its text.
fn read_rows<'a>(
    markdown: &str,
    events: impl Iterator<Item = (Event<'a>, Range<usize>)>,
) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut cell: Option<Cell> = None;
    for (event, range) in events {
        match event {
            Event::Start(Tag::TableHead | Tag::TableRow) => rows.push(Row {
                at: range.start,
                text: markdown[range.clone()].trim_end().to_owned(),
                cells: Vec::new(),
            }),
            Event::Start(Tag::TableCell) => {
                cell = Some(Cell {
                    source: markdown[range].trim().to_owned(),
                    end: 0,
                    ..Cell::default()
                });
            }
            Event::End(TagEnd::TableCell) => {
                if let (Some(mut done), Some(row)) = (cell.take(), rows.last_mut()) {
                    done.end = range.end;
                    row.cells.push(done);
                }
            }
            Event::End(TagEnd::Table) => break,
            event => {
                if let Some(cell) = &mut cell {
                    cell.read(event);
                }
            }
        }
    }
    rows
}

/// The header must name the table's columns, in order (a column's title
/// may go on after its first words).
fn check_header(head: &Row) -> Result<(), String> {
    let titles: Vec<&str> = head.cells.iter().map(|c| c.source.as_str()).collect();
    let header_fits = titles.len() == COLUMNS.len()
        && titles
            .iter()
            .zip(COLUMNS)
            .all(|(title, column)| title.starts_with(column));
    if header_fits {
        return Ok(());
    }
    Err(format!(
        "the requirements table's header is \"{}\"; it must be | id | strength | a backend … | because | clause |",
        head.text
    ))
}

/// A row of the requirements table, as Markdown read it.
struct Row {
    /// Where it starts in the text.
    at: usize,
    /// Its line, as written.
    text: String,
    cells: Vec<Cell>,
}

/// A cell of the requirements table: its text as written, and what it is
/// made of.
#[derive(Default)]
struct Cell {
    source: String,
    /// Where it ends in the text.
    end: usize,
    /// Its code spans.
    code: Vec<String>,
    /// Its links' destinations.
    links: Vec<String>,
    /// Whether it holds anything but its code spans.
    other: bool,
}

impl Cell {
    fn read(&mut self, event: Event<'_>) {
        match event {
            Event::Code(code) => self.code.push(code.into_string()),
            Event::Start(Tag::Link { dest_url, .. }) => self.links.push(dest_url.into_string()),
            Event::Text(text) if text.trim().is_empty() => {}
            _ => self.other = true,
        }
    }
}

impl Row {
    fn requirement(&self, anchors: &[String]) -> Result<Requirement, String> {
        let cells = &self.cells;
        let filled = cells.iter().filter(|c| !c.source.is_empty()).count();
        if filled < COLUMNS.len() {
            return Err(format!(
                "has {filled} filled cell(s); it needs {}: id, strength, what a backend does, because, clause",
                COLUMNS.len()
            ));
        }
        if let Some(last) = cells.last()
            && self.text.len() > last.end.saturating_sub(self.at)
            && self.text[last.end - self.at..]
                .trim_start_matches('|')
                .trim()
                != ""
        {
            return Err(format!(
                "has more than {} cells; write a `|` inside a cell as `\\|`",
                COLUMNS.len()
            ));
        }
        let id = match (cells[0].code.as_slice(), cells[0].other) {
            ([id], false) if is_kebab(id) => id.clone(),
            _ => {
                return Err(format!(
                    "has the id {}; write one kebab-case id in backticks, such as `same-name`",
                    cells[0].source
                ));
            }
        };
        let Some(strength) = Strength::of_word(&cells[1].source) else {
            return Err(format!(
                "has the strength \"{}\"; write MUST or SHOULD",
                cells[1].source
            ));
        };
        let clause = match cells[4].links.as_slice() {
            [link] => link.strip_prefix('#').unwrap_or_default().to_owned(),
            _ => String::new(),
        };
        if clause.is_empty() {
            return Err(format!(
                "has the clause {}; write one link to an anchor of {CONTRACT}, such as [replies](#replies)",
                cells[4].source
            ));
        }
        if !anchors.contains(&clause) {
            return Err(format!(
                "links to #{clause}, which is no heading's anchor in {CONTRACT}"
            ));
        }
        Ok(Requirement {
            id,
            strength,
            statement: cells[2].source.clone(),
            because: cells[3].source.clone(),
            clause,
            line: 0,
        })
    }
}

/// The anchors a Markdown page gets from its headings, as GitHub makes
/// them: lower case, spaces to dashes, punctuation other than `-` and `_`
/// dropped.
pub fn heading_anchors(markdown: &str) -> Vec<String> {
    let mut in_code = false;
    let mut anchors = Vec::new();
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        anchors.push(anchor(line.trim_start_matches('#').trim()));
    }
    anchors
}

/// The anchor of a heading titled `title`, as GitHub makes it.
pub fn anchor(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_rule_the_steps_cite_has_its_anchor() {
        let anchors = heading_anchors(CONTRACT_TEXT);
        let cited = COMMANDS.iter().copied().chain([
            "unknown-commands",
            "malformed-lines",
            "replies-sent-to-a-backend",
            "fixed-phrases",
            "extra-arguments",
            "handshake",
            "transport-and-framing",
            "line-limit",
            "timestamps",
            "timed-start-and-stop",
            "numbers",
            SIMULATOR_CLAUSE,
        ]);
        for anchor in cited {
            assert!(
                anchors.iter().any(|a| a == anchor),
                "{CONTRACT} has no heading for #{anchor}; it has {anchors:?}"
            );
        }
    }

    const TABLE: &str = "# Contract\n\n## Replies\n\nText.\n\n## Requirements\n\n\
        | id | strength | a backend … | because | clause |\n\
        |---|---|---|---|---|\n\
        | `same-name` | MUST | names the reply as its request, even `a\\|b` | DISCOS matches on it | [replies](#replies) |\n\
        | `wording` | SHOULD | words it as the text does | the text says so | [the replies](#replies) |\n\
        \n## Next\n\n| not | this |\n|---|---|\n| a | b |\n";

    /// `TABLE` with its line `line` (from 1) replaced.
    fn with_line(line: usize, text: &str) -> String {
        let mut lines: Vec<&str> = TABLE.lines().collect();
        lines[line - 1] = text;
        lines.join("\n")
    }

    #[test]
    fn the_requirements_table_is_read_row_by_row() {
        let table = parse_requirements(TABLE).unwrap();
        assert_eq!(table.len(), 2, "{table:?}");
        assert_eq!(
            table[0],
            Requirement {
                id: "same-name".to_owned(),
                strength: Strength::Must,
                statement: "names the reply as its request, even `a\\|b`".to_owned(),
                because: "DISCOS matches on it".to_owned(),
                clause: "replies".to_owned(),
                line: 11,
            }
        );
        assert_eq!(table[1].strength, Strength::Should);
        assert_eq!(table[1].line, 12);
    }

    #[test]
    fn the_contracts_requirements_table_reads_whole() {
        let table = requirements().unwrap_or_else(|error| panic!("{error}"));
        // The ids every part of the product may name: fixed once published.
        for id in [
            "crlf",
            "short-lines",
            "code-first",
            "reason-given",
            "same-name",
            "one-reply",
            "greeting",
            "tsys-range",
            "get-rms",
            "one-value-per-input",
            "unix-seconds",
            "acquiring-flag",
            "ids-as-written",
            "idle-stop",
        ] {
            let found = requirement(id).unwrap_or_else(|| panic!("{CONTRACT} lists no `{id}`"));
            assert_eq!(found.strength, Strength::Must, "{id}");
        }
        assert!(table.iter().any(|r| r.strength == Strength::Should));
        assert!(
            table
                .iter()
                .all(|r| !r.statement.is_empty() && !r.because.is_empty()),
            "{table:?}"
        );
    }

    #[test]
    fn a_bad_row_is_named_with_its_line_and_what_it_needs() {
        let cases = [
            (
                11,
                "| same-name | MUST | x | y | [r](#replies) |",
                "write one kebab-case id in backticks",
            ),
            (
                11,
                "| `Same_Name` | MUST | x | y | [r](#replies) |",
                "kebab-case",
            ),
            (
                11,
                "| `a` | MAY | x | y | [r](#replies) |",
                "has the strength \"MAY\"; write MUST or SHOULD",
            ),
            (
                11,
                "| `a` | MUST | x | y | replies |",
                "write one link to an anchor",
            ),
            (
                11,
                "| `a` | MUST | x | y | [r](#nowhere) |",
                "#nowhere, which is no heading's anchor",
            ),
            (
                11,
                "| `a` | MUST | x | [r](#replies) |",
                "has 4 filled cell(s)",
            ),
            (
                11,
                "| `a` | MUST | x | y | [r](#replies) | z |",
                "more than 5 cells",
            ),
            (
                12,
                "| `same-name` | SHOULD | x | y | [r](#replies) |",
                "repeats the id `same-name` of line 11",
            ),
            (9, "| id | strength | what | because | clause |", "header"),
        ];
        for (line, row, problem) in cases {
            let error = parse_requirements(&with_line(line, row)).unwrap_err();
            assert_eq!(error.line, line, "{row}: {error}");
            assert!(error.problem.contains(problem), "{row}: {error}");
            let shown = error.to_string();
            assert!(
                shown.starts_with(&format!("{CONTRACT}:{line}: ")),
                "{shown}"
            );
            if line != 9 {
                assert!(shown.contains(row), "the error quotes the row: {shown}");
            }
        }
        let none = parse_requirements("# Contract\n\n## Replies\n").unwrap_err();
        assert!(
            none.problem.contains("no section \"## Requirements\""),
            "{none}"
        );
        let empty = parse_requirements(
            "# C\n\n## Requirements\n\nSoon.\n\n## Next\n\n| a |\n|---|\n| b |\n",
        )
        .unwrap_err();
        assert_eq!(empty.line, 3, "{empty}");
        assert!(empty.problem.contains("holds no table"), "{empty}");
    }

    #[test]
    fn citations_and_tags_read_back() {
        let citation = cite(Strength::Must, "same-name", "replies");
        assert_eq!(citation, "MUST same-name — docs/protocol.md#replies");
        assert_eq!(
            cited(&format!("{citation}: the reply is named 'b'")),
            Some((Strength::Must, "same-name"))
        );
        assert_eq!(
            cited("SHOULD x-1 — docs/protocol.md#a: y"),
            Some((Strength::Should, "x-1"))
        );
        assert_eq!(
            cited("docs/protocol.md#replies: the reply is named 'b'"),
            None
        );
        assert_eq!(cited("MUST be ok — but it was not"), None);
        assert_eq!(requirement_tag("must:crlf"), Some((Strength::Must, "crlf")));
        assert_eq!(
            requirement_tag("should:same-wording"),
            Some((Strength::Should, "same-wording"))
        );
        assert_eq!(requirement_tag("fresh"), None);
        assert_eq!(requirement_tag("may:x"), None);
    }

    #[test]
    fn the_fixed_phrases_are_the_contracts_own() {
        let section = CONTRACT_TEXT
            .split("### Fixed phrases")
            .nth(1)
            .and_then(|rest| rest.split("\n### ").next())
            .expect("the contract has a section of fixed phrases");
        let in_contract: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split_once('`').map(|(phrase, _)| phrase))
            .collect();
        assert_eq!(in_contract, FIXED_PHRASES);
    }

    #[test]
    fn placeholders_stand_for_any_text() {
        assert!(is_fixed_phrase("cannot find configuration 'Q9'"));
        assert!(is_fixed_phrase("wrong timestamp ''"));
        assert!(is_fixed_phrase("set-section needs 7 arguments"));
        assert!(!is_fixed_phrase("set-section needs 7 arguments (got 3)"));
        assert!(!is_fixed_phrase("cannot find configuration Q9"));
        assert!(!is_fixed_phrase("already acquiring"));
    }

    #[test]
    fn replies_compare_as_the_contract_does() {
        let reply = |line: &str| crate::protocol::parse(line.as_bytes()).unwrap();
        assert_eq!(compare("!tp,ok,0,0.0", &reply("!tp,ok,0.000,0")), Ok(()));
        assert_eq!(compare("!stop,fail", &reply("!stop,fail,idle")), Ok(()));
        assert!(
            compare("!stop,fail,x", &reply("!stop,fail,y"))
                .unwrap_err()
                .contains("the reason is \"y\"")
        );
        assert!(
            compare("!stop,ok", &reply("!stop,fail,y"))
                .unwrap_err()
                .contains("code is fail")
        );
        assert!(
            compare("!a,ok", &reply("!b,ok"))
                .unwrap_err()
                .contains("named 'b'")
        );
        assert!(
            compare("!a,ok,K2000", &reply("!a,ok,k2000"))
                .unwrap_err()
                .contains("field 1")
        );
        assert!(compare("?a", &reply("!a,ok")).is_err());
    }
}
