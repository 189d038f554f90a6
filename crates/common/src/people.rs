//! The notes' record, the data every file-mapping example puts in shared memory:
//!
//! ```c
//! typedef struct {
//!     char name[4];
//!     int age;
//! } people;
//! ```

use std::borrow::Cow;

use bytemuck::{Pod, Zeroable};

/// The C `people` record, field for field and byte for byte: 4 name bytes, then a native-endian
/// `int` at offset 4, no padding, 8 bytes in all. `Pod` lets bytemuck view mapped bytes as a
/// `&[People]` without a pointer cast.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct People {
    /// Not a C string: a name of 4 bytes has no terminating NUL (see [`People::name`]).
    pub name: [u8; 4],
    pub age: i32,
}

// The C programs on the other side of the mapping rely on this layout.
const _: () = assert!(size_of::<People>() == 8);
const _: () = assert!(align_of::<People>() == 4);
const _: () = assert!(std::mem::offset_of!(People, age) == 4);

impl People {
    /// `sizeof(people)`.
    pub const SIZE: usize = size_of::<People>();

    /// Stores `name` as `strncpy(p->name, name, 4)` would: at most 4 bytes, the rest zeroed.
    ///
    /// C's `strcpy(p->name, "barr")` writes a fifth byte, the NUL, past the field (into `age`);
    /// this never writes outside `name`.
    pub fn set_name(&mut self, name: &[u8]) {
        set_field_str(&mut self.name, name);
    }

    /// The name as `printf("%.4s", p->name)` prints it: the bytes before the first NUL, and
    /// never more than the 4 bytes of the field.
    ///
    /// The notes print it with `%s`, which reads on past a name with no NUL (into `age`).
    pub fn name(&self) -> &[u8] {
        field_str(&self.name)
    }

    /// [`People::name`] as text, for `println!`. The names in these examples are ASCII;
    /// anything else is shown with U+FFFD rather than as raw bytes.
    pub fn name_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.name())
    }
}

/// The text in a fixed-size `char` field of a C struct, as `printf("%.*s", size, field)` prints
/// it: the bytes before the first NUL, never past the field's end.
pub fn field_str(field: &[u8]) -> &[u8] {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    &field[..end]
}

/// `strncpy(field, value, sizeof field)`: at most the field's size, the rest zero-filled; a value
/// that fills the field has no NUL, as in C.
pub fn set_field_str(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
    field[n..].fill(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_the_c_layout() {
        let p = People {
            name: *b"ab\0\0",
            age: 0x0102_0304,
        };
        let bytes = bytemuck::bytes_of(&p);
        assert_eq!(&bytes[..4], b"ab\0\0");
        assert_eq!(&bytes[4..], &0x0102_0304_i32.to_ne_bytes());
    }

    #[test]
    fn set_name_is_bounded_and_zero_filled() {
        let mut p = People {
            name: *b"wxyz",
            age: 7,
        };
        p.set_name(b"a");
        assert_eq!(p.name, *b"a\0\0\0");
        p.set_name(b"barrel");
        assert_eq!(p.name, *b"barr");
        assert_eq!(p.age, 7, "set_name must not touch age");
    }

    #[test]
    fn name_stops_at_nul_or_field_end() {
        assert_eq!(
            People {
                name: *b"j\0zz",
                age: 0
            }
            .name(),
            b"j"
        );
        assert_eq!(
            People {
                name: *b"barr",
                age: 20
            }
            .name(),
            b"barr"
        );
        assert_eq!(People::zeroed().name(), b"");
        assert_eq!(
            People {
                name: [b'a', 0xff, 0, 0],
                age: 0
            }
            .name_lossy(),
            "a\u{fffd}"
        );
    }
}
