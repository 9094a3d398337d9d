//! Procedural macros of seedloop (`#[seedloop::test]`) and of its tokio facade
//! (`seedloop-tokio`: `tokio::test`, `tokio::main`, `tokio::select!`). Use them
//! through those crates; see their documentation.
//!
//! They read their input directly from the token stream (no parser crate), see
//! `function.rs`: the build stays small, and the generated code is tokio's shape with
//! the runtime replaced by a simulation.

mod function;
mod seedloop_test;
mod select;
mod tokio_attributes;

use proc_macro::TokenStream;

/// `#[seedloop::test]`: an async test run as a sweep of seeds. See `seedloop::test`.
#[proc_macro_attribute]
pub fn seedloop_test(arguments: TokenStream, item: TokenStream) -> TokenStream {
    seedloop_test::test(arguments, item)
}

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
