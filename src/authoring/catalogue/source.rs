//! A small reader of step source files, for what the compiled step
//! definitions do not carry: the phrase as its author wrote it (a cucumber
//! expression reads better than the regex it compiles to), the doc comment,
//! the function and its arguments, and the doc of custom parameters.
//!
//! It reads the subset of Rust that step files are written in: `///` and
//! `//!` comments, attributes (over several lines too, with normal and raw
//! string literals), and the signature after them. What it cannot read, it
//! leaves out: the catalogue then shows the compiled pattern alone.

use cucumber::gherkin::StepType;

/// How a step definition's pattern is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PatternKind {
    /// `#[when("the backend stops")]`: the sentence, word for word.
    Literal,
    /// `#[when(expr = "{client} sends {string}")]`: a cucumber expression.
    Expression,
    /// `#[when(regex = r"^…$")]`: a regular expression.
    Regex,
}

/// One `#[given]`, `#[when]` or `#[then]` attribute, with what surrounds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStep {
    /// The attribute's line, 1-based: where the compiled step says it is.
    pub line: u32,
    /// Given, When or Then.
    pub keyword: StepType,
    /// How the pattern is written.
    pub kind: PatternKind,
    /// The pattern, its string literal decoded.
    pub pattern: String,
    /// The doc comment above the attributes, its lines joined by `\n`.
    pub doc: Option<String>,
    /// The function's name.
    pub function: String,
    /// The function's arguments after the world, as `(name, type)`.
    pub arguments: Vec<(String, String)>,
}

/// A `#[param(name = …, regex = …)]` custom parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceParameter {
    /// The name an expression calls it by, without braces.
    pub name: String,
    /// The regular expression it matches.
    pub regex: String,
    /// The doc comment of its type.
    pub doc: Option<String>,
}

/// What one source file says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFile {
    /// The module's `//!` doc.
    pub doc: Option<String>,
    /// Its step attributes, in file order.
    pub steps: Vec<SourceStep>,
    /// Its custom parameters.
    pub parameters: Vec<SourceParameter>,
}

/// Reads a step source file.
pub fn read(text: &str) -> SourceFile {
    let lines: Vec<&str> = text.lines().collect();
    let mut file = SourceFile::default();
    let mut module_doc: Vec<&str> = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut pending: Vec<(u32, StepType, PatternKind, String)> = Vec::new();
    let mut parameter: Option<(String, String)> = None;
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index].trim_start();
        if let Some(rest) = line.strip_prefix("//!") {
            module_doc.push(rest.strip_prefix(' ').unwrap_or(rest));
            index += 1;
            continue;
        }
        if let Some(rest) = line.strip_prefix("///") {
            doc.push(rest.strip_prefix(' ').unwrap_or(rest));
            index += 1;
            continue;
        }
        if line.starts_with("#[") {
            let column = lines[index].len() - line.len();
            let (attribute, last) = gather(&lines, index, column, '[', ']');
            if let Some((keyword, kind, pattern)) = step_attribute(&attribute) {
                pending.push((index as u32 + 1, keyword, kind, pattern));
            } else if let Some(found) = param_attribute(&attribute) {
                parameter = Some(found);
            }
            index = last + 1;
            continue;
        }
        if line.starts_with("//") {
            index += 1;
            continue;
        }
        let mut last = index;
        if let Some(at) = fn_keyword(lines[index]) {
            let (signature, end) = gather(&lines, index, at, '(', ')');
            last = end;
            let rest = &signature["fn ".len()..];
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| is_ident(*c))
                .collect();
            let arguments = rest
                .find('(')
                .map(|open| arguments(&rest[open + 1..]))
                .unwrap_or_default();
            for (line, keyword, kind, pattern) in pending.drain(..) {
                file.steps.push(SourceStep {
                    line,
                    keyword,
                    kind,
                    pattern,
                    doc: joined(&doc),
                    function: name.clone(),
                    arguments: arguments.iter().skip(1).cloned().collect(),
                });
            }
        } else if let Some((name, regex)) = parameter.take()
            && (line.contains("struct ") || line.contains("enum "))
        {
            file.parameters.push(SourceParameter {
                name,
                regex,
                doc: joined(&doc),
            });
        }
        doc.clear();
        pending.clear();
        parameter = None;
        index = last + 1;
    }
    file.doc = joined(&module_doc);
    file
}

fn joined(lines: &[&str]) -> Option<String> {
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Where `fn ` starts in a line that declares a function (after `pub`,
/// `pub(crate)`, `async`…), as a byte offset.
fn fn_keyword(line: &str) -> Option<usize> {
    let mut at = line.len() - line.trim_start().len();
    loop {
        let rest = &line[at..];
        if rest.starts_with("fn ") {
            return Some(at);
        }
        let word = rest.split_whitespace().next()?;
        let qualifier = matches!(word, "pub" | "async" | "const" | "unsafe" | "extern")
            || (word.starts_with("pub(") && word.ends_with(')'));
        if !qualifier {
            return None;
        }
        at += word.len();
        at += line[at..].len() - line[at..].trim_start().len();
    }
}

/// The text from line `start`, byte `column`, up to the `close` that
/// balances the first `open`, over as many lines as it takes, skipping
/// string literals; and the index of the line it ends on. A first line
/// that opens nothing is the whole text.
fn gather(lines: &[&str], start: usize, column: usize, open: char, close: char) -> (String, usize) {
    let mut text = String::new();
    let mut depth = 0usize;
    let mut opened = false;
    let mut literal = Literal::None;
    for (index, line) in lines.iter().enumerate().skip(start) {
        if index > start {
            text.push('\n');
        }
        let line = if index == start {
            &line[column..]
        } else {
            line
        };
        let chars: Vec<char> = line.chars().collect();
        let mut at = 0;
        while at < chars.len() {
            let c = chars[at];
            text.push(c);
            match literal {
                Literal::Normal => {
                    if c == '\\' {
                        if let Some(&next) = chars.get(at + 1) {
                            text.push(next);
                            at += 1;
                        }
                    } else if c == '"' {
                        literal = Literal::None;
                    }
                }
                Literal::Raw(hashes) => {
                    if c == '"' && chars[at + 1..].iter().take(hashes).all(|&h| h == '#') {
                        let end = (at + 1 + hashes).min(chars.len());
                        text.extend(&chars[at + 1..end]);
                        at = end - 1;
                        literal = Literal::None;
                    }
                }
                Literal::None => {
                    if c == '"' {
                        literal = Literal::Normal;
                    } else if c == 'r'
                        && (at == 0 || !is_ident(chars[at - 1]))
                        && let Some(hashes) = raw_start(&chars[at + 1..])
                    {
                        text.extend(&chars[at + 1..at + 2 + hashes]);
                        at += 1 + hashes;
                        literal = Literal::Raw(hashes);
                    } else if c == open {
                        depth += 1;
                        opened = true;
                    } else if c == close && opened {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return (text, index);
                        }
                    }
                }
            }
            at += 1;
        }
        if !opened {
            return (text, index);
        }
    }
    (text, lines.len().saturating_sub(1))
}

#[derive(Clone, Copy)]
enum Literal {
    None,
    Normal,
    Raw(usize),
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// After an `r`: the number of `#` before the `"` of a raw string, if it
/// starts one.
fn raw_start(rest: &[char]) -> Option<usize> {
    let hashes = rest.iter().take_while(|&&c| c == '#').count();
    (rest.get(hashes) == Some(&'"')).then_some(hashes)
}

/// `#[given(…)]`, `#[when(…)]`, `#[then(…)]`, also as `cucumber::when`.
fn step_attribute(attribute: &str) -> Option<(StepType, PatternKind, String)> {
    let inner = attribute.strip_prefix("#[")?.trim_start();
    let inner = inner.strip_prefix("cucumber::").unwrap_or(inner);
    let (keyword, rest) = [
        ("given", StepType::Given),
        ("when", StepType::When),
        ("then", StepType::Then),
    ]
    .into_iter()
    .find_map(|(word, keyword)| {
        let rest = inner.strip_prefix(word)?.trim_start();
        rest.starts_with('(').then_some((keyword, rest))
    })?;
    let arguments = rest[1..].trim_start();
    let (kind, literal) = if let Some(rest) = named(arguments, "expr") {
        (PatternKind::Expression, rest)
    } else if let Some(rest) = named(arguments, "regex") {
        (PatternKind::Regex, rest)
    } else {
        (PatternKind::Literal, arguments)
    };
    Some((keyword, kind, string_literal(literal)?))
}

/// `#[param(name = "…", regex = "…")]`.
fn param_attribute(attribute: &str) -> Option<(String, String)> {
    let inner = attribute.strip_prefix("#[")?.trim_start();
    let rest = inner
        .strip_prefix("param")?
        .trim_start()
        .strip_prefix('(')?;
    let value = |key: &str| {
        let mut from = 0;
        while let Some(found) = rest[from..].find(key) {
            let at = from + found;
            if let Some(after) = named(&rest[at..], key) {
                return string_literal(after);
            }
            from = at + key.len();
        }
        None
    };
    Some((value("name")?, value("regex")?))
}

/// After `key = `, if `text` starts with that.
fn named<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(key)?.trim_start();
    Some(rest.strip_prefix('=')?.trim_start())
}

/// The value of the Rust string literal `text` starts with: `"…"` with its
/// escapes, or a raw `r#"…"#`.
pub fn string_literal(text: &str) -> Option<String> {
    if let Some(rest) = text.strip_prefix('r') {
        let hashes = rest.chars().take_while(|&c| c == '#').count();
        let body = rest[hashes..].strip_prefix('"')?;
        let end = body.find(&format!("\"{}", "#".repeat(hashes)))?;
        return Some(body[..end].to_owned());
    }
    let chars: Vec<char> = text.strip_prefix('"')?.chars().collect();
    let mut value = String::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        at += 1;
        match c {
            '"' => return Some(value),
            '\\' => {
                let escape = *chars.get(at)?;
                at += 1;
                match escape {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    '0' => value.push('\0'),
                    'x' => {
                        let hex: String = chars.get(at..at + 2)?.iter().collect();
                        at += 2;
                        value.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
                    }
                    'u' => {
                        let close = at + chars[at..].iter().position(|&c| c == '}')?;
                        let hex: String = chars[at..close].iter().collect();
                        at = close + 1;
                        let code = u32::from_str_radix(hex.trim_start_matches('{'), 16).ok()?;
                        value.push(char::from_u32(code)?);
                    }
                    // A line continuation: the next line's indentation goes.
                    '\n' => {
                        while chars.get(at).is_some_and(|c| c.is_whitespace()) {
                            at += 1;
                        }
                    }
                    other => value.push(other),
                }
            }
            other => value.push(other),
        }
    }
    None
}

/// The `name: Type` arguments of a signature whose `(` is just before
/// `text`, up to the `)` that closes it.
fn arguments(text: &str) -> Vec<(String, String)> {
    let mut arguments = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' if depth == 0 => break,
            ')' | '>' | ']' => depth -= 1,
            ',' if depth == 0 => {
                arguments.extend(argument(&current));
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    arguments.extend(argument(&current));
    arguments
}

fn argument(text: &str) -> Option<(String, String)> {
    let (name, ty) = text.split_once(':')?;
    let name = name.trim().trim_start_matches("mut ").trim();
    let ty = ty.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty() && !ty.is_empty()).then(|| (name.to_owned(), ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &str = r##"//! Steps about things.
//! Second line.

use cucumber::{given, then, when};

/// A request line as typed: the `?` may be left out.
#[when(expr = "{client} sends {string}")]
async fn sends(world: &mut DiscosWorld, who: Who, line: String) {
    world.send(&who.0, &line).await;
}

#[then("the backend accepts it")]
async fn accepts(world: &mut DiscosWorld) {}

/// Timed.
#[given(
    regex = r"^the acquisition is (started|stopped) in (\d+) (milliseconds?|seconds?)$"
)]
#[when(
    regex = r"^the acquisition is (started|stopped) in (\d+) (milliseconds?|seconds?)$"
)]
async fn timed(
    world: &mut DiscosWorld,
    action: String,
    count: String,
    unit: String,
) {
}

fn helper(world: &DiscosWorld) {}

/// Who does something.
#[derive(Debug, cucumber::Parameter)]
#[param(name = "client", regex = r#"the client|client "[^"]*""#)]
pub(crate) struct Who(pub String);

/// A table.
#[when(expr = "{client} sets section {word} to:")]
async fn sets_section(world: &mut DiscosWorld, who: Who, section: String, step: &Step) {}
"##;

    #[test]
    fn steps_are_read_with_their_docs_functions_and_arguments() {
        let file = read(STEPS);
        assert_eq!(
            file.doc.as_deref(),
            Some("Steps about things.\nSecond line.")
        );
        let sends = &file.steps[0];
        assert_eq!(sends.line, 7);
        assert_eq!(sends.keyword, StepType::When);
        assert_eq!(sends.kind, PatternKind::Expression);
        assert_eq!(sends.pattern, "{client} sends {string}");
        assert_eq!(
            sends.doc.as_deref(),
            Some("A request line as typed: the `?` may be left out.")
        );
        assert_eq!(sends.function, "sends");
        assert_eq!(
            sends.arguments,
            [
                ("who".into(), "Who".into()),
                ("line".into(), "String".into())
            ]
        );
        let accepts = &file.steps[1];
        assert_eq!(
            (
                accepts.kind,
                accepts.pattern.as_str(),
                accepts.doc.as_deref()
            ),
            (PatternKind::Literal, "the backend accepts it", None)
        );
        let (given, when) = (&file.steps[2], &file.steps[3]);
        assert_eq!((given.line, when.line), (16, 19));
        assert_eq!(given.keyword, StepType::Given);
        assert_eq!(when.keyword, StepType::When);
        assert_eq!(
            given.pattern,
            r"^the acquisition is (started|stopped) in (\d+) (milliseconds?|seconds?)$"
        );
        assert_eq!(given.kind, PatternKind::Regex);
        assert_eq!(when.function, "timed");
        assert_eq!(when.doc.as_deref(), Some("Timed."));
        assert_eq!(when.arguments.len(), 3);
        assert_eq!(file.steps.len(), 5, "the helper is no step");
        assert_eq!(
            file.steps[4].arguments.last(),
            Some(&("step".into(), "&Step".into()))
        );
        assert_eq!(
            file.parameters,
            [SourceParameter {
                name: "client".into(),
                regex: r#"the client|client "[^"]*""#.into(),
                doc: Some("Who does something.".into()),
            }]
        );
    }

    #[test]
    fn string_literals_are_decoded() {
        assert_eq!(
            string_literal(r#""a \"b\" \\ c""#).as_deref(),
            Some(r#"a "b" \ c"#)
        );
        assert_eq!(
            string_literal(r###"r#"x "y" z"#, rest"###).as_deref(),
            Some(r#"x "y" z"#)
        );
        assert_eq!(string_literal(r#"r"\d+""#).as_deref(), Some(r"\d+"));
        assert_eq!(string_literal(r#""\u{e9}\x41""#).as_deref(), Some("éA"));
        assert_eq!(string_literal("\"a \\\n     b\"").as_deref(), Some("a b"));
        assert_eq!(string_literal("not a literal"), None);
        assert_eq!(string_literal("\"unterminated"), None);
    }
}
