//! Tokeniser for filter text: words, parentheses and JSON-style strings, with positions.

use super::{FilterError, echo};

/// What a token is.
#[derive(Debug)]
pub(super) enum Kind {
    /// `(`
    Open,
    /// `)`
    Close,
    /// A bare word: attribute name, keyword, operator, or (invalid) unquoted value.
    Word(String),
    /// A quoted string, escapes already decoded.
    Str(String),
}

/// A token and where it starts.
#[derive(Debug)]
pub(super) struct Token {
    pub(super) kind: Kind,
    /// 1-based character offset of the token's first character.
    pub(super) pos: usize,
}

impl Token {
    /// How the token is named in error messages.
    pub(super) fn describe(&self) -> String {
        match &self.kind {
            Kind::Open => "'('".to_owned(),
            Kind::Close => "')'".to_owned(),
            Kind::Word(word) => format!("'{}'", echo(word)),
            Kind::Str(text) => format!("string \"{}\"", echo(text)),
        }
    }
}

fn is_word_char(c: char) -> bool {
    // '+' and '-' are included so unquoted numbers and timestamps lex as one word and get the
    // "must be double-quoted" message instead of a confusing per-character one.
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | ':' | '$')
}

/// Splits `input` into tokens, decoding strings and rejecting stray characters.
pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut chars = input.chars().zip(1..).map(|(c, pos)| (pos, c)).peekable();
    let mut tokens = Vec::new();
    while let Some((pos, c)) = chars.next() {
        let kind = match c {
            c if c.is_whitespace() => continue,
            '(' => Kind::Open,
            ')' => Kind::Close,
            '"' => Kind::Str(lex_string(&mut chars, pos)?),
            c if is_word_char(c) => {
                let mut word = String::from(c);
                while let Some(&(_, next)) = chars.peek()
                    && is_word_char(next)
                {
                    word.push(next);
                    chars.next();
                }
                Kind::Word(word)
            }
            '\'' => {
                return Err(FilterError::new(format!(
                    "unexpected ''' at position {pos}; values must be in double quotes"
                )));
            }
            other => {
                return Err(FilterError::new(format!(
                    "unexpected character '{}' at position {pos}",
                    other.escape_debug()
                )));
            }
        };
        tokens.push(Token { kind, pos });
    }
    Ok(tokens)
}

/// Reads the rest of a string whose opening quote was at `start`; returns the decoded text.
fn lex_string<I>(chars: &mut I, start: usize) -> Result<String, FilterError>
where
    I: Iterator<Item = (usize, char)>,
{
    let mut text = String::new();
    loop {
        match chars.next() {
            None => return Err(unterminated(start)),
            Some((_, '"')) => return Ok(text),
            Some((pos, '\\')) => text.push(lex_escape(chars, pos, start)?),
            // JSON forbids raw control characters; accepting them would hide invisible input.
            Some((pos, c)) if c < '\u{20}' => {
                return Err(FilterError::new(format!(
                    "control character U+{:04X} at position {pos} must be escaped",
                    u32::from(c)
                )));
            }
            Some((_, c)) => text.push(c),
        }
    }
}

fn lex_escape<I>(chars: &mut I, pos: usize, start: usize) -> Result<char, FilterError>
where
    I: Iterator<Item = (usize, char)>,
{
    let Some((_, escape)) = chars.next() else {
        return Err(unterminated(start));
    };
    let decoded = match escape {
        '"' => '"',
        '\\' => '\\',
        '/' => '/',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'u' => lex_unicode(chars, pos, start)?,
        other => {
            return Err(FilterError::new(format!("invalid escape '\\{}' at position {pos}", other.escape_debug())));
        }
    };
    Ok(decoded)
}

/// Decodes the `XXXX` of a `\uXXXX` escape at `pos`, joining UTF-16 surrogate pairs.
fn lex_unicode<I>(chars: &mut I, pos: usize, start: usize) -> Result<char, FilterError>
where
    I: Iterator<Item = (usize, char)>,
{
    let unpaired = || FilterError::new(format!("unpaired UTF-16 surrogate in '\\u' escape at position {pos}"));
    let high = hex4(chars, pos, start)?;
    let code = match high {
        0xD800..=0xDBFF => match (chars.next(), chars.next()) {
            (Some((_, '\\')), Some((low_pos, 'u'))) => {
                let low = hex4(chars, low_pos.saturating_sub(1), start)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(unpaired());
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            _ => return Err(unpaired()),
        },
        0xDC00..=0xDFFF => return Err(unpaired()),
        code => code,
    };
    // PostgreSQL text cannot hold NUL, so it could never match and would fail the query.
    if code == 0 {
        return Err(FilterError::new(format!("'\\u0000' at position {pos} is not allowed")));
    }
    char::from_u32(code).ok_or_else(unpaired)
}

fn hex4<I>(chars: &mut I, pos: usize, start: usize) -> Result<u32, FilterError>
where
    I: Iterator<Item = (usize, char)>,
{
    let mut code = 0;
    for _ in 0..4 {
        let Some((_, c)) = chars.next() else {
            return Err(unterminated(start));
        };
        let Some(digit) = c.to_digit(16) else {
            return Err(FilterError::new(format!("invalid '\\u' escape at position {pos}; expected 4 hex digits")));
        };
        code = code * 16 + digit;
    }
    Ok(code)
}

fn unterminated(start: usize) -> FilterError {
    FilterError::new(format!("unterminated string starting at position {start}"))
}
