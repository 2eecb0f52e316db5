//! The contract as HTML, for the report to carry inside itself.
//!
//! A report is mailed, kept as a CI artifact, opened from a download
//! folder: a link to `docs/protocol.md` beside it is dead almost everywhere.
//! So the page carries the contract it was graded against, rendered from
//! the compiled-in Markdown, every heading with an id of its own
//! ([`clause_id`]): a clause a failure names opens at its heading, from any
//! folder, with no network.

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

use crate::protocol::contract::anchor;

/// The id, in the report, of the heading of the contract's clause
/// `anchor`: prefixed, so that no clause takes the id of a part of the
/// report (`summary`, `failures`…).
pub fn clause_id(anchor: &str) -> String {
    format!("c-{anchor}")
}

/// `markdown` as HTML, headings two levels down (the page's own `h2` holds
/// it) with the ids of [`clause_id`], and its links to its own anchors made
/// links to those ids.
pub fn render(markdown: &str) -> String {
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut heading: Option<(HeadingLevel, Vec<Event<'_>>, std::ops::Range<usize>)> = None;
    for (event, range) in Parser::new_ext(markdown, Options::ENABLE_TABLES).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, Vec::new(), range)),
            Event::End(TagEnd::Heading(_)) => {
                let Some((level, inner, range)) = heading.take() else {
                    continue;
                };
                let title = markdown[range].trim_start_matches('#').trim();
                let level = deeper(level);
                events.push(Event::Start(Tag::Heading {
                    level,
                    id: Some(CowStr::from(clause_id(&anchor(title)))),
                    classes: Vec::new(),
                    attrs: Vec::new(),
                }));
                events.extend(inner);
                events.push(Event::End(TagEnd::Heading(level)));
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let dest_url = match dest_url.strip_prefix('#') {
                    Some(own) => CowStr::from(format!("#{}", clause_id(own))),
                    None => dest_url,
                };
                let link = Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                });
                match &mut heading {
                    Some((_, inner, _)) => inner.push(link),
                    None => events.push(link),
                }
            }
            // Raw HTML in the contract is shown as text: the page carries
            // no markup it did not write itself.
            Event::Html(text) | Event::InlineHtml(text) => {
                let text = Event::Text(text);
                match &mut heading {
                    Some((_, inner, _)) => inner.push(text),
                    None => events.push(text),
                }
            }
            event => match &mut heading {
                Some((_, inner, _)) => inner.push(event),
                None => events.push(event),
            },
        }
    }
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events.into_iter());
    out
}

/// `markdown` of one line (a cell of the requirements table) as inline
/// HTML, links to the contract's anchors made links to its clauses here.
pub fn inline(markdown: &str) -> String {
    let rendered = render(markdown);
    let trimmed = rendered.trim();
    trimmed
        .strip_prefix("<p>")
        .and_then(|rest| rest.strip_suffix("</p>"))
        .unwrap_or(trimmed)
        .to_owned()
}

fn deeper(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::contract::{CONTRACT_TEXT, heading_anchors};

    #[test]
    fn every_clause_of_the_contract_gets_its_id_and_its_links_follow() {
        let page = render(CONTRACT_TEXT);
        for anchor in heading_anchors(CONTRACT_TEXT) {
            assert!(
                page.contains(&format!(" id=\"{}\"", clause_id(&anchor))),
                "no heading for #{anchor}"
            );
        }
        assert!(
            page.contains("<a href=\"#c-set-section\">"),
            "links to its own clauses"
        );
        assert!(!page.contains("href=\"#set-section\""));
        assert!(page.contains("<table>"), "tables are tables");
        assert!(
            !page.contains("<h1"),
            "the page's own headings stay above it"
        );
    }

    #[test]
    fn raw_html_shows_as_text() {
        assert_eq!(
            render("a <script>x</script> b").trim(),
            "<p>a &lt;script&gt;x&lt;/script&gt; b</p>"
        );
        assert_eq!(
            inline("see [r](#replies), `x`"),
            "see <a href=\"#c-replies\">r</a>, <code>x</code>"
        );
    }
}
