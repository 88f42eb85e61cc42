//! `view`: draws the model. Nothing here changes state or does IO. Post text is always passed
//! through `text::inert` first, so no control character or escape sequence reaches the terminal.

use chirp_core::Kind;
use chirp_store::accounts::AccountStatus;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};

use super::keymap::Context;
use super::model::{DbState, Model, Pane, PublisherState};
use super::screens::lists;
use crate::present::{clip_words, fit_hints, inert, width};

/// Styles, or none at all under NO_COLOR.
pub struct Theme {
    color: bool,
}

impl Theme {
    pub fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self, focused: bool) -> Style {
        match (self.color, focused) {
            (true, true) => Style::default().bg(Color::Blue).fg(Color::White),
            (true, false) => Style::default().bg(Color::DarkGray),
            (false, _) => Style::default().add_modifier(Modifier::REVERSED),
        }
    }
    /// The counter: plain, yellow near the rule's limit, red past it.
    pub fn counter(&self, weighted: i32, rule: &dyn chirp_core::TextRule) -> Style {
        if weighted > rule.limit() {
            self.fg(Color::Red).add_modifier(Modifier::BOLD)
        } else if weighted >= rule.warn_at() {
            self.fg(Color::Yellow)
        } else {
            self.fg(Color::Green)
        }
    }
}

/// Where each part of the screen is: what `view` draws into, and what a mouse click hits.
#[derive(Debug, Clone, Copy)]
pub struct Areas {
    pub banner: Rect,
    /// The tab bar (below 120 columns).
    pub tabs: Option<Rect>,
    /// Each pane shown, with its area (one when they are tabs).
    pub panes: [Option<Rect>; 3],
    pub detail: Rect,
    pub status: Rect,
    pub hints: Rect,
}

/// The layout of a screen of `area` for `m`: a pure function of the two.
pub fn areas(m: &Model, area: Rect) -> Areas {
    let banner = matches!(m.db, DbState::Reconnecting(_));
    let [top, body, detail, status, hints] = Layout::vertical([
        Constraint::Length(u16::from(banner)),
        Constraint::Min(5),
        Constraint::Length(if area.height >= 30 { 10 } else { 7 }),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut panes = [None; 3];
    let tabs = if m.wide() {
        let cols = Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(body);
        for (i, col) in cols.iter().enumerate() {
            panes[i] = Some(*col);
        }
        None
    } else {
        let [tabs, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(body);
        panes[m.focus.index()] = Some(list);
        Some(tabs)
    };
    Areas {
        banner: top,
        tabs,
        panes,
        detail,
        status,
        hints,
    }
}

pub fn view(m: &Model, f: &mut Frame) {
    let theme = Theme { color: m.color };
    let a = areas(m, f.area());
    let (top, detail, status, hints) = (a.banner, a.detail, a.status, a.hints);
    if let DbState::Reconnecting(why) = &m.db {
        let line = format!(
            " database unreachable — reconnecting… ({}) ",
            inert(why, false)
        );
        f.render_widget(
            Paragraph::new(line).style(
                theme
                    .fg(Color::White)
                    .bg(if m.color { Color::Red } else { Color::Reset })
                    .add_modifier(Modifier::BOLD),
            ),
            top,
        );
    }
    if let Some(tabs) = a.tabs {
        let titles: Vec<Line> = Pane::ALL
            .iter()
            .map(|p| Line::from(lists::tab_title(m, *p)))
            .collect();
        f.render_widget(
            Tabs::new(titles)
                .select(m.focus.index())
                .highlight_style(theme.bold().add_modifier(Modifier::REVERSED))
                .divider("│"),
            tabs,
        );
    }
    for (pane, area) in Pane::ALL.iter().zip(a.panes) {
        if let Some(area) = area {
            lists::draw_list(m, f, *pane, area, &theme, a.tabs.is_none());
        }
    }
    lists::draw_detail(m, f, detail, &theme);
    let cols = usize::from(hints.width).saturating_sub(1);
    match draw_status(m, f, status, &theme) {
        // A message that does not fit beside the status takes the hints' line: messages come
        // before hints, and are cut between words, never inside one.
        Some((msg, failed)) => f.render_widget(
            Paragraph::new(format!(" {}", clip_words(&inert(msg, false), cols)))
                .style(flash_style(&theme, failed)),
            hints,
        ),
        None => f.render_widget(
            Paragraph::new(hint_line(m, cols)).style(theme.fg(Color::DarkGray)),
            hints,
        ),
    }
    // Popups in stack order, the top one last.
    for screen in &m.stack {
        screen.draw(m, f, &theme);
    }
}

/// The hints' line for `cols` columns: a popup's own, or the lists' keys that fit with the
/// help key last.
pub(crate) fn hint_line(m: &Model, cols: usize) -> String {
    if let Some(h) = m.stack.last().and_then(|s| s.hint(m)) {
        return clip_words(&h, cols + 1);
    }
    if m.filter.is_empty() {
        let all = m.keys.hints(Context::Lists);
        let help = m.keys.key_of(Context::Lists, super::keymap::Action::Help);
        let items: Vec<String> = all
            .iter()
            .filter(|(_, h)| *h != "help")
            .map(|(k, h)| format!("{k} {h}"))
            .collect();
        format!(" {}", fit_hints(&items, &format!("{help} help"), cols))
    } else {
        let key = |a| m.keys.key_of(Context::Lists, a);
        use super::keymap::Action;
        format!(
            " filtered by “{}” · {} change · {} help · {} quit",
            inert(&m.filter, false),
            key(Action::Filter),
            key(Action::Help),
            key(Action::Quit)
        )
    }
}

/// "in 2h 5m", "3m ago".
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let a = secs.abs();
    let s = if a < 60 {
        format!("{a}s")
    } else if a < 3600 {
        format!("{}m", a / 60)
    } else if a < 86_400 {
        format!("{}h {}m", a / 3600, (a % 3600) / 60)
    } else {
        format!("{}d {}h", a / 86_400, (a % 86_400) / 3600)
    };
    if secs >= 0 {
        format!("in {s}")
    } else {
        format!("{s} ago")
    }
}

/// A status-bar message in the colour of what it says: news in cyan, a failure in its kind's.
fn flash_style(theme: &Theme, failed: Option<Kind>) -> Style {
    match failed {
        None => theme.fg(Color::Cyan),
        Some(kind) => theme.fg(super::failure::color_of(kind)),
    }
}

/// The status bar. Returns the message to show, when it did not fit beside the status.
fn draw_status<'m>(
    m: &'m Model,
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
) -> Option<(&'m str, Option<Kind>)> {
    // The account shown, or every account (each in the colour of its state).
    let shown: Vec<&AccountStatus> = match m.showing {
        Some(id) => m.accounts.iter().filter(|a| a.id == id).collect(),
        None => m.accounts.iter().collect(),
    };
    use crate::tui::keymap::{Action, Context};
    // The key that connects an account, for every state that needs one.
    let connect = m.keys.key_of(Context::Lists, Action::ConnectAccount);
    let mut spans: Vec<Span> = Vec::new();
    if shown.is_empty() {
        spans.push(Span::styled(
            format!(" not connected ({connect} connects) "),
            theme.fg(Color::Yellow),
        ));
    }
    for a in &shown {
        let name = a.username.as_ref().map(|u| format!("@{u}"));
        spans.push(match name {
            // Its posts wait until the user tops up and resumes it (S, then R).
            Some(n) if a.out_of_credits_at.is_some() => Span::styled(
                format!(
                    " {n} out of credits ({} then {}) ",
                    m.keys.key_of(Context::Lists, Action::ShowStats),
                    m.keys.key_of(Context::Stats, Action::Resume)
                ),
                theme.fg(Color::Red),
            ),
            Some(n) if a.connected => Span::styled(format!(" {n} "), theme.fg(Color::Green)),
            Some(n) if a.needs_reconnect => Span::styled(
                format!(" {n} needs reconnect ({connect}) "),
                theme.fg(Color::Red),
            ),
            Some(n) => Span::styled(
                format!(" {n} not connected ({connect}) "),
                theme.fg(Color::Yellow),
            ),
            None => Span::styled(
                format!(" not connected ({connect} connects) "),
                theme.fg(Color::Yellow),
            ),
        });
    }
    let publisher = match &m.publisher {
        PublisherState::Off(why) => format!("publisher off ({})", inert(why, false)),
        PublisherState::Running { next, x_left, .. } => {
            let mut s = match next {
                Some(t) => format!("publisher on · next {}", relative(*t, m.now)),
                None => "publisher on · idle".into(),
            };
            if let Some((left, limit)) = x_left {
                s.push_str(&format!(" · X {left}/{limit} left"));
            }
            s
        }
    };
    let db = match &m.db {
        DbState::Connected => Span::styled("db ok", theme.fg(Color::Green)),
        DbState::Reconnecting(_) => Span::styled(
            "db reconnecting…",
            theme.fg(Color::Red).add_modifier(Modifier::BOLD),
        ),
    };
    spans.extend([Span::raw("│ "), Span::raw(publisher), Span::raw(" │ "), db]);
    let mut elsewhere = None;
    if let Some((msg, err)) = &m.flash {
        let shown = inert(msg, false);
        let used: usize = spans.iter().map(|s| width(&s.content)).sum();
        if used + 3 + width(&shown) <= usize::from(area.width) {
            spans.push(Span::raw(" │ "));
            spans.push(Span::styled(shown, flash_style(theme, *err)));
        } else {
            elsewhere = Some((msg.as_str(), *err));
        }
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(if m.color {
            Style::default().bg(Color::Black)
        } else {
            Style::default()
        }),
        area,
    );
    elsewhere
}
