//! The mouse, as `update` takes it: a click selects a post or switches pane (or tab), the
//! wheel moves the selection or scrolls the post below, a click on a key hint runs it. While
//! a popup is open the wheel moves in it as ↓/↑ do, and clicks are left to the keyboard.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::keymap::{Action, Context};
use super::model::{Model, Msg, Pane};
use super::screens::{Step, lists};
use super::view;
use crate::present::width;

pub(super) fn event(m: &mut Model, e: MouseEvent) {
    let at = Position::new(e.column, e.row);
    if !m.stack.is_empty() {
        // Popups are for the keyboard; the wheel is their ↓/↑.
        let code = match e.kind {
            MouseEventKind::ScrollDown => KeyCode::Down,
            MouseEventKind::ScrollUp => KeyCode::Up,
            _ => return,
        };
        super::update::handle(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        return;
    }
    let screen = Rect::new(0, 0, m.width, m.height);
    let a = view::areas(m, screen);
    match e.kind {
        MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
            let down = e.kind == MouseEventKind::ScrollDown;
            if a.detail.contains(at) {
                let action = if down {
                    Action::DetailDown
                } else {
                    Action::DetailUp
                };
                run(m, action);
                return;
            }
            if let Some(pane) = pane_at(&a, at) {
                m.focus = pane;
                run(m, if down { Action::Down } else { Action::Up });
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some(tabs) = a.tabs.filter(|t| t.contains(at)) {
                if let Some(pane) = tab_at(m, tabs, at.x) {
                    m.focus = pane;
                    m.detail_scroll = 0;
                }
            } else if let Some(pane) = pane_at(&a, at) {
                click_row(m, pane, a.panes[pane.index()].unwrap_or_default(), at.y);
            } else if a.hints.contains(at)
                && let Some(action) = hint_at(m, a.hints, at.x)
            {
                run(m, action);
            }
        }
        _ => {}
    }
}

/// What a key bound to `action` on the lists does.
fn run(m: &mut Model, action: Action) {
    if let Step::Push(popup) | Step::Replace(popup) = lists::on_action(m, action) {
        m.stack.push(popup);
    }
}

fn pane_at(a: &view::Areas, at: Position) -> Option<Pane> {
    Pane::ALL
        .into_iter()
        .find(|p| a.panes[p.index()].is_some_and(|r| r.contains(at)))
}

/// The tab under column `x`: tabs are drawn " title " with a one-column divider between.
fn tab_at(m: &Model, tabs: Rect, x: u16) -> Option<Pane> {
    let mut left = usize::from(tabs.x);
    for p in Pane::ALL {
        let w = width(&lists::tab_title(m, p)) + 2;
        if usize::from(x) < left + w {
            return Some(p);
        }
        left += w + 1;
    }
    None
}

/// Selects the row drawn at line `y` of a pane's area (inside its border), as the list
/// scrolls: the selection kept in view from the top.
fn click_row(m: &mut Model, pane: Pane, area: Rect, y: u16) {
    m.focus = pane;
    let inner_top = area.y + 1;
    let height = usize::from(area.height.saturating_sub(2)).max(1);
    if y < inner_top || y >= area.y + area.height.saturating_sub(1) {
        return;
    }
    let list = m.list(pane);
    let offset = list.selected.saturating_sub(height - 1);
    let row = offset + usize::from(y - inner_top);
    if row < list.posts.len() {
        let delta = row as isize - list.selected as isize;
        if delta != 0 {
            run_delta(m, delta);
        }
    }
}

/// Moves the selection by `delta` as the keys do (so the next page loads near the end).
fn run_delta(m: &mut Model, delta: isize) {
    let (action, n) = if delta > 0 {
        (Action::Down, delta)
    } else {
        (Action::Up, -delta)
    };
    for _ in 0..n {
        run(m, action);
    }
}

/// The action of the key hint under column `x` of the hints' line, if any.
fn hint_at(m: &Model, hints: Rect, x: u16) -> Option<Action> {
    let line = view::hint_line(m, usize::from(hints.width).saturating_sub(1));
    let col = usize::from(x.saturating_sub(hints.x));
    for (action, key, word) in m.keys.hint_actions(Context::Lists) {
        let item = format!("{key} {word}");
        if let Some(byte) = line.find(&item) {
            let start = width(&line[..byte]);
            if (start..start + width(&item)).contains(&col) {
                return Some(action);
            }
        }
    }
    None
}
