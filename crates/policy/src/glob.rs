//! Wildcard matching: `*` (any sequence, `/` and `:` included) and `?` (one character).
//!
//! The matcher is iterative with a single backtrack point (the last `*` seen), so it runs in
//! O(pattern × text) in the worst case and never backtracks exponentially. It works on a
//! pattern given as a sequence of [`Seg`]ments, so that text substituted from a policy variable
//! or written with an escape (`${*}`) is a literal segment and never acts as a wildcard.

/// One piece of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg<'s> {
    /// Literal text, matched byte for byte.
    Lit(&'s str),
    /// `*`: any sequence of characters, the empty one included.
    Star,
    /// `?`: exactly one character.
    One,
}

/// The pattern element under the cursor.
enum Elem {
    Byte(u8),
    Star,
    One,
}

/// Length of the UTF-8 sequence that starts with byte `b`.
fn char_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Whether `text` matches the pattern of `n` segments, segment `i` given by `seg(i)`.
pub(crate) fn glob_match<'s>(n: usize, seg: impl Fn(usize) -> Seg<'s>, text: &str) -> bool {
    let t = text.as_bytes();
    // Pattern cursor: segment index and byte offset in a literal segment.
    let (mut pi, mut po) = (0usize, 0usize);
    let mut ti = 0usize;
    // The last star: the pattern position after it and the text position it matched up to.
    let mut star: Option<(usize, usize)> = None;
    loop {
        // The element at the cursor, skipping exhausted literals.
        let mut elem = None;
        while pi < n {
            match seg(pi) {
                Seg::Lit(s) => {
                    if let Some(&b) = s.as_bytes().get(po) {
                        elem = Some(Elem::Byte(b));
                        break;
                    }
                    pi += 1;
                    po = 0;
                }
                Seg::Star => {
                    elem = Some(Elem::Star);
                    break;
                }
                Seg::One => {
                    elem = Some(Elem::One);
                    break;
                }
            }
        }
        match elem {
            Some(Elem::Star) => {
                pi += 1;
                po = 0;
                star = Some((pi, ti));
                continue;
            }
            Some(Elem::One) if ti < t.len() => {
                ti += char_len(t[ti]);
                pi += 1;
                po = 0;
                continue;
            }
            Some(Elem::Byte(b)) if t.get(ti) == Some(&b) => {
                po += 1;
                ti += 1;
                continue;
            }
            None if ti >= t.len() => return true,
            _ => {}
        }
        // Mismatch: let the last star swallow one more character, or fail.
        match star {
            Some((sp, st)) if st < t.len() => {
                let st = st + char_len(t[st]);
                star = Some((sp, st));
                pi = sp;
                po = 0;
                ti = st;
            }
            _ => return false,
        }
    }
}

/// Splits a plain pattern string into segments: `*` and `?` are wildcards, everything else literal.
pub(crate) fn plain_segs(pattern: &str) -> Vec<Seg<'_>> {
    let mut segs = Vec::new();
    let mut start = 0;
    for (i, c) in pattern.char_indices() {
        if c == '*' || c == '?' {
            if start < i {
                segs.push(Seg::Lit(&pattern[start..i]));
            }
            segs.push(if c == '*' { Seg::Star } else { Seg::One });
            start = i + 1;
        }
    }
    if start < pattern.len() {
        segs.push(Seg::Lit(&pattern[start..]));
    }
    segs
}

/// IAM-style wildcard matching of `text` against `pattern`, case-sensitive: `*` matches any
/// sequence of characters (`/` and `:` included), `?` exactly one character, every other
/// character (MQTT `+` and `#` included) only itself. No policy variables are interpreted.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let segs = plain_segs(pattern);
    glob_match(segs.len(), |i| segs[i], text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "a/b:c"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("a*c", "ac"));
        assert!(wildcard_match("a*c", "a/x/c"));
        assert!(!wildcard_match("a*c", "a/x/cd"));
        assert!(wildcard_match("a*c*", "a/x/cd"));
        assert!(wildcard_match("?", "é"));
        assert!(!wildcard_match("??", "é"));
        assert!(wildcard_match("*é*", "xxéyy"));
        assert!(!wildcard_match("A", "a"));
        assert!(wildcard_match("some/+/topic", "some/+/topic"));
        assert!(!wildcard_match("some/+/topic", "some/x/topic"));
        assert!(!wildcard_match("a/#", "a/b"));
    }

    #[test]
    fn many_stars_stay_fast() {
        let pattern = format!("{}b", "a*".repeat(200));
        let text = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!wildcard_match(&pattern, &text));
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
