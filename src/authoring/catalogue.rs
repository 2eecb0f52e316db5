//! The step catalogue: every sentence a scenario can say, with its
//! parameters, what it does, an example from the features and how often
//! they say it (`discos-sim steps`, or `--steps` on a run), as text for
//! people and as JSON for editors; and, for a sentence no step says, the
//! steps closest to it ("did you mean").
//!
//! The step definitions come from cucumber's registry (the `inventory`
//! that `#[given]`, `#[when]` and `#[then]` submit to, through
//! [`cucumber::codegen`]): every step linked into the program, a downstream
//! crate's included, with its compiled pattern and its place in the source.
//! Doc comments exist only in the source, so the step library's files are
//! compiled in (the build script takes every file of
//! `src/acceptance/steps/`) and read by a small parser; a downstream
//! crate's steps file is read from disk where the run finds it (as `cargo
//! test` runs, from the crate's folder), and without it its steps show
//! their compiled pattern alone.

mod nearest;
mod source;
mod wording;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::path::Path;
use std::sync::LazyLock;

use cucumber::codegen::WorldInventory;
use cucumber::gherkin::{self, StepType};
use regex::Regex;
use serde::Serialize;

pub(crate) use nearest::number_prefix;
pub use source::PatternKind;

use crate::acceptance::features::Unreadable;
use crate::acceptance::world::DiscosWorld;

/// The step library's source files, by path from the crate's root.
const STEP_SOURCES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/step_sources.rs"));

/// Given, When or Then, as a feature writes it.
pub fn keyword(ty: StepType) -> &'static str {
    match ty {
        StepType::Given => "Given",
        StepType::When => "When",
        StepType::Then => "Then",
    }
}

/// Where a step definition is: a source file and the line of its
/// attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// The file, from its crate's root for the step library.
    pub file: String,
    /// The line of the `#[given]`, `#[when]` or `#[then]` attribute.
    pub line: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One parameter of a step, as a scenario writer fills it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parameter {
    /// How the phrase writes it: `{string}`, `{client}`, or a regex group
    /// such as `(started|stopped)`.
    pub name: String,
    /// What it takes, in words: `text in quotes`, `started or stopped`.
    pub matches: String,
    /// The step function's argument it fills, `name: Type`, when the
    /// source says.
    pub argument: Option<String>,
}

/// One step definition.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Given, When or Then.
    pub keyword: StepType,
    /// The phrase as written in the source: a cucumber expression, a
    /// literal sentence, or a regex (without `^` and `$`); the compiled
    /// pattern when the source could not be read.
    pub phrase: String,
    /// How the phrase is written.
    pub kind: PatternKind,
    /// The phrase as a scenario writer reads it: a regex's groups as
    /// `<this|that>`, its optional parts as `[…]`, quoted text as `"…"`.
    pub reads: String,
    /// The pattern cucumber matches steps with.
    pub regex: Regex,
    /// Where it is defined.
    pub location: Location,
    /// The step function.
    pub function: Option<String>,
    /// The doc comment: what the step does, for scenario writers.
    pub doc: Option<String>,
    /// Its parameters, in the order the phrase has them.
    pub parameters: Vec<Parameter>,
    /// Whether it reads a table (or doc string) written below the step.
    pub takes_table: bool,
    /// The sentences it can say, masked, for "did you mean".
    forms: Vec<Vec<char>>,
}

impl Definition {
    /// `When {client} sends {string}`.
    pub fn sentence(&self) -> String {
        format!("{} {}", keyword(self.keyword), self.reads)
    }
}

/// A defined step close to one that none matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Neighbour {
    /// Given, When or Then: the definition's, which may not be the step's.
    pub keyword: String,
    /// The definition's phrase, as a scenario writer reads it.
    pub phrase: String,
    /// Where it is defined.
    pub location: Location,
    /// How many characters differ, parameters masked.
    pub distance: usize,
}

impl fmt::Display for Neighbour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}  ({})", self.keyword, self.phrase, self.location)
    }
}

/// Where pasted step definitions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// This crate's step library.
    Library,
    /// A crate of one's own that runs the steps on its features.
    Downstream,
}

impl Home {
    /// The library when `cargo` runs this crate's own tests, a downstream
    /// crate otherwise (`cargo` names the package it runs).
    pub fn here() -> Home {
        if std::env::var("CARGO_PKG_NAME").as_deref() == Ok(env!("CARGO_PKG_NAME")) {
            Home::Library
        } else {
            Home::Downstream
        }
    }

    /// The file to paste into, and the line that makes it part of the crate.
    pub fn file(self) -> (&'static str, &'static str) {
        match self {
            Home::Library => (
                "src/acceptance/steps/mine.rs",
                "`mod mine;` in src/acceptance/steps/mod.rs",
            ),
            Home::Downstream => (
                "tests/steps/mod.rs",
                "`mod steps;` in the test that calls discos_acceptance::acceptance::main",
            ),
        }
    }
}

/// Every step definition of the program, with what its source says.
#[derive(Debug)]
pub struct Catalogue {
    definitions: Vec<Definition>,
    /// Module docs of the source files, by file.
    modules: BTreeMap<String, Option<String>>,
    masks: nearest::Masks,
}

/// How many defined steps "did you mean" names at most.
const MOST_NEIGHBOURS: usize = 3;

/// The source of every file that defines steps, by the path the catalogue
/// shows, and the path shown for each path the compiler recorded: the
/// crate's own files are compiled in, a downstream crate's are read where
/// the run is.
fn sources_of(
    paths: impl Iterator<Item = &'static str>,
) -> (
    BTreeMap<String, source::SourceFile>,
    HashMap<&'static str, String>,
) {
    let mut files: BTreeMap<String, source::SourceFile> = STEP_SOURCES
        .iter()
        .map(|(path, text)| ((*path).to_owned(), source::read(text)))
        .collect();
    let mut shown_as: HashMap<&'static str, String> = HashMap::new();
    for file in paths {
        if shown_as.contains_key(file) {
            continue;
        }
        let known = files
            .keys()
            .find(|key| file == key.as_str() || file.ends_with(&format!("/{key}")))
            .cloned();
        let key = match known {
            Some(key) => key,
            None => {
                // A downstream crate's file, read where the run is.
                let key = file.to_owned();
                let read = std::fs::read_to_string(Path::new(file))
                    .map(|text| source::read(&text))
                    .unwrap_or_default();
                files.insert(key.clone(), read);
                key
            }
        };
        shown_as.insert(file, key);
    }
    (files, shown_as)
}

impl Catalogue {
    /// The steps of [`DiscosWorld`] linked into this program, read once.
    pub fn library() -> &'static Catalogue {
        static LIBRARY: LazyLock<Catalogue> = LazyLock::new(Catalogue::load);
        &LIBRARY
    }

    fn load() -> Catalogue {
        let mut compiled = Vec::new();
        for step in inventory_iter::<<DiscosWorld as WorldInventory>::Given>() {
            compiled.push((StepType::Given, step));
        }
        for step in inventory_iter::<<DiscosWorld as WorldInventory>::When>() {
            compiled.push((StepType::When, step));
        }
        for step in inventory_iter::<<DiscosWorld as WorldInventory>::Then>() {
            compiled.push((StepType::Then, step));
        }
        let (files, shown_as) = sources_of(compiled.iter().map(|(_, (location, _))| location.path));
        let masks = nearest::Masks::new(
            files
                .values()
                .flat_map(|file| &file.parameters)
                .map(|p| (p.name.as_str(), p.regex.as_str())),
        );
        let custom: HashMap<&str, &source::SourceParameter> = files
            .values()
            .flat_map(|file| &file.parameters)
            .map(|p| (p.name.as_str(), p))
            .collect();
        let mut definitions: Vec<Definition> = compiled
            .iter()
            .map(|(ty, (location, regex))| {
                let file = shown_as
                    .get(location.path)
                    .cloned()
                    .unwrap_or_else(|| location.path.to_owned());
                let found = files.get(&file).and_then(|source| {
                    source
                        .steps
                        .iter()
                        .find(|s| s.line == location.line && s.keyword == *ty)
                });
                define(
                    *ty,
                    regex.clone(),
                    Location {
                        file,
                        line: location.line,
                    },
                    found,
                    &custom,
                    &masks,
                )
            })
            .collect();
        definitions.sort_by(|a, b| a.location.cmp(&b.location));
        let modules = files
            .into_iter()
            .map(|(path, file)| (path, file.doc))
            .collect();
        Catalogue {
            definitions,
            modules,
            masks,
        }
    }

    /// Every definition, by file and line.
    pub fn definitions(&self) -> &[Definition] {
        &self.definitions
    }

    /// The definition at `location`, if there is one.
    pub fn at(&self, file: &str, line: u32) -> Option<&Definition> {
        self.definitions.iter().find(|d| {
            d.location.line == line
                && (d.location.file == file || file.ends_with(&format!("/{}", d.location.file)))
        })
    }

    /// The definitions that match `step`, as cucumber matches them.
    pub fn matching(&self, step: &gherkin::Step) -> Vec<&Definition> {
        self.definitions
            .iter()
            .filter(|d| d.keyword == step.ty && d.regex.is_match(&step.value))
            .collect()
    }

    /// The defined steps closest to `step`, nearest first: those of its
    /// own keyword before others at the same distance; none if nothing is
    /// near enough to be what was meant.
    ///
    /// The step is read as written and in the library's words (`says ok`
    /// as `accepts it`; see `wording`), and is as near to a definition
    /// as the nearer reading. A definition of another keyword counts one
    /// edit more (`Then` for a `When` is a slip too, but a rarer one),
    /// unless it is a state whose sentence of the step's keyword is known
    /// (`Given the backend is acquiring` is nearest `Then the backend is
    /// acquiring`, which `Given the acquisition is started` makes so):
    /// that sentence is named first, at the distance of the other. Only
    /// those within one edit of the nearest are named: a list of every
    /// sentence three letters away would hide the one that was meant.
    pub fn nearest(&self, step: &gherkin::Step) -> Vec<Neighbour> {
        let written = self.masks.mask(&step.value);
        let limit = nearest::near_enough(written.len());
        let mut readings = vec![written];
        readings.extend(wording::reworded(&step.value).map(|r| self.masks.mask(&r)));
        let own = keyword(step.ty);
        let mut found: Vec<(usize, usize, &Definition)> = Vec::new();
        for d in &self.definitions {
            let Some(distance) = readings
                .iter()
                .filter_map(|reading| nearest::closest(reading, &d.forms))
                .min()
            else {
                continue;
            };
            if d.keyword == step.ty {
                found.push((distance, distance, d));
                continue;
            }
            found.push((distance + 1, distance, d));
            let counterpart = wording::same_state(&d.sentence(), own)
                .and_then(|sentence| self.definitions.iter().find(|c| c.sentence() == sentence));
            if let Some(counterpart) = counterpart {
                found.push((distance, distance, counterpart));
            }
        }
        found.retain(|(weighed, _, _)| *weighed <= limit);
        found.sort_by(|a, b| (a.0, &a.2.location).cmp(&(b.0, &b.2.location)));
        let best = found.first().map_or(0, |(weighed, _, _)| *weighed);
        let mut seen = BTreeSet::new();
        found
            .into_iter()
            .take_while(|(weighed, _, _)| *weighed <= best + 1)
            .filter(|(_, _, d)| seen.insert((d.keyword as u8, d.phrase.clone())))
            .take(MOST_NEIGHBOURS)
            .map(|(_, distance, d)| Neighbour {
                keyword: keyword(d.keyword).to_owned(),
                phrase: d.reads.clone(),
                location: d.location.clone(),
                distance,
            })
            .collect()
    }

    /// The first paragraph of a source file's module doc: the subject of
    /// its steps.
    fn subject(&self, file: &str) -> Option<String> {
        let doc = self.modules.get(file)?.as_deref()?;
        Some(doc.split("\n\n").next()?.replace('\n', " "))
    }
}

fn inventory_iter<T>() -> impl Iterator<Item = (cucumber::step::Location, Regex)>
where
    T: cucumber::codegen::inventory::Collect + cucumber::codegen::StepConstructor<DiscosWorld>,
{
    cucumber::codegen::inventory::iter::<T>
        .into_iter()
        .map(|step| {
            let (location, regex, _) = step.inner();
            (location, regex())
        })
}

/// A definition from its compiled form and, when found, its source.
fn define(
    ty: StepType,
    regex: Regex,
    location: Location,
    source: Option<&source::SourceStep>,
    custom: &HashMap<&str, &source::SourceParameter>,
    masks: &nearest::Masks,
) -> Definition {
    let compiled = regex.as_str().trim_start_matches('^').trim_end_matches('$');
    let (kind, phrase) = match source {
        Some(step) => (step.kind, step.pattern.clone()),
        None => (PatternKind::Regex, compiled.to_owned()),
    };
    let phrase = match kind {
        PatternKind::Regex => phrase
            .trim_start_matches('^')
            .trim_end_matches('$')
            .to_owned(),
        _ => phrase,
    };
    let arguments: Vec<&(String, String)> = source
        .map(|s| s.arguments.iter().filter(|a| !is_the_step(a)).collect())
        .unwrap_or_default();
    let takes_table = source.is_some_and(|s| s.arguments.iter().any(is_the_step));
    let mut parameters: Vec<Parameter> = match kind {
        PatternKind::Literal => Vec::new(),
        PatternKind::Expression => expression_parameters(&phrase)
            .into_iter()
            .map(|name| Parameter {
                matches: meaning_of(&name, custom),
                name: format!("{{{name}}}"),
                argument: None,
            })
            .collect(),
        PatternKind::Regex => regex_groups(&phrase)
            .into_iter()
            .map(|(group, optional)| Parameter {
                matches: if optional {
                    format!("optionally {}", humanize(&group))
                } else {
                    humanize(&group)
                },
                name: format!("({group}){}", if optional { "?" } else { "" }),
                argument: None,
            })
            .collect(),
    };
    for (parameter, (name, ty)) in parameters.iter_mut().zip(arguments) {
        parameter.argument = Some(format!("{name}: {ty}"));
    }
    let forms = match kind {
        PatternKind::Literal => vec![masks.mask(&phrase)],
        PatternKind::Expression => masks.expression(&phrase),
        PatternKind::Regex => masks.regex(&phrase),
    };
    Definition {
        keyword: ty,
        reads: match kind {
            PatternKind::Regex => readable(&phrase),
            _ => phrase.clone(),
        },
        phrase,
        kind,
        regex,
        location,
        function: source.map(|s| s.function.clone()),
        doc: source.and_then(|s| s.doc.clone()),
        parameters,
        takes_table,
        forms,
    }
}

/// A regex as a sentence: each group as `<this|that>` (an optional one
/// as `[…]`), `\d+` as `number`, `\S+` as `word`, `"[^"]*"` as `"…"`, an
/// optional letter as `(s)`.
fn readable(regex: &str) -> String {
    let chars: Vec<char> = regex.chars().collect();
    let mut at = 0;
    render(&chars, &mut at, false)
}

/// Renders `chars` from `at` to the end, or to the `)` that closes the
/// group it is `in_group`.
fn render(chars: &[char], at: &mut usize, in_group: bool) -> String {
    let mut out = String::new();
    let quantifier = |at: &mut usize| skip_quantifier(chars, at);
    while *at < chars.len() {
        let c = chars[*at];
        *at += 1;
        match c {
            '^' | '$' => {}
            ')' if in_group => return out,
            '(' => render_group(chars, at, &mut out),
            '\\' => {
                let escaped = chars.get(*at).copied().unwrap_or('\\');
                *at += 1;
                match escaped {
                    'd' => {
                        quantifier(at);
                        out.push_str("number");
                    }
                    'S' | 'w' => {
                        quantifier(at);
                        out.push_str("word");
                    }
                    's' => {
                        quantifier(at);
                        out.push(' ');
                    }
                    other => out.push(other),
                }
            }
            '[' => {
                let mut escaped = false;
                while *at < chars.len() && (escaped || chars[*at] != ']') {
                    escaped = chars[*at] == '\\' && !escaped;
                    *at += 1;
                }
                *at += 1;
                quantifier(at);
                out.push('…');
            }
            '.' => {
                quantifier(at);
                out.push('…');
            }
            other if chars.get(*at) == Some(&'?') => {
                *at += 1;
                out.push_str(&format!("({other})"));
            }
            other => out.push(other),
        }
    }
    out
}

/// Skips a quantifier after a class or an escape: it is still one thing.
fn skip_quantifier(chars: &[char], at: &mut usize) {
    match chars.get(*at) {
        Some('+') | Some('*') | Some('?') => *at += 1,
        Some('{') => {
            while *at < chars.len() && chars[*at] != '}' {
                *at += 1;
            }
            *at += 1;
        }
        _ => {}
    }
}

/// Renders the group whose `(` was just read: `[…]` when optional, a
/// quoted `…` as it is, otherwise `<…>`.
fn render_group(chars: &[char], at: &mut usize, out: &mut String) {
    if chars.get(*at) == Some(&'?') {
        *at += 1;
        if matches!(chars.get(*at), Some('P') | Some('<')) {
            while *at < chars.len() && chars[*at] != '>' {
                *at += 1;
            }
        }
        *at += 1;
    }
    let inner = render(chars, at, true);
    let optional = chars.get(*at) == Some(&'?');
    if optional {
        *at += 1;
    }
    if optional {
        out.push_str(&format!("[{inner}]"));
    } else if inner == "…" && out.ends_with('"') {
        out.push_str(&inner);
    } else {
        out.push_str(&format!("<{inner}>"));
    }
}

/// Whether an argument is the step itself, for its table or doc string:
/// cucumber passes it to the argument named `step`.
fn is_the_step((name, ty): &(String, String)) -> bool {
    name == "step" || (ty.starts_with('&') && ty.ends_with("Step"))
}

/// The names of the `{parameters}` of a cucumber expression, in order.
fn expression_parameters(expression: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = expression.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '{' => names.push(chars.by_ref().take_while(|&c| c != '}').collect()),
            _ => {}
        }
    }
    names
}

/// What a parameter of an expression takes, in words.
fn meaning_of(name: &str, custom: &HashMap<&str, &source::SourceParameter>) -> String {
    match name {
        "string" => "text in quotes".to_owned(),
        "int" => "a whole number".to_owned(),
        "float" => "a number".to_owned(),
        "word" => "one word, without spaces".to_owned(),
        "" => "anything".to_owned(),
        other => match custom.get(other) {
            Some(parameter) => humanize(&parameter.regex),
            None => format!("a {other}"),
        },
    }
}

/// The capturing groups of a regex, in order, each with whether a `?`
/// makes it optional.
fn regex_groups(regex: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = regex.chars().collect();
    let mut groups = Vec::new();
    let mut open: Vec<(usize, bool)> = Vec::new();
    let mut at = 0;
    let mut class = false;
    while at < chars.len() {
        match chars[at] {
            '\\' => at += 1,
            '[' if !class => class = true,
            ']' if class => class = false,
            '(' if !class => {
                let capturing = chars.get(at + 1) != Some(&'?')
                    || matches!(chars.get(at + 2), Some('P') | Some('<'));
                open.push((at, capturing));
                if capturing {
                    groups.push((String::new(), false, at));
                }
            }
            ')' if !class => {
                if let Some((start, true)) = open.pop()
                    && let Some(group) = groups.iter_mut().find(|g| g.2 == start)
                {
                    group.0 = chars[start + 1..at].iter().collect();
                    group.1 = chars.get(at + 1) == Some(&'?');
                }
            }
            _ => {}
        }
        at += 1;
    }
    groups
        .into_iter()
        .map(|(text, optional, _)| (text, optional))
        .collect()
}

/// A regex (a group's, or a custom parameter's) in words: its alternatives
/// as a list, `\d+` as a number, `"[^"]*"` as quoted text.
fn humanize(regex: &str) -> String {
    let mut alternatives = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    let mut escaped = false;
    for c in regex.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '|' if depth == 0 => {
                alternatives.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    alternatives.push(current);
    let words: Vec<String> = alternatives.iter().map(|a| humanize_one(a)).collect();
    match words.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn humanize_one(alternative: &str) -> String {
    let bare = alternative.trim_start_matches("?:");
    match bare {
        r"\d+" => return "a whole number".to_owned(),
        r"\S+" | r"[^\s]+" => return "one word, without spaces".to_owned(),
        r#"[^"]*"# => return "text without double quotes".to_owned(),
        _ => {}
    }
    if let Some(digits) = bare.strip_prefix(r"\d{").and_then(|d| d.strip_suffix('}')) {
        return format!("a number of {} digits", digits.replace(',', " to "));
    }
    bare.replace(r#""[^"]*""#, "\"…\"")
        .replace("s?", "(s)")
        .replace('\\', "")
}

// ------------------------------------------------------------------ usage

/// A feature file, parsed, with its outlines expanded, and the path to
/// show for it.
#[derive(Debug, Clone)]
pub struct FeatureFile {
    /// The path as the user knows it.
    pub shown: String,
    /// The feature.
    pub feature: gherkin::Feature,
}

/// Reads the `.feature` files at `path` (a folder of them, or one file),
/// each shown as `show` says; those that cannot be run as written are
/// returned as what is wrong with them, never left out unsaid.
pub fn read_features(
    path: &Path,
    show: impl Fn(&Path) -> String,
) -> anyhow::Result<(Vec<FeatureFile>, Vec<Unreadable>)> {
    let mut features = Vec::new();
    let mut errors = Vec::new();
    for path in crate::acceptance::features::files(path)? {
        let shown = show(&path);
        match crate::acceptance::features::read(&path, &shown) {
            Ok(feature) => features.push(FeatureFile { shown, feature }),
            Err(error) => errors.push(error),
        }
    }
    Ok((features, errors))
}

/// The features compiled into the library, shown as `features/NAME`.
pub fn compiled_in_features() -> (Vec<FeatureFile>, Vec<Unreadable>) {
    let mut features = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in crate::acceptance::features::FEATURES {
        let shown = format!("features/{name}");
        let parsed = crate::acceptance::features::parse(text, &shown).and_then(|mut feature| {
            feature.path = Some(shown.clone().into());
            crate::acceptance::features::expand(feature, &shown)
        });
        match parsed {
            Ok(feature) => features.push(FeatureFile { shown, feature }),
            Err(error) => errors.push(error),
        }
    }
    (features, errors)
}

/// A step as a feature says it, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Use {
    /// The step as written, keyword included (an outline's with its first
    /// example's values).
    pub step: String,
    /// The feature file, as the user knows it.
    pub file: String,
    /// The step's line.
    pub line: usize,
}

/// Every step of a feature, its backgrounds' included, each with whether
/// it comes from an outline.
pub fn steps_of(feature: &gherkin::Feature) -> Vec<(&gherkin::Step, bool)> {
    fn background(b: &Option<gherkin::Background>) -> impl Iterator<Item = &gherkin::Step> {
        b.iter().flat_map(|b| b.steps.iter())
    }
    let mut steps = Vec::new();
    steps.extend(background(&feature.background).map(|s| (s, false)));
    for scenario in &feature.scenarios {
        let outline = !scenario.examples.is_empty();
        steps.extend(scenario.steps.iter().map(|s| (s, outline)));
    }
    for rule in &feature.rules {
        steps.extend(background(&rule.background).map(|s| (s, false)));
        for scenario in &rule.scenarios {
            let outline = !scenario.examples.is_empty();
            steps.extend(scenario.steps.iter().map(|s| (s, outline)));
        }
    }
    steps
}

/// How the features use one definition.
#[derive(Debug, Clone, Default)]
struct Usage {
    /// The steps that say it, by file and line (an outline's step once).
    places: BTreeSet<(String, usize)>,
    /// The first of them, one outside an outline if there is one.
    example: Option<(bool, Use)>,
}

fn usage(catalogue: &Catalogue, features: &[FeatureFile]) -> Vec<Usage> {
    let mut usage = vec![Usage::default(); catalogue.definitions.len()];
    for file in features {
        for (step, outline) in steps_of(&file.feature) {
            for (index, definition) in catalogue.definitions.iter().enumerate() {
                if definition.keyword != step.ty || !definition.regex.is_match(&step.value) {
                    continue;
                }
                let entry = &mut usage[index];
                entry
                    .places
                    .insert((file.shown.clone(), step.position.line));
                let better = match &entry.example {
                    None => true,
                    Some((was_outline, _)) => *was_outline && !outline,
                };
                if better {
                    entry.example = Some((
                        outline,
                        Use {
                            step: format!("{}{}", step.keyword, step.value),
                            file: file.shown.clone(),
                            line: step.position.line,
                        },
                    ));
                }
            }
        }
    }
    usage
}

// ---------------------------------------------------------------- listing

/// How the catalogue is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON object, for editors and tools.
    Json,
}

/// The JSON catalogue.
#[derive(Debug, Serialize)]
struct Document<'a> {
    /// Where the features whose uses are counted are.
    features: &'a str,
    feature_files: usize,
    definitions: usize,
    unused: usize,
    steps: Vec<Entry<'a>>,
}

/// One entry of the JSON catalogue: one definition, one keyword.
#[derive(Debug, Serialize)]
struct Entry<'a> {
    keyword: &'static str,
    phrase: &'a str,
    kind: PatternKind,
    reads: &'a str,
    regex: &'a str,
    file: &'a str,
    line: u32,
    function: Option<&'a str>,
    doc: Option<&'a str>,
    parameters: &'a [Parameter],
    table: bool,
    uses: usize,
    unused: bool,
    example: Option<&'a Use>,
}

/// The catalogue of `catalogue`'s steps, with how `features` (read from
/// `source`, shown in the heading) use them.
pub fn listing(
    catalogue: &Catalogue,
    features: &[FeatureFile],
    source: &str,
    format: Format,
) -> String {
    let usage = usage(catalogue, features);
    match format {
        Format::Json => json_listing(catalogue, &usage, source, features.len()),
        Format::Text => text_listing(catalogue, &usage, source, features.len()),
    }
}

fn json_listing(catalogue: &Catalogue, usage: &[Usage], source: &str, files: usize) -> String {
    let steps: Vec<Entry<'_>> = catalogue
        .definitions
        .iter()
        .zip(usage)
        .map(|(d, u)| Entry {
            keyword: keyword(d.keyword),
            phrase: &d.phrase,
            kind: d.kind,
            reads: &d.reads,
            regex: d.regex.as_str(),
            file: &d.location.file,
            line: d.location.line,
            function: d.function.as_deref(),
            doc: d.doc.as_deref(),
            parameters: &d.parameters,
            table: d.takes_table,
            uses: u.places.len(),
            unused: u.places.is_empty(),
            example: u.example.as_ref().map(|(_, e)| e),
        })
        .collect();
    let document = Document {
        features: source,
        feature_files: files,
        definitions: steps.len(),
        unused: steps.iter().filter(|s| s.unused).count(),
        steps,
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

fn text_listing(catalogue: &Catalogue, usage: &[Usage], source: &str, files: usize) -> String {
    // Definitions of one function with one phrase (a step that is both a
    // Given and a When) are one entry.
    let mut entries: Vec<(Vec<StepType>, &Definition, Usage)> = Vec::new();
    for (definition, used) in catalogue.definitions.iter().zip(usage) {
        let same = entries.iter_mut().find(|(_, d, _)| {
            d.phrase == definition.phrase
                && d.function.is_some()
                && d.function == definition.function
                && d.location.file == definition.location.file
        });
        match same {
            Some((keywords, _, merged)) => {
                keywords.push(definition.keyword);
                merged.places.extend(used.places.iter().cloned());
                if merged.example.is_none() {
                    merged.example = used.example.clone();
                }
            }
            None => entries.push((vec![definition.keyword], definition, used.clone())),
        }
    }
    let unused: Vec<String> = entries
        .iter()
        .filter(|(_, _, u)| u.places.is_empty())
        .map(|(keywords, d, _)| format!("{} {}", keywords_of(keywords), d.reads))
        .collect();
    let mut text = format!(
        "The step library: {} step(s); the {files} feature file(s) in {source} use {} of them.\n",
        entries.len(),
        entries.len() - unused.len()
    );
    let mut file = None;
    for (keywords, definition, used) in &entries {
        if file != Some(&definition.location.file) {
            file = Some(&definition.location.file);
            let _ = writeln!(text, "\n{}", definition.location.file);
            if let Some(subject) = catalogue.subject(&definition.location.file) {
                text.push_str(&wrap(&subject, "  "));
            }
        }
        let _ = writeln!(text, "\n  {} {}", keywords_of(keywords), definition.reads);
        if let Some(doc) = &definition.doc {
            for line in doc.lines() {
                let _ = writeln!(text, "      {line}").map(|_| ());
            }
        }
        // A regex's groups already read as `<this|that>` in the phrase.
        if definition.kind == PatternKind::Expression {
            let mut said = BTreeSet::new();
            for parameter in &definition.parameters {
                if said.insert(&parameter.name) {
                    let _ = writeln!(text, "      {}: {}", parameter.name, parameter.matches);
                }
            }
        }
        if definition.takes_table {
            let _ = writeln!(text, "      with a table below the step");
        }
        match &used.example {
            Some((_, example)) => {
                let _ = writeln!(
                    text,
                    "      used {}: e.g. {}  ({}:{})",
                    times(used.places.len()),
                    example.step,
                    example.file,
                    example.line
                );
            }
            None => {
                let _ = writeln!(text, "      UNUSED: no feature says it");
            }
        }
        let _ = writeln!(text, "      defined at {}", definition.location);
    }
    if !unused.is_empty() {
        let _ = write!(
            text,
            "\nUsed by no feature in {source}:\n  {}\n",
            unused.join("\n  ")
        );
    }
    text
}

/// `text` in lines of at most 76 characters, each after `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > 76 {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
    out
}

fn keywords_of(keywords: &[StepType]) -> String {
    keywords
        .iter()
        .map(|k| keyword(*k))
        .collect::<Vec<_>>()
        .join("/")
}

fn times(count: usize) -> String {
    match count {
        1 => "once".to_owned(),
        n => format!("{n} times"),
    }
}

#[cfg(test)]
mod tests {
    use cucumber::Parameter as _;

    use super::*;

    #[test]
    fn regex_groups_are_found_in_order_with_their_optionality() {
        assert_eq!(
            regex_groups(r#"(the client|client "[^"]*") (starts|stops) in (\d+)(, written)?"#),
            [
                (r#"the client|client "[^"]*""#.to_owned(), false),
                ("starts|stops".to_owned(), false),
                (r"\d+".to_owned(), false),
                (", written".to_owned(), true),
            ]
        );
        assert_eq!(
            regex_groups(r"(?:x)(?P<n>y)\(z\)"),
            [("?P<n>y".to_owned(), false)]
        );
    }

    #[test]
    fn regexes_read_as_words() {
        assert_eq!(
            humanize(r#"the client|the user|client "[^"]*""#),
            "the client, the user or client \"…\""
        );
        assert_eq!(humanize(r"\d+|one|two"), "a whole number, one or two");
        assert_eq!(
            humanize(r"milliseconds?|seconds?"),
            "millisecond(s) or second(s)"
        );
        assert_eq!(humanize(r"\d{1,2}"), "a number of 1 to 2 digits");
        assert_eq!(humanize(r"\S+"), "one word, without spaces");
    }

    #[test]
    fn regex_phrases_read_as_sentences() {
        assert_eq!(
            readable(
                r#"^(the client|client "[^"]*") (starts|stops) in (\d+|one) (milliseconds?|seconds?)(, written)?$"#
            ),
            r#"<the client|client "…"> <starts|stops> in <number|one> <millisecond(s)|second(s)>[, written]"#
        );
        assert_eq!(
            readable(r#"^the client sets section (\S+) to "([^"]*)"$"#),
            r#"the client sets section <word> to "…""#
        );
        assert_eq!(
            readable(r"^a line of (\d+) (?:bytes|kilobytes)$"),
            "a line of <number> <bytes|kilobytes>"
        );
    }

    #[test]
    fn expression_parameters_skip_escapes() {
        assert_eq!(
            expression_parameters(r"{client} sends \{x} {string} {}"),
            ["client", "string", ""]
        );
    }

    #[test]
    fn steps_written_as_regexes_take_the_same_actors_as_client() {
        // A regex cannot say {client}: each spells the same alternatives.
        let actors = format!("({})", crate::acceptance::steps::Who::REGEX);
        let with_actors: Vec<_> = Catalogue::library()
            .definitions()
            .iter()
            .filter(|d| d.kind == PatternKind::Regex && d.location.file.starts_with("src/"))
            .filter(|d| d.phrase.contains("(the client|"))
            .collect();
        assert!(with_actors.len() >= 5, "{with_actors:?}");
        let stale: Vec<String> = with_actors
            .iter()
            .filter(|d| !d.phrase.contains(&actors))
            .map(|d| format!("{}: {}", d.location, d.phrase))
            .collect();
        assert!(stale.is_empty(), "write {actors} in:\n{}", stale.join("\n"));
    }
}
