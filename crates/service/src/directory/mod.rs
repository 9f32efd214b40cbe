//! Members, teams, channels, contacts and tags of a workspace.

use schemars::JsonSchema;
use serde::Deserialize;
use switchboard_core::permissions::Actor;
use switchboard_core::routing::TeamRouting;
use switchboard_core::validate::{Email, Invalid, Label};
use switchboard_core::widget::WidgetSettings;
use switchboard_core::{
    AssignmentRule, Availability, Channel, ChannelId, ChannelKind, Contact, ContactId, ContactIdentity, Member, Role,
    Tag, TagId, Team, TeamId, UserId,
};
use switchboard_store::{AuditEntry, ChannelRecord, ContactFilter, Page, Tx};

mod invitations;

pub use invitations::{AcceptInvitation, CreatedInvitation, Invitation, InvitationInfo, MemberInput};

use crate::accounts::random_token;
use crate::authz::require_admin;
use crate::kernel::{channel_record, tag_ids, tag_names};
use crate::{ServiceError, ServiceResult, Services};

fn capacity(raw: i64) -> ServiceResult<i64> {
    if (0..=1000).contains(&raw) {
        Ok(raw)
    } else {
        Err(Invalid::new("capacity", "must be between 0 and 1000").into())
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberUpdate {
    /// Your own account's name (only you change it; it shows in every
    /// workspace that has not named you otherwise).
    pub name: Option<String>,
    /// What this workspace calls the member (admins, or the member);
    /// `""` goes back to the account's own name.
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub capacity: Option<i64>,
    pub availability: Option<Availability>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub name: String,
    #[serde(default = "default_rule")]
    pub assignment_rule: AssignmentRule,
    #[serde(default)]
    pub member_ids: Vec<UserId>,
    /// Queue order, requeue of offline members' chats, business hours,
    /// ticket auto-reply (see `TeamRouting`).
    #[schemars(with = "Option<switchboard_core::routing::TeamRouting>")]
    pub routing: Option<serde_json::Value>,
}

fn default_rule() -> AssignmentRule {
    AssignmentRule::RoundRobin
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamUpdate {
    #[schemars(length(min = 1), regex(pattern = r"\S"))]
    pub name: Option<String>,
    pub assignment_rule: Option<AssignmentRule>,
    /// Replaces the team's routing settings as a whole.
    #[schemars(with = "Option<switchboard_core::routing::TeamRouting>")]
    pub routing: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// Widget settings only with kind `web`; a configuration only with a kind that takes one.
#[schemars(extend(
    "allOf" = [
        {"if": {"required": ["widget"], "properties": {"widget": {"type": "object"}}}, "then": {"properties": {"kind": {"const": "web"}}}},
        {"if": {"properties": {"kind": {"enum": ["api", "web"]}}}, "then": {"properties": {"config": {"type": "null"}}}}
    ]
))]
pub struct ChannelInput {
    pub kind: ChannelKind,
    pub name: String,
    /// Where agent replies are POSTed (API channels).
    pub callback_url: Option<String>,
    pub default_team_id: Option<TeamId>,
    #[serde(default)]
    #[schemars(range(min = 0, max = 43_200))]
    pub reopen_minutes: i64,
    /// The provider credential; generated when left out.
    #[schemars(length(min = 16, max = 512), regex(pattern = r"^\S(.*\S)?$"))]
    pub secret: Option<String>,
    /// Web-chat widget settings (kind `web`; defaults when left out).
    pub widget: Option<WidgetSettings>,
    /// The provider's configuration, for kinds that need one (WhatsApp:
    /// `phone_number_id`, `business_account_id`, `access_token`,
    /// `app_secret`). Secrets in it are never returned.
    pub config: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelUpdate {
    pub name: Option<String>,
    /// An empty string removes the callback URL.
    pub callback_url: Option<String>,
    /// `null` keeps the team; use `clear_default_team` to remove it.
    pub default_team_id: Option<TeamId>,
    #[serde(default)]
    pub clear_default_team: bool,
    #[schemars(range(min = 0, max = 43_200))]
    pub reopen_minutes: Option<i64>,
    /// Replace the secret with a new random one (returned once).
    #[serde(default)]
    pub rotate_secret: bool,
    /// Replace the web-chat widget settings.
    pub widget: Option<WidgetSettings>,
    /// Change the provider's configuration; secrets left out are kept.
    pub config: Option<serde_json::Value>,
    /// The approved template that asks for a rating once the messaging
    /// window is closed (its quick-reply buttons or the customer's answer
    /// 1–5 become the rating); `""` removes it.
    pub feedback_template_id: Option<String>,
}

/// The settings JSON stored with a channel.
fn channel_settings(has_widget: bool, widget: Option<WidgetSettings>) -> ServiceResult<serde_json::Value> {
    let widget = match (has_widget, widget) {
        (true, w) => Some(w.unwrap_or_default().validated()?),
        (_, Some(_)) => return Err(Invalid::new("widget", "only web channels have widget settings").into()),
        (_, None) => None,
    };
    Ok(serde_json::json!({ "widget": widget }))
}

/// What the provider said about a channel's account.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// What it is connected to, or exactly what is wrong.
    pub message: String,
}

/// A channel as created or re-keyed: the secret is shown this once.
#[derive(Debug, serde::Serialize, JsonSchema)]
pub struct CreatedChannel {
    #[serde(flatten)]
    pub channel: Channel,
    pub secret: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: Option<String>,
    /// E.164, e.g. +4915123456789.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
    /// Names of defined tags of the workspace; when given, they replace the
    /// contact's tags (`[]` removes them all). A name no tag has is 409.
    #[schemars(inner(regex(pattern = r"\S")))]
    pub tags: Option<Vec<String>>,
}

fn phone(raw: &str) -> ServiceResult<String> {
    Ok(switchboard_core::validate::Phone::parse(raw)?.into_string())
}

fn country(raw: &str) -> ServiceResult<String> {
    let s = raw.trim().to_uppercase();
    if s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(s)
    } else {
        Err(Invalid::new("country", "must be a two-letter ISO 3166 code").into())
    }
}

fn optional<T>(raw: Option<&str>, parse: impl Fn(&str) -> ServiceResult<T>) -> ServiceResult<Option<T>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse(s).map(Some),
    }
}

fn attributes(
    raw: Option<serde_json::Map<String, serde_json::Value>>,
) -> ServiceResult<Option<serde_json::Map<String, serde_json::Value>>> {
    if let Some(map) = &raw
        && (map.len() > 100 || serde_json::to_string(map).map_or(0, |s| s.len()) > 16 * 1024)
    {
        return Err(Invalid::new("attributes", "at most 100 keys and 16 KB").into());
    }
    Ok(raw)
}

impl Services {
    /// Record an admin action on a record of the actor's workspace.
    pub(crate) async fn audit(
        &self,
        tx: &mut Tx<'_>,
        actor: &Actor,
        action: &str,
        kind: &str,
        id: String,
        details: serde_json::Value,
    ) -> ServiceResult<()> {
        tx.exec()
            .insert_audit(
                &AuditEntry {
                    workspace_id: Some(actor.workspace_id),
                    actor_id: Some(actor.user_id),
                    action,
                    target_kind: Some(kind),
                    target_id: Some(id),
                    details,
                },
                self.now(),
            )
            .await?;
        Ok(())
    }

    // ----- members -----

    pub async fn members(&self, actor: &Actor) -> ServiceResult<Vec<Member>> {
        Ok(self.store().reader().members(actor.workspace_id).await?)
    }

    pub async fn member(&self, actor: &Actor, user: UserId) -> ServiceResult<Member> {
        self.store()
            .reader()
            .member(actor.workspace_id, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))
    }

    /// Admins change anyone's role, capacity and display name here;
    /// everyone sets their own name and availability. An account's own name
    /// is its owner's alone.
    pub async fn update_member(&self, actor: &Actor, user: UserId, update: MemberUpdate) -> ServiceResult<Member> {
        let ws = actor.workspace_id;
        let is_self = user == actor.user_id;
        if update.name.is_some() && !is_self {
            self.member(actor, user).await?;
            return Err(ServiceError::Forbidden(
                "only its owner changes an account's name; set display_name for this workspace",
            ));
        }
        if !actor.is_admin() && (!is_self || update.role.is_some() || update.capacity.is_some()) {
            // Agents cannot see others' settings as editable; a colleague exists though.
            self.member(actor, user).await?;
            return Err(ServiceError::Forbidden(
                "only admins can change roles, capacity or other people",
            ));
        }
        let name = update.name.as_deref().map(|n| Label::parse("name", n)).transpose()?;
        let capacity = update.capacity.map(capacity).transpose()?;
        let mut tx = self.store().begin().await?;
        let current = tx
            .exec()
            .member(ws, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if current.role == Role::Admin
            && update.role.is_some_and(|r| r != Role::Admin)
            && tx.exec().count_admins(ws).await? <= 1
        {
            return Err(ServiceError::Conflict("the workspace needs at least one admin".into()));
        }
        tx.exec()
            .update_membership(
                ws,
                user,
                update.role,
                capacity,
                update.availability.map(|a| (a, self.now())),
            )
            .await?;
        if let Some(name) = &name {
            tx.exec()
                .update_user(user, Some(name.as_str()), None, self.now())
                .await?;
        }
        if let Some(raw) = update.display_name.as_deref() {
            let display = match raw.trim() {
                "" => None,
                given => Some(Label::parse("display_name", given)?.into_string()),
            };
            tx.exec().set_display_name(ws, user, display.as_deref()).await?;
        }
        if let Some(role) = update.role.filter(|r| *r != current.role) {
            self.audit(
                &mut tx,
                actor,
                "member.role_changed",
                "user",
                user.to_string(),
                serde_json::json!({ "from": current.role, "to": role }),
            )
            .await?;
        }
        let member = tx
            .exec()
            .member(ws, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if member.availability != current.availability {
            self.emit_presence(&mut tx, ws, user, member.availability).await?;
        }
        self.publish(
            &mut tx,
            ws,
            "member.updated",
            crate::events::EventScope::Workspace,
            serde_json::to_value(&member).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        // Online again, or room for more: queued chats may go to them now.
        let came_online = member.availability == Availability::Online && current.availability != Availability::Online;
        if came_online || member.capacity > current.capacity {
            self.drain_for_members(ws, &[user]).await;
        }
        Ok(member)
    }

    pub async fn remove_member(&self, actor: &Actor, user: UserId) -> ServiceResult<()> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        let current = tx
            .exec()
            .member(ws, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        if current.role == Role::Admin && tx.exec().count_admins(ws).await? <= 1 {
            return Err(ServiceError::Conflict("the workspace needs at least one admin".into()));
        }
        tx.exec().delete_membership(ws, user).await?;
        self.audit(
            &mut tx,
            actor,
            "member.removed",
            "user",
            user.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- teams -----

    pub async fn teams(&self, actor: &Actor) -> ServiceResult<Vec<Team>> {
        Ok(self.store().reader().teams(actor.workspace_id).await?)
    }

    pub async fn team(&self, actor: &Actor, id: TeamId) -> ServiceResult<Team> {
        self.store()
            .reader()
            .team(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("team"))
    }

    pub async fn create_team(&self, actor: &Actor, input: TeamInput) -> ServiceResult<Team> {
        require_admin(actor)?;
        let name = Label::parse("name", &input.name)?;
        let ws = actor.workspace_id;
        let now = self.now();
        let team = Team {
            id: TeamId::new(),
            workspace_id: ws,
            name: name.into_string(),
            assignment_rule: input.assignment_rule,
            member_ids: Vec::new(),
            routing: input
                .routing
                .as_ref()
                .map(TeamRouting::parse)
                .transpose()?
                .unwrap_or_default(),
            created_at: now,
        };
        let mut tx = self.store().begin().await?;
        tx.exec().insert_team(&team).await.map_err(|e| match e {
            switchboard_store::StoreError::Conflict(_) => {
                ServiceError::Conflict("a team with that name already exists".into())
            }
            other => other.into(),
        })?;
        for user in &input.member_ids {
            tx.exec()
                .member(ws, *user)
                .await?
                .ok_or(ServiceError::NotFound("user"))?;
            tx.exec().add_team_member(ws, team.id, *user, now).await?;
        }
        self.audit(
            &mut tx,
            actor,
            "team.created",
            "team",
            team.id.to_string(),
            serde_json::json!({ "name": team.name }),
        )
        .await?;
        let team = tx
            .exec()
            .team(ws, team.id)
            .await?
            .ok_or(ServiceError::NotFound("team"))?;
        tx.commit().await?;
        Ok(team)
    }

    pub async fn update_team(&self, actor: &Actor, id: TeamId, update: TeamUpdate) -> ServiceResult<Team> {
        require_admin(actor)?;
        let name = update.name.as_deref().map(|n| Label::parse("name", n)).transpose()?;
        let mut tx = self.store().begin().await?;
        tx.exec()
            .team(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("team"))?;
        let routing = update.routing.as_ref().map(TeamRouting::parse).transpose()?;
        tx.exec()
            .update_team(
                actor.workspace_id,
                id,
                name.as_ref().map(Label::as_str),
                update.assignment_rule,
                routing.as_ref(),
            )
            .await?;
        let team = tx
            .exec()
            .team(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("team"))?;
        tx.commit().await?;
        // A new rule or new hours may let waiting chats through now.
        self.drain_teams(actor.workspace_id, &[id]).await;
        Ok(team)
    }

    pub async fn delete_team(&self, actor: &Actor, id: TeamId) -> ServiceResult<()> {
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        if tx.exec().delete_team(actor.workspace_id, id).await? == 0 {
            return Err(ServiceError::NotFound("team"));
        }
        self.audit(
            &mut tx,
            actor,
            "team.deleted",
            "team",
            id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        // Channels that routed to the team lost it as their default.
        self.forget_all_channels();
        Ok(())
    }

    pub async fn add_team_member(&self, actor: &Actor, team: TeamId, user: UserId) -> ServiceResult<Team> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        tx.exec().team(ws, team).await?.ok_or(ServiceError::NotFound("team"))?;
        tx.exec()
            .member(ws, user)
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        tx.exec().add_team_member(ws, team, user, self.now()).await?;
        let team = tx.exec().team(ws, team).await?.ok_or(ServiceError::NotFound("team"))?;
        tx.commit().await?;
        self.drain_teams(ws, &[team.id]).await;
        Ok(team)
    }

    pub async fn remove_team_member(&self, actor: &Actor, team: TeamId, user: UserId) -> ServiceResult<Team> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        tx.exec().team(ws, team).await?.ok_or(ServiceError::NotFound("team"))?;
        if tx.exec().remove_team_member(ws, team, user).await? == 0 {
            return Err(ServiceError::NotFound("user"));
        }
        let team = tx.exec().team(ws, team).await?.ok_or(ServiceError::NotFound("team"))?;
        tx.commit().await?;
        Ok(team)
    }

    // ----- channels -----

    pub async fn channels(&self, actor: &Actor) -> ServiceResult<Vec<Channel>> {
        let rows = self.store().reader().channels(actor.workspace_id).await?;
        rows.iter().map(|r| self.channel_view(r)).collect()
    }

    pub async fn channel(&self, actor: &Actor, id: ChannelId) -> ServiceResult<Channel> {
        let row = self
            .store()
            .reader()
            .channel(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        self.channel_view(&row)
    }

    /// A callback URL follows the rule of every URL we call: no private or
    /// special address written into it (unless the workspace allows them).
    async fn callback_url(
        &self,
        ws: switchboard_core::WorkspaceId,
        raw: Option<&str>,
    ) -> ServiceResult<Option<String>> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => self.target_url(ws, "callback_url", s).await.map(Some),
        }
    }

    fn reopen_minutes(raw: i64) -> ServiceResult<i64> {
        if (0..=60 * 24 * 30).contains(&raw) {
            Ok(raw)
        } else {
            Err(Invalid::new("reopen_minutes", "must be between 0 and 43200 (30 days)").into())
        }
    }

    pub async fn create_channel(&self, actor: &Actor, input: ChannelInput) -> ServiceResult<CreatedChannel> {
        require_admin(actor)?;
        let Some(adapter) = self.config().channels.adapter(input.kind).cloned() else {
            return Err(Invalid::new("kind", format!("{} channels are not available yet", input.kind)).into());
        };
        let name = Label::parse("name", &input.name)?;
        let callback_url = self
            .callback_url(actor.workspace_id, input.callback_url.as_deref())
            .await?;
        let reopen_minutes = Self::reopen_minutes(input.reopen_minutes)?;
        let secret = match input.secret.as_deref().map(str::trim) {
            Some(s) if s.len() < 16 || s.len() > 512 => {
                return Err(Invalid::new("secret", "must be 16 to 512 characters").into());
            }
            Some(s) => s.to_owned(),
            None => random_token(32),
        };
        let mut record = ChannelRecord {
            id: ChannelId::new(),
            workspace_id: actor.workspace_id,
            kind: input.kind,
            name: name.into_string(),
            secret: Some(secret.clone()),
            callback_url,
            default_team_id: input.default_team_id,
            reopen_minutes,
            settings: channel_settings(adapter.capabilities().widget, input.widget)?,
            created_at: self.now(),
        };
        if let Some(config) = adapter
            .configure(input.config.as_ref(), None)
            .map_err(|e| Invalid::new(e.field, e.message))?
        {
            record.settings["config"] = config;
        }
        self.connect_channel(&crate::channel_port::setup_of_record(&record))
            .await?;
        let mut tx = self.store().begin().await?;
        if let Some(team) = record.default_team_id {
            tx.exec()
                .team(actor.workspace_id, team)
                .await?
                .ok_or(ServiceError::NotFound("team"))?;
        }
        tx.exec().insert_channel(&record).await?;
        self.audit(
            &mut tx,
            actor,
            "channel.created",
            "channel",
            record.id.to_string(),
            serde_json::json!({ "kind": record.kind }),
        )
        .await?;
        let row = tx
            .exec()
            .channel(actor.workspace_id, record.id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        tx.commit().await?;
        self.start_polling_if_needed(&row).await?;
        Ok(CreatedChannel {
            channel: self.channel_view(&row)?,
            secret: Some(secret),
        })
    }

    pub async fn update_channel(
        &self,
        actor: &Actor,
        id: ChannelId,
        update: ChannelUpdate,
    ) -> ServiceResult<CreatedChannel> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let mut tx = self.store().begin().await?;
        let row = tx
            .exec()
            .channel(ws, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let current = row.to_domain()?;
        // The bot and anything else kept in the settings stay as they are.
        let mut record = channel_record(&row)?;
        if update.widget.is_some() {
            if !self.capabilities(current.kind).widget {
                return Err(ServiceError::Stale(Invalid::new(
                    "widget",
                    "only web channels have widget settings",
                )));
            }
            record.settings["widget"] =
                channel_settings(self.capabilities(current.kind).widget, update.widget)?["widget"].take();
        }
        if let Some(name) = &update.name {
            record.name = Label::parse("name", name)?.into_string();
        }
        match update.feedback_template_id.as_deref().map(str::trim) {
            None => {}
            Some("") => {
                if let Some(settings) = record.settings.as_object_mut() {
                    settings.remove("feedback_template_id");
                }
            }
            Some(raw) => {
                let id: switchboard_core::TemplateId = raw
                    .parse()
                    .map_err(|_| Invalid::new("feedback_template_id", "is not a template id"))?;
                if !self.capabilities(current.kind).window.applies() {
                    return Err(Invalid::new(
                        "feedback_template_id",
                        "only channels with a messaging window ask for ratings by template",
                    )
                    .into());
                }
                let t = tx
                    .exec()
                    .template(ws, id)
                    .await?
                    .ok_or_else(|| Invalid::new("feedback_template_id", "no such template in this workspace"))?;
                if t.channel_id.is_some_and(|c| c != current.id) {
                    return Err(Invalid::new("feedback_template_id", "the template is for another channel").into());
                }
                let no_values = switchboard_core::template::parts::fill(&t.parts, Default::default()).is_ok();
                if t.placeholder_count > 0 || !no_values {
                    return Err(Invalid::new(
                        "feedback_template_id",
                        "the rating template must take no values (its question and buttons are fixed)",
                    )
                    .into());
                }
                record.settings["feedback_template_id"] = serde_json::json!(id.to_string());
            }
        }
        if update.config.is_some() {
            let adapter = self.adapter(current.kind)?;
            let stored = record.settings.get("config").cloned().filter(|c| !c.is_null());
            match adapter
                .configure(update.config.as_ref(), stored.as_ref())
                .map_err(|e| {
                    // The channel's kind takes none: the request does not fit the stored channel.
                    let invalid = Invalid::new(e.field, e.message);
                    if e.not_taken {
                        ServiceError::Stale(invalid)
                    } else {
                        invalid.into()
                    }
                })? {
                Some(config) => record.settings["config"] = config,
                None => {
                    if let Some(settings) = record.settings.as_object_mut() {
                        settings.remove("config");
                    }
                }
            }
        }
        if let Some(url) = &update.callback_url {
            record.callback_url = self.callback_url(ws, Some(url)).await?;
        }
        if let Some(team) = update.default_team_id {
            tx.exec().team(ws, team).await?.ok_or(ServiceError::NotFound("team"))?;
            record.default_team_id = Some(team);
        }
        if update.clear_default_team {
            record.default_team_id = None;
        }
        if let Some(m) = update.reopen_minutes {
            record.reopen_minutes = Self::reopen_minutes(m)?;
        }
        let new_secret = update.rotate_secret.then(|| random_token(32));
        if let Some(secret) = &new_secret {
            record.secret = Some(secret.clone());
        }
        if update.config.is_some() || new_secret.is_some() {
            // The provider is called with no transaction open (it may take
            // seconds); the change is written after it accepted.
            drop(tx);
            self.connect_channel(&crate::channel_port::setup_of_record(&record))
                .await?;
            tx = self.store().begin().await?;
        }
        tx.exec().update_channel(&record).await?;
        self.audit(
            &mut tx,
            actor,
            "channel.updated",
            "channel",
            id.to_string(),
            serde_json::json!({ "rotated_secret": update.rotate_secret }),
        )
        .await?;
        let row = tx
            .exec()
            .channel(ws, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        tx.commit().await?;
        self.forget_channel(id);
        self.start_polling_if_needed(&row).await?;
        Ok(CreatedChannel {
            channel: self.channel_view(&row)?,
            secret: new_secret,
        })
    }

    /// Ask the channel's provider whether its account works (admins).
    pub async fn check_channel_connection(&self, actor: &Actor, id: ChannelId) -> ServiceResult<ConnectionCheck> {
        require_admin(actor)?;
        let row = self
            .store()
            .reader()
            .channel(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        let setup = crate::channel_port::setup_of(&row)?;
        let adapter = self.adapter(setup.kind)?;
        Ok(match adapter.check_connection(&self.inner.http, &setup).await {
            Ok(message) => ConnectionCheck { ok: true, message },
            Err(message) => ConnectionCheck { ok: false, message },
        })
    }

    pub async fn delete_channel(&self, actor: &Actor, id: ChannelId) -> ServiceResult<()> {
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        let row = tx
            .exec()
            .channel(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("channel"))?;
        if tx.exec().delete_channel(actor.workspace_id, id).await? == 0 {
            return Err(ServiceError::NotFound("channel"));
        }
        self.audit(
            &mut tx,
            actor,
            "channel.deleted",
            "channel",
            id.to_string(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        self.forget_channel(id);
        // The channel is gone on our side whatever the provider says; a hook
        // left behind there only meets a 404.
        let setup = crate::channel_port::setup_of(&row)?;
        if let Ok(adapter) = self.adapter(setup.kind)
            && let Err(e) = adapter.disconnect(&self.inner.http, &setup).await
        {
            tracing::warn!(channel = %id, error = %e, "the provider's hook could not be removed");
        }
        Ok(())
    }

    // ----- contacts -----

    /// Contacts, newest first, whose name, e-mail, phone or identity contains
    /// `query`.
    pub async fn contacts(
        &self,
        actor: &Actor,
        query: Option<String>,
        cursor: Option<ContactId>,
        limit: u64,
    ) -> ServiceResult<Page<Contact>> {
        self.filter_contacts(
            actor,
            ContactFilter {
                query,
                cursor,
                limit,
                ..ContactFilter::default()
            },
        )
        .await
    }

    /// Contacts, newest first, matching every filter given: search text, a
    /// tag's name, an identity on a channel. Blank text and tag are ignored.
    pub async fn filter_contacts(&self, actor: &Actor, mut filter: ContactFilter) -> ServiceResult<Page<Contact>> {
        let blank_to_none = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        filter.query = blank_to_none(filter.query);
        filter.tag = blank_to_none(filter.tag);
        Ok(self.store().reader().contacts(actor.workspace_id, &filter).await?)
    }

    pub async fn contact(&self, actor: &Actor, id: ContactId) -> ServiceResult<Contact> {
        self.store()
            .reader()
            .contact(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))
    }

    fn apply_contact_input(contact: &mut Contact, input: ContactInput) -> ServiceResult<()> {
        if let Some(name) = input.name.as_deref() {
            contact.name = optional(Some(name), |s| Ok(Label::parse("name", s)?.into_string()))?;
        }
        if let Some(p) = input.phone.as_deref() {
            contact.phone = optional(Some(p), phone)?;
        }
        if let Some(e) = input.email.as_deref() {
            contact.email = optional(Some(e), |s| Ok(Email::parse(s)?.to_string()))?;
        }
        if let Some(c) = input.country.as_deref() {
            contact.country = optional(Some(c), country)?;
        }
        if let Some(attrs) = attributes(input.attributes)? {
            contact.attributes = attrs;
        }
        Ok(())
    }

    pub async fn create_contact(&self, actor: &Actor, mut input: ContactInput) -> ServiceResult<Contact> {
        let now = self.now();
        let mut contact = Contact {
            id: ContactId::new(),
            workspace_id: actor.workspace_id,
            name: None,
            phone: None,
            email: None,
            country: None,
            attributes: Default::default(),
            identities: Vec::<ContactIdentity>::new(),
            tags: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        let tags = input.tags.take().map(tag_names).transpose()?;
        Self::apply_contact_input(&mut contact, input)?;
        let mut tx = self.store().begin().await?;
        let tag_ids = match &tags {
            Some(names) => tag_ids(&mut tx.exec(), actor.workspace_id, names).await?,
            None => Vec::new(),
        };
        tx.exec().insert_contact(&contact).await?;
        if let Some(names) = tags {
            tx.exec().set_contact_tags(contact.id, &tag_ids).await?;
            contact.tags = names;
        }
        tx.commit().await?;
        Ok(contact)
    }

    pub async fn update_contact(
        &self,
        actor: &Actor,
        id: ContactId,
        mut input: ContactInput,
    ) -> ServiceResult<Contact> {
        let mut tx = self.store().begin().await?;
        let mut contact = tx
            .exec()
            .contact(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))?;
        let tags = input.tags.take().map(tag_names).transpose()?;
        Self::apply_contact_input(&mut contact, input)?;
        if let Some(names) = tags {
            let ids = tag_ids(&mut tx.exec(), actor.workspace_id, &names).await?;
            tx.exec().set_contact_tags(contact.id, &ids).await?;
            contact.tags = names;
        }
        contact.updated_at = self.now();
        tx.exec().update_contact(&contact).await?;
        tx.commit().await?;
        Ok(contact)
    }

    // ----- tags -----

    pub async fn tags(&self, actor: &Actor) -> ServiceResult<Vec<Tag>> {
        Ok(self.store().reader().tags(actor.workspace_id).await?)
    }

    pub async fn create_tag(&self, actor: &Actor, name: &str, color: Option<&str>) -> ServiceResult<Tag> {
        if !actor.can_edit_tags() {
            return Err(ServiceError::Forbidden("only admins and supervisors define tags"));
        }
        let name = Label::parse("name", name)?;
        if name.as_str().chars().count() > 50 {
            return Err(Invalid::new("name", "must be at most 50 characters").into());
        }
        let color = optional(color, |c| {
            let ok = c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit());
            if ok {
                Ok(c.to_lowercase())
            } else {
                Err(Invalid::new("color", "must look like #1a2b3c").into())
            }
        })?;
        let tag = Tag {
            id: TagId::new(),
            workspace_id: actor.workspace_id,
            name: name.into_string(),
            color,
            created_at: self.now(),
        };
        let mut tx = self.store().begin().await?;
        tx.exec().insert_tag(&tag).await.map_err(|e| match e {
            switchboard_store::StoreError::Conflict(_) => {
                ServiceError::Conflict("a tag with that name already exists".into())
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(tag)
    }

    pub async fn delete_tag(&self, actor: &Actor, id: TagId) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        tx.exec()
            .tag(actor.workspace_id, id)
            .await?
            .ok_or(ServiceError::NotFound("tag"))?;
        if !actor.can_edit_tags() {
            return Err(ServiceError::Forbidden("only admins and supervisors define tags"));
        }
        tx.exec().delete_tag(actor.workspace_id, id).await?;
        tx.commit().await?;
        Ok(())
    }
}
