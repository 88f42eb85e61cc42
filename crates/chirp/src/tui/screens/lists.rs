//! The base screen: the Drafts, Scheduled and Posted panes and the selected post in full. Its
//! keys act on the selection or open a popup.

use chirp_core::{Kind, Metrics, Post, Status, price, when};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, List as ListWidget, ListItem, ListState, Paragraph, Wrap};

use super::{Composer, Confirm, Filter, Help, Prompt, Screen, Step};
use crate::present::{clip, inert, width};
use crate::stats::{compact, sparkline};
use crate::tui::keymap::Action;
use crate::tui::model::{Cmd, Loading, Model, Pane, Preview};
use crate::tui::view::{Theme, relative};

/// A key on the lists, as its action: `Step::Push` opens a popup over them.
pub fn on_action(m: &mut Model, action: Action) -> Step {
    m.flash = None;
    match opened(m, action) {
        Some(popup) => Step::Push(popup),
        None => Step::Stay,
    }
}

fn opened(m: &mut Model, action: Action) -> Option<Box<dyn Screen>> {
    match action {
        Action::Quit => m.quit = true,
        Action::Help => return Some(Box::new(Help::of(crate::tui::keymap::Context::Lists))),
        Action::NextPane => switch(m, 1),
        Action::PrevPane => switch(m, -1),
        Action::Down => move_selection(m, 1),
        Action::Up => move_selection(m, -1),
        Action::PageDown => move_selection(m, 10),
        Action::PageUp => move_selection(m, -10),
        Action::Top => move_selection(m, -1_000_000),
        Action::Bottom => move_selection(m, 1_000_000),
        Action::DetailDown => m.detail_scroll = m.detail_scroll.saturating_add(3),
        Action::DetailUp => m.detail_scroll = m.detail_scroll.saturating_sub(3),
        Action::Suspend => {
            m.request(Cmd::Suspend);
        }
        Action::New => {
            let mut c = Composer::new(None, "");
            // A post written while one account is shown goes to that account.
            c.to = m.showing.into_iter().collect();
            return Some(Box::new(c));
        }
        Action::SwitchAccount => switch_account(m),
        Action::ShowQueue => return Some(Box::new(super::queue::QueueView::open(m))),
        Action::ShowStats => return Some(Box::new(super::StatsView::open(m))),
        Action::ConnectAccount => return Some(Box::new(super::ConnectView::open(m))),
        Action::FromTemplate => return Some(Box::new(super::TemplatePicker::open(m))),
        Action::Filter => return Some(Box::new(Filter::open(m))),
        other => return on_post(m, other),
    }
    None
}

/// Every account's posts → the first account's → the next's … → every account's again.
fn switch_account(m: &mut Model) {
    let ids: Vec<chirp_core::AccountId> = m
        .accounts
        .iter()
        .filter(|a| a.username.is_some())
        .map(|a| a.id)
        .collect();
    if ids.len() < 2 && m.showing.is_none() {
        m.flash = Some((
            "one account only: connect another with chirp account connect".into(),
            None,
        ));
        return;
    }
    m.showing = match m.showing.and_then(|id| ids.iter().position(|x| *x == id)) {
        None => ids.first().copied(),
        Some(i) => ids.get(i + 1).copied(),
    };
    m.flash = Some((
        match m.showing.and_then(|id| m.handle(id)) {
            Some(h) => format!("showing {h}'s posts"),
            None => "showing every account's posts".into(),
        },
        None,
    ));
    crate::tui::update::reset_and_reload(m);
}

fn switch(m: &mut Model, delta: isize) {
    let i = (m.focus.index() as isize + delta).rem_euclid(3) as usize;
    m.focus = Pane::ALL[i];
    m.detail_scroll = 0;
}

fn move_selection(m: &mut Model, delta: isize) {
    let pane = m.focus;
    let filter = m.filter.clone();
    let account = m.showing;
    let list = m.list_mut(pane);
    if list.posts.is_empty() {
        return;
    }
    let last = list.posts.len() as isize - 1;
    let was = list.selected;
    list.selected = (list.selected as isize + delta).clamp(0, last) as usize;
    if list.selected != was {
        m.detail_scroll = 0;
    }
    let list = m.list_mut(pane);
    // Near the end of what is loaded: fetch the next page (keyset, so it costs the same).
    if list.selected + 10 >= list.posts.len()
        && list.loading.is_none()
        && let Some(after) = list.next
    {
        let id = m.request(Cmd::Load {
            pane,
            after: Some(after),
            filter,
            account,
        });
        m.list_mut(pane).loading = Some(Loading { id, append: true });
    }
}

/// Keys that act on the selected post.
fn on_post(m: &mut Model, action: Action) -> Option<Box<dyn Screen>> {
    let (id, account, status, sent, unpublished) = {
        let p = m.selected()?;
        (
            p.id,
            p.x_account_id,
            p.status,
            p.parts_sent,
            p.unpublished_at.is_some(),
        )
    };
    let parts = selected_parts(m)?;
    let rule = m.text_rule(&[account]);
    let mut refuse = |what: &str| {
        m.flash = Some((
            format!("a {status} post cannot be {what}"),
            Some(Kind::Conflict),
        ));
        None
    };
    // What a post in this status allows is chirp-core's status table, not a copy of it.
    let allows = |a: chirp_core::Action| chirp_core::status::transition(status, a).is_ok();
    let editable = allows(chirp_core::Action::Edit);
    let schedulable = allows(chirp_core::Action::Schedule);
    // A thread of more than 25 parts, or a dear post, is said before it is sent (the parts
    // not on X yet are what sending costs).
    let unsent = &parts[usize::try_from(sent).unwrap_or(0).min(parts.len())..];
    let worth_asking = m.pricing.worth_asking(unsent.len(), m.pricing.post(unsent));
    match action {
        Action::Edit if editable && sent > 0 => {
            refuse("edited: part of it is on X (press t to make its unsent parts a new draft)")
        }
        Action::Edit if editable => {
            let files = selected_files(m, parts.len());
            let mut c = Composer::thread(Some(id), parts).with_files(files);
            // Its own account: where "save into the queue" looks for a slot.
            c.to = vec![account];
            Some(Box::new(c))
        }
        Action::Edit => refuse("edited (press y to duplicate it as a new draft)"),
        Action::Schedule if schedulable => {
            if let Err(e) = rule.validate_parts(&parts) {
                let e = if parts.len() == 1 {
                    e.err.to_string()
                } else {
                    e.to_string()
                };
                m.flash = Some((format!("cannot schedule: {e}"), Some(Kind::BadInput)));
                return None;
            }
            let mut prompt = Prompt::new(id, account);
            prompt.warning = worth_asking.map(|w| format!("this is {w}: Enter schedules it"));
            Some(Box::new(prompt))
        }
        Action::Schedule => refuse("scheduled"),
        Action::AddToQueue if schedulable => {
            if let Err(e) = rule.validate_parts(&parts) {
                m.flash = Some((format!("cannot queue: {e}"), Some(Kind::BadInput)));
                return None;
            }
            if let Some(w) = worth_asking {
                return Some(Box::new(Confirm::Enqueue(id, w)));
            }
            m.request(Cmd::Enqueue(id));
            None
        }
        Action::AddToQueue => refuse("queued"),
        Action::Unschedule if allows(chirp_core::Action::Unschedule) => {
            m.request(Cmd::Unschedule(id));
            None
        }
        Action::Unschedule => refuse("unscheduled"),
        Action::PublishNow if schedulable => Some(Box::new(Confirm::PublishNow(id, worth_asking))),
        Action::PublishNow => refuse("published again"),
        Action::Delete if !allows(chirp_core::Action::Delete) => {
            refuse("deleted while it is being sent")
        }
        Action::Delete => Some(Box::new(Confirm::Delete(id))),
        Action::Duplicate => {
            m.request(Cmd::Duplicate(id));
            None
        }
        Action::Retry if allows(chirp_core::Action::Retry) => {
            m.request(Cmd::Retry(id));
            None
        }
        Action::Retry => refuse("retried (only failed posts are)"),
        Action::Unpublish if unpublished => {
            m.flash = Some((format!("post {id} is already unpublished"), None));
            None
        }
        Action::Unpublish if sent > 0 && status != Status::Publishing => {
            Some(Box::new(Confirm::Unpublish(id, sent)))
        }
        Action::Unpublish => refuse("unpublished (nothing of it is on X)"),
        Action::SplitOff if allows(chirp_core::Action::SplitOff) && sent > 0 => {
            m.request(Cmd::SplitOff(id));
            None
        }
        Action::SplitOff => refuse("split (only a thread that stopped part-way can be)"),
        _ => None,
    }
}

/// "▣ image/png 3.2 MB · alt: a cat": the files of one part, in the detail area.
fn media_lines(
    m: &Model,
    post: chirp_core::PostId,
    position: i32,
    indent: &str,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(files) = m.list(m.focus).media.get(&post) else {
        return Vec::new();
    };
    files
        .iter()
        .filter(|a| a.position == position)
        .map(|a| {
            Line::styled(
                format!("{indent}▣ {}", crate::present::attachment(a)),
                theme.fg(Color::Magenta),
            )
        })
        .collect()
}

/// The selected post's files, part by part, as the composer holds them.
fn selected_files(m: &Model, parts: usize) -> Vec<Vec<crate::tui::model::FileRef>> {
    let mut files = vec![Vec::new(); parts];
    let Some(p) = m.selected() else {
        return files;
    };
    for a in m.list(m.focus).media.get(&p.id).into_iter().flatten() {
        let i = usize::try_from(a.position - 1)
            .unwrap_or(0)
            .min(parts.saturating_sub(1));
        files[i].push(crate::tui::model::FileRef::Stored {
            media_id: a.media_id,
            kind: a.kind,
            media_type: a.media_type.clone(),
            size: u64::try_from(a.size_bytes).unwrap_or(0),
            alt: a.alt_text.clone(),
        });
    }
    files
}

/// The texts of the selected post's parts (one for a single post).
fn selected_parts(m: &Model) -> Option<Vec<String>> {
    let p = m.selected()?;
    let list = m.list(m.focus);
    Some(match list.threads.get(&p.id) {
        Some(parts) if !parts.is_empty() => parts.iter().map(|x| x.content.clone()).collect(),
        _ => vec![p.content.clone()],
    })
}

pub(crate) fn tab_title(m: &Model, p: Pane) -> String {
    let l = m.list(p);
    let more = if l.next.is_some() { "+" } else { "" };
    match p {
        // What sending everything waiting will cost.
        Pane::Scheduled if !l.posts.is_empty() => format!(
            " {} ({}) {}{more} ",
            p.title(),
            position(l),
            price::usd(l.cost)
        ),
        _ => format!(" {} ({}) ", p.title(), position(l)),
    }
}

/// "3/12" (the selected row of how many; "+" while more can be loaded), or "0".
fn position(l: &crate::tui::model::List) -> String {
    let more = if l.next.is_some() { "+" } else { "" };
    if l.posts.is_empty() {
        "0".into()
    } else {
        format!("{}/{}{more}", l.selected + 1, l.posts.len())
    }
}

/// The price of every loaded scheduled post, each part not yet on X counted.
/// Worked out when a page lands (update), not on every frame: it reads every post's text.
pub(crate) fn waiting_cost(
    pricing: &chirp_core::Pricing,
    l: &crate::tui::model::List,
) -> price::Micros {
    l.posts
        .iter()
        .map(|p| match l.threads.get(&p.id) {
            Some(parts) if !parts.is_empty() => {
                let unsent: Vec<&str> = parts
                    .iter()
                    .filter(|x| x.remote_id.is_none())
                    .map(|x| x.content.as_str())
                    .collect();
                pricing.post(&unsent)
            }
            _ => pricing.part(&p.content),
        })
        .sum()
}

/// "♥40 ⇄3 ↩2 ◎1.2k": likes, reposts, replies and impressions, as last read.
pub(crate) fn numbers(x: &Metrics) -> String {
    format!(
        "♥{} ⇄{} ↩{} ◎{}",
        compact(x.likes),
        compact(x.reposts),
        compact(x.replies),
        compact(x.impressions)
    )
}

fn row(m: &Model, p: &Post, cols: usize, id_width: usize, theme: &Theme) -> ListItem<'static> {
    let (tag, style) = match p.status {
        _ if p.unpublished_at.is_some() => ("⊘ ", theme.fg(Color::DarkGray)),
        Status::Failed => ("✗ ", theme.fg(Color::Red)),
        Status::Publishing => ("↑ ", theme.fg(Color::Yellow)),
        Status::Posted => ("✓ ", theme.fg(Color::Green)),
        _ => ("", Style::default()),
    };
    let when = match p.status {
        Status::Scheduled | Status::Publishing => p
            .scheduled_at
            .map_or_else(|| "now".into(), |t| relative(t, m.now)),
        Status::Posted => p.posted_at.map(|t| relative(t, m.now)).unwrap_or_default(),
        Status::Failed => "failed".into(),
        Status::Draft => String::new(),
    };
    let when = match p.unpublished_at {
        Some(t) => format!("unpublished {}", relative(t, m.now)),
        None => when,
    };
    // How it did, as last read; or that X no longer has it.
    let when = match (
        p.gone_from_x_at,
        m.list(m.focus).metrics.get(&p.id).and_then(|h| h.last()),
    ) {
        (Some(_), _) if p.unpublished_at.is_none() => format!("deleted on X {when}"),
        (_, Some((_, x))) if p.status == Status::Posted => format!("{} {when}", numbers(x)),
        _ => when,
    };
    // Files attached, how many.
    let when = match m.list(m.focus).media.get(&p.id).map(Vec::len) {
        Some(n) if n > 0 => format!("{n} media {when}"),
        _ => when,
    };
    // A thread shows how many parts it has, or how far it got.
    let when = match p.thread_label() {
        Some(label) => format!("{label} {when}"),
        None => when,
    };
    // One text sent to several accounts: how many of them have it.
    let when = match p.group_id.and_then(|g| m.list(m.focus).groups.get(&g)) {
        Some(g) if p.status != Status::Draft => format!("{} {when}", g.label()),
        _ => when,
    };
    // Several accounts shown: whose it is.
    let when = match m
        .several_shown()
        .then(|| m.handle(p.x_account_id))
        .flatten()
    {
        Some(h) => format!("{h} {when}"),
        None => when,
    };
    // Its id, which the command line takes, right-aligned in the width of the longest.
    let id = format!("{:>w$} ", p.id, w = id_width);
    let room = cols.saturating_sub(width(&when) + tag.chars().count() + id.len() + 2);
    let body = clip(&inert(&p.content, false), room);
    let pad = room.saturating_sub(width(&body));
    ListItem::new(Line::from(vec![
        Span::styled(id, theme.fg(Color::DarkGray)),
        Span::styled(tag, style),
        Span::raw(body),
        Span::raw(" ".repeat(pad + 1)),
        Span::styled(when, theme.fg(Color::Cyan)),
    ]))
}

/// One pane: its posts (or why there are none), the selection highlighted.
pub fn draw_list(m: &Model, f: &mut Frame, pane: Pane, area: Rect, theme: &Theme, titled: bool) {
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
        let msg = if l.loaded_once {
            match pane {
                Pane::Drafts => "no drafts — press n to write one",
                Pane::Scheduled => "nothing scheduled",
                Pane::Posted => "nothing posted yet",
            }
        } else {
            "loading…"
        };
        f.render_widget(
            Paragraph::new(msg)
                .style(theme.fg(Color::DarkGray))
                .block(block),
            area,
        );
        return;
    }
    let id_width = l
        .posts
        .iter()
        .map(|p| p.id.to_string().len())
        .max()
        .unwrap_or(1);
    let items: Vec<ListItem> = l
        .posts
        .iter()
        .map(|p| row(m, p, inner_w, id_width, theme))
        .collect();
    let list = ListWidget::new(items)
        .block(block)
        .highlight_style(theme.selected(focused));
    let mut state = ListState::default().with_selected(Some(l.selected));
    f.render_stateful_widget(list, area, &mut state);
}

/// The selected post in full: status, count, times, X's id or error, the text.
pub fn draw_detail(m: &Model, f: &mut Frame, area: Rect, theme: &Theme) {
    let block = Block::default().borders(Borders::ALL).title(" Post ");
    let Some(p) = m.selected() else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let rule = m.text_rule(&[p.x_account_id]);
    let net = rule.network();
    let c = rule.count(&p.content);
    let mut head = vec![
        Span::styled(format!("#{} {}", p.id, p.status), theme.bold()),
        Span::raw("  "),
        if p.parts > 1 {
            Span::raw(
                p.progress()
                    .unwrap_or_else(|| format!("thread of {}", p.parts)),
            )
        } else {
            Span::styled(
                format!("{}/{}", c.weighted, rule.limit()),
                theme.counter(c.weighted, rule),
            )
        },
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
    if m.accounts.len() > 1
        && let Some(h) = m.handle(p.x_account_id)
    {
        head.push(Span::raw(format!("  {h}")));
    }
    if let Some(g) = p.group_id.and_then(|g| m.list(m.focus).groups.get(&g)) {
        head.push(Span::raw(format!("  {}", g.label())));
    }
    if let Some(t) = p.unpublished_at {
        head.push(Span::styled(
            format!("  unpublished {} (deleted on X)", when::show(t, &m.tz)),
            theme.fg(Color::Yellow),
        ));
    }
    let mut lines = vec![Line::from(head)];
    lines.extend(metrics_lines(m, p, theme));
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
    match m.list(m.focus).threads.get(&p.id) {
        // A thread: every part, each with where it stands and its own count.
        Some(parts) => {
            let n = parts.len();
            for part in parts {
                let c = rule.count(&part.content);
                let state = match (&part.remote_id, part.remote_deleted_at) {
                    (None, _) => "not sent".to_string(),
                    (Some(x), None) => format!("on {net} as {x}"),
                    (Some(x), Some(_)) => format!("deleted on {net} (was {x})"),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("part {}/{n}", part.position), theme.bold()),
                    Span::raw(format!(" · {state} · ")),
                    Span::styled(
                        format!("{}/{}", c.weighted, rule.limit()),
                        theme.counter(c.weighted, rule),
                    ),
                ]));
                lines.extend(
                    inert(&part.content, true)
                        .lines()
                        .map(|l| Line::raw(format!("  {l}"))),
                );
                lines.extend(media_lines(m, p.id, part.position, "  ", theme));
            }
        }
        None => {
            lines.extend(
                inert(&p.content, true)
                    .lines()
                    .map(|l| Line::raw(l.to_string())),
            );
            lines.extend(media_lines(m, p.id, 1, "", theme));
        }
    }
    let inner = block.inner(area);
    f.render_widget(block, area);
    // The first image on the right, when there is one and room for it.
    let text_area = match preview_of(m, p.id) {
        Some(preview) if inner.width >= 50 && inner.height >= 3 => {
            let [text_area, image_area] =
                Layout::horizontal([Constraint::Min(30), Constraint::Length(inner.width * 2 / 5)])
                    .areas(inner);
            draw_preview(f, image_area, preview, theme);
            text_area
        }
        _ => inner,
    };
    // Scrolled (J/K), never past its last line.
    let most = u16::try_from(lines.len().saturating_sub(1)).unwrap_or(u16::MAX);
    f.render_widget(
        Paragraph::new(Text::from(lines))
            .wrap(Wrap { trim: false })
            .scroll((m.detail_scroll.min(most), 0)),
        text_area,
    );
}

/// How a posted post did: its latest numbers, and how its impressions grew read by read.
fn metrics_lines(m: &Model, p: &Post, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some(t) = p.gone_from_x_at.filter(|_| p.unpublished_at.is_none()) {
        out.push(Line::styled(
            format!("deleted on X (noticed {})", when::show(t, &m.tz)),
            theme.fg(Color::Yellow),
        ));
    }
    let Some(history) = m.list(m.focus).metrics.get(&p.id) else {
        if p.status == Status::Posted && p.gone_from_x_at.is_none() {
            out.push(Line::styled(
                "no numbers yet: read an hour, a day and a week after posting",
                theme.fg(Color::DarkGray),
            ));
        }
        return out;
    };
    let Some((at, last)) = history.last() else {
        return out;
    };
    let mut latest = format!(
        "{} likes · {} reposts · {} replies · {} quotes · {} impressions",
        compact(last.likes),
        compact(last.reposts),
        compact(last.replies),
        compact(last.quotes),
        compact(last.impressions)
    );
    if let Some(c) = last.url_clicks {
        latest.push_str(&format!(" · {} link clicks", compact(c)));
    }
    out.push(Line::from(vec![
        Span::styled(latest, theme.fg(Color::Cyan)),
        Span::styled(
            format!("  read {}", relative(*at, m.now)),
            theme.fg(Color::DarkGray),
        ),
    ]));
    if history.len() > 1 {
        let imp: Vec<i64> = history.iter().map(|(_, x)| x.impressions).collect();
        let steps: Vec<String> = imp.iter().map(|i| compact(*i)).collect();
        out.push(Line::from(vec![
            Span::styled("impressions ", theme.fg(Color::DarkGray)),
            Span::styled(sparkline(&imp), theme.fg(Color::Cyan)),
            Span::styled(
                format!(" {} over {} reads", steps.join(" → "), history.len()),
                theme.fg(Color::DarkGray),
            ),
        ]));
    }
    out
}

/// The preview of a post's first image (or GIF), if it has one and previews are on.
fn preview_of(m: &Model, post: chirp_core::PostId) -> Option<&Preview> {
    m.picker.as_ref()?;
    let media = m
        .list(m.focus)
        .media
        .get(&post)?
        .iter()
        .find(|a| a.kind != chirp_core::MediaKind::Video)?;
    m.previews.get(&media.media_id)
}

/// An image through the terminal's graphics protocol (or half blocks): never raw bytes.
fn draw_preview(f: &mut Frame, area: Rect, preview: &Preview, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::LEFT)
        .border_style(theme.fg(Color::DarkGray));
    let inner = block.inner(area);
    f.render_widget(block, area);
    match preview {
        Preview::Ready(protocol) => {
            if let Ok(mut p) = protocol.try_borrow_mut() {
                f.render_stateful_widget(
                    ratatui_image::StatefulImage::<ratatui_image::protocol::StatefulProtocol>::default(),
                    inner,
                    &mut *p,
                );
            }
        }
        Preview::Loading => f.render_widget(
            Paragraph::new("loading the preview…").style(theme.fg(Color::DarkGray)),
            inner,
        ),
        Preview::Failed(why) => f.render_widget(
            Paragraph::new(inert(why, false))
                .style(theme.fg(Color::DarkGray))
                .wrap(Wrap { trim: true }),
            inner,
        ),
    }
}
