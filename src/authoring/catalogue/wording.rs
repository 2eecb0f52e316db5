//! The writer's words: what people write for what the step library says,
//! so that "did you mean" leads from their sentence to the library's.
//!
//! A scenario written before reading the library says `the backend says
//! ok`, `the request is refused`, `the acquisition is running`, `the client
//! requests the version`, `100 ms`; the library says `the backend accepts
//! it`, `the backend refuses it`, `the backend is acquiring`, `asks for the
//! protocol version`, `100 milliseconds`. Those are not slips of a letter
//! or two, so an edit distance alone does not find them. Each sentence is
//! therefore also read *reworded*: the common ways of saying a thing
//! replaced by the library's words (a table of patterns below, each tested
//! to land on a sentence of the library), and the nearest steps are those
//! nearest to either reading.
//!
//! A precondition is said as a state (`Given the backend is acquiring`),
//! which the library checks with a `Then` but makes so with another
//! sentence (`Given the acquisition is started`). [`SAME_STATE`] groups
//! the sentences of each keyword that amount to one state, so that a step
//! nearest to one of them is pointed to the one of its own keyword.
//!
//! The words are the library's alone: a crate's own steps get the edit
//! distance, not these rewordings.

use std::sync::LazyLock;

use regex::Regex;

/// How people say what the library says: a pattern and the library's
/// words for it (`$1` for a group), applied in order to the whole
/// sentence (without its keyword).
const REWORDINGS: &[(&str, &str)] = &[
    // Tense and modality: "should be", "has been started", "anymore".
    (r"\b(?:should|must|will|shall) be\b", "is"),
    (
        r"\b(?:should|must|will|shall|does) (accept|refuse|reject|answer|receive|hold|see|stay|start|stop|park|end|set|send|ask|connect)\b",
        "${1}s",
    ),
    (
        r"\b(?:has|have) been (started|stopped|set|configured|parked|connected)\b",
        "is $1",
    ),
    (r"\b(?:has|was|got) (started|stopped|connected)\b", "is $1"),
    (
        r"\s+(?:anymore|any more|any longer|again|successfully|correctly|properly)\b",
        "",
    ),
    (r"\bis (?:still|now|also|then) ", "is "),
    // Units and spellings.
    (
        r"\b(\d+) ?(?:ms|msec|msecs|millis|millisec|millisecs)\b",
        "$1 milliseconds",
    ),
    (r"\b(\d+) ?(?:s|sec|secs)\b", "$1 seconds"),
    (r"\b(\d+) ?(?:min|mins)\b", "$1 minutes"),
    (r"\b(\d+) ?(?:h|hr|hrs)\b", "$1 hours"),
    (r"\b(?:filename|file-name)\b", "file name"),
    // Whoever acts is the client (DISCOS acts with steps of its own).
    (
        r"^(?:DISCOS|a user|an operator|an observer|the control system|the system|the tester|I|we)\b",
        "the client",
    ),
    // A verdict on the reply.
    (
        r#"^(?:the (?:backend|simulator|server|reply|answer|response|result|request|command)|it) (?:says|answers|replies|returns|responds|gives|sends back|is|comes back)(?: with)?(?: an?)? ["'`]?(?:ok|OK|okay|success|successful)["'`]?$"#,
        "the backend accepts it",
    ),
    (
        r"^(?:the (?:request|command|line|change|call)|every (?:request|command)|all (?:requests|commands) (?:are|is)|it) (?:is accepted|succeeds|is successful|works|passes|is ok|is OK|accepted)$",
        "the backend accepts it",
    ),
    (
        r"^the (?:backend|simulator|server) (?:accepts|acknowledges|confirms|allows|takes|agrees to) (?:the (?:request|command|line|change)|this|that|them)$",
        "the backend accepts it",
    ),
    (
        r#"^(?:the (?:backend|simulator|server|reply|answer|response|result)|it) (?:says|answers|replies|returns|responds|gives|sends back|is|comes back)(?: with)?(?: an?)? ["'`]?(?:invalid|INVALID)["'`]?$"#,
        "the backend rejects the line as malformed",
    ),
    (
        r"^(?:the (?:line|request|command|message)|it) is (?:rejected|refused) as (?:invalid|malformed|a syntax error|garbage|nonsense)$",
        "the backend rejects the line as malformed",
    ),
    (
        r"^(?:the (?:line|request|command|message)|it) is (?:invalid|malformed|not understood)$",
        "the backend rejects the line as malformed",
    ),
    (
        r"^the (?:backend|simulator|server) (?:rejects|refuses) (?:the line|it|the request|the command) as (?:invalid|malformed)$",
        "the backend rejects the line as malformed",
    ),
    (
        r#"^(?:the (?:backend|simulator|server|reply|answer|response|result)|it) (?:says|answers|replies|returns|responds|gives|sends back|is|comes back)(?: with)?(?: an?)? ["'`]?(?:fail|FAIL|failure|an error|error|refused|a refusal)["'`]?$"#,
        "the backend refuses it",
    ),
    (
        r"^(?:the (?:request|command|change|call)|it) (?:is refused|is rejected|is denied|fails|is not accepted|is not allowed)$",
        "the backend refuses it",
    ),
    (
        r"^the (?:backend|simulator|server) (?:refuses|rejects|denies|declines|does not accept|doesn't accept) (?:the (?:request|command|change)|this|that|them)$",
        "the backend refuses it",
    ),
    (
        r"^the (?:backend|simulator|server) (?:refuses|rejects|declines)(?: it| the request| the command)?,? (?:with|saying|because|with the reason|giving the reason|and says|that) ",
        "the backend refuses it, saying ",
    ),
    // Whether it acquires.
    (
        r"^(?:the|an) (?:acquisition|recording|observation|data taking|data acquisition|measurement) (?:is (?:running|in progress|ongoing|active|on|going|going on|under way|started)|runs|has begun)$",
        "the backend is acquiring",
    ),
    (
        r"^the (?:acquisition|recording|observation|data taking|data acquisition|measurement) (?:is (?:not running|over|off|finished|idle|stopped|not in progress|ended)|has ended)$",
        "the backend is not acquiring",
    ),
    (
        r"^the (?:backend|simulator|server) is (?:recording|observing|taking data|measuring|acquiring data)$",
        "the backend is acquiring",
    ),
    (
        r"^the (?:backend|simulator|server) is (?:idle|not recording|not observing|stopped|not taking data)$",
        "the backend is not acquiring",
    ),
    (
        r"\b(starts|stops) (?:acquiring|recording|the recording|an acquisition|acquisition|the observation|observing|the data acquisition|the measurement|measuring|taking data)\b",
        "$1 the acquisition",
    ),
    // A backend to talk to.
    (
        r"^(?:there is )?(?:a|the|one) (?:backend|simulator|server|spectrometer)(?: is (?:running|up|started|available|ready|listening))?$",
        "a backend",
    ),
    (
        r"^(?:a |an )?(?:running|started|fresh|new|available) (?:backend|simulator|server|spectrometer)$",
        "a backend",
    ),
    (
        r"\b(?:connects to the (?:backend|simulator|server)|opens a connection(?: to the (?:backend|simulator|server))?|logs in)$",
        "connects",
    ),
    (
        r"\bis connected to the (?:backend|simulator|server)$",
        "is connected",
    ),
    // Requests.
    (
        r"^(?:the client|a client|the user) is (?:greeted|welcomed) (?:with|by)\b",
        "the connection opens with",
    ),
    (r"^the (?:current|present|active) ", "the "),
    (
        r#"\bsends the (?:line|request|command|message|text) ""#,
        "sends \"",
    ),
    (
        r"\b(?:converts|asks to convert) the data\b",
        "asks the backend to convert the data",
    ),
    (
        r"\b(?:requests|queries|asks about|asks|fetches|retrieves|reads|gets|checks|wants|polls) (?:for )?the (?:current |present )?(status|version|protocol version|time|configuration|integration time|total power|zero level)\b",
        "asks for the $1",
    ),
    (r"\basks for the version\b", "asks for the protocol version"),
    (
        r"\basks for the (?:tpi|TPI|total-power|power)\b",
        "asks for the total power",
    ),
    (
        r"\basks for the (?:tp0|TP0|zero)\b",
        "asks for the zero level",
    ),
    (
        r#"\b(?:gets|reads|obtains|is answered|receives back|is given|is sent)(?: the reply| back)? ""#,
        "receives \"",
    ),
    (
        r"\b(?:configures the backend (?:as|with|to|for)|sets the backend to|(?:loads|selects|chooses|uses|picks|applies|sets) (?:the )?configuration|changes the configuration to|switches to (?:the )?configuration|switches the configuration to)\b",
        "sets the configuration to",
    ),
    (
        r"\bsets the configuration to to\b",
        "sets the configuration to",
    ),
    (
        r"^the (?:backend|simulator|server) (?:is|has been) (?:configured|set) (?:to|with|for|as)\b",
        "the backend is configured as",
    ),
    (
        r"^the configuration (?:is set to|becomes|equals|reads|is now)\b",
        "the configuration is",
    ),
    (
        r"\b(?:turns|switches|puts) (?:on )?the (?:calibration|cal|noise)(?: mark| diode| signal)?(?: on)?\b",
        "switches the calibration mark on",
    ),
    (
        r"\b(?:enables|activates|turns on|selects|uses) (?:the )?feeds\b",
        "enables the feeds",
    ),
    (
        r"\b(?:sets|changes|names) (?:the )?(?:output )?(?:file name|file|output file|file path)(?: to| as)?\b",
        "sets the file name to",
    ),
    (
        r"\b(?:finishes|closes|terminates|completes|ends) the (?:schedule|observing schedule)\b",
        "ends the schedule",
    ),
    (
        r"\bparks (?:it|the (?:simulator|server|spectrometer))$",
        "parks the backend",
    ),
    (
        r"\bsets the integration(?: time)? (?:to|at)\b",
        "sets the integration time to",
    ),
    (
        r"^the integration(?: time)? (?:is set to|is|equals|becomes)\b",
        "the integration time is",
    ),
    (
        r"^the (?:reply|answer|response) (?:contains|includes|has|shows|carries|gives)\b",
        "the reply holds",
    ),
];

/// Sentences of each keyword that amount to one state: the `Given` that
/// makes it so, the `When` that does it, the `Then` that checks it.
pub(super) const SAME_STATE: &[&[&str]] = &[
    &[
        "Given the acquisition is started",
        "When {client} starts the acquisition",
        "Then the backend is acquiring",
    ],
    &[
        "Given the backend is not acquiring",
        "When {client} stops the acquisition",
        "When the acquisition is stopped",
        "Then the backend is not acquiring",
    ],
    &[
        "Given the backend is configured as {string}",
        "When {client} sets the configuration to {string}",
        "Then the configuration is {string}",
    ],
    &[
        "Given the integration time is set to {int} millisecond(s)",
        "When {client} sets the integration time to {int} millisecond(s)",
        "Then the integration time is {int} millisecond(s)",
    ],
    &["Given {client} is connected", "When {client} connects"],
];

fn rewordings() -> &'static [(Regex, &'static str)] {
    static COMPILED: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
        REWORDINGS
            .iter()
            .filter_map(|(pattern, words)| Some((Regex::new(pattern).ok()?, *words)))
            .collect()
    });
    &COMPILED
}

/// `sentence` in the library's words, if people's words were found in it.
pub(super) fn reworded(sentence: &str) -> Option<String> {
    let mut text = sentence.trim().to_owned();
    for (pattern, words) in rewordings() {
        if pattern.is_match(&text) {
            text = pattern.replace_all(&text, *words).into_owned();
        }
    }
    (text != sentence.trim()).then_some(text)
}

/// The sentence of keyword `keyword` (`"Given"`) for the state `sentence`
/// (a definition's, keyword included) amounts to, if it is one.
pub(super) fn same_state(sentence: &str, keyword: &str) -> Option<&'static str> {
    let group = SAME_STATE.iter().find(|group| group.contains(&sentence))?;
    group
        .iter()
        .find(|other| {
            other
                .strip_prefix(keyword)
                .is_some_and(|r| r.starts_with(' '))
        })
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(rewordings().len(), REWORDINGS.len());
    }

    #[test]
    fn people_s_words_become_the_library_s() {
        for (written, meant) in [
            ("the backend says ok", "the backend accepts it"),
            ("the reply is \"ok\"", "the backend accepts it"),
            ("the request is refused", "the backend refuses it"),
            ("the backend replies with fail", "the backend refuses it"),
            ("it fails", "the backend refuses it"),
            (
                "the backend refuses with \"no such configuration\"",
                "the backend refuses it, saying \"no such configuration\"",
            ),
            (
                "the line is rejected as invalid",
                "the backend rejects the line as malformed",
            ),
            ("the acquisition is running", "the backend is acquiring"),
            (
                "the backend is not acquiring anymore",
                "the backend is not acquiring",
            ),
            (
                "the backend should be acquiring within 2 s",
                "the backend is acquiring within 2 seconds",
            ),
            ("a running simulator", "a backend"),
            ("DISCOS parks the backend", "the client parks the backend"),
            (
                "the operator requests the version",
                "the operator asks for the protocol version",
            ),
            (
                "the client gets \"!time,ok,1\"",
                "the client receives \"!time,ok,1\"",
            ),
            (
                "the operator configures the backend as \"K2000\"",
                "the operator sets the configuration to \"K2000\"",
            ),
            (
                "the operator turns on the calibration diode",
                "the operator switches the calibration mark on",
            ),
            (
                "the observer starts recording",
                "the observer starts the acquisition",
            ),
        ] {
            assert_eq!(reworded(written).as_deref(), Some(meant), "{written}");
        }
        // The library's own words are left as they are.
        for said in [
            "the backend accepts it",
            "the client switches the calibration mark on",
            "the client sets the file name to \"x\"",
            "the client sets the configuration to \"K2000\"",
        ] {
            assert_eq!(reworded(said), None, "{said}");
        }
    }

    #[test]
    fn the_library_says_every_sentence_of_a_state() {
        let library = super::super::Catalogue::library();
        for sentence in SAME_STATE.iter().flat_map(|group| group.iter()) {
            assert!(
                library
                    .definitions()
                    .iter()
                    .any(|d| d.sentence() == *sentence),
                "no step says {sentence}"
            );
        }
    }

    #[test]
    fn a_state_is_found_in_each_keyword() {
        assert_eq!(
            same_state("Then the backend is acquiring", "Given"),
            Some("Given the acquisition is started")
        );
        assert_eq!(
            same_state("When the acquisition is stopped", "Given"),
            Some("Given the backend is not acquiring")
        );
        assert_eq!(same_state("When {client} connects", "Then"), None);
        assert_eq!(same_state("Then the backend accepts it", "Given"), None);
    }
}
