//! Sign-in, sessions, API tokens, first-run setup and the actor of a request.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use switchboard_core::permissions::Actor;
use switchboard_core::validate::{Email, Invalid, Label, Password};
use switchboard_core::{ApiToken, ApiTokenId, Member, Millis, Role, UserId, Workspace, WorkspaceId};
use switchboard_store::{AuditEntry, SessionRow};

use crate::config::Argon2Params;
use crate::{ServiceError, ServiceResult, Services};

const SETUP_TOKEN_KEY: &str = "setup_token_hash";
const TOKEN_PREFIX: &str = "sbt_";

/// A fresh random secret, URL-safe.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Secrets are stored only as their SHA-256 (they are long and random, so a
/// slow hash adds nothing).
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn argon2(p: &Argon2Params) -> ServiceResult<Argon2<'static>> {
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .map_err(|e| ServiceError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub(crate) fn hash_blocking(p: &Argon2Params, password: &str) -> ServiceResult<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(argon2(p)?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ServiceError::Internal(e.to_string()))?
        .to_string())
}

fn verify_blocking(p: &Argon2Params, hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2(p).is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A new session: the cookie value and the token forms must echo.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    pub user_id: UserId,
    pub session_token: String,
    pub csrf_token: String,
    pub expires_at: Millis,
}

/// What a session cookie stands for.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user_id: UserId,
    pub csrf_token: String,
    pub token_hash: String,
}

/// A token as created: the secret is shown this once.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct NewToken {
    #[serde(flatten)]
    pub token: ApiToken,
    pub secret: String,
}

impl Services {
    /// Hash a password on the blocking pool: argon2 takes tens of
    /// milliseconds of CPU and must not stall the async threads.
    pub async fn hash_password(&self, password: &Password) -> ServiceResult<String> {
        let params = self.inner.config.argon2;
        let password = password.expose().to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&params, &password))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    pub(crate) async fn verify_password(&self, hash: String, password: &str) -> ServiceResult<bool> {
        self.inner
            .password_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let params = self.inner.config.argon2;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || verify_blocking(&params, &hash, &password))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    pub(crate) async fn new_session(&self, user_id: UserId) -> ServiceResult<LoginOutcome> {
        let now = self.now();
        let session_token = random_token(32);
        let csrf_token = random_token(32);
        let expires_at = now.plus_ms(self.inner.config.session_ttl.as_millis() as i64);
        let mut tx = self.store().begin().await?;
        tx.exec()
            .insert_session(&SessionRow {
                token_hash: token_hash(&session_token),
                user_id: user_id.to_string(),
                csrf_token: csrf_token.clone(),
                created_at: now.0,
                expires_at: expires_at.0,
            })
            .await?;
        tx.exec()
            .insert_audit(
                &AuditEntry {
                    workspace_id: None,
                    actor_id: Some(user_id),
                    action: "login",
                    target_kind: Some("user"),
                    target_id: Some(user_id.to_string()),
                    details: serde_json::json!({}),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(LoginOutcome {
            user_id,
            session_token,
            csrf_token,
            expires_at,
        })
    }

    /// How many password hashes were checked so far (a login checks one,
    /// whether or not the address has an account).
    pub fn password_checks(&self) -> u64 {
        self.inner.password_checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Check e-mail and password, limited per client address and per account.
    pub async fn login(&self, email: &str, password: &str, client: &str) -> ServiceResult<LoginOutcome> {
        if let Err(wait) = self.inner.login_per_ip.check_and_hit(client).await {
            return Err(ServiceError::RateLimited { retry_after_secs: wait });
        }
        let email_key = email.trim().to_lowercase();
        if let Some(wait) = self.inner.login_per_account.blocked_for(&email_key).await {
            return Err(ServiceError::RateLimited { retry_after_secs: wait });
        }
        let user = match Email::parse(email) {
            Ok(email) => self.store().reader().user_by_email(email.as_str()).await?,
            Err(_) => None,
        };
        // Verify against a dummy hash for unknown accounts, so timing does
        // not tell which e-mail addresses exist.
        let hash = user
            .as_ref()
            .map_or_else(|| self.inner.dummy_hash.clone(), |u| u.password_hash.clone());
        let ok = self.verify_password(hash, password).await?;
        match user {
            Some(user) if ok => {
                self.inner.login_per_account.clear(&email_key).await;
                self.new_session(user.user_id()?).await
            }
            _ => {
                self.inner.login_per_account.hit(&email_key).await;
                Err(ServiceError::InvalidCredentials)
            }
        }
    }

    /// The user behind a session cookie, if the session is live.
    pub async fn session(&self, token: &str) -> ServiceResult<Option<SessionInfo>> {
        let hash = token_hash(token);
        let Some(row) = self.store().reader().session(&hash).await? else {
            return Ok(None);
        };
        if row.expires_at <= self.now().0 {
            return Ok(None);
        }
        Ok(Some(SessionInfo {
            user_id: row.user()?,
            csrf_token: row.csrf_token,
            token_hash: hash,
        }))
    }

    pub async fn logout(&self, token: &str) -> ServiceResult<()> {
        let mut tx = self.store().begin().await?;
        tx.exec().delete_session(&token_hash(token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Change one's password; every other session of the user ends.
    pub async fn change_password(
        &self,
        user: UserId,
        keep_session_hash: Option<&str>,
        current: &str,
        new: &str,
    ) -> ServiceResult<()> {
        // Named after the form's field, so the page puts it beside the new password.
        let new = Password::parse(new).map_err(|e| Invalid::new("new_password", e.reason))?;
        let row = self
            .store()
            .reader()
            .user(user)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        if !self.verify_password(row.password_hash, current).await? {
            return Err(ServiceError::Refused(Invalid::new(
                "current_password",
                "is not your current password",
            )));
        }
        let hash = self.hash_password(&new).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().update_user(user, None, Some(&hash), now).await?;
        tx.exec().delete_sessions_of(user, keep_session_hash).await?;
        tx.exec()
            .insert_audit(
                &AuditEntry {
                    workspace_id: None,
                    actor_id: Some(user),
                    action: "password.changed",
                    target_kind: Some("user"),
                    target_id: Some(user.to_string()),
                    details: serde_json::json!({}),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user acting in a workspace; a workspace the user is not in
    /// does not exist for them.
    pub async fn actor(&self, workspace: WorkspaceId, user: UserId) -> ServiceResult<Actor> {
        let member = self
            .store()
            .reader()
            .member(workspace, user)
            .await?
            .ok_or(ServiceError::NotFound("workspace"))?;
        Ok(Actor {
            user_id: user,
            workspace_id: workspace,
            role: member.role,
            team_ids: member.team_ids,
        })
    }

    /// The member with this e-mail acting in `workspace` (the shell's
    /// `export --as`): what they may see is what they get.
    pub async fn actor_by_email(&self, workspace: WorkspaceId, email: &str) -> ServiceResult<Actor> {
        let user = self
            .store()
            .reader()
            .user_by_email(email.trim())
            .await?
            .ok_or(ServiceError::NotFound("user"))?;
        let id = user.id.parse().map_err(|_| ServiceError::NotFound("user"))?;
        self.actor(workspace, id).await
    }

    pub async fn workspaces_of(&self, user: UserId) -> ServiceResult<Vec<(Workspace, Role)>> {
        Ok(self.store().reader().workspaces_of(user).await?)
    }

    pub async fn user_profile(&self, user: UserId) -> ServiceResult<(String, String)> {
        let row = self
            .store()
            .reader()
            .user(user)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok((row.email, row.name))
    }

    /// Who a bearer token acts as: the token's user in the token's workspace.
    pub async fn bearer(&self, token: &str) -> ServiceResult<ApiToken> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(ServiceError::Unauthenticated);
        }
        let found = self
            .store()
            .reader()
            .active_api_token(&token_hash(token))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let now = self.now();
        // Record use at most once a minute, so reads do not turn into writes.
        if found.last_used_at.is_none_or(|t| now.since(t) > 60_000) {
            let mut tx = self.store().begin().await?;
            tx.exec().touch_api_token(found.id, now).await?;
            tx.commit().await?;
        }
        Ok(found)
    }

    pub async fn api_tokens(&self, actor: &Actor) -> ServiceResult<Vec<ApiToken>> {
        Ok(self
            .store()
            .reader()
            .api_tokens_of(actor.workspace_id, actor.user_id)
            .await?)
    }

    pub async fn create_api_token(&self, actor: &Actor, name: &str) -> ServiceResult<NewToken> {
        let name = Label::parse("name", name)?;
        let secret = format!("{TOKEN_PREFIX}{}", random_token(32));
        let token = ApiToken {
            id: ApiTokenId::new(),
            workspace_id: actor.workspace_id,
            user_id: actor.user_id,
            name: name.into_string(),
            prefix: secret.chars().take(TOKEN_PREFIX.len() + 6).collect(),
            created_at: self.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.store().begin().await?;
        tx.exec().insert_api_token(&token, &token_hash(&secret)).await?;
        tx.exec()
            .insert_audit(
                &AuditEntry {
                    workspace_id: Some(actor.workspace_id),
                    actor_id: Some(actor.user_id),
                    action: "api_token.created",
                    target_kind: Some("api_token"),
                    target_id: Some(token.id.to_string()),
                    details: serde_json::json!({ "name": token.name }),
                },
                token.created_at,
            )
            .await?;
        tx.commit().await?;
        Ok(NewToken { token, secret })
    }

    /// Revoke a token: one's own, or (admins) anyone's in the workspace.
    pub async fn revoke_api_token(&self, actor: &Actor, id: ApiTokenId) -> ServiceResult<()> {
        let token = self
            .store()
            .reader()
            .api_token(actor.workspace_id, id)
            .await?
            .filter(|t| t.user_id == actor.user_id || actor.is_admin())
            .ok_or(ServiceError::NotFound("api token"))?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().revoke_api_token(actor.workspace_id, token.id, now).await?;
        tx.exec()
            .insert_audit(
                &AuditEntry {
                    workspace_id: Some(actor.workspace_id),
                    actor_id: Some(actor.user_id),
                    action: "api_token.revoked",
                    target_kind: Some("api_token"),
                    target_id: Some(token.id.to_string()),
                    details: serde_json::json!({}),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// On a database without users, make a one-time setup token (printed
    /// by the server as a link). Returns `None` once someone has set up.
    pub async fn prepare_setup(&self) -> ServiceResult<Option<String>> {
        if self.store().reader().count_users().await? > 0 {
            return Ok(None);
        }
        let token = random_token(24);
        let mut tx = self.store().begin().await?;
        tx.exec().set_setting(SETUP_TOKEN_KEY, &token_hash(&token)).await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Whether a setup token is the current one.
    pub async fn setup_token_valid(&self, token: &str) -> ServiceResult<bool> {
        let stored = self.store().reader().setting(SETUP_TOKEN_KEY).await?;
        // Comparing hashes: timing reveals nothing about the token itself.
        Ok(stored.is_some_and(|h| h == token_hash(token)))
    }

    /// First-run setup: the first workspace and its first admin, then a session.
    pub async fn complete_setup(
        &self,
        token: &str,
        workspace_name: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> ServiceResult<(WorkspaceId, LoginOutcome)> {
        if !self.setup_token_valid(token).await? {
            return Err(ServiceError::SetupUnavailable(
                "this setup link is not valid or was already used",
            ));
        }
        let (workspace, user) = self
            .create_workspace_with_admin(workspace_name, name, email, password, true)
            .await?;
        Ok((workspace, self.new_session(user).await?))
    }

    /// A workspace and its admin (first-run setup and `switchboard admin`).
    /// With `consume_setup`, the setup token is removed in the same
    /// transaction and the call fails if someone set up first.
    pub async fn create_workspace_with_admin(
        &self,
        workspace_name: &str,
        name: &str,
        email: &str,
        password: &str,
        consume_setup: bool,
    ) -> ServiceResult<(WorkspaceId, UserId)> {
        let workspace_name = Label::parse("workspace_name", workspace_name)?;
        let name = Label::parse("name", name)?;
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        let hash = self.hash_password(&password).await?;
        let now = self.now();
        let workspace = Workspace {
            id: WorkspaceId::new(),
            name: workspace_name.into_string(),
            time_zone: "UTC".into(),
            created_at: now,
        };
        let mut tx = self.store().begin().await?;
        if consume_setup && tx.exec().delete_setting(SETUP_TOKEN_KEY).await? == 0 {
            return Err(ServiceError::SetupUnavailable(
                "this setup link is not valid or was already used",
            ));
        }
        tx.exec().insert_workspace(&workspace).await?;
        let user = match tx.exec().user_by_email(email.as_str()).await? {
            Some(existing) => existing.user_id()?,
            None => {
                let id = UserId::new();
                tx.exec()
                    .insert_user(id, email.as_str(), name.as_str(), &hash, now)
                    .await?;
                id
            }
        };
        tx.exec()
            .insert_membership(workspace.id, user, Role::Admin, 10, now)
            .await?;
        tx.exec()
            .insert_audit(
                &AuditEntry {
                    workspace_id: Some(workspace.id),
                    actor_id: Some(user),
                    action: "workspace.created",
                    target_kind: Some("workspace"),
                    target_id: Some(workspace.id.to_string()),
                    details: serde_json::json!({ "name": workspace.name }),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok((workspace.id, user))
    }

    /// Set a user's password from the shell; every session of theirs ends.
    pub async fn reset_password(&self, email: &str, password: &str) -> ServiceResult<UserId> {
        let email = Email::parse(email)?;
        let password = Password::parse(password)?;
        let user = self
            .store()
            .reader()
            .user_by_email(email.as_str())
            .await?
            .ok_or(ServiceError::NotFound("user"))?
            .user_id()?;
        let hash = self.hash_password(&password).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.exec().update_user(user, None, Some(&hash), now).await?;
        tx.exec().delete_sessions_of(user, None).await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn me(&self, actor: &Actor) -> ServiceResult<Member> {
        self.store()
            .reader()
            .member(actor.workspace_id, actor.user_id)
            .await?
            .ok_or(ServiceError::NotFound("user"))
    }
}
