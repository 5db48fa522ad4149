//! Three-valued (Kleene) logic: true, false, or unknown with a reason.

/// True, false, or cannot be decided (with the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri<'a> {
    True,
    False,
    Unknown(&'a str),
}

impl<'a> Tri<'a> {
    /// Kleene AND: false wins, then unknown (the first reason).
    pub(crate) fn and(self, other: Tri<'a>) -> Tri<'a> {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::Unknown(r), _) | (_, Tri::Unknown(r)) => Tri::Unknown(r),
            _ => Tri::True,
        }
    }
    /// Kleene OR: true wins, then unknown (the first reason).
    pub(crate) fn or(self, other: Tri<'a>) -> Tri<'a> {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::Unknown(r), _) | (_, Tri::Unknown(r)) => Tri::Unknown(r),
            _ => Tri::False,
        }
    }
    /// Negation; unknown stays unknown.
    pub(crate) fn not(self) -> Tri<'a> {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            u => u,
        }
    }
    /// `Some(bool)` when known.
    pub(crate) fn known(self) -> Option<bool> {
        match self {
            Tri::True => Some(true),
            Tri::False => Some(false),
            Tri::Unknown(_) => None,
        }
    }
}

impl From<bool> for Tri<'_> {
    fn from(b: bool) -> Self {
        if b { Tri::True } else { Tri::False }
    }
}
