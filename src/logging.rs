//! Log output with member data masked: every formatted log line goes through
//! [`sensitive::redact`] before it is written.
//!
//! paymedic's own log calls never carry member text: they log ids, counts and error kinds (a
//! test runs every member-facing path under a TRACE subscriber and checks that). Dependencies
//! are another matter: serenity logs a gateway payload it cannot parse, message content and
//! all, at WARN, and its `#[instrument]` spans record whole gateway events when its DEBUG or
//! TRACE output is switched on (`RUST_LOG=serenity=debug`). [`Redacting`] is the net under
//! those: card numbers, codes, passwords, IBANs, emails and phone numbers are masked in
//! whatever reaches the log, whoever wrote it.
//!
//! The formatter writes one event with one `write_all`; [`RedactingWriter`] keeps the bytes
//! until it is flushed or dropped, so a number split across two writes is still seen whole.

use crate::engine::sensitive;
use std::io::{self, Write};
use tracing_subscriber::fmt::MakeWriter;

/// A [`MakeWriter`] whose writers redact what they are given before passing it on.
#[derive(Clone, Debug, Default)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(self.0.make_writer_for(meta))
    }
}

/// Collects one log event, then writes it redacted on flush or drop.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    pub fn new(inner: W) -> RedactingWriter<W> {
        RedactingWriter {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.pending);
        let masked = sensitive::redact(&text);
        let result = self.inner.write_all(masked.as_bytes());
        self.pending.clear();
        result
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // Nowhere to report a failed log write; the line is lost, as with any log writer.
        let _ = self.emit();
    }
}
