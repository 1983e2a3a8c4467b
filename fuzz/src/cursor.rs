//! A reader of structured choices out of raw fuzz bytes.
//!
//! Exhausted input reads as zeros, so every byte string is a valid (if short) program and the
//! targets never need to reject input.

/// Takes bytes, numbers, choices and length-prefixed chunks from the front of the fuzz input.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Cursor { data }
    }

    /// Whether every byte was taken.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 when exhausted.
    pub(crate) fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    /// A number below `n` (`n` between 1 and 256) from one byte.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    /// One of `choices` (which must not be empty), picked by one byte.
    pub(crate) fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        let index = self.below(choices.len());
        choices[index]
    }

    /// A little-endian u16 from two bytes.
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    /// A chunk whose length is a little-endian u16 prefix, cut short at the end of the input.
    pub(crate) fn chunk(&mut self) -> &'a [u8] {
        let len = usize::from(self.u16()).min(self.data.len());
        let (chunk, rest) = self.data.split_at(len);
        self.data = rest;
        chunk
    }

    /// Everything not taken yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }
}
