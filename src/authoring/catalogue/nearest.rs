//! "Did you mean": the defined steps closest to one that no definition
//! matches.
//!
//! A step and a definition are compared with their parameters masked, so
//! that `When the client send "status"` is one letter away from `When
//! {client} sends {string}`, whatever the quoted text says: quoted text,
//! numbers, `<placeholders>` and custom parameters (`the client`, `client
//! "A"`) each become one symbol, on both sides. A definition is turned into
//! the sentences it can say (its optional parts in and out, each
//! alternative), each masked the same way; the distance to the step is the
//! least edit distance, in characters, to any of them, where a `{word}` or a
//! placeholder stands for any one word.

use regex::Regex;

/// Quoted text: `"…"` or `{string}`.
const TEXT: char = '\u{E000}';
/// A number, or `{int}`, `{float}`.
const NUMBER: char = '\u{E001}';
/// One word of any kind: `{word}`, `{}`, `\S+`.
const WORD: char = '\u{E002}';
/// An outline's `<placeholder>`: any one word.
const PLACEHOLDER: char = '\u{E003}';
/// The first custom parameter's symbol; the next ones follow.
const CUSTOM: u32 = 0xE010;

/// The most sentences one definition is expanded into.
const MOST_VARIANTS: usize = 512;

/// The custom parameters of the step library, to mask them in sentences.
#[derive(Debug, Clone, Default)]
pub struct Masks {
    custom: Vec<(String, Regex)>,
}

impl Masks {
    /// Masks for these custom parameters, `(name, regex)`; a regex that
    /// does not compile is left out.
    pub fn new<'a>(parameters: impl IntoIterator<Item = (&'a str, &'a str)>) -> Masks {
        let custom = parameters
            .into_iter()
            .filter_map(|(name, regex)| Some((name.to_owned(), Regex::new(regex).ok()?)))
            .collect();
        Masks { custom }
    }

    fn symbol_of(&self, name: &str) -> char {
        match name {
            "string" => TEXT,
            "int" | "float" | "double" | "biginteger" | "bigdecimal" | "byte" | "short"
            | "long" | "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64"
            | "u128" | "f32" | "f64" | "isize" | "usize" => NUMBER,
            _ => self
                .custom
                .iter()
                .position(|(custom, _)| custom == name)
                .and_then(|index| char::from_u32(CUSTOM + index as u32))
                .unwrap_or(WORD),
        }
    }

    /// A sentence with its parameters masked: custom parameters, quoted
    /// text, numbers and placeholders each become one symbol.
    pub fn mask(&self, sentence: &str) -> Vec<char> {
        let mut text = placeholders()
            .replace_all(sentence, PLACEHOLDER.to_string().as_str())
            .into_owned();
        for (index, (_, regex)) in self.custom.iter().enumerate() {
            let symbol = char::from_u32(CUSTOM + index as u32).unwrap_or(WORD);
            text = regex
                .replace_all(&text, symbol.to_string().as_str())
                .into_owned();
        }
        let mut masked = Vec::new();
        let mut rest = text.as_str();
        while let Some(c) = rest.chars().next() {
            if c == '"'
                && let Some(end) = rest[1..].find('"')
            {
                masked.push(TEXT);
                rest = &rest[end + 2..];
                continue;
            }
            let follows_a_word = masked.last().is_some_and(|c: &char| c.is_alphanumeric());
            let number = number_prefix(rest);
            if number > 0 && !follows_a_word {
                masked.push(NUMBER);
                rest = &rest[number..];
                continue;
            }
            masked.push(c);
            rest = &rest[c.len_utf8()..];
        }
        masked
    }

    /// The sentences a cucumber expression can say, masked.
    pub fn expression(&self, expression: &str) -> Vec<Vec<char>> {
        let mut sentences: Vec<String> = vec![String::new()];
        for (index, word) in split_unescaped(expression, ' ').into_iter().enumerate() {
            let mut forms = Vec::new();
            for alternative in split_unescaped(&word, '/') {
                forms.extend(self.expression_word(&alternative));
            }
            sentences = product(&sentences, &forms, if index == 0 { "" } else { " " });
        }
        dedup(sentences.iter().map(|s| self.mask(s)).collect())
    }

    /// One word of an expression (or one alternative of it), with its
    /// optional parts in and out and its parameters as symbols.
    fn expression_word(&self, word: &str) -> Vec<String> {
        let mut forms = vec![String::new()];
        let chars: Vec<char> = word.chars().collect();
        let mut at = 0;
        while at < chars.len() {
            match chars[at] {
                '\\' if at + 1 < chars.len() => {
                    forms.iter_mut().for_each(|f| f.push(chars[at + 1]));
                    at += 2;
                }
                '{' => {
                    let close = chars[at..]
                        .iter()
                        .position(|&c| c == '}')
                        .map_or(chars.len(), |p| at + p);
                    let name: String = chars[at + 1..close].iter().collect();
                    let symbol = self.symbol_of(&name);
                    forms.iter_mut().for_each(|f| f.push(symbol));
                    at = close + 1;
                }
                '(' => {
                    let close = chars[at..]
                        .iter()
                        .position(|&c| c == ')')
                        .map_or(chars.len(), |p| at + p);
                    let optional: String = chars[at + 1..close]
                        .iter()
                        .filter(|&&c| c != '\\')
                        .collect();
                    let with: Vec<String> =
                        forms.iter().map(|f| format!("{f}{optional}")).collect();
                    forms.extend(with);
                    at = close + 1;
                }
                c => {
                    forms.iter_mut().for_each(|f| f.push(c));
                    at += 1;
                }
            }
        }
        forms.truncate(MOST_VARIANTS);
        forms
    }

    /// The sentences a regular expression of the step library's kind can
    /// say, masked: groups, alternatives and optional parts expanded, a
    /// digit class as a number and any other class as a word.
    pub fn regex(&self, regex: &str) -> Vec<Vec<char>> {
        let chars: Vec<char> = regex.chars().collect();
        let mut at = 0;
        let alternatives = regex_alternatives(&chars, &mut at);
        dedup(alternatives.iter().map(|s| self.mask(s)).collect())
    }
}

fn placeholders() -> &'static Regex {
    static PLACEHOLDERS: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"<[^>\s](?:[^>]*[^>\s])?>").unwrap_or_else(|_| Regex::new("$^").expect("valid"))
    });
    &PLACEHOLDERS
}

fn dedup(mut sentences: Vec<Vec<char>>) -> Vec<Vec<char>> {
    sentences.sort();
    sentences.dedup();
    sentences
}

/// Every `left` followed by every `right`, joined by `glue`, at most
/// [`MOST_VARIANTS`].
fn product(left: &[String], right: &[String], glue: &str) -> Vec<String> {
    let mut out = Vec::new();
    for l in left {
        for r in right {
            if out.len() == MOST_VARIANTS {
                return out;
            }
            out.push(format!("{l}{glue}{r}"));
        }
    }
    out
}

/// `text` split at each `separator` that no backslash escapes, the
/// escapes kept.
fn split_unescaped(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in text.chars() {
        if c == separator && !escaped {
            parts.push(String::new());
            continue;
        }
        escaped = c == '\\' && !escaped;
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

/// The alternatives of a regex from `at` to the end or to the `)` that
/// closes the group it is in (consumed), each expanded.
fn regex_alternatives(chars: &[char], at: &mut usize) -> Vec<String> {
    let mut alternatives = Vec::new();
    let mut current = vec![String::new()];
    while *at < chars.len() {
        let c = chars[*at];
        *at += 1;
        let forms: Vec<String> = match c {
            ')' => break,
            '|' => {
                alternatives.append(&mut current);
                current = vec![String::new()];
                continue;
            }
            '^' | '$' => continue,
            '(' => {
                // (?:…), (?P<name>…), (?<name>…): the group's text only.
                if chars.get(*at) == Some(&'?') {
                    *at += 1;
                    if matches!(chars.get(*at), Some('P') | Some('<')) {
                        while *at < chars.len() && chars[*at] != '>' {
                            *at += 1;
                        }
                    }
                    *at += 1;
                }
                regex_alternatives(chars, at)
            }
            '[' => {
                let mut escaped = false;
                while *at < chars.len() && (escaped || chars[*at] != ']') {
                    escaped = chars[*at] == '\\' && !escaped;
                    *at += 1;
                }
                *at += 1;
                vec![WORD.to_string()]
            }
            '\\' => {
                let escaped = chars.get(*at).copied().unwrap_or('\\');
                *at += 1;
                vec![match escaped {
                    'd' => NUMBER.to_string(),
                    'S' | 'w' | 'W' | 'D' => WORD.to_string(),
                    's' => " ".to_owned(),
                    other => other.to_string(),
                }]
            }
            '.' => vec![WORD.to_string()],
            other => vec![other.to_string()],
        };
        // A quantifier: `?` and `*` make the part optional; `+` and
        // `{m,n}` keep one of it.
        let mut forms = forms;
        match chars.get(*at) {
            Some('?') | Some('*') => {
                *at += 1;
                forms.push(String::new());
            }
            Some('+') => *at += 1,
            Some('{') => {
                while *at < chars.len() && chars[*at] != '}' {
                    *at += 1;
                }
                *at += 1;
            }
            _ => {}
        }
        // A lazy quantifier's `?`.
        if chars.get(*at) == Some(&'?')
            && matches!(chars.get(*at - 1), Some('+') | Some('*') | Some('}'))
        {
            *at += 1;
        }
        current = product(&current, &forms, "");
    }
    alternatives.append(&mut current);
    alternatives.truncate(MOST_VARIANTS);
    alternatives
}

/// The length of a decimal number at the start of `text`, 0 if none; a
/// number glued to letters ("2nd", "K2000") is part of a word.
pub(crate) fn number_prefix(text: &str) -> usize {
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
    if bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
        return 0;
    }
    end
}

fn is_wild(c: char) -> bool {
    c == WORD || c == PLACEHOLDER
}

/// Edit distance between two masked sentences, where a word symbol or a
/// placeholder on either side stands for one word of the other (any run of
/// characters without a space).
pub fn distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut cost = vec![0usize; (a.len() + 1) * width];
    for (j, first) in cost.iter_mut().take(width).enumerate() {
        *first = j;
    }
    for i in 1..=a.len() {
        cost[i * width] = i;
        for j in 1..=b.len() {
            let (x, y) = (a[i - 1], b[j - 1]);
            let same = x == y || (is_wild(x) && y != ' ') || (is_wild(y) && x != ' ');
            let mut best = (cost[(i - 1) * width + j - 1] + usize::from(!same))
                .min(cost[(i - 1) * width + j] + 1)
                .min(cost[i * width + j - 1] + 1);
            // A wild symbol takes one more character of the other's word.
            if is_wild(x) && y != ' ' {
                best = best.min(cost[i * width + j - 1]);
            }
            if is_wild(y) && x != ' ' {
                best = best.min(cost[(i - 1) * width + j]);
            }
            cost[i * width + j] = best;
        }
    }
    cost[a.len() * width + b.len()]
}

/// The least distance from `sentence` (masked) to any of `forms`.
pub fn closest(sentence: &[char], forms: &[Vec<char>]) -> Option<usize> {
    forms.iter().map(|form| distance(sentence, form)).min()
}

/// How far a sentence of this many (masked) characters may be from a
/// definition to be named as what was meant: a few typos, or a word.
pub fn near_enough(length: usize) -> usize {
    (length / 4).max(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masks() -> Masks {
        Masks::new([("client", r#"the client|the user|client "[^"]*""#)])
    }

    fn between(step: &str, expression: &str) -> usize {
        let masks = masks();
        closest(&masks.mask(step), &masks.expression(expression)).unwrap()
    }

    #[test]
    fn parameters_are_masked_on_both_sides() {
        assert_eq!(
            between("the client send \"status\"", "{client} sends {string}"),
            1
        );
        assert_eq!(
            between("client \"A\" sends \"status\"", "{client} sends {string}"),
            0
        );
        assert_eq!(
            between(
                "the client sets the integration time to 250 milliseconds",
                "{client} sets the integration time to {int} millisecond(s)"
            ),
            0
        );
        assert_eq!(
            between(
                "the client sets the integration time to 1 millisecond",
                "{client} sets the integration time to {int} millisecond(s)"
            ),
            0
        );
        assert_eq!(
            between(
                "the client sets section 0 to:",
                "{client} sets section {word} to:"
            ),
            0
        );
        assert_eq!(
            between(
                "the client sets the shift to plus-two",
                "{client} sets the shift to {word}"
            ),
            0
        );
        assert_eq!(
            between("the client sends \"<line>\"", "{client} sends {string}"),
            0
        );
        assert_eq!(
            between("the client sends <line>", "{client} sends {string}"),
            0
        );
        assert_eq!(
            between("the backend accept it", "the backend accepts it"),
            1
        );
        assert!(
            between(
                "the operator points the dish at \"Cas A\" for 30 seconds",
                "{client} sends {string}"
            ) > 20
        );
    }

    #[test]
    fn alternatives_and_optional_parts_are_expanded() {
        let masks = masks();
        assert_eq!(masks.expression("a/an apple(s)").len(), 4);
        let regex = r#"^(the client|client "[^"]*") (starts|stops) the acquisition in (\d+|one) (milliseconds?|seconds?)(, written in decimal seconds)?$"#;
        let forms = masks.regex(regex);
        let step = masks
            .mask("the client stops the acquisition in one second, written in decimal seconds");
        assert_eq!(closest(&step, &forms), Some(0));
        let step = masks.mask("client \"B\" starts the acquisition in 20 milliseconds");
        assert_eq!(closest(&step, &forms), Some(0));
        let step = masks.mask("the client start the acquisition in 20 milisecond");
        assert_eq!(closest(&step, &forms), Some(2));
        let forms = masks.regex(r"^the client sends a line of (\d+) (bytes|kilobytes)$");
        assert_eq!(
            closest(
                &masks.mask("the client sends a line of 70 kilobytes"),
                &forms
            ),
            Some(0)
        );
        let forms = masks.regex(
            r#"^(the client|client "[^"]*") sets the (bins|mode) of section (\S+) to "([^"]*)"$"#,
        );
        assert_eq!(
            closest(
                &masks.mask("the client sets the mode of section 1 to \"stokes\""),
                &forms
            ),
            Some(0)
        );
    }

    #[test]
    fn words_with_digits_are_text() {
        let masks = masks();
        assert_eq!(
            masks.mask("K2000 x 2"),
            ['K', '2', '0', '0', '0', ' ', 'x', ' ', NUMBER]
        );
        assert_eq!(
            masks.mask("at -1.5 GHz"),
            ['a', 't', ' ', NUMBER, ' ', 'G', 'H', 'z']
        );
    }
}
