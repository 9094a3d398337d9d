//! `select!` for the tokio facade: tokio's syntax and rules, with the order in which
//! branches are polled drawn from the simulation's seed.
//!
//! tokio's `select!` starts polling at a branch picked by a thread-local random
//! generator, which a simulation cannot replay. This one asks the simulation for the
//! first branch (`__seedloop::select_start`: a scheduler decision, so the production
//! order polls the first branch first and a replay polls the same one), then polls the
//! branches in turn from there, as tokio does. `biased;` polls them in the order
//! written. The rest is tokio's: preconditions (`, if cond`) are evaluated first, every
//! future is created, a branch whose output does not match its pattern is disabled,
//! the other futures are dropped before the winning branch's handler runs, and `else`
//! runs when every branch is disabled (without `else`, that panics).
//!
//! The input is `root; [biased;] branches`, where `root` is the facade's path (the
//! facade's `select!` passes `$crate`).

use crate::function::error;
use proc_macro::{Delimiter, Group, Spacing, Span, TokenStream, TokenTree};

struct Branch {
    pattern: TokenStream,
    future: TokenStream,
    condition: Option<TokenStream>,
    handler: TokenStream,
}

/// The most branches one `select!` takes (tokio's limit is 64).
const MAX_BRANCHES: usize = 64;

fn is_punct(token: &TokenTree, character: char) -> bool {
    matches!(token, TokenTree::Punct(punct) if punct.as_char() == character)
}

fn is_ident(token: &TokenTree, name: &str) -> bool {
    matches!(token, TokenTree::Ident(ident) if ident.to_string() == name)
}

/// Whether `tokens[index]` starts `=>`.
fn is_fat_arrow(tokens: &[TokenTree], index: usize) -> bool {
    matches!(&tokens[index], TokenTree::Punct(p) if p.as_char() == '=' && p.spacing() == Spacing::Joint)
        && tokens.get(index + 1).is_some_and(|t| is_punct(t, '>'))
}

/// Whether `tokens[index]` is a lone `=` (not part of `==`, `<=`, `..=`, `=>`, ...).
fn is_lone_equals(tokens: &[TokenTree], index: usize) -> bool {
    let TokenTree::Punct(punct) = &tokens[index] else {
        return false;
    };
    punct.as_char() == '='
        && punct.spacing() == Spacing::Alone
        && !(index > 0
            && matches!(&tokens[index - 1], TokenTree::Punct(p) if p.spacing() == Spacing::Joint))
}

fn collect(tokens: &[TokenTree]) -> TokenStream {
    tokens.iter().cloned().collect()
}

fn parse_branches(tokens: &[TokenTree]) -> Result<(Vec<Branch>, Option<TokenStream>), TokenStream> {
    let mut branches = Vec::new();
    let mut otherwise = None;
    let mut index = 0;
    while index < tokens.len() {
        if is_punct(&tokens[index], ',') {
            index += 1;
            continue;
        }
        let start = index;
        let (pattern, future, condition) = if is_ident(&tokens[index], "else") {
            if !tokens
                .get(index + 1)
                .is_some_and(|_| is_fat_arrow(tokens, index + 1))
            {
                return Err(error(
                    tokens[index].span(),
                    "select!: expected `else => handler`",
                ));
            }
            index += 1;
            (None, TokenStream::new(), None)
        } else {
            let equals = (index..tokens.len())
                .find(|&i| is_lone_equals(tokens, i))
                .ok_or_else(|| {
                    error(
                        tokens[start].span(),
                        "select!: expected `pattern = future => handler`",
                    )
                })?;
            let arrow = (equals..tokens.len())
                .find(|&i| is_fat_arrow(tokens, i))
                .ok_or_else(|| {
                    error(
                        tokens[equals].span(),
                        "select!: expected `=>` after the future",
                    )
                })?;
            let guard = (equals..arrow).find(|&i| {
                is_punct(&tokens[i], ',') && tokens.get(i + 1).is_some_and(|t| is_ident(t, "if"))
            });
            let (future, condition) = match guard {
                Some(comma) => (
                    collect(&tokens[equals + 1..comma]),
                    Some(collect(&tokens[comma + 2..arrow])),
                ),
                None => (collect(&tokens[equals + 1..arrow]), None),
            };
            index = arrow;
            (Some(collect(&tokens[start..equals])), future, condition)
        };
        // At `=>`.
        index += 2;
        let handler_start = index;
        match tokens.get(index) {
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace => index += 1,
            Some(_) => {
                while index < tokens.len() && !is_punct(&tokens[index], ',') {
                    index += 1;
                }
            }
            None => {
                return Err(error(
                    Span::call_site(),
                    "select!: expected a handler after `=>`",
                ))
            }
        }
        let handler = collect(&tokens[handler_start..index]);
        match pattern {
            Some(pattern) => branches.push(Branch {
                pattern,
                future,
                condition,
                handler,
            }),
            None if otherwise.is_some() => {
                return Err(error(
                    tokens[start].span(),
                    "select!: only one `else` branch",
                ))
            }
            None => otherwise = Some(handler),
        }
    }
    Ok((branches, otherwise))
}

pub(crate) fn select(input: TokenStream) -> TokenStream {
    expand(input).unwrap_or_else(|error| error)
}

fn expand(input: TokenStream) -> Result<TokenStream, TokenStream> {
    let tokens: Vec<TokenTree> = input.into_iter().collect();
    let semicolon = tokens
        .iter()
        .position(|t| is_punct(t, ';'))
        .ok_or_else(|| {
            error(
                Span::call_site(),
                "select!: internal input without a facade path",
            )
        })?;
    let root = collect(&tokens[..semicolon]);
    let mut rest = &tokens[semicolon + 1..];
    let biased = rest.first().is_some_and(|t| is_ident(t, "biased"))
        && rest.get(1).is_some_and(|t| is_punct(t, ';'));
    if biased {
        rest = &rest[2..];
    }
    let (branches, otherwise) = parse_branches(rest)?;
    if branches.is_empty() {
        return Err(error(
            Span::call_site(),
            "select!: needs at least one `pattern = future => handler` branch",
        ));
    }
    if branches.len() > MAX_BRANCHES {
        return Err(error(
            Span::call_site(),
            &format!("select!: at most {MAX_BRANCHES} branches"),
        ));
    }
    let count = branches.len();
    let mut code = String::new();
    let mut pieces: Vec<TokenStream> = Vec::new();
    // Each piece of user code is spliced in by index, so its spans (and hygiene) stay
    // the user's: `@N@` in `code` stands for `pieces[N]`.
    let mut splice = |stream: TokenStream| {
        pieces.push(stream);
        format!(" @{}@ ", pieces.len() - 1)
    };
    let root = splice(root);
    code.push_str(&format!(
        "let __seedloop_start: usize = {root}::__seedloop::select_start({count}, {biased});"
    ));
    let conditions: Vec<String> = branches
        .iter()
        .map(|branch| match &branch.condition {
            Some(condition) => format!("{{ {} }}", splice(condition.clone())),
            None => "true".to_string(),
        })
        .collect();
    code.push_str(&format!(
        "let mut __seedloop_enabled: [bool; {count}] = [{}];",
        conditions.join(", ")
    ));
    for (index, branch) in branches.iter().enumerate() {
        code.push_str(&format!(
            "let mut __seedloop_future_{index} = ::std::boxed::Box::pin({});",
            splice(branch.future.clone())
        ));
    }
    let generics: Vec<String> = (0..count).map(|index| format!("T{index}")).collect();
    let variants: Vec<String> = (0..count)
        .map(|index| format!("Branch{index}(T{index})"))
        .collect();
    code.push_str(&format!(
        "enum __SeedloopOutput<{}> {{ {}, Disabled }}",
        generics.join(", "),
        variants.join(", ")
    ));
    let mut arms = String::new();
    for (index, branch) in branches.iter().enumerate() {
        arms.push_str(&format!(
            "{index} => {{
                if !__seedloop_enabled[{index}] {{ continue; }}
                let ::core::task::Poll::Ready(__seedloop_value) =
                    ::core::future::Future::poll(__seedloop_future_{index}.as_mut(), __seedloop_context)
                else {{ continue; }};
                #[allow(unused_variables, unreachable_patterns, unused_mut)]
                match &__seedloop_value {{
                    {} => {{}}
                    _ => {{ __seedloop_enabled[{index}] = false; continue; }}
                }}
                return ::core::task::Poll::Ready(__SeedloopOutput::Branch{index}(__seedloop_value));
            }}",
            splice(branch.pattern.clone())
        ));
    }
    code.push_str(&format!(
        "let __seedloop_output = ::core::future::poll_fn(|__seedloop_context| {{
            for __seedloop_offset in 0..{count} {{
                match (__seedloop_start + __seedloop_offset) % {count} {{
                    {arms}
                    _ => ::core::unreachable!(),
                }}
            }}
            if __seedloop_enabled.iter().any(|enabled| *enabled) {{
                ::core::task::Poll::Pending
            }} else {{
                ::core::task::Poll::Ready(__SeedloopOutput::Disabled)
            }}
        }}).await;"
    ));
    for index in 0..count {
        code.push_str(&format!("::core::mem::drop(__seedloop_future_{index});"));
    }
    let mut handlers = String::new();
    for (index, branch) in branches.iter().enumerate() {
        handlers.push_str(&format!(
            "__SeedloopOutput::Branch{index}({}) => {{ {} }}",
            splice(branch.pattern.clone()),
            splice(branch.handler.clone())
        ));
    }
    let otherwise = match otherwise {
        Some(handler) => format!("{{ {} }}", splice(handler)),
        None => {
            "::core::panic!(\"all branches are disabled and there is no else branch\")".to_string()
        }
    };
    // A branch only returns an output that matched its pattern, so the patterns are
    // irrefutable here; the last arm tells the compiler so.
    code.push_str(&format!(
        "match __seedloop_output {{
            {handlers}
            __SeedloopOutput::Disabled => {otherwise},
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!(\"select!: a branch's output no longer matches its pattern\"),
        }}"
    ));
    let body = substitute(&code, &pieces);
    Ok(TokenTree::Group(Group::new(Delimiter::Brace, body)).into())
}

/// Parses `code` and replaces each `@N@` with `pieces[N]`, inside groups too.
fn substitute(code: &str, pieces: &[TokenStream]) -> TokenStream {
    let parsed: TokenStream = code.parse().expect("select! generated valid tokens");
    replace(parsed, pieces)
}

fn replace(stream: TokenStream, pieces: &[TokenStream]) -> TokenStream {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    let mut output = Vec::new();
    let mut index = 0;
    while index < tokens.len() {
        if let (
            Some(TokenTree::Punct(open)),
            Some(TokenTree::Literal(number)),
            Some(TokenTree::Punct(close)),
        ) = (
            tokens.get(index),
            tokens.get(index + 1),
            tokens.get(index + 2),
        ) {
            if open.as_char() == '@' && close.as_char() == '@' {
                if let Ok(piece) = number.to_string().parse::<usize>() {
                    output.extend(pieces[piece].clone());
                    index += 3;
                    continue;
                }
            }
        }
        match &tokens[index] {
            TokenTree::Group(group) => {
                let mut replaced = Group::new(group.delimiter(), replace(group.stream(), pieces));
                replaced.set_span(group.span());
                output.push(TokenTree::Group(replaced));
            }
            token => output.push(token.clone()),
        }
        index += 1;
    }
    output.into_iter().collect()
}
