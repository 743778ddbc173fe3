//! White-paper search: a query matched against every scenario's charter — its id, title, white
//! paper, record kinds, field names and descriptions, and rule names, sources and messages.
//!
//! Every word of the query must occur somewhere in the scenario (case-insensitive substring);
//! hits say where each word matched, so a result shows *why* it was found.

use trustchain_core::scenario::charter::Charter;

/// One searchable piece of a scenario: where it is (for people) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passage {
    /// Where: `title`, `white paper`, `kind payment`, `field payment.payee`, `rule payment.amount_positive`.
    pub place: String,
    /// The text searched.
    pub text: String,
}

/// A scenario made searchable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doc {
    /// The scenario id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Everything searchable, the id and title first.
    pub passages: Vec<Passage>,
}

impl Doc {
    /// Indexes a scenario; without its charter only the id and title are searchable.
    pub fn new(id: &str, title: &str, charter: Option<&Charter>) -> Doc {
        let mut passages = vec![
            Passage {
                place: "id".into(),
                text: id.into(),
            },
            Passage {
                place: "title".into(),
                text: title.into(),
            },
        ];
        let mut add = |place: String, text: &str| {
            if !text.is_empty() {
                passages.push(Passage {
                    place,
                    text: text.into(),
                })
            }
        };
        if let Some(c) = charter {
            let c = &c.content;
            add("white paper".into(), &c.white_paper);
            for k in &c.kinds {
                add(format!("kind {}", k.name), &k.name);
                add(format!("kind {}", k.name), &k.description);
                for f in &k.fields {
                    let place = format!("field {}.{}", k.name, f.name);
                    add(place.clone(), &f.name);
                    add(place.clone(), &f.description);
                    add(place, f.ty.name());
                }
                for r in &k.rules {
                    let place = format!("rule {}.{}", k.name, r.name);
                    add(place.clone(), &r.name);
                    // The rule as evaluated (printed from its checked tree), not its source text.
                    add(
                        place.clone(),
                        &trustchain_core::scenario::rules::print(&r.expr),
                    );
                    add(place, &r.message);
                }
            }
        }
        Doc {
            id: id.into(),
            title: title.into(),
            passages,
        }
    }
}

/// Where one query word matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The word.
    pub word: String,
    /// The passage's place.
    pub place: String,
    /// Up to ~90 characters of the passage around the match.
    pub snippet: String,
}

/// A scenario that matches every word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The scenario id.
    pub id: String,
    /// The first match of each word.
    pub matches: Vec<Match>,
    /// Total matching passages (for ranking).
    pub score: usize,
}

/// The query's words, lower-cased (quotes ignored; empty words dropped).
pub fn words(query: &str) -> Vec<String> {
    query
        .split(|c: char| c.is_whitespace() || c == '"' || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

fn snippet(text: &str, at: usize, len: usize) -> String {
    // Work on char boundaries: `at` and `len` are byte offsets into the lower-cased text, which
    // has the same length as `text` for the ASCII the charters are mostly written in; fall back
    // to the start when they do not line up.
    let at = if text.is_char_boundary(at) { at } else { 0 };
    let mut start = at.saturating_sub(40);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 50).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut s = String::new();
    if start > 0 {
        s.push('…');
    }
    s.push_str(text[start..end].trim());
    if end < text.len() {
        s.push('…');
    }
    s
}

/// Runs a query over the docs; an empty query matches everything (in the given order).
pub fn search(docs: &[Doc], query: &str) -> Vec<Hit> {
    let words = words(query);
    let mut hits = Vec::new();
    'doc: for d in docs {
        let mut matches = Vec::new();
        let mut score = 0;
        for w in &words {
            let mut first = None;
            for p in &d.passages {
                let lower = p.text.to_lowercase();
                if let Some(at) = lower.find(w.as_str()) {
                    score += 1;
                    if first.is_none() {
                        first = Some(Match {
                            word: w.clone(),
                            place: p.place.clone(),
                            snippet: snippet(&p.text, at, w.len()),
                        });
                    }
                }
            }
            match first {
                Some(m) => matches.push(m),
                None => continue 'doc,
            }
        }
        hits.push(Hit {
            id: d.id.clone(),
            matches,
            score,
        });
    }
    if !words.is_empty() {
        hits.sort_by(|a, b| b.score.cmp(&a.score).then(a.id.cmp(&b.id)));
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        let mut d = Doc::new("demo/budget", "Riverside Library renovation budget", None);
        d.passages.push(Passage {
            place: "rule payment.approved_by_another".into(),
            text: "approved && size(approver) > 0 && approver != payee".into(),
        });
        d
    }

    #[test]
    fn every_word_must_match() {
        let docs = [doc(), Doc::new("acme/ledger", "Acme general ledger", None)];
        let hits = search(&docs, "Renovation payee");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, "demo/budget");
        assert_eq!(hits[0].matches[0].place, "title");
        assert_eq!(hits[0].matches[1].place, "rule payment.approved_by_another");
        assert!(search(&docs, "renovation xyzzy").is_empty());
        assert_eq!(search(&docs, "ledger").len(), 1);
        assert_eq!(search(&docs, "  ").len(), 2);
    }

    #[test]
    fn snippets_are_bounded() {
        let text = "x".repeat(300) + "needle" + &"y".repeat(300);
        let s = snippet(&text, 300, 6);
        assert!(s.contains("needle") && s.starts_with('…') && s.ends_with('…'));
        assert!(s.chars().count() < 110);
        assert_eq!(snippet("ünïcödé needle", 3, 6), "ünïcödé needle");
    }
}
