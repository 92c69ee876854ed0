//! Reading a JSON answer into the generated types without trusting it. [`Guard::wrap`] adapts a
//! serde `Deserializer` so that:
//! - every list stops past `max_items` (a hostile 200 could hold millions of entries for one
//!   record: the parse stops at the first one too many, before it is built);
//! - an `i32` out of range (DIS's `failed_record_count`, say) is noted and read as the end of
//!   the range, instead of making a complete answer unreadable: the result entries decide.
//!
//! It names no field: the generated types say what is read.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// What a guarded parse may read, and what it found out of bounds.
pub(crate) struct Guard {
    max_items: usize,
    overflowed: Cell<bool>,
    out_of_range: Cell<Option<i128>>,
}

impl Guard {
    /// Lists of at most `max_items` items.
    pub(crate) fn new(max_items: usize) -> Guard {
        Guard {
            max_items,
            overflowed: Cell::new(false),
            out_of_range: Cell::new(None),
        }
    }

    /// `deserializer`, guarded.
    pub(crate) fn wrap<D>(&self, deserializer: D) -> Guarded<'_, D> {
        Guarded {
            inner: deserializer,
            guard: self,
        }
    }

    /// True when a list held more than `max_items` items (the parse stopped there).
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.get()
    }

    /// An integer that did not fit its field, if one was read.
    pub(crate) fn out_of_range(&self) -> Option<i128> {
        self.out_of_range.get()
    }
}

/// A guarded deserializer.
pub(crate) struct Guarded<'g, D> {
    inner: D,
    guard: &'g Guard,
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Guarded<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let guard = self.guard;
        self.inner.deserialize_any(Wrap { visitor, guard })
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let guard = self.guard;
        self.inner.deserialize_option(Wrap { visitor, guard })
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let guard = self.guard;
        self.inner
            .deserialize_newtype_struct(name, Wrap { visitor, guard })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        let guard = self.guard;
        self.inner
            .deserialize_enum(name, variants, Wrap { visitor, guard })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        // Skipped without being built: nothing to bound but the body's size.
        self.inner.deserialize_ignored_any(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        let guard = self.guard;
        self.inner.deserialize_any(Narrow { visitor, guard })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// A visitor whose lists, maps and nested values are guarded.
struct Wrap<'g, V> {
    visitor: V,
    guard: &'g Guard,
}

macro_rules! forward_visits {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.visitor.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    forward_visits! {
        visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_i128(i128), visit_u128(u128),
        visit_f64(f64), visit_str(&str), visit_borrowed_str(&'de str), visit_string(String),
        visit_bytes(&[u8]), visit_borrowed_bytes(&'de [u8]), visit_byte_buf(Vec<u8>),
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.visitor.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(self.guard.wrap(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(self.guard.wrap(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_seq(Items {
            inner: seq,
            guard: self.guard,
            taken: 0,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(Entries {
            inner: map,
            guard: self.guard,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        // No answer of the spec has an enum; its contents are bounded by the body's size.
        self.visitor.visit_enum(data)
    }
}

/// The items of a list, at most `max_items` of them.
struct Items<'g, A> {
    inner: A,
    guard: &'g Guard,
    taken: usize,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Items<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        if self.taken == self.guard.max_items {
            // One more would be past the bound: the parse stops if there is one.
            if self.inner.next_element::<de::IgnoredAny>()?.is_some() {
                self.guard.overflowed.set(true);
                return Err(de::Error::custom(format_args!(
                    "more than {} items in a list",
                    self.guard.max_items
                )));
            }
            return Ok(None);
        }
        self.taken += 1;
        self.inner.next_element_seed(Seed {
            seed,
            guard: self.guard,
        })
    }

    /// The parser's count when it knows one, else what is left of the bound: a list of results
    /// holds one per record sent, so it is built without growing (serde caps what it
    /// preallocates from a hint).
    fn size_hint(&self) -> Option<usize> {
        let left = self.guard.max_items - self.taken;
        Some(self.inner.size_hint().map_or(left, |n| n.min(left)))
    }
}

/// The entries of a map, their values guarded.
struct Entries<'g, A> {
    inner: A,
    guard: &'g Guard,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Entries<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Seed {
            seed,
            guard: self.guard,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// A nested value, guarded.
struct Seed<'g, S> {
    seed: S,
    guard: &'g Guard,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(self.guard.wrap(d))
    }
}

/// An `i32`: a number out of range is noted and read as the end of the range.
struct Narrow<'g, V> {
    visitor: V,
    guard: &'g Guard,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Narrow<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        self.visit_i128(i128::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.visit_i128(i128::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<V::Value, E> {
        let n = i32::try_from(v).unwrap_or_else(|_| {
            self.guard.out_of_range.set(Some(v));
            if v < 0 { i32::MIN } else { i32::MAX }
        });
        self.visitor.visit_i32(n)
    }
}

#[cfg(test)]
mod tests {
    use super::Guard;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Answer {
        count: Option<i32>,
        #[serde(default)]
        items: Vec<Option<String>>,
        nested: Option<Vec<u8>>,
    }

    fn parse(text: &str, max: usize) -> (Result<Answer, serde_json::Error>, Guard) {
        let guard = Guard::new(max);
        let mut de = serde_json::Deserializer::from_str(text);
        let result = Answer::deserialize(guard.wrap(&mut de));
        (result, guard)
    }

    #[test]
    fn reads_what_fits_as_serde_json_would() {
        let text = r#"{"count":3,"items":["a",null,"b"],"nested":[1,2],"other":{"x":[1,2,3,4,5]}}"#;
        let (result, guard) = parse(text, 3);
        assert_eq!(
            result.unwrap(),
            serde_json::from_str::<Answer>(text).unwrap()
        );
        assert!(!guard.overflowed());
        assert_eq!(guard.out_of_range(), None);
    }

    #[test]
    fn a_list_past_the_bound_stops_the_parse() {
        let (result, guard) = parse(r#"{"items":["a","b","c","d"]}"#, 3);
        assert!(result.is_err());
        assert!(guard.overflowed());
        // Nested lists are bounded too.
        let (result, guard) = parse(r#"{"nested":[1,2,3,4]}"#, 3);
        assert!(result.is_err() && guard.overflowed());
    }

    #[test]
    fn an_i32_out_of_range_is_noted_and_clamped() {
        for (text, read, noted) in [
            ("3000000000", i32::MAX, Some(3_000_000_000)),
            ("-3000000000", i32::MIN, Some(-3_000_000_000)),
            ("-5", -5, None),
        ] {
            let (result, guard) = parse(&format!(r#"{{"count":{text}}}"#), 3);
            assert_eq!(result.unwrap().count, Some(read), "{text}");
            assert_eq!(guard.out_of_range(), noted, "{text}");
        }
        // Not a number at all is still an error.
        assert!(parse(r#"{"count":"7"}"#, 3).0.is_err());
    }
}
