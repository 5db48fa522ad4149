use serde_json::json;

use super::*;
use crate::apply::Outcome;
use crate::filter::DiffOptions;
use crate::kinds::KindChange;
use crate::plan::{Action, Change};
use crate::rewrite::ArnRewrite;

const SRC: &str = "111122223333";
const DST: &str = "444455556666";

fn rule(name: &str, region: &str, account: &str) -> TopicRule {
    TopicRule {
        rule_name: name.into(),
        sql: "SELECT * FROM 'telemetry/#'".into(),
        description: "telemetry fan-out".into(),
        aws_iot_sql_version: "2016-03-23".into(),
        rule_disabled: false,
        actions: vec![
            json!({"lambda": {"functionArn": format!("arn:aws:lambda:{region}:{account}:function:ingest")}}),
            json!({"sns": {"targetArn": format!("arn:aws:sns:{region}:{account}:alerts"),
                           "roleArn": format!("arn:aws:iam::{account}:role/iot-sns"),
                           "messageFormat": "RAW"}}),
            json!({"sqs": {"queueUrl": format!("https://sqs.{region}.amazonaws.com/{account}/orders"),
                           "roleArn": format!("arn:aws:iam::{account}:role/iot-sqs"),
                           "useBase64": false}}),
        ],
        error_action: Some(Box::new(
            json!({"republish": {"topic": "errors/rules", "roleArn": format!("arn:aws:iam::{account}:role/iot-republish"), "qos": 1}}),
        )),
        tags: StringMap::default(),
    }
}

fn snapshot(rules: &[TopicRule]) -> Snapshot {
    let mut s = Snapshot::new();
    for r in rules {
        s.topic_rules.insert(r.rule_name.clone(), r.clone());
    }
    s
}

fn rewrite() -> ArnRewrite {
    ArnRewrite {
        from_region: Some("us-east-1".into()),
        to_region: Some("eu-west-1".into()),
        from_account: Some(SRC.into()),
        to_account: Some(DST.into()),
        ..ArnRewrite::default()
    }
}

#[test]
fn a_line_reads_with_defaults_and_writes_back_the_same() {
    let line = r#"{"kind":"topicRule","ruleName":"fanout","sql":"SELECT * FROM 't'","actions":[{"lambda":{"functionArn":"arn:aws:lambda:us-east-1:111122223333:function:f"}}]}"#;
    let r: Resource = serde_json::from_str(line).unwrap();
    let Resource::TopicRule(t) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(t.aws_iot_sql_version, DEFAULT_SQL_VERSION);
    assert!(!t.rule_disabled);
    assert_eq!(t.action_types(), ["lambda"]);
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"kind":"topicRule","ruleName":"fanout","sql":"SELECT * FROM 't'","awsIotSqlVersion":"2015-10-08","actions":[{"lambda":{"functionArn":"arn:aws:lambda:us-east-1:111122223333:function:f"}}]}"#
    );
    assert_eq!(r.key().to_string(), "topicRule/fanout");
    assert_eq!(crate::Kind::parse("topic-rules"), Some(Kind::TopicRule));
    assert_eq!(crate::Kind::parse("rule"), Some(Kind::TopicRule));
    let err = serde_json::from_str::<Resource>(
        r#"{"kind":"topicRule","ruleName":"r","sql":"x","action":[]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("action"), "{err}");
}

#[test]
fn the_api_form_reads_back_and_the_payload_carries_every_field() {
    let r = rule("fanout", "us-east-1", SRC);
    let body = json!({"ruleArn": "arn:aws:iot:us-east-1:111122223333:rule/fanout", "rule": {
        "ruleName": "fanout", "sql": r.sql, "description": r.description,
        "awsIotSqlVersion": "2016-03-23", "ruleDisabled": false, "createdAt": 1.7e9,
        "actions": r.actions, "errorAction": r.error_action }});
    assert_eq!(TopicRule::from_api("fanout", &body).unwrap(), r);
    let p = r.payload();
    assert_eq!(p["sql"], json!(r.sql));
    assert_eq!(p["actions"].as_array().unwrap().len(), 3);
    assert_eq!(p["errorAction"]["republish"]["qos"], json!(1));
    // An empty error action is none; a rule without sql is refused.
    let bare = json!({"rule": {"sql": "SELECT 1 FROM 'a'", "errorAction": {}}});
    assert_eq!(TopicRule::from_api("b", &bare).unwrap().error_action, None);
    assert!(TopicRule::from_api("b", &json!({"rule": {}})).is_err());
}

#[test]
fn diff_rewrites_every_action_for_the_target_and_names_what_it_cannot_place() {
    let mut with_search = rule("fanout", "us-east-1", SRC);
    with_search.actions.push(json!({"openSearch": {
        "endpoint": "https://search-logs-x7.us-east-1.es.amazonaws.com",
        "index": "telemetry", "type": "doc", "id": "${newuuid()}",
        "roleArn": format!("arn:aws:iam::{SRC}:role/iot-os")}}));
    let mut disabled = rule("paused", "us-east-1", SRC);
    disabled.rule_disabled = true;
    let desired = snapshot(&[with_search, disabled]);
    let options = DiffOptions {
        rewrite: Some(rewrite()),
        ..DiffOptions::default()
    };
    let plan = crate::diff(&desired, &Snapshot::new(), &options);
    let shown: Vec<String> = plan.changes.iter().map(|c| c.change.to_string()).collect();
    assert_eq!(
        shown,
        [
            "create topic rule fanout (lambda, sns, sqs, openSearch, republish)",
            "create topic rule paused (lambda, sns, sqs, republish), disabled"
        ]
    );
    let Change::TopicRule(TopicRuleChange::CreateTopicRule { topic_rule }) =
        &plan.changes[0].change
    else {
        panic!()
    };
    let text = serde_json::to_string(&topic_rule.actions).unwrap();
    assert!(!text.contains(SRC), "{text}");
    assert!(text.contains("arn:aws:lambda:eu-west-1:444455556666:function:ingest"));
    assert!(text.contains("https://sqs.eu-west-1.amazonaws.com/444455556666/orders"));
    assert_eq!(topic_rule.action_types()[4], "republish");
    assert_eq!(
        plan.warnings,
        [
            "unmapped ARN in topic rule fanout: https://search-logs-x7.us-east-1.es.amazonaws.com \
          names a resource that region rewriting does not place in the target (map it with \
          --map-arn or --arn-map)"
        ]
    );
    // Applied, the second plan is empty; mapped, the endpoint is placed and no warning.
    let mut t = Snapshot::new();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert!(crate::diff(&desired, &t, &options).changes.is_empty());
    let mut mapped = rewrite();
    mapped.map.insert(
        "https://search-logs-x7.us-east-1.es.amazonaws.com".into(),
        "https://search-logs-q2.eu-west-1.es.amazonaws.com".into(),
    );
    let options = DiffOptions {
        rewrite: Some(mapped),
        ..DiffOptions::default()
    };
    let plan = crate::diff(&desired, &t, &options);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(plan.changes[0].change.api(), "ReplaceTopicRule");
}

#[test]
fn a_changed_rule_is_replaced_and_a_target_only_rule_pruned() {
    let d = rule("fanout", "us-east-1", SRC);
    let mut a = d.clone();
    a.rule_disabled = true;
    a.sql = "SELECT temp FROM 'telemetry/#'".into();
    let desired = snapshot(std::slice::from_ref(&d));
    let target = snapshot(&[a, rule("old", "us-east-1", SRC)]);
    let options = DiffOptions {
        prune: true,
        ..DiffOptions::default()
    };
    let plan = crate::diff(&desired, &target, &options);
    let apis: Vec<&str> = plan.changes.iter().map(|c| c.change.api()).collect();
    assert_eq!(apis, ["ReplaceTopicRule", "DeleteTopicRule"]);
    let mut t = target.clone();
    for c in &plan.changes {
        crate::apply_change(&mut t, &c.change).unwrap();
    }
    assert_eq!(t.topic_rules["fanout"], d);
    assert!(crate::diff(&desired, &t, &options).is_empty());
}

#[test]
fn apply_is_idempotent_and_conflicts_are_named() {
    let mut s = Snapshot::new();
    let create = TopicRuleChange::CreateTopicRule {
        topic_rule: rule("fanout", "us-east-1", SRC),
    };
    assert_eq!(create.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(create.apply(&mut s), Ok(Outcome::AlreadyInState));
    let other = TopicRuleChange::CreateTopicRule {
        topic_rule: rule("fanout", "us-west-2", SRC),
    };
    assert!(
        other
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("another payload")
    );
    let replace = TopicRuleChange::ReplaceTopicRule {
        topic_rule: rule("fanout", "us-west-2", SRC),
    };
    assert_eq!(replace.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(replace.apply(&mut s), Ok(Outcome::AlreadyInState));
    let delete = TopicRuleChange::DeleteTopicRule {
        rule_name: "fanout".into(),
    };
    assert_eq!(delete.apply(&mut s), Ok(Outcome::Applied));
    assert_eq!(delete.apply(&mut s), Ok(Outcome::AlreadyInState));
    assert!(
        replace
            .apply(&mut s)
            .unwrap_err()
            .message
            .contains("does not exist")
    );
}

#[test]
fn checks_name_sql_version_and_actions() {
    assert!(rule("fanout", "us-east-1", SRC).check().is_ok());
    let v = rule("fan-out", "us-east-1", SRC).check().unwrap_err();
    assert!(v.to_string().contains("ruleName"), "{v}");
    let mut r = rule("r", "us-east-1", SRC);
    r.aws_iot_sql_version = "2020".into();
    assert!(
        r.check()
            .unwrap_err()
            .to_string()
            .contains("awsIotSqlVersion")
    );
    let mut r = rule("r", "us-east-1", SRC);
    r.sql = " ".into();
    assert!(r.check().unwrap_err().to_string().contains("sql"));
    let mut r = rule("r", "us-east-1", SRC);
    r.actions.push(json!({"lambda": {}, "sns": {}}));
    let v = r.check().unwrap_err().to_string();
    assert!(
        v.contains("actions[3]") && v.contains("2 action types"),
        "{v}"
    );
    let mut r = rule("r", "us-east-1", SRC);
    r.error_action = Some(Box::new(json!("lambda")));
    assert!(r.check().unwrap_err().to_string().contains("errorAction"));
    let mut r = rule("r", "us-east-1", SRC);
    r.actions = vec![json!({"lambda": {}}); 11];
    assert!(r.check().unwrap_err().to_string().contains("11 actions"));
}

#[test]
fn the_outer_change_delegates_and_plan_files_read_it() {
    let c = Change::TopicRule(TopicRuleChange::DeleteTopicRule {
        rule_name: "fanout".into(),
    });
    assert_eq!((c.api(), c.action()), ("DeleteTopicRule", Action::Delete));
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(json, r#"{"op":"deleteTopicRule","ruleName":"fanout"}"#);
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
    let c = Change::TopicRule(TopicRuleChange::ReplaceTopicRule {
        topic_rule: rule("fanout", "us-east-1", SRC),
    });
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), c);
    let err =
        serde_json::from_str::<Change>(r#"{"op":"createTopicRule","topicRule":{"ruleName":"r"}}"#)
            .unwrap_err()
            .to_string();
    assert!(err.contains("sql"), "{err}");
}
