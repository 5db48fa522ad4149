//! Location strings: how a registry is named on the command line.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where a registry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `file:PATH`: a snapshot file (created on first write when it does not exist).
    File(PathBuf),
    /// `aws:REGION`: the AWS IoT control plane of a region.
    Aws {
        /// The region, e.g. `eu-west-1`.
        region: String,
    },
    /// `memory:`: an empty in-memory registry (for tests and dry experiments).
    Memory,
}

/// A location string that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid registry location {input:?}: {reason}")]
pub struct LocationError {
    /// The location as given.
    pub input: String,
    /// Why it is invalid, with the accepted forms.
    pub reason: String,
}

const FORMS: &str = "expected file:PATH (a snapshot file) or aws:REGION (e.g. aws:eu-west-1)";

impl FromStr for Location {
    type Err = LocationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| LocationError {
            input: s.to_string(),
            reason,
        };
        let Some((scheme, rest)) = s.split_once(':') else {
            return Err(err(format!("no scheme; {FORMS}")));
        };
        match scheme {
            "file" => {
                if rest.is_empty() {
                    Err(err(format!("the path is empty; {FORMS}")))
                } else {
                    Ok(Location::File(PathBuf::from(rest)))
                }
            }
            "aws" => {
                let valid = !rest.is_empty()
                    && rest
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && rest.contains('-');
                if valid {
                    Ok(Location::Aws {
                        region: rest.to_string(),
                    })
                } else {
                    Err(err(format!(
                        "{rest:?} is not an AWS region name (like us-east-1)"
                    )))
                }
            }
            "memory" => Ok(Location::Memory),
            other => Err(err(format!("unknown scheme {other:?}; {FORMS}"))),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "file:{}", p.display()),
            Location::Aws { region } => write!(f, "aws:{region}"),
            Location::Memory => f.write_str("memory:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms() {
        assert_eq!(
            "file:a/b.jsonl".parse::<Location>().unwrap(),
            Location::File("a/b.jsonl".into())
        );
        assert_eq!(
            "aws:eu-west-1".parse::<Location>().unwrap(),
            Location::Aws {
                region: "eu-west-1".into()
            }
        );
        assert_eq!("file:x".parse::<Location>().unwrap().to_string(), "file:x");
    }

    #[test]
    fn rejects_with_a_reason() {
        let e = "s3:bucket".parse::<Location>().unwrap_err().to_string();
        assert!(e.contains("unknown scheme \"s3\""), "{e}");
        assert!(e.contains("file:PATH"), "{e}");
        let e = "fleet.jsonl".parse::<Location>().unwrap_err().to_string();
        assert!(e.contains("no scheme"), "{e}");
        assert!("file:".parse::<Location>().is_err());
        assert!("aws:".parse::<Location>().is_err());
        assert!("aws:US EAST".parse::<Location>().is_err());
    }
}
