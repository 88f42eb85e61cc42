//! How the composer looks: the parts one under another with their counters, their files,
//! the price and the message line (errors, questions, notes).

use super::*;

/// " 42/280 " in the counter's colour.
pub(super) fn counter(text: &str, rule: &dyn TextRule, theme: &Theme) -> Span<'static> {
    let count = rule.count(text);
    Span::styled(
        format!(" {}/{} ", count.weighted, rule.limit()),
        theme.counter(count.weighted, rule),
    )
}

/// Rows a text takes wrapped at `w` columns (at least one).
fn rows(text: &str, w: u16) -> u16 {
    let w = usize::from(w.max(1));
    let n: usize = text.split('\n').map(|l| width(l).div_ceil(w).max(1)).sum();
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// The lines of a part not being edited that are shown: a few, so the thread is seen whole.
const OTHER_ROWS: u16 = 3;

impl Composer {
    /// The parts one under another, each under a rule with its number and counter; the part
    /// being edited gets the room that is left, and the window follows it.
    pub(super) fn draw_parts(&self, f: &mut Frame, area: Rect, rule: &dyn TextRule, theme: &Theme) {
        let n = self.parts.len();
        let want: Vec<u16> = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let r = rows(&text_of(t), area.width);
                let files = u16::try_from(self.files[i].len()).unwrap_or(4);
                // The part being edited has a spare line to grow into.
                1 + files
                    + if i == self.current {
                        (r + 1).max(3)
                    } else {
                        r.min(OTHER_ROWS)
                    }
            })
            .collect();
        // Which parts fit around the current one: grow the window both ways.
        let (mut lo, mut hi) = (self.current, self.current);
        let mut used = want[self.current].min(area.height);
        loop {
            let mut grew = false;
            if hi + 1 < n && used + want[hi + 1] <= area.height {
                hi += 1;
                used += want[hi];
                grew = true;
            }
            if lo > 0 && used + want[lo - 1] <= area.height {
                lo -= 1;
                used += want[lo];
                grew = true;
            }
            if !grew {
                break;
            }
        }
        // Stacked from the top; what room is left stays below the last part.
        let mut y = area.y;
        for (i, &h) in want.iter().enumerate().take(hi + 1).skip(lo) {
            let h = h.min(area.y + area.height - y);
            let rect = Rect::new(area.x, y, area.width, h);
            y += h;
            let n_files = u16::try_from(self.files[i].len()).unwrap_or(4);
            let [head, body, files] = Layout::vertical([
                Constraint::Length(1),
                Constraint::Min(0),
                Constraint::Length(n_files),
            ])
            .areas(rect);
            f.render_widget(Paragraph::new(self.rule(i, head.width, rule, theme)), head);
            f.render_widget(Paragraph::new(self.file_lines(i, theme)), files);
            if i == self.current {
                f.render_widget(&self.parts[i], body);
            } else {
                let t = text_of(&self.parts[i]);
                f.render_widget(
                    Paragraph::new(inert(&t, true))
                        .wrap(Wrap { trim: false })
                        .style(theme.fg(Color::DarkGray)),
                    body,
                );
            }
        }
    }

    /// "▣ image/png 3.2 MB · cat.png · alt: …" for each file of part `i`; the one the file
    /// keys act on marked when the part is the current one.
    pub(super) fn file_lines(&self, i: usize, theme: &Theme) -> Vec<Line<'static>> {
        self.files[i]
            .iter()
            .enumerate()
            .map(|(k, f)| {
                let mark = if i == self.current && k == self.file {
                    "▶"
                } else {
                    "▣"
                };
                let alt = crate::present::alt_label(f.alt());
                Line::styled(
                    format!("{mark} {} {} · {alt}", f.kind(), inert(&f.label(), false)),
                    theme.fg(Color::Magenta),
                )
            })
            .collect()
    }

    /// "── 2/5 ─────── 42/280": a part's rule, the current one bold.
    pub(super) fn rule(
        &self,
        i: usize,
        w: u16,
        text_rule: &dyn TextRule,
        theme: &Theme,
    ) -> Line<'static> {
        let label = format!("─ {}/{} ", i + 1, self.parts.len());
        let count = counter(&text_of(&self.parts[i]), text_rule, theme);
        let fill = usize::from(w).saturating_sub(width(&label) + width(&count.content));
        let style = if i == self.current {
            theme.bold()
        } else {
            theme.fg(Color::DarkGray)
        };
        Line::from(vec![
            Span::styled(format!("{label}{}", "─".repeat(fill)), style),
            count,
        ])
    }

    /// What sending it will cost at X's prices: "$0.015", for several accounts "$0.03 (2
    /// accounts)".
    pub(super) fn cost(&self, m: &Model) -> String {
        let texts: Vec<String> = self.parts.iter().map(text_of).collect();
        let each = m.pricing.post(&texts);
        match self.targets(m).len() {
            n if n > 1 => format!("{} ({n} accounts)", price::usd(each * n as u64)),
            _ => price::usd(each),
        }
    }

    /// "the link makes this post cost $0.20 instead of $0.015", when a part has a link.
    pub(super) fn link_note(&self, m: &Model) -> Option<String> {
        let texts: Vec<String> = self.parts.iter().map(text_of).collect();
        let links = price::url_parts(&texts);
        let plain = price::usd(m.pricing.part(""));
        let linked = price::usd(m.pricing.part("https://x.com"));
        match (links, texts.len()) {
            (0, _) => None,
            (_, 1) => Some(format!(
                "the link makes this post cost {linked} instead of {plain}"
            )),
            (n, _) => Some(format!(
                "{n} part(s) with a link cost {linked} each instead of {plain}"
            )),
        }
    }

    /// The line under the parts: a question, an error, progress, a note, or what is over;
    /// else what a link costs.
    pub(super) fn message(&self, m: &Model, theme: &Theme) -> Line<'static> {
        let rule = self.text_rule(m);
        let over: Vec<(usize, i32)> = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, t)| (i + 1, rule.count(&text_of(t)).weighted))
            .filter(|(_, w)| *w > rule.limit())
            .collect();
        match self.ask {
            Some(Ask::Discard) => {
                return Line::styled(
                    "Discard your changes? y/n",
                    theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
                );
            }
            Some(Ask::DeletePart) => {
                return Line::styled(
                    format!("Delete part {} and its text? y/n", self.current + 1),
                    theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
                );
            }
            Some(Ask::BigQueue { parts, cost }) => {
                let what = m
                    .pricing
                    .worth_asking(parts, cost)
                    .unwrap_or_else(|| format!("{parts} parts"));
                return Line::styled(
                    format!("Queue {what}? y/n"),
                    theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
                );
            }
            Some(Ask::BigSplit { parts, cost, .. }) => {
                let what = m
                    .pricing
                    .worth_asking(parts, cost)
                    .unwrap_or_else(|| format!("{parts} parts"));
                return Line::styled(
                    format!("Split into {what}? y/n"),
                    theme.fg(Color::Yellow).add_modifier(Modifier::BOLD),
                );
            }
            None => {}
        }
        if let Some(e) = &self.error {
            Line::styled(inert(e, false), theme.fg(Color::Red))
        } else if self.saving.is_some() {
            Line::raw("saving…")
        } else if let Some(n) = &self.note {
            Line::raw(n.clone())
        } else if let Some((part, w)) = over.first() {
            let which = if self.parts.len() == 1 {
                String::new()
            } else {
                format!("part {part} is ")
            };
            Line::styled(
                format!(
                    "{which}{} over the limit: it cannot be saved or scheduled",
                    w - rule.limit()
                ),
                theme.fg(Color::Red),
            )
        } else if let Some(note) = self.link_note(m) {
            Line::styled(note, theme.fg(Color::Yellow))
        } else {
            Line::raw("")
        }
    }
}
