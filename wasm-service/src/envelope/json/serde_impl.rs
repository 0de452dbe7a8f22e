//! serde support for [`Json`] and conversions to and from `serde_json::Value`, for native callers
//! (the gateway, the MCP tools). The module itself never instantiates any of this, so it costs the
//! wasm build nothing.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use super::Json;

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Number(n) => {
                if let Ok(u) = n.parse::<u64>() {
                    s.serialize_u64(u)
                } else if let Ok(i) = n.parse::<i64>() {
                    s.serialize_i64(i)
                } else {
                    s.serialize_f64(n.parse().unwrap_or(f64::NAN))
                }
            }
            Json::String(text) => s.serialize_str(text),
            Json::Array(items) => s.collect_seq(items),
            Json::Object(fields) => s.collect_map(fields.iter().map(|(k, v)| (k, v))),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        // Debug gives the shortest text that reads back as the same f64 (`0.1`, `1e300`).
        Ok(if v.is_finite() {
            Json::Number(format!("{v:?}"))
        } else {
            Json::Null
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Json, E> {
        Ok(Json::from(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            fields.push(entry);
        }
        Ok(Json::Object(fields))
    }
}

impl From<serde_json::Value> for Json {
    fn from(value: serde_json::Value) -> Self {
        use serde_json::Value as V;
        match value {
            V::Null => Json::Null,
            V::Bool(b) => Json::Bool(b),
            V::Number(n) => Json::Number(n.to_string()),
            V::String(s) => Json::String(s),
            V::Array(items) => Json::Array(items.into_iter().map(Json::from).collect()),
            V::Object(map) => Json::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

impl From<Json> for serde_json::Value {
    fn from(value: Json) -> Self {
        use serde_json::Value as V;
        match value {
            Json::Null => V::Null,
            Json::Bool(b) => V::Bool(b),
            // The text is valid JSON number syntax; serde_json only refuses what f64 cannot hold.
            Json::Number(n) => n.parse::<serde_json::Number>().map_or(V::Null, V::Number),
            Json::String(s) => V::String(s),
            Json::Array(items) => V::Array(items.into_iter().map(V::from).collect()),
            Json::Object(fields) => {
                V::Object(fields.into_iter().map(|(k, v)| (k, v.into())).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_matches_the_text_form() {
        let v = Json::parse(br#"{"a":[1,2.5,"x",null,{"b":false}]}"#).unwrap();
        let via_serde: Json = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(via_serde, v);
    }
}
