//! Counts in messages: `1 schedule`, `3 schedules`. One helper, so that every report
//! says "1 event" and never "1 events".

/// `count` and `word`, with an `s` unless the count is one.
pub(crate) fn plural(count: u64, word: &str) -> String {
    match count {
        1 => format!("1 {word}"),
        _ => format!("{count} {word}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(plural(1, "event"), "1 event");
        assert_eq!(plural(0, "event"), "0 events");
        assert_eq!(plural(2, "seed"), "2 seeds");
    }
}
