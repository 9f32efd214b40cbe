//! An e-mail's HTML made safe to show inside our page: ammonia keeps
//! formatting (paragraphs, lists, tables, emphasis, links) and drops
//! scripts, styles, forms, frames and images (a remote image is a tracker
//! until the agent chooses to load it, and inline ones are shown as the
//! message's files). Links go only to the web or to mail, open apart from
//! our page and send no referrer.

use std::collections::HashSet;

/// Formatted text kept per message.
const MAX_HTML_BYTES: usize = 256 * 1024;

/// The sanitised version of `html`; `None` when nothing visible is left
/// or it is too large to keep.
pub fn sanitize_html(html: &str) -> Option<String> {
    if html.len() > 4 * MAX_HTML_BYTES {
        return None;
    }
    let tags: HashSet<&str> = [
        "a",
        "b",
        "blockquote",
        "br",
        "code",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    ]
    .into_iter()
    .collect();
    let schemes: HashSet<&str> = ["http", "https", "mailto"].into_iter().collect();
    let clean = ammonia::Builder::default()
        .tags(tags)
        .clean_content_tags(["script", "style", "title", "head"].into_iter().collect())
        .generic_attributes(HashSet::new())
        .tag_attributes(
            [
                ("a", ["href"].into_iter().collect()),
                ("td", ["colspan", "rowspan"].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
        )
        .url_schemes(schemes)
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string();
    let visible = clean.chars().any(|c| !c.is_whitespace()) && clean.len() <= MAX_HTML_BYTES;
    visible.then_some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_stays_and_everything_active_goes() {
        let html = concat!(
            "<html><head><title>t</title><style>body{display:none}</style></head><body>",
            "<p style=\"position:fixed;top:0\" onclick=\"x()\">Hello <b>there</b></p>",
            "<script>alert('stolen')</script><img src=\"https://tracker.evil.example/p.png\">",
            "<a href=\"javascript:alert(1)\">bad</a> <a href=\"https://shop.example/o/42\">order</a>",
            "<iframe src=\"https://evil.example\"></iframe><form action=\"https://evil.example\"><input></form>",
            "<table><tr><td colspan=\"2\">cell</td></tr></table></body></html>"
        );
        let clean = sanitize_html(html).unwrap();
        assert!(clean.contains("<p>Hello <b>there</b></p>"), "{clean}");
        assert!(clean.contains("<td colspan=\"2\">cell</td>"), "{clean}");
        assert!(
            clean.contains("<a href=\"https://shop.example/o/42\" rel=\"noopener noreferrer nofollow\">order</a>"),
            "{clean}"
        );
        for gone in [
            "script",
            "stolen",
            "style",
            "display",
            "onclick",
            "img",
            "evil.example",
            "javascript",
            "iframe",
            "form",
            "input",
            "<title",
        ] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
    }

    #[test]
    fn nothing_visible_is_nothing() {
        assert_eq!(sanitize_html("<script>x</script><img src=x>"), None);
        assert_eq!(sanitize_html(&"a".repeat(5 * MAX_HTML_BYTES)), None);
    }
}
