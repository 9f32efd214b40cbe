//! @mentions in private notes and supervisor comments (DESIGN.md §1, §7):
//! `@` followed by a member's display name, in any letter case. Names may
//! contain spaces, so at each `@` the longest name that matches wins, and a
//! name must end where a word ends ("@Ana" does not mention Ana in
//! "@Anabel"). An `@` inside a word (an e-mail address) mentions nobody.

/// The members mentioned in `text`, each once, in order of first mention.
/// `members` pairs each member with their display name; two members with
/// the same name are both mentioned by it.
pub fn mentioned<T: Copy + PartialEq>(text: &str, members: &[(T, &str)]) -> Vec<T> {
    let mut found: Vec<T> = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts_word = !previous.is_some_and(char::is_alphanumeric);
        previous = Some(c);
        if c != '@' || !starts_word {
            continue;
        }
        let rest = &text[at + 1..];
        // The longest name that matches here, then everyone who has it.
        let mut best: Option<usize> = None;
        let mut who: Vec<T> = Vec::new();
        for (member, name) in members {
            let name = name.trim();
            if !matches_name(rest, name) {
                continue;
            }
            let chars = name.chars().count();
            match best {
                Some(b) if b > chars => {}
                Some(b) if b == chars => who.push(*member),
                _ => {
                    best = Some(chars);
                    who = vec![*member];
                }
            }
        }
        for member in who {
            if !found.contains(&member) {
                found.push(member);
            }
        }
    }
    found
}

/// Whether `text` starts with `name` (ignoring letter case) followed by the
/// end of the text or a character that is not a letter or digit.
fn matches_name(text: &str, name: &str) -> bool {
    if name.is_empty() {
        return false;
    }
    let mut rest = text.chars();
    for n in name.chars() {
        match rest.next() {
            Some(t) if t == n || t.to_lowercase().eq(n.to_lowercase()) => {}
            _ => return false,
        }
    }
    !rest.next().is_some_and(char::is_alphanumeric)
}

/// The first `max` characters of `text` (an excerpt for a notification).
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS: &[(u8, &str)] = &[
        (1, "Alice Smith"),
        (2, "Alice"),
        (3, "Bob"),
        (4, "Élodie Durand"),
        (5, "bob"),
    ];

    #[test]
    fn names_with_spaces_in_any_case_longest_first() {
        assert_eq!(mentioned("@Alice Smith please look", MEMBERS), [1]);
        assert_eq!(mentioned("@alice smith, please look", MEMBERS), [1]);
        // "Alice Smith" does not end at a word boundary here; "Alice" does.
        assert_eq!(mentioned("@Alice Smithers is here", MEMBERS), [2]);
        assert_eq!(mentioned("ask @Alice.", MEMBERS), [2]);
        assert_eq!(mentioned("@ÉLODIE DURAND?", MEMBERS), [4]);
    }

    #[test]
    fn each_member_once_in_order_and_same_names_together() {
        assert_eq!(mentioned("@Bob and @Alice Smith and @bob again", MEMBERS), [3, 5, 1]);
        assert_eq!(mentioned("@Alice @Alice Smith @alice", MEMBERS), [2, 1]);
    }

    #[test]
    fn no_mention_without_a_boundary_or_inside_a_word() {
        assert!(mentioned("@Bobby", MEMBERS).is_empty());
        assert!(mentioned("@Bob2", MEMBERS).is_empty());
        assert!(mentioned("mail bob@Alice.test", MEMBERS).is_empty());
        assert!(mentioned("@ Bob", MEMBERS).is_empty());
        assert!(mentioned("Bob", MEMBERS).is_empty());
        assert!(mentioned("@", MEMBERS).is_empty());
        assert_eq!(mentioned("(@Bob)", MEMBERS), [3, 5]);
        assert!(mentioned("@Bob", &[(1u8, "  ")]).is_empty());
    }

    #[test]
    fn excerpts_count_characters() {
        assert_eq!(excerpt("héllo", 2), "hé");
        assert_eq!(excerpt("hi", 140), "hi");
        assert_eq!(excerpt(&"é".repeat(200), 140).chars().count(), 140);
    }
}
