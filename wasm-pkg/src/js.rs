//! Rust values → plain JavaScript objects, as JSON would have them (objects, arrays, strings,
//! numbers, booleans, `null`), built directly with `js_sys` — a small serde serializer in place of a
//! general-purpose crate, so the offline verifier stays small. Integers become numbers (every one
//! a verdict holds — heights, times, counts — is far below 2^53).

use std::fmt::Display;

use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use serde::ser::{self, Impossible};
use wasm_bindgen::JsValue;

/// A value that cannot be converted.
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Converts `v` to a JavaScript value.
pub fn to_value<T: Serialize + ?Sized>(v: &T) -> Result<JsValue, Error> {
    v.serialize(Ser)
}

fn set(obj: &Object, key: &JsValue, value: &JsValue) -> Result<(), Error> {
    Reflect::set(obj, key, value)
        .map(|_| ())
        .map_err(|_| Error("cannot set a property".into()))
}

fn tagged(tag: &str, value: JsValue) -> Result<JsValue, Error> {
    let obj = Object::new();
    set(&obj, &JsValue::from_str(tag), &value)?;
    Ok(obj.into())
}

struct Ser;

/// Arrays (sequences, tuples) and, with a tag, `{variant: [...]}`.
struct Seq(Array, Option<&'static str>);
/// Objects (structs, maps) and, with a tag, `{variant: {...}}`.
struct Obj(Object, Option<&'static str>, Option<JsValue>);

impl ser::Serializer for Ser {
    type Ok = JsValue;
    type Error = Error;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = Obj;
    type SerializeStruct = Obj;
    type SerializeStructVariant = Obj;

    fn serialize_bool(self, v: bool) -> Result<JsValue, Error> {
        Ok(JsValue::from_bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<JsValue, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<JsValue, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<JsValue, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<JsValue, Error> {
        self.serialize_f64(v as f64)
    }
    fn serialize_u8(self, v: u8) -> Result<JsValue, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<JsValue, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<JsValue, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<JsValue, Error> {
        self.serialize_f64(v as f64)
    }
    fn serialize_f32(self, v: f32) -> Result<JsValue, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<JsValue, Error> {
        Ok(JsValue::from_f64(v))
    }
    fn serialize_char(self, v: char) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<JsValue, Error> {
        Ok(v.iter()
            .map(|b| JsValue::from_f64((*b).into()))
            .collect::<Array>()
            .into())
    }
    fn serialize_none(self) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<JsValue, Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<JsValue, Error> {
        Ok(JsValue::NULL)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<JsValue, Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<JsValue, Error> {
        tagged(variant, v.serialize(self)?)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq, Error> {
        Ok(Seq(Array::new(), None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Seq, Error> {
        Ok(Seq(Array::new(), None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Seq, Error> {
        Ok(Seq(Array::new(), None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Seq, Error> {
        Ok(Seq(Array::new(), Some(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Obj, Error> {
        Ok(Obj(Object::new(), None, None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Obj, Error> {
        Ok(Obj(Object::new(), None, None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Obj, Error> {
        Ok(Obj(Object::new(), Some(variant), None))
    }
}

impl Seq {
    fn push<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.0.push(&v.serialize(Ser)?);
        Ok(())
    }
    fn done(self) -> Result<JsValue, Error> {
        match self.1 {
            Some(tag) => tagged(tag, self.0.into()),
            None => Ok(self.0.into()),
        }
    }
}

impl ser::SerializeSeq for Seq {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<JsValue, Error> {
        self.done()
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<JsValue, Error> {
        self.done()
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<JsValue, Error> {
        self.done()
    }
}

impl ser::SerializeTupleVariant for Seq {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.push(v)
    }
    fn end(self) -> Result<JsValue, Error> {
        self.done()
    }
}

impl Obj {
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, v: &T) -> Result<(), Error> {
        set(&self.0, &JsValue::from_str(key), &v.serialize(Ser)?)
    }
    fn done(self) -> Result<JsValue, Error> {
        match self.1 {
            Some(tag) => tagged(tag, self.0.into()),
            None => Ok(self.0.into()),
        }
    }
}

/// Map keys must be strings (or serialize as one).
struct KeySer;

impl ser::Serializer for KeySer {
    type Ok = JsValue;
    type Error = Error;
    type SerializeSeq = Impossible<JsValue, Error>;
    type SerializeTuple = Impossible<JsValue, Error>;
    type SerializeTupleStruct = Impossible<JsValue, Error>;
    type SerializeTupleVariant = Impossible<JsValue, Error>;
    type SerializeMap = Impossible<JsValue, Error>;
    type SerializeStruct = Impossible<JsValue, Error>;
    type SerializeStructVariant = Impossible<JsValue, Error>;

    fn serialize_str(self, v: &str) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(v))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<JsValue, Error> {
        v.serialize(self)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<JsValue, Error> {
        Ok(JsValue::from_str(variant))
    }
    fn serialize_bool(self, _: bool) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_i8(self, _: i8) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_i16(self, _: i16) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_i32(self, _: i32) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_i64(self, _: i64) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_u8(self, _: u8) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_u16(self, _: u16) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_u32(self, _: u32) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_u64(self, _: u64) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_f32(self, _: f32) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _: f64) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_char(self, _: char) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<JsValue, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

fn key_error() -> Error {
    Error("map keys must be strings".into())
}

impl ser::SerializeMap for Obj {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.2 = Some(key.serialize(KeySer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        let key = self
            .2
            .take()
            .ok_or_else(|| Error("a map value without a key".into()))?;
        set(&self.0, &key, &v.serialize(Ser)?)
    }
    fn end(self) -> Result<JsValue, Error> {
        self.done()
    }
}

impl ser::SerializeStruct for Obj {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<JsValue, Error> {
        self.done()
    }
}

impl ser::SerializeStructVariant for Obj {
    type Ok = JsValue;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field(key, v)
    }
    fn end(self) -> Result<JsValue, Error> {
        self.done()
    }
}
