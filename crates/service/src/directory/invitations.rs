//! Membership by consent: an admin invites an address; nobody becomes a
//! member of a workspace before they accept. The admin's answer is the same
//! whether or not the address has an account. Accepting proves it is the
//! owner: an existing account's password, or, for a new address, the name
//! and password its owner chooses (only then is the account made). What
//! an admin calls a member is the workspace's display name, never the
//! account's own name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::{Email, Label, Password};
use switchboard_core::{Millis, Role, TeamId, UserId, WorkspaceId};
use switchboard_store::InvitationRecord;

use crate::accounts::{random_token, token_hash};
use crate::authz::require_admin;
use crate::{LoginOutcome, ServiceError, ServiceResult, Services};

/// How long an invitation link works.
const INVITATION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Someone to invite.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub email: String,
    /// What this workspace calls them (their display name here).
    pub name: String,
    pub role: Role,
    #[serde(default = "default_capacity")]
    pub capacity: i64,
    #[serde(default)]
    pub team_ids: Vec<TeamId>,
}

fn default_capacity() -> i64 {
    10
}

/// An invitation just made: its link is shown this once.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CreatedInvitation {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: Millis,
    /// Give this link to the person; it is not shown again.
    pub accept_url: String,
}

/// An invitation not accepted yet.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// What the invitation page shows its holder.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InvitationInfo {
    pub workspace_name: String,
    pub email: String,
    pub name: String,
    /// The address has an account: accepting asks for its password.
    pub has_account: bool,
}

/// Accept an invitation: the account's password, or for a new address the
/// owner's name and a new password.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub token: String,
    /// New accounts only: the owner's name.
    pub name: Option<String>,
    pub password: String,
}

fn gone() -> ServiceError {
    ServiceError::NotFound("invitation")
}

impl Services {
    /// Invite someone (admins). Until they accept they are not a member and
    /// nothing of theirs shows here; the answer does not say whether the
    /// address has an account.
    pub async fn invite_member(&self, actor: &Actor, input: MemberInput) -> ServiceResult<CreatedInvitation> {
        require_admin(actor)?;
        let ws = actor.workspace_id;
        let email = Email::parse(&input.email)?;
        let name = Label::parse("name", &input.name)?;
        let capacity = super::capacity(input.capacity)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        for team in &input.team_ids {
            tx.exec().team(ws, *team).await?.ok_or(ServiceError::NotFound("team"))?;
        }
        // Already one of ours: the members list says so anyway.
        if let Some(user) = tx.exec().user_by_email(email.as_str()).await?
            && tx.exec().member(ws, user.user_id()?).await?.is_some()
        {
            return Err(ServiceError::Conflict(
                "that address is already a member of this workspace".into(),
            ));
        }
        let token = random_token(32);
        let record = InvitationRecord {
            id: uuid::Uuid::now_v7().to_string(),
            workspace_id: ws,
            email: email.as_str().to_owned(),
            display_name: name.as_str().to_owned(),
            role: input.role,
            capacity,
            team_ids: input.team_ids,
            token_hash: token_hash(&token),
            invited_by: actor.user_id,
            created_at: now,
            expires_at: now.plus_ms(INVITATION_TTL_MS),
            accepted_at: None,
        };
        tx.exec().insert_invitation(&record).await?;
        self.audit(
            &mut tx,
            actor,
            "member.invited",
            "invitation",
            record.id.clone(),
            serde_json::json!({ "email": record.email, "role": record.role }),
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedInvitation {
            accept_url: format!(
                "{}/invite?token={token}",
                self.config().public_url.trim_end_matches('/')
            ),
            id: record.id,
            email: record.email,
            role: record.role,
            expires_at: record.expires_at,
        })
    }

    /// Invitations not accepted yet (admins).
    pub async fn invitations(&self, actor: &Actor) -> ServiceResult<Vec<Invitation>> {
        require_admin(actor)?;
        let open = self.store().reader().open_invitations(actor.workspace_id).await?;
        Ok(open
            .into_iter()
            .map(|i| Invitation {
                id: i.id,
                email: i.email,
                name: i.display_name,
                role: i.role,
                created_at: i.created_at,
                expires_at: i.expires_at,
            })
            .collect())
    }

    /// Withdraw an invitation not accepted yet (admins).
    pub async fn revoke_invitation(&self, actor: &Actor, id: &str) -> ServiceResult<()> {
        require_admin(actor)?;
        let mut tx = self.store().begin().await?;
        if tx.exec().delete_invitation(actor.workspace_id, id).await? == 0 {
            return Err(gone());
        }
        self.audit(
            &mut tx,
            actor,
            "member.invitation_revoked",
            "invitation",
            id.to_owned(),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An open invitation by its token (404 when unknown, used or expired).
    async fn open_invitation(&self, token: &str) -> ServiceResult<InvitationRecord> {
        let found = self
            .store()
            .reader()
            .invitation_by_token_hash(&token_hash(token))
            .await?;
        match found {
            Some(i) if i.accepted_at.is_none() && i.expires_at > self.now() => Ok(i),
            _ => Err(gone()),
        }
    }

    /// What the invitation page shows to the holder of the link.
    pub async fn invitation_info(&self, token: &str) -> ServiceResult<InvitationInfo> {
        let i = self.open_invitation(token).await?;
        let mut db = self.store().reader();
        let workspace = db.workspace(i.workspace_id).await?.ok_or_else(gone)?;
        let has_account = db.user_by_email(&i.email).await?.is_some();
        Ok(InvitationInfo {
            workspace_name: workspace.name,
            email: i.email,
            name: i.display_name,
            has_account,
        })
    }

    /// Accept an invitation: become a member and be signed in.
    pub async fn accept_invitation(&self, req: AcceptInvitation) -> ServiceResult<(WorkspaceId, LoginOutcome)> {
        let i = self.open_invitation(&req.token).await?;
        let existing = self.store().reader().user_by_email(&i.email).await?;
        let now = self.now();
        let (user, new_account) = match existing {
            Some(row) => {
                // The owner proves it with their own password.
                if !self.verify_password(row.password_hash.clone(), &req.password).await? {
                    return Err(ServiceError::InvalidCredentials);
                }
                (row.user_id()?, None)
            }
            None => {
                let name = Label::parse("name", req.name.as_deref().unwrap_or(&i.display_name))?;
                let hash = self.hash_password(&Password::parse(&req.password)?).await?;
                (UserId::new(), Some((name, hash)))
            }
        };
        let mut tx = self.store().begin().await?;
        if !tx.exec().accept_invitation(&i.id, now).await? {
            return Err(gone());
        }
        let existed = new_account.is_none();
        if let Some((name, hash)) = &new_account {
            tx.exec()
                .insert_user(user, &i.email, name.as_str(), hash, now)
                .await
                .map_err(|_| {
                    ServiceError::Conflict("the address got an account meanwhile; open the link again".into())
                })?;
        }
        if tx.exec().member(i.workspace_id, user).await?.is_none() {
            tx.exec()
                .insert_membership(i.workspace_id, user, i.role, i.capacity, now)
                .await?;
            // The admin's name for them is this workspace's; a new account
            // carries the name its owner chose.
            if existed {
                tx.exec()
                    .set_display_name(i.workspace_id, user, Some(&i.display_name))
                    .await?;
            }
            for team in &i.team_ids {
                if tx.exec().team(i.workspace_id, *team).await?.is_some() {
                    tx.exec().add_team_member(i.workspace_id, *team, user, now).await?;
                }
            }
        }
        tx.exec()
            .insert_audit(
                &switchboard_store::AuditEntry {
                    workspace_id: Some(i.workspace_id),
                    actor_id: Some(user),
                    action: "member.added",
                    target_kind: Some("user"),
                    target_id: Some(user.to_string()),
                    details: serde_json::json!({ "role": i.role, "invitation": i.id }),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok((i.workspace_id, self.new_session(user).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invitation_names_no_password() {
        let input: Result<MemberInput, _> = serde_json::from_value(serde_json::json!({
            "email": "a@b.test", "name": "A", "role": "agent", "password": "chosen by the admin"}));
        assert!(input.is_err(), "admins no longer choose passwords");
    }
}
