//! POSIX shared memory between two unrelated processes: `posix_shm_write` creates an object
//! by name, sizes it to one `student` record and writes the record through a mapping;
//! `posix_shm_read` opens the object by the same name, prints the record and unlinks it.
//! See `docs/src/posix_shm.md`.
//!
//! What the two programs agree on lives here: the record and the name.

use bytemuck::{Pod, Zeroable};
use common::people::{field_str, set_field_str};

/// The notes' name: `shm_open("/xyz", ...)`, which Linux keeps as `/dev/shm/xyz`.
pub const DEFAULT_NAME: &str = "/xyz";

/// The notes' record:
///
/// ```c
/// struct student {
///     char name[32];
///     int age;
/// };
/// ```
///
/// 32 name bytes, then a native-endian `int` at offset 32: 36 bytes, no padding.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Student {
    pub name: [u8; 32],
    pub age: i32,
}

const _: () = assert!(size_of::<Student>() == 36);
const _: () = assert!(std::mem::offset_of!(Student, age) == 32);

impl Student {
    /// `sizeof(struct student)`.
    pub const SIZE: usize = size_of::<Student>();

    /// `strcpy(p->name, name)`, bounded: at most 32 bytes, the rest zeroed.
    pub fn set_name(&mut self, name: &[u8]) {
        set_field_str(&mut self.name, name);
    }

    /// The name up to its NUL, never past the field.
    pub fn name_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(field_str(&self.name))
    }
}

/// A name as `shm_open` wants it: `common::posix::parse_name`, which `shm_counter` uses too.
pub use common::posix::parse_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_bounded() {
        let mut s = Student::zeroed();
        s.set_name(&[b'x'; 40]);
        assert_eq!(s.name_lossy().len(), 32);
        assert_eq!(s.age, 0);
    }
}
