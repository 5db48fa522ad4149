//! JSON bodies carried whole through the SDK client, for the operations whose typed
//! shapes would lose what they do not know.
//!
//! A topic rule's actions are a union of some two dozen action types that grows with
//! AWS IoT; the SDK's typed `Action` keeps only the members of the model it was built
//! from and drops the rest without a word. So the topic rule calls go through the SDK
//! client (endpoint, credentials, signing, retries and all) with two interceptors: one
//! that sends a JSON body exactly as given ([`SendBody`], installed before signing, so
//! the signature covers it), and one that keeps the response body as received
//! ([`KeepBody`]), which the caller parses instead of the typed output.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

/// Replaces the request body by the given bytes (and its `Content-Length`).
#[derive(Debug, Clone)]
pub(crate) struct SendBody(pub(crate) Arc<Vec<u8>>);

impl Intercept for SendBody {
    fn name(&self) -> &'static str {
        "iot-crr-send-body"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        *request.body_mut() = SdkBody::from(self.0.as_slice().to_vec());
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        request
            .headers_mut()
            .insert("content-type", "application/json");
        Ok(())
    }
}

/// Keeps the body of the response, once deserialised, for the caller to read.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeepBody(Arc<Mutex<Option<Vec<u8>>>>);

impl KeepBody {
    /// The body kept from the last response, parsed as JSON.
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        let kept = self.0.lock().ok()?.take()?;
        serde_json::from_slice(&kept).ok()
    }
}

impl Intercept for KeepBody {
    fn name(&self) -> &'static str {
        "iot-crr-keep-body"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut slot) = self.0.lock()
        {
            *slot = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// `key=value&...` as the `x-amz-tagging` header carries tags (`CreateTopicRule`'s
/// `tags`), each part percent-encoded.
pub(crate) fn tagging_header<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    fn enc(out: &mut String, s: &str) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in tags.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(&mut out, k);
        out.push('=');
        enc(&mut out, v);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tags_are_percent_encoded() {
        assert_eq!(
            super::tagging_header([("team", "ops & data"), ("cost=centre", "é")]),
            "team=ops%20%26%20data&cost%3Dcentre=%C3%A9"
        );
    }
}
