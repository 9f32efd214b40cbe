//! Reading the channel's mailbox by IMAP: by UID, so a message is taken
//! once and none is skipped across restarts (the cursor keeps the last UID
//! stored and the mailbox's `UIDVALIDITY`); `IDLE` waits for news where the
//! server has it, else the next poll comes after the poll interval.

use std::time::Duration;

use async_imap::Session;
use futures::TryStreamExt;

use super::config::{Auth, Config, Cursor, Security};
use super::connect::{self, Dial, MailStream};
use crate::SendError;

/// Messages taken per poll (the next poll comes at once while there are more).
const BATCH: usize = 20;

/// A message larger than this is not downloaded: the agent sees its
/// sender and subject and a note to open it in the mailbox.
pub(super) const MAX_MESSAGE_BYTES: u32 = 40 * 1024 * 1024;

/// One message as the mailbox holds it.
pub(super) struct Fetched {
    pub uid: u32,
    /// The whole message, or only its header when it is over the size limit.
    pub raw: Vec<u8>,
    pub too_large: Option<u32>,
}

/// What one poll read.
pub(super) struct Read {
    pub validity: u32,
    pub messages: Vec<Fetched>,
    /// The cursor once these are stored.
    pub cursor: Cursor,
}

fn imap_error(doing: &str, e: async_imap::error::Error) -> SendError {
    match e {
        async_imap::error::Error::No(why) | async_imap::error::Error::Bad(why) => {
            SendError::Permanent(format!("the mail server refused {doing}: {}", why.trim()))
        }
        other => SendError::Retryable(format!("{doing} failed: {other}")),
    }
}

struct XOAuth2<'a> {
    user: &'a str,
    token: &'a str,
}

impl async_imap::Authenticator for XOAuth2<'_> {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        super::xoauth2(self.user, self.token)
    }
}

/// A logged-in session to the channel's IMAP server.
async fn login(dial: Dial<'_>, config: &Config) -> Result<Session<MailStream>, SendError> {
    let server = config
        .imap
        .as_ref()
        .ok_or_else(|| SendError::Permanent("this channel's mail is posted to its hook: it has no mailbox".into()))?;
    let tcp = connect::tcp(dial.http, server).await?;
    let stream: MailStream = match server.security {
        Security::Tls => Box::new(connect::tls(tcp, &server.host, dial.roots).await?),
        Security::None => Box::new(tcp),
        Security::Starttls => {
            let mut plain = async_imap::Client::new(tcp);
            greeting(&mut plain).await?;
            plain
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| imap_error("STARTTLS", e))?;
            Box::new(connect::tls(plain.into_inner(), &server.host, dial.roots).await?)
        }
    };
    let mut client = async_imap::Client::new(stream);
    if server.security != Security::Starttls {
        greeting(&mut client).await?;
    }
    let refused = |e: async_imap::error::Error| match e {
        async_imap::error::Error::No(why) | async_imap::error::Error::Bad(why) => SendError::Permanent(format!(
            "the mail server refused the login of {}: {}",
            config.username,
            why.trim()
        )),
        other => SendError::Retryable(format!("logging in failed: {other}")),
    };
    let secret = dial.tokens.secret(dial.http, config).await?;
    match config.auth {
        Auth::Password => client
            .login(&config.username, &secret)
            .await
            .map_err(|(e, _)| refused(e)),
        Auth::Xoauth2 => client
            .authenticate(
                "XOAUTH2",
                XOAuth2 {
                    user: &config.username,
                    token: &secret,
                },
            )
            .await
            .map_err(|(e, _)| refused(e)),
    }
}

async fn greeting(client: &mut async_imap::Client<impl connect::MailIo>) -> Result<(), SendError> {
    match tokio::time::timeout(Duration::from_secs(15), client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(SendError::Retryable("the mail server closed the connection".into())),
        Ok(Err(e)) => Err(SendError::Retryable(format!(
            "the mail server's greeting could not be read: {e}"
        ))),
        Err(_) => Err(SendError::Retryable("the mail server sent no greeting".into())),
    }
}

async fn select(session: &mut Session<MailStream>, config: &Config) -> Result<(u32, u32), SendError> {
    let mailbox = session
        .select(&config.mailbox)
        .await
        .map_err(|e| imap_error(&format!("opening the folder {:?}", config.mailbox), e))?;
    Ok((mailbox.uid_validity.unwrap_or(0), mailbox.uid_next.unwrap_or(1)))
}

/// The UIDs after `last`, in order (`n:*` always names the newest
/// message, even one at or before `n`: those are dropped).
async fn uids_after(session: &mut Session<MailStream>, last: u32) -> Result<Vec<u32>, SendError> {
    let found = session
        .uid_search(format!("UID {}:*", last.saturating_add(1)))
        .await
        .map_err(|e| imap_error("searching the folder", e))?;
    let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid > last).collect();
    uids.sort_unstable();
    Ok(uids)
}

/// What is new after `cursor`, waiting up to `wait` for news with `IDLE`.
/// Without a cursor (the first poll) or after the mailbox was rebuilt,
/// reading starts with the mail of the last day ([`first_start`]).
pub(super) async fn read(
    dial: Dial<'_>,
    config: &Config,
    cursor: Option<Cursor>,
    wait: Duration,
) -> Result<Read, SendError> {
    let mut session = login(dial, config).await?;
    let (validity, uid_next) = select(&mut session, config).await?;
    let cursor = match cursor.filter(|c| c.validity == validity) {
        Some(cursor) => cursor,
        None => Cursor {
            validity,
            last_uid: first_start(&mut session, uid_next).await?,
        },
    };
    let mut uids = uids_after(&mut session, cursor.last_uid).await?;
    if uids.is_empty() && !wait.is_zero() {
        let idles = session
            .capabilities()
            .await
            .map_err(|e| imap_error("asking for capabilities", e))?
            .has_str("IDLE");
        if idles {
            session = idle(session, wait).await?;
            uids = uids_after(&mut session, cursor.last_uid).await?;
        }
    }
    uids.truncate(BATCH);
    let messages = fetch(&mut session, &uids).await?;
    let _ = session.logout().await;
    let last_uid = uids.last().copied().unwrap_or(cursor.last_uid);
    Ok(Read {
        validity,
        messages,
        cursor: Cursor { validity, last_uid },
    })
}

/// Where a new channel (or a rebuilt mailbox) starts: before the first
/// message received since yesterday (IMAP's `SINCE` counts whole days), so
/// customers who wrote just before the mailbox was connected are answered
/// and older mail stays in the mailbox only.
async fn first_start(session: &mut Session<MailStream>, uid_next: u32) -> Result<u32, SendError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let yesterday = chrono::DateTime::from_timestamp(now - 86_400, 0).unwrap_or_default();
    let recent = session
        .uid_search(format!("SINCE {}", yesterday.format("%d-%b-%Y")))
        .await
        .map_err(|e| imap_error("searching the folder", e))?;
    Ok(recent.into_iter().min().unwrap_or(uid_next).saturating_sub(1))
}

/// Wait until the server says something changed, or `wait` passes.
async fn idle(session: Session<MailStream>, wait: Duration) -> Result<Session<MailStream>, SendError> {
    let mut handle = session.idle();
    handle.init().await.map_err(|e| imap_error("IDLE", e))?;
    let (news, _stop) = handle.wait_with_timeout(wait);
    news.await.map_err(|e| imap_error("IDLE", e))?;
    handle.done().await.map_err(|e| imap_error("ending IDLE", e))
}

async fn fetch(session: &mut Session<MailStream>, uids: &[u32]) -> Result<Vec<Fetched>, SendError> {
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let sizes: Vec<(u32, u32)> = session
        .uid_fetch(&set, "(UID RFC822.SIZE)")
        .await
        .map_err(|e| imap_error("reading message sizes", e))?
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| imap_error("reading message sizes", e))?
        .iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .collect();
    let mut messages = Vec::with_capacity(uids.len());
    for uid in uids {
        let size = sizes.iter().find(|(u, _)| u == uid).map(|(_, s)| *s).unwrap_or(0);
        let too_large = (size > MAX_MESSAGE_BYTES).then_some(size);
        let part = if too_large.is_some() {
            "BODY.PEEK[HEADER]"
        } else {
            "BODY.PEEK[]"
        };
        let raw = fetch_part(session, *uid, part).await?;
        if let Some(raw) = raw {
            messages.push(Fetched {
                uid: *uid,
                raw,
                too_large,
            });
        }
    }
    Ok(messages)
}

/// One message's bytes (`None`: it was deleted meanwhile).
async fn fetch_part(session: &mut Session<MailStream>, uid: u32, part: &str) -> Result<Option<Vec<u8>>, SendError> {
    let query = format!("(UID {part})");
    let fetched = session
        .uid_fetch(uid.to_string(), &query)
        .await
        .map_err(|e| imap_error("reading a message", e))?
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| imap_error("reading a message", e))?;
    Ok(fetched
        .iter()
        .find(|f| f.uid == Some(uid))
        .and_then(|f| f.body().or_else(|| f.header()).map(<[u8]>::to_vec)))
}

/// The whole message `uid`, if the mailbox is still the one it was in.
pub(super) async fn message(dial: Dial<'_>, config: &Config, validity: u32, uid: u32) -> Result<Vec<u8>, SendError> {
    let mut session = login(dial, config).await?;
    let (now, _) = select(&mut session, config).await?;
    if now != validity {
        return Err(SendError::Permanent(
            "the mailbox was rebuilt since: the message is gone".into(),
        ));
    }
    let raw = fetch_part(&mut session, uid, "BODY.PEEK[]").await?;
    let _ = session.logout().await;
    raw.ok_or_else(|| SendError::Permanent("the message is no longer in the mailbox".into()))
}

/// Log in and open the folder: what "check connection" reports.
pub(super) async fn check(dial: Dial<'_>, config: &Config) -> Result<String, SendError> {
    let mut session = login(dial, config).await?;
    let mailbox = session
        .select(&config.mailbox)
        .await
        .map_err(|e| imap_error(&format!("opening the folder {:?}", config.mailbox), e))?;
    let _ = session.logout().await;
    Ok(format!(
        "IMAP: logged in to {} as {}; {:?} holds {} messages",
        config.imap.as_ref().map(|s| s.host.as_str()).unwrap_or_default(),
        config.username,
        config.mailbox,
        mailbox.exists
    ))
}
