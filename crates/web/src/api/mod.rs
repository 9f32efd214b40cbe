//! The JSON API. Every route is declared once in [`api_routes`]: the router,
//! the OpenAPI document and the tests that walk every route (cross-workspace
//! and cross-team 404s) all read this one table.

pub mod archive;
pub mod assist;
pub mod attachments;
pub mod audit;
pub mod bots;
pub mod campaigns;
pub mod conversations;
pub mod directory;
pub mod exports;
pub mod health;
pub mod hooks;
pub mod notifications;
pub mod openapi;
pub mod outreach;
pub mod quick_replies;
pub mod reports;
pub mod saved_filters;
pub mod session;
pub mod templates;
pub mod transcripts;
pub mod webhooks;
pub mod widget;
pub mod ws;

use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, ErrorCode};

/// A plain list.
/// The headers of a file download: its type and `Content-Disposition`
/// (`attachment; filename="…"` or `inline; …`), never sniffed or cached.
pub fn download_headers(content_type: &'static str, disposition: &str) -> Result<axum::http::HeaderMap, ApiError> {
    use axum::http::HeaderValue;
    use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
    let disposition =
        HeaderValue::from_str(disposition).map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_DISPOSITION, disposition);
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(headers)
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// One page of a cursor-paginated list: pass `next_cursor` as `cursor` for
/// the next page; it is absent on the last page.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PageOut<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> From<switchboard_service::Page<T>> for PageOut<T> {
    fn from(p: switchboard_service::Page<T>) -> Self {
        Self {
            items: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

pub(crate) fn limit(raw: Option<u64>) -> Result<u64, ApiError> {
    match raw.unwrap_or(50) {
        n @ 1..=200 => Ok(n),
        _ => Err(ApiError::new(
            ErrorCode::InvalidInput,
            "limit: must be between 1 and 200",
        )),
    }
}

/// How a route authenticates its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteAuth {
    /// Anyone.
    Public,
    /// A session cookie or a bearer token.
    User,
    /// The channel's webhook signature.
    Signature,
    /// A web-chat visitor token (`Authorization: Bearer sbv1…`).
    Visitor,
}

pub(crate) type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// One route of the API.
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub operation_id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub auth: RouteAuth,
    pub request: Option<SchemaFn>,
    /// The query string's fields, documented as query parameters.
    pub query: Option<SchemaFn>,
    pub response: Option<SchemaFn>,
    pub success: u16,
    /// A valid request body, used by the docs and by tests that must get
    /// past body validation to reach the permission check.
    pub example: Option<serde_json::Value>,
    /// The body is a file (raw bytes, any type the upload rules allow); the
    /// document shows a text file, the one type any content may be.
    pub file_body: bool,
    /// A WebSocket endpoint: OpenAPI has no operation for it, so the
    /// document lists it apart (`x-websockets`) instead of as a GET.
    pub websocket: bool,
    pub router: fn() -> MethodRouter<AppState>,
}

impl std::fmt::Debug for ApiRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl ApiRoute {
    fn new(
        method: Method,
        path: &'static str,
        operation_id: &'static str,
        tag: &'static str,
        summary: &'static str,
        router: fn() -> MethodRouter<AppState>,
    ) -> Self {
        let success = if method == Method::DELETE { 204 } else { 200 };
        Self {
            method,
            path,
            operation_id,
            tag,
            summary,
            auth: RouteAuth::User,
            request: None,
            query: None,
            response: None,
            success,
            example: None,
            websocket: false,
            file_body: false,
            router,
        }
    }
    fn file_body(mut self) -> Self {
        self.file_body = true;
        self
    }
    fn websocket(mut self) -> Self {
        self.websocket = true;
        self
    }
    fn req<T: JsonSchema>(mut self, example: serde_json::Value) -> Self {
        self.request = Some(schema_of::<T>);
        self.example = Some(example);
        self
    }
    fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_of::<T>);
        self
    }
    fn resp<T: JsonSchema>(mut self) -> Self {
        self.response = Some(schema_of::<T>);
        self
    }
    fn created(self) -> Self {
        self.status(201)
    }
    fn status(mut self, success: u16) -> Self {
        self.success = success;
        self
    }
    fn no_content(mut self) -> Self {
        self.success = 204;
        self.response = None;
        self
    }
    fn auth(mut self, auth: RouteAuth) -> Self {
        self.auth = auth;
        self
    }
}

macro_rules! ws_path {
    ($rest:literal) => {
        concat!("/api/v1/workspaces/{workspace_id}", $rest)
    };
}

/// Every API route.
pub fn api_routes() -> Vec<ApiRoute> {
    use conversations as conv;
    use directory as dir;
    use switchboard_core::{ApiToken, Channel, Contact, Conversation, Member, Message, Tag, Team};
    use switchboard_service as svc;
    let m = Method::GET;
    let p = Method::POST;
    let pa = Method::PATCH;
    let d = Method::DELETE;
    vec![
        ApiRoute::new(m.clone(), "/healthz", "health", "system", "The process is up", || get(health::healthz)).auth(RouteAuth::Public).resp::<health::Health>(),
        ApiRoute::new(m.clone(), "/readyz", "ready", "system", "The process can serve (database reachable)", || get(health::readyz)).auth(RouteAuth::Public).resp::<health::Health>(),
        ApiRoute::new(m.clone(), "/api/v1/openapi.json", "openapi", "system", "This document", || get(openapi::document)).auth(RouteAuth::Public),
        ApiRoute::new(p.clone(), "/api/v1/auth/login", "login", "session", "Sign in; sets the session cookie", || post(session::login))
            .auth(RouteAuth::Public)
            .req::<session::LoginRequest>(json!({"email": "ana@example.com", "password": "correct horse battery"}))
            .resp::<session::Me>(),
        ApiRoute::new(p.clone(), "/api/v1/auth/logout", "logout", "session", "End this session", || post(session::logout)).no_content(),
        ApiRoute::new(
            m.clone(),
            "/api/v1/ws",
            "eventStream",
            "events",
            "WebSocket stream of the workspace's events (`?workspace_id=…&since=…`)",
            || get(ws::stream),
        ).query::<ws::StreamQuery>().websocket(),
        ApiRoute::new(m.clone(), "/api/v1/me", "me", "session", "The caller and their workspaces", || get(session::me)).resp::<session::Me>(),
        ApiRoute::new(p.clone(), "/api/v1/me/password", "changePassword", "session", "Change one's password (ends the user's other sessions)", || post(session::change_password))
            .req::<session::PasswordChange>(json!({"current_password": "correct horse battery", "new_password": "another long password"}))
            .no_content(),
        ApiRoute::new(m.clone(), "/hooks/{kind}/{channel_id}/files/{attachment_id}", "channelFile", "hooks", "A file sent to a channel's receiver (the API channel's), by the signed link in the callback (`?expires=&signature=`); 401 for a wrong signature, 403 once expired", || get(hooks::channel_file))
            .auth(RouteAuth::Signature)
            .query::<hooks::FileLink>(),
        ApiRoute::new(m.clone(), "/hooks/{kind}/{channel_id}", "verifyHook", "hooks", "Provider handshake (e.g. a verify-token challenge), answered by the channel's adapter; the API channel answers 405", || get(hooks::receive))
            .auth(RouteAuth::Signature),
        ApiRoute::new(p.clone(), "/hooks/{kind}/{channel_id}", "receiveHook", "hooks", "Provider webhook (signed; JSON, form or what the provider sends), answered by the channel's adapter", || post(hooks::receive))
            .auth(RouteAuth::Signature)
            .req::<serde_json::Value>(json!({"message_id": "m-1", "contact": {"id": "c-1"}, "text": "hello"}))
            .resp::<hooks::HookAnswer>(),
        // web-chat widget (visitors)
        ApiRoute::new(p.clone(), "/widget/v1/session", "visitorSession", "widget", "Start or continue a widget visitor session", || post(widget::session))
            .auth(RouteAuth::Public)
            .req::<switchboard_service::widget::SessionRequest>(json!({"channel_id": "00000000-0000-0000-0000-000000000000"}))
            .resp::<switchboard_service::widget::VisitorSession>(),
        ApiRoute::new(m.clone(), "/widget/v1/conversations", "visitorConversations", "widget", "The visitor's conversations", || get(widget::conversations))
            .auth(RouteAuth::Visitor)
            .resp::<Items<switchboard_service::widget::VisitorConversation>>(),
        ApiRoute::new(m.clone(), "/widget/v1/conversations/{conversation_id}/messages", "visitorMessages", "widget", "Messages of one of the visitor's conversations", || get(widget::messages))
            .auth(RouteAuth::Visitor)
            .resp::<Items<switchboard_service::widget::VisitorMessage>>(),
        ApiRoute::new(p.clone(), "/widget/v1/messages", "visitorSend", "widget", "The visitor writes (deduplicated by client_id)", || post(widget::send))
            .auth(RouteAuth::Visitor)
            .req::<switchboard_service::widget::VisitorSend>(json!({"text": "Hello!", "client_id": "c-1"}))
            .resp::<switchboard_service::IngestOutcome>()
            .created(),
        ApiRoute::new(p.clone(), "/widget/v1/conversations/{conversation_id}/ack", "visitorAck", "widget", "The widget received or showed messages up to one", || post(widget::ack))
            .auth(RouteAuth::Visitor)
            .req::<widget::AckRequest>(json!({"up_to": "00000000-0000-0000-0000-000000000000", "status": "read"}))
            .no_content(),
        ApiRoute::new(p.clone(), "/widget/v1/conversations/{conversation_id}/attachments", "visitorUpload", "widget", "The visitor sends a file (raw body, `?filename=`)", || post(widget::upload)).query::<attachments::UploadQuery>()
            .auth(RouteAuth::Visitor)
            .resp::<switchboard_core::MessageView>()
            .created(),
        ApiRoute::new(m.clone(), "/widget/v1/attachments/{attachment_id}", "visitorDownload", "widget", "A file of the visitor's conversations", || get(widget::download))
            .auth(RouteAuth::Visitor),
        ApiRoute::new(m.clone(), "/widget/v1/attachments/{attachment_id}/preview", "visitorDownloadPreview", "widget", "The preview of an image of the visitor's conversations (the attachment's `preview_url` is set when there is one; 404 otherwise)", || get(widget::preview))
            .auth(RouteAuth::Visitor),
        ApiRoute::new(m.clone(), "/widget/v1/ws", "visitorStream", "widget", "WebSocket feed of the visitor's conversations (`?token=…`)", || get(widget::stream)).query::<widget::StreamQuery>().websocket()
            .auth(RouteAuth::Public),
        // members
        ApiRoute::new(m.clone(), ws_path!("/users"), "listUsers", "users", "Members of the workspace", || get(dir::list_members)).resp::<Items<Member>>(),
        ApiRoute::new(p.clone(), ws_path!("/users"), "inviteUser", "users", "Invite someone (admin): 202 with the link to give them (`accept_url`, shown once); they are a member only once they accept. The answer is the same whether or not the address has an account", || post(dir::invite_member))
            .req::<svc::MemberInput>(json!({"email": "new.agent@example.com", "name": "New Agent", "role": "agent"}))
            .resp::<svc::CreatedInvitation>()
            .status(202),
        ApiRoute::new(m.clone(), ws_path!("/invitations"), "listInvitations", "users", "Invitations not accepted yet (admin)", || get(dir::list_invitations)).resp::<Items<svc::Invitation>>(),
        ApiRoute::new(d.clone(), ws_path!("/invitations/{invitation_id}"), "revokeInvitation", "users", "Withdraw an invitation not accepted yet (admin)", || delete(dir::revoke_invitation)),
        ApiRoute::new(p.clone(), "/api/v1/invitations/accept", "acceptInvitation", "users", "Accept an invitation with its token: the account's password, or for a new address the owner's `name` and a new password (at least 10 characters); 404 for a used, withdrawn or expired link", || post(dir::accept_invitation))
            .auth(RouteAuth::Public)
            .req::<svc::AcceptInvitation>(json!({"token": "…", "name": "Ana", "password": "a long password"}))
            .resp::<dir::Accepted>(),
        ApiRoute::new(m.clone(), ws_path!("/users/{user_id}"), "getUser", "users", "One member", || get(dir::get_member)).resp::<Member>(),
        ApiRoute::new(pa.clone(), ws_path!("/users/{user_id}"), "updateUser", "users", "Change role, capacity, display name here (admin), one's own account name or availability (self)", || patch(dir::update_member))
            .req::<svc::MemberUpdate>(json!({"availability": "online"}))
            .resp::<Member>(),
        ApiRoute::new(d.clone(), ws_path!("/users/{user_id}"), "removeUser", "users", "Remove a member (admin)", || delete(dir::remove_member)),
        // teams
        ApiRoute::new(m.clone(), ws_path!("/teams"), "listTeams", "teams", "Teams", || get(dir::list_teams)).resp::<Items<Team>>(),
        ApiRoute::new(p.clone(), ws_path!("/teams"), "createTeam", "teams", "Create a team (admin)", || post(dir::create_team))
            .req::<svc::TeamInput>(json!({"name": "Billing", "assignment_rule": "round_robin"}))
            .resp::<Team>()
            .created(),
        ApiRoute::new(m.clone(), ws_path!("/teams/{team_id}"), "getTeam", "teams", "One team", || get(dir::get_team)).resp::<Team>(),
        ApiRoute::new(pa.clone(), ws_path!("/teams/{team_id}"), "updateTeam", "teams", "Rename or change the assignment rule (admin)", || patch(dir::update_team))
            .req::<svc::TeamUpdate>(json!({"assignment_rule": "least_busy"}))
            .resp::<Team>(),
        ApiRoute::new(d.clone(), ws_path!("/teams/{team_id}"), "deleteTeam", "teams", "Delete a team (admin)", || delete(dir::delete_team)),
        ApiRoute::new(Method::PUT, ws_path!("/teams/{team_id}/members/{user_id}"), "addTeamMember", "teams", "Add a member to a team (admin)", || put(dir::add_team_member)).resp::<Team>(),
        ApiRoute::new(d.clone(), ws_path!("/teams/{team_id}/members/{user_id}"), "removeTeamMember", "teams", "Remove a member from a team (admin)", || delete(dir::remove_team_member))
            .resp::<Team>()
            .status(200),
        // channels
        ApiRoute::new(m.clone(), ws_path!("/channels/hook-status"), "channelHookStatuses", "channels", "When each channel's provider last reached its hook, and the last request refused with why (admins; channels never called are absent)", || get(dir::channel_hook_statuses)).resp::<Items<svc::ChannelHookStatus>>(),
        ApiRoute::new(m.clone(), ws_path!("/channels"), "listChannels", "channels", "Channels (credentials never included)", || get(dir::list_channels)).resp::<Items<Channel>>(),
        ApiRoute::new(p.clone(), ws_path!("/channels"), "createChannel", "channels", "Connect a channel (admin); the secret is returned once", || post(dir::create_channel))
            .req::<svc::ChannelInput>(json!({"kind": "api", "name": "Shop backend", "callback_url": "https://shop.example.com/switchboard"}))
            .resp::<svc::CreatedChannel>()
            .created(),
        ApiRoute::new(m.clone(), ws_path!("/channels/{channel_id}"), "getChannel", "channels", "One channel", || get(dir::get_channel)).resp::<Channel>(),
        ApiRoute::new(pa.clone(), ws_path!("/channels/{channel_id}"), "updateChannel", "channels", "Change a channel (admin); `rotate_secret` returns a new secret once", || patch(dir::update_channel))
            .req::<svc::ChannelUpdate>(json!({"name": "Shop"}))
            .resp::<svc::CreatedChannel>(),
        ApiRoute::new(d.clone(), ws_path!("/channels/{channel_id}"), "deleteChannel", "channels", "Delete a channel (admin)", || delete(dir::delete_channel)),
        ApiRoute::new(p.clone(), ws_path!("/channels/{channel_id}/check"), "checkChannel", "channels", "Ask the provider whether the channel's account works (admin): what it is connected to, or exactly what is wrong", || post(dir::check_channel))
            .resp::<svc::ConnectionCheck>(),
        ApiRoute::new(p.clone(), ws_path!("/channels/{channel_id}/templates/sync"), "syncChannelTemplates", "templates", "Bring the provider's templates for the channel into the workspace's (admin): added, updated, unchanged, and each one skipped with why", || post(dir::sync_templates))
            .resp::<svc::TemplateSync>(),
        ApiRoute::new(Method::PUT, ws_path!("/channels/{channel_id}/bot"), "setChannelBot", "channels", "Give the channel a bot (admin): a flow in YAML or JSON (422 `invalid_bot_flow` lists each problem with its line), or an external bot's URL (its signing secret is returned once)", || put(bots::set))
            .req::<svc::BotInput>(json!({"kind": "flow", "source": "steps:\n  menu:\n    say: How can we help?\n    options:\n      - label: Talk to a person\n        handoff: true\n"}))
            .resp::<svc::SavedBot>(),
        ApiRoute::new(d.clone(), ws_path!("/channels/{channel_id}/bot"), "removeChannelBot", "channels", "Remove the channel's bot (admin); its chats go to people", || delete(bots::remove)),
        // contacts
        ApiRoute::new(m.clone(), ws_path!("/contacts"), "listContacts", "contacts", "Contacts, newest first, each with its tags; `q` searches, `tag` (a tag's name) and `channel_id` (an identity on that channel) filter, all composable", || get(dir::list_contacts)).resp::<PageOut<Contact>>().query::<dir::ContactListQuery>(),
        ApiRoute::new(p.clone(), ws_path!("/contacts"), "createContact", "contacts", "Save a contact", || post(dir::create_contact))
            .req::<svc::ContactInput>(json!({"name": "Ana Lima", "phone": "+5511999990000"}))
            .resp::<Contact>()
            .created(),
        ApiRoute::new(m.clone(), ws_path!("/contacts/{contact_id}"), "getContact", "contacts", "One contact", || get(dir::get_contact)).resp::<Contact>(),
        ApiRoute::new(pa.clone(), ws_path!("/contacts/{contact_id}"), "updateContact", "contacts", "Change a contact; `tags` (names of defined tags, else 422) replaces its tags", || patch(dir::update_contact))
            .req::<svc::ContactInput>(json!({"country": "BR"}))
            .resp::<Contact>(),
        ApiRoute::new(p.clone(), ws_path!("/contacts/{contact_id}/conversations"), "startConversation", "contacts", "Start a conversation with the contact on a channel where they have an identity (422 naming `channel_id` otherwise), assigned to the caller, with a first message: a `body`, or a `template_id` with its `params` (where the channel's messaging window is closed, as it is until the customer writes, only a template). Agents and admins; agents on their teams' channels. 409 naming the open conversation's id when the contact already has one on that channel", || post(outreach::start))
            .req::<svc::StartConversation>(json!({"channel_id": "00000000-0000-0000-0000-000000000000", "body": "Hello! Your order is ready for pickup."}))
            .resp::<Conversation>()
            .created(),
        // tags
        ApiRoute::new(m.clone(), ws_path!("/tags"), "listTags", "tags", "Tags", || get(dir::list_tags)).resp::<Items<Tag>>(),
        ApiRoute::new(p.clone(), ws_path!("/tags"), "createTag", "tags", "Define a tag (admin, supervisor)", || post(dir::create_tag))
            .req::<dir::TagInput>(json!({"name": "vip", "color": "#aa3300"}))
            .resp::<Tag>()
            .created(),
        ApiRoute::new(d.clone(), ws_path!("/tags/{tag_id}"), "deleteTag", "tags", "Delete a tag (admin, supervisor)", || delete(dir::delete_tag)),
        // quick replies
        ApiRoute::new(m.clone(), ws_path!("/quick-replies"), "listQuickReplies", "quick-replies", "Quick replies the caller may use: their personal ones, their teams' (admins: every team's) and the workspace's, by shortcut", || get(quick_replies::list)).resp::<Items<switchboard_core::QuickReplyView>>(),
        ApiRoute::new(p.clone(), ws_path!("/quick-replies"), "createQuickReply", "quick-replies", "Create a quick reply: personal (anyone), team (the team's supervisors, admins) or workspace (admins); 409 when the shortcut is taken in that scope", || post(quick_replies::create))
            .req::<svc::QuickReplyInput>(json!({"scope": "personal", "shortcut": "thanks", "text": "Thank you for writing to us!"}))
            .resp::<switchboard_core::QuickReplyView>()
            .created(),
        ApiRoute::new(pa.clone(), ws_path!("/quick-replies/{quick_reply_id}"), "updateQuickReply", "quick-replies", "Change a quick reply's shortcut, text or attachment (same rights as creating it)", || patch(quick_replies::update))
            .req::<svc::QuickReplyUpdate>(json!({"text": "Thanks a lot for writing to us!"}))
            .resp::<switchboard_core::QuickReplyView>(),
        ApiRoute::new(d.clone(), ws_path!("/quick-replies/{quick_reply_id}"), "deleteQuickReply", "quick-replies", "Delete a quick reply (same rights as creating it)", || delete(quick_replies::delete)),
        // API tokens
        ApiRoute::new(m.clone(), ws_path!("/api-tokens"), "listApiTokens", "api-tokens", "The caller's API tokens", || get(dir::list_tokens)).resp::<Items<ApiToken>>(),
        ApiRoute::new(p.clone(), ws_path!("/api-tokens"), "createApiToken", "api-tokens", "Create an API token; the secret is returned once", || post(dir::create_token))
            .req::<dir::TokenInput>(json!({"name": "CRM sync"}))
            .resp::<svc::NewToken>()
            .created(),
        ApiRoute::new(d.clone(), ws_path!("/api-tokens/{token_id}"), "revokeApiToken", "api-tokens", "Revoke an API token", || delete(dir::revoke_token)),
        // notifications (the caller's own)
        ApiRoute::new(m.clone(), ws_path!("/notifications"), "listNotifications", "notifications", "The caller's notifications (mentions, assignments), newest first, cursor-paginated; `unread=true` for unread ones only. `unread_count` counts all the caller's unread ones in the workspace; `notification.created` events bring new ones", || get(notifications::list)).resp::<svc::NotificationList>().query::<svc::NotificationQuery>(),
        ApiRoute::new(p.clone(), ws_path!("/notifications/read"), "markNotificationsRead", "notifications", "Mark the caller's notifications read: `{\"ids\": [...]}` (others' ids are ignored) or `{\"all\": true}`", || post(notifications::mark_read))
            .req::<svc::MarkNotificationsRead>(json!({"all": true}))
            .no_content(),
        // outgoing webhooks and workspace settings (admin)
        ApiRoute::new(m.clone(), ws_path!("/webhooks"), "listWebhooks", "webhooks", "Outgoing webhooks (admin; secrets never included)", || get(webhooks::list)).resp::<Items<svc::Webhook>>(),
        ApiRoute::new(p.clone(), ws_path!("/webhooks"), "createWebhook", "webhooks", "Register an outgoing webhook (admin); the signing secret is returned once", || post(webhooks::create))
            .req::<svc::WebhookInput>(json!({"url": "https://crm.example.com/switchboard-events", "events": ["conversation.created", "message.created"], "description": "CRM sync"}))
            .resp::<svc::CreatedWebhook>()
            .created(),
        ApiRoute::new(m.clone(), ws_path!("/webhooks/{webhook_id}"), "getWebhook", "webhooks", "One outgoing webhook (admin)", || get(webhooks::get)).resp::<svc::Webhook>(),
        ApiRoute::new(pa.clone(), ws_path!("/webhooks/{webhook_id}"), "updateWebhook", "webhooks", "Change an outgoing webhook (admin); `rotate_secret` returns a new secret once", || patch(webhooks::update))
            .req::<svc::WebhookUpdate>(json!({"enabled": false}))
            .resp::<svc::CreatedWebhook>(),
        ApiRoute::new(d.clone(), ws_path!("/webhooks/{webhook_id}"), "deleteWebhook", "webhooks", "Delete an outgoing webhook and its delivery log (admin)", || delete(webhooks::delete)),
        ApiRoute::new(m.clone(), ws_path!("/webhooks/{webhook_id}/deliveries"), "listWebhookDeliveries", "webhooks", "The webhook's delivery log, newest first (admin)", || get(webhooks::deliveries)).resp::<PageOut<svc::WebhookDelivery>>().query::<webhooks::DeliveryListQuery>(),
        ApiRoute::new(p.clone(), ws_path!("/webhooks/{webhook_id}/test"), "sendWebhookTestEvent", "webhooks", "Send a `webhook.test` event to this webhook only (admin)", || post(webhooks::send_test))
            .resp::<svc::WebhookDelivery>()
            .status(202),
        ApiRoute::new(m.clone(), ws_path!("/settings"), "getWorkspaceSettings", "settings", "Workspace settings (admin)", || get(webhooks::get_settings)).resp::<svc::WorkspaceSettings>(),
        ApiRoute::new(pa.clone(), ws_path!("/settings"), "updateWorkspaceSettings", "settings", "Change workspace settings (admin), e.g. allow webhooks to private addresses", || patch(webhooks::update_settings))
            .req::<svc::WorkspaceSettingsUpdate>(json!({"allow_private_targets": false}))
            .resp::<svc::WorkspaceSettings>(),
        // campaigns (admins)
        ApiRoute::new(m.clone(), ws_path!("/campaigns"), "listCampaigns", "campaigns", "Campaigns, newest first, each with its ledger counted by status (admin)", || get(campaigns::list)).resp::<PageOut<svc::CampaignView>>().query::<campaigns::CampaignListQuery>(),
        ApiRoute::new(p.clone(), ws_path!("/campaigns"), "createCampaign", "campaigns", "Send an approved template to the contacts of a tag or a search, or the rows of a CSV (admin); bad CSV rows come back in `rejected_rows`, opted-out people are skipped", || post(campaigns::create))
            .req::<svc::CampaignInput>(json!({"name": "Spring sale", "channel_id": "0190b5a0-0000-7000-8000-000000000001", "template_id": "0190b5a0-0000-7000-8000-000000000002", "tag": "vip", "values": {"body": [{"from": "field", "field": "name"}]}, "rate_per_second": 20}))
            .resp::<svc::CreatedCampaign>()
            .created(),
        ApiRoute::new(m.clone(), ws_path!("/campaigns/{campaign_id}"), "getCampaign", "campaigns", "A campaign with its live counts (admin)", || get(campaigns::get)).resp::<svc::CampaignView>(),
        ApiRoute::new(m.clone(), ws_path!("/campaigns/{campaign_id}/recipients"), "listCampaignRecipients", "campaigns", "The per-recipient ledger in audience order, `status` filters (admin)", || get(campaigns::recipients)).resp::<svc::RecipientPage>().query::<svc::RecipientQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/campaigns/{campaign_id}/recipients.csv"), "exportCampaignRecipients", "campaigns", "The ledger as CSV (`text/csv`, formula cells neutralised) (admin)", || get(campaigns::export)),
        ApiRoute::new(p.clone(), ws_path!("/campaigns/{campaign_id}/actions"), "actOnCampaign", "campaigns", "Pause, resume, cancel, or `retry_failed` (queue the failed recipients again) (admin)", || post(campaigns::act))
            .req::<campaigns::CampaignActionRequest>(json!({"action": "pause"}))
            .resp::<svc::CampaignView>(),
        // message templates (every member lists and previews them; admins manage them)
        ApiRoute::new(m.clone(), ws_path!("/templates"), "listTemplates", "templates", "Message templates by name and language; `channel` keeps those usable on that channel, `status` filters", || get(templates::list)).resp::<Items<switchboard_core::template::MessageTemplate>>().query::<svc::TemplateQuery>(),
        ApiRoute::new(p.clone(), ws_path!("/templates"), "createTemplate", "templates", "Create a message template (admin): placeholders {{1}}, {{2}}, … numbered from 1; status `approved` unless given", || post(templates::create))
            .req::<svc::TemplateInput>(json!({"name": "order_update", "language": "en_US", "category": "utility", "body": "Hi {{1}}, your order {{2}} is on its way."}))
            .resp::<switchboard_core::template::MessageTemplate>()
            .created(),
        ApiRoute::new(m.clone(), ws_path!("/templates/{template_id}"), "getTemplate", "templates", "One message template", || get(templates::get)).resp::<switchboard_core::template::MessageTemplate>(),
        ApiRoute::new(pa.clone(), ws_path!("/templates/{template_id}"), "updateTemplate", "templates", "Change a message template (admin); `any_channel: true` removes its channel", || patch(templates::update))
            .req::<svc::TemplateUpdate>(json!({"status": "approved"}))
            .resp::<switchboard_core::template::MessageTemplate>(),
        ApiRoute::new(d.clone(), ws_path!("/templates/{template_id}"), "deleteTemplate", "templates", "Delete a message template (admin)", || delete(templates::delete)),
        ApiRoute::new(p.clone(), ws_path!("/templates/{template_id}/preview"), "previewTemplate", "templates", "The template's text with `values` filling {{1}}, {{2}}, … (422 naming `values` when their number is wrong)", || post(templates::preview))
            .req::<svc::TemplatePreviewRequest>(json!({"values": ["Ana", "A-123"]}))
            .resp::<svc::TemplatePreview>(),
        // audit log (admin)
        ApiRoute::new(m.clone(), ws_path!("/audit-log"), "listAuditLog", "audit", "Who did what to which record, newest first (admin); `action` filters, e.g. `member.role_changed`", || get(audit::list)).resp::<PageOut<svc::AuditLogEntry>>().query::<audit::AuditLogQuery>(),
        // conversation transcript
        ApiRoute::new(m.clone(), ws_path!("/conversations/{conversation_id}/transcript"), "downloadTranscript", "conversations", "The conversation as a file: plain text (default, `text/plain; charset=utf-8`, an attachment), `format=html` (a readable, printable page with image previews, shown inline) `format=json` (every entry with its author, activities and attachment metadata) or `format=zip` (both with every attachment under `files/`); `notes=false` leaves private notes and comments out; same reach as the conversation", || get(transcripts::download)).query::<transcripts::TranscriptQuery>(),
        // conversations
        ApiRoute::new(m.clone(), ws_path!("/conversations"), "listConversations", "conversations", "Conversations the caller may see, newest first", || get(conv::list)).resp::<PageOut<Conversation>>().query::<svc::ConversationQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/conversations/{conversation_id}/hold"), "getLegalHold", "archive", "Whether the conversation is on legal hold (kept out of every purge), by itself or through its contact", || get(archive::hold)).resp::<svc::HoldState>(),
        ApiRoute::new(Method::PUT, ws_path!("/conversations/{conversation_id}/hold"), "setLegalHold", "archive", "Put the conversation on legal hold or lift it (admin; audited)", || put(archive::set_hold))
            .req::<svc::HoldRequest>(json!({"held": true}))
            .resp::<svc::HoldState>(),
        ApiRoute::new(Method::PUT, ws_path!("/contacts/{contact_id}/hold"), "setContactLegalHold", "archive", "Put a contact, and so all their conversations, on legal hold or lift it (admin; audited)", || put(archive::set_contact_hold))
            .req::<svc::HoldRequest>(json!({"held": true}))
            .no_content(),
        ApiRoute::new(d.clone(), ws_path!("/conversations/{conversation_id}"), "deleteConversation", "archive", "Delete the conversation for good: messages, notes, attachments, search entries and the stored files nothing else uses (admin; audited; 409 while on legal hold)", || delete(archive::delete_conversation)).resp::<svc::Deleted>().status(200),
        ApiRoute::new(d.clone(), ws_path!("/contacts/{contact_id}"), "eraseContact", "archive", "Erase a contact (a data-subject request): all their conversations as a permanent delete does, then the contact (admin; audited; 409 while anything of theirs is on legal hold)", || delete(archive::erase_contact)).resp::<svc::Deleted>().status(200),
        ApiRoute::new(m.clone(), ws_path!("/archives"), "listMonthlyArchives", "archive", "The months written to storage (workspace setting `monthly_archive`), newest first (admin)", || get(archive::monthly_archives)).resp::<Items<svc::MonthlyArchiveView>>(),
        ApiRoute::new(m.clone(), ws_path!("/archives/{month}"), "downloadMonthlyArchive", "archive", "A month's ZIP: `conversations/<id>.json` and `files/<id>/…` (admin)", || get(archive::download_monthly_archive)),
        ApiRoute::new(m.clone(), ws_path!("/retention/preview"), "previewRetention", "archive", "A dry run of the next retention purge: how many conversations and files it would delete, the oldest first (admin)", || get(archive::retention_preview)).resp::<svc::RetentionPreview>(),
        ApiRoute::new(m.clone(), ws_path!("/exports/conversations.csv"), "exportConversationsCsv", "archive", "The conversations the filters and search match (the list's parameters; `limit` and `cursor` ignored), one CSV row each with the columns of DESIGN.md §8, streamed; cells that would run as spreadsheet formulas start with `'`; audited", || get(exports::csv)).query::<svc::ConversationQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/exports/conversations.xlsx"), "exportConversationsXlsx", "archive", "The same rows as an Excel workbook, streamed; audited", || get(exports::xlsx)).query::<svc::ConversationQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/exports/conversations.jsonl"), "exportConversationsJsonl", "archive", "The same rows as JSON Lines, streamed; audited", || get(exports::jsonl)).query::<svc::ConversationQuery>(),
        // AI assist
        ApiRoute::new(m.clone(), ws_path!("/assist/settings"), "getAssistSettings", "assist", "The workspace's AI provider (admin): base URL, model, whether a key is set (never the key), timeout, the actions offered, and what is sent", || get(assist::settings)).resp::<svc::AssistSettingsView>(),
        ApiRoute::new(Method::PUT, ws_path!("/assist/settings"), "setAssistSettings", "assist", "Set the workspace's OpenAI-compatible provider (admin; audited). The API key is sealed with the server's secret key and never shown again; leave `api_key` out to keep it, `\"\"` to remove it", || put(assist::update_settings))
            .req::<svc::AssistSettingsInput>(json!({"base_url": "https://api.example.com/v1", "model": "small-model", "api_key": "sk-example"}))
            .resp::<svc::AssistSettingsView>(),
        ApiRoute::new(p.clone(), ws_path!("/assist/test"), "testAssist", "assist", "Call the provider once and say what failed, if anything: `dns`, `refused`, `tls`, `unauthorized`, `model_not_found`, `timeout`, `not_compatible`, `rate_limited`, `provider_failed` (admin)", || post(assist::test)).resp::<svc::AssistCheck>(),
        ApiRoute::new(m.clone(), ws_path!("/assist/calls"), "listAssistCalls", "assist", "Every call to the provider, newest first: who, action, model, tokens when reported, latency, outcome; the texts only when the admin keeps them (admin)", || get(assist::calls)).resp::<PageOut<svc::AssistCall>>().query::<assist::CallListQuery>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/assist"), "runAssist", "assist", "Rephrase, change the tone of, expand or translate the caller's `draft`, or summarize the conversation; the answer is for the agent to accept (nothing is sent to the customer). 409 while AI assist is not set up or the action is off; 429 past the rate limits; 502 naming what the provider did wrong", || post(assist::run))
            .req::<svc::AssistRequest>(json!({"action": "tone", "tone": "formal", "draft": "hey, it's done"}))
            .resp::<svc::AssistAnswer>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/assist/stream"), "streamAssist", "assist", "The same, answered as server-sent events (`text/event-stream`): `delta` pieces as the model writes, then `done` with the checked answer or `failed`; closing the connection cancels the call", || post(assist::stream))
            .req::<svc::AssistRequest>(json!({"action": "rephrase", "draft": "we send it tomorow"})),
        // console and analytics
        ApiRoute::new(m.clone(), ws_path!("/reports/console"), "consoleTiles", "reports", "The console's tiles now: unassigned, active, completed since local midnight (each the count of the table for its filter: `status=queued`, `status=assigned`, `section=archived&date_field=closed&period=today`), the team given most chats today, members by availability and the chat waiting longest (admins; supervisors for their teams)", || get(reports::tiles)).resp::<svc::ConsoleTiles>(),
        ApiRoute::new(m.clone(), ws_path!("/reports/conversations"), "consoleConversations", "reports", "The console's conversations table: the rows and columns of the CSV export, a page at a time, for the list's filters (admins; supervisors for their teams)", || get(reports::conversations)).resp::<PageOut<svc::ExportRow>>().query::<svc::ConversationQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/reports/analytics"), "analytics", "reports", "Figures of the conversations created on the local days `from_date`–`to_date` (the last 30 by default, at most 400): volume per day, hour and weekday × hour, response and resolution times (median, p90, calendar and business hours), the assignees' own response per assignment leg, bot time, CSAT, and the same per agent, team, channel or tag (admins; supervisors for their teams)", || get(reports::analytics)).resp::<svc::Analytics>().query::<svc::AnalyticsQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/reports/analytics.csv"), "analyticsCsv", "reports", "The same figures as CSV: a row for all conversations, then one per group", || get(reports::analytics_csv)).query::<svc::AnalyticsQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/close-reasons"), "listCloseReasons", "conversations", "The reasons offered when closing a chat (`reason` of a status change), set by admins in the workspace settings", || get(reports::close_reasons)).resp::<Items<String>>(),
        ApiRoute::new(m.clone(), ws_path!("/saved-filters"), "listSavedFilters", "archive", "The caller's own saved filters, by name", || get(saved_filters::list)).resp::<Items<svc::SavedFilterView>>(),
        ApiRoute::new(p.clone(), ws_path!("/saved-filters"), "saveFilter", "archive", "Name the list's query string to come back to (at most 50 per member; names unique per member)", || post(saved_filters::create))
            .req::<svc::SavedFilterInput>(json!({"name": "VIP last month", "query": "section=archived&period=last_30_days&tag=vip"}))
            .resp::<svc::SavedFilterView>()
            .created(),
        ApiRoute::new(d.clone(), ws_path!("/saved-filters/{saved_filter_id}"), "deleteSavedFilter", "archive", "Delete one of the caller's saved filters", || delete(saved_filters::delete)).no_content(),
        ApiRoute::new(m.clone(), ws_path!("/search"), "searchConversations", "conversations", "Conversations whose messages, notes, comments or contact match `q`, within the same filters as the list, newest first, each with a snippet of its newest match", || get(conv::search)).resp::<PageOut<svc::SearchHit>>().query::<svc::ConversationQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/conversations/{conversation_id}"), "getConversation", "conversations", "One conversation", || get(conv::get)).resp::<Conversation>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/status"), "changeStatus", "conversations", "Resolve, abandon, reopen (assigned) or unassign (queued), with a comment; `feedback_request: true` with resolved or abandoned also asks the customer to rate the chat from 1 to 5", || post(conv::status))
            .req::<svc::StatusRequest>(json!({"status": "resolved", "comment": "solved by phone"}))
            .resp::<Conversation>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/assign"), "assignConversation", "conversations", "Assign or transfer to an agent or a team, with a comment", || post(conv::assign))
            .req::<svc::AssignRequest>(json!({"team_id": null, "user_id": null, "comment": "over to you"}))
            .resp::<Conversation>(),
        ApiRoute::new(m.clone(), ws_path!("/transfer-targets"), "listTransferTargets", "conversations", "Teams and their agents who can take a chat now (online, free capacity, within business hours), and why a team cannot", || get(conv::transfer_targets)).resp::<Vec<svc::TransferTeam>>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/snooze"), "snoozeConversation", "conversations", "Put the chat aside until a time; it wakes then or when the customer writes", || post(conv::snooze))
            .req::<svc::SnoozeRequest>(json!({"until": 1_900_000_000_000i64}))
            .resp::<Conversation>(),
        ApiRoute::new(d.clone(), ws_path!("/conversations/{conversation_id}/snooze"), "wakeConversation", "conversations", "End the chat's snooze now", || delete(conv::unsnooze)).resp::<Conversation>(),
        ApiRoute::new(m.clone(), ws_path!("/conversations/{conversation_id}/messages/{message_id}/edits"), "messageEdits", "conversations", "The texts a customer's message had before they changed it (channels with edits, e.g. Telegram), oldest first; the message itself carries `edited_at`", || get(conv::message_history)).resp::<Vec<switchboard_core::MessageEdit>>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/messages/{message_id}/cancel"), "cancelScheduledMessage", "conversations", "Cancel a scheduled message before it goes out", || post(conv::cancel_scheduled)).resp::<Message>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/enter"), "enterChat", "conversations", "Enter chat (admin): take over a bot chat; the bot stops", || post(bots::enter)).resp::<Conversation>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/bot/messages"), "botReply", "bots", "An external bot's message to the customer of a bot chat (admin token)", || post(bots::reply))
            .req::<svc::BotReplyRequest>(json!({"text": "What can I do for you?", "buttons": ["Orders", "Billing"]}))
            .resp::<Message>()
            .created(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/bot/handoff"), "botHandoff", "bots", "An external bot hands the chat to people: routed to the team, or the channel's default team (admin token)", || post(bots::handoff))
            .req::<svc::BotHandoffRequest>(json!({"team_id": null}))
            .resp::<Conversation>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/priority"), "setPriority", "conversations", "Mark critical or normal", || post(conv::priority))
            .req::<conv::PriorityRequest>(json!({"priority": "critical"}))
            .resp::<Conversation>(),
        ApiRoute::new(Method::PUT, ws_path!("/conversations/{conversation_id}/tags"), "setTags", "conversations", "Replace the conversation's tags", || put(conv::tags))
            .req::<conv::TagsRequest>(json!({"tags": []}))
            .resp::<Conversation>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/read"), "markRead", "conversations", "The assigned agent (or an admin) has read the customer's messages; the widget shows them as seen (403 for others who may see the chat)", || post(conv::read))
            .no_content(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/typing"), "agentTyping", "conversations", "Tell the customer an agent is typing", || post(conv::typing))
            .no_content(),
        ApiRoute::new(m.clone(), ws_path!("/conversations/{conversation_id}/messages"), "listMessages", "conversations", "Messages in time order with their attachments, cursor-paginated", || get(conv::messages)).resp::<PageOut<switchboard_core::MessageView>>().query::<svc::MessageQuery>(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/messages"), "postMessage", "conversations", "Reply to the customer (`text`, or `template` with `template_id` and `params`: allowed while the channel's messaging window is closed) or write a private note or comment", || post(conv::post_message))
            .req::<svc::NewMessage>(json!({"kind": "note", "body": "called the customer back"}))
            .resp::<Message>()
            .created(),
        // attachments
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/attachments"), "uploadAttachment", "attachments", "Attach a file (the raw body; `?filename=…&caption=…`): stored, and posted as a media message. The type is read from the content; 413 over the workspace's limit for its kind, 422 for types that are not allowed", || post(attachments::upload).layer(axum::extract::DefaultBodyLimit::disable())).query::<attachments::UploadQuery>()
            .resp::<switchboard_core::MessageView>()
            .created().file_body(),
        ApiRoute::new(p.clone(), ws_path!("/conversations/{conversation_id}/quick-replies/{quick_reply_id}"), "sendQuickReply", "quick-replies", "Send a quick reply to the customer: its text (or `text`, the agent's edit of it) with its file as one message; the rules of a typed reply apply", || post(quick_replies::send))
            .req::<svc::SendQuickReply>(json!({"text": "Our prices, as promised:"}))
            .resp::<switchboard_core::MessageView>()
            .created(),
        ApiRoute::new(p.clone(), ws_path!("/attachments"), "uploadLibraryAttachment", "attachments", "Upload a file for a quick reply to carry (the raw body; `?filename=…`): stored, posted nowhere; the uploader and whoever may use a quick reply carrying it can download it. Same type rules and limits as a conversation upload (413, 422)", || post(attachments::upload_library).layer(axum::extract::DefaultBodyLimit::disable())).query::<attachments::LibraryUploadQuery>()
            .resp::<switchboard_core::Attachment>()
            .created().file_body(),
        ApiRoute::new(m.clone(), ws_path!("/attachments/{attachment_id}"), "downloadAttachment", "attachments", "The file (images inline, everything else as a download; `?download=true` forces one)", || get(attachments::download)).query::<attachments::DownloadQuery>(),
        ApiRoute::new(m.clone(), ws_path!("/attachments/{attachment_id}/preview"), "downloadAttachmentPreview", "attachments", "An image's preview (its `preview_url`): re-encoded without the file's metadata, at most 480 px a side, JPEG (PNG where it is transparent), inline; same reach as the file, 404 when it has none", || get(attachments::preview)),
        ApiRoute::new(m.clone(), ws_path!("/attachment-limits"), "getAttachmentLimits", "attachments", "Upload limits per kind, in bytes", || get(attachments::get_limits)).resp::<switchboard_core::AttachmentLimits>(),
        ApiRoute::new(Method::PUT, ws_path!("/attachment-limits"), "setAttachmentLimits", "attachments", "Set the workspace's upload limits (admin); null keeps the server's default", || put(attachments::set_limits))
            .req::<svc::AttachmentLimitsInput>(json!({"image": 2097152, "video": null, "audio": null, "document": null}))
            .resp::<switchboard_core::AttachmentLimits>(),
    ]
}
