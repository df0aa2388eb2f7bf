//! A small binary codec for state: LEB128 varints, zigzag for signed
//! numbers, length-prefixed bytes. Compact, allocation-light, and with a
//! [`Reader`] that fails cleanly (never panics) on truncated or corrupt input.

use thiserror::Error;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("corrupt state encoding: {0}")]
pub struct CodecError(pub String);

impl CodecError {
    pub fn new(msg: impl Into<String>) -> Self {
        CodecError(msg.into())
    }
}

/// Appends encoded values to a byte vector.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer::default()
    }

    pub fn with_capacity(n: usize) -> Self {
        Writer { buf: Vec::with_capacity(n) }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u64(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.u64(u64::from(v))
    }

    pub fn usize(&mut self, v: usize) -> &mut Self {
        self.u64(v as u64)
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.u64(((v << 1) ^ (v >> 63)) as u64)
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(u8::from(v))
    }

    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.usize(b.len());
        self.buf.extend_from_slice(b);
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }

    /// Raw bytes, no length.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
}

/// Reads what a [`Writer`] wrote.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Fails unless everything was read.
    pub fn finish(&self) -> Result<(), CodecError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CodecError::new(format!("{} trailing bytes", self.remaining())))
        }
    }

    pub fn u8(&mut self) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| CodecError::new("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn u64(&mut self) -> Result<u64, CodecError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                if shift == 63 && b > 1 {
                    break;
                }
                return Ok(v);
            }
        }
        Err(CodecError::new("varint too long"))
    }

    pub fn u32(&mut self) -> Result<u32, CodecError> {
        u32::try_from(self.u64()?).map_err(|_| CodecError::new("u32 out of range"))
    }

    pub fn usize(&mut self) -> Result<usize, CodecError> {
        usize::try_from(self.u64()?).map_err(|_| CodecError::new("length out of range"))
    }

    /// A count of items that each take at least `min_item_bytes`: bounded by
    /// what is left, so a corrupt count cannot make us allocate wildly.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, CodecError> {
        let n = self.usize()?;
        if n.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(CodecError::new(format!("count {n} exceeds the remaining input")));
        }
        Ok(n)
    }

    pub fn i64(&mut self) -> Result<i64, CodecError> {
        let u = self.u64()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    pub fn f64(&mut self) -> Result<f64, CodecError> {
        let b = self.raw(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }

    pub fn bool(&mut self) -> Result<bool, CodecError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(CodecError::new(format!("bad bool {b}"))),
        }
    }

    pub fn raw(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if n > self.remaining() {
            return Err(CodecError::new("unexpected end"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.usize()?;
        self.raw(n)
    }

    pub fn str(&mut self) -> Result<&'a str, CodecError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| CodecError::new("invalid UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = Writer::new();
        w.u64(0).u64(127).u64(128).u64(u64::MAX).i64(-1).i64(i64::MIN).i64(i64::MAX);
        w.f64(-0.5).bool(true).bytes(b"abc").str("d\u{e9}");
        let b = w.into_bytes();
        let mut r = Reader::new(&b);
        assert_eq!(r.u64().unwrap(), 0);
        assert_eq!(r.u64().unwrap(), 127);
        assert_eq!(r.u64().unwrap(), 128);
        assert_eq!(r.u64().unwrap(), u64::MAX);
        assert_eq!(r.i64().unwrap(), -1);
        assert_eq!(r.i64().unwrap(), i64::MIN);
        assert_eq!(r.i64().unwrap(), i64::MAX);
        assert_eq!(r.f64().unwrap(), -0.5);
        assert!(r.bool().unwrap());
        assert_eq!(r.bytes().unwrap(), b"abc");
        assert_eq!(r.str().unwrap(), "d\u{e9}");
        r.finish().unwrap();
    }

    #[test]
    fn truncation_is_an_error() {
        let mut w = Writer::new();
        w.u64(u64::MAX).bytes(b"hello");
        let b = w.into_bytes();
        for n in 0..b.len() {
            let mut r = Reader::new(&b[..n]);
            let ok = r.u64().is_ok() && r.bytes().is_ok();
            assert!(!ok, "prefix of {n} bytes decoded");
        }
        let mut r = Reader::new(&[0xff; 11]);
        assert!(r.u64().is_err());
        let mut r = Reader::new(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02]);
        assert!(r.u64().is_err());
    }
}
