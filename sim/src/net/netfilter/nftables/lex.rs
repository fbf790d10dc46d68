//! The scanner (nftables src/scanner.l): words, quoted strings, the
//! punctuation nft's grammar splits on, `#` comments to the end of the line
//! (the `# handle N` of `nft -a` and the `# Warning: table ... is managed by
//! iptables-nft` lines included), and line ends (parser_bison.y's `NEWLINE`,
//! which ends a command like `;`).

use super::NftError;

#[derive(Clone, Debug, PartialEq)]
pub struct Tok {
    pub s: String,
    pub quoted: bool,
    pub line: usize,
}

impl Tok {
    /// The unquoted punctuation or word `s`.
    pub fn is(&self, s: &str) -> bool {
        !self.quoted && self.s == s
    }
}

/// Characters that are tokens of their own (scanner.l's single-character
/// rules that can end a word here).
const PUNCT: &str = "{},;@()|&^";

/// Splits `text` into tokens; every line ends with a `"\n"` token.
pub fn tokenize(text: &str) -> Result<Vec<Tok>, NftError> {
    let mut out = Vec::new();
    for (li, raw) in text.lines().enumerate() {
        let line = li + 1;
        let mut chars = raw.char_indices().peekable();
        let push = |out: &mut Vec<Tok>, s: String, quoted: bool| out.push(Tok { s, quoted, line });
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '#' {
                break;
            } else if c == '\\' && raw[i..].trim() == "\\" {
                // a line continuation
                break;
            } else if c == '"' {
                chars.next();
                let mut s = String::new();
                let mut closed = false;
                for (_, ch) in chars.by_ref() {
                    if ch == '"' {
                        closed = true;
                        break;
                    }
                    s.push(ch);
                }
                if !closed {
                    // scanner.l has no rule for an unterminated string
                    return Err(NftError {
                        line,
                        message: format!(
                            "syntax error, unexpected junk (unterminated string at column {})",
                            i + 1
                        ),
                    });
                }
                push(&mut out, s, true);
            } else if PUNCT.contains(c) {
                chars.next();
                push(&mut out, c.to_string(), false);
            } else {
                let mut s = String::new();
                while let Some(&(_, ch)) = chars.peek() {
                    if ch.is_whitespace() || PUNCT.contains(ch) || ch == '"' {
                        break;
                    }
                    if ch == '#' && s.is_empty() {
                        break;
                    }
                    s.push(ch);
                    chars.next();
                }
                // `80:` of `{ 80: accept }` (a key then the map colon),
                // but not an IPv6 address's `::`
                let verdict_after = s.split_once(':').filter(|(k, v)| {
                    !k.is_empty()
                        && [
                            "accept", "drop", "jump", "goto", "return", "continue", "queue",
                            "reject",
                        ]
                        .contains(v)
                });
                if let Some((k, v)) = verdict_after {
                    // `25:accept` of `{ 25:accept, 28:drop }`
                    let (k, v) = (k.to_string(), v.to_string());
                    push(&mut out, k, false);
                    push(&mut out, ":".into(), false);
                    push(&mut out, v, false);
                } else if s.len() > 1 && s.ends_with(':') && !s.ends_with("::") {
                    s.pop();
                    push(&mut out, s, false);
                    push(&mut out, ":".into(), false);
                } else {
                    push(&mut out, s, false);
                }
            }
        }
        out.push(Tok {
            s: "\n".into(),
            quoted: false,
            line,
        });
    }
    Ok(out)
}

/// Renders tokens back into rule text.
pub fn render(toks: &[Tok]) -> String {
    let mut s = String::new();
    // the braces open: whether each is a binding chain (`jump {`), whose
    // rules a line end separates (written `;` so the text reads back as
    // the same rules)
    let mut braces: Vec<bool> = Vec::new();
    let mut prev = "";
    for (k, t) in toks.iter().enumerate() {
        if !t.quoted && t.s == "{" {
            braces.push(matches!(prev, "jump" | "goto"));
        } else if !t.quoted && t.s == "}" {
            braces.pop();
        }
        if !t.quoted {
            prev = t.s.as_str();
        }
        if t.s == "\n" {
            let next = toks[k + 1..].iter().find(|x| x.s != "\n");
            if braces.last() == Some(&true)
                && !s.ends_with('{')
                && !s.ends_with(';')
                && next.is_some_and(|x| x.quoted || x.s != "}")
            {
                s.push(';');
            }
            continue;
        }
        if !s.is_empty() && t.s != "," && !s.ends_with('@') {
            s.push(' ');
        }
        if t.quoted {
            s.push('"');
            s.push_str(&t.s);
            s.push('"');
        } else {
            s.push_str(&t.s);
        }
    }
    s
}
