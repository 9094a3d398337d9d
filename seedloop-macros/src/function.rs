//! Reading an `async fn` item and attribute arguments from raw tokens.
//!
//! The macros here need only the outline of a function: its outer attributes, its
//! visibility, `async fn`, its name, its (empty) parameter list, its return type and
//! its body. That outline is read directly from the token stream, which keeps the
//! crate free of parser dependencies (and their build time): everything between the
//! name and the body is passed through untouched.

use proc_macro::{Delimiter, Group, Ident, Spacing, Span, TokenStream, TokenTree};

/// The parts of an `async fn` item.
pub(crate) struct AsyncFunction {
    /// Outer attributes and doc comments, as written.
    pub attributes: Vec<TokenTree>,
    /// `pub`, `pub(crate)`, ... or nothing.
    pub visibility: Vec<TokenTree>,
    pub name: Ident,
    /// The return type after `->`, if any.
    pub return_type: Option<TokenStream>,
    pub body: Group,
}

/// A compile error at `span` with `message`.
pub(crate) fn error(span: Span, message: &str) -> TokenStream {
    let mut literal = proc_macro::Literal::string(message);
    literal.set_span(span);
    let mut tokens: TokenStream = "::core::compile_error!".parse().expect("valid tokens");
    let mut group = Group::new(Delimiter::Parenthesis, TokenTree::Literal(literal).into());
    group.set_span(span);
    tokens.extend([TokenTree::Group(group), punct(';')]);
    tokens
}

pub(crate) fn punct(character: char) -> TokenTree {
    TokenTree::Punct(proc_macro::Punct::new(character, Spacing::Alone))
}

fn is_ident(token: &TokenTree, name: &str) -> bool {
    matches!(token, TokenTree::Ident(ident) if ident.to_string() == name)
}

fn is_punct(token: &TokenTree, character: char) -> bool {
    matches!(token, TokenTree::Punct(punct) if punct.as_char() == character)
}

/// Reads `item` as an `async fn` with no parameters; `what` names the macro in errors.
pub(crate) fn parse_async_function(
    item: TokenStream,
    what: &str,
) -> Result<AsyncFunction, TokenStream> {
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let mut index = 0;
    let mut attributes = Vec::new();
    // Outer attributes: `#` followed by a bracket group.
    while index + 1 < tokens.len() && is_punct(&tokens[index], '#') {
        attributes.push(tokens[index].clone());
        attributes.push(tokens[index + 1].clone());
        index += 2;
    }
    let mut visibility = Vec::new();
    if index < tokens.len() && is_ident(&tokens[index], "pub") {
        visibility.push(tokens[index].clone());
        index += 1;
        if let Some(TokenTree::Group(group)) = tokens.get(index) {
            if group.delimiter() == Delimiter::Parenthesis {
                visibility.push(tokens[index].clone());
                index += 1;
            }
        }
    }
    let span = tokens
        .get(index)
        .map_or_else(Span::call_site, TokenTree::span);
    if !(tokens.get(index).is_some_and(|t| is_ident(t, "async"))
        && tokens.get(index + 1).is_some_and(|t| is_ident(t, "fn")))
    {
        return Err(error(span, &format!("{what} goes on an `async fn`")));
    }
    index += 2;
    let Some(TokenTree::Ident(name)) = tokens.get(index).cloned() else {
        return Err(error(
            span,
            &format!("{what}: expected the function's name"),
        ));
    };
    index += 1;
    match tokens.get(index) {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Parenthesis => {
            if !group.stream().is_empty() {
                return Err(error(
                    group.span(),
                    &format!("{what}: the function must take no parameters"),
                ));
            }
            index += 1;
        }
        _ => {
            return Err(error(
                name.span(),
                &format!("{what}: generic functions are not supported"),
            ))
        }
    }
    let Some(TokenTree::Group(body)) = tokens.last().cloned() else {
        return Err(error(
            span,
            &format!("{what}: expected the function's body"),
        ));
    };
    if body.delimiter() != Delimiter::Brace {
        return Err(error(
            body.span(),
            &format!("{what}: expected the function's body"),
        ));
    }
    let between = &tokens[index..tokens.len() - 1];
    let return_type = match between {
        [] => None,
        [dash, arrow, rest @ ..] if is_punct(dash, '-') && is_punct(arrow, '>') => {
            if rest.iter().any(|token| is_ident(token, "where")) {
                return Err(error(
                    span,
                    &format!("{what}: `where` clauses are not supported"),
                ));
            }
            Some(rest.iter().cloned().collect())
        }
        _ => {
            return Err(error(
                between[0].span(),
                &format!("{what}: unexpected tokens before the body"),
            ))
        }
    };
    Ok(AsyncFunction {
        attributes,
        visibility,
        name,
        return_type,
        body,
    })
}

/// An attribute argument: `key = value` or a bare `key`.
pub(crate) struct Argument {
    pub key: Ident,
    pub value: Option<TokenTree>,
}

/// Reads comma-separated `key = literal` (or bare `key`) arguments.
pub(crate) fn parse_arguments(arguments: TokenStream) -> Result<Vec<Argument>, TokenStream> {
    let mut parsed = Vec::new();
    let mut tokens = arguments.into_iter().peekable();
    while let Some(token) = tokens.next() {
        let TokenTree::Ident(key) = token else {
            return Err(error(token.span(), "expected an argument name"));
        };
        let mut value = None;
        if tokens.peek().is_some_and(|t| is_punct(t, '=')) {
            tokens.next();
            match tokens.next() {
                Some(token) => value = Some(token),
                None => return Err(error(key.span(), "expected a value after `=`")),
            }
        }
        parsed.push(Argument { key, value });
        match tokens.next() {
            None => break,
            Some(token) if is_punct(&token, ',') => {}
            Some(token) => return Err(error(token.span(), "expected `,` between arguments")),
        }
    }
    Ok(parsed)
}

/// A string literal's contents (`"text"` -> `text`).
pub(crate) fn string_value(token: &TokenTree) -> Option<String> {
    let TokenTree::Literal(literal) = token else {
        return None;
    };
    let text = literal.to_string();
    text.strip_prefix('"')?
        .strip_suffix('"')
        .map(str::to_string)
}
