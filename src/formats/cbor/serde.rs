//! The payload data model: typed evidence to and from [`cbor::Value`] directly.
//!
//! The mapping is the one input has (see the module above): text, integers, booleans, arrays and
//! maps with text keys; `None` fields are left out; floats, byte strings, tags and null are not
//! part of it. Serializing and deserializing here gives the same values as going through the
//! JSON data model, without building JSON on the way (the unit tests compare both).

use std::fmt;

use serde::de::{self, IntoDeserializer, Unexpected};
use serde::{Serialize, ser};

use crate::cbor::Value;

/// Why a value has no payload form, or why a payload value does not fit its type.
#[derive(Debug)]
pub struct PayloadError {
    message: String,
    outside_model: bool,
}

impl PayloadError {
    fn new(message: impl Into<String>) -> PayloadError {
        PayloadError {
            message: message.into(),
            outside_model: false,
        }
    }

    /// An item that no evidence value has (null, bytes, a tag, a non-text key, a huge negative
    /// integer), as opposed to a value of the wrong shape for its field.
    fn outside_model(message: impl Into<String>) -> PayloadError {
        PayloadError {
            message: message.into(),
            outside_model: true,
        }
    }

    /// Whether the payload holds an item that no evidence value has.
    pub fn is_outside_model(&self) -> bool {
        self.outside_model
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PayloadError {}

impl ser::Error for PayloadError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PayloadError::new(msg.to_string())
    }
}

impl de::Error for PayloadError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PayloadError::new(msg.to_string())
    }
}

/// Converts a typed value to its payload value (map keys in field order; the encoder sorts them).
///
/// # Errors
/// [`PayloadError`] for a float, an integer beyond 64 bits, or a map key that is not text.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, PayloadError> {
    value.serialize(ValueSerializer)
}

/// A payload value as a serde deserializer; use with `serde_path_to_error` for field paths.
#[derive(Clone, Copy)]
pub struct ValueDeserializer<'de>(pub &'de Value);

fn signed(v: i64) -> Value {
    u64::try_from(v).map_or_else(|_| Value::int(v), Value::Unsigned)
}

struct ValueSerializer;

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = PayloadError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = VariantSeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = VariantMapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, PayloadError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, PayloadError> {
        Ok(signed(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, PayloadError> {
        Ok(signed(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, PayloadError> {
        Ok(signed(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, PayloadError> {
        Ok(signed(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, PayloadError> {
        if let Ok(u) = u64::try_from(v) {
            Ok(Value::Unsigned(u))
        } else if let Ok(i) = i64::try_from(v) {
            Ok(Value::int(i))
        } else {
            Err(PayloadError::new(format!("integer {v} out of range")))
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Value, PayloadError> {
        Ok(Value::Unsigned(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, PayloadError> {
        Ok(Value::Unsigned(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, PayloadError> {
        Ok(Value::Unsigned(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, PayloadError> {
        Ok(Value::Unsigned(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, PayloadError> {
        u64::try_from(v)
            .map(Value::Unsigned)
            .map_err(|_| PayloadError::new(format!("integer {v} out of range")))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, PayloadError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Value, PayloadError> {
        Err(PayloadError::new(format!("floating-point number {v}")))
    }
    fn serialize_char(self, v: char) -> Result<Value, PayloadError> {
        Ok(Value::Text(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, PayloadError> {
        Ok(Value::Text(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, PayloadError> {
        // As JSON has it: an array of small integers.
        Ok(Value::Array(
            v.iter().map(|b| Value::Unsigned((*b).into())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Value, PayloadError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, PayloadError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, PayloadError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, PayloadError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, PayloadError> {
        Ok(Value::text(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, PayloadError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, PayloadError> {
        let mut map = MapBuilder::with_capacity(1);
        map.insert(Value::text(variant), to_value(value)?);
        Ok(Value::Map(map.entries))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, PayloadError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, PayloadError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, PayloadError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSeqBuilder, PayloadError> {
        Ok(VariantSeqBuilder {
            variant,
            items: SeqBuilder(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, PayloadError> {
        Ok(MapBuilder::with_capacity(len.unwrap_or(0)))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, PayloadError> {
        Ok(MapBuilder::with_capacity(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantMapBuilder, PayloadError> {
        Ok(VariantMapBuilder {
            variant,
            fields: MapBuilder::with_capacity(len),
        })
    }
}

/// The items of an array being serialized.
struct SeqBuilder(Vec<Value>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        self.0.push(to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, PayloadError> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, PayloadError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Value, PayloadError> {
        ser::SerializeSeq::end(self)
    }
}

/// A tuple variant being serialized: `{variant: [items]}`.
struct VariantSeqBuilder {
    variant: &'static str,
    items: SeqBuilder,
}

impl ser::SerializeTupleVariant for VariantSeqBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        ser::SerializeSeq::serialize_element(&mut self.items, value)
    }
    fn end(self) -> Result<Value, PayloadError> {
        Ok(Value::Map(vec![(
            Value::text(self.variant),
            Value::Array(self.items.0),
        )]))
    }
}

/// The entries of a map or the fields of a struct being serialized. A null value (a `None`
/// field) leaves its entry out; a key given twice keeps its last value, as in JSON.
struct MapBuilder {
    entries: Vec<(Value, Value)>,
    key: Option<Value>,
}

impl MapBuilder {
    fn with_capacity(n: usize) -> MapBuilder {
        MapBuilder {
            entries: Vec::with_capacity(n),
            key: None,
        }
    }

    fn insert(&mut self, key: Value, value: Value) {
        self.entries.retain(|(k, _)| *k != key);
        if value != Value::Null {
            self.entries.push((key, value));
        }
    }

    /// Struct fields are distinct by construction, so no search for an earlier entry.
    fn push_field(&mut self, key: &'static str, value: Value) {
        if value != Value::Null {
            self.entries.push((Value::text(key), value));
        }
    }
}

/// A map key as JSON writes it: text as is, integers and booleans as their decimal text.
fn map_key(key: Value) -> Result<Value, PayloadError> {
    match key {
        Value::Text(_) => Ok(key),
        Value::Unsigned(u) => Ok(Value::Text(u.to_string())),
        Value::Negative(_) => key
            .as_i64()
            .map(|i| Value::Text(i.to_string()))
            .ok_or_else(|| PayloadError::new("map key out of range")),
        Value::Bool(b) => Ok(Value::Text(b.to_string())),
        other => Err(PayloadError::new(format!(
            "map key must be text, not {}",
            other.type_name()
        ))),
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), PayloadError> {
        self.key = Some(map_key(to_value(key)?)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| PayloadError::new("map value without a key"))?;
        let value = to_value(value)?;
        self.insert(key, value);
        Ok(())
    }
    fn end(self) -> Result<Value, PayloadError> {
        Ok(Value::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PayloadError> {
        self.push_field(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, PayloadError> {
        Ok(Value::Map(self.entries))
    }
}

/// A struct variant being serialized: `{variant: {fields}}`.
struct VariantMapBuilder {
    variant: &'static str,
    fields: MapBuilder,
}

impl ser::SerializeStructVariant for VariantMapBuilder {
    type Ok = Value;
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PayloadError> {
        self.fields.push_field(key, to_value(value)?);
        Ok(())
    }
    fn end(self) -> Result<Value, PayloadError> {
        Ok(Value::Map(vec![(
            Value::text(self.variant),
            Value::Map(self.fields.entries),
        )]))
    }
}

/// What serde's messages call a value of the wrong type.
fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Unsigned(u) => Unexpected::Unsigned(*u),
        Value::Negative(_) => v
            .as_i64()
            .map_or(Unexpected::Other("integer"), Unexpected::Signed),
        Value::Bytes(b) => Unexpected::Bytes(b),
        Value::Text(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Map(_) => Unexpected::Map,
        Value::Tag(..) => Unexpected::Other("tag"),
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Null => Unexpected::Unit,
    }
}

fn outside_model(v: &Value) -> PayloadError {
    PayloadError::outside_model(format!("unexpected {} in evidence", v.type_name()))
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'de> {
    type Error = PayloadError;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        match self.0 {
            Value::Unsigned(u) => visitor.visit_u64(*u),
            Value::Negative(_) => match self.0.as_i64() {
                Some(i) => visitor.visit_i64(i),
                None => Err(PayloadError::outside_model("integer below i64 range")),
            },
            Value::Text(s) => visitor.visit_borrowed_str(s),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Array(items) => {
                let mut seq = SeqReader(items.iter());
                let out = visitor.visit_seq(&mut seq)?;
                if seq.0.len() == 0 {
                    Ok(out)
                } else {
                    Err(de::Error::invalid_length(
                        items.len(),
                        &"fewer elements in array",
                    ))
                }
            }
            Value::Map(entries) => {
                let mut map = MapReader {
                    entries: entries.iter(),
                    value: None,
                };
                let out = visitor.visit_map(&mut map)?;
                if map.entries.len() == 0 {
                    Ok(out)
                } else {
                    Err(de::Error::invalid_length(
                        entries.len(),
                        &"fewer elements in map",
                    ))
                }
            }
            other => Err(outside_model(other)),
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, PayloadError> {
        match self.0 {
            // An absent field is `None`; a present one holds a value, never null.
            Value::Null => Err(outside_model(self.0)),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        match self.0 {
            Value::Text(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            Value::Map(entries) => match entries.as_slice() {
                [(Value::Text(variant), value)] => visitor.visit_enum(VariantReader {
                    variant,
                    value: ValueDeserializer(value),
                }),
                _ => Err(de::Error::invalid_value(
                    Unexpected::Map,
                    &"map with a single key",
                )),
            },
            other => Err(de::Error::invalid_type(unexpected(other), &"string or map")),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

impl<'de> IntoDeserializer<'de, PayloadError> for ValueDeserializer<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// The items of an array, read one by one.
struct SeqReader<'de>(std::slice::Iter<'de, Value>);

impl<'de> de::SeqAccess<'de> for SeqReader<'de> {
    type Error = PayloadError;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, PayloadError> {
        self.0
            .next()
            .map(|v| seed.deserialize(ValueDeserializer(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// The entries of a map, read one by one; keys must be text.
struct MapReader<'de> {
    entries: std::slice::Iter<'de, (Value, Value)>,
    value: Option<&'de Value>,
}

impl<'de> de::MapAccess<'de> for MapReader<'de> {
    type Error = PayloadError;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, PayloadError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let Value::Text(key) = key else {
            return Err(PayloadError::outside_model("map key is not text"));
        };
        self.value = Some(value);
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, PayloadError> {
        let value = self
            .value
            .take()
            .ok_or_else(|| PayloadError::new("map value read before its key"))?;
        seed.deserialize(ValueDeserializer(value))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum variant written as `{variant: value}`.
struct VariantReader<'de> {
    variant: &'de str,
    value: ValueDeserializer<'de>,
}

impl<'de> de::EnumAccess<'de> for VariantReader<'de> {
    type Error = PayloadError;
    type Variant = ValueDeserializer<'de>;
    fn variant_seed<V: de::DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), PayloadError> {
        let variant = seed.deserialize(de::value::BorrowedStrDeserializer::<PayloadError>::new(
            self.variant,
        ))?;
        Ok((variant, self.value))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDeserializer<'de> {
    type Error = PayloadError;
    fn unit_variant(self) -> Result<(), PayloadError> {
        Err(de::Error::invalid_type(unexpected(self.0), &"unit variant"))
    }
    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, PayloadError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: de::Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PayloadError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

/// Whether `value`'s payload value is `expected` (maps compared as sets of entries): for an
/// `expected` that came from the strict decoder, the same as `encode(to_value(value))` being the
/// decoded bytes, since those decode only from their one deterministic encoding. Nothing is
/// built for the common shapes (structs, arrays, text, integers); it stops at the first
/// difference.
pub fn matches<T: Serialize + ?Sized>(value: &T, expected: &Value) -> bool {
    value.serialize(Matcher(expected)).is_ok()
}

/// Whether two payload values are equal, maps compared as sets of entries.
fn equivalent(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equivalent(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            // Both ways round, so that a key given twice on one side never passes.
            let within = |x: &[(Value, Value)], y: &[(Value, Value)]| {
                x.iter().all(|(k, v)| {
                    y.iter()
                        .filter(|(k2, _)| k2 == k)
                        .map(|(_, v2)| v2)
                        .eq_by_one(v)
                })
            };
            x.len() == y.len() && within(x, y) && within(y, x)
        }
        (Value::Tag(t, x), Value::Tag(u, y)) => t == u && equivalent(x, y),
        _ => a == b,
    }
}

/// Exactly one of the candidates, and it is equivalent to `v`.
trait EqByOne<'a> {
    fn eq_by_one(self, v: &Value) -> bool;
}

impl<'a, I: Iterator<Item = &'a Value>> EqByOne<'a> for I {
    fn eq_by_one(mut self, v: &Value) -> bool {
        matches!((self.next(), self.next()), (Some(only), None) if equivalent(only, v))
    }
}

fn differs() -> PayloadError {
    PayloadError::new("differs")
}

fn expect(ok: bool) -> Result<(), PayloadError> {
    if ok { Ok(()) } else { Err(differs()) }
}

/// The value a struct field or map entry would leave out: whether it serializes to null.
fn is_null<T: Serialize + ?Sized>(value: &T) -> bool {
    matches(value, &Value::Null)
}

/// Compares a value, as it serializes, with an expected payload value.
struct Matcher<'a>(&'a Value);

/// `Matcher` methods that build the payload value with `ValueSerializer` and compare it.
macro_rules! by_value {
    ($($method:ident($t:ty)),+ $(,)?) => {
        $(fn $method(self, v: $t) -> Result<(), PayloadError> {
            self.value(ValueSerializer.$method(v)?)
        })+
    };
}

impl<'a> Matcher<'a> {
    fn value(self, v: Value) -> Result<(), PayloadError> {
        expect(equivalent(&v, self.0))
    }
}

impl<'a> ser::Serializer for Matcher<'a> {
    type Ok = ();
    type Error = PayloadError;
    type SerializeSeq = SeqMatcher<'a>;
    type SerializeTuple = SeqMatcher<'a>;
    type SerializeTupleStruct = SeqMatcher<'a>;
    type SerializeTupleVariant = Built<'a, VariantSeqBuilder>;
    type SerializeMap = Built<'a, MapBuilder>;
    type SerializeStruct = StructMatcher<'a>;
    type SerializeStructVariant = Built<'a, VariantMapBuilder>;

    // Scalars: their payload value costs no allocation, so build it and compare.
    by_value! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_i128(i128), serialize_u8(u8), serialize_u16(u16),
        serialize_u32(u32), serialize_u64(u64), serialize_u128(u128), serialize_f32(f32),
        serialize_f64(f64)
    }
    fn serialize_char(self, v: char) -> Result<(), PayloadError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), PayloadError> {
        expect(matches!(self.0, Value::Text(s) if s == v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), PayloadError> {
        self.value(ValueSerializer.serialize_bytes(v)?)
    }
    fn serialize_none(self) -> Result<(), PayloadError> {
        expect(*self.0 == Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), PayloadError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), PayloadError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), PayloadError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), PayloadError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), PayloadError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), PayloadError> {
        let v = ValueSerializer.serialize_newtype_variant(name, index, variant, value)?;
        self.value(v)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<SeqMatcher<'a>, PayloadError> {
        match self.0 {
            Value::Array(items) => Ok(SeqMatcher(items.iter())),
            _ => Err(differs()),
        }
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqMatcher<'a>, PayloadError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqMatcher<'a>, PayloadError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Built<'a, VariantSeqBuilder>, PayloadError> {
        Ok(Built {
            builder: ValueSerializer.serialize_tuple_variant(name, index, variant, len)?,
            expected: self.0,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Built<'a, MapBuilder>, PayloadError> {
        Ok(Built {
            builder: ValueSerializer.serialize_map(len)?,
            expected: self.0,
        })
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<StructMatcher<'a>, PayloadError> {
        match self.0 {
            Value::Map(entries) => Ok(StructMatcher {
                entries,
                matched: 0,
            }),
            _ => Err(differs()),
        }
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Built<'a, VariantMapBuilder>, PayloadError> {
        Ok(Built {
            builder: ValueSerializer.serialize_struct_variant(name, index, variant, len)?,
            expected: self.0,
        })
    }
}

/// Compares array items one by one.
struct SeqMatcher<'a>(std::slice::Iter<'a, Value>);

impl ser::SerializeSeq for SeqMatcher<'_> {
    type Ok = ();
    type Error = PayloadError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        let expected = self.0.next().ok_or_else(differs)?;
        value.serialize(Matcher(expected))
    }
    fn end(self) -> Result<(), PayloadError> {
        expect(self.0.len() == 0)
    }
}

impl ser::SerializeTuple for SeqMatcher<'_> {
    type Ok = ();
    type Error = PayloadError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), PayloadError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqMatcher<'_> {
    type Ok = ();
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), PayloadError> {
        ser::SerializeSeq::end(self)
    }
}

/// Compares struct fields with the entries of the expected map: each field that is not null
/// must be there with its value, a null one must be absent, and no entry may be left over.
/// Struct fields have distinct names, so counting the matched entries is enough.
struct StructMatcher<'a> {
    entries: &'a [(Value, Value)],
    matched: usize,
}

impl ser::SerializeStruct for StructMatcher<'_> {
    type Ok = ();
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PayloadError> {
        match self
            .entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(k) if k == key))
        {
            Some((_, expected)) => {
                self.matched += 1;
                value.serialize(Matcher(expected))
            }
            None => expect(is_null(value)),
        }
    }
    fn end(self) -> Result<(), PayloadError> {
        expect(self.matched == self.entries.len())
    }
}

/// Shapes evidence does not use (serde maps, enum variants with data): built, then compared.
struct Built<'a, B> {
    builder: B,
    expected: &'a Value,
}

impl ser::SerializeMap for Built<'_, MapBuilder> {
    type Ok = ();
    type Error = PayloadError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), PayloadError> {
        self.builder.serialize_key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        self.builder.serialize_value(value)
    }
    fn end(self) -> Result<(), PayloadError> {
        Matcher(self.expected).value(ser::SerializeMap::end(self.builder)?)
    }
}

impl ser::SerializeTupleVariant for Built<'_, VariantSeqBuilder> {
    type Ok = ();
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PayloadError> {
        ser::SerializeTupleVariant::serialize_field(&mut self.builder, value)
    }
    fn end(self) -> Result<(), PayloadError> {
        Matcher(self.expected).value(ser::SerializeTupleVariant::end(self.builder)?)
    }
}

impl ser::SerializeStructVariant for Built<'_, VariantMapBuilder> {
    type Ok = ();
    type Error = PayloadError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PayloadError> {
        ser::SerializeStructVariant::serialize_field(&mut self.builder, key, value)
    }
    fn end(self) -> Result<(), PayloadError> {
        Matcher(self.expected).value(ser::SerializeStructVariant::end(self.builder)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor;
    use crate::evidence::{Evidence, EvidenceError, InputFormat};

    /// The oracle: the JSON data model, converted to CBOR values one to one.
    fn via_json(e: &Evidence) -> Value {
        fn conv(v: serde_json::Value) -> Value {
            use serde_json::Value as J;
            match v {
                J::Null => Value::Null,
                J::Bool(b) => Value::Bool(b),
                J::Number(n) => match n.as_u64() {
                    Some(u) => Value::Unsigned(u),
                    None => Value::int(n.as_i64().expect("integer")),
                },
                J::String(s) => Value::Text(s),
                J::Array(a) => Value::Array(a.into_iter().map(conv).collect()),
                J::Object(o) => Value::Map(
                    o.into_iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (Value::Text(k), conv(v)))
                        .collect(),
                ),
            }
        }
        let json = match e {
            Evidence::FirmwareBuild(x) => serde_json::to_value(x),
            Evidence::LabResult(x) => serde_json::to_value(x),
            Evidence::Countersignature(x) => serde_json::to_value(x),
            Evidence::Claim(x) => serde_json::to_value(x),
            Evidence::Incident(x) => serde_json::to_value(x),
            Evidence::KeyEvent(x) => serde_json::to_value(x),
            Evidence::AdverseIndex(x) => serde_json::to_value(x),
            Evidence::AccuracyResult(x) => serde_json::to_value(x),
            Evidence::Certification(x) => serde_json::to_value(x),
            Evidence::ExportClassification(x) => serde_json::to_value(x),
            Evidence::ExportDecision(x) => serde_json::to_value(x),
            Evidence::Shipment(x) => serde_json::to_value(x),
            Evidence::HrDueDiligence(x) => serde_json::to_value(x),
            Evidence::EndUseCheck(x) => serde_json::to_value(x),
            Evidence::DeploymentRecord(x) => serde_json::to_value(x),
        };
        conv(json.expect("to JSON"))
    }

    /// Every example input, with its placeholders for cited entries filled in.
    fn examples() -> Vec<Evidence> {
        let hash = |c: char| c.to_string().repeat(64);
        let fill = |text: &str| {
            text.replace("@FW_420@", &hash('a'))
                .replace("@FW_421@", &hash('b'))
                .replace("@LAB_RESULT@", &hash('c'))
                .replace("@COUNTERSIG@", &hash('d'))
                .replace("@ACC_RESULT@", &hash('e'))
                .replace("@ACC_COUNTERSIG@", &hash('f'))
                .replace("@CERT_COUNTERSIG@", &hash('1'))
                .replace("@CERT@", &hash('2'))
                .replace("@DECISION_0101@", &hash('3'))
                .replace("@DECISION_0103@", &hash('4'))
        };
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        let key_event = format!(
            "event = \"revoke\"\nreason = \"key compromise\"\neffective_index = 12\n\
             [key]\nkid = \"{}\"\npublic_key = \"{}\"\n",
            crate::keys::KeyId::of(&key),
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.to_bytes())
        );
        let mut inputs = vec![
            (
                "firmware-build",
                fill(include_str!(
                    "../../../examples/facegate/firmware-4.2.0.toml"
                )),
            ),
            (
                "firmware-build",
                fill(include_str!(
                    "../../../examples/facegate/firmware-4.2.1.toml"
                )),
            ),
            (
                "lab-result",
                fill(include_str!(
                    "../../../examples/facegate/lab-result-pad-l2.toml"
                )),
            ),
            (
                "countersignature",
                fill(include_str!(
                    "../../../examples/facegate/countersignature-lab.toml"
                )),
            ),
            (
                "claim",
                fill(include_str!(
                    "../../../examples/facegate/claim-pad-level2.toml"
                )),
            ),
            (
                "claim",
                fill(include_str!(
                    "../../../examples/facegate/claim-pad-level3-overclaim.toml"
                )),
            ),
            (
                "incident",
                fill(include_str!(
                    "../../../examples/facegate/incident-aur-2026-014.toml"
                )),
            ),
            (
                "incident",
                fill(include_str!(
                    "../../../examples/facegate/incident-aur-2026-031-final-report.toml"
                )),
            ),
        ];
        inputs.push(("key-event", key_event));
        // Accuracy and certification evidence, and the claims they back.
        for (kind, text) in [
            (
                "accuracy-result",
                include_str!("../../../examples/facegate/accuracy-result-kbl-acc.toml"),
            ),
            (
                "countersignature",
                include_str!("../../../examples/facegate/countersignature-accuracy.toml"),
            ),
            (
                "claim",
                include_str!("../../../examples/facegate/claim-accuracy.toml"),
            ),
            (
                "claim",
                include_str!("../../../examples/facegate/claim-accuracy-overclaim.toml"),
            ),
            (
                "certification",
                include_str!("../../../examples/facegate/certification-iec62443.toml"),
            ),
            (
                "certification",
                include_str!("../../../examples/facegate/certification-iec62443-withdrawn.toml"),
            ),
            (
                "countersignature",
                include_str!("../../../examples/facegate/countersignature-certification.toml"),
            ),
            (
                "claim",
                include_str!("../../../examples/facegate/claim-certified.toml"),
            ),
            (
                "claim",
                include_str!("../../../examples/facegate/claim-certified-overclaim.toml"),
            ),
            // Export control, due diligence and deployments.
            (
                "export-classification",
                include_str!("../../../examples/facegate/export-classification-eu-4.2.0.toml"),
            ),
            (
                "export-classification",
                include_str!("../../../examples/facegate/export-classification-us-4.2.1.toml"),
            ),
            (
                "export-decision",
                include_str!("../../../examples/facegate/export-decision-exp-0101.toml"),
            ),
            (
                "export-decision",
                include_str!("../../../examples/facegate/export-decision-exp-0102.toml"),
            ),
            (
                "export-decision",
                include_str!("../../../examples/facegate/export-decision-exp-0103-screened.toml"),
            ),
            (
                "shipment",
                include_str!("../../../examples/facegate/shipment-exp-0101.toml"),
            ),
            (
                "hr-due-diligence",
                include_str!("../../../examples/facegate/hrdd-dps-2026-07.toml"),
            ),
            (
                "end-use-check",
                include_str!("../../../examples/facegate/end-use-check-exp-0101.toml"),
            ),
            (
                "deployment-record",
                include_str!("../../../examples/facegate/deployment-us-il-lobby.toml"),
            ),
        ] {
            inputs.push((kind, fill(text)));
        }
        inputs
            .iter()
            .map(|(kind, text)| {
                Evidence::from_input(kind, text, InputFormat::Toml)
                    .unwrap_or_else(|e| panic!("{kind}: {e}"))
            })
            .collect()
    }

    #[test]
    fn payloads_are_the_json_data_model_in_cbor() {
        for e in examples() {
            let payload = e.to_payload();
            assert_eq!(payload, cbor::encode(&via_json(&e)), "{}", e.kind());
            let back = Evidence::from_payload(e.kind(), &payload).expect("reads back");
            assert_eq!(back.to_payload(), payload, "{}", e.kind());
        }
    }

    /// The firmware example as a payload value with `field` set to `value`.
    fn firmware_with(field: &str, value: Value) -> Value {
        let e = &examples()[0];
        let Value::Map(mut entries) = via_json(e) else {
            panic!("a map")
        };
        entries.retain(|(k, _)| k.as_text() != Some(field));
        entries.push((Value::text(field), value));
        Value::Map(entries)
    }

    fn read(v: &Value) -> String {
        let bytes = cbor::encode(v);
        match Evidence::from_payload("firmware-build", &bytes) {
            Ok(_) => "accepted".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn values_outside_the_model_are_refused_where_they_are() {
        for (value, message) in [
            (
                Value::Null,
                "payload: unexpected null in evidence at version",
            ),
            (
                Value::Bytes(vec![1]),
                "payload: unexpected byte string in evidence at version",
            ),
            (
                Value::Tag(0, Box::new(Value::text("x"))),
                "payload: unexpected tagged item in evidence at version",
            ),
            (
                Value::Unsigned(7),
                "version: invalid type: integer `7`, expected a string",
            ),
        ] {
            assert_eq!(read(&firmware_with("version", value)), message);
        }
        assert_eq!(
            read(&firmware_with("surprise", Value::Bool(true))),
            read(&firmware_with("surprise", Value::Bool(false))),
        );
        assert!(
            read(&firmware_with("surprise", Value::Bool(true)))
                .contains("unknown field `surprise`")
        );
        let Value::Map(mut entries) = firmware_with("version", Value::text("4.2.0")) else {
            panic!("a map")
        };
        entries.push((Value::Unsigned(1), Value::text("x")));
        assert_eq!(read(&Value::Map(entries)), "payload: map key is not text");
        assert_eq!(
            read(&Value::Array(vec![])),
            ".: invalid length 0, expected struct FirmwareBuild with 14 elements"
        );
    }

    /// Every value that differs from `v` in one place: an entry or item removed, duplicated
    /// or replaced, a value swapped for another type, an entry added.
    fn mutations(v: &Value) -> Vec<Value> {
        let mut out = vec![
            Value::Null,
            Value::Unsigned(0),
            Value::text("x"),
            Value::Bool(true),
            Value::Array(vec![]),
            Value::Map(vec![]),
        ];
        out.retain(|m| m != v);
        match v {
            Value::Array(items) => {
                for i in 0..items.len() {
                    let mut removed = items.clone();
                    removed.remove(i);
                    out.push(Value::Array(removed));
                    let mut doubled = items.clone();
                    doubled.insert(i, items[i].clone());
                    out.push(Value::Array(doubled));
                    for m in mutations(&items[i]) {
                        let mut changed = items.clone();
                        changed[i] = m;
                        out.push(Value::Array(changed));
                    }
                }
            }
            Value::Map(entries) => {
                let mut added = entries.clone();
                added.push((Value::text("zz_extra"), Value::Unsigned(1)));
                out.push(Value::Map(added));
                for i in 0..entries.len() {
                    let mut removed = entries.clone();
                    removed.remove(i);
                    out.push(Value::Map(removed.clone()));
                    // The same key twice, in place of another entry: as many entries as before.
                    if let Some(j) = (0..entries.len()).find(|&j| j != i) {
                        let mut doubled = entries.clone();
                        doubled[j] = entries[i].clone();
                        out.push(Value::Map(doubled));
                    }
                    for m in mutations(&entries[i].1) {
                        let mut changed = entries.clone();
                        changed[i].1 = m;
                        out.push(Value::Map(changed));
                    }
                }
            }
            _ => {}
        }
        out
    }

    #[test]
    fn matching_a_value_is_matching_its_encoding() {
        for e in examples() {
            let v = cbor::decode(&e.to_payload()).expect("decodes");
            let encoded = e.to_payload();
            let check = |candidate: &Value| e.encodes_to(candidate);
            assert!(check(&v), "{}", e.kind());
            let all = mutations(&v);
            assert!(all.len() > 20, "{}: {} mutations", e.kind(), all.len());
            for m in &all {
                let same_bytes = cbor::encode(m) == encoded;
                assert_eq!(check(m), same_bytes, "{}: {m:?}", e.kind());
                assert!(!same_bytes || equivalent(m, &v), "{}: {m:?}", e.kind());
            }
        }
    }

    #[test]
    fn equivalence_ignores_map_order_only() {
        let a = Value::Map(vec![
            (Value::text("a"), Value::Unsigned(1)),
            (Value::text("b"), Value::Unsigned(2)),
        ]);
        let b = Value::Map(vec![
            (Value::text("b"), Value::Unsigned(2)),
            (Value::text("a"), Value::Unsigned(1)),
        ]);
        let doubled = Value::Map(vec![
            (Value::text("a"), Value::Unsigned(1)),
            (Value::text("a"), Value::Unsigned(1)),
        ]);
        assert!(equivalent(&a, &b));
        assert!(!equivalent(&a, &doubled) && !equivalent(&doubled, &a));
        assert!(!equivalent(
            &Value::Array(vec![Value::Unsigned(1), Value::Unsigned(2)]),
            &Value::Array(vec![Value::Unsigned(2), Value::Unsigned(1)])
        ));
        let mut m = std::collections::BTreeMap::new();
        m.insert("a", 1u8);
        m.insert("b", 2u8);
        assert!(matches(&m, &b));
        assert!(!matches(&m, &doubled));
    }

    #[test]
    fn floats_and_wide_integers_have_no_payload_form() {
        assert!(to_value(&1.5f64).is_err());
        assert!(to_value(&(u128::from(u64::MAX) + 1)).is_err());
        assert_eq!(to_value(&-3i64).unwrap(), Value::int(-3));
        assert_eq!(to_value(&3i64).unwrap(), Value::Unsigned(3));
        assert_eq!(to_value(&Some(2u8)).unwrap(), Value::Unsigned(2));
        let mut m = std::collections::BTreeMap::new();
        m.insert(5u32, None::<u8>);
        m.insert(6u32, Some(1u8));
        assert_eq!(
            to_value(&m).unwrap(),
            Value::Map(vec![(Value::text("6"), Value::Unsigned(1))])
        );
        assert!(matches!(
            Evidence::from_payload("firmware-build", &cbor::encode(&Value::Unsigned(1))),
            Err(EvidenceError::Shape { .. })
        ));
    }
}
