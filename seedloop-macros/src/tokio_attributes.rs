//! `#[tokio::test]` and `#[tokio::main]` for the tokio facade: the function's body
//! runs inside a simulation instead of on a tokio runtime.
//!
//! `#[tokio::test] async fn name() { body }` becomes a `#[test] fn name()` that runs
//! `async move { body }` as a seed sweep (`seedloop::Check`, with the `SEEDLOOP_*`
//! environment variables and the test's name in the replay line); `#[tokio::main]`
//! runs it once, on the seed `SEEDLOOP_SEED` names (0 by default). A body may return
//! a `Result`; an `Err` fails the run like a panic. tokio's own arguments (`flavor`,
//! `worker_threads`, `start_paused`) are accepted and ignored: a simulation is one
//! thread and its clock is always virtual. `crate = "name"` names the facade when it
//! is not imported as `tokio`.

use crate::function::{error, parse_arguments, parse_async_function, string_value, AsyncFunction};
use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

const ACCEPTED: &str = "`flavor`, `worker_threads`, `start_paused`, `crate`";

/// The path the generated code names the facade by.
fn facade_root(arguments: TokenStream, what: &str) -> Result<TokenStream, TokenStream> {
    let mut root: TokenStream = "::tokio".parse().expect("valid tokens");
    for argument in parse_arguments(arguments)? {
        match argument.key.to_string().as_str() {
            "flavor" | "worker_threads" | "start_paused" => {}
            "crate" => {
                let name = argument
                    .value
                    .as_ref()
                    .and_then(string_value)
                    .ok_or_else(|| {
                        error(
                            argument.key.span(),
                            "`crate` takes a string: crate = \"seedloop_tokio\"",
                        )
                    })?;
                root = format!("::{name}")
                    .parse()
                    .map_err(|_| error(argument.key.span(), "`crate` must name a crate"))?;
            }
            other => {
                return Err(error(
                    argument.key.span(),
                    &format!("{what}: unknown argument `{other}`; accepted: {ACCEPTED}"),
                ))
            }
        }
    }
    Ok(root)
}

/// `async move { let output: Return = async move { body }.await; output }`: the body's
/// type is spelled out when there is one, so that `?` in it infers its error type.
pub(crate) fn body_future(function: &AsyncFunction) -> TokenStream {
    let mut inner: TokenStream = "async move".parse().expect("valid tokens");
    inner.extend([TokenTree::Group(function.body.clone())]);
    let mut block: TokenStream = "let __seedloop_output".parse().expect("valid tokens");
    block.extend(":".parse::<TokenStream>().expect("valid tokens"));
    match &function.return_type {
        Some(return_type) => block.extend(return_type.clone()),
        // A function without a return type returns `()`, even if its body diverges.
        None => block.extend("()".parse::<TokenStream>().expect("valid tokens")),
    }
    block.extend("=".parse::<TokenStream>().expect("valid tokens"));
    block.extend(inner);
    block.extend(
        ". await ; __seedloop_output"
            .parse::<TokenStream>()
            .expect("valid tokens"),
    );
    let mut future: TokenStream = "async move".parse().expect("valid tokens");
    future.extend([TokenTree::Group(Group::new(Delimiter::Brace, block))]);
    future
}

fn expand(
    arguments: TokenStream,
    item: TokenStream,
    what: &str,
    test: bool,
) -> Result<TokenStream, TokenStream> {
    let root = facade_root(arguments, what)?;
    let function = parse_async_function(item, what)?;
    let mut output = TokenStream::new();
    output.extend(function.attributes.iter().cloned());
    if test {
        output.extend(
            "#[::core::prelude::v1::test]"
                .parse::<TokenStream>()
                .expect("valid tokens"),
        );
    }
    output.extend(function.visibility.iter().cloned());
    output.extend("fn".parse::<TokenStream>().expect("valid tokens"));
    output.extend([TokenTree::Ident(function.name.clone())]);
    output.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        TokenStream::new(),
    ))]);
    if !test {
        if let Some(return_type) = &function.return_type {
            output.extend("->".parse::<TokenStream>().expect("valid tokens"));
            output.extend(return_type.clone());
        }
    }
    let name = function.name.to_string();
    let (callee, mut arguments) = if test {
        (
            ":: __seedloop :: run_test",
            format!("::core::concat!(::core::module_path!(), \"::{name}\"), ||"),
        )
    } else {
        (":: __seedloop :: run_main", "||".to_string())
    };
    arguments = arguments.trim().to_string();
    let mut arguments: TokenStream = arguments.parse().expect("valid tokens");
    arguments.extend(body_future(&function));
    let mut call = root;
    call.extend(callee.parse::<TokenStream>().expect("valid tokens"));
    call.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        arguments,
    ))]);
    output.extend([TokenTree::Group(Group::new(Delimiter::Brace, call))]);
    Ok(output)
}

pub(crate) fn test(arguments: TokenStream, item: TokenStream) -> TokenStream {
    expand(arguments, item, "#[tokio::test]", true).unwrap_or_else(|error| error)
}

pub(crate) fn main(arguments: TokenStream, item: TokenStream) -> TokenStream {
    expand(arguments, item, "#[tokio::main]", false).unwrap_or_else(|error| error)
}
