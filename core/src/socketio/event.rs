//! An EVENT's data array: its name and raw arguments, read without building a JSON tree and
//! written without a serialiser.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::json::{json_string_len, push_json_string};
use super::packet::{json_error, DecodeError, EVENT_SHAPE};

/// Event name and arguments of an EVENT's data array, found without building a JSON tree
/// (serde_json `RawValue`), so the relay can route on the name and forward the arguments as
/// they came.
///
/// # Errors
/// [`DecodeError::NotUtf8`], [`DecodeError::InvalidJson`], or [`DecodeError::InvalidData`] when
/// `data` is not a non-empty array whose first element is a string.
pub fn split_event(data: &[u8]) -> Result<(String, Vec<&RawValue>), DecodeError> {
    let text = std::str::from_utf8(data).map_err(|_| DecodeError::NotUtf8)?;
    let EventParts { name, args } =
        serde_json::from_str(text).map_err(|e| json_error(e, EVENT_SHAPE))?;
    Ok((name, args))
}

/// Builds the JSON data array `["name",arg1,arg2,…]` from a name and raw JSON args (each already
/// valid JSON) with one allocation, so the relay emits events without a serialiser.
///
/// The name is escaped as a JSON string; the args are copied verbatim.
pub fn event_data(name: &str, args: &[&[u8]]) -> Bytes {
    let len = 2 + json_string_len(name) + args.iter().map(|a| a.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.push(b'[');
    push_json_string(&mut out, name);
    for arg in args {
        out.push(b',');
        out.extend_from_slice(arg);
    }
    out.push(b']');
    Bytes::from(out)
}

/// Accepts an EVENT data array without allocating: non-empty, first element a string.
pub(super) struct EventShape;

impl<'de> Deserialize<'de> for EventShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(EventShape)
    }
}

impl<'de> Visitor<'de> for EventShape {
    type Value = EventShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EVENT_SHAPE)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if seq.next_element::<EventNameShape>()?.is_none() {
            return Err(de::Error::invalid_length(0, &self));
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EventShape)
    }
}

/// Accepts any JSON string without copying it.
struct EventNameShape;

impl<'de> Deserialize<'de> for EventNameShape {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(EventNameShape)
    }
}

impl<'de> Visitor<'de> for EventNameShape {
    type Value = EventNameShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event name string")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(EventNameShape)
    }
}

/// The name and raw arguments of an EVENT data array.
struct EventParts<'a> {
    name: String,
    args: Vec<&'a RawValue>,
}

impl<'de> Deserialize<'de> for EventParts<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(EventPartsVisitor)
    }
}

struct EventPartsVisitor;

impl<'de> Visitor<'de> for EventPartsVisitor {
    type Value = EventParts<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EVENT_SHAPE)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(name) = seq.next_element::<String>()? else {
            return Err(de::Error::invalid_length(0, &self));
        };
        let mut args = Vec::new();
        while let Some(arg) = seq.next_element::<&'de RawValue>()? {
            args.push(arg);
        }
        Ok(EventParts { name, args })
    }
}
