//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use iot_crr_policy::{
    Action, Attributes, CertificateInfo, Context, Decision, Policy, Request, ThingContext, evaluate,
};

/// The ARN prefix of the guide's examples.
pub const ARN: &str = "arn:aws:iot:us-east-1:123456789012";

/// A thing for a context.
pub struct Thing {
    pub name: String,
    pub type_name: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

impl Thing {
    pub fn new(name: &str) -> Thing {
        Thing {
            name: name.into(),
            type_name: None,
            attributes: BTreeMap::new(),
        }
    }
    pub fn typed(mut self, t: &str) -> Thing {
        self.type_name = Some(t.into());
        self
    }
    pub fn attr(mut self, k: &str, v: &str) -> Thing {
        self.attributes.insert(k.into(), v.into());
        self
    }
    pub fn context(&self) -> ThingContext<'_> {
        ThingContext {
            name: &self.name,
            type_name: self.type_name.as_deref(),
            attributes: &self.attributes as &dyn Attributes,
        }
    }
}

/// Parses or panics with the error (tests only).
pub fn policy(doc: &str) -> Policy {
    match Policy::parse(doc) {
        Ok(p) => p,
        Err(e) => panic!("{e}\n{doc}"),
    }
}

/// The decision of `policies` for `action` on `ARN:resource`.
pub fn decide_all(
    policies: &[&Policy],
    action: Action,
    resource: &str,
    client_id: &str,
    thing: Option<&Thing>,
    cert: Option<&CertificateInfo>,
) -> Decision {
    let context = Context {
        client_id,
        thing: thing.map(Thing::context),
        certificate: cert,
    };
    let resource = if resource == "*" || resource.starts_with("arn:") {
        resource.to_string()
    } else {
        format!("{ARN}:{resource}")
    };
    let request = Request {
        action,
        resource: &resource,
        context: &context,
    };
    evaluate(policies, &request)
}

/// The decision of one document.
pub fn decide(
    doc: &str,
    action: Action,
    resource: &str,
    client_id: &str,
    thing: Option<&Thing>,
    cert: Option<&CertificateInfo>,
) -> Decision {
    let p = policy(doc);
    decide_all(&[&p], action, resource, client_id, thing, cert)
}

/// Short names for the decisions.
pub fn allowed(statement: usize) -> Decision {
    Decision::Allowed {
        policy: 0,
        statement,
    }
}

pub fn denied(statement: usize) -> Decision {
    Decision::ExplicitDeny {
        policy: 0,
        statement,
    }
}

pub fn undecidable_at(d: &Decision) -> Option<(usize, usize, &str)> {
    match d {
        Decision::Undecidable {
            policy,
            statement,
            reason,
        } => Some((*policy, *statement, reason.as_str())),
        _ => None,
    }
}
