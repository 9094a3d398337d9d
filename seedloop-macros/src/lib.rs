//! Procedural macros for seedloop's tokio facade (`seedloop-tokio`), re-exported there
//! as `tokio::test`, `tokio::main` and `tokio::select!`. Use them through the facade;
//! see its documentation.
//!
//! They read their input directly from the token stream (no parser crate), see
//! `function.rs`: the build stays small, and the generated code is tokio's shape with
//! the runtime replaced by a simulation.

mod function;
mod select;
mod tokio_attributes;

use proc_macro::TokenStream;

/// `#[tokio::test]` on a simulation: the test runs as a seed sweep. See
/// `seedloop_tokio::test`.
#[proc_macro_attribute]
pub fn tokio_test(arguments: TokenStream, item: TokenStream) -> TokenStream {
    tokio_attributes::test(arguments, item)
}

/// `#[tokio::main]` on a simulation: `main` runs once, on one seed. See
/// `seedloop_tokio::main`.
#[proc_macro_attribute]
pub fn tokio_main(arguments: TokenStream, item: TokenStream) -> TokenStream {
    tokio_attributes::main(arguments, item)
}

/// The body of the facade's `select!` (which passes its own path first). See
/// `seedloop_tokio::select`.
#[proc_macro]
pub fn tokio_select(input: TokenStream) -> TokenStream {
    select::select(input)
}
