//! An e-mail's HTML made safe to show inside our page: ammonia keeps
//! formatting (paragraphs, lists, tables, emphasis, links) and drops
//! scripts, styles, forms and frames. A remote image is a tracker until the
//! agent chooses to load it: it is kept with its address in
//! `data-remote-src`, which browsers do not fetch, and the page's "Load
//! images" puts it back (inline `cid:` images are shown as the message's
//! files). Links go only to the web or to mail, open apart from our page
//! and send no referrer.

use std::borrow::Cow;
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
        "img",
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
                // `data-remote-src` too: what we stored is sanitised again
                // when shown, and must come out the same.
                (
                    "img",
                    ["src", "data-remote-src", "alt", "width", "height"]
                        .into_iter()
                        .collect(),
                ),
            ]
            .into_iter()
            .collect(),
        )
        .attribute_filter(image_attribute)
        .url_schemes(schemes)
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string();
    let clean = defer_remote_images(&clean);
    let visible = clean.chars().any(|c| !c.is_whitespace()) && clean.len() <= MAX_HTML_BYTES;
    visible.then_some(clean)
}

/// An image's attributes as kept: a web address for `src` (no `cid:` or
/// `data:`), sizes as numbers, and no `>` in any value, so that
/// [`defer_remote_images`] can find where each image tag ends.
fn image_attribute<'a>(element: &str, attribute: &str, value: &'a str) -> Option<Cow<'a, str>> {
    if element != "img" {
        return Some(Cow::Borrowed(value));
    }
    match attribute {
        "src" | "data-remote-src" => {
            let web = value.starts_with("https://") || value.starts_with("http://");
            let safe = !value.contains(['<', '>', '"', '\'', '`']) && !value.contains(char::is_whitespace);
            (web && safe).then_some(Cow::Borrowed(value))
        }
        "width" | "height" => value
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then_some(Cow::Borrowed(value)),
        _ => Some(Cow::Owned(value.replace(['<', '>'], ""))),
    }
}

/// Each image's `src` renamed `data-remote-src`: shown only when the agent
/// asks. The input is ammonia's output, where a quote inside a value is
/// always `&quot;` and (see [`image_attribute`]) an image's values hold no
/// `>`.
fn defer_remote_images(clean: &str) -> String {
    let mut out = String::with_capacity(clean.len() + 64);
    let mut rest = clean;
    while let Some(start) = rest.find("<img ") {
        let tag_len = rest[start..].find('>').map_or(rest.len() - start, |end| end + 1);
        out.push_str(&rest[..start]);
        out.push_str(&rest[start..start + tag_len].replace(" src=\"", " data-remote-src=\""));
        rest = &rest[start + tag_len..];
    }
    out.push_str(rest);
    out
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
        assert!(
            clean.contains("<img data-remote-src=\"https://tracker.evil.example/p.png\">"),
            "{clean}"
        );
        assert!(!clean.contains(" src="), "{clean}");
        for gone in [
            "script",
            "stolen",
            "style",
            "display",
            "onclick",
            "https://evil.example",
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
    fn images_wait_for_the_agent_and_only_web_ones_stay() {
        let html = concat!(
            "<img alt=' src=\"https://a.example/x\" >' src='https://img.example/a.png?x=1&amp;y=2' width=10 height='1e9'>",
            "<img src='cid:part1@mail'><img src='data:image/png;base64,AAAA'><img src='javascript:alert(1)'>",
            "<img src='//img.example/rel.png'><p>after</p>"
        );
        let clean = sanitize_html(html).unwrap();
        // No attribute named src (an alt may say " src=" as text).
        assert!(!clean.contains(" src=\""), "{clean}");
        assert!(
            clean.contains("data-remote-src=\"https://img.example/a.png?x=1&amp;y=2\""),
            "{clean}"
        );
        assert_eq!(clean.matches("data-remote-src").count(), 1, "{clean}");
        assert!(clean.contains("width=\"10\""), "{clean}");
        for gone in ["1e9", "cid:", "data:", "javascript", "rel.png"] {
            assert!(!clean.contains(gone), "{gone} in {clean}");
        }
        assert!(clean.ends_with("<p>after</p>"), "{clean}");
        assert_eq!(
            sanitize_html(&clean).as_deref(),
            Some(clean.as_str()),
            "shown as stored"
        );
    }

    #[test]
    fn nothing_visible_is_nothing() {
        assert_eq!(sanitize_html("<script>x</script><style>p{}</style>"), None);
        assert_eq!(sanitize_html(&"a".repeat(5 * MAX_HTML_BYTES)), None);
    }
}
