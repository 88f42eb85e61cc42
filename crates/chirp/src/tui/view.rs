//! `view`: draws the model. Nothing here changes state or does IO. Post text is always passed
//! through `text::inert` first, so no control character or escape sequence reaches the terminal.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Block, Borders, Clear, List as ListWidget, ListItem, ListState, Paragraph, Tabs, Wrap,
};
use unicode_width::UnicodeWidthChar;

use super::model::{Composer, Confirm, DbState, Mode, Model, Pane, Prompt, PublisherState};
use crate::present::{clip, inert};
use chirp_core::{Post, Status, parse_when, text, when};

/// Styles, or none at all under NO_COLOR.
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    fn selected(&self, focused: bool) -> Style {
        match (self.color, focused) {
            (true, true) => Style::default().bg(Color::Blue).fg(Color::White),
            (true, false) => Style::default().bg(Color::DarkGray),
            (false, _) => Style::default().add_modifier(Modifier::REVERSED),
        }
    }
    /// The counter: plain, yellow near the limit, red past it.
    fn counter(&self, weighted: i32) -> Style {
        if weighted > text::LIMIT {
            self.fg(Color::Red).add_modifier(Modifier::BOLD)
        } else if weighted >= text::WARN_AT {
            self.fg(Color::Yellow)
        } else {
            self.fg(Color::Green)
        }
    }
}

pub fn view(m: &Model, f: &mut Frame) {
    let theme = Theme { color: m.color };
    let area = f.area();
    let banner = matches!(m.db, DbState::Reconnecting(_));
    let [top, body, detail, status, hints] = Layout::vertical([
        Constraint::Length(u16::from(banner)),
        Constraint::Min(5),
        Constraint::Length(if area.height >= 30 { 10 } else { 7 }),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
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
    if m.wide() {
        let cols = Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(body);
        for (pane, col) in Pane::ALL.iter().zip(cols.iter()) {
            draw_list(m, f, *pane, *col, &theme, true);
        }
    } else {
        let [tabs, list] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(body);
        let titles: Vec<Line> = Pane::ALL
            .iter()
            .map(|p| Line::from(tab_title(m, *p)))
            .collect();
        f.render_widget(
            Tabs::new(titles)
                .select(m.focus.index())
                .highlight_style(theme.bold().add_modifier(Modifier::REVERSED))
                .divider("│"),
            tabs,
        );
        draw_list(m, f, m.focus, list, &theme, false);
    }
    draw_detail(m, f, detail, &theme);
    draw_status(m, f, status, &theme);
    f.render_widget(
        Paragraph::new(hint_line(m)).style(theme.fg(Color::DarkGray)),
        hints,
    );
    match &m.mode {
        Mode::Compose(c) => draw_composer(f, c, &theme),
        Mode::Schedule(p) => draw_prompt(m, f, p, &theme),
        Mode::Confirm(c) => draw_confirm(f, *c, &theme),
        Mode::Help => draw_help(f, &theme),
        Mode::Normal | Mode::Filter(_) => {}
    }
}

fn tab_title(m: &Model, p: Pane) -> String {
    let l = m.list(p);
    let more = if l.next.is_some() { "+" } else { "" };
    format!(" {} ({}{more}) ", p.title(), l.posts.len())
}

fn hint_line(m: &Model) -> String {
    match &m.mode {
        Mode::Filter(f) => format!(" filter: {}▏ (Enter apply · Esc clear)", inert(f, false)),
        _ if !m.filter.is_empty() => format!(" filtered by “{}” · / change · ? help · q quit", inert(&m.filter, false)),
        _ => " ? help · q quit · n new · e edit · s schedule · p publish now · d delete · y duplicate · r retry".into(),
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

fn row(m: &Model, p: &Post, width: usize, theme: &Theme) -> ListItem<'static> {
    let (tag, style) = match p.status {
        Status::Failed => ("✗ ", theme.fg(Color::Red)),
        Status::Publishing => ("↑ ", theme.fg(Color::Yellow)),
        Status::Posted => ("✓ ", theme.fg(Color::Green)),
        _ => ("", Style::default()),
    };
    let when = match p.status {
        Status::Scheduled | Status::Publishing => p
            .scheduled_at
            .map(|t| relative(t, m.now))
            .unwrap_or_else(|| "now".into()),
        Status::Posted => p.posted_at.map(|t| relative(t, m.now)).unwrap_or_default(),
        Status::Failed => "failed".into(),
        Status::Draft => String::new(),
    };
    let room = width.saturating_sub(when.chars().count() + tag.chars().count() + 2);
    let body = clip(&inert(&p.content, false), room);
    let pad = room.saturating_sub(body.chars().map(|c| c.width().unwrap_or(0)).sum());
    ListItem::new(Line::from(vec![
        Span::styled(tag, style),
        Span::raw(body),
        Span::raw(" ".repeat(pad + 1)),
        Span::styled(when, theme.fg(Color::Cyan)),
    ]))
}

fn draw_list(m: &Model, f: &mut Frame, pane: Pane, area: Rect, theme: &Theme, titled: bool) {
    let l = m.list(pane);
    let focused = m.focus == pane;
    let mut block = Block::default().borders(Borders::ALL);
    if titled {
        let title = tab_title(m, pane);
        block = block.title(if focused {
            Span::styled(title, theme.bold())
        } else {
            Span::raw(title)
        });
        if focused {
            block = block.border_style(theme.fg(Color::Blue));
        }
    }
    let inner_w = area.width.saturating_sub(2) as usize;
    if l.posts.is_empty() {
        let msg = if !l.loaded_once {
            "loading…"
        } else {
            match pane {
                Pane::Drafts => "no drafts — press n to write one",
                Pane::Scheduled => "nothing scheduled",
                Pane::Posted => "nothing posted yet",
            }
        };
        f.render_widget(
            Paragraph::new(msg)
                .style(theme.fg(Color::DarkGray))
                .block(block),
            area,
        );
        return;
    }
    let items: Vec<ListItem> = l.posts.iter().map(|p| row(m, p, inner_w, theme)).collect();
    let list = ListWidget::new(items)
        .block(block)
        .highlight_style(theme.selected(focused));
    let mut state = ListState::default().with_selected(Some(l.selected));
    f.render_stateful_widget(list, area, &mut state);
}

fn draw_detail(m: &Model, f: &mut Frame, area: Rect, theme: &Theme) {
    let block = Block::default().borders(Borders::ALL).title(" Post ");
    let Some(p) = m.selected() else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let c = text::count(&p.content);
    let mut head = vec![
        Span::styled(format!("#{} {}", p.id, p.status), theme.bold()),
        Span::raw("  "),
        Span::styled(
            format!("{}/{}", c.weighted, text::LIMIT),
            theme.counter(c.weighted),
        ),
    ];
    if let Some(t) = p
        .scheduled_at
        .filter(|_| matches!(p.status, Status::Scheduled | Status::Publishing))
    {
        head.push(Span::raw(format!(
            "  due {} ({})",
            when::show(t, &m.tz),
            relative(t, m.now)
        )));
    }
    if let Some(t) = p.posted_at {
        head.push(Span::raw(format!("  posted {}", when::show(t, &m.tz))));
    }
    if let Some(x) = &p.x_tweet_id {
        head.push(Span::raw(format!("  X id {x}")));
    }
    let mut lines = vec![Line::from(head)];
    if let Some(e) = &p.error_message {
        let label = if p.status == Status::Failed {
            "failed: "
        } else {
            "note: "
        };
        lines.push(Line::styled(
            format!("{label}{}", inert(e, false)),
            theme.fg(Color::Red),
        ));
    }
    lines.extend(
        inert(&p.content, true)
            .lines()
            .map(|l| Line::raw(l.to_string())),
    );
    f.render_widget(
        Paragraph::new(Text::from(lines))
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn draw_status(m: &Model, f: &mut Frame, area: Rect, theme: &Theme) {
    let account = match &m.account {
        Some(a) if a.connected => Span::styled(
            format!(" @{} ", a.username.clone().unwrap_or_default()),
            theme.fg(Color::Green),
        ),
        Some(a) if a.needs_reconnect => Span::styled(" needs reconnect ", theme.fg(Color::Red)),
        _ => Span::styled(" not connected ", theme.fg(Color::Yellow)),
    };
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
    let mut spans = vec![
        account,
        Span::raw("│ "),
        Span::raw(publisher),
        Span::raw(" │ "),
        db,
    ];
    if let Some((msg, err)) = &m.flash {
        spans.push(Span::raw(" │ "));
        spans.push(Span::styled(
            inert(msg, false),
            if *err {
                theme.fg(Color::Red)
            } else {
                theme.fg(Color::Cyan)
            },
        ));
    }
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(if m.color {
            Style::default().bg(Color::Black)
        } else {
            Style::default()
        }),
        area,
    );
}

fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_composer(f: &mut Frame, c: &Composer, theme: &Theme) {
    let area = popup(f.area(), 76, 14);
    f.render_widget(Clear, area);
    let title = match c.id {
        Some(id) => format!(" Edit post {id} "),
        None => " New post ".to_string(),
    };
    let count = text::count(&c.text());
    let counter = Span::styled(
        format!(" {}/{} ", count.weighted, text::LIMIT),
        theme.counter(count.weighted),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(Line::from(counter).right_aligned());
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [edit, msg, keys] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    f.render_widget(&c.textarea, edit);
    let note = if c.confirm_discard {
        Line::styled(
            "Discard your changes? y/n",
            theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )
    } else if let Some(e) = &c.error {
        Line::styled(inert(e, false), theme.fg(Color::Red))
    } else if c.saving {
        Line::raw("saving…")
    } else if count.weighted > text::LIMIT {
        Line::styled(
            format!(
                "{} over the limit: it cannot be saved or scheduled",
                count.weighted - text::LIMIT
            ),
            theme.fg(Color::Red),
        )
    } else {
        Line::raw("")
    };
    f.render_widget(Paragraph::new(note), msg);
    f.render_widget(
        Paragraph::new(" Ctrl-S save · Esc close · Ctrl-E $EDITOR")
            .style(theme.fg(Color::DarkGray)),
        keys,
    );
}

fn draw_prompt(m: &Model, f: &mut Frame, p: &Prompt, theme: &Theme) {
    let area = popup(f.area(), 70, 6);
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" Schedule post {} ", p.id));
    let understood = if p.input.trim().is_empty() {
        Line::styled(
            "e.g. tomorrow 9am · in 2h · fri 17:30 · 2026-12-01 14:00",
            theme.fg(Color::DarkGray),
        )
    } else {
        match parse_when(&p.input, m.now, &m.tz) {
            Ok(at) => Line::styled(
                format!("→ {} ({})", when::show(at, &m.tz), relative(at, m.now)),
                theme.fg(Color::Green),
            ),
            Err(e) => Line::styled(
                p.error.clone().unwrap_or_else(|| e.to_string()),
                theme.fg(Color::Red),
            ),
        }
    };
    let lines = vec![
        Line::raw(format!("when: {}▏", inert(&p.input, false))),
        understood,
        Line::styled("Enter confirm · Esc cancel", theme.fg(Color::DarkGray)),
    ];
    f.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

fn draw_confirm(f: &mut Frame, c: Confirm, theme: &Theme) {
    let area = popup(f.area(), 50, 5);
    f.render_widget(Clear, area);
    let q = match c {
        Confirm::Delete(id) => format!("Delete post {id} from chirp? (X is not touched)"),
        Confirm::PublishNow(id) => format!("Publish post {id} now?"),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Confirm ")
        .border_style(theme.fg(Color::Yellow));
    f.render_widget(
        Paragraph::new(vec![
            Line::raw(q),
            Line::styled("y yes · any other key no", theme.fg(Color::DarkGray)),
        ])
        .block(block)
        .wrap(Wrap { trim: true }),
        area,
    );
}

pub const HELP: &[(&str, &str)] = &[
    ("Tab  Shift-Tab  h l  ← →", "switch pane"),
    ("j k  ↓ ↑  PgDn PgUp  g G", "move"),
    ("n", "new post"),
    ("e  Enter", "edit (drafts, scheduled, failed)"),
    ("s", "schedule: type a time in plain words"),
    ("u", "unschedule (back to draft)"),
    ("p", "publish now (asks first)"),
    ("d", "delete (asks first)"),
    ("y", "duplicate as a new draft"),
    ("r", "retry a failed post"),
    ("/", "filter by text"),
    ("?", "this help"),
    ("q  Ctrl-C", "quit"),
    ("Composer: Ctrl-S", "save and close"),
    ("Composer: Esc", "close (asks before discarding)"),
    ("Composer: Ctrl-E", "edit in $EDITOR"),
];

fn draw_help(f: &mut Frame, theme: &Theme) {
    let area = popup(f.area(), 72, HELP.len() as u16 + 2);
    f.render_widget(Clear, area);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>24}  "), theme.bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys ")
        .title_bottom(" any key closes ");
    f.render_widget(Paragraph::new(lines).block(block), area);
}
