//! [`KindSpec`] for the kinds whose changes, diff and reference semantics still live in
//! the shared files (`plan.rs`, `diff.rs`, `apply.rs`); each moves into a module of its
//! own as billing groups did.

use std::collections::BTreeMap;

use crate::collections::StringMap;
use crate::constraints::{self, Violation};
use crate::kinds::KindSpec;
use crate::resource::{
    Certificate, Kind, Name, Policy, Resource, ResourceRef, Thing, ThingGroup, ThingType,
};
use crate::snapshot::{Counts, Snapshot};
use crate::view::View;

macro_rules! spec {
    ($ty:ty, $kind:ident, $field:ident, $map:ident, $view:ident, $tag:literal, $noun:literal,
     $plural:literal, $name_field:literal, $arn:literal, taggable: $taggable:tt,
     $(aliases: $aliases:expr,)? check: $check:expr) => {
        impl KindSpec for $ty {
            const KIND: Kind = Kind::$kind;
            const TAG: &'static str = $tag;
            const NOUN: &'static str = $noun;
            const PLURAL: &'static str = $plural;
            const NAME_FIELD: &'static str = $name_field;
            const ARN_TYPE: &'static str = $arn;
            const TAGGABLE: bool = $taggable;
            const ALWAYS_FINGERPRINTED: bool = true;
            const FAST_LINE: bool = matches!(Kind::$kind, Kind::Thing | Kind::Certificate);
            $(const ALIASES: &'static [&'static str] = $aliases;)?

            fn name(&self) -> &Name {
                &self.$field
            }

            fn map(s: &Snapshot) -> &BTreeMap<Name, Self> {
                &s.$map
            }

            fn map_mut(s: &mut Snapshot) -> &mut BTreeMap<Name, Self> {
                &mut s.$map
            }

            fn tags_mut(&mut self) -> Option<&mut StringMap> {
                tags_of!($taggable, self)
            }

            fn count(c: &Counts) -> usize {
                c.$map
            }

            fn count_mut(c: &mut Counts) -> &mut usize {
                &mut c.$map
            }

            fn into_resource(self) -> Resource {
                Resource::$kind(self)
            }

            fn as_resource(&self) -> ResourceRef<'_> {
                ResourceRef::$kind(self)
            }

            fn in_view<'v, V: View + ?Sized>(v: &'v V, name: &str) -> Option<&'v Self> {
                v.$view(name)
            }

            fn check(&self) -> Result<(), Violation> {
                ($check)(self)
            }
        }
    };
}

macro_rules! tags_of {
    (true, $s:ident) => {
        Some(&mut $s.tags)
    };
    (false, $s:ident) => {
        None
    };
}

spec!(ThingType, ThingType, thing_type_name, thing_types, thing_type, "thingType", "thing type",
    "thing types", "thingTypeName", "thingtype", taggable: true, check: constraints::thing_type);
spec!(ThingGroup, ThingGroup, thing_group_name, thing_groups, thing_group, "thingGroup", "thing group",
    "thing groups", "thingGroupName", "thinggroup", taggable: true,
    aliases: &["group"], check: constraints::thing_group);
spec!(Policy, Policy, policy_name, policies, policy, "policy", "policy", "policies", "policyName",
    "policy", taggable: true, aliases: &["policie"], check: constraints::policy);
spec!(Certificate, Certificate, certificate_id, certificates, certificate, "certificate", "certificate",
    "certificates", "certificateId", "cert", taggable: false,
    aliases: &["cert"], check: |c| constraints::certificate(c, true));
spec!(Thing, Thing, thing_name, things, thing, "thing", "thing", "things", "thingName", "thing",
    taggable: false, check: constraints::thing);
