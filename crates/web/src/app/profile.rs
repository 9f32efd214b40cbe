//! The profile: name, password, availability and notification settings
//! (kept in the browser, since they are about this device).

use askama::Template;
use axum::response::Response;

use super::{Layout, PageRejection, Viewer, render};

#[derive(Template)]
#[template(path = "app/profile.html")]
struct ProfilePage {
    layout: Layout,
    name: String,
    email: String,
    role: String,
}

/// `/w/{ws}/profile`
pub async fn page(viewer: Viewer) -> Result<Response, PageRejection> {
    Ok(render(&ProfilePage {
        layout: Layout::new(&viewer, "Profile", "profile", "page.js"),
        name: viewer.me.name.clone(),
        email: viewer.me.email.clone(),
        role: viewer.me.role.to_string(),
    }))
}
