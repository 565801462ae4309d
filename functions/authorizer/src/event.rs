//! The authorizer event, parsed straight from the event bytes into the few
//! fields the decision needs: no intermediate JSON tree, no full typed
//! event. Parsing never fails on a value of the wrong type: a field of the
//! wrong type reads as absent and a payload that is not an object as an
//! empty event, so an odd event is a deny, never an invocation error (whose
//! message could quote the event).

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// Which kind of authorizer event arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// HTTP API, payload 2.0, `REQUEST`.
    HttpApiV2,
    /// REST API `TOKEN`: the token in `authorizationToken`.
    RestToken,
    /// REST API `REQUEST`: the token in the `Authorization` header.
    RestRequest,
}

/// Visitor methods that read any value but a map as the default.
macro_rules! anything_but_a_map_is_default {
    () => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// An authorizer event: the fields of an object, or nothing.
#[derive(Debug, Default)]
pub struct AuthorizerEvent(Fields);

impl<'de> Deserialize<'de> for AuthorizerEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor;
        impl<'de> Visitor<'de> for EventVisitor {
            type Value = AuthorizerEvent;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an authorizer event")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let map = serde::de::value::MapAccessDeserializer::new(map);
                Fields::deserialize(map).map(AuthorizerEvent)
            }
            anything_but_a_map_is_default!();
        }
        deserializer.deserialize_any(EventVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    #[serde(default, deserialize_with = "lenient")]
    version: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    method_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    authorization_token: Option<String>,
    #[serde(default)]
    headers: AuthorizationHeader,
    /// API Gateway always sends it with `REQUEST` events; one without it
    /// did not come from API Gateway.
    #[serde(default, deserialize_with = "present")]
    request_context: bool,
}

impl AuthorizerEvent {
    pub fn kind(&self) -> Option<Kind> {
        self.0.kind()
    }

    pub fn method_arn(&self) -> Option<&str> {
        self.0.method_arn.as_deref()
    }

    pub fn authorization_token(&self) -> Option<&str> {
        self.0.authorization_token.as_deref()
    }

    /// The one `Authorization` header (any case). None, or two of them:
    /// no usable credential.
    pub fn authorization_header(&self) -> Result<&str, tokengate::ApiError> {
        self.0.authorization_header()
    }
}

impl Fields {
    fn kind(&self) -> Option<Kind> {
        let has_method_arn = self.method_arn.is_some();
        match (self.version.as_deref(), self.kind.as_deref()) {
            (Some("2.0"), Some("REQUEST")) if self.request_context => Some(Kind::HttpApiV2),
            (_, Some("TOKEN")) if has_method_arn => Some(Kind::RestToken),
            (_, Some("REQUEST")) if has_method_arn && self.request_context => {
                Some(Kind::RestRequest)
            }
            _ => None,
        }
    }

    fn authorization_header(&self) -> Result<&str, tokengate::ApiError> {
        match &self.headers {
            AuthorizationHeader {
                value: Some(value),
                repeated: false,
            } => Ok(value),
            AuthorizationHeader { repeated: true, .. } => {
                let why = tokengate::rules::Rejection::Token("repeated Authorization header");
                Err(tokengate::AuthError::invalid_token(why).into())
            }
            _ => Err(tokengate::ApiError::MissingToken),
        }
    }
}

/// Whether the field is there at all (its value is skipped, not kept).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// A string, or `None` for a value of any other type.
struct Lenient(Option<String>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient(deserializer).map(Lenient)
    }
}

fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// Only the `Authorization` header of the `headers` map; every other header
/// is skipped without being kept.
#[derive(Debug, Default)]
struct AuthorizationHeader {
    value: Option<String>,
    repeated: bool,
}

impl<'de> Deserialize<'de> for AuthorizationHeader {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;
        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = AuthorizationHeader;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of headers")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut header = AuthorizationHeader::default();
                while let Some(IsAuthorization(wanted)) = map.next_key()? {
                    if wanted {
                        let Lenient(value) = map.next_value()?;
                        header.repeated |= header.value.is_some();
                        header.value = value.or(header.value);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(header)
            }
            anything_but_a_map_is_default!();
        }
        deserializer.deserialize_any(HeadersVisitor)
    }
}

/// Whether a header name is `Authorization`, read without copying it.
struct IsAuthorization(bool);

impl<'de> Deserialize<'de> for IsAuthorization {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = IsAuthorization;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a header name")
            }
            fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
                Ok(IsAuthorization(name.eq_ignore_ascii_case("authorization")))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(event: Value) -> AuthorizerEvent {
        serde_json::from_slice(event.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn kinds_and_tokens() {
        let v2 = parse(
            json!({"version": "2.0", "type": "REQUEST", "headers": {"authorization": "Bearer a", "x": "y"}, "requestContext": {}}),
        );
        assert_eq!(v2.kind(), Some(Kind::HttpApiV2));
        assert_eq!(v2.authorization_header().unwrap(), "Bearer a");
        let token =
            parse(json!({"type": "TOKEN", "methodArn": "arn", "authorizationToken": "Bearer b"}));
        assert_eq!(token.kind(), Some(Kind::RestToken));
        assert_eq!(token.authorization_token(), Some("Bearer b"));
        let request = parse(
            json!({"type": "REQUEST", "methodArn": "arn", "headers": {"Authorization": "Bearer c"}, "requestContext": {}}),
        );
        assert_eq!(request.kind(), Some(Kind::RestRequest));
        assert_eq!(request.authorization_header().unwrap(), "Bearer c");
        assert_eq!(
            parse(json!({"type": "TOKEN"})).kind(),
            None,
            "no method ARN"
        );
        assert_eq!(parse(json!({})).kind(), None);
        let no_context = parse(json!({"version": "2.0", "type": "REQUEST", "headers": {}}));
        assert_eq!(no_context.kind(), None, "not from API Gateway");
    }

    #[test]
    fn odd_values_read_as_absent_and_two_headers_as_none() {
        let odd = parse(json!({"version": 2, "type": ["REQUEST"], "headers": null}));
        assert_eq!(odd.kind(), None);
        assert!(matches!(
            odd.authorization_header(),
            Err(tokengate::ApiError::MissingToken)
        ));
        let odd =
            parse(json!({"version": "2.0", "type": "REQUEST", "headers": {"authorization": 5}}));
        assert!(matches!(
            odd.authorization_header(),
            Err(tokengate::ApiError::MissingToken)
        ));
        let twice = parse(
            json!({"version": "2.0", "type": "REQUEST", "headers": {"authorization": "Bearer a", "Authorization": "Bearer b"}}),
        );
        assert_eq!(
            twice.authorization_header().unwrap_err().code(),
            "invalid_token"
        );
    }
}
