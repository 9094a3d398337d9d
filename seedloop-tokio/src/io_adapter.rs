//! tokio's `AsyncRead` / `AsyncWrite` over seedloop's `futures::io` streams.
//!
//! seedloop's sockets and files implement the `futures` io traits; tokio code wants
//! tokio's, whose read side fills a `ReadBuf` instead of a slice. These helpers do the
//! translation for every facade type: read into the buffer's unfilled part and advance
//! it by what was read; `shutdown` is `close`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::ReadBuf;

/// tokio's `poll_read` through a `futures` reader.
pub(crate) fn poll_read<R: futures::io::AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
    cx: &mut Context<'_>,
    buffer: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let unfilled = buffer.initialize_unfilled();
    match Pin::new(reader).poll_read(cx, unfilled) {
        Poll::Ready(Ok(count)) => {
            buffer.advance(count);
            Poll::Ready(Ok(()))
        }
        Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        Poll::Pending => Poll::Pending,
    }
}

pub(crate) fn poll_write<W: futures::io::AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    Pin::new(writer).poll_write(cx, data)
}

pub(crate) fn poll_flush<W: futures::io::AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    Pin::new(writer).poll_flush(cx)
}

pub(crate) fn poll_shutdown<W: futures::io::AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    Pin::new(writer).poll_close(cx)
}

/// Implements tokio's `AsyncRead` and `AsyncWrite` for a type by a closure-free path
/// to its inner `futures` stream (`$inner` is an expression of `this: &mut Self` that
/// gives `&mut` the stream).
macro_rules! tokio_io {
    ($type:ty, |$this:ident| $inner:expr) => {
        impl ::tokio::io::AsyncRead for $type {
            fn poll_read(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buffer: &mut ::tokio::io::ReadBuf<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self.get_mut();
                $crate::io_adapter::poll_read(&mut *$inner, cx, buffer)
            }
        }

        impl ::tokio::io::AsyncWrite for $type {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                data: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                let $this = self.get_mut();
                $crate::io_adapter::poll_write(&mut *$inner, cx, data)
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self.get_mut();
                $crate::io_adapter::poll_flush(&mut *$inner, cx)
            }

            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                let $this = self.get_mut();
                $crate::io_adapter::poll_shutdown(&mut *$inner, cx)
            }
        }
    };
}

pub(crate) use tokio_io;
