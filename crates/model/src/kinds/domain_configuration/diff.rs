//! What turns a target's domain configuration into the desired one.

use super::{DomainConfiguration, DomainConfigurationChange};
use crate::diff::{Builder, Ctx, diff_tags, stage};
use crate::kinds::KindSpec;
use crate::plan::Change;
use crate::resource::{Name, ResourceKey};

fn subject(name: &Name) -> String {
    format!("{} {name}", DomainConfiguration::NOUN)
}

/// The changes for one domain configuration: created with its tags and its server
/// certificates mapped for the target, its settings updated, tags set and removed,
/// deleted with `--prune`. A domain, certificate or service type that differs is
/// reported: AWS IoT cannot change them in place.
pub(crate) fn diff(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    name: &Name,
    d: Option<&DomainConfiguration>,
    a: Option<&DomainConfiguration>,
) {
    let push = |b: &mut Builder, base, change| b.push(base, 0, Change::DomainConfiguration(change));
    let certificates = |b: &mut Builder, d: &DomainConfiguration| -> Vec<String> {
        d.server_certificate_arns
            .iter()
            .map(|c| b.value_for_target(ctx, &subject(name), c))
            .collect()
    };
    match (d, a) {
        (Some(d), None) => {
            let domain_configuration = DomainConfiguration {
                server_certificate_arns: certificates(b, d),
                tags: b.tags(&d.tags),
                ..d.clone()
            };
            push(
                b,
                stage::DEFINITIONS,
                DomainConfigurationChange::CreateDomainConfiguration {
                    domain_configuration: Box::new(domain_configuration),
                },
            )
        }
        (Some(d), Some(a)) => {
            let certs = certificates(b, d);
            let fixed = [
                ("domainName", d.domain_name != a.domain_name),
                ("serverCertificateArns", certs != a.server_certificate_arns),
                ("serviceType", d.service_type != a.service_type),
            ];
            for (field, differs) in fixed {
                if differs {
                    b.warn(format!(
                        "{} differs in {field}, which AWS IoT cannot change on an existing \
                         configuration: delete it in the target and sync again to re-create it",
                        subject(name)
                    ));
                }
            }
            let settings = d.settings();
            if settings != a.settings() {
                push(
                    b,
                    stage::DEFINITIONS,
                    DomainConfigurationChange::UpdateDomainConfiguration {
                        domain_configuration_name: name.clone(),
                        settings: Box::new(settings),
                    },
                );
            }
            diff_tags(
                b,
                ResourceKey::new(DomainConfiguration::KIND, name.clone()),
                &d.tags,
                &a.tags,
            );
        }
        (None, Some(_)) => {
            if ctx.pruned(DomainConfiguration::KIND, name) {
                // Before authorizers are pruned: a configuration holds on to its own.
                push(
                    b,
                    stage::PRUNE_DETACH,
                    DomainConfigurationChange::DeleteDomainConfiguration {
                        domain_configuration_name: name.clone(),
                    },
                );
            }
        }
        (None, None) => {}
    }
}
