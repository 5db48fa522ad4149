//! Where a state store lives, as written in configuration or on a command line.

use std::fmt;
use std::path::PathBuf;

/// A state store location: `sqlite:PATH` or `memory:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// A SQLite file (`sqlite:state.db`, `sqlite:/var/lib/iot-crr/state.db`).
    Sqlite(PathBuf),
    /// An in-memory store, lost at exit (`memory:`), for tests and dry runs.
    Memory,
}

/// Why a location could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// No `SCHEME:` prefix.
    #[error("state location {0:?} has no scheme: expected sqlite:PATH or memory:")]
    NoScheme(String),
    /// A scheme this build does not know.
    #[error(
        "unknown state location scheme {scheme:?} in {location:?}: expected sqlite:PATH or memory:"
    )]
    UnknownScheme {
        /// The scheme.
        scheme: String,
        /// The whole location.
        location: String,
    },
    /// `sqlite:` without a path.
    #[error("state location {0:?} has no path: expected sqlite:PATH, for example sqlite:state.db")]
    EmptyPath(String),
    /// `memory:` followed by something.
    #[error("state location {0:?}: memory: takes no path")]
    MemoryWithPath(String),
}

impl StateLocation {
    /// Parses `sqlite:PATH` (the path as written, relative to the working directory
    /// unless absolute) or `memory:`.
    pub fn parse(location: &str) -> Result<Self, LocationError> {
        let Some((scheme, rest)) = location.split_once(':') else {
            return Err(LocationError::NoScheme(location.to_owned()));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" if rest.is_empty() => Err(LocationError::EmptyPath(location.to_owned())),
            "sqlite" => Ok(StateLocation::Sqlite(PathBuf::from(rest))),
            "memory" if rest.is_empty() => Ok(StateLocation::Memory),
            "memory" => Err(LocationError::MemoryWithPath(location.to_owned())),
            _ => Err(LocationError::UnknownScheme {
                scheme: scheme.to_owned(),
                location: location.to_owned(),
            }),
        }
    }
}

impl std::str::FromStr for StateLocation {
    type Err = LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for StateLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateLocation::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StateLocation::Memory => f.write_str("memory:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_explains() {
        assert_eq!(
            StateLocation::parse("sqlite:state.db").unwrap(),
            StateLocation::Sqlite("state.db".into())
        );
        assert_eq!(
            StateLocation::parse("sqlite:/var/lib/x.db").unwrap(),
            StateLocation::Sqlite("/var/lib/x.db".into())
        );
        assert_eq!(
            StateLocation::parse("memory:").unwrap(),
            StateLocation::Memory
        );
        assert_eq!(
            StateLocation::parse("sqlite:state.db").unwrap().to_string(),
            "sqlite:state.db"
        );
        assert!(matches!(
            StateLocation::parse("state.db"),
            Err(LocationError::NoScheme(_))
        ));
        assert!(matches!(
            StateLocation::parse("sqlite:"),
            Err(LocationError::EmptyPath(_))
        ));
        let err = StateLocation::parse("dynamodb:table").unwrap_err();
        assert!(err.to_string().contains("expected sqlite:PATH"), "{err}");
        assert!(matches!(
            StateLocation::parse("memory:x"),
            Err(LocationError::MemoryWithPath(_))
        ));
    }
}
