//! Mail to the account holder: an address-verification code and a
//! password-reset code, plain and short, through Amazon SES v2. Locally and
//! in tests the same SDK calls go to the moto server
//! (`AWS_ENDPOINT_URL_SESV2`).
//!
//! A message is never logged: it holds a code. Failing to send is logged
//! and counted (`MailFailed`) by the caller, which decides what the client
//! hears (the reset request answers the same whatever happened).

use std::time::Duration;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::input::Email;

/// What a message is for, with the code it carries.
#[derive(Clone, PartialEq, Eq)]
pub enum MailMessage {
    VerifyEmail { code: String },
    ResetPassword { code: String, valid_for: Duration },
}

// A code must not reach a log line through `{:?}`.
impl std::fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MailMessage::VerifyEmail { .. } => "VerifyEmail(<code redacted>)",
            MailMessage::ResetPassword { .. } => "ResetPassword(<code redacted>)",
        })
    }
}

impl MailMessage {
    /// Subject and text, for the product `app`.
    pub fn render(&self, app: &str) -> (String, String) {
        match self {
            MailMessage::VerifyEmail { code } => (
                format!("{app}: confirm your e-mail address"),
                format!(
                    "Your {app} confirmation code is {code}.\n\n\
                     Enter it where you signed up. It works once, for 24 hours.\n\
                     If you did not sign up, ignore this message.\n"
                ),
            ),
            MailMessage::ResetPassword { code, valid_for } => (
                format!("{app}: reset your password"),
                format!(
                    "Your {app} password reset code is {code}.\n\n\
                     It works once, for {} minutes. Setting a new password signs you out everywhere.\n\
                     If you did not ask for it, ignore this message: your password stays as it is.\n",
                    valid_for.as_secs() / 60
                ),
            ),
        }
    }

    /// The code it carries (for the local server's terminal only).
    pub fn code(&self) -> &str {
        match self {
            MailMessage::VerifyEmail { code } | MailMessage::ResetPassword { code, .. } => code,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No sender is configured (`MAIL_FROM`): nothing can be sent.
    #[error("no sender configured (MAIL_FROM)")]
    NoSender,
    #[error("the message could not be built")]
    Build(#[source] aws_sdk_sesv2::error::BuildError),
    /// SES refused the message or did not answer: the error's code or kind
    /// only (SES's message text can name the recipient).
    #[error("SES did not accept the message: {0}")]
    Send(String),
}

/// Sends through one SES v2 client, built at cold start.
#[derive(Clone)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: Option<String>,
    app: String,
    /// The local server prints each message's code to its terminal, so a
    /// person can follow the flows by hand. Never set in a Lambda.
    echo: bool,
}

impl Mailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: Option<String>, app: String) -> Self {
        Mailer {
            client,
            from,
            app,
            echo: false,
        }
    }

    /// An SES v2 client from the standard AWS environment (endpoint
    /// override: `AWS_ENDPOINT_URL_SESV2`), or on `endpoint`. Short timeouts:
    /// a reset request waits for it.
    pub async fn client(endpoint: Option<&str>) -> aws_sdk_sesv2::Client {
        let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let timeouts = aws_sdk_sesv2::config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_timeout(Duration::from_secs(3))
            .build();
        let mut builder =
            aws_sdk_sesv2::config::Builder::from(&sdk_config).timeout_config(timeouts);
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        aws_sdk_sesv2::Client::from_conf(builder.build())
    }

    /// The same mailer, also printing each message's code to stdout.
    pub fn echoing(mut self) -> Self {
        self.echo = true;
        self
    }

    pub fn sender(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// Sends `message` to `to`.
    pub async fn send(&self, to: &Email, message: &MailMessage) -> Result<(), MailError> {
        let from = self.from.as_deref().ok_or(MailError::NoSender)?;
        let (subject, text) = message.render(&self.app);
        let content = |data: String| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(MailError::Build)
        };
        let email = EmailContent::builder()
            .simple(
                Message::builder()
                    .subject(content(subject.clone())?)
                    .body(Body::builder().text(content(text)?).build())
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .from_email_address(from)
            .destination(Destination::builder().to_addresses(to.as_str()).build())
            .content(email)
            .send()
            .await
            .map_err(|e| MailError::Send(send_failure(&e)))?;
        if self.echo {
            // The local server's terminal: the one place a code is shown.
            println!(
                "mail to {}: {subject}: code {}",
                to.as_str(),
                message.code()
            );
        }
        Ok(())
    }
}

/// What went wrong with a send, without SES's message text.
fn send_failure<E, R>(err: &aws_sdk_sesv2::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sesv2::error::ProvideErrorMetadata,
{
    use aws_sdk_sesv2::error::SdkError;
    match err {
        SdkError::ServiceError(service) => service.err().code().unwrap_or("unknown").to_string(),
        SdkError::TimeoutError(_) => "timeout".to_string(),
        SdkError::DispatchFailure(_) => "dispatch failure".to_string(),
        SdkError::ResponseError(_) => "unreadable response".to_string(),
        _ => "request not built".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_short_plain_and_carry_the_code() {
        let reset = MailMessage::ResetPassword {
            code: "012345".into(),
            valid_for: Duration::from_secs(900),
        };
        let (subject, text) = reset.render("tokengate");
        assert_eq!(subject, "tokengate: reset your password");
        assert!(text.contains("012345") && text.contains("15 minutes"));
        assert!(text.len() < 400 && text.is_ascii());
        assert!(!format!("{reset:?}").contains("012345"));
        let (_, text) = MailMessage::VerifyEmail {
            code: "999999".into(),
        }
        .render("Acme");
        assert!(text.contains("Acme") && text.contains("999999"));
    }
}
