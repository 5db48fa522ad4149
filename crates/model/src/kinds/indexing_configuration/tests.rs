use super::*;
use crate::filter::DiffOptions;

fn config(mode: IndexMode, fields: &[(&str, &str)]) -> IndexingConfiguration {
    IndexingConfiguration {
        thing_indexing_mode: mode,
        thing_connectivity_indexing_mode: IndexMode::Status,
        custom_fields: fields
            .iter()
            .map(|(n, t)| (Name::from(*n), t.to_string()))
            .collect(),
        filter: IndexingFilter {
            named_shadow_names: NameSet::from_iter(["config"]),
            geo_locations: vec![GeoLocation {
                name: "shadow.reported.location".into(),
                order: "LatLon".into(),
            }],
        },
        thing_group_indexing_mode: IndexMode::On,
        ..IndexingConfiguration::default()
    }
}

fn snapshot(c: Option<IndexingConfiguration>) -> Snapshot {
    let mut s = Snapshot::new();
    if let Some(c) = c {
        s.indexing_configurations.insert(SINGLETON.into(), c);
    }
    s
}

#[test]
fn a_line_reads_with_modes_off_by_default_and_writes_back_the_same() {
    let line = r#"{"kind":"indexingConfiguration","name":"default","thingIndexingMode":"REGISTRY","customFields":{"attributes.model":"String"}}"#;
    let r: Resource = serde_json::from_str(line).unwrap();
    let Resource::IndexingConfiguration(c) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(c.thing_group_indexing_mode, IndexMode::Off);
    assert_eq!(serde_json::to_string(&r).unwrap(), line);
    assert_eq!(r.key().to_string(), "indexingConfiguration/default");
    for spelling in ["indexing-configuration", "indexing", "fleet-indexing"] {
        assert_eq!(
            Kind::parse(spelling),
            Some(Kind::IndexingConfiguration),
            "{spelling}"
        );
    }
}

#[test]
fn the_whole_configuration_is_written_where_it_differs_and_never_deleted() {
    let desired = snapshot(Some(config(
        IndexMode::RegistryAndShadow,
        &[("attributes.model", "String")],
    )));
    let target = snapshot(Some(IndexingConfiguration::default()));
    let plan = crate::diff(&desired, &target, &DiffOptions::default());
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        plan.changes[0].change.to_string(),
        "update fleet indexing configuration: things REGISTRY_AND_SHADOW, thing groups ON, 1 custom field(s)"
    );
    let mut t = target.clone();
    crate::apply_change(&mut t, &plan.changes[0].change).unwrap();
    assert!(crate::diff(&desired, &t, &DiffOptions::default()).is_empty());
    // Applied twice: in state.
    assert_eq!(
        crate::apply_change(&mut t, &plan.changes[0].change),
        Ok(Outcome::AlreadyInState)
    );
    // A source without one (a file from before this kind) leaves the target alone, with
    // --prune too.
    let prune = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    assert!(crate::diff(&snapshot(None), &target, &prune).is_empty());
    // It comes before dynamic groups (they query the index).
    assert_eq!(stage::base(plan.changes[0].stage), stage::DEFINITIONS);
    const { assert!(stage::DEFINITIONS < stage::GROUPS) };
}

#[test]
fn modes_field_types_and_the_name_are_checked() {
    assert!(
        config(IndexMode::Registry, &[("a", "Number")])
            .check()
            .is_ok()
    );
    // A mode one field does not take; a mode no field takes does not parse.
    let e = config(IndexMode::On, &[]).check().unwrap_err().to_string();
    assert!(
        serde_json::from_str::<Resource>(
            r#"{"kind":"indexingConfiguration","name":"default","thingIndexingMode":"SOMETIMES"}"#
        )
        .is_err()
    );
    assert!(
        e.contains("thingIndexingMode") && e.contains("REGISTRY_AND_SHADOW"),
        "{e}"
    );
    let e = config(IndexMode::Registry, &[("a", "Float")])
        .check()
        .unwrap_err()
        .to_string();
    assert!(e.contains("customFields.a"), "{e}");
    let mut c = config(IndexMode::Registry, &[]);
    c.name = "other".into();
    assert!(c.check().unwrap_err().to_string().contains("one resource"));
    let json = serde_json::to_string(&Change::IndexingConfiguration(
        IndexingConfigurationChange::UpdateIndexingConfiguration {
            indexing_configuration: IndexingConfiguration::default(),
        },
    ))
    .unwrap();
    assert_eq!(
        json,
        r#"{"op":"updateIndexingConfiguration","indexingConfiguration":{"name":"default"}}"#
    );
    assert!(serde_json::from_str::<Change>(&json).is_ok());
}
