//! Real mail servers for the e-mail channel's tests: Debian's Dovecot as
//! the IMAP server of the channel's mailbox (a private instance per test,
//! Maildir in a temporary folder, seeded through `imapclient` from PyPI),
//! and aiosmtpd (PyPI) as the SMTP server replies go through, checking our
//! login and keeping what it takes. [`MailServers::start_tls`] gives both
//! a certificate from a CA of the test's own (made with the `openssl`
//! command): Dovecot then takes logins only over TLS, on its IMAPS port or
//! after `STARTTLS`, and aiosmtpd answers implicit TLS on a second port and
//! requires `STARTTLS` on the first. [`MailServers::start_oauth`] makes
//! both take an OAuth2 access token by `XOAUTH2` instead of the password:
//! Dovecot checks it with its `oauth2` passdb against a token-info endpoint
//! the test serves, aiosmtpd with a handler of the mechanism.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};

/// The channel's address and login on both servers.
pub const ADDRESS: &str = "help@shop.example";
pub const PASSWORD: &str = "mailbox-pw-123";
/// The access token [`MailServers::start_oauth`]'s servers take.
pub const OAUTH_TOKEN: &str = "ya29.test-access-token-for-the-mailbox";
/// The refresh grant its token endpoint answers with [`OAUTH_TOKEN`].
pub const OAUTH_CLIENT_ID: &str = "switchboard-test-client";
pub const OAUTH_CLIENT_SECRET: &str = "test-client-secret";
pub const OAUTH_REFRESH_TOKEN: &str = "1//test-refresh-token";

/// What the servers take besides plain mail.
#[derive(Debug, Clone, Copy, Default)]
struct Options {
    tls: bool,
    oauth: bool,
}

/// Google's two OAuth2 endpoints for a mailbox: the token endpoint (the
/// refresh grant of RFC 6749 §6, counted) and token info (`?access_token=`
/// → the e-mail address the token is for). Its port.
async fn token_endpoints(grants: Arc<AtomicUsize>) -> u16 {
    let app = axum::Router::new()
        .route(
            "/token",
            axum::routing::post(move |body: String| {
                let grants = grants.clone();
                async move {
                    let form: std::collections::HashMap<String, String> =
                        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    let field = |k: &str| form.get(k).map(String::as_str);
                    let valid = field("grant_type") == Some("refresh_token")
                        && field("refresh_token") == Some(OAUTH_REFRESH_TOKEN)
                        && field("client_id") == Some(OAUTH_CLIENT_ID)
                        && field("client_secret") == Some(OAUTH_CLIENT_SECRET);
                    if !valid {
                        return (
                            axum::http::StatusCode::BAD_REQUEST,
                            axum::Json(serde_json::json!({"error": "invalid_grant", "error_description": "Bad Request"})),
                        );
                    }
                    grants.fetch_add(1, Ordering::SeqCst);
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(serde_json::json!({"access_token": OAUTH_TOKEN, "expires_in": 3599, "token_type": "Bearer"})),
                    )
                }
            }),
        )
        .route(
        "/tokeninfo",
        axum::routing::get(
            |query: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                match query.get("access_token").map(String::as_str) {
                    Some(OAUTH_TOKEN) => (
                        axum::http::StatusCode::OK,
                        axum::Json(serde_json::json!({"email": ADDRESS, "expires_in": 3599})),
                    ),
                    _ => (
                        axum::http::StatusCode::BAD_REQUEST,
                        axum::Json(serde_json::json!({"error": "invalid_token"})),
                    ),
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

/// One message the SMTP server took.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub raw: Vec<u8>,
    /// `mail_from`, `rcpt_tos` and whether the client logged in.
    pub envelope: serde_json::Value,
}

impl SentMail {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

pub struct MailServers {
    dir: tempfile::TempDir,
    _dovecot: Child,
    _smtp: Child,
    pub imap_port: u16,
    pub smtp_port: u16,
    /// With [`MailServers::start_tls`].
    pub tls: Option<MailTls>,
    /// With [`MailServers::start_oauth`]: the token endpoint's URL.
    pub token_url: Option<String>,
    /// Refresh grants the token endpoint answered.
    pub grants: Arc<AtomicUsize>,
}

/// The TLS side of [`MailServers::start_tls`].
#[derive(Debug, Clone)]
pub struct MailTls {
    /// The test CA's certificate (PEM): what a client must trust.
    pub ca_pem: Vec<u8>,
    /// IMAP over TLS from the first byte.
    pub imaps_port: u16,
    /// SMTP over TLS from the first byte.
    pub smtps_port: u16,
}

/// A CA and a certificate it issued for 127.0.0.1 and localhost, in `dir`
/// (`ca.pem`, `server.pem`, `server.key`).
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=Switchboard test mail CA",
            ],
            &[
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_port(port: u16, what: &str, log: &Path) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what} did not start on port {port}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

fn dovecot_config(dir: &Path, port: u16, imaps_port: Option<u16>, token_port: Option<u16>) -> String {
    let d = dir.display();
    // With OAuth2: `XOAUTH2` checked by the `oauth2` passdb, the password
    // for the other mechanisms.
    let (mechanisms, oauth_passdb) = match token_port {
        Some(p) => {
            std::fs::write(
                dir.join("oauth2.conf"),
                format!("tokeninfo_url = http://127.0.0.1:{p}/tokeninfo?access_token=\nusername_attribute = email\n"),
            )
            .unwrap();
            (
                "plain login xoauth2",
                format!("passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {d}/oauth2.conf\n}}\n"),
            )
        }
        None => ("plain login", String::new()),
    };
    // With TLS: logins only over it, on either port.
    let ssl = match imaps_port {
        Some(_) => format!(
            "ssl = required\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\ndisable_plaintext_auth = yes"
        ),
        None => "ssl = no\ndisable_plaintext_auth = no".to_owned(),
    };
    let imaps = match imaps_port {
        Some(p) => format!("address = 127.0.0.1\n    port = {p}\n    ssl = yes"),
        None => "port = 0".to_owned(),
    };
    format!(
        r#"base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
auth_mechanisms = {mechanisms}
mail_location = maildir:{d}/home/%u/Maildir
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
{oauth_passdb}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    {imaps}
  }}
}}
service anvil {{
  chroot =
}}
"#
    )
}

impl MailServers {
    pub async fn start() -> MailServers {
        MailServers::start_with(Options::default()).await
    }

    /// Both servers with certificates from a CA of the test's own.
    pub async fn start_tls() -> MailServers {
        MailServers::start_with(Options {
            tls: true,
            ..Default::default()
        })
        .await
    }

    /// Both servers taking [`OAUTH_TOKEN`] by `XOAUTH2`.
    pub async fn start_oauth() -> MailServers {
        MailServers::start_with(Options {
            oauth: true,
            ..Default::default()
        })
        .await
    }

    async fn start_with(options: Options) -> MailServers {
        let Options { tls, oauth } = options;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        for sub in ["run", "state", "home", "sent"] {
            std::fs::create_dir_all(path.join(sub)).unwrap();
        }
        // Dovecot's own users must reach the folders.
        let chmod = std::process::Command::new("chmod")
            .arg("0755")
            .arg(&path)
            .status()
            .unwrap();
        assert!(chmod.success());
        let chown = std::process::Command::new("chown")
            .args(["-R", "dovecot:dovecot"])
            .arg(path.join("home"))
            .status()
            .expect("chown (the tests run as root, for Dovecot's users)");
        assert!(chown.success(), "chown of the mail folder failed");
        std::fs::write(path.join("passwd"), format!("{ADDRESS}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let imap_port = free_port();
        let (imaps_port, smtps_port) = (free_port(), free_port());
        if tls {
            make_certificates(&path);
        }
        let imaps = tls.then_some(imaps_port);
        let grants = Arc::new(AtomicUsize::new(0));
        let token_port = if oauth {
            Some(token_endpoints(grants.clone()).await)
        } else {
            None
        };
        std::fs::write(
            path.join("dovecot.conf"),
            dovecot_config(&path, imap_port, imaps, token_port),
        )
        .unwrap();
        let dovecot_bin = ["/usr/sbin/dovecot", "dovecot"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("dovecot");
        let dovecot = Command::new(dovecot_bin)
            .arg("-F")
            .arg("-c")
            .arg(path.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dovecot (Debian's dovecot-imapd) must be installed");
        wait_for_port(imap_port, "Dovecot", &path.join("dovecot.log")).await;
        let smtp_port = free_port();
        let script = path.join("smtp_peer.py");
        std::fs::write(&script, include_str!("../peers/smtp_peer.py")).unwrap();
        let mut smtp = Command::new("python3");
        smtp.arg(&script)
            .arg(smtp_port.to_string())
            .arg(path.join("sent"))
            .arg(ADDRESS)
            .arg(PASSWORD);
        if oauth {
            smtp.env("SMTP_PEER_OAUTH_TOKEN", OAUTH_TOKEN);
        }
        if tls {
            smtp.arg(path.join("server.pem"))
                .arg(path.join("server.key"))
                .arg(smtps_port.to_string());
        }
        let smtp = smtp
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(path.join("smtp.log")).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 with aiosmtpd");
        wait_for_port(smtp_port, "aiosmtpd", &path.join("smtp.log")).await;
        let tls = if tls {
            wait_for_port(imaps_port, "Dovecot (IMAPS)", &path.join("dovecot.log")).await;
            wait_for_port(smtps_port, "aiosmtpd (SMTPS)", &path.join("smtp.log")).await;
            Some(MailTls {
                ca_pem: std::fs::read(path.join("ca.pem")).unwrap(),
                imaps_port,
                smtps_port,
            })
        } else {
            None
        };
        MailServers {
            dir,
            _dovecot: dovecot,
            _smtp: smtp,
            imap_port,
            smtp_port,
            tls,
            token_url: token_port.map(|p| format!("http://127.0.0.1:{p}/token")),
            grants,
        }
    }

    /// The channel's configuration for these servers (no TLS: both are on
    /// loopback, which the test server allows).
    pub fn config(&self) -> serde_json::Value {
        serde_json::json!({
            "address": ADDRESS,
            "display_name": "Shop Support",
            "signature": "Shop Support team",
            "imap_host": "127.0.0.1",
            "imap_port": self.imap_port,
            "imap_security": "none",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.smtp_port,
            "smtp_security": "none",
            "password": PASSWORD,
        })
    }

    /// Run a snippet of Python with `imapclient` (PyPI) logged in to the
    /// mailbox as `mailbox`; `input` is its standard input. Its output.
    async fn imapclient(&self, snippet: &str, input: &[u8]) -> String {
        use tokio::io::AsyncWriteExt;
        // Over IMAPS, trusting the test CA, when the server takes logins
        // only over TLS.
        let (port, connect) = match &self.tls {
            Some(tls) => (
                tls.imaps_port,
                format!(
                    "import ssl\nmailbox = IMAPClient('127.0.0.1', port=int(sys.argv[1]), ssl=True, ssl_context=ssl.create_default_context(cafile={:?}))",
                    self.dir.path().join("ca.pem").display().to_string()
                ),
            ),
            None => (
                self.imap_port,
                "mailbox = IMAPClient('127.0.0.1', port=int(sys.argv[1]), ssl=False)".to_owned(),
            ),
        };
        let script = format!(
            "import sys\nfrom imapclient import IMAPClient\n{connect}\nmailbox.login(sys.argv[2], sys.argv[3])\n{snippet}\nmailbox.logout()\n"
        );
        let mut child = Command::new("python3")
            .args(["-c", &script, &port.to_string(), ADDRESS, PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 with imapclient (pip install imapclient)");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input).await.unwrap();
        drop(stdin);
        let output = child.wait_with_output().await.unwrap();
        assert!(
            output.status.success(),
            "imapclient: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Put a message into the mailbox, as a mail server delivering it
    /// would (`imapclient`'s APPEND).
    pub async fn deliver(&self, raw: &str) {
        self.imapclient("mailbox.append('INBOX', sys.stdin.buffer.read())", raw.as_bytes())
            .await;
    }

    /// How many messages in the mailbox are still unread (`\Seen` not set).
    pub async fn unseen(&self) -> usize {
        self.imapclient(
            "mailbox.select_folder('INBOX', readonly=True)\nprint(len(mailbox.search('UNSEEN')))",
            b"",
        )
        .await
        .trim()
        .parse()
        .unwrap()
    }

    fn sent_dir(&self) -> PathBuf {
        self.dir.path().join("sent")
    }

    /// What the SMTP server took so far, in order.
    pub fn sent(&self) -> Vec<SentMail> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.sent_dir())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| SentMail {
                raw: std::fs::read(&p).unwrap(),
                envelope: serde_json::from_slice(&std::fs::read(p.with_extension("json")).unwrap()).unwrap(),
            })
            .collect()
    }

    /// Wait until the SMTP server took `n` messages.
    pub async fn wait_sent(&self, n: usize) -> Vec<SentMail> {
        crate::eventually(Duration::from_secs(20), || async {
            let sent = self.sent();
            (sent.len() >= n).then_some(sent)
        })
        .await
    }
}
