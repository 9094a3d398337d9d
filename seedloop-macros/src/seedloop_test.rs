//! `#[seedloop::test]`: an `async fn` test run as a sweep of seeds.
//!
//! `#[seedloop::test(seeds = 1000, policy = "pct:3", max_steps = 50_000, max_time =
//! "10s")] async fn name() { body }` becomes `#[test] fn name()` that runs `async move
//! { body }` with `seedloop::Check` (the `SEEDLOOP_*` environment variables still
//! override, and the replay line names the test). Other attributes (doc comments,
//! `#[ignore]`, `#[should_panic]`) are kept. The arguments are checked here, so a
//! misspelt name, a policy seedloop does not know, or a duration without a unit is a
//! compile error that says what is accepted.

use crate::function::{error, parse_arguments, parse_async_function, string_value};
use proc_macro::{Delimiter, Group, TokenStream, TokenTree};

const ACCEPTED: &str = "`seeds`, `policy`, `max_steps`, `max_time`, `crate`";

/// An integer literal's value (`1_000` allowed).
fn integer(token: &TokenTree) -> Option<u64> {
    let TokenTree::Literal(literal) = token else {
        return None;
    };
    literal.to_string().replace('_', "").parse().ok()
}

/// `"10s"`, `"500ms"`, `"2m"`, ... in nanoseconds.
pub(crate) fn duration_nanos(text: &str) -> Option<u128> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u128 = number.parse().ok()?;
    let scale: u128 = match unit.trim() {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" | "min" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    number.checked_mul(scale)
}

/// Whether seedloop's `Policy::from_str` accepts `text` (the same grammar).
fn valid_policy(text: &str) -> bool {
    let text = text.trim().to_ascii_lowercase();
    matches!(text.as_str(), "random" | "fifo")
        || text
            .strip_prefix("pct:")
            .and_then(|depth| depth.parse::<u32>().ok())
            .is_some_and(|depth| depth >= 1)
}

pub(crate) fn test(arguments: TokenStream, item: TokenStream) -> TokenStream {
    expand(arguments, item).unwrap_or_else(|error| error)
}

fn expand(arguments: TokenStream, item: TokenStream) -> Result<TokenStream, TokenStream> {
    let mut root = "::seedloop".to_string();
    let mut builder = String::new();
    for argument in parse_arguments(arguments)? {
        let key = argument.key.to_string();
        let span = argument.key.span();
        let value = argument
            .value
            .as_ref()
            .ok_or_else(|| error(span, &format!("`{key}` needs a value: {key} = ...")))?;
        match key.as_str() {
            "seeds" => {
                let seeds = integer(value).filter(|seeds| *seeds > 0).ok_or_else(|| {
                    error(value.span(), "`seeds` takes a count above 0: seeds = 1000")
                })?;
                builder.push_str(&format!(".seeds(0..{seeds}u64)"));
            }
            "max_steps" => {
                let steps = integer(value).filter(|steps| *steps > 0).ok_or_else(|| {
                    error(
                        value.span(),
                        "`max_steps` takes a count above 0: max_steps = 100_000",
                    )
                })?;
                builder.push_str(&format!(".max_steps({steps}u64)"));
            }
            "policy" => {
                let policy = string_value(value)
                    .filter(|policy| valid_policy(policy))
                    .ok_or_else(|| {
                        error(value.span(), "`policy` takes \"random\", \"fifo\" or \"pct:<depth>\" (e.g. policy = \"pct:3\")")
                    })?;
                builder.push_str(&format!(
                    ".policy(<{root}::Policy as ::core::str::FromStr>::from_str({policy:?}).expect(\"a valid policy\"))"
                ));
            }
            "max_time" => {
                let nanos = string_value(value)
                    .and_then(|text| duration_nanos(&text))
                    .filter(|nanos| *nanos > 0 && *nanos <= u128::from(u64::MAX))
                    .ok_or_else(|| {
                        error(value.span(), "`max_time` takes a duration with a unit: \"10s\", \"500ms\", \"2m\" (ns, us, ms, s, m, h)")
                    })?;
                builder.push_str(&format!(
                    ".max_time(::core::time::Duration::from_nanos({nanos}u64))"
                ));
            }
            "crate" => {
                let name = string_value(value).ok_or_else(|| {
                    error(value.span(), "`crate` takes a string: crate = \"seedloop\"")
                })?;
                root = format!("::{name}");
            }
            other => {
                return Err(error(
                    span,
                    &format!("#[seedloop::test]: unknown argument `{other}`; accepted: {ACCEPTED}"),
                ))
            }
        }
    }
    let function = parse_async_function(item, "#[seedloop::test]")?;
    let name = function.name.to_string();
    let mut output = TokenStream::new();
    output.extend(function.attributes.iter().cloned());
    output.extend(
        "#[::core::prelude::v1::test]"
            .parse::<TokenStream>()
            .expect("valid tokens"),
    );
    output.extend(function.visibility.iter().cloned());
    output.extend(
        format!("fn {name}()")
            .parse::<TokenStream>()
            .expect("valid tokens"),
    );
    let mut arguments: TokenStream = format!(
        "::core::concat!(::core::module_path!(), \"::{name}\"), {root}::Check::new(){builder}, ||"
    )
    .parse()
    .expect("valid tokens");
    arguments.extend(crate::tokio_attributes::body_future(&function));
    let mut call: TokenStream = format!("{root}::__private::run_test")
        .parse()
        .expect("valid tokens");
    call.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        arguments,
    ))]);
    output.extend([TokenTree::Group(Group::new(Delimiter::Brace, call))]);
    Ok(output)
}
