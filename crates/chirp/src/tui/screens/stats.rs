//! The stats screen (`S`): one account at a time, its impressions and engagements per day
//! for the last 30 days as bar charts, its best posts, and what X cost this month; an
//! account out of credits is resumed from here (`R`) once topped up.

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Sparkline, Wrap};

use super::{Notice, Screen, Step, Taken, hint_line, load_died, popup};
use crate::present::{clip, inert};
use crate::stats::{AccountStats, compact};
use crate::tui::keymap::{Action, Context};
use crate::tui::model::{Answer, Cmd, Failure, Model, ReqId};
use crate::tui::view::Theme;
use chirp_core::price::usd;

/// The days the screen covers.
pub const DAYS: u32 = 30;

pub struct StatsView {
    /// The request being answered; None once it is.
    pub loading: Option<ReqId>,
    pub accounts: Vec<AccountStats>,
    /// Which account is shown.
    pub shown: usize,
    pub error: Option<String>,
}

impl StatsView {
    /// Opens it on the account the panes show (or the default) and asks for the numbers.
    pub fn open(m: &mut Model) -> StatsView {
        StatsView {
            loading: Some(m.request(Cmd::LoadStats(m.pricing))),
            accounts: Vec::new(),
            shown: 0,
            error: None,
        }
    }

    /// The answer to `id`, if it is the one awaited.
    pub fn answered(
        &mut self,
        prefer: Option<chirp_core::AccountId>,
        id: ReqId,
        result: Result<Vec<AccountStats>, Failure>,
    ) {
        if self.loading != Some(id) {
            return;
        }
        self.loading = None;
        match result {
            Ok(all) => {
                // Keep the account shown across reloads; the first time, `prefer`.
                let want = self.accounts.get(self.shown).map(|a| a.account).or(prefer);
                self.accounts = all;
                self.shown = want
                    .and_then(|id| self.accounts.iter().position(|a| a.account == id))
                    .unwrap_or(0);
                self.error = None;
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn current(&self) -> Option<&AccountStats> {
        self.accounts.get(self.shown)
    }

    fn head(m: &Model, a: &AccountStats, theme: &Theme) -> Vec<Line<'static>> {
        let dim = theme.fg(Color::DarkGray);
        let mut out = vec![Line::from(vec![
            Span::styled(
                format!("@{}", a.handle),
                theme.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(
                    " · {} post(s) · {} impressions · {} engagements",
                    a.posts,
                    compact(a.impressions),
                    compact(a.engagements)
                ),
                theme.bold(),
            ),
        ])];
        if a.unread > 0 {
            out.push(Line::styled(
                format!(
                    "{} post(s) not read yet: read an hour, a day and a week after posting",
                    a.unread
                ),
                dim,
            ));
        }
        if let Some(st) = m
            .accounts
            .iter()
            .find(|s| s.id == a.account && s.out_of_credits_at.is_some())
        {
            out.push(Line::styled(
                format!(
                    "out of credits since {} · top up at X, then {} resumes",
                    st.out_of_credits_at
                        .map(|t| t.with_timezone(&m.tz).format("%a %d %b %H:%M").to_string())
                        .unwrap_or_default(),
                    m.keys.key_of(Context::Stats, Action::Resume)
                ),
                theme.fg(Color::Red),
            ));
        }
        out
    }

    fn tail(m: &Model, a: &AccountStats, theme: &Theme, width: usize) -> Vec<Line<'static>> {
        let dim = theme.fg(Color::DarkGray);
        let mut out = vec![Line::styled("Best posts", theme.bold())];
        if a.best.is_empty() {
            out.push(Line::styled("  none with numbers yet", dim));
        }
        for p in &a.best {
            let x = p.metrics.clone().unwrap_or_default();
            let nums = crate::tui::screens::lists::numbers(&x);
            let when = p.posted_at.with_timezone(&m.tz).format("%d %b").to_string();
            let room = width.saturating_sub(nums.chars().count() + when.len() + 12);
            out.push(Line::from(vec![
                Span::styled(format!("  #{:<4} {when} ", p.post), dim),
                Span::styled(format!("{nums}  "), theme.fg(Color::Cyan)),
                Span::raw(clip(&inert(&p.content, false), room)),
            ]));
        }
        let s = &a.spend;
        out.push(Line::raw(""));
        out.push(Line::styled(
            format!(
                "Spent since {}: {}",
                s.month_start.with_timezone(&m.tz).format("%-d %b"),
                usd(s.total_usd)
            ),
            theme.bold(),
        ));
        out.push(Line::styled(
            format!("  {}", s.breakdown("post(s)", "read(s)")),
            dim,
        ));
        out
    }
}

impl Screen for StatsView {
    fn context(&self) -> Option<Context> {
        Some(Context::Stats)
    }

    fn on_answer(&mut self, m: &mut Model, id: ReqId, answer: Answer) -> Taken {
        match answer {
            Answer::Stats(result) => {
                // First shown: the account the panes show, else the default.
                let prefer = m
                    .showing
                    .or_else(|| m.accounts.iter().find(|a| a.is_default).map(|a| a.id));
                self.answered(prefer, id, result);
                Taken::Yes(Step::Stay)
            }
            other => load_died(&mut self.loading, &mut self.error, id, other),
        }
    }

    /// New numbers read, an account resumed: read again (once per burst).
    fn on_notice(&mut self, m: &mut Model, notice: &Notice) {
        if matches!(notice, Notice::Changed) && self.loading.is_none() {
            self.loading = Some(m.request(Cmd::LoadStats(m.pricing)));
        }
    }

    fn on_key(&mut self, m: &mut Model, _key: KeyEvent, action: Option<Action>) -> Step {
        let n = self.accounts.len().max(1);
        match action {
            Some(Action::Cancel) => return Step::Pop,
            Some(Action::NextPane) => self.shown = (self.shown + 1) % n,
            Some(Action::PrevPane) => self.shown = (self.shown + n - 1) % n,
            Some(Action::Resume) => match self.current() {
                Some(a)
                    if m.accounts
                        .iter()
                        .any(|s| s.id == a.account && s.out_of_credits_at.is_some()) =>
                {
                    m.request(Cmd::Resume(a.account));
                }
                Some(a) => {
                    m.flash = Some((format!("@{} is not held for credits", a.handle), None));
                }
                None => {}
            },
            _ => {}
        }
        Step::Stay
    }

    fn draw(&self, m: &Model, f: &mut Frame, theme: &Theme) {
        let area = popup(f.area(), 76, f.area().height.saturating_sub(2));
        f.render_widget(Clear, area);
        let title = match self.current() {
            Some(_) if self.accounts.len() > 1 => format!(
                " Stats · the last {DAYS} days · account {}/{} ",
                self.shown + 1,
                self.accounts.len()
            ),
            _ => format!(" Stats · the last {DAYS} days "),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .title(title)
            .title_bottom(Line::styled(
                format!(" {} ", hint_line(m, Context::Stats)),
                theme.fg(Color::DarkGray),
            ));
        let inner = block.inner(area);
        f.render_widget(block, area);
        let Some(a) = self.current() else {
            let msg = match (&self.error, self.loading) {
                (Some(e), _) => Line::styled(
                    format!("cannot read the numbers: {}", inert(e, false)),
                    theme.fg(Color::Red),
                ),
                (None, Some(_)) => Line::styled("reading the numbers…", theme.fg(Color::DarkGray)),
                (None, None) => Line::raw("no account is connected: run chirp account connect"),
            };
            f.render_widget(Paragraph::new(msg), inner);
            return;
        };
        let head = Self::head(m, a, theme);
        let tail = Self::tail(m, a, theme, usize::from(inner.width));
        let [head_area, imp_label, imp, eng_label, eng, axis, tail_area] = Layout::vertical([
            Constraint::Length(u16::try_from(head.len()).unwrap_or(1)),
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(inner);
        f.render_widget(Paragraph::new(head), head_area);
        // Two columns a day, so 30 days fill 60 columns.
        let bars = |v: Vec<u64>| -> Vec<u64> { v.into_iter().flat_map(|x| [x, x]).collect() };
        let imp_data = bars(
            a.days
                .iter()
                .map(|d| d.impressions.max(0).unsigned_abs())
                .collect(),
        );
        let eng_data = bars(
            a.days
                .iter()
                .map(|d| d.engagements.max(0).unsigned_abs())
                .collect(),
        );
        let peak = |v: &[u64]| {
            compact(i64::try_from(v.iter().copied().max().unwrap_or(0)).unwrap_or(i64::MAX))
        };
        f.render_widget(
            Paragraph::new(Line::styled(
                format!("impressions per day (peak {})", peak(&imp_data)),
                theme.fg(Color::DarkGray),
            )),
            imp_label,
        );
        f.render_widget(
            Sparkline::default()
                .data(&imp_data)
                .style(theme.fg(Color::Cyan)),
            imp,
        );
        f.render_widget(
            Paragraph::new(Line::styled(
                format!("engagements per day (peak {})", peak(&eng_data)),
                theme.fg(Color::DarkGray),
            )),
            eng_label,
        );
        f.render_widget(
            Sparkline::default()
                .data(&eng_data)
                .style(theme.fg(Color::Magenta)),
            eng,
        );
        let first = a
            .days
            .first()
            .map(|d| d.day.format("%d %b").to_string())
            .unwrap_or_default();
        let last = a
            .days
            .last()
            .map(|d| d.day.format("%d %b").to_string())
            .unwrap_or_default();
        let gap = (a.days.len() * 2).saturating_sub(first.len() + last.len());
        f.render_widget(
            Paragraph::new(Line::styled(
                format!("{first}{}{last}", " ".repeat(gap)),
                theme.fg(Color::DarkGray),
            )),
            axis,
        );
        f.render_widget(Paragraph::new(tail).wrap(Wrap { trim: false }), tail_area);
    }
}
