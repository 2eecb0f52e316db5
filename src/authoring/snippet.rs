//! Step-definition snippets for undefined steps, ready to paste.
//!
//! Writing scenarios before code is the point of the tool: a scenario that
//! uses a sentence no step knows yet gets back the code to start from, with
//! quoted text and numbers already turned into parameters, and first the
//! defined steps closest to it, in case the sentence is a slip of one
//! ("did you mean").
//!
//! [`Snippet::paste`] writes the code as one block that compiles as it is
//! in the file it names: its `use` lines once, each function once, a name
//! never taken twice. The same text compiles in this crate (the library
//! calls itself `discos_acceptance` too) and in a downstream crate that
//! depends on it and on `cucumber`.

use std::collections::BTreeSet;
use std::fmt;

use cucumber::gherkin::{Step, StepType};

use crate::authoring::catalogue::{Catalogue, Home, Neighbour, number_prefix};
use crate::report::UndefinedStep;

/// A step definition to paste for an undefined step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// `given`, `when` or `then`.
    pub attribute: &'static str,
    /// The cucumber expression matching the step.
    pub expression: String,
    /// A function name made from the step's words.
    pub function: String,
    /// The parameters, as `name: Type`.
    pub parameters: Vec<String>,
    /// The step as the feature says it, keyword included.
    pub step: String,
    /// The step's line in its feature file.
    pub line: usize,
    /// The defined steps closest to it, nearest first: what the scenario
    /// may have meant to say.
    pub neighbours: Vec<Neighbour>,
}

impl Snippet {
    /// The undefined step as the reports show it, said at `place`
    /// (`file:line`).
    pub fn undefined_at(&self, place: &str) -> UndefinedStep {
        UndefinedStep {
            expression: self.expression.clone(),
            snippet: self.to_string(),
            step: self.step.clone(),
            places: vec![place.to_owned()],
            neighbours: self.neighbours.iter().map(ToString::to_string).collect(),
        }
    }

    /// The snippet for `step`, with the defined steps closest to it.
    pub fn for_step(step: &Step) -> Snippet {
        let mut snippet = Snippet::without_neighbours(step);
        snippet.neighbours = Catalogue::library().nearest(step);
        snippet
    }

    fn without_neighbours(step: &Step) -> Snippet {
        let attribute = match step.ty {
            StepType::Given => "given",
            StepType::When => "when",
            StepType::Then => "then",
        };
        let mut expression = String::new();
        let mut words = Vec::new();
        let mut parameters = Vec::new();
        let mut rest = step.value.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '"'
                && let Some(end) = rest[1..].find('"')
            {
                expression.push_str("{string}");
                parameters.push(format!("text{}: String", parameters.len() + 1));
                rest = &rest[end + 2..];
                continue;
            }
            let number_len = number_prefix(rest);
            if number_len > 0 && !expression.ends_with(|c: char| c.is_alphanumeric()) {
                let number = &rest[..number_len];
                if number.contains('.') {
                    expression.push_str("{float}");
                    parameters.push(format!("number{}: f64", parameters.len() + 1));
                } else {
                    expression.push_str("{int}");
                    parameters.push(format!("number{}: i64", parameters.len() + 1));
                }
                rest = &rest[number_len..];
                continue;
            }
            // Characters that mean something in a cucumber expression.
            if matches!(c, '(' | ')' | '{' | '}' | '/' | '\\') {
                expression.push('\\');
            }
            expression.push(c);
            rest = &rest[c.len_utf8()..];
        }
        for word in step
            .value
            .split('"')
            .step_by(2)
            .flat_map(|part| part.split(|c: char| !c.is_ascii_alphabetic()))
            .filter(|w| !w.is_empty())
        {
            words.push(word.to_ascii_lowercase());
        }
        if step.table.is_some() || step.docstring.is_some() {
            parameters.push("step: &Step".to_owned());
        }
        let function = if words.is_empty() {
            "step".to_owned()
        } else {
            words.join("_")
        };
        Snippet {
            attribute,
            expression,
            function: if is_keyword(&function) {
                format!("{function}_step")
            } else {
                function
            },
            parameters,
            step: format!("{}{}", step.keyword, step.value),
            line: step.position.line,
            neighbours: Vec::new(),
        }
    }

    /// The code for `snippets` as one block to paste into the file
    /// `home` names: what it needs to compile, then one function per
    /// sentence (a sentence both a Given and a When is one function with
    /// both attributes), each named once.
    pub fn paste(snippets: &[Snippet], home: Home) -> String {
        // One function per expression, with every keyword it was used as.
        let mut functions: Vec<(BTreeSet<&'static str>, &Snippet)> = Vec::new();
        for snippet in snippets {
            match functions
                .iter_mut()
                .find(|(_, s)| s.expression == snippet.expression)
            {
                Some((attributes, _)) => {
                    attributes.insert(snippet.attribute);
                }
                None => functions.push((BTreeSet::from([snippet.attribute]), snippet)),
            }
        }
        let attributes: BTreeSet<&str> = functions
            .iter()
            .flat_map(|(a, _)| a.iter().copied())
            .collect();
        let needs_step = functions
            .iter()
            .any(|(_, s)| s.parameters.iter().any(|p| p.starts_with("step:")));
        let (file, module) = home.file();
        let mut text = format!("// {file} (and {module})\n");
        if needs_step {
            text.push_str("use cucumber::gherkin::Step;\n");
        }
        match attributes.len() {
            1 => text.push_str(&format!(
                "use cucumber::{};\n",
                attributes.iter().next().copied().unwrap_or("when")
            )),
            _ => text.push_str(&format!(
                "use cucumber::{{{}}};\n",
                attributes.iter().copied().collect::<Vec<_>>().join(", ")
            )),
        }
        text.push_str("use discos_acceptance::acceptance::DiscosWorld;\n");
        let mut names = BTreeSet::new();
        for (attributes, snippet) in functions {
            let mut name = snippet.function.clone();
            let mut suffix = 1;
            while !names.insert(name.clone()) {
                suffix += 1;
                name = format!("{}_{suffix}", snippet.function);
            }
            let function = Snippet {
                function: name,
                ..snippet.clone()
            };
            text.push('\n');
            text.push_str(&function.code(&attributes));
            text.push('\n');
        }
        text
    }

    /// The function, with one attribute per keyword.
    fn code(&self, attributes: &BTreeSet<&'static str>) -> String {
        let mut parameters = vec!["world: &mut DiscosWorld".to_owned()];
        parameters.extend(self.parameters.iter().cloned());
        let names: Vec<&str> = parameters
            .iter()
            .filter_map(|p| p.split(':').next())
            .collect();
        let mut text = String::from(
            "/// What this step does, in words for those who write scenarios\n/// (`discos-sim steps` shows it).\n",
        );
        // Laid out as rustfmt would, so that `cargo fmt` leaves it alone.
        for attribute in attributes {
            let expression = format!("expr = {:?}", self.expression);
            text.push_str(&one_line_or_each(
                &format!("#[{attribute}("),
                &[expression],
                ")]",
                "",
                false,
            ));
        }
        text.push_str(&one_line_or_each(
            &format!("async fn {}(", self.function),
            &parameters,
            ") {",
            "",
            true,
        ));
        // Until the body uses them, the arguments would each be warned
        // about; one tuple of two or more, or the one argument alone.
        match names.as_slice() {
            [one] => text.push_str(&format!("    let _ = {one};\n")),
            _ => {
                let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
                text.push_str(&one_line_or_each("let _ = (", &names, ");", "    ", true));
            }
        }
        text.push_str("    todo!(\"make this step do what it says\")\n}");
        text
    }
}

/// `open`, the items joined by `, `, then `close`, on one line after
/// `indent` if it fits in rustfmt's 100 columns; otherwise each item on a
/// line of its own, one indent deeper (with a trailing comma if `comma`).
fn one_line_or_each(
    open: &str,
    items: &[String],
    close: &str,
    indent: &str,
    comma: bool,
) -> String {
    let line = format!("{indent}{open}{}{close}", items.join(", "));
    if line.chars().count() <= 100 {
        return format!("{line}\n");
    }
    let mut text = format!("{indent}{open}\n");
    for item in items {
        text.push_str(&format!(
            "{indent}    {item}{}\n",
            if comma { "," } else { "" }
        ));
    }
    text.push_str(&format!("{indent}{close}\n"));
    text
}

/// Words Rust keeps for itself, which a function cannot be named.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "as" | "async"
            | "await"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
    )
}

impl fmt::Display for Snippet {
    /// The function alone, for one undefined step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code(&BTreeSet::from([self.attribute])))
    }
}

#[cfg(test)]
#[path = "../../fixtures/snippets/mine.rs"]
mod pasted_into_the_library;

#[cfg(test)]
mod tests {
    use super::*;

    fn step(ty: StepType, value: &str) -> Step {
        Step {
            keyword: "When ".into(),
            ty,
            value: value.into(),
            docstring: None,
            table: None,
            span: Default::default(),
            position: Default::default(),
        }
    }

    #[test]
    fn quoted_text_and_numbers_become_parameters() {
        let snippet = Snippet::without_neighbours(&step(
            StepType::When,
            "the operator points at \"Cassiopeia A\" for 30 seconds at 1.5 GHz",
        ));
        assert_eq!(
            snippet.expression,
            "the operator points at {string} for {int} seconds at {float} GHz"
        );
        assert_eq!(
            snippet.function,
            "the_operator_points_at_for_seconds_at_ghz"
        );
        assert_eq!(
            snippet.to_string(),
            "/// What this step does, in words for those who write scenarios\n\
             /// (`discos-sim steps` shows it).\n\
             #[when(expr = \"the operator points at {string} for {int} seconds at {float} GHz\")]\n\
             async fn the_operator_points_at_for_seconds_at_ghz(\n\
             \x20   world: &mut DiscosWorld,\n\
             \x20   text1: String,\n\
             \x20   number2: i64,\n\
             \x20   number3: f64,\n\
             ) {\n\
             \x20   let _ = (world, text1, number2, number3);\n\
             \x20   todo!(\"make this step do what it says\")\n}"
        );
    }

    #[test]
    fn long_lines_are_broken_as_rustfmt_breaks_them() {
        let snippet = Snippet::without_neighbours(&step(
            StepType::Then,
            "the spectrometer of the Sardinia Radio Telescope reports every section as ready for the night",
        ));
        let code = snippet.to_string();
        assert!(
            code.contains(
                "#[then(\n    expr = \"the spectrometer of the Sardinia Radio Telescope reports every section as ready for the night\"\n)]\n"
            ),
            "{code}"
        );
        assert!(
            code.lines().all(|l| l.len() <= 100
                || l.trim_start().starts_with("expr")
                || l.starts_with("async fn")),
            "{code}"
        );
    }

    #[test]
    fn words_with_digits_and_special_characters_stay_text() {
        let snippet =
            Snippet::without_neighbours(&step(StepType::Given, "the K2000 receiver (cold)"));
        assert_eq!(snippet.expression, "the K2000 receiver \\(cold\\)");
        assert!(snippet.parameters.is_empty());
        assert_eq!(
            Snippet::without_neighbours(&step(StepType::Given, "type")).function,
            "type_step"
        );
    }

    #[test]
    fn a_pasted_block_imports_once_and_names_each_function_once() {
        let snippets: Vec<Snippet> = [
            (StepType::Given, "the dish is parked"),
            (StepType::When, "the dish is parked"),
            (StepType::Then, "the dish is at 30 degrees"),
            (StepType::Then, "the dish is at \"zenith\" degrees"),
        ]
        .iter()
        .map(|(ty, text)| Snippet::without_neighbours(&step(*ty, text)))
        .collect();
        let block = Snippet::paste(&snippets, Home::Downstream);
        assert!(
            block.starts_with("// tests/steps/mod.rs (and `mod steps;` in the test that calls discos_acceptance::acceptance::main)\nuse cucumber::{given, then, when};\nuse discos_acceptance::acceptance::DiscosWorld;\n"),
            "{block}"
        );
        assert!(
            block.contains("#[given(expr = \"the dish is parked\")]\n#[when(expr = \"the dish is parked\")]\nasync fn the_dish_is_parked("),
            "{block}"
        );
        assert!(
            block
                .contains("async fn the_dish_is_at_degrees(world: &mut DiscosWorld, number1: i64)"),
            "{block}"
        );
        assert!(
            block.contains(
                "async fn the_dish_is_at_degrees_2(world: &mut DiscosWorld, text1: String)"
            ),
            "{block}"
        );
        assert!(
            Snippet::paste(&snippets[..1], Home::Library)
                .starts_with("// src/acceptance/steps/mine.rs (and `mod mine;` in src/acceptance/steps/mod.rs)\nuse cucumber::given;\n")
        );
    }
}
