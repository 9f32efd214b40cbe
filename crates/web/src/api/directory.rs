//! Members, teams, channels, contacts, tags and API tokens of a workspace.

use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::{
    ApiTokenId, Channel, ChannelId, Contact, ContactId, Member, Tag, TagId, Team, TeamId, UserId, WorkspaceId,
};
use switchboard_service::{
    ChannelInput, ChannelUpdate, ContactInput, CreatedChannel, MemberInput, MemberUpdate, NewToken, TeamInput,
    TeamUpdate,
};

use crate::AppState;
use crate::api::{Items, PageOut};
use crate::auth::InWorkspace;
use crate::error::ApiResult;
use crate::extract::{Json, Path, Query};
use axum::extract::State;

type Ws<T> = Path<(WorkspaceId, T)>;

pub async fn list_members(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<Member>>> {
    Ok(axum::Json(Items {
        items: s.services.members(&a).await?,
    }))
}

/// Invite someone: 202 with the link to give them, the same whether or not
/// the address has an account.
pub async fn invite_member(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<MemberInput>,
) -> ApiResult<(StatusCode, axum::Json<switchboard_service::CreatedInvitation>)> {
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(s.services.invite_member(&a, input).await?),
    ))
}

pub async fn list_invitations(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<switchboard_service::Invitation>>> {
    Ok(axum::Json(Items {
        items: s.services.invitations(&a).await?,
    }))
}

pub async fn revoke_invitation(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Path<(WorkspaceId, String)>,
) -> ApiResult<StatusCode> {
    s.services.revoke_invitation(&a, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What accepting an invitation did.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Accepted {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
}

/// Accept an invitation (the link's token): with the account's password,
/// or a name and new password for a new address. Sign in afterwards.
pub async fn accept_invitation(
    State(s): State<AppState>,
    Json(req): Json<switchboard_service::AcceptInvitation>,
) -> ApiResult<axum::Json<Accepted>> {
    let (workspace_id, outcome) = s.services.accept_invitation(req).await?;
    s.services.logout(&outcome.session_token).await?;
    Ok(axum::Json(Accepted {
        workspace_id,
        user_id: outcome.user_id,
    }))
}

pub async fn get_member(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<UserId>,
) -> ApiResult<axum::Json<Member>> {
    Ok(axum::Json(s.services.member(&a, id).await?))
}

pub async fn update_member(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<UserId>,
    Json(input): Json<MemberUpdate>,
) -> ApiResult<axum::Json<Member>> {
    Ok(axum::Json(s.services.update_member(&a, id, input).await?))
}

pub async fn remove_member(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<UserId>,
) -> ApiResult<StatusCode> {
    s.services.remove_member(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_teams(State(s): State<AppState>, InWorkspace(a): InWorkspace) -> ApiResult<axum::Json<Items<Team>>> {
    Ok(axum::Json(Items {
        items: s.services.teams(&a).await?,
    }))
}

pub async fn create_team(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<TeamInput>,
) -> ApiResult<(StatusCode, axum::Json<Team>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_team(&a, input).await?),
    ))
}

pub async fn get_team(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<TeamId>,
) -> ApiResult<axum::Json<Team>> {
    Ok(axum::Json(s.services.team(&a, id).await?))
}

pub async fn update_team(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<TeamId>,
    Json(input): Json<TeamUpdate>,
) -> ApiResult<axum::Json<Team>> {
    Ok(axum::Json(s.services.update_team(&a, id, input).await?))
}

pub async fn delete_team(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<TeamId>,
) -> ApiResult<StatusCode> {
    s.services.delete_team(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn add_team_member(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, team, user)): Path<(WorkspaceId, TeamId, UserId)>,
) -> ApiResult<axum::Json<Team>> {
    Ok(axum::Json(s.services.add_team_member(&a, team, user).await?))
}

pub async fn remove_team_member(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, team, user)): Path<(WorkspaceId, TeamId, UserId)>,
) -> ApiResult<axum::Json<Team>> {
    Ok(axum::Json(s.services.remove_team_member(&a, team, user).await?))
}

pub async fn list_channels(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<Channel>>> {
    Ok(axum::Json(Items {
        items: s.services.channels(&a).await?,
    }))
}

pub async fn channel_hook_statuses(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<switchboard_service::ChannelHookStatus>>> {
    Ok(axum::Json(Items {
        items: s.services.channel_hook_statuses(&a).await?,
    }))
}

pub async fn create_channel(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<ChannelInput>,
) -> ApiResult<(StatusCode, axum::Json<CreatedChannel>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_channel(&a, input).await?),
    ))
}

pub async fn get_channel(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ChannelId>,
) -> ApiResult<axum::Json<Channel>> {
    Ok(axum::Json(s.services.channel(&a, id).await?))
}

pub async fn update_channel(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ChannelId>,
    Json(input): Json<ChannelUpdate>,
) -> ApiResult<axum::Json<CreatedChannel>> {
    Ok(axum::Json(s.services.update_channel(&a, id, input).await?))
}

pub async fn check_channel(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ChannelId>,
) -> ApiResult<axum::Json<switchboard_service::ConnectionCheck>> {
    Ok(axum::Json(s.services.check_channel_connection(&a, id).await?))
}

pub async fn sync_templates(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ChannelId>,
) -> ApiResult<axum::Json<switchboard_service::TemplateSync>> {
    Ok(axum::Json(s.services.sync_templates(&a, id).await?))
}

pub async fn delete_channel(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ChannelId>,
) -> ApiResult<StatusCode> {
    s.services.delete_channel(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactListQuery {
    /// Search name, e-mail, phone and channel identities.
    pub q: Option<String>,
    /// A tag's name: contacts carrying it.
    pub tag: Option<String>,
    /// Contacts with an identity on this channel.
    pub channel_id: Option<ChannelId>,
    pub cursor: Option<ContactId>,
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
}

pub async fn list_contacts(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Query(q): Query<ContactListQuery>,
) -> ApiResult<axum::Json<PageOut<Contact>>> {
    let filter = switchboard_service::ContactFilter {
        query: q.q,
        tag: q.tag,
        channel_id: q.channel_id,
        cursor: q.cursor,
        limit: crate::api::limit(q.limit)?,
    };
    Ok(axum::Json(s.services.filter_contacts(&a, filter).await?.into()))
}

pub async fn create_contact(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<ContactInput>,
) -> ApiResult<(StatusCode, axum::Json<Contact>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_contact(&a, input).await?),
    ))
}

pub async fn get_contact(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ContactId>,
) -> ApiResult<axum::Json<Contact>> {
    Ok(axum::Json(s.services.contact(&a, id).await?))
}

pub async fn update_contact(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ContactId>,
    Json(input): Json<ContactInput>,
) -> ApiResult<axum::Json<Contact>> {
    Ok(axum::Json(s.services.update_contact(&a, id, input).await?))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    pub name: String,
    /// `#rrggbb`
    pub color: Option<String>,
}

pub async fn list_tags(State(s): State<AppState>, InWorkspace(a): InWorkspace) -> ApiResult<axum::Json<Items<Tag>>> {
    Ok(axum::Json(Items {
        items: s.services.tags(&a).await?,
    }))
}

pub async fn create_tag(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<TagInput>,
) -> ApiResult<(StatusCode, axum::Json<Tag>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_tag(&a, &input.name, input.color.as_deref()).await?),
    ))
}

pub async fn delete_tag(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<TagId>,
) -> ApiResult<StatusCode> {
    s.services.delete_tag(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    pub name: String,
}

pub async fn list_tokens(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
) -> ApiResult<axum::Json<Items<switchboard_core::ApiToken>>> {
    Ok(axum::Json(Items {
        items: s.services.api_tokens(&a).await?,
    }))
}

pub async fn create_token(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Json(input): Json<TokenInput>,
) -> ApiResult<(StatusCode, axum::Json<NewToken>)> {
    Ok((
        StatusCode::CREATED,
        axum::Json(s.services.create_api_token(&a, &input.name).await?),
    ))
}

pub async fn revoke_token(
    State(s): State<AppState>,
    InWorkspace(a): InWorkspace,
    Path((_, id)): Ws<ApiTokenId>,
) -> ApiResult<StatusCode> {
    s.services.revoke_api_token(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
