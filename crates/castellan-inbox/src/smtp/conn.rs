//! The connection under a session (plain TCP, or TLS after STARTTLS) and a bounded line reader.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A byte stream other than a TCP socket that a session can run over (see
/// [`crate::smtp::serve_smtp_stream`]).
pub trait SessionIo: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> SessionIo for T {}

/// A session's transport: plain until STARTTLS, then TLS; or a caller's stream (never TLS).
pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Stream(Box<dyn SessionIo>),
    /// Only while the TLS handshake owns the socket.
    Closed,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Conn::Plain(_) => "Conn::Plain",
            Conn::Tls(_) => "Conn::Tls",
            Conn::Stream(_) => "Conn::Stream",
            Conn::Closed => "Conn::Closed",
        })
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed")
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Stream(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Conn::Closed => Poll::Ready(Err(closed())),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Stream(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Conn::Closed => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Stream(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Conn::Closed => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Stream(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Conn::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// What [`LineReader::read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A whole line, its terminating LF (and CR, if any) included.
    Complete(Vec<u8>),
    /// A line longer than the limit; its bytes (this many) were read and thrown away.
    TooLong(usize),
    /// The peer closed the connection (a partial last line is dropped).
    Eof,
}

/// Reads LF-terminated lines with a length limit; memory stays bounded by the limit plus one
/// read chunk whatever the peer sends.
#[derive(Debug, Default)]
pub(crate) struct LineReader {
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    start: usize,
}

const CHUNK: usize = 16 * 1024;

impl LineReader {
    /// Whether bytes past the last line handed out are already buffered (the peer pipelined).
    pub(crate) fn has_buffered(&self) -> bool {
        self.start < self.buf.len()
    }

    /// Forgets buffered bytes (after STARTTLS, per RFC 3207 section 4.2 nothing sent before the
    /// handshake may be acted on).
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// Reads the next line of at most `max` bytes, terminator included.
    pub(crate) async fn read_line<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        max: usize,
    ) -> io::Result<Line> {
        let mut discarded = 0usize;
        let mut scanned = self.start;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let end = scanned + i + 1;
                let len = end - self.start;
                let line = if discarded > 0 || len > max {
                    Line::TooLong(discarded + len)
                } else {
                    Line::Complete(self.buf[self.start..end].to_vec())
                };
                self.start = end;
                return Ok(line);
            }
            if self.buf.len() - self.start > max {
                discarded += self.buf.len() - self.start;
                self.start = self.buf.len();
            }
            // Compact: drop consumed bytes before reading more.
            self.buf.drain(..self.start);
            self.start = 0;
            scanned = self.buf.len();
            self.buf.reserve(CHUNK);
            let n = r.read_buf(&mut self.buf).await?;
            if n == 0 {
                return Ok(Line::Eof);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_and_limits() {
        let mut input: &[u8] = b"EHLO a\r\nNOOP\r\n";
        let mut r = LineReader::default();
        assert_eq!(
            r.read_line(&mut input, 10).await.unwrap(),
            Line::Complete(b"EHLO a\r\n".to_vec())
        );
        assert!(r.has_buffered());
        assert_eq!(
            r.read_line(&mut input, 10).await.unwrap(),
            Line::Complete(b"NOOP\r\n".to_vec())
        );
        assert_eq!(r.read_line(&mut input, 10).await.unwrap(), Line::Eof);

        let long = [b"x".repeat(100_000), b"\r\nQUIT\r\n".to_vec()].concat();
        let mut input: &[u8] = &long;
        assert_eq!(
            r.read_line(&mut input, 1000).await.unwrap(),
            Line::TooLong(100_002)
        );
        assert_eq!(
            r.read_line(&mut input, 1000).await.unwrap(),
            Line::Complete(b"QUIT\r\n".to_vec())
        );
    }
}
