//! Mail in the tests: the service's real SES v2 client against the moto
//! server ([`crate::secrets::moto_endpoint`]), on which the sender identity
//! is created first (moto, like SES, refuses an unverified sender); and the
//! messages moto accepted, read back from its `/moto-api/data.json`.

use std::io::{Read, Write};
use std::sync::OnceLock;

use serde_json::Value;
use tokengate::mail::Mailer;

use crate::secrets::moto_endpoint;

/// The tests' sender; its domain is the identity created in moto.
pub const MAIL_FROM: &str = "no-reply@tokengate.test";

static IDENTITY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
static CLIENT: OnceLock<aws_sdk_sesv2::Client> = OnceLock::new();

fn client() -> aws_sdk_sesv2::Client {
    CLIENT
        .get_or_init(|| {
            use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region};
            let config = aws_sdk_sesv2::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("local", "local", None, None, "tests"))
                .endpoint_url(moto_endpoint())
                .build();
            aws_sdk_sesv2::Client::from_conf(config)
        })
        .clone()
}

/// A mailer of the real SDK on moto, sending as [`MAIL_FROM`].
pub async fn test_mailer() -> Mailer {
    let client = client();
    IDENTITY
        .get_or_init(|| async {
            // Already there (another test binary made it): fine.
            let _ = client
                .create_email_identity()
                .email_identity("tokengate.test")
                .send()
                .await;
        })
        .await;
    Mailer::new(client, Some(MAIL_FROM.to_string()), "tokengate".to_string())
}

/// A mailer whose SES refuses every message (its sender is no identity).
pub async fn refusing_mailer() -> Mailer {
    Mailer::new(
        client(),
        Some("no-reply@unverified.test".to_string()),
        "tokengate".to_string(),
    )
}

/// One message moto accepted.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub from: String,
    pub subject: String,
    pub body: String,
}

impl SentMail {
    /// The 6-digit code in its text.
    pub fn code(&self) -> String {
        let digits: Vec<char> = self.body.chars().collect();
        digits
            .windows(6)
            .enumerate()
            .find(|(i, w)| {
                w.iter().all(char::is_ascii_digit)
                    && (*i == 0 || !digits[i - 1].is_ascii_digit())
                    && digits.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
            })
            .map(|(_, w)| w.iter().collect())
            .unwrap_or_else(|| panic!("no code in {:?}", self.body))
    }
}

/// Every message moto accepted for `to`, oldest first.
pub fn mail_to(to: &str) -> Vec<SentMail> {
    let endpoint = moto_endpoint().trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(endpoint).expect("connect to moto");
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {endpoint}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let data: Value = serde_json::from_str(body).expect("moto's data.json");
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to_list| to_list.iter().any(|a| a == to))
        })
        .map(|m| SentMail {
            from: m["source"].as_str().unwrap_or_default().to_string(),
            subject: m["subject"].as_str().unwrap_or_default().to_string(),
            body: m["body"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The code of the latest message to `to`.
pub fn latest_code(to: &str) -> String {
    mail_to(to)
        .last()
        .unwrap_or_else(|| panic!("no mail to {to}"))
        .code()
}

/// A fresh address, so tests sharing moto never read each other's mail.
pub fn fresh_address(name: &str) -> String {
    format!("{name}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The messages to `to` once there are at least `count` (a reset request
/// answers at its time floor, and may mail after its answer): polls for up
/// to 10 s, then panics.
pub async fn wait_for_mail(to: &str, count: usize) -> Vec<SentMail> {
    for _ in 0..500 {
        let mail = mail_to(to);
        if mail.len() >= count {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no {count} messages to {to} within 10 s");
}
