//! The fixed vocabulary of a synthetic fleet: device profiles (thing types with their
//! attributes and policies), geography for the group hierarchy, billing plans, rollout
//! rings and the policies with their documents.

use compact_str::{CompactString, format_compact};
use rand::Rng;

use iot_crr_model::{Name, StringMap};

/// A device profile: a thing type and how its things look.
pub(crate) struct Profile {
    /// Thing type name; `None` for things without a type.
    pub type_name: Option<&'static str>,
    /// Weight among profiles (out of 100).
    pub weight: u32,
    /// Thing type description.
    pub description: &'static str,
    /// Searchable attributes of the type (at most three).
    pub searchable: &'static [&'static str],
    /// Device models.
    pub models: &'static [&'static str],
    /// Policy attached to the device certificate.
    pub policy: &'static str,
    /// Whether the device sits directly in its site group (gateways) rather than a line.
    pub at_site: bool,
}

/// The profiles, in a fixed order. Weights add up to 100.
pub(crate) const PROFILES: &[Profile] = &[
    Profile {
        type_name: Some("temperature-sensor"),
        weight: 34,
        description: "Temperature probe on a production line",
        searchable: &["firmware", "model", "site"],
        models: &["TS-100", "TS-200", "TS-210X"],
        policy: "fleet-device-connect",
        at_site: false,
    },
    Profile {
        type_name: Some("vibration-sensor"),
        weight: 24,
        description: "Three-axis vibration sensor for predictive maintenance",
        searchable: &["firmware", "model"],
        models: &["VB-3", "VB-5", "VB-5HD"],
        policy: "fleet-device-connect",
        at_site: false,
    },
    Profile {
        type_name: Some("plc-controller"),
        weight: 15,
        description: "Programmable logic controller bridged to MQTT",
        searchable: &["protocol"],
        models: &["PLC-S7", "PLC-CX9"],
        policy: "fleet-device-connect",
        at_site: false,
    },
    Profile {
        type_name: Some("ip-camera"),
        weight: 10,
        description: "Line inspection camera",
        searchable: &[],
        models: &["CAM-HD2", "CAM-4K"],
        policy: "fleet-camera-stream",
        at_site: false,
    },
    Profile {
        type_name: Some("edge-gateway"),
        weight: 5,
        description: "Site gateway relaying local devices",
        searchable: &["model", "serial"],
        models: &["GW-EDGE-1", "GW-EDGE-2"],
        policy: "fleet-gateway",
        at_site: true,
    },
    Profile {
        type_name: None,
        weight: 12,
        description: "",
        searchable: &[],
        models: &["DEV-KIT-1", "PROTO-X"],
        policy: "fleet-device-connect",
        at_site: false,
    },
];

/// The deprecated thing type that has no things.
pub(crate) const DEPRECATED_TYPE: &str = "legacy-sensor-v1";

/// A country: ISO code, name, time zone, city codes.
pub(crate) type Country = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

/// Regions of the hierarchy: code, description, countries (ISO code, name, time zone,
/// city codes). Countries are taken interleaved across regions, so a small fleet still
/// spans several regions.
pub(crate) const GEOGRAPHY: &[(&str, &str, &[Country])] = &[
    (
        "amer",
        "Americas",
        &[
            (
                "us",
                "United States",
                "America/Chicago",
                &["chi", "dal", "atl", "sea", "den"],
            ),
            ("ca", "Canada", "America/Toronto", &["tor", "mtl"]),
            ("mx", "Mexico", "America/Mexico_City", &["mty", "gdl"]),
            ("br", "Brazil", "America/Sao_Paulo", &["sao", "cwb"]),
        ],
    ),
    (
        "emea",
        "Europe, Middle East and Africa",
        &[
            (
                "de",
                "Germany",
                "Europe/Berlin",
                &["fra", "muc", "ham", "stu"],
            ),
            ("fr", "France", "Europe/Paris", &["par", "lyo"]),
            ("gb", "United Kingdom", "Europe/London", &["lon", "man"]),
            ("pl", "Poland", "Europe/Warsaw", &["waw", "wro"]),
            ("za", "South Africa", "Africa/Johannesburg", &["jnb"]),
        ],
    ),
    (
        "apac",
        "Asia Pacific",
        &[
            ("jp", "Japan", "Asia/Tokyo", &["tyo", "osa"]),
            ("in", "India", "Asia/Kolkata", &["blr", "pnq"]),
            ("au", "Australia", "Australia/Sydney", &["syd", "mel"]),
            ("sg", "Singapore", "Asia/Singapore", &["sin"]),
        ],
    ),
];

/// Things per site, on average; the number of sites (and so of groups) scales with it.
pub(crate) const THINGS_PER_SITE: usize = 2500;

/// Billing groups: name, description, share of things in percent (the rest has none).
pub(crate) const BILLING_GROUPS: &[(&str, &str, u32)] = &[
    ("billing-standard", "Standard connectivity plan", 58),
    (
        "billing-premium",
        "Premium plan with extended retention",
        20,
    ),
    ("billing-pilot", "Pilot customers, invoiced quarterly", 6),
    ("billing-internal", "Internal test devices, not invoiced", 6),
    ("billing-legacy", "Closed plan kept for history", 0),
];

/// Rollout rings (a second hierarchy): group name, description, share in per mille.
pub(crate) const RINGS: &[(&str, &str, u32)] = &[
    ("rollout-canary", "First ring of over-the-air updates", 20),
    (
        "rollout-early",
        "Early adopters of over-the-air updates",
        80,
    ),
];

/// The root of the rollout hierarchy.
pub(crate) const ROLLOUT_ROOT: &str = "rollout";

/// The policy attached to the canary ring group.
pub(crate) const CANARY_POLICY: &str = "fleet-ota-canary";

/// The policy attached to some site groups.
pub(crate) const MONITOR_POLICY: &str = "fleet-readonly-monitor";

/// The policies that exist regardless of geography.
pub(crate) const POLICIES: &[&str] = &[
    "fleet-camera-stream",
    "fleet-device-connect",
    "fleet-gateway",
    "fleet-jobs",
    CANARY_POLICY,
    MONITOR_POLICY,
    "fleet-shadow",
];

/// One IAM-style statement of a policy document.
struct Statement {
    actions: &'static [&'static str],
    /// Resource ARN tails (after `arn:aws:iot:REGION:ACCOUNT:`).
    resources: &'static [&'static str],
}

const CONNECT: Statement = Statement {
    actions: &["iot:Connect"],
    resources: &["client/${iot:Connection.Thing.ThingName}"],
};
const PUBLISH_TELEMETRY: Statement = Statement {
    actions: &["iot:Publish"],
    resources: &["topic/dt/fleet/${iot:Connection.Thing.ThingName}/telemetry"],
};
const PUBLISH_EVENTS: Statement = Statement {
    actions: &["iot:Publish"],
    resources: &["topic/dt/fleet/${iot:Connection.Thing.ThingName}/events"],
};
const COMMANDS: Statement = Statement {
    actions: &["iot:Subscribe"],
    resources: &["topicfilter/cmd/fleet/${iot:Connection.Thing.ThingName}/*"],
};
const COMMANDS_RECEIVE: Statement = Statement {
    actions: &["iot:Receive"],
    resources: &["topic/cmd/fleet/${iot:Connection.Thing.ThingName}/*"],
};
const SHADOW: Statement = Statement {
    actions: &["iot:GetThingShadow", "iot:UpdateThingShadow"],
    resources: &["thing/${iot:Connection.Thing.ThingName}"],
};
const SHADOW_TOPICS: Statement = Statement {
    actions: &["iot:Publish", "iot:Receive"],
    resources: &["topic/$aws/things/${iot:Connection.Thing.ThingName}/shadow/*"],
};
const JOBS: Statement = Statement {
    actions: &["iot:Publish", "iot:Receive"],
    resources: &["topic/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"],
};
const JOBS_SUBSCRIBE: Statement = Statement {
    actions: &["iot:Subscribe"],
    resources: &["topicfilter/$aws/things/${iot:Connection.Thing.ThingName}/jobs/*"],
};
const GATEWAY_CLIENTS: Statement = Statement {
    actions: &["iot:Connect"],
    resources: &["client/${iot:Connection.Thing.ThingName}-*"],
};
const GATEWAY_RELAY: Statement = Statement {
    actions: &["iot:Publish"],
    resources: &["topic/dt/fleet/${iot:Connection.Thing.ThingName}-*/telemetry"],
};
const STREAM: Statement = Statement {
    actions: &["iot:Publish"],
    resources: &[
        "topic/dt/fleet/${iot:Connection.Thing.ThingName}/video",
        "topic/dt/fleet/${iot:Connection.Thing.ThingName}/snapshot",
    ],
};
const OTA: Statement = Statement {
    actions: &["iot:Publish", "iot:Receive"],
    resources: &["topic/$aws/things/${iot:Connection.Thing.ThingName}/streams/*"],
};
const MONITOR: Statement = Statement {
    actions: &["iot:Subscribe"],
    resources: &["topicfilter/dt/fleet/*"],
};
const MONITOR_RECEIVE: Statement = Statement {
    actions: &["iot:Receive"],
    resources: &["topic/dt/fleet/*"],
};
const RETAIN: Statement = Statement {
    actions: &["iot:RetainPublish"],
    resources: &["topic/dt/fleet/${iot:Connection.Thing.ThingName}/status"],
};

/// The statements of a policy, in the order later versions add them: version `v`
/// (1-based) holds the first `v + 1`, so versions always differ.
fn statements(policy: &str) -> [&'static Statement; 6] {
    match policy {
        "fleet-camera-stream" => [
            &CONNECT,
            &STREAM,
            &PUBLISH_EVENTS,
            &COMMANDS,
            &COMMANDS_RECEIVE,
            &RETAIN,
        ],
        "fleet-gateway" => [
            &CONNECT,
            &GATEWAY_CLIENTS,
            &GATEWAY_RELAY,
            &PUBLISH_TELEMETRY,
            &COMMANDS,
            &COMMANDS_RECEIVE,
        ],
        "fleet-jobs" => [
            &CONNECT,
            &JOBS_SUBSCRIBE,
            &JOBS,
            &PUBLISH_EVENTS,
            &RETAIN,
            &COMMANDS,
        ],
        "fleet-ota-canary" => [
            &CONNECT,
            &JOBS_SUBSCRIBE,
            &JOBS,
            &OTA,
            &PUBLISH_EVENTS,
            &RETAIN,
        ],
        "fleet-readonly-monitor" => [
            &CONNECT,
            &MONITOR,
            &MONITOR_RECEIVE,
            &SHADOW,
            &RETAIN,
            &PUBLISH_EVENTS,
        ],
        "fleet-shadow" => [
            &CONNECT,
            &SHADOW,
            &SHADOW_TOPICS,
            &PUBLISH_EVENTS,
            &RETAIN,
            &COMMANDS,
        ],
        // fleet-device-connect and the regional policies
        _ => [
            &CONNECT,
            &PUBLISH_TELEMETRY,
            &PUBLISH_EVENTS,
            &COMMANDS,
            &COMMANDS_RECEIVE,
            &SHADOW_TOPICS,
        ],
    }
}

/// The document of version `version` (1-based) of `policy`: real AWS IoT policy JSON
/// whose ARNs name `region` and `account`.
pub(crate) fn policy_document(policy: &str, version: usize, region: &str, account: &str) -> String {
    let all = statements(policy);
    let n = (version + 1).min(all.len());
    let mut doc = String::from("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n");
    for (i, st) in all[..n].iter().enumerate() {
        doc.push_str("    {\n      \"Effect\": \"Allow\",\n      \"Action\": ");
        push_list(&mut doc, st.actions.iter().map(|a| (*a).to_string()));
        doc.push_str(",\n      \"Resource\": ");
        push_list(
            &mut doc,
            st.resources
                .iter()
                .map(|r| format!("arn:aws:iot:{region}:{account}:{r}")),
        );
        doc.push_str("\n    }");
        if i + 1 < n {
            doc.push(',');
        }
        doc.push('\n');
    }
    doc.push_str("  ]\n}");
    doc
}

/// A JSON string, or an array of strings when there are several.
fn push_list(doc: &mut String, items: impl ExactSizeIterator<Item = String>) {
    let several = items.len() > 1;
    if several {
        doc.push('[');
    }
    for (i, item) in items.enumerate() {
        if i > 0 {
            doc.push_str(", ");
        }
        doc.push('"');
        doc.push_str(&item);
        doc.push('"');
    }
    if several {
        doc.push(']');
    }
}

/// A line group that things can be placed in.
#[derive(Clone)]
pub(crate) struct Line {
    /// The line group's name.
    pub group: Name,
    /// The site group's name.
    pub site_group: Name,
    /// The site code (`fra01`), an attribute of the things there.
    pub site: Name,
    /// The line code (`l03`).
    pub line: Name,
}

/// A firmware version string.
pub(crate) fn firmware(rng: &mut impl Rng) -> CompactString {
    format_compact!(
        "{}.{}.{}",
        rng.random_range(1..=4u32),
        rng.random_range(0..=12u32),
        rng.random_range(0..=30u32)
    )
}

/// A date in 2023-2025, as `YYYY-MM-DD`.
pub(crate) fn date(rng: &mut impl Rng) -> CompactString {
    format_compact!(
        "{}-{:02}-{:02}",
        rng.random_range(2023..=2025u32),
        rng.random_range(1..=12u32),
        rng.random_range(1..=28u32)
    )
}

/// The attributes of a device of `profile` at `line`. Things without a type get at most
/// three attributes (the AWS IoT limit for untyped things).
pub(crate) fn attributes(profile: &Profile, line: &Line, rng: &mut impl Rng) -> StringMap {
    let model = profile.models[rng.random_range(0..profile.models.len())];
    let serial = format_compact!("{}-{:08X}", model.replace('-', ""), rng.random::<u32>());
    let mut a: Vec<(Name, Name)> = vec![
        ("model".into(), model.into()),
        ("serial".into(), serial),
        ("site".into(), line.site.clone()),
    ];
    if profile.type_name.is_none() {
        return a.into_iter().collect();
    }
    a.push(("firmware".into(), firmware(rng)));
    a.push(("installedAt".into(), date(rng)));
    if !profile.at_site {
        a.push(("line".into(), line.line.clone()));
    }
    match profile.type_name {
        Some("temperature-sensor") => {
            let unit = if rng.random_bool(0.8) {
                "celsius"
            } else {
                "fahrenheit"
            };
            a.push(("unit".into(), unit.into()));
            a.push(("calibratedAt".into(), date(rng)));
        }
        Some("vibration-sensor") => {
            let hz = [800u32, 1600, 3200][rng.random_range(0..3)];
            a.push(("sampleRateHz".into(), format_compact!("{hz}")));
            a.push(("axis".into(), "3".into()));
        }
        Some("plc-controller") => {
            let p = ["modbus-tcp", "profinet", "opc-ua"][rng.random_range(0..3)];
            a.push(("protocol".into(), p.into()));
        }
        Some("ip-camera") => {
            let r = if model == "CAM-4K" {
                "3840x2160"
            } else {
                "1920x1080"
            };
            a.push(("resolution".into(), r.into()));
        }
        Some("edge-gateway") => {
            a.push((
                "ipAddress".into(),
                format_compact!(
                    "10.{}.{}.{}",
                    rng.random_range(0..=255u32),
                    rng.random_range(0..=255u32),
                    rng.random_range(1..=254u32)
                ),
            ));
            a.push(("os".into(), "linux-6.1".into()));
        }
        _ => {}
    }
    if rng.random_bool(0.1) {
        a.push((
            "batteryPct".into(),
            format_compact!("{}", rng.random_range(5..=100u32)),
        ));
    }
    a.into_iter().collect()
}
