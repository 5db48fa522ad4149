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
///
/// Segment by segment: a literal is compared as a whole slice, and the literals before
/// the first wildcard must be a prefix of the text (most patterns that do not match
/// fail there, at once). After a `*`, the text is searched for the next literal rather
/// than tried one position at a time. `seg(i)` is called a bounded number of times
/// per position tried, never per byte.
pub(crate) fn glob_match<'s>(n: usize, seg: impl Fn(usize) -> Seg<'s>, text: &str) -> bool {
    let t = text.as_bytes();
    let mut pi = 0usize;
    let mut ti = 0usize;
    // The last star: the segment after it and the text position it matched up to.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi == n {
            if ti == t.len() {
                return true;
            }
        } else {
            match seg(pi) {
                Seg::Star => {
                    pi += 1;
                    // Jump to the next place the following literal occurs.
                    if pi < n
                        && let Seg::Lit(l) = seg(pi)
                    {
                        match find(&t[ti..], l.as_bytes()) {
                            Some(at) => ti += at,
                            None => return false,
                        }
                    }
                    star = Some((pi, ti));
                    continue;
                }
                Seg::One if ti < t.len() => {
                    ti += char_len(t[ti]);
                    pi += 1;
                    continue;
                }
                Seg::Lit(l) if t[ti..].starts_with(l.as_bytes()) => {
                    ti += l.len();
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        // Mismatch: let the last star swallow one more character, or fail.
        match star {
            Some((sp, st)) if st < t.len() => {
                let mut st = st + char_len(t[st]);
                if sp < n
                    && let Seg::Lit(l) = seg(sp)
                {
                    match find(&t[st.min(t.len())..], l.as_bytes()) {
                        Some(at) => st += at,
                        None => return false,
                    }
                }
                star = Some((sp, st));
                pi = sp;
                ti = st;
            }
            _ => return false,
        }
    }
}

/// The first position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle.len() {
        0 => Some(0),
        1 => memchr_byte(needle[0], hay),
        _ => hay.windows(needle.len()).position(|w| w == needle),
    }
}

fn memchr_byte(b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|x| *x == b)
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
