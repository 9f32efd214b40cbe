//! Which conversation a threaded message (e-mail) continues when its
//! headers name nothing we know: the same sender writing under the same
//! subject, once the reply and forward prefixes mail programs add are gone.

/// Prefixes mail programs put before a subject they answer or forward, in
/// the languages our customers' programs most often use ("AW" and "WG" are
/// German Outlook's, "SV" and "VS" Scandinavian, "Antw" Dutch).
const PREFIXES: &[&str] = &["re", "fw", "fwd", "aw", "wg", "sv", "vs", "antw", "tr", "rv"];

/// A subject as threading compares it: without reply and forward prefixes
/// (any number, "Re[2]:" too), spaces collapsed, lower case. Empty when
/// nothing is left, and an empty key threads nothing.
pub fn subject_key(subject: &str) -> String {
    let mut rest = subject.trim();
    while let Some(colon) = rest.find(':') {
        let head = rest[..colon].trim();
        // "Re[2]" and "Re(2)" count as "Re".
        let word = head.split(['[', '(']).next().unwrap_or_default().trim();
        let counted = head.len() == word.len()
            || head[word.len()..]
                .trim_matches(|c: char| c == '[' || c == ']' || c == '(' || c == ')')
                .bytes()
                .all(|b| b.is_ascii_digit());
        if counted && PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(word)) {
            rest = rest[colon + 1..].trim_start();
        } else {
            break;
        }
    }
    rest.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::subject_key;

    #[test]
    fn reply_and_forward_prefixes_are_dropped() {
        assert_eq!(subject_key("Re: Order 42"), "order 42");
        assert_eq!(subject_key("RE: Fwd: re:  Order   42 "), "order 42");
        assert_eq!(subject_key("AW: WG: Order 42"), "order 42");
        assert_eq!(subject_key("Re[2]: Order 42"), "order 42");
        assert_eq!(subject_key("Order 42"), "order 42");
    }

    #[test]
    fn other_colons_stay() {
        assert_eq!(subject_key("Invoice: March"), "invoice: march");
        assert_eq!(subject_key("Re: Invoice: March"), "invoice: march");
        assert_eq!(subject_key("Ref: 42"), "ref: 42");
    }

    #[test]
    fn nothing_left_is_empty() {
        assert_eq!(subject_key("Re: "), "");
        assert_eq!(subject_key(""), "");
    }
}
