//! What an assessment found: a verdict and reasons per device, and the summary.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::{Device, Fix, Reason, ReasonCode};

/// A device's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// The standby accepts the device and lets it do what the source lets it do.
    Ready,
    /// The standby would refuse the device, or something it does.
    NotReady,
    /// A statement that applies cannot be decided (never counted as ready).
    CannotDecide,
    /// The source refuses the device too: not counted against the standby.
    NotReadyInSource,
}

impl Verdict {
    /// `ready`, `not-ready`, `cannot-decide`, `not-ready-in-source`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::NotReady => "not-ready",
            Verdict::CannotDecide => "cannot-decide",
            Verdict::NotReadyInSource => "not-ready-in-source",
        }
    }
}

/// One device's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceReport {
    /// The device.
    pub device: Device,
    /// The verdict.
    pub verdict: Verdict,
    /// Why it is not ready (empty when ready).
    pub reasons: Vec<Reason>,
}

impl DeviceReport {
    /// Whether the device is ready.
    pub fn is_ready(&self) -> bool {
        self.verdict == Verdict::Ready
    }
}

/// The JSON line of a device: `{"thing": NAME|null, "certificate": ID, "ready": BOOL,
/// "verdict": ..., "reasons": [{"code": ..., "detail": ...}]}`.
impl Serialize for DeviceReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("thing", &self.device.thing.as_deref())?;
        m.serialize_entry("certificate", self.device.certificate.as_str())?;
        m.serialize_entry("ready", &self.is_ready())?;
        m.serialize_entry("verdict", self.verdict.as_str())?;
        m.serialize_entry("reasons", &self.reasons)?;
        m.end()
    }
}

/// Everything an assessment found.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    /// Each device, in order: things by name, then certificates attached to no thing.
    pub devices: Vec<DeviceReport>,
    /// Policy documents that do not parse, per side, naming the statement.
    pub policy_problems: Vec<String>,
}

/// How many devices a reason holds back, and the first of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ReasonCount {
    /// Devices with this reason.
    pub devices: usize,
    /// The first few (in device order), as `thing (certificate ...)`.
    pub first: Vec<String>,
    /// The first device's detail for this reason.
    pub example: String,
}

/// The counts of an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Devices the source accepts (what the standby is judged on).
    pub devices: usize,
    /// Of those, ready in the standby.
    pub ready: usize,
    /// Of those, not ready.
    pub not_ready: usize,
    /// Of those, undecided.
    pub cannot_decide: usize,
    /// Devices the source refuses too (not counted in `devices`).
    pub not_ready_in_source: usize,
    /// Devices per reason.
    pub reasons: BTreeMap<String, ReasonCount>,
    /// What would fix the standby, as the kinds of sync needed.
    #[serde(skip)]
    pub fixes: Vec<Fix>,
}

/// How many devices each reason lists in a summary.
pub const FIRST_DEVICES: usize = 5;

impl Assessment {
    /// The counts per verdict and reason, naming the first [`FIRST_DEVICES`] devices
    /// of each reason.
    pub fn summary(&self) -> Summary {
        self.summary_naming(FIRST_DEVICES)
    }

    /// [`Assessment::summary`], naming the first `first` devices of each reason.
    pub fn summary_naming(&self, first: usize) -> Summary {
        let mut s = Summary::default();
        let mut by_code: BTreeMap<ReasonCode, ReasonCount> = BTreeMap::new();
        for d in &self.devices {
            match d.verdict {
                Verdict::Ready => s.ready += 1,
                Verdict::NotReady => s.not_ready += 1,
                Verdict::CannotDecide => s.cannot_decide += 1,
                Verdict::NotReadyInSource => s.not_ready_in_source += 1,
            }
            let mut last: Option<ReasonCode> = None;
            for r in &d.reasons {
                if last == Some(r.code) {
                    continue;
                }
                last = Some(r.code);
                let e = by_code.entry(r.code).or_default();
                if e.devices == 0 {
                    e.example = format!("{}: {}", d.device, r.detail);
                }
                e.devices += 1;
                if e.first.len() < first {
                    e.first.push(d.device.to_string());
                }
            }
        }
        s.devices = s.ready + s.not_ready + s.cannot_decide;
        let mut fixes: Vec<Fix> = by_code.keys().map(|c| c.fix()).collect();
        fixes.sort();
        fixes.dedup();
        s.fixes = fixes;
        s.reasons = by_code
            .into_iter()
            .map(|(c, n)| (c.as_str().to_string(), n))
            .collect();
        s
    }

    /// Whether every device the source accepts is ready.
    pub fn all_ready(&self) -> bool {
        self.devices
            .iter()
            .all(|d| matches!(d.verdict, Verdict::Ready | Verdict::NotReadyInSource))
    }
}
