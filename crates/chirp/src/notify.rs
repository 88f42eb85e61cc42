//! Notifications for events worth attention (a post failed, an account needs reconnecting or
//! is out of credits, a post went out): the terminal bell and desktop notifications through
//! OSC 9 or OSC 777, which most terminals show and tmux passes through when allowed
//! (`set -g allow-passthrough on`). Pure: this makes the bytes; the TUI and `chirp scheduler
//! --notify` write them.

use serde::Deserialize;

/// Which events notify, and how (the `[notify]` section of the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// A post failed.
    pub failed: bool,
    /// An account needs reconnecting, or X says it is out of credits.
    pub account: bool,
    /// A post went out.
    pub posted: bool,
    /// Ring the terminal bell.
    pub bell: bool,
    /// The desktop notification's escape sequence.
    pub osc: Osc,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            failed: true,
            account: true,
            posted: false,
            bell: true,
            osc: Osc::Nine,
        }
    }
}

/// OSC 9 (iTerm2, kitty, WezTerm, foot, Windows Terminal…), OSC 777 (rxvt-unicode, foot,
/// Ghostty, VTE terminals…), both, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Osc {
    #[serde(rename = "9")]
    Nine,
    #[serde(rename = "777")]
    SevenSevenSeven,
    #[serde(rename = "both")]
    Both,
    #[serde(rename = "off")]
    Off,
}

/// What happened, as far as notifying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Failed,
    Account,
    Posted,
}

impl NotifyConfig {
    pub fn wants(&self, kind: Kind) -> bool {
        match kind {
            Kind::Failed => self.failed,
            Kind::Account => self.account,
            Kind::Posted => self.posted,
        }
    }

    /// The bytes that announce `body` (titled "chirp"), or nothing when `kind` is not wanted.
    /// `tmux`: wrapped for tmux's passthrough.
    pub fn bytes(&self, kind: Kind, body: &str, tmux: bool) -> Vec<u8> {
        if !self.wants(kind) {
            return Vec::new();
        }
        let body = clean(body);
        let mut out = Vec::new();
        if matches!(self.osc, Osc::Nine | Osc::Both) {
            out.extend(passthrough(&format!("\x1b]9;chirp: {body}\x07"), tmux));
        }
        if matches!(self.osc, Osc::SevenSevenSeven | Osc::Both) {
            // Fields are separated by `;`: none may hold one.
            let body = body.replace(';', ",");
            out.extend(passthrough(
                &format!("\x1b]777;notify;chirp;{body}\x07"),
                tmux,
            ));
        }
        if self.bell {
            out.push(0x07);
        }
        out
    }
}

/// A sequence as tmux passes it to the terminal outside: in a DCS, every ESC doubled.
fn passthrough(seq: &str, tmux: bool) -> Vec<u8> {
    if tmux {
        format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b")).into_bytes()
    } else {
        seq.as_bytes().to_vec()
    }
}

/// Text made safe inside an escape sequence: no control characters (they would end it or
/// start another), one line, not too long for a notification.
fn clean(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let one = one.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 200 {
        let mut cut: String = one.chars().take(199).collect();
        cut.push('…');
        cut
    } else {
        one
    }
}

/// What a publisher event announces, if it is worth attention: its kind and one line.
pub fn notice(
    e: &chirp_publisher::Event,
    who: &dyn Fn(chirp_core::AccountId) -> String,
) -> Option<(Kind, String)> {
    use chirp_credentials::Refresh;
    use chirp_publisher::Event;
    match e {
        Event::Failed { post, reason } => {
            Some((Kind::Failed, format!("post {post} failed: {reason}")))
        }
        Event::Token(Refresh::Refused { account, reason }) => Some((
            Kind::Account,
            format!("{} needs reconnecting: {reason}", who(*account)),
        )),
        Event::OutOfCredits { account, .. } => Some((
            Kind::Account,
            format!("{} is out of credits: its posts wait", who(*account)),
        )),
        Event::Posted { post, .. } => Some((Kind::Posted, format!("post {post} is on X"))),
        _ => None,
    }
}

/// OSC 52: `text` on the terminal's clipboard (tmux keeps it as a buffer when its
/// `set-clipboard` is on, and passes it on to the terminal outside).
pub fn clipboard(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{b64}\x07").into_bytes()
}

/// Whether chirp runs inside tmux (its sequences then need wrapping).
pub fn in_tmux() -> bool {
    std::env::var_os("TMUX").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc_9_then_the_bell() {
        let n = NotifyConfig::default();
        assert_eq!(
            n.bytes(Kind::Failed, "post 3 failed: X refused it", false),
            b"\x1b]9;chirp: post 3 failed: X refused it\x07\x07".to_vec()
        );
        // A post that went out does not notify unless asked.
        assert!(n.bytes(Kind::Posted, "post 3 is on X", false).is_empty());
    }

    #[test]
    fn osc_777_has_a_title_and_no_stray_separators() {
        let n = NotifyConfig {
            osc: Osc::SevenSevenSeven,
            bell: false,
            ..NotifyConfig::default()
        };
        assert_eq!(
            n.bytes(
                Kind::Account,
                "@me needs reconnecting; run chirp account connect",
                false
            ),
            b"\x1b]777;notify;chirp;@me needs reconnecting, run chirp account connect\x07".to_vec()
        );
    }

    #[test]
    fn inside_tmux_the_sequence_is_passed_through() {
        let n = NotifyConfig {
            bell: false,
            ..NotifyConfig::default()
        };
        assert_eq!(
            n.bytes(Kind::Failed, "x", true),
            b"\x1bPtmux;\x1b\x1b]9;chirp: x\x07\x1b\\".to_vec()
        );
    }

    #[test]
    fn text_from_x_cannot_escape_the_sequence() {
        let n = NotifyConfig {
            bell: false,
            ..NotifyConfig::default()
        };
        let got = n.bytes(Kind::Failed, "bad\x07\x1b]0;pwned\x07\nline", false);
        assert_eq!(got, b"\x1b]9;chirp: bad ]0;pwned line\x07".to_vec());
    }
}
