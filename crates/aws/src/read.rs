//! Reading a registry: the whole (filtered) registry with the fewest calls, or one
//! resource with its relations.
//!
//! Calls per full read (N things, G thing groups, B billing groups, T types, P policies
//! with V versions each, C certificates; list calls are paged 250 a page):
//! - things: `ListThings` pages only (it returns type, attributes and version);
//!   principals: `ListThingPrincipals` per thing, or `ListPrincipalThings` per
//!   certificate when there are fewer certificates than things (certificate
//!   principals only: the snapshot then says
//!   [`PrincipalCoverage::CertificatesOnly`]);
//! - thing types: `ListThingTypes` pages (properties and deprecation included) and
//!   `ListTagsForResource` per type;
//! - thing groups: `ListThingGroups` pages, then per group `DescribeThingGroup`,
//!   `ListTagsForResource`, and for static groups `ListThingsInThingGroup` (inverted onto
//!   the things: one call per group instead of one per thing);
//! - billing groups: `ListBillingGroups` pages, then per group `DescribeBillingGroup`,
//!   `ListTagsForResource`, `ListThingsInBillingGroup` (inverted onto the things);
//! - policies: `ListPolicies` pages, then per policy `ListPolicyVersions`, one
//!   `GetPolicyVersion` per version, `ListTagsForResource`, and `ListTargetsForPolicy`
//!   (which gives the attachments to certificates and thing groups at once);
//! - certificates: `ListCertificates` pages and `DescribeCertificate` per certificate
//!   (the PEM is only there).
//!
//! The kinds are read at the same time (thing types, billing groups, thing groups,
//! policies, and things with certificates; the principal and `DescribeCertificate`
//! fan-outs run together once the thing and certificate lists are in), and the
//! relations are joined at the end, so a full read takes about as long as its slowest
//! API rather than the sum of all. Within each per-resource fan-out at most
//! [`AwsRegistry::with_read_concurrency`] calls are in flight; every call is paced by
//! its API's token bucket.
//!
//! When the request has a [`ThingPages`](iot_crr_registry::ThingPages) taker and the
//! principals are read per thing, each page of 250 things goes to it as soon as its
//! principals are in (and the groups' memberships, read at the start, are known), so
//! that a sync writes the first things while the last are read; the snapshot then holds
//! only the things nobody took.
//!
//! [`Registry::related`](iot_crr_registry::Registry::related) questions are answered
//! with one list call each (every page), see `AwsRegistry::related_keys`.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_iot::types::{ThingTypeMetadata, ThingTypeProperties};
use futures::{StreamExt, TryStreamExt, stream};
use iot_crr_model::{
    BillingGroup, Certificate, CertificateStatus, Kind, Name, NameSet, Policy, PolicyVersion,
    PrincipalCoverage, Related, Resource, ResourceKey, Snapshot, StringMap, Thing, ThingGroup,
    ThingType, cert_principal, principal_certificate_id,
};
use iot_crr_registry::{ErrorClass, ReadRequest, RegistryError, Result};

use crate::arn;
use crate::registry::AwsRegistry;
use crate::write::found;

/// The largest page the IoT list APIs accept.
pub(crate) const PAGE: i32 = 250;

/// Calls `$req` (a fluent builder expression) for every page, setting the page token
/// with `$set` and reading the next one with `$next`; `$body` sees each page as `$out`.
macro_rules! paginate {
    ($self:ident, $api:literal, $req:expr, $set:ident, $next:ident, |$out:ident| $body:block) => {{
        let mut token: Option<String> = None;
        loop {
            let t = token.clone();
            let $out = $self.call($api, || $req.$set(t.clone()).send()).await?;
            $body
            token = $out
                .$next()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }};
}
pub(crate) use paginate;

/// A key page with its next cursor (AWS and moto send "" or nothing on the last page).
pub(crate) fn page(keys: Vec<ResourceKey>, next: Option<&str>) -> iot_crr_registry::KeyPage {
    iot_crr_registry::KeyPage {
        keys,
        next: next.filter(|t| !t.is_empty()).map(str::to_string),
    }
}

/// `Some(text)` unless it is empty (AWS and moto send "" for an unset description).
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

pub(crate) fn string_map(m: Option<&std::collections::HashMap<String, String>>) -> StringMap {
    m.map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .unwrap_or_default()
}

pub(crate) fn thing_type_from(
    name: &str,
    props: Option<&ThingTypeProperties>,
    meta: Option<&ThingTypeMetadata>,
) -> ThingType {
    ThingType {
        thing_type_name: name.into(),
        thing_type_description: non_empty(props.and_then(|p| p.thing_type_description())),
        searchable_attributes: props
            .map(|p| {
                p.searchable_attributes()
                    .iter()
                    .map(String::as_str)
                    .collect()
            })
            .unwrap_or_default(),
        deprecated: meta.is_some_and(|m| m.deprecated()),
        tags: StringMap::new(),
    }
}

pub(crate) fn status_from(s: Option<&aws_sdk_iot::types::CertificateStatus>) -> CertificateStatus {
    s.and_then(|s| CertificateStatus::parse(s.as_str()))
        .unwrap_or(CertificateStatus::Inactive)
}

/// The model's form of a principal: `cert/<id>` for a certificate ARN, else as given.
pub(crate) fn principal_from_arn(p: &str) -> Name {
    match arn::certificate_id(p) {
        Some(id) => cert_principal(id),
        None => p.into(),
    }
}

/// What a full read learns about things from the groups: each thing's static groups
/// and billing group, and the groups themselves.
#[derive(Default)]
struct ThingRelations {
    /// The billing groups the filter selects.
    billing_groups: Vec<BillingGroup>,
    /// The thing groups the filter selects.
    thing_groups: Vec<ThingGroup>,
    /// Each member's billing group.
    billing_of: HashMap<Name, Name>,
    /// Each member's static thing groups.
    groups_of: HashMap<Name, NameSet>,
    /// Things of pages nobody took: they go into the snapshot.
    kept: Vec<Thing>,
}

impl ThingRelations {
    /// Gives a thing its groups and billing group (each thing is completed once).
    fn complete(&mut self, t: &mut Thing) {
        t.thing_groups = self.groups_of.remove(&t.thing_name).unwrap_or_default();
        t.billing_group_name = self.billing_of.remove(&t.thing_name);
    }
}

impl AwsRegistry {
    /// Runs `f` over `items` with bounded concurrency.
    pub(crate) async fn each<I, T, F, Fut>(&self, items: Vec<I>, f: F) -> Result<Vec<T>>
    where
        F: Fn(I) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        stream::iter(items)
            .map(f)
            .buffer_unordered(self.read_concurrency)
            .try_collect()
            .await
    }

    /// The tags of a resource, or none when tags are off.
    pub(crate) async fn tags_of(&self, resource_arn: &str) -> Result<StringMap> {
        let _probe = self.tags_probe().await;
        if !self.tags_enabled() {
            return Ok(StringMap::new());
        }
        let mut tags = StringMap::new();
        let mut token: Option<String> = None;
        loop {
            let t = token.clone();
            let out = match self
                .call("ListTagsForResource", || {
                    self.client
                        .list_tags_for_resource()
                        .resource_arn(resource_arn)
                        .set_next_token(t.clone())
                        .send()
                })
                .await
            {
                Ok(out) => out,
                Err(e) if self.tags_unsupported(&e) => return Ok(StringMap::new()),
                Err(e) => return Err(e),
            };
            self.tags_work();
            for tag in out.tags() {
                tags.insert(tag.key(), tag.value().unwrap_or(""));
            }
            token = out
                .next_token()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(tags)
    }

    /// Reads every resource the filter selects, with its relations.
    ///
    /// The phases that do not depend on each other run at the same time (every API has
    /// its own token bucket, so a slow one does not hold up the others): thing types,
    /// billing groups with their members, thing groups with their members, policies
    /// with their targets, and the things-and-certificates branch. That branch lists
    /// things and certificates (both lists at once), then runs the `DescribeCertificate`
    /// fan-out and the principal fan-out together (choosing between per-thing and
    /// per-certificate principals needs both lists). Relations are joined at the end.
    /// Each per-resource fan-out keeps at most `read_concurrency` calls in flight.
    pub(crate) async fn read_all(&self, req: &ReadRequest) -> Result<Snapshot> {
        let f = &req.filter;
        let want_types = f.selects_kind(Kind::ThingType);
        let want_billing = f.selects_kind(Kind::BillingGroup);
        let want_groups = f.selects_kind(Kind::ThingGroup);
        let want_policies = f.selects_kind(Kind::Policy);
        let want_certs = f.selects_kind(Kind::Certificate);
        let want_things = f.selects_kind(Kind::Thing);
        // Policy targets are needed when certificates or groups need their attached
        // policies (ListTargetsForPolicy per policy covers both at once).
        let need_targets = want_certs || want_groups;

        let types = async {
            if !want_types {
                return Ok(Vec::new());
            }
            let types = self.read_thing_types(req).await?;
            req.report(Kind::ThingType, types.len() as u64);
            Ok(types)
        };

        // Billing groups: needed for themselves, and for the things' billing group even
        // when the kind is filtered out (relations are kept, see `Filter`).
        let billing = async {
            if !(want_billing || want_things) {
                return Ok(Vec::new());
            }
            let groups = self
                .read_billing_groups(req, want_billing, want_things)
                .await?;
            let selected = groups
                .iter()
                .filter(|(g, _)| {
                    want_billing && f.matches(Kind::BillingGroup, &g.billing_group_name)
                })
                .count();
            req.report(Kind::BillingGroup, selected as u64);
            Ok::<_, RegistryError>(groups)
        };

        let groups = async {
            if !(want_groups || want_things) {
                return Ok(Vec::new());
            }
            let groups = self
                .read_thing_groups(req, want_groups, want_things)
                .await?;
            let selected = groups
                .iter()
                .filter(|(g, _)| want_groups && f.matches(Kind::ThingGroup, &g.thing_group_name))
                .count();
            req.report(Kind::ThingGroup, selected as u64);
            Ok::<_, RegistryError>(groups)
        };

        let policies = async {
            if !(want_policies || need_targets) {
                return Ok(Vec::new());
            }
            let policies = self.read_policies(req, want_policies, need_targets).await?;
            let read = policies.iter().filter(|(_, p, _)| p.is_some()).count();
            req.report(Kind::Policy, read as u64);
            Ok(policies)
        };

        // Pages of things with their principals, before their groups are known (the
        // per-thing principal read hands them over as they complete, see below).
        let (raw_tx, mut raw_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<Thing>>();
        let things_and_certs = async move {
            let (things, cert_list) = tokio::try_join!(
                async {
                    if want_things {
                        self.list_things(req).await
                    } else {
                        Ok(Vec::new())
                    }
                },
                async {
                    // Listed for the things too (a page per 250): with fewer
                    // certificates than things, the principals are read per
                    // certificate.
                    if want_certs || want_things {
                        self.list_certificates().await
                    } else {
                        Ok(Vec::new())
                    }
                },
            )?;
            // Certificates: the list gives id, ARN and status; the PEM (and the CA) needs
            // DescribeCertificate, one call per certificate, unless the caller does not
            // need them.
            let wanted: Vec<(Name, CertificateStatus)> = cert_list
                .iter()
                .filter(|(id, _, _)| f.matches(Kind::Certificate, id))
                .map(|(id, _, status)| (id.clone(), *status))
                .collect();
            let certs = async {
                if req.skip_certificate_pems {
                    req.report(Kind::Certificate, wanted.len() as u64);
                    return Ok(wanted
                        .into_iter()
                        .map(|(id, status)| Certificate {
                            certificate_id: id,
                            certificate_pem: String::new(),
                            status,
                            ca_certificate_id: None,
                            policies: NameSet::new(),
                        })
                        .collect::<Vec<_>>());
                }
                let wanted: Vec<Name> = wanted.into_iter().map(|(id, _)| id).collect();
                let found = self
                    .each(wanted, |id| async move {
                        let c = self.describe_certificate(&id).await?;
                        if c.is_some() {
                            req.report(Kind::Certificate, 1);
                        }
                        Ok(c)
                    })
                    .await?;
                Ok::<_, RegistryError>(found.into_iter().flatten().collect::<Vec<_>>())
            };
            let by_cert = want_things && cert_list.len() < things.len();
            let principals = async {
                if !want_things || things.is_empty() {
                    return Ok((things, HashMap::new()));
                }
                if req.thing_pages.is_some() && !by_cert {
                    // Per thing, with a taker for early pages: each page of things
                    // goes out with its principals as soon as they are read.
                    self.principals_in_pages(things, &raw_tx).await?;
                    return Ok((Vec::new(), HashMap::new()));
                }
                let principals = self.principals_of(&things, &cert_list, by_cert).await?;
                Ok::<_, RegistryError>((things, principals))
            };
            let (certs, (things, principals)) = tokio::try_join!(certs, principals)?;
            drop(raw_tx);
            Ok::<_, RegistryError>((things, certs, principals, by_cert))
        };

        // The groups' memberships, inverted onto the things; pages of things handed
        // over early get theirs here, once the memberships are read.
        let relations = async {
            let (billing, groups) = tokio::try_join!(billing, groups)?;
            let mut rel = ThingRelations::default();
            for (group, members) in billing {
                let name = group.billing_group_name.clone();
                for t in members {
                    rel.billing_of.insert(t, name.clone());
                }
                if want_billing && f.matches(Kind::BillingGroup, &name) {
                    rel.billing_groups.push(group);
                }
            }
            for (group, members) in groups {
                for t in members {
                    rel.groups_of
                        .entry(t)
                        .or_default()
                        .insert(group.thing_group_name.clone());
                }
                if want_groups && f.matches(Kind::ThingGroup, &group.thing_group_name) {
                    rel.thing_groups.push(group);
                }
            }
            if let Some(out) = &req.thing_pages {
                while let Some(mut page) = raw_rx.recv().await {
                    for t in &mut page {
                        rel.complete(t);
                    }
                    if let Err(page) = out.send(page) {
                        // Nobody takes pages any more: they go into the snapshot.
                        rel.kept.extend(page);
                    }
                }
            }
            Ok::<_, RegistryError>(rel)
        };

        // Kinds read on their own (no relation to another kind's API).
        let role_aliases = async {
            if !f.selects_kind(Kind::RoleAlias) {
                return Ok(Vec::new());
            }
            let aliases = self.read_role_aliases(req).await?;
            req.report(Kind::RoleAlias, aliases.len() as u64);
            Ok::<_, RegistryError>(aliases)
        };

        let ca_certificates = async {
            if !f.selects_kind(Kind::CaCertificate) {
                return Ok(Some(Vec::new()));
            }
            let cas = self.read_ca_certificates(req).await?;
            req.report(Kind::CaCertificate, cas.as_ref().map_or(0, Vec::len) as u64);
            Ok::<_, RegistryError>(cas)
        };

        let authorizers = async {
            if !f.selects_kind(Kind::Authorizer) {
                return Ok(Some(Vec::new()));
            }
            let found = self.read_authorizers(req).await?;
            req.report(Kind::Authorizer, found.as_ref().map_or(0, Vec::len) as u64);
            Ok::<_, RegistryError>(found)
        };

        // The message routing and device-facing control plane: read on their own too.
        let routing = async {
            let topic_rules = async {
                if !f.selects_kind(Kind::TopicRule) {
                    return Ok(Vec::new());
                }
                let rules = self.read_topic_rules(req).await?;
                req.report(Kind::TopicRule, rules.len() as u64);
                Ok::<_, RegistryError>(rules)
            };
            let domains = async {
                if !f.selects_kind(Kind::DomainConfiguration) {
                    return Ok(Vec::new());
                }
                let domains = self.read_domain_configurations(req).await?;
                req.report(Kind::DomainConfiguration, domains.len() as u64);
                Ok::<_, RegistryError>(domains)
            };
            let templates = async {
                if !f.selects_kind(Kind::ProvisioningTemplate) {
                    return Ok(Some(Vec::new()));
                }
                let found = self.read_provisioning_templates(req).await?;
                req.report(
                    Kind::ProvisioningTemplate,
                    found.as_ref().map_or(0, Vec::len) as u64,
                );
                Ok::<_, RegistryError>(found)
            };
            // Boxed: the joined read is one future, and these kinds' reads are large.
            let destinations = async {
                if !f.selects_kind(Kind::TopicRuleDestination) {
                    return Ok(Some(Vec::new()));
                }
                let found = self.read_topic_rule_destinations(req).await?;
                req.report(
                    Kind::TopicRuleDestination,
                    found.as_ref().map_or(0, Vec::len) as u64,
                );
                Ok::<_, RegistryError>(found)
            };
            Box::pin(async { tokio::try_join!(topic_rules, domains, templates, destinations) })
                .await
        };

        // Account settings: one call each.
        let settings = async {
            let indexing = async {
                if !f.selects_kind(Kind::IndexingConfiguration) {
                    return Ok(None);
                }
                self.read_indexing_configuration().await.map(Some)
            };
            let events = async {
                if !f.selects_kind(Kind::EventConfigurations) {
                    return Ok(Some(None));
                }
                // `None`: the endpoint cannot tell (moto).
                self.read_event_configurations().await.map(|e| e.map(Some))
            };
            tokio::try_join!(indexing, events)
        };

        let (
            types,
            policies,
            mut rel,
            (things, certs, mut principals, by_cert),
            role_aliases,
            ca_certificates,
            (indexing, events),
            authorizers,
            (topic_rules, domains, templates, destinations),
        ) = tokio::try_join!(
            types,
            policies,
            relations,
            things_and_certs,
            role_aliases,
            ca_certificates,
            settings,
            authorizers,
            routing
        )?;

        // Join the relations.
        let mut snap = Snapshot::default();
        if by_cert {
            // Principals were read per certificate: other principals (IAM, Cognito)
            // are not seen, and a comparison must leave them alone.
            snap.principal_coverage = PrincipalCoverage::CertificatesOnly;
        }
        for t in types {
            snap.thing_types.insert(t.thing_type_name.clone(), t);
        }
        for a in role_aliases {
            snap.role_aliases.insert(a.role_alias.clone(), a);
        }
        match ca_certificates {
            Some(cas) => {
                for c in cas {
                    snap.ca_certificates.insert(c.certificate_id.clone(), c);
                }
            }
            None => {
                snap.unlisted.insert(Kind::CaCertificate);
            }
        }
        for d in domains {
            snap.domain_configurations
                .insert(d.domain_configuration_name.clone(), d);
        }
        match templates {
            Some(list) => {
                for t in list {
                    snap.provisioning_templates
                        .insert(t.template_name.clone(), t);
                }
            }
            None => {
                snap.unlisted.insert(Kind::ProvisioningTemplate);
            }
        }
        match destinations {
            Some(list) => {
                for d in list {
                    snap.topic_rule_destinations
                        .insert(d.confirmation_url.clone(), d);
                }
            }
            None => {
                snap.unlisted.insert(Kind::TopicRuleDestination);
            }
        }
        for r in topic_rules {
            snap.topic_rules.insert(r.rule_name.clone(), r);
        }
        match authorizers {
            Some(list) => {
                for a in list {
                    snap.authorizers.insert(a.authorizer_name.clone(), a);
                }
            }
            None => {
                snap.unlisted.insert(Kind::Authorizer);
            }
        }
        if let Some(c) = indexing
            && f.matches(Kind::IndexingConfiguration, &c.name)
        {
            snap.indexing_configurations.insert(c.name.clone(), c);
        }
        match events {
            Some(Some(c)) if f.matches(Kind::EventConfigurations, &c.name) => {
                snap.event_configurations.insert(c.name.clone(), c);
            }
            Some(_) => {}
            None => {
                tracing::warn!(
                    region = %self.region,
                    "the endpoint does not implement DescribeEventConfigurations: registry event \
                     configurations are not compared"
                );
                snap.unlisted.insert(Kind::EventConfigurations);
            }
        }
        for g in std::mem::take(&mut rel.billing_groups) {
            snap.billing_groups.insert(g.billing_group_name.clone(), g);
        }
        for g in std::mem::take(&mut rel.thing_groups) {
            snap.thing_groups.insert(g.thing_group_name.clone(), g);
        }
        let mut cert_policies: HashMap<Name, NameSet> = HashMap::new();
        for (name, policy, targets) in policies {
            for target in targets {
                if let Some(id) = arn::certificate_id(&target) {
                    cert_policies
                        .entry(id.into())
                        .or_default()
                        .insert(name.clone());
                } else if let Some(g) = arn::thing_group_name(&target) {
                    if let Some(group) = snap.thing_groups.get_mut(g) {
                        group.policies.insert(name.clone());
                    }
                } else {
                    // Cognito identities and other principals: not modelled.
                    tracing::debug!(policy = %name, %target, "ignoring policy target");
                }
            }
            if let Some(p) = policy {
                snap.policies.insert(name, p);
            }
        }
        for mut c in certs {
            c.policies = cert_policies.remove(&c.certificate_id).unwrap_or_default();
            snap.certificates.insert(c.certificate_id.clone(), c);
        }
        for mut t in things {
            rel.complete(&mut t);
            t.principals = principals.remove(&t.thing_name).unwrap_or_default();
            snap.things.insert(t.thing_name.clone(), t);
        }
        for t in std::mem::take(&mut rel.kept) {
            snap.things.insert(t.thing_name.clone(), t);
        }
        Ok(snap)
    }

    /// The things the filter selects (one ListThings page per 250 things, nothing per
    /// thing), without their relations; progress is reported per page.
    async fn list_things(&self, req: &ReadRequest) -> Result<Vec<Thing>> {
        let mut things: Vec<Thing> = Vec::new();
        paginate!(
            self,
            "ListThings",
            self.client.list_things().max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                let before = things.len();
                for t in out.things() {
                    let Some(name) = t.thing_name() else { continue };
                    if let Some(a) = t.thing_arn() {
                        self.note_arn(a);
                    }
                    if !req.filter.matches(Kind::Thing, name) {
                        continue;
                    }
                    things.push(Thing {
                        thing_name: name.into(),
                        thing_type_name: t
                            .thing_type_name()
                            .filter(|s| !s.is_empty())
                            .map(Name::from),
                        attributes: string_map(t.attributes()),
                        thing_groups: NameSet::new(),
                        billing_group_name: None,
                        principals: NameSet::new(),
                        version: Some(t.version()),
                    });
                }
                req.report(Kind::Thing, (things.len() - before) as u64);
            }
        );
        Ok(things)
    }

    /// One page of the keys of `kind`: one list call (ListThingTypes, ListBillingGroups,
    /// ListThingGroups, ListPolicies, ListCertificates, ListThings) with the page token
    /// as cursor.
    pub(crate) async fn key_page(
        &self,
        kind: Kind,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<iot_crr_registry::KeyPage> {
        let size = limit.clamp(1, iot_crr_registry::MAX_KEY_PAGE) as i32;
        let token = cursor.map(str::to_string);
        let key = |name: &str| ResourceKey::new(kind, name);
        let names = |it: &mut dyn Iterator<Item = Option<&str>>| -> Vec<ResourceKey> {
            it.flatten().map(key).collect()
        };
        Ok(match kind {
            Kind::ThingType => {
                let out = self
                    .call("ListThingTypes", || {
                        self.client
                            .list_thing_types()
                            .max_results(size)
                            .set_next_token(token.clone())
                            .send()
                    })
                    .await?;
                page(
                    names(&mut out.thing_types().iter().map(|t| t.thing_type_name())),
                    out.next_token(),
                )
            }
            Kind::BillingGroup => self.billing_group_keys(token, size).await?,
            Kind::RoleAlias => self.role_alias_keys(token, size).await?,
            Kind::CaCertificate => self.ca_certificate_keys(token, size).await?,
            Kind::Authorizer => self.authorizer_keys(token, size).await?,
            Kind::TopicRule => self.topic_rule_keys(token, size).await?,
            Kind::TopicRuleDestination => self.topic_rule_destination_keys(token, size).await?,
            Kind::ProvisioningTemplate => self.provisioning_template_keys(token, size).await?,
            Kind::DomainConfiguration => self.domain_configuration_keys(token, size).await?,
            // One resource each, under a known name: nothing to list.
            Kind::IndexingConfiguration | Kind::EventConfigurations => {
                let first = token.is_none();
                page(
                    first
                        .then(|| ResourceKey::new(kind, iot_crr_model::kinds::SINGLETON))
                        .into_iter()
                        .collect(),
                    None,
                )
            }
            Kind::ThingGroup => {
                let out = self
                    .call("ListThingGroups", || {
                        self.client
                            .list_thing_groups()
                            .max_results(size)
                            .set_next_token(token.clone())
                            .send()
                    })
                    .await?;
                for g in out.thing_groups() {
                    if let Some(a) = g.group_arn() {
                        self.note_arn(a);
                    }
                }
                page(
                    names(&mut out.thing_groups().iter().map(|g| g.group_name())),
                    out.next_token(),
                )
            }
            Kind::Policy => {
                let out = self
                    .call("ListPolicies", || {
                        self.client
                            .list_policies()
                            .page_size(size)
                            .set_marker(token.clone())
                            .send()
                    })
                    .await?;
                page(
                    names(&mut out.policies().iter().map(|p| p.policy_name())),
                    out.next_marker(),
                )
            }
            Kind::Certificate => {
                let out = self
                    .call("ListCertificates", || {
                        self.client
                            .list_certificates()
                            .page_size(size)
                            .set_marker(token.clone())
                            .send()
                    })
                    .await?;
                for c in out.certificates() {
                    if let Some(a) = c.certificate_arn() {
                        self.note_arn(a);
                    }
                }
                page(
                    names(&mut out.certificates().iter().map(|c| c.certificate_id())),
                    out.next_marker(),
                )
            }
            Kind::Thing => {
                let out = self
                    .call("ListThings", || {
                        self.client
                            .list_things()
                            .max_results(size)
                            .set_next_token(token.clone())
                            .send()
                    })
                    .await?;
                for t in out.things() {
                    if let Some(a) = t.thing_arn() {
                        self.note_arn(a);
                    }
                }
                page(
                    names(&mut out.things().iter().map(|t| t.thing_name())),
                    out.next_token(),
                )
            }
        })
    }

    /// Every certificate's id, ARN and status (ListCertificates pages).
    async fn list_certificates(&self) -> Result<Vec<(Name, String, CertificateStatus)>> {
        let mut list: Vec<(Name, String, CertificateStatus)> = Vec::new();
        paginate!(
            self,
            "ListCertificates",
            self.client.list_certificates().page_size(PAGE),
            set_marker,
            next_marker,
            |out| {
                for c in out.certificates() {
                    if let (Some(id), Some(a)) = (c.certificate_id(), c.certificate_arn()) {
                        self.note_arn(a);
                        list.push((id.into(), a.to_string(), status_from(c.status())));
                    }
                }
            }
        );
        Ok(list)
    }

    /// The principals of `things`, by thing name.
    ///
    /// Per thing (ListThingPrincipals) costs one call per selected thing; per
    /// certificate (`by_cert`, ListPrincipalThings) one call per certificate; the
    /// caller takes the cheaper one when the certificate list is at hand anyway. Per
    /// certificate sees certificate principals only: a thing's Cognito or IAM
    /// principals are then not read, and the snapshot says so
    /// ([`PrincipalCoverage::CertificatesOnly`]), so that a comparison leaves them
    /// alone rather than detach them.
    async fn principals_of(
        &self,
        things: &[Thing],
        cert_list: &[(Name, String, CertificateStatus)],
        by_cert: bool,
    ) -> Result<HashMap<Name, NameSet>> {
        let mut principals: HashMap<Name, NameSet> = HashMap::new();
        if by_cert {
            let found = self
                .each(cert_list.to_vec(), |(id, cert_arn, _)| async move {
                    Ok((id, self.principal_things(&cert_arn).await?))
                })
                .await?;
            for (id, names) in found {
                for n in names {
                    principals
                        .entry(Name::from(n))
                        .or_default()
                        .insert(cert_principal(&id));
                }
            }
        } else {
            let names: Vec<Name> = things.iter().map(|t| t.thing_name.clone()).collect();
            let found = self
                .each(names, |name| async move {
                    let p = self.thing_principals(&name).await?;
                    Ok((name, p))
                })
                .await?;
            principals.extend(found);
        }
        Ok(principals)
    }

    /// The principals of `things` read per thing (`ListThingPrincipals`), each page of
    /// [`PAGE`] things sent to `pages` as soon as its principals are in (in the order
    /// the calls finish), so that a caller can use the first things while the last are
    /// read.
    async fn principals_in_pages(
        &self,
        things: Vec<Thing>,
        pages: &tokio::sync::mpsc::UnboundedSender<Vec<Thing>>,
    ) -> Result<()> {
        let page_len = PAGE as usize;
        let mut read = stream::iter(things)
            .map(|mut t| async move {
                t.principals = self.thing_principals(&t.thing_name).await?;
                Ok::<_, RegistryError>(t)
            })
            .buffer_unordered(self.read_concurrency);
        let mut page = Vec::with_capacity(page_len);
        while let Some(t) = read.try_next().await? {
            page.push(t);
            if page.len() == page_len {
                // The receiver lives as long as the read (`read_all`).
                let _ = pages.send(std::mem::replace(&mut page, Vec::with_capacity(page_len)));
            }
        }
        if !page.is_empty() {
            let _ = pages.send(page);
        }
        Ok(())
    }

    async fn read_thing_types(&self, req: &ReadRequest) -> Result<Vec<ThingType>> {
        let mut found: Vec<(String, ThingType)> = Vec::new();
        paginate!(
            self,
            "ListThingTypes",
            self.client.list_thing_types().max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                for d in out.thing_types() {
                    let Some(name) = d.thing_type_name() else {
                        continue;
                    };
                    let type_arn = d.thing_type_arn().unwrap_or_default().to_string();
                    self.note_arn(&type_arn);
                    if req.filter.matches(Kind::ThingType, name) {
                        found.push((
                            type_arn,
                            thing_type_from(
                                name,
                                d.thing_type_properties(),
                                d.thing_type_metadata(),
                            ),
                        ));
                    }
                }
            }
        );
        self.each(found, |(type_arn, mut t)| async move {
            t.tags = self.tags_of(&type_arn).await?;
            Ok(t)
        })
        .await
    }

    /// Thing groups with their static member things (read only when `members`). Every
    /// group is described when members are wanted, to tell static from dynamic groups
    /// (the members of a dynamic group are not memberships to replicate).
    async fn read_thing_groups(
        &self,
        req: &ReadRequest,
        details: bool,
        members: bool,
    ) -> Result<Vec<(ThingGroup, Vec<Name>)>> {
        let mut list: Vec<(String, String)> = Vec::new();
        paginate!(
            self,
            "ListThingGroups",
            self.client.list_thing_groups().max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                for g in out.thing_groups() {
                    if let (Some(n), Some(a)) = (g.group_name(), g.group_arn()) {
                        self.note_arn(a);
                        list.push((n.to_string(), a.to_string()));
                    }
                }
            }
        );
        let found = self
            .each(list, |(name, group_arn)| async move {
                let selected = details && req.filter.matches(Kind::ThingGroup, &name);
                if !selected && !members {
                    return Ok(None);
                }
                let Some(mut group) = self.describe_thing_group(&name).await? else {
                    // Deleted between the list and the describe.
                    return Ok(None);
                };
                if selected {
                    group.tags = self.tags_of(&group_arn).await?;
                }
                let mut things = Vec::new();
                if members && !group.is_dynamic() {
                    // Non-recursive: direct members only (moto ignores recursive=true
                    // anyway and returns nothing for it).
                    paginate!(
                        self,
                        "ListThingsInThingGroup",
                        self.client
                            .list_things_in_thing_group()
                            .thing_group_name(&name)
                            .recursive(false)
                            .max_results(PAGE),
                        set_next_token,
                        next_token,
                        |out| {
                            things.extend(out.things().iter().map(|s| Name::from(s.as_str())));
                        }
                    );
                }
                Ok(Some((group, things)))
            })
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Policies (with every version when `details` selects them) and their targets
    /// (when `targets`).
    #[allow(clippy::type_complexity)]
    async fn read_policies(
        &self,
        req: &ReadRequest,
        details: bool,
        targets: bool,
    ) -> Result<Vec<(Name, Option<Policy>, Vec<String>)>> {
        let mut list: Vec<(String, String)> = Vec::new();
        paginate!(
            self,
            "ListPolicies",
            self.client.list_policies().page_size(PAGE),
            set_marker,
            next_marker,
            |out| {
                for p in out.policies() {
                    if let (Some(n), Some(a)) = (p.policy_name(), p.policy_arn()) {
                        self.note_arn(a);
                        list.push((n.to_string(), a.to_string()));
                    }
                }
            }
        );
        self.each(list, |(name, policy_arn)| async move {
            let policy = if details && req.filter.matches(Kind::Policy, &name) {
                match self.policy_versions(&name).await? {
                    Some(mut p) => {
                        p.tags = self.tags_of(&policy_arn).await?;
                        Some(p)
                    }
                    None => None,
                }
            } else {
                None
            };
            let mut t = Vec::new();
            if targets {
                match self.policy_targets(&name).await {
                    Ok(found) => t = found,
                    Err(e) if e.class == ErrorClass::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok((Name::from(name.as_str()), policy, t))
        })
        .await
    }

    async fn policy_targets(&self, name: &str) -> Result<Vec<String>> {
        let mut t = Vec::new();
        paginate!(
            self,
            "ListTargetsForPolicy",
            self.client
                .list_targets_for_policy()
                .policy_name(name)
                .page_size(PAGE),
            set_marker,
            next_marker,
            |out| {
                t.extend(out.targets().iter().cloned());
            }
        );
        Ok(t)
    }

    /// A policy with every version and document (no tags), `None` when it does not
    /// exist. One `ListPolicyVersions` and one `GetPolicyVersion` per version.
    pub(crate) async fn policy_versions(&self, name: &str) -> Result<Option<Policy>> {
        let Some(list) = found(
            self.call("ListPolicyVersions", || {
                self.client.list_policy_versions().policy_name(name).send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let mut ids: Vec<(u64, String, bool)> = list
            .policy_versions()
            .iter()
            .filter_map(|v| {
                let id = v.version_id()?;
                Some((
                    id.parse().unwrap_or(u64::MAX),
                    id.to_string(),
                    v.is_default_version(),
                ))
            })
            .collect();
        ids.sort();
        let mut policy = Policy {
            policy_name: name.into(),
            ..Default::default()
        };
        for (_, id, is_default) in ids {
            let v = match self
                .call("GetPolicyVersion", || {
                    self.client
                        .get_policy_version()
                        .policy_name(name)
                        .policy_version_id(&id)
                        .send()
                })
                .await
            {
                Ok(v) => v,
                // Deleted between the list and the get.
                Err(e) if e.class == ErrorClass::NotFound => continue,
                Err(e) => return Err(e),
            };
            if let Some(a) = v.policy_arn() {
                self.note_arn(a);
            }
            if is_default {
                policy.default_version_id = id.as_str().into();
            }
            policy.versions.push(PolicyVersion {
                version_id: id.as_str().into(),
                policy_document: v.policy_document().unwrap_or_default().to_string(),
            });
        }
        Ok(Some(policy))
    }

    /// A certificate without its policies, `None` when it does not exist.
    pub(crate) async fn describe_certificate(&self, id: &str) -> Result<Option<Certificate>> {
        let Some(out) = found(
            self.call("DescribeCertificate", || {
                self.client.describe_certificate().certificate_id(id).send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let Some(d) = out.certificate_description() else {
            return Ok(None);
        };
        if let Some(a) = d.certificate_arn() {
            self.note_arn(a);
        }
        Ok(Some(Certificate {
            certificate_id: id.into(),
            certificate_pem: d.certificate_pem().unwrap_or_default().to_string(),
            status: status_from(d.status()),
            ca_certificate_id: d
                .ca_certificate_id()
                .filter(|s| !s.is_empty())
                .map(Name::from),
            policies: NameSet::new(),
        }))
    }

    /// A thing group without policies and tags, `None` when it does not exist.
    pub(crate) async fn describe_thing_group(&self, name: &str) -> Result<Option<ThingGroup>> {
        Ok(self.describe_thing_group_arn(name).await?.map(|(g, _)| g))
    }

    /// A thing group (without policies and tags) and its ARN.
    pub(crate) async fn describe_thing_group_arn(
        &self,
        name: &str,
    ) -> Result<Option<(ThingGroup, String)>> {
        let Some(d) = found(
            self.call("DescribeThingGroup", || {
                self.client
                    .describe_thing_group()
                    .thing_group_name(name)
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let group_arn = d.thing_group_arn().unwrap_or_default().to_string();
        self.note_arn(&group_arn);
        let props = d.thing_group_properties();
        let group = ThingGroup {
            thing_group_name: name.into(),
            parent_group_name: d
                .thing_group_metadata()
                .and_then(|m| m.parent_group_name())
                .filter(|s| !s.is_empty())
                .map(Name::from),
            thing_group_description: non_empty(props.and_then(|p| p.thing_group_description())),
            attributes: string_map(
                props
                    .and_then(|p| p.attribute_payload())
                    .and_then(|a| a.attributes()),
            ),
            query_string: non_empty(d.query_string()),
            index_name: d
                .query_string()
                .and(d.index_name())
                .filter(|s| !s.is_empty())
                .map(Name::from),
            query_version: d
                .query_string()
                .and(d.query_version())
                .filter(|s| !s.is_empty())
                .map(Name::from),
            policies: NameSet::new(),
            tags: StringMap::new(),
        };
        Ok(Some((group, group_arn)))
    }

    /// The principals of a thing, certificates as `cert/<id>`.
    pub(crate) async fn thing_principals(&self, thing: &str) -> Result<NameSet> {
        let mut set = NameSet::new();
        paginate!(
            self,
            "ListThingPrincipals",
            self.client
                .list_thing_principals()
                .thing_name(thing)
                .max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                for p in out.principals() {
                    self.note_arn(p);
                    set.insert(principal_from_arn(p));
                }
            }
        );
        Ok(set)
    }

    /// Names of the policies attached to a target ARN (a certificate or thing group).
    async fn attached_policies(&self, target: &str) -> Result<NameSet> {
        let mut set = NameSet::new();
        paginate!(
            self,
            "ListAttachedPolicies",
            self.client
                .list_attached_policies()
                .target(target)
                .recursive(false)
                .page_size(PAGE),
            set_marker,
            next_marker,
            |out| {
                for p in out.policies() {
                    if let Some(n) = p.policy_name() {
                        set.insert(n);
                    }
                }
            }
        );
        Ok(set)
    }

    pub(crate) async fn read_thing_type(&self, name: &str) -> Result<Option<Resource>> {
        let Some(d) = found(
            self.call("DescribeThingType", || {
                self.client
                    .describe_thing_type()
                    .thing_type_name(name)
                    .send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let mut t = thing_type_from(name, d.thing_type_properties(), d.thing_type_metadata());
        if let Some(a) = d.thing_type_arn() {
            self.note_arn(a);
            t.tags = self.tags_of(a).await?;
        }
        Ok(Some(Resource::ThingType(t)))
    }

    pub(crate) async fn read_thing_group(&self, name: &str) -> Result<Option<Resource>> {
        let Some((mut g, group_arn)) = self.describe_thing_group_arn(name).await? else {
            return Ok(None);
        };
        g.policies = self.attached_policies(&group_arn).await?;
        g.tags = self.tags_of(&group_arn).await?;
        Ok(Some(Resource::ThingGroup(g)))
    }

    pub(crate) async fn read_policy(&self, name: &str) -> Result<Option<Resource>> {
        let Some(mut p) = self.policy_versions(name).await? else {
            return Ok(None);
        };
        if self.tags_enabled()
            && let Some(b) = self.arns()
        {
            p.tags = self.tags_of(&b.arn(Kind::Policy, name)).await?;
        }
        Ok(Some(Resource::Policy(p)))
    }

    pub(crate) async fn read_certificate(&self, id: &str) -> Result<Option<Resource>> {
        let Some(mut c) = self.describe_certificate(id).await? else {
            return Ok(None);
        };
        if let Some(b) = self.arns() {
            c.policies = self
                .attached_policies(&b.arn(Kind::Certificate, id))
                .await?;
        }
        Ok(Some(Resource::Certificate(c)))
    }

    pub(crate) async fn read_thing(&self, name: &str) -> Result<Option<Resource>> {
        let Some(d) = found(
            self.call("DescribeThing", || {
                self.client.describe_thing().thing_name(name).send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        if let Some(a) = d.thing_arn() {
            self.note_arn(a);
        }
        let mut group_names: Vec<String> = Vec::new();
        paginate!(
            self,
            "ListThingGroupsForThing",
            self.client
                .list_thing_groups_for_thing()
                .thing_name(name)
                .max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                group_names.extend(
                    out.thing_groups()
                        .iter()
                        .filter_map(|g| g.group_name().map(str::to_string)),
                );
            }
        );
        // ListThingGroupsForThing also names dynamic groups; keep the static ones.
        let groups = self
            .each(group_names, |g| async move {
                Ok(self
                    .describe_thing_group(&g)
                    .await?
                    .filter(|d| !d.is_dynamic())
                    .map(|d| d.thing_group_name))
            })
            .await?;
        Ok(Some(Resource::Thing(Thing {
            thing_name: name.into(),
            thing_type_name: d
                .thing_type_name()
                .filter(|s| !s.is_empty())
                .map(Name::from),
            attributes: string_map(d.attributes()),
            thing_groups: groups.into_iter().flatten().collect(),
            billing_group_name: d
                .billing_group_name()
                .filter(|s| !s.is_empty())
                .map(Name::from),
            principals: self.thing_principals(name).await?,
            version: Some(d.version()),
        })))
    }

    /// Answers a [`Related`] question with the list call AWS has for it (every page),
    /// sorted. A subject that does not exist has no related resources.
    ///
    /// - child groups: `ListThingGroups` with `parentGroup` and `recursive=false`;
    /// - things with a principal: `ListPrincipalThings` (`cert/<id>` is the certificate's
    ///   ARN in this region, any other principal is used as given);
    /// - things of a type: `ListThings` with `thingTypeName`;
    /// - policy targets: `ListTargetsForPolicy` (certificates and thing groups; other
    ///   targets, such as Cognito identities, are not modelled and left out);
    /// - group members: `DescribeThingGroup`, then for a static group
    ///   `ListThingsInThingGroup` with `recursive=false` (a dynamic group's members
    ///   follow its query: they are not memberships, so it has none here, as in a
    ///   snapshot).
    pub(crate) async fn related_keys(&self, query: &Related) -> Result<Vec<ResourceKey>> {
        let r = match query {
            Related::ChildGroups(g) => self.child_groups(g).await,
            Related::ThingsWithPrincipal(p) => self.things_with_principal(p).await,
            Related::ThingsOfType(t) => self.things_of_type(t).await,
            Related::PolicyTargets(p) => self.policy_target_keys(p).await,
            Related::GroupMembers(g) => self.group_members(g).await,
        };
        let mut keys = match r {
            Ok(keys) => keys,
            Err(e) if e.class == ErrorClass::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    async fn child_groups(&self, parent: &str) -> Result<Vec<ResourceKey>> {
        let mut keys = Vec::new();
        paginate!(
            self,
            "ListThingGroups",
            self.client
                .list_thing_groups()
                .parent_group(parent)
                .recursive(false)
                .max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                for g in out.thing_groups() {
                    if let Some(a) = g.group_arn() {
                        self.note_arn(a);
                    }
                    if let Some(n) = g.group_name() {
                        keys.push(ResourceKey::new(Kind::ThingGroup, n));
                    }
                }
            }
        );
        Ok(keys)
    }

    async fn things_with_principal(&self, principal: &str) -> Result<Vec<ResourceKey>> {
        let principal_arn = match principal_certificate_id(principal) {
            // NotFound when the certificate does not exist (no account known yet).
            Some(id) => self.arn_of(Kind::Certificate, id).await?,
            None => principal.to_string(),
        };
        Ok(self
            .principal_things(&principal_arn)
            .await?
            .into_iter()
            .map(|t| ResourceKey::new(Kind::Thing, t))
            .collect())
    }

    /// The names of the things a principal (by ARN) is attached to
    /// (`ListPrincipalThings` pages).
    async fn principal_things(&self, principal_arn: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        paginate!(
            self,
            "ListPrincipalThings",
            self.client
                .list_principal_things()
                .principal(principal_arn)
                .max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                names.extend(out.things().iter().cloned());
            }
        );
        Ok(names)
    }

    async fn things_of_type(&self, thing_type: &str) -> Result<Vec<ResourceKey>> {
        let mut keys = Vec::new();
        paginate!(
            self,
            "ListThings",
            self.client
                .list_things()
                .thing_type_name(thing_type)
                .max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                for t in out.things() {
                    if let Some(a) = t.thing_arn() {
                        self.note_arn(a);
                    }
                    if let Some(n) = t.thing_name() {
                        keys.push(ResourceKey::new(Kind::Thing, n));
                    }
                }
            }
        );
        Ok(keys)
    }

    async fn policy_target_keys(&self, policy: &str) -> Result<Vec<ResourceKey>> {
        let targets = self.policy_targets(policy).await?;
        Ok(targets
            .iter()
            .filter_map(|t| {
                self.note_arn(t);
                if let Some(id) = arn::certificate_id(t) {
                    Some(ResourceKey::new(Kind::Certificate, id))
                } else if let Some(g) = arn::thing_group_name(t) {
                    Some(ResourceKey::new(Kind::ThingGroup, g))
                } else {
                    tracing::debug!(policy, target = %t, "ignoring policy target");
                    None
                }
            })
            .collect())
    }

    async fn group_members(&self, group: &str) -> Result<Vec<ResourceKey>> {
        match self.describe_thing_group(group).await? {
            Some(g) if !g.is_dynamic() => {}
            _ => return Ok(Vec::new()),
        }
        let mut keys = Vec::new();
        paginate!(
            self,
            "ListThingsInThingGroup",
            self.client
                .list_things_in_thing_group()
                .thing_group_name(group)
                .recursive(false)
                .max_results(PAGE),
            set_next_token,
            next_token,
            |out| {
                keys.extend(
                    out.things()
                        .iter()
                        .map(|t| ResourceKey::new(Kind::Thing, t.as_str())),
                );
            }
        );
        Ok(keys)
    }
}
