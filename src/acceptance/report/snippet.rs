//! Step-definition snippets for undefined steps, ready to paste.
//!
//! Writing scenarios before code is the point of the tool: a scenario that
//! uses a sentence no step knows yet gets back the code to start from, with
//! quoted text and numbers already turned into parameters.

use std::fmt;

use cucumber::gherkin::{Step, StepType};

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
}

impl Snippet {
    /// The snippet for `step`.
    pub fn for_step(step: &Step) -> Snippet {
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
            if c == '"' {
                if let Some(end) = rest[1..].find('"') {
                    expression.push_str("{string}");
                    parameters.push(format!("text{}: String", parameters.len() + 1));
                    rest = &rest[end + 2..];
                    continue;
                }
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
        if step.table.is_some() {
            parameters.push("step: &cucumber::gherkin::Step".to_owned());
        }
        Snippet {
            attribute,
            expression,
            function: if words.is_empty() {
                "step".to_owned()
            } else {
                words.join("_")
            },
            parameters,
        }
    }
}

/// The length of a decimal number at the start of `text`, 0 if none.
fn number_prefix(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut end = usize::from(bytes.first() == Some(&b'-'));
    let digits_start = end;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if end == digits_start {
        return 0;
    }
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    // "2nd", "K2000": part of a word, not a number.
    if bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
        return 0;
    }
    end
}

impl fmt::Display for Snippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parameters = vec!["world: &mut DiscosWorld".to_owned()];
        parameters.extend(self.parameters.iter().cloned());
        writeln!(f, "#[{}(expr = {:?})]", self.attribute, self.expression)?;
        writeln!(
            f,
            "async fn {}({}) {{",
            self.function,
            parameters.join(", ")
        )?;
        writeln!(f, "    todo!(\"make this step do what it says\")")?;
        write!(f, "}}")
    }
}

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
        let snippet = Snippet::for_step(&step(
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
            "#[when(expr = \"the operator points at {string} for {int} seconds at {float} GHz\")]\n\
             async fn the_operator_points_at_for_seconds_at_ghz(world: &mut DiscosWorld, text1: String, number2: i64, number3: f64) {\n\
             \x20   todo!(\"make this step do what it says\")\n}"
        );
    }

    #[test]
    fn words_with_digits_and_special_characters_stay_text() {
        let snippet = Snippet::for_step(&step(StepType::Given, "the K2000 receiver (cold)"));
        assert_eq!(snippet.expression, "the K2000 receiver \\(cold\\)");
        assert!(snippet.parameters.is_empty());
    }
}
