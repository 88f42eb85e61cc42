//! The TUI without a terminal: `update` as plain functions (keys → state and commands), and
//! every screen drawn on ratatui's TestBackend (insta snapshots, colours asserted where they
//! carry meaning).
// Tests and benchmarks stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chirp::tui::model::{
    Answer, Cmd, DbState, Failure, Model, Msg, Pane, PublisherState, QueueOf, ReqId,
};
use chirp::tui::screens::composer::Ask;
use chirp::tui::screens::{
    AccountPicker, Composer, Confirm, Prompt, QueueView, StatsView, TemplatePicker,
};
use chirp::tui::view::view;
use chirp_core::{Kind, Post, Status};
use chirp_store::accounts::AccountStatus;
use chirp_store::media::Attachment;
use chirp_store::posts::{Cursor, Page};
use chirp_store::templates::Summary;
use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 15, 0).unwrap()
}

fn post(id: i32, status: Status, content: &str) -> Post {
    let at = now() - Duration::minutes(i64::from(id));
    Post {
        id,
        x_account_id: 1,
        status,
        content: content.into(),
        scheduled_at: matches!(status, Status::Scheduled | Status::Publishing).then(|| now() + Duration::hours(i64::from(id))),
        posted_at: (status == Status::Posted).then_some(at),
        x_tweet_id: (status == Status::Posted).then(|| format!("18600000000000000{id:02}")),
        parts: 1,
        parts_sent: i32::from(status == Status::Posted),
        unpublished_at: None,
        group_id: None,
        queued: false,
        gone_from_x_at: None,
        error_message: (status == Status::Failed).then(|| "X refused it as a duplicate: You are not allowed to create a Tweet with duplicate content.".into()),
        attempts: 1,
        outcome_unknown: false,
        next_attempt_at: None,
        created_at: at,
        updated_at: at,
    }
}

/// An image attached to part `position` of a post, as the store lists it.
fn image(
    position: i32,
    ord: i32,
    media_id: i32,
    media_type: &str,
    size_bytes: i64,
    alt: Option<&str>,
) -> Attachment {
    Attachment {
        position,
        ord,
        media_id,
        kind: chirp_core::MediaKind::Image,
        media_type: media_type.into(),
        size_bytes,
        sha256: "ab".into(),
        alt_text: alt.map(Into::into),
        remote_media_id: None,
        remote_media_expires_at: None,
    }
}

fn key(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(m: &mut Model, s: &str) -> Vec<Cmd> {
    s.chars()
        .flat_map(|c| update(m, key(KeyCode::Char(c))))
        .collect()
}

/// `update`, keeping only the commands (the request ids are checked where they matter).
fn update(m: &mut Model, msg: Msg) -> Vec<Cmd> {
    chirp::tui::update::update(m, msg)
        .into_iter()
        .map(|r| r.cmd)
        .collect()
}

/// The id of the load in flight for a pane, asking for one if there is none.
fn load_id(m: &mut Model, pane: Pane) -> ReqId {
    if m.list(pane).loading.is_none() {
        update(m, Msg::Changed);
    }
    m.list(pane).loading.expect("a load in flight").id
}

/// A page of `posts` with nothing else (no threads, groups, files or metrics).
fn page(posts: Vec<Post>, next: Option<Cursor>) -> Page {
    Page {
        posts,
        next,
        threads: std::collections::HashMap::default(),
        groups: std::collections::HashMap::default(),
        media: std::collections::HashMap::default(),
        metrics: std::collections::HashMap::default(),
    }
}

/// The pane's load answers with `posts`.
fn loaded(m: &mut Model, pane: Pane, posts: Vec<Post>, next: Option<Cursor>) -> Vec<Cmd> {
    let id = load_id(m, pane);
    update(m, Msg::Answer(id, Answer::Loaded(Ok(page(posts, next)))))
}

/// The composer's save answers with `result`.
fn save_answer(m: &mut Model, result: Result<Post, Failure>) -> Vec<Cmd> {
    let id = m
        .screen::<Composer>()
        .and_then(|c| c.saving)
        .expect("a save in flight");
    update(m, Msg::Answer(id, Answer::Saved(result)))
}

fn composer(m: &Model) -> &Composer {
    m.screen::<Composer>().expect("the composer is open")
}

fn empty_model(width: u16) -> Model {
    let mut m = Model::new(chrono_tz::UTC, now(), true);
    m.width = width;
    for p in Pane::ALL {
        loaded(&mut m, p, vec![], None);
    }
    m
}

fn populated(width: u16) -> Model {
    let mut m = empty_model(width);
    loaded(
        &mut m,
        Pane::Drafts,
        vec![
            post(
                7,
                Status::Draft,
                "Thinking about terminal UIs\nand why they still win over SSH",
            ),
            post(
                6,
                Status::Draft,
                "日本語のテキストも幅が正しい 👍 emoji too",
            ),
            post(
                5,
                Status::Draft,
                "escape \u{1b}[31mred\u{1b}[0m and bell\u{7} stay inert",
            ),
        ],
        None,
    );
    loaded(
        &mut m,
        Pane::Scheduled,
        vec![post(
            2,
            Status::Scheduled,
            "Launch day! https://example.com/a/very/long/path/that/counts/as/23",
        )],
        None,
    );
    loaded(
        &mut m,
        Pane::Posted,
        vec![
            post(4, Status::Failed, "said before"),
            post(3, Status::Posted, "hello world"),
        ],
        None,
    );
    m.accounts = vec![AccountStatus {
        id: 1,
        network: chirp_core::Network::X,
        server_url: None,
        handle: Some("@chirp_tester".into()),
        username: Some("chirp_tester".into()),
        remote_user_id: Some("1001".into()),
        x_user_id: Some("1001".into()),
        connected: true,
        needs_reconnect: false,
        token_expires_at: None,
        rate_limited_until: None,
        posts_waiting: 1,
        reconnect_reason: None,
        token_refreshed_at: None,
        refreshes: 0,
        refresh_started_at: None,
        is_default: true,
        can_post_media: true,
        next_slot: None,
        out_of_credits_at: None,
        out_of_credits_reason: None,
    }];
    m.publisher = PublisherState::Running {
        next: Some(now() + Duration::hours(2)),
        x_left: None,
    };
    m
}

fn draw(m: &Model, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| view(m, f)).unwrap();
    t
}

/// The colour of the first cell showing `needle` on screen.
fn fg_of(t: &Terminal<TestBackend>, needle: &str) -> Color {
    let buf = t.backend().buffer();
    let area = buf.area;
    for y in 0..area.height {
        let line: String = (0..area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(byte) = line.find(needle) {
            let col = line[..byte].chars().count() as u16;
            return buf[(col, y)].fg;
        }
    }
    panic!("{needle:?} not on screen:\n{}", t.backend());
}

// ---- update: keys → state ----

#[test]
fn moving_and_switching_panes() {
    let mut m = populated(80);
    assert_eq!(m.selected().unwrap().id, 7);
    update(&mut m, key(KeyCode::Char('j')));
    assert_eq!(m.selected().unwrap().id, 6);
    update(&mut m, key(KeyCode::Down));
    update(&mut m, key(KeyCode::Down));
    assert_eq!(m.selected().unwrap().id, 5, "stops at the end");
    update(&mut m, key(KeyCode::Up));
    assert_eq!(m.selected().unwrap().id, 6);
    update(&mut m, key(KeyCode::Tab));
    assert_eq!(m.focus, Pane::Scheduled);
    update(&mut m, key(KeyCode::Char('l')));
    assert_eq!(m.focus, Pane::Posted);
    update(&mut m, key(KeyCode::Right));
    assert_eq!(m.focus, Pane::Drafts, "wraps round");
    update(&mut m, key(KeyCode::BackTab));
    assert_eq!(m.focus, Pane::Posted);
    update(&mut m, key(KeyCode::Char('h')));
    assert_eq!(m.focus, Pane::Scheduled);
}

#[test]
fn the_next_page_loads_as_the_selection_nears_the_end() {
    let mut m = empty_model(80);
    let posts: Vec<Post> = (1..=50)
        .rev()
        .map(|i| post(i + 100, Status::Draft, "x"))
        .collect();
    let cursor = Cursor { id: 101, at: None };
    loaded(&mut m, Pane::Drafts, posts, Some(cursor));
    let mut cmds = vec![];
    for _ in 0..45 {
        cmds.extend(update(&mut m, key(KeyCode::Char('j'))));
    }
    assert_eq!(
        cmds,
        vec![Cmd::Load {
            pane: Pane::Drafts,
            after: Some(cursor),
            filter: String::new(),
            account: None,
        }],
        "one request, not one per key"
    );
    loaded(
        &mut m,
        Pane::Drafts,
        vec![post(100, Status::Draft, "y")],
        None,
    );
    assert_eq!(m.list(Pane::Drafts).posts.len(), 51);
    assert_eq!(m.selected().unwrap().id, 105, "the selection stays put");
}

#[test]
fn compose_save_and_failures_keep_the_text() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('n')));
    assert!(m.on_top::<Composer>());
    typed(&mut m, "hello q and j are text here");
    let cmds = update(&mut m, ctrl('s'));
    assert_eq!(
        cmds,
        vec![Cmd::Create(
            vec!["hello q and j are text here".into()],
            vec![],
            vec![],
            vec![]
        )]
    );
    // The database is down: the text stays, and the error says it is the database's.
    save_answer(
        &mut m,
        Err(Failure::from(chirp_store::StoreError::from(
            chirp_store::DbError::Pool("connection refused".into()),
        ))),
    );
    let c = composer(&m);
    assert_eq!(c.text(), "hello q and j are text here");
    let said = c.error.as_deref().unwrap_or_default();
    assert!(said.starts_with("database unavailable: "), "{said}");
    assert!(said.contains("connection refused"), "{said}");
    assert!(said.contains("nothing typed is lost"), "{said}");
    // Saved: the composer closes and the new post is selected once its pane reloads.
    update(&mut m, ctrl('s'));
    let cmds = save_answer(
        &mut m,
        Ok(post(9, Status::Draft, "hello q and j are text here")),
    );
    assert!(m.stack.is_empty());
    assert!(cmds.iter().any(|c| matches!(
        c,
        Cmd::Load {
            pane: Pane::Drafts,
            ..
        }
    )));
    loaded(
        &mut m,
        Pane::Drafts,
        vec![post(9, Status::Draft, "new"), post(7, Status::Draft, "x")],
        None,
    );
    assert_eq!(m.selected().unwrap().id, 9);
}

#[test]
fn esc_asks_before_discarding_and_over_limit_cannot_be_saved() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('e')));
    assert_eq!(composer(&m).id, Some(7));
    typed(&mut m, "!");
    update(&mut m, key(KeyCode::Esc));
    assert!(
        composer(&m).ask == Some(Ask::Discard),
        "closed without asking"
    );
    update(&mut m, key(KeyCode::Char('n')));
    assert!(composer(&m).text().ends_with('!'), "discarded on n");
    // Unchanged text closes at once.
    update(&mut m, key(KeyCode::Char('n')));
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('n')));
    update(&mut m, key(KeyCode::Esc));
    assert!(m.stack.is_empty());
    // Over the limit: Ctrl-S sends nothing and says why.
    update(&mut m, key(KeyCode::Char('n')));
    update(&mut m, Msg::Paste("字".repeat(141)));
    assert!(update(&mut m, ctrl('s')).is_empty());
    assert_eq!(
        composer(&m).error.as_deref(),
        Some("the post is 282/280 weighted characters: shorten it by 2")
    );
}

#[test]
fn scheduling_in_plain_words() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('s')));
    assert!(m.on_top::<Prompt>());
    typed(&mut m, "yesterday");
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty());
    let p = m.screen::<Prompt>().expect("prompt closed on bad input");
    assert!(
        p.error
            .as_deref()
            .unwrap()
            .starts_with("cannot understand `yesterday`")
    );
    for _ in 0.."yesterday".len() {
        update(&mut m, key(KeyCode::Backspace));
    }
    typed(&mut m, "tomorrow 9am");
    let cmds = update(&mut m, key(KeyCode::Enter));
    assert_eq!(
        cmds,
        vec![Cmd::Schedule(
            7,
            Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap()
        )]
    );
    assert!(m.stack.is_empty());
}

#[test]
fn next_in_the_schedule_prompt_adds_to_the_queue_and_shows_the_slot_it_will_take() {
    let mut m = populated(80);
    // The account has slots; the next free one is Fri 2026-11-27 17:00 UTC.
    m.accounts[0].next_slot = Some(Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap());
    update(&mut m, key(KeyCode::Char('s')));
    typed(&mut m, "next");
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Cmd::Enqueue(7)]);
    assert!(m.stack.is_empty());
    // Without slots, the prompt says how to set them.
    m.accounts[0].next_slot = None;
    update(&mut m, key(KeyCode::Char('s')));
    typed(&mut m, "next");
    let t = draw(&m, 80, 24);
    let text: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(ratatui::buffer::Cell::symbol)
        .collect();
    assert!(text.contains("@chirp_tester has no queue slots"), "{text}");
}

#[test]
fn the_queue_view_shows_each_accounts_slots_filled_and_free_and_a_adds_to_the_queue() {
    let mut m = populated(80);
    // `a` puts the selected draft into its account's queue.
    assert_eq!(
        update(&mut m, key(KeyCode::Char('a'))),
        vec![Cmd::Enqueue(7)]
    );
    let cmds = update(&mut m, key(KeyCode::Char('Q')));
    assert_eq!(cmds, vec![Cmd::LoadQueue(0)]);
    let id = m
        .screen::<QueueView>()
        .and_then(|v| v.loading)
        .expect("a load in flight");
    let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Queue(Ok(vec![QueueOf {
                handle: "@chirp_tester".into(),
                spec: "mon-fri 09:00,17:00".into(),
                tz: berlin,
                slots: vec![
                    (at(26, 16), Some((12, "Tip 1: keep it short".into()))),
                    (at(27, 8), None),
                    (at(27, 16), Some((13, "Tip 2: one idea per post".into()))),
                    (at(30, 8), None),
                ],
            }])),
        ),
    );
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
    // A change in the database reads it again; what is shown stays meanwhile.
    assert_eq!(
        update(&mut m, Msg::Changed)
            .iter()
            .filter(|c| **c == Cmd::LoadQueue(0))
            .count(),
        1
    );
    assert!(m.screen::<QueueView>().unwrap().queues.len() == 1);
    // l and h page through the weeks; never before this one.
    assert_eq!(
        update(&mut m, key(KeyCode::Char('l'))),
        vec![Cmd::LoadQueue(1)]
    );
    assert_eq!(
        update(&mut m, key(KeyCode::Char('h'))),
        vec![Cmd::LoadQueue(0)]
    );
    assert!(update(&mut m, key(KeyCode::Char('h'))).is_empty());
    update(&mut m, key(KeyCode::Esc));
    assert!(m.stack.is_empty());
}

#[test]
fn the_composer_saves_into_the_queue_and_shows_the_slot_it_will_take() {
    let mut m = composing("into the queue");
    // No slots: refused in the composer, saying how to set them; the text stays.
    assert!(update(&mut m, alt(KeyCode::Char('q'))).is_empty());
    let c = m.screen::<Composer>().unwrap();
    assert_eq!(
        c.error.as_deref(),
        Some(
            "@chirp_tester has no queue slots: chirp queue set @chirp_tester \"mon-fri 09:00,17:00\""
        )
    );
    m.accounts[0].next_slot = Some(Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap());
    let text = draw(&m, 80, 24).backend().to_string();
    assert!(text.contains("Alt-q queue → Fri 27 Nov 17:00"), "{text}");
    assert_eq!(
        update(&mut m, alt(KeyCode::Char('q'))),
        vec![Cmd::SaveQueued {
            unfilled: vec![],
            id: None,
            parts: vec!["into the queue".into()],
            to: vec![],
            files: vec![],
        }]
    );
    // The answer says which slot it took.
    let mut queued = post(9, Status::Scheduled, "into the queue");
    queued.queued = true;
    queued.scheduled_at = Some(Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap());
    save_answer(&mut m, Ok(queued));
    assert_eq!(
        m.flash.as_ref().map(|(s, _)| s.as_str()),
        Some("post 9 queued for Fri 2026-11-27 17:00 UTC")
    );
}

#[test]
fn a_template_picked_in_the_tui_opens_as_a_new_post_with_what_chirp_knows_filled_in() {
    let mut m = populated(80);
    assert_eq!(
        update(&mut m, key(KeyCode::Char('T'))),
        vec![Cmd::LoadTemplates]
    );
    let id = m
        .screen::<TemplatePicker>()
        .and_then(|p| p.loading)
        .unwrap();
    let summary = |name: &str, parts: i64, files: i64, first: &str| Summary {
        name: name.into(),
        parts,
        files,
        first: first.into(),
        updated_at: now(),
    };
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Templates(Ok(vec![
                summary("daily-tip", 1, 0, "Tip for {weekday}: {tip}"),
                summary("release", 2, 1, "Release {version} is out ({date})"),
            ])),
        ),
    );
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
    update(&mut m, key(KeyCode::Char('j')));
    assert_eq!(
        update(&mut m, key(KeyCode::Enter)),
        vec![Cmd::LoadTemplate("release".into())]
    );
    let id = m
        .screen::<TemplatePicker>()
        .and_then(|p| p.opening.clone())
        .unwrap()
        .0;
    let file = image(2, 1, 31, "image/png", 2048, Some("the new screen"));
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Template(Ok((
                vec![
                    "Release {version} is out ({date}, a {weekday})".into(),
                    "Notes: {url}".into(),
                ],
                vec![file],
            ))),
        ),
    );
    // The picker gave way to the composer: {date} and {weekday} are today's (Thu 2026-11-26).
    assert!(m.on_top::<Composer>());
    assert_eq!(m.stack.len(), 1);
    let c = m.screen::<Composer>().unwrap();
    assert_eq!(
        c.parts(),
        [
            "Release {version} is out (2026-11-26, a Thursday)",
            "Notes: {url}"
        ]
    );
    assert_eq!(
        c.note.as_deref(),
        Some("from template release: fill in {version}, {url}")
    );
    assert_eq!(c.files[1].len(), 1, "its file goes with it");
    // Not into the queue while {version} and {url} are unfilled: said, and nothing is sent.
    m.accounts[0].next_slot = Some(Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap());
    assert!(update(&mut m, alt(KeyCode::Char('q'))).is_empty());
    assert_eq!(
        m.screen::<Composer>().unwrap().error.as_deref(),
        Some(
            "fill in {version}, {url} first: the template left it to you (Ctrl-S keeps it a draft)"
        )
    );
    // Saved as a draft, it carries what it owes: the database refuses to schedule it later.
    let saved = update(&mut m, ctrl('s'));
    let Some(Cmd::Create(_, _, _, owed)) = saved.first() else {
        panic!("{saved:?}");
    };
    assert_eq!(owed, &["version".to_string(), "url".to_string()]);
}

#[test]
fn at_80_columns_a_message_takes_the_hint_line_and_is_never_cut_inside_a_word() {
    let line = |m: &Model, row: u16| -> String {
        let t = draw(m, 80, 24);
        let buf = t.backend().buffer();
        (0..80)
            .map(|x| buf[(x, row)].symbol().to_string())
            .collect::<String>()
    };
    let mut m = populated(80);
    // Short: beside the status, the hints stay, ending with the help key.
    m.flash = Some(("post 7 deleted".into(), None));
    insta::assert_snapshot!("message_short", draw(&m, 80, 24).backend());
    assert!(
        line(&m, 22).trim_end().ends_with("│ post 7 deleted"),
        "{}",
        line(&m, 22)
    );
    assert!(
        line(&m, 23).trim_end().ends_with("· ? help"),
        "{}",
        line(&m, 23)
    );
    // Too long for the status bar: the hints give way to it, whole.
    let msg = "post 7 scheduled for Fri 2026-11-27 17:00 UTC";
    m.flash = Some((msg.into(), None));
    insta::assert_snapshot!("message_long", draw(&m, 80, 24).backend());
    assert_eq!(line(&m, 23).trim(), msg);
    assert!(!line(&m, 22).contains("post 7"), "{}", line(&m, 22));
    // Longer than the line: cut between words.
    m.flash = Some((
        "X refused it: You are not allowed to create a Tweet with duplicate content, so nothing was posted".into(),
        Some(Kind::Network),
    ));
    assert_eq!(
        line(&m, 23).trim(),
        "X refused it: You are not allowed to create a Tweet with duplicate content, so…"
    );
    insta::assert_snapshot!("message_error_cut", draw(&m, 80, 24).backend());
    // The message is drawn in its kind's colour (yellow for what a network said).
    let t = draw(&m, 80, 24);
    assert_eq!(t.backend().buffer()[(2, 23)].fg, Color::Yellow);
}

#[test]
fn a_failure_is_shown_by_its_kind_a_refusal_the_database_and_a_bug_each_in_their_words() {
    use chirp_store::{DbError, Refusal, StoreError};
    let mut m = populated(120);
    let answer = |m: &mut Model, e: StoreError| {
        let id = m.request(Cmd::Delete(7));
        update(m, Msg::Answer(id, Answer::Done(Err(Failure::from(e)))));
        let t = draw(m, 120, 24);
        let (text, kind) = m.flash.clone().expect("a message");
        let start: String = text.chars().take(20).collect();
        (text, kind, fg_of(&t, &start))
    };
    // What the person asked for is refused: red, in the store's words.
    let (text, kind, color) = answer(&mut m, StoreError::Refused(Refusal::NotFound(7)));
    assert_eq!(kind, Some(Kind::NotFound));
    assert_eq!(color, Color::Red);
    assert!(!text.contains("database"), "{text}");
    // The database fails: yellow, said as the database's, with nothing lost.
    let (text, kind, color) = answer(
        &mut m,
        StoreError::from(DbError::Pool("timed out waiting for a connection".into())),
    );
    assert_eq!(kind, Some(Kind::Database));
    assert_eq!(color, Color::Yellow);
    assert!(
        text.starts_with("database unavailable: timed out waiting for a connection"),
        "{text}"
    );
    // chirp's own fault: magenta, said as a bug.
    let (text, kind, color) = answer(
        &mut m,
        StoreError::from(DbError::Unexpected("a row without its post".into())),
    );
    assert_eq!(kind, Some(Kind::Bug));
    assert_eq!(color, Color::Magenta);
    assert!(text.starts_with("chirp bug: "), "{text}");
}

#[test]
fn destructive_actions_ask_and_rules_are_enforced() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('d')));
    assert_eq!(m.screen::<Confirm>(), Some(&Confirm::Delete(7)));
    assert!(
        update(&mut m, key(KeyCode::Char('n'))).is_empty(),
        "n cancels"
    );
    update(&mut m, key(KeyCode::Char('d')));
    assert_eq!(
        update(&mut m, key(KeyCode::Char('y'))),
        vec![Cmd::Delete(7)]
    );
    update(&mut m, key(KeyCode::Char('p')));
    assert_eq!(
        update(&mut m, key(KeyCode::Char('y'))),
        vec![Cmd::Schedule(7, now())]
    );
    assert_eq!(
        update(&mut m, key(KeyCode::Char('y'))),
        vec![Cmd::Duplicate(7)]
    );
    // In Posted: the failed post can be retried; the posted one cannot be edited.
    update(&mut m, key(KeyCode::BackTab));
    assert_eq!(update(&mut m, key(KeyCode::Char('r'))), vec![Cmd::Retry(4)]);
    update(&mut m, key(KeyCode::Char('j')));
    assert!(update(&mut m, key(KeyCode::Char('e'))).is_empty());
    assert!(m.stack.is_empty());
    assert!(
        m.flash
            .as_ref()
            .unwrap()
            .0
            .contains("a posted post cannot be edited")
    );
    assert_eq!(
        update(&mut m, key(KeyCode::Char('u'))),
        vec![],
        "posted cannot be unscheduled"
    );
}

#[test]
fn live_changes_reload_without_a_keypress_and_coalesce() {
    let mut m = populated(80);
    let cmds = update(&mut m, Msg::Changed);
    assert_eq!(
        cmds.iter()
            .filter(|c| matches!(c, Cmd::Load { .. }))
            .count(),
        3
    );
    // More changes while those loads run: no pile-up, one more load each afterwards.
    assert!(
        update(&mut m, Msg::Changed)
            .iter()
            .all(|c| !matches!(c, Cmd::Load { .. }))
    );
    update(&mut m, Msg::Changed);
    let again = loaded(
        &mut m,
        Pane::Posted,
        vec![post(2, Status::Posted, "now posted")],
        None,
    );
    assert_eq!(
        again,
        vec![Cmd::Load {
            pane: Pane::Posted,
            after: None,
            filter: String::new(),
            account: None,
        }]
    );
}

#[test]
fn quit_keys() {
    let mut m = populated(80);
    update(&mut m, ctrl('c'));
    assert!(m.quit);
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('q')));
    assert!(m.quit);
    // In the composer, q is just a letter.
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('n')));
    update(&mut m, key(KeyCode::Char('q')));
    assert!(!m.quit);
}

// ---- view: every screen ----

#[test]
fn screen_empty() {
    insta::assert_snapshot!(draw(&empty_model(80), 80, 24).backend());
}

#[test]
fn screen_populated_wide() {
    let t = draw(&populated(140), 140, 32);
    insta::assert_snapshot!(t.backend());
    // Failed posts are red, posted green, the account green.
    assert_eq!(fg_of(&t, "✗ said before"), Color::Red);
    assert_eq!(fg_of(&t, "✓ hello world"), Color::Green);
    assert_eq!(fg_of(&t, "@chirp_tester"), Color::Green);
}

#[test]
fn screen_narrow_tabs_and_failed_detail() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::BackTab));
    insta::assert_snapshot!(draw(&m, 80, 24).backend());
}

fn composing(text: &str) -> Model {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('n')));
    update(&mut m, Msg::Paste(text.into()));
    m
}

#[test]
fn screen_composer_under_near_and_over_the_limit() {
    let t = draw(
        &composing("Short and sweet https://example.com/a/long/url/that/counts/as/23 👋"),
        80,
        24,
    );
    insta::assert_snapshot!("composer_under", t.backend());
    assert_eq!(fg_of(&t, "42/280"), Color::Green);
    let t = draw(&composing(&"a".repeat(265)), 80, 24);
    insta::assert_snapshot!("composer_near", t.backend());
    assert_eq!(fg_of(&t, "265/280"), Color::Yellow);
    let t = draw(&composing(&"字".repeat(150)), 80, 24);
    insta::assert_snapshot!("composer_over", t.backend());
    assert_eq!(fg_of(&t, "300/280"), Color::Red);
}

#[test]
fn screen_schedule_prompt_valid_and_invalid() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('s')));
    typed(&mut m, "fri 17:30");
    insta::assert_snapshot!("prompt_valid", draw(&m, 80, 24).backend());
    for _ in 0..9 {
        update(&mut m, key(KeyCode::Backspace));
    }
    typed(&mut m, "2020-01-01 10:00");
    insta::assert_snapshot!("prompt_invalid", draw(&m, 80, 24).backend());
}

#[test]
fn screen_help_confirm_and_database_down() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('?')));
    insta::assert_snapshot!("help", draw(&m, 80, 24).backend());
    // Taller than 24 rows: it scrolls to its last line, and says where it is.
    update(&mut m, key(KeyCode::Char('G')));
    let end = draw(&m, 80, 24).backend().to_string();
    assert!(end.contains("Composer: F1"), "{end}");
    assert!(end.contains("j/k scroll"), "{end}");
    update(&mut m, key(KeyCode::Char('x')));
    update(&mut m, key(KeyCode::Char('d')));
    insta::assert_snapshot!("confirm_delete", draw(&m, 80, 24).backend());
    update(&mut m, key(KeyCode::Char('n')));
    update(
        &mut m,
        Msg::Db(DbState::Reconnecting("connection refused".into())),
    );
    let t = draw(&m, 80, 24);
    insta::assert_snapshot!("database_down", t.backend());
    assert_eq!(fg_of(&t, "db reconnecting…"), Color::Red);
}

#[test]
fn no_color_means_no_colour() {
    let mut m = populated(140);
    m.color = false;
    let t = draw(&m, 140, 32);
    assert_eq!(fg_of(&t, "✗ said before"), Color::Reset);
    assert_eq!(fg_of(&t, "@chirp_tester"), Color::Reset);
}

#[test]
fn control_characters_never_reach_the_terminal() {
    let t = draw(&populated(140), 140, 32);
    let buf = t.backend().buffer();
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "raw control character on screen: {:?}",
            cell.symbol()
        );
    }
    let screen: String = buf
        .content()
        .iter()
        .map(ratatui::buffer::Cell::symbol)
        .collect();
    assert!(
        screen.contains("escape \\e[31mred\\e[0m and bell\\u{7}"),
        "{screen}"
    );
}

#[test]
fn the_filter_applies_as_it_is_typed_and_esc_clears_it() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('/')));
    let cmds = update(&mut m, key(KeyCode::Char('l')));
    assert_eq!(cmds.len(), 3);
    assert!(
        cmds.iter()
            .all(|c| matches!(c, Cmd::Load { after: None, filter, .. } if filter == "l"))
    );
    let first = m.list(Pane::Scheduled).loading.unwrap().id;
    // Each key asks again; what is shown stays until the new page lands, and the page of an
    // older filter is dropped.
    let cmds = typed(&mut m, "aunch");
    assert_eq!(cmds.len(), 15, "{cmds:?}");
    assert_eq!(m.filter, "launch");
    assert_eq!(m.list(Pane::Scheduled).posts.len(), 1);
    update(
        &mut m,
        Msg::Answer(
            first,
            Answer::Loaded(Ok(page(vec![post(20, Status::Scheduled, "lunch")], None))),
        ),
    );
    assert!(m.list(Pane::Scheduled).posts.iter().all(|p| p.id != 20));
    // Readline keys work in it: Ctrl-W takes the word back, Ctrl-U the rest.
    update(&mut m, key(KeyCode::Char(' ')));
    typed(&mut m, "day");
    update(&mut m, ctrl('w'));
    assert_eq!(m.filter, "launch ");
    // Enter keeps it.
    update(&mut m, key(KeyCode::Enter));
    assert!(m.stack.is_empty());
    assert!(
        draw(&m, 80, 24)
            .backend()
            .to_string()
            .contains("filtered by “launch ”")
    );
    // `/` opens on it; Esc clears it and every pane shows everything again.
    update(&mut m, key(KeyCode::Char('/')));
    update(&mut m, key(KeyCode::Esc));
    assert!(m.stack.is_empty());
    assert_eq!(m.filter, "");
}

#[test]
fn the_external_editor_replaces_the_text_and_a_failure_keeps_it() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('n')));
    typed(&mut m, "draft");
    let asked = chirp::tui::update::update(&mut m, ctrl('e'));
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].cmd, Cmd::OpenEditor("draft".into()));
    let id = asked[0].id;
    update(
        &mut m,
        Msg::Answer(id, Answer::Edited(Ok("from vim\nsecond line".into()))),
    );
    assert_eq!(composer(&m).text(), "from vim\nsecond line");
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Edited(Err("the editor exited with 1; the text is unchanged".into())),
        ),
    );
    let c = composer(&m);
    assert_eq!(c.text(), "from vim\nsecond line");
    assert!(c.error.is_some());
}

#[test]
fn the_status_bar_shows_what_x_says_is_left() {
    let mut m = populated(100);
    let rate = chirp_core::Quota {
        limit: Some(100),
        remaining: Some(97),
        reset: None,
    };
    update(
        &mut m,
        Msg::Publisher(chirp_publisher::Event::Posted {
            post: 2,
            remote_id: "1".into(),
            quota: Some(rate),
        }),
    );
    let screen = draw(&m, 100, 24).backend().to_string();
    assert!(
        screen.contains("publisher on · next in 2h 0m · X 97/100 left"),
        "{screen}"
    );
}

#[test]
fn resizing_switches_between_tabs_and_columns() {
    let mut m = populated(80);
    assert!(
        draw(&m, 80, 24)
            .backend()
            .to_string()
            .contains("Drafts (1/3)  │  Scheduled (1/1) $0.20  │  Posted (1/2)")
    );
    update(&mut m, Msg::Resize(140, 32));
    let wide = draw(&m, 140, 32).backend().to_string();
    assert!(
        wide.contains("┌ Drafts (1/3) ")
            && wide.contains("┌ Scheduled (1/1) ")
            && wide.contains("┌ Posted (1/2) "),
        "{wide}"
    );
    update(&mut m, Msg::Resize(80, 24));
    assert!(
        draw(&m, 80, 24)
            .backend()
            .to_string()
            .contains("Drafts (1/3)  │  Scheduled (1/1) $0.20  │  Posted (1/2)")
    );
}

// ---- requests always answer; stale answers are dropped ----

#[test]
fn a_page_of_an_old_filter_never_lands_in_the_new_one() {
    let mut m = populated(80);
    update(&mut m, Msg::Changed);
    let old = m.list(Pane::Drafts).loading.unwrap().id;
    // The filter changes while that load is on its way.
    update(&mut m, key(KeyCode::Char('/')));
    typed(&mut m, "launch");
    update(&mut m, key(KeyCode::Enter));
    let new = m.list(Pane::Drafts).loading.unwrap().id;
    assert_ne!(old, new);
    // The old page (unfiltered) arrives late: dropped.
    update(
        &mut m,
        Msg::Answer(
            old,
            Answer::Loaded(Ok(page(vec![post(7, Status::Draft, "not about it")], None))),
        ),
    );
    assert!(
        m.list(Pane::Drafts)
            .posts
            .iter()
            .all(|p| p.content != "not about it")
    );
    assert_eq!(m.list(Pane::Drafts).loading.map(|l| l.id), Some(new));
    update(
        &mut m,
        Msg::Answer(
            new,
            Answer::Loaded(Ok(page(vec![post(8, Status::Draft, "launch plan")], None))),
        ),
    );
    let ids: Vec<i32> = m.list(Pane::Drafts).posts.iter().map(|p| p.id).collect();
    assert_eq!(ids, vec![8]);
}

#[test]
fn a_crashed_save_stops_saving_and_keeps_the_text() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('n')));
    typed(&mut m, "precious words");
    update(&mut m, ctrl('s'));
    let id = composer(&m).saving.expect("saving");
    let screen = draw(&m, 80, 24).backend().to_string();
    assert!(screen.contains("saving…"));
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Crashed(Failure::new(
                Kind::Bug,
                "saving the new post failed unexpectedly",
            )),
        ),
    );
    let c = composer(&m);
    assert!(c.saving.is_none());
    assert_eq!(c.text(), "precious words");
    let screen = draw(&m, 80, 24).backend().to_string();
    assert!(!screen.contains("saving…"), "{screen}");
    assert!(screen.contains("failed unexpectedly"), "{screen}");
    // And the save can be tried again.
    assert_eq!(
        update(&mut m, ctrl('s')),
        vec![Cmd::Create(
            vec!["precious words".into()],
            vec![],
            vec![],
            vec![]
        )]
    );
}

#[test]
fn a_crashed_load_is_said_and_the_pane_can_load_again() {
    let mut m = populated(80);
    update(&mut m, Msg::Changed);
    let id = m.list(Pane::Posted).loading.unwrap().id;
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Crashed(Failure::new(Kind::Bug, "loading Posted failed")),
        ),
    );
    assert!(m.list(Pane::Posted).loading.is_none());
    assert_eq!(
        m.flash,
        Some((
            "chirp bug: loading Posted failed (see chirp.log)".into(),
            Some(Kind::Bug)
        ))
    );
    let again = update(&mut m, Msg::Changed);
    assert!(again.contains(&Cmd::Load {
        pane: Pane::Posted,
        after: None,
        filter: String::new(),
        account: None,
    }));
}

// ---- one keymap ----

#[test]
fn rebound_keys_work_and_every_hint_follows() {
    use chirp::tui::keymap::{KeySpec, Keymap, Overrides};
    let mut overrides = Overrides::new();
    overrides.insert(
        "lists".into(),
        [("new".to_string(), KeySpec::One("w".into()))].into(),
    );
    overrides.insert(
        "composer".into(),
        [("save".to_string(), KeySpec::One("C-w".into()))].into(),
    );
    let mut m = populated(100);
    m.keys = Keymap::with_overrides(&overrides).unwrap();
    update(&mut m, key(KeyCode::Char('n')));
    assert!(m.stack.is_empty(), "n is no longer bound");
    let screen = draw(&m, 100, 24).backend().to_string();
    assert!(screen.contains(" q quit · w new · e edit"), "{screen}");
    update(&mut m, key(KeyCode::Char('w')));
    assert!(m.on_top::<Composer>());
    typed(&mut m, "hi");
    assert!(update(&mut m, ctrl('s')).is_empty(), "Ctrl-S is text now");
    let screen = draw(&m, 100, 24).backend().to_string();
    assert!(
        screen.contains("Ctrl-W save · Esc close · Ctrl-E $EDITOR"),
        "{screen}"
    );
    assert_eq!(
        update(&mut m, ctrl('w')),
        vec![Cmd::Create(vec!["hi".into()], vec![], vec![], vec![])]
    );
    // The help screens list the new keys: the lists' on ?, the composer's on F1.
    let mut m = populated(100);
    m.keys = Keymap::with_overrides(&overrides).unwrap();
    update(&mut m, key(KeyCode::Char('?')));
    let screen = draw(&m, 100, 30).backend().to_string();
    assert!(screen.contains("w  new post"), "{screen}");
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, key(KeyCode::Char('w')));
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
    );
    let screen = draw(&m, 100, 30).backend().to_string();
    assert!(screen.contains("Ctrl-W  save and close"), "{screen}");
}

// ---- screens on a stack ----

/// A screen that opens another over itself on `p`, gives its place to another on `r`.
struct Probe(&'static str);

impl chirp::tui::screens::Screen for Probe {
    fn context(&self) -> Option<chirp::tui::keymap::Context> {
        None
    }
    fn on_key(
        &mut self,
        _m: &mut Model,
        k: KeyEvent,
        _a: Option<chirp::tui::keymap::Action>,
    ) -> chirp::tui::screens::Step {
        use chirp::tui::screens::Step;
        match k.code {
            KeyCode::Char('p') => Step::Push(Box::new(Probe("pushed"))),
            KeyCode::Char('r') => Step::Replace(Box::new(Probe("replacement"))),
            KeyCode::Esc => Step::Pop,
            _ => Step::Stay,
        }
    }
    fn draw(&self, _m: &Model, _f: &mut ratatui::Frame, _t: &chirp::tui::view::Theme) {}
}

#[test]
fn transitions_are_explicit() {
    let mut m = populated(80);
    m.stack.push(Box::new(Probe("first")));
    let names = |m: &Model| -> Vec<&'static str> {
        m.stack
            .iter()
            .map(|s| {
                (s.as_ref() as &dyn std::any::Any)
                    .downcast_ref::<Probe>()
                    .unwrap()
                    .0
            })
            .collect()
    };
    update(&mut m, key(KeyCode::Char('x')));
    assert_eq!(names(&m), vec!["first"], "stay");
    update(&mut m, key(KeyCode::Char('p')));
    assert_eq!(names(&m), vec!["first", "pushed"]);
    update(&mut m, key(KeyCode::Char('r')));
    assert_eq!(names(&m), vec!["first", "replacement"]);
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, key(KeyCode::Esc));
    assert!(m.stack.is_empty());
    // The lists have the keys again.
    update(&mut m, key(KeyCode::Char('j')));
    assert_eq!(m.selected().unwrap().id, 6);
}

#[test]
fn a_thread_is_marked_in_its_list_and_shown_whole_in_the_detail() {
    let mut m = empty_model(100);
    let mut t = post(9, Status::Failed, "the thread starts");
    t.parts = 3;
    t.parts_sent = 1;
    t.x_tweet_id = Some("1860000000000000009".into());
    t.error_message = Some("part 2/3: Reply to this conversation is not allowed".into());
    let part = |position: i32, content: &str, x: Option<&str>| chirp_core::PostPart {
        position,
        content: content.into(),
        remote_id: x.map(Into::into),
        posted_at: None,
        remote_deleted_at: None,
    };
    let parts = vec![
        part(1, "the thread starts", Some("1860000000000000009")),
        part(2, "then it goes on", None),
        part(3, "and ends", None),
    ];
    let id = load_id(&mut m, Pane::Drafts);
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(Page {
                posts: vec![t],
                next: None,
                threads: [(9, parts)].into_iter().collect(),
                ..page(Vec::new(), None)
            })),
        ),
    );
    let screen = draw(&m, 100, 30).backend().to_string();
    for shown in [
        "1/3 sent",
        "part 1/3 · on X as 1860000000000000009 · 17/280",
        "part 2/3 · not sent · 15/280",
        "then it goes on",
        "part 3/3 · not sent · 8/280",
    ] {
        assert!(screen.contains(shown), "{shown:?} not on screen:\n{screen}");
    }
}

fn alt(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::ALT))
}

fn parts_of(m: &Model) -> Vec<String> {
    composer(m).parts()
}

#[test]
fn the_thread_editor_adds_splits_joins_deletes_and_moves_between_parts() {
    let mut m = empty_model(80);
    update(&mut m, key(KeyCode::Char('n')));
    typed(&mut m, "first part");
    // Ctrl-T adds a part after this one and moves there.
    update(&mut m, ctrl('t'));
    typed(&mut m, "second");
    assert_eq!(parts_of(&m), ["first part", "second"]);
    assert_eq!(composer(&m).current, 1);
    // Alt-↑/↓ move between parts; ↑ where it cannot move within a part goes to the one above.
    update(&mut m, alt(KeyCode::Up));
    assert_eq!(composer(&m).current, 0);
    update(&mut m, alt(KeyCode::Down));
    update(&mut m, key(KeyCode::Up));
    assert_eq!(composer(&m).current, 0, "↑ on a part's first line");
    // Alt-S splits at the cursor: "first |part".
    for _ in 0.."part".len() {
        update(&mut m, key(KeyCode::Left));
    }
    update(&mut m, alt(KeyCode::Char('s')));
    assert_eq!(parts_of(&m), ["first", "part", "second"]);
    assert_eq!(composer(&m).current, 1);
    // Typing goes where the cursor is: the start of the new part.
    typed(&mut m, "a ");
    assert_eq!(parts_of(&m)[1], "a part");
    // Alt-J joins with the next part.
    update(&mut m, alt(KeyCode::Char('j')));
    assert_eq!(parts_of(&m), ["first", "a part second"]);
    update(&mut m, alt(KeyCode::Char('j')));
    assert_eq!(
        composer(&m).error.as_deref(),
        Some("this is the last part: there is no next part to join")
    );
    // Alt-X asks before deleting a part with text; n keeps it, y deletes it.
    update(&mut m, alt(KeyCode::Char('x')));
    assert_eq!(composer(&m).ask, Some(Ask::DeletePart));
    update(&mut m, key(KeyCode::Char('n')));
    assert_eq!(parts_of(&m).len(), 2);
    update(&mut m, alt(KeyCode::Char('x')));
    update(&mut m, key(KeyCode::Char('y')));
    assert_eq!(parts_of(&m), ["first"]);
    // An empty part goes without asking; the last part cannot go.
    update(&mut m, ctrl('t'));
    update(&mut m, alt(KeyCode::Char('x')));
    assert_eq!(parts_of(&m), ["first"]);
    update(&mut m, alt(KeyCode::Char('x')));
    assert_eq!(
        composer(&m).error.as_deref(),
        Some("a post has at least one part")
    );
    // Saved as a thread of its parts.
    update(&mut m, ctrl('t'));
    typed(&mut m, "then");
    assert_eq!(
        update(&mut m, ctrl('s')),
        vec![Cmd::Create(
            vec!["first".into(), "then".into()],
            vec![],
            vec![],
            vec![]
        )]
    );
}

#[test]
fn an_over_limit_part_is_refused_by_name_and_nothing_is_sent() {
    let mut m = empty_model(80);
    update(&mut m, key(KeyCode::Char('n')));
    typed(&mut m, "fine");
    update(&mut m, ctrl('t'));
    update(&mut m, Msg::Paste("y".repeat(300)));
    update(&mut m, ctrl('t'));
    typed(&mut m, "also fine");
    assert!(update(&mut m, ctrl('s')).is_empty(), "nothing saved");
    let c = composer(&m);
    assert_eq!(
        c.error.as_deref(),
        Some("part 2 of 3: the post is 300/280 weighted characters: shorten it by 20")
    );
    assert_eq!(c.current, 1, "the part at fault is the one being edited");
    assert_eq!(parts_of(&m)[1], "y".repeat(300), "nothing typed is lost");
}

#[test]
fn auto_split_cuts_the_whole_text_under_the_limit_numbered_on_request() {
    let mut m = empty_model(80);
    update(&mut m, key(KeyCode::Char('n')));
    let long = "Every sentence here is short. ".repeat(30);
    update(&mut m, Msg::Paste(long.clone()));
    update(&mut m, alt(KeyCode::Char('a')));
    let parts = parts_of(&m);
    assert!(parts.len() >= 3, "{parts:?}");
    assert!(parts.iter().all(|p| {
        chirp_core::rule_for(chirp_core::Network::X)
            .count(p)
            .weighted
            <= 280
    }));
    assert_eq!(parts.join(" "), long.trim());
    assert_eq!(
        composer(&m).note.as_deref(),
        Some(&*format!("split into {} parts", parts.len()))
    );
    // Numbered: k/n at the end of each, counted in the limit; again without numbers undoes it.
    update(&mut m, alt(KeyCode::Char('n')));
    let numbered = parts_of(&m);
    let n = numbered.len();
    for (i, p) in numbered.iter().enumerate() {
        assert!(p.ends_with(&format!(" {}/{n}", i + 1)), "{p}");
        assert!(
            chirp_core::rule_for(chirp_core::Network::X)
                .count(p)
                .weighted
                <= 280,
            "{p}"
        );
    }
    update(&mut m, alt(KeyCode::Char('a')));
    assert_eq!(parts_of(&m), parts);
}

#[test]
fn the_whole_thread_round_trips_through_the_external_editor() {
    let mut m = empty_model(80);
    update(&mut m, key(KeyCode::Char('n')));
    typed(&mut m, "one");
    update(&mut m, ctrl('t'));
    typed(&mut m, "two");
    let cmds = chirp::tui::update::update(&mut m, ctrl('e'));
    assert_eq!(cmds[0].cmd, Cmd::OpenEditor("one\n---\ntwo".into()));
    update(
        &mut m,
        Msg::Answer(
            cmds[0].id,
            Answer::Edited(Ok("one\n---\ntwo, longer\n\n---\nthree".into())),
        ),
    );
    assert_eq!(parts_of(&m), ["one", "two, longer", "three"]);
}

/// A draft thread of three parts, and a failed one with its first part on X, in Drafts.
fn with_threads(width: u16) -> Model {
    let mut m = empty_model(width);
    let part = |position: i32, content: &str, x: Option<&str>| chirp_core::PostPart {
        position,
        content: content.into(),
        remote_id: x.map(Into::into),
        posted_at: None,
        remote_deleted_at: None,
    };
    let mut draft = post(4, Status::Draft, "a thread to finish");
    draft.parts = 3;
    let mut stopped = post(3, Status::Failed, "stopped");
    stopped.parts = 2;
    stopped.parts_sent = 1;
    let id = load_id(&mut m, Pane::Drafts);
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(Page {
                posts: vec![draft, stopped],
                next: None,
                threads: [
                    (
                        4,
                        vec![
                            part(1, "a thread to finish", None),
                            part(2, "middle", None),
                            part(3, &"z".repeat(290), None),
                        ],
                    ),
                    (
                        3,
                        vec![part(1, "stopped", Some("1")), part(2, "rest", None)],
                    ),
                ]
                .into_iter()
                .collect(),
                ..page(Vec::new(), None)
            })),
        ),
    );
    m
}

#[test]
fn editing_a_thread_opens_every_part_and_saves_them_all() {
    let mut m = with_threads(80);
    update(&mut m, key(KeyCode::Char('e')));
    assert_eq!(
        parts_of(&m),
        ["a thread to finish", "middle", &"z".repeat(290)]
    );
    // Fix the last part, then save: every part goes.
    for _ in 0..10 {
        update(&mut m, key(KeyCode::Backspace));
    }
    let cmds = update(&mut m, ctrl('s'));
    assert_eq!(
        cmds,
        vec![Cmd::Save(
            4,
            vec![
                "a thread to finish".into(),
                "middle".into(),
                "z".repeat(280)
            ],
            vec![]
        )]
    );
    // A thread with a part on X is not edited here; its unsent parts can become a new draft.
    let mut m = with_threads(80);
    update(&mut m, key(KeyCode::Char('j')));
    update(&mut m, key(KeyCode::Char('e')));
    assert!(!m.on_top::<Composer>());
    assert!(
        m.flash.as_ref().unwrap().0.contains("press t"),
        "{:?}",
        m.flash
    );
    assert_eq!(
        update(&mut m, key(KeyCode::Char('t'))),
        vec![Cmd::SplitOff(3)]
    );
}

#[test]
fn unpublishing_asks_first_and_names_the_parts() {
    let mut m = empty_model(80);
    let mut t = post(5, Status::Posted, "on X");
    t.parts = 3;
    t.parts_sent = 3;
    loaded(&mut m, Pane::Posted, vec![t], None);
    m.focus = Pane::Posted;
    update(&mut m, key(KeyCode::Char('U')));
    assert!(m.on_top::<Confirm>());
    let screen = draw(&m, 80, 24).backend().to_string();
    assert!(
        screen.contains("Delete all 3 parts of post 5 on X?"),
        "{screen}"
    );
    assert_eq!(
        update(&mut m, key(KeyCode::Char('y'))),
        vec![Cmd::Unpublish(5)]
    );
    // A draft is not on X.
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('U')));
    assert!(!m.on_top::<Confirm>());
    assert_eq!(m.flash.as_ref().unwrap().1, Some(Kind::Conflict), "refused");
}

#[test]
fn screen_thread_composer() {
    let mut m = with_threads(80);
    update(&mut m, key(KeyCode::Char('e')));
    let t = draw(&m, 80, 24);
    insta::assert_snapshot!("thread_composer", t.backend());
    // Each part's counter in its own colour: the over-limit part red.
    assert_eq!(fg_of(&t, "290/280"), Color::Red);
    assert_eq!(fg_of(&t, "6/280"), Color::Green);
    // F1 shows the composer's keys, generated from the keymap.
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE)),
    );
    let screen = draw(&m, 80, 24).backend().to_string();
    for shown in [
        "Ctrl-T Alt-Enter  thread: add a part after this one",
        "Alt-s  thread: split this part at the cursor",
        "Alt-a  auto-split the whole text",
    ] {
        assert!(screen.contains(shown), "{shown:?} not in\n{screen}");
    }
    // Any key closes it, back to the composer.
    update(&mut m, key(KeyCode::Char('x')));
    assert!(m.on_top::<Composer>());
}

fn account(id: i32, name: &str, default: bool) -> AccountStatus {
    AccountStatus {
        id,
        network: chirp_core::Network::X,
        server_url: None,
        handle: Some(format!("@{name}")),
        username: Some(name.into()),
        remote_user_id: Some(format!("{id}00")),
        x_user_id: Some(format!("{id}00")),
        connected: true,
        needs_reconnect: false,
        token_expires_at: None,
        rate_limited_until: None,
        posts_waiting: 0,
        reconnect_reason: None,
        token_refreshed_at: None,
        refreshes: 0,
        refresh_started_at: None,
        is_default: default,
        can_post_media: true,
        next_slot: None,
        out_of_credits_at: None,
        out_of_credits_reason: None,
    }
}

/// Two accounts: @me (the default) and @project, which needs reconnecting; a post to both.
fn two_accounts(width: u16) -> Model {
    let mut m = empty_model(width);
    let mut project = account(2, "project", false);
    project.connected = false;
    project.needs_reconnect = true;
    m.accounts = vec![account(1, "me", true), project];
    let mut mine = post(8, Status::Posted, "the announcement");
    mine.group_id = Some(8);
    let mut theirs = post(9, Status::Failed, "the announcement");
    theirs.x_account_id = 2;
    theirs.group_id = Some(8);
    let id = load_id(&mut m, Pane::Posted);
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(Page {
                posts: vec![theirs, mine],
                next: None,
                groups: [(
                    8,
                    chirp_store::posts::Group {
                        posts: 2,
                        posted: 1,
                    },
                )]
                .into_iter()
                .collect(),
                ..page(Vec::new(), None)
            })),
        ),
    );
    m.focus = Pane::Posted;
    m
}

#[test]
fn the_account_switcher_shows_one_account_or_all() {
    let mut m = two_accounts(100);
    let screen = draw(&m, 100, 30).backend().to_string();
    // Every account's posts: each row says whose it is, and how far its group got.
    assert!(
        screen.contains("@project sent to 1 of 2 failed"),
        "{screen}"
    );
    assert!(screen.contains("@me sent to 1 of 2"), "{screen}");
    assert!(screen.contains("@project needs reconnect"), "{screen}");
    // A: only @me's posts, from the database (every pane again, filtered).
    let cmds = update(&mut m, key(KeyCode::Char('A')));
    assert_eq!(m.showing, Some(1));
    assert_eq!(m.flash.as_ref().unwrap().0, "showing @me's posts");
    assert_eq!(cmds.len(), 3, "{cmds:?}");
    assert!(
        cmds.iter().all(|c| matches!(
            c,
            Cmd::Load {
                account: Some(1),
                ..
            }
        )),
        "{cmds:?}"
    );
    // A new post while @me is shown goes to @me.
    update(&mut m, key(KeyCode::Char('n')));
    typed(&mut m, "only mine");
    assert_eq!(
        update(&mut m, ctrl('s')),
        vec![Cmd::Create(
            vec!["only mine".into()],
            vec![1],
            vec![],
            vec![]
        )]
    );
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, key(KeyCode::Char('y')));
    // A again: @project; then every account's again.
    update(&mut m, key(KeyCode::Char('A')));
    assert_eq!(m.showing, Some(2));
    let cmds = update(&mut m, key(KeyCode::Char('A')));
    assert_eq!(m.showing, None);
    assert!(
        cmds.iter()
            .all(|c| matches!(c, Cmd::Load { account: None, .. }))
    );
}

#[test]
fn the_composer_says_where_a_post_goes_and_f2_changes_it() {
    let mut m = two_accounts(100);
    update(&mut m, key(KeyCode::Char('n')));
    let f2 = || Msg::Key(KeyEvent::new(KeyCode::F(2), KeyModifiers::NONE));
    let title = |m: &Model| {
        draw(m, 100, 30)
            .backend()
            .to_string()
            .lines()
            .find(|l| l.contains("New post"))
            .unwrap()
            .to_string()
    };
    assert!(
        title(&m).contains("New post → @me (default)"),
        "{}",
        title(&m)
    );
    // F2: a checklist of the accounts, the default ticked.
    update(&mut m, f2());
    assert!(m.on_top::<AccountPicker>());
    let screen = draw(&m, 100, 30).backend().to_string();
    assert!(screen.contains("> [x] @me (default)"), "{screen}");
    assert!(screen.contains("  [ ] @project"), "{screen}");
    // Nothing ticked is refused; then @project alone.
    update(&mut m, key(KeyCode::Char(' ')));
    update(&mut m, key(KeyCode::Enter));
    assert!(m.on_top::<AccountPicker>(), "needs at least one");
    update(&mut m, key(KeyCode::Char('j')));
    update(&mut m, key(KeyCode::Char(' ')));
    update(&mut m, key(KeyCode::Enter));
    assert!(m.on_top::<Composer>());
    assert!(title(&m).contains("New post → @project "), "{}", title(&m));
    // Both: one post each.
    update(&mut m, f2());
    update(&mut m, key(KeyCode::Char('x')));
    update(&mut m, key(KeyCode::Enter));
    assert!(
        title(&m).contains("New post → @me @project "),
        "{}",
        title(&m)
    );
    typed(&mut m, "for both");
    assert_eq!(
        update(&mut m, ctrl('s')),
        vec![Cmd::Create(
            vec!["for both".into()],
            vec![1, 2],
            vec![],
            vec![]
        )]
    );
    // With one account there is nothing to choose.
    let mut m = populated(100);
    update(&mut m, key(KeyCode::Char('n')));
    update(&mut m, f2());
    assert_eq!(
        composer(&m).error.as_deref(),
        Some("one account only: connect another with chirp account connect")
    );
}

#[test]
fn screen_two_accounts() {
    let m = two_accounts(80);
    let t = draw(&m, 80, 24);
    insta::assert_snapshot!("two_accounts", t.backend());
    assert_eq!(fg_of(&t, "@project needs"), Color::Red);
    assert_eq!(fg_of(&t, "@me  @project"), Color::Green);
}

#[test]
fn posts_with_media_are_marked_and_their_files_listed() {
    let mut m = empty_model(100);
    let file = |ord: i32, alt: Option<&str>| {
        image(1, ord, ord, "image/png", 3 * 1024 * 1024 + 200_000, alt)
    };
    let id = load_id(&mut m, Pane::Drafts);
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(Page {
                posts: vec![post(5, Status::Draft, "two pets")],
                next: None,
                media: [(
                    5,
                    vec![
                        file(1, Some("A cat \u{1b}[31mon a keyboard")),
                        file(2, None),
                    ],
                )]
                .into_iter()
                .collect(),
                ..page(Vec::new(), None)
            })),
        ),
    );
    let t = draw(&m, 100, 30);
    let screen = t.backend().to_string();
    assert!(screen.contains("2 media"), "{screen}");
    assert!(
        screen.contains("▣ image image/png · 3.2 MB · alt: A cat \\e[31mon a keyboard"),
        "alt text is shown inert: {screen}"
    );
    assert!(
        screen.contains("▣ image image/png · 3.2 MB · no alt text"),
        "{screen}"
    );
    assert_eq!(fg_of(&t, "▣ image"), Color::Magenta);
}

fn inspected(
    name: &str,
    kind: chirp_core::MediaKind,
    media_type: &'static str,
) -> chirp::media::Inspected {
    chirp::media::Inspected {
        path: std::path::PathBuf::from("/home/me/pics").join(name),
        media_type,
        kind,
        size: 5 * 1024,
        sha256: vec![7; 32],
    }
}

/// The id of the request whose command matches `f`.
fn request_of(reqs: &[chirp::tui::model::Request], f: impl Fn(&Cmd) -> bool) -> ReqId {
    reqs.iter().find(|r| f(&r.cmd)).expect("such a request").id
}

#[test]
fn files_are_attached_described_removed_and_saved_with_their_part() {
    use chirp::tui::model::FileRef;
    use chirp::tui::screens::Input;
    use chirp_core::MediaKind;
    let mut m = empty_model(80);
    update(&mut m, key(KeyCode::Char('n')));
    // Alt-M: a path prompt; Tab asks for completions, typing goes on meanwhile.
    update(&mut m, alt(KeyCode::Char('m')));
    assert!(m.on_top::<Input>());
    typed(&mut m, "~/pics/ca");
    let reqs = chirp::tui::update::update(&mut m, key(KeyCode::Tab));
    let asked = request_of(&reqs, |c| *c == Cmd::Complete("~/pics/ca".into()));
    update(
        &mut m,
        Msg::Answer(
            asked,
            Answer::Completed(
                "~/pics/ca".into(),
                "~/pics/ca".into(),
                vec!["car.jpg".into(), "cat.png".into()],
            ),
        ),
    );
    let screen = draw(&m, 80, 24).backend().to_string();
    assert!(screen.contains("car.jpg  cat.png"), "{screen}");
    typed(&mut m, "t.png");
    // Enter: the file is read (off the key loop) and attached when it checks out.
    let reqs = chirp::tui::update::update(&mut m, key(KeyCode::Enter));
    let home = dirs::home_dir().unwrap();
    let reading = request_of(&reqs, |c| *c == Cmd::Inspect(home.join("pics/cat.png")));
    assert!(m.on_top::<Composer>());
    let cat = inspected("cat.png", MediaKind::Image, "image/png");
    update(
        &mut m,
        Msg::Answer(reading, Answer::Inspected(Ok(cat.clone()))),
    );
    assert_eq!(composer(&m).files[0].len(), 1);
    let screen = draw(&m, 80, 24).backend().to_string();
    assert!(
        screen.contains("▶ image image/png 5 KB · cat.png · no alt text"),
        "{screen}"
    );
    // Alt-T: its alt text.
    update(&mut m, alt(KeyCode::Char('t')));
    typed(&mut m, "A cat on a keyboard");
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(composer(&m).files[0][0].alt(), Some("A cat on a keyboard"));
    // A video does not go with an image: refused, said, nothing attached.
    update(&mut m, alt(KeyCode::Char('m')));
    typed(&mut m, "clip.mp4");
    let reqs = chirp::tui::update::update(&mut m, key(KeyCode::Enter));
    let reading = request_of(&reqs, |c| matches!(c, Cmd::Inspect(_)));
    let clip = inspected("clip.mp4", MediaKind::Video, "video/mp4");
    update(&mut m, Msg::Answer(reading, Answer::Inspected(Ok(clip))));
    assert_eq!(composer(&m).files[0].len(), 1);
    assert!(
        composer(&m)
            .error
            .as_deref()
            .unwrap()
            .ends_with("images cannot go with a GIF or a video"),
        "{:?}",
        composer(&m).error
    );
    // A file that is not media: X's rule, said.
    update(&mut m, alt(KeyCode::Char('m')));
    typed(&mut m, "notes.txt");
    let reqs = chirp::tui::update::update(&mut m, key(KeyCode::Enter));
    let reading = request_of(&reqs, |c| matches!(c, Cmd::Inspect(_)));
    update(
        &mut m,
        Msg::Answer(
            reading,
            Answer::Inspected(Err("notes.txt is not an image".into())),
        ),
    );
    assert_eq!(
        composer(&m).error.as_deref(),
        Some("notes.txt is not an image")
    );
    // A part of a photo alone, no text: saved with its file.
    assert_eq!(
        update(&mut m, ctrl('s')),
        vec![Cmd::Create(
            vec![String::new()],
            vec![],
            vec![vec![FileRef::New {
                file: cat,
                alt: Some("A cat on a keyboard".into())
            }]],
            vec![]
        )]
    );
}

#[test]
fn an_existing_posts_files_can_be_removed_and_the_rest_kept() {
    use chirp::tui::model::FileRef;
    let mut m = empty_model(80);
    let file = |ord: i32| {
        image(
            1,
            ord,
            10 + ord,
            "image/jpeg",
            2048,
            Some(&format!("photo {ord}")),
        )
    };
    let id = load_id(&mut m, Pane::Drafts);
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(Page {
                posts: vec![post(6, Status::Draft, "two photos")],
                next: None,
                media: [(6, vec![file(1), file(2)])].into_iter().collect(),
                ..page(Vec::new(), None)
            })),
        ),
    );
    update(&mut m, key(KeyCode::Char('e')));
    assert_eq!(composer(&m).files[0].len(), 2);
    assert!(!composer(&m).modified());
    let t = draw(&m, 80, 24);
    insta::assert_snapshot!("composer_with_files", t.backend());
    // Alt-F selects the second, Alt-R removes it.
    update(&mut m, alt(KeyCode::Char('f')));
    update(&mut m, alt(KeyCode::Char('r')));
    assert!(composer(&m).modified());
    assert_eq!(
        update(&mut m, ctrl('s')),
        vec![Cmd::Save(
            6,
            vec!["two photos".into()],
            vec![vec![FileRef::Stored {
                media_id: 11,
                kind: chirp_core::MediaKind::Image,
                media_type: "image/jpeg".into(),
                size: 2048,
                alt: Some("photo 1".into()),
            }]]
        )]
    );
}

#[test]
fn the_selected_posts_image_is_previewed_in_half_blocks_never_as_bytes() {
    let mut m = empty_model(100);
    m.picker = Some(ratatui_image::picker::Picker::halfblocks());
    let file = image(1, 1, 42, "image/png", 4096, Some("a red square"));
    let id = load_id(&mut m, Pane::Drafts);
    let cmds = update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(Page {
                posts: vec![post(5, Status::Draft, "look at this")],
                next: None,
                media: [(5, vec![file])].into_iter().collect(),
                ..page(Vec::new(), None)
            })),
        ),
    );
    // Selected: its image is read once, off the key loop.
    assert_eq!(cmds, vec![Cmd::LoadPreview(42)]);
    assert!(update(&mut m, Msg::Tick(now())).is_empty(), "asked once");
    let loading = draw(&m, 100, 30).backend().to_string();
    assert!(loading.contains("loading the preview…"), "{loading}");
    let red = image::RgbImage::from_pixel(400, 400, image::Rgb([255, 0, 0]));
    let req = chirp::tui::update::update(&mut m, Msg::Tick(now()));
    assert!(req.is_empty());
    update(
        &mut m,
        Msg::Answer(
            999,
            Answer::Preview(42, Ok(image::DynamicImage::ImageRgb8(red))),
        ),
    );
    let t = draw(&m, 100, 30);
    let screen = t.backend().to_string();
    assert!(
        !screen.contains('\u{1b}'),
        "no escape reaches the screen as text"
    );
    let reds = t
        .backend()
        .buffer()
        .content()
        .iter()
        .filter(|c| c.fg == Color::Rgb(255, 0, 0) || c.bg == Color::Rgb(255, 0, 0))
        .count();
    assert!(
        reds > 10,
        "the square is drawn in its colour ({reds} cells)"
    );
    // Previews off: nothing is read.
    let mut m = empty_model(100);
    let id = load_id(&mut m, Pane::Drafts);
    let cmds = update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(page(vec![post(5, Status::Draft, "look at this")], None))),
        ),
    );
    assert!(cmds.is_empty());
}

fn numbers(impressions: i64, likes: i64) -> chirp_core::Metrics {
    chirp_core::Metrics {
        impressions,
        likes,
        reposts: likes / 4,
        replies: likes / 8,
        ..chirp_core::Metrics::default()
    }
}

#[test]
fn the_posted_pane_shows_how_each_post_did_and_the_detail_its_history() {
    let mut m = empty_model(80);
    let mut hit = post(3, Status::Posted, "hello world");
    hit.posted_at = Some(now() - Duration::days(2));
    let mut gone = post(2, Status::Posted, "deleted by hand on x.com");
    gone.posted_at = Some(now() - Duration::days(3));
    gone.gone_from_x_at = Some(now() - Duration::hours(1));
    let id = load_id(&mut m, Pane::Posted);
    let history = vec![
        (
            now() - Duration::days(2) + Duration::hours(1),
            numbers(120, 4),
        ),
        (now() - Duration::days(1), numbers(1_450, 32)),
    ];
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Loaded(Ok(Page {
                posts: vec![hit, gone],
                next: None,
                metrics: [(3, history)].into_iter().collect(),
                ..page(Vec::new(), None)
            })),
        ),
    );
    m.focus = Pane::Posted;
    let t = draw(&m, 80, 24);
    insta::assert_snapshot!(t.backend());
    let text = t.backend().to_string();
    assert!(text.contains("♥32 ⇄8 ↩4 ◎1.4k"), "{text}");
    assert!(text.contains("deleted on X"), "{text}");
    assert!(text.contains("120 → 1.4k over 2 reads"), "{text}");
}

fn account_stats() -> chirp::stats::AccountStats {
    use chirp_store::analytics::{Day, PostStats};
    let first = now().date_naive() - chrono::Days::new(29);
    let days: Vec<Day> = first
        .iter_days()
        .take(30)
        .enumerate()
        .map(|(i, day)| Day {
            day,
            posts: i64::from(i % 3 == 0),
            impressions: if i % 3 == 0 { 100 * (i as i64 + 1) } else { 0 },
            engagements: if i % 3 == 0 { 3 * (i as i64 % 7) } else { 0 },
        })
        .collect();
    let best = |id: i32, text: &str, imp: i64, likes: i64| PostStats {
        post: id,
        account: 1,
        content: text.into(),
        posted_at: now() - Duration::days(i64::from(id)),
        gone: false,
        metrics: Some(numbers(imp, likes)),
    };
    chirp::stats::AccountStats {
        account: 1,
        handle: "chirp_tester".into(),
        since: now() - Duration::days(29),
        posts: days.iter().map(|d| d.posts).sum(),
        impressions: days.iter().map(|d| d.impressions).sum(),
        engagements: days.iter().map(|d| d.engagements).sum(),
        unread: 1,
        days,
        best: vec![
            best(12, "Why terminal tools win over SSH", 2_900, 61),
            best(
                15,
                "A thread on keyboard-driven UIs https://example.com",
                1_200,
                20,
            ),
        ],
        spend: chirp::stats::Spend {
            month_start: now() - Duration::days(26),
            posts: 11,
            url_posts: 2,
            posts_usd: 9 * 15_000 + 2 * 200_000,
            reads: 40,
            reads_usd: 40_000,
            total_usd: 9 * 15_000 + 2 * 200_000 + 40_000,
            ..Default::default()
        },
    }
}

#[test]
fn the_stats_screen_shows_each_accounts_days_best_posts_and_spend() {
    let mut m = populated(80);
    let cmds = update(&mut m, key(KeyCode::Char('S')));
    assert_eq!(cmds, vec![Cmd::LoadStats(m.pricing)]);
    let id = m
        .screen::<StatsView>()
        .and_then(|v| v.loading)
        .expect("a load in flight");
    insta::assert_snapshot!("stats_loading", draw(&m, 80, 24).backend());
    update(
        &mut m,
        Msg::Answer(id, Answer::Stats(Ok(vec![account_stats()]))),
    );
    let t = draw(&m, 80, 24);
    insta::assert_snapshot!("stats", t.backend());
    let text = t.backend().to_string();
    assert!(text.contains("$0.575"), "{text}");
    assert!(
        text.contains("11 post(s) $0.535 (2 with a link) · 40 read(s) $0.04"),
        "{text}"
    );
    // The bars are the account's colours: impressions cyan, engagements magenta.
    assert_eq!(fg_of(&t, "█"), Color::Cyan);
    // A change reloads it once, keeping what is shown.
    let again = update(&mut m, Msg::Changed);
    assert_eq!(
        again
            .iter()
            .filter(|c| matches!(c, Cmd::LoadStats(_)))
            .count(),
        1
    );
    assert_eq!(m.screen::<StatsView>().unwrap().accounts.len(), 1);
    // Not held: R says so and sends nothing.
    let id = m.screen::<StatsView>().unwrap().loading.unwrap();
    update(
        &mut m,
        Msg::Answer(id, Answer::Stats(Ok(vec![account_stats()]))),
    );
    assert!(update(&mut m, key(KeyCode::Char('R'))).is_empty());
    assert_eq!(
        m.flash.as_ref().map(|f| f.0.as_str()),
        Some("@chirp_tester is not held for credits")
    );
    update(&mut m, key(KeyCode::Esc));
    assert!(m.stack.is_empty());
}

#[test]
fn an_account_out_of_credits_is_said_on_the_stats_screen_and_resumed_with_r() {
    let mut m = populated(80);
    // The publisher says so: a message, and the account is read again.
    m.account_loading = None;
    let cmds = update(
        &mut m,
        Msg::Publisher(chirp_publisher::Event::OutOfCredits {
            account: 1,
            post: 2,
            reason: "X says the account is out of credits (402): no credits".into(),
        }),
    );
    assert!(cmds.contains(&Cmd::LoadAccount), "{cmds:?}");
    assert_eq!(
        m.flash.as_ref().map(|f| f.0.as_str()),
        Some(
            "X says @chirp_tester is out of credits: its posts wait until you top up and resume it (S, then R)"
        )
    );
    m.flash = None;
    m.accounts[0].out_of_credits_at = Some(now() - Duration::hours(3));
    let t = draw(&m, 80, 24);
    assert!(
        t.backend()
            .to_string()
            .contains(" @chirp_tester out of credits (S then R) "),
        "{}",
        t.backend()
    );
    assert_eq!(fg_of(&t, "@chirp_tester out of credits"), Color::Red);
    update(&mut m, key(KeyCode::Char('S')));
    let id = m.screen::<StatsView>().unwrap().loading.unwrap();
    update(
        &mut m,
        Msg::Answer(id, Answer::Stats(Ok(vec![account_stats()]))),
    );
    let t = draw(&m, 80, 24);
    let text = t.backend().to_string();
    assert!(
        text.contains("out of credits since Thu 26 Nov 06:15 · top up at X, then R resumes"),
        "{text}"
    );
    assert_eq!(fg_of(&t, "out of credits since"), Color::Red);
    assert_eq!(
        update(&mut m, key(KeyCode::Char('R'))),
        vec![Cmd::Resume(1)]
    );
}

#[test]
fn c_connects_an_account_from_the_tui_pasting_works_and_esc_gives_up() {
    let mut m = populated(80);
    let asked = chirp::tui::update::update(&mut m, key(KeyCode::Char('C')));
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].cmd, Cmd::Connect);
    let id = asked[0].id;
    assert!(draw(&m, 80, 24).backend().to_string().contains("asking X…"));
    update(
        &mut m,
        Msg::ConnectReady {
            id,
            url: "https://x.com/i/oauth2/authorize?state=s1".into(),
            redirect: "http://127.0.0.1:8765/callback".into(),
        },
    );
    let text = draw(&m, 80, 24).backend().to_string();
    assert!(
        text.contains("https://x.com/i/oauth2/authorize?state=s1"),
        "{text}"
    );
    assert!(
        text.contains("ssh -L 8765:127.0.0.1:8765 THAT_HOST"),
        "{text}"
    );
    // Ctrl-Y copies the address; a pasted answer goes to the connect under way.
    assert_eq!(
        update(&mut m, ctrl('y')),
        vec![Cmd::Copy(
            "https://x.com/i/oauth2/authorize?state=s1".into()
        )]
    );
    typed(&mut m, "abc123");
    assert_eq!(
        update(&mut m, key(KeyCode::Enter)),
        vec![Cmd::ConnectPaste("abc123".into())]
    );
    // Another connect's answer (one given up on) changes nothing here.
    update(
        &mut m,
        Msg::Answer(
            id + 1000,
            Answer::Connected(Err(Failure::new(Kind::Network, "an old one"))),
        ),
    );
    assert!(
        !draw(&m, 80, 24)
            .backend()
            .to_string()
            .contains("an old one")
    );
    // Its own answer, an error, is shown in the screen.
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Connected(Err(Failure::new(
                Kind::Network,
                "X refused the code: nothing was saved",
            ))),
        ),
    );
    let text = draw(&m, 80, 24).backend().to_string();
    assert!(
        text.contains("X refused the code: nothing was saved"),
        "{text}"
    );
    assert_eq!(update(&mut m, key(KeyCode::Esc)), vec![Cmd::ConnectCancel]);
    assert!(m.stack.is_empty());
}

fn mouse(kind: crossterm::event::MouseEventKind, column: u16, row: u16) -> Msg {
    Msg::Mouse(crossterm::event::MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    })
}

fn click(column: u16, row: u16) -> Msg {
    mouse(
        crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left),
        column,
        row,
    )
}

/// Where `needle` is on screen: (column, row).
fn find(m: &Model, needle: &str) -> (u16, u16) {
    let t = draw(m, m.width, m.height);
    let buf = t.backend().buffer().clone();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(byte) = line.find(needle) {
            return (line[..byte].chars().count() as u16, y);
        }
    }
    panic!("{needle:?} is not on screen:\n{}", t.backend());
}

#[test]
fn the_mouse_switches_tabs_selects_rows_scrolls_and_runs_hints() {
    use crossterm::event::MouseEventKind;
    let mut m = populated(80);
    m.height = 24;
    // A click on a tab shows that pane.
    let (x, y) = find(&m, "Scheduled (");
    update(&mut m, click(x + 2, y));
    assert_eq!(m.focus, Pane::Scheduled);
    let (x, y) = find(&m, "Drafts (");
    update(&mut m, click(x, y));
    assert_eq!(m.focus, Pane::Drafts);
    // A click on a row selects it.
    let (x, y) = find(&m, "escape");
    update(&mut m, click(x, y));
    assert_eq!(m.selected().map(|p| p.id), Some(5));
    // The wheel over the list moves the selection; over the post, scrolls it.
    update(&mut m, mouse(MouseEventKind::ScrollUp, 10, 4));
    assert_eq!(m.selected().map(|p| p.id), Some(6));
    let (_, detail_y) = find(&m, "┌ Post");
    update(&mut m, mouse(MouseEventKind::ScrollDown, 10, detail_y + 2));
    assert!(m.detail_scroll > 0);
    // A click on a key hint runs it.
    let (x, y) = find(&m, "n new");
    update(&mut m, click(x, y));
    assert!(m.screen::<Composer>().is_some());
    // In a popup the wheel is ↓/↑; clicks are left to the keyboard.
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, key(KeyCode::Char('?')));
    update(&mut m, mouse(MouseEventKind::ScrollDown, 10, 10));
    assert_eq!(
        m.screen::<chirp::tui::screens::Help>().map(|h| h.scroll),
        Some(1)
    );
    update(&mut m, click(1, 1));
    assert!(m.screen::<chirp::tui::screens::Help>().is_some());
}

#[test]
fn the_composer_counts_by_the_rule_of_the_accounts_network() {
    let mut m = empty_model(80);
    let mut toots = account(1, "me@mastodon.social", true);
    toots.network = chirp_core::Network::Mastodon;
    m.accounts = vec![toots];
    update(&mut m, key(KeyCode::Char('n')));
    // 300 CJK characters: 600 weighted on X, 300 of Mastodon's 500.
    update(&mut m, Msg::Paste("字".repeat(300)));
    let t = draw(&m, 80, 24);
    assert_eq!(fg_of(&t, "300/500"), Color::Green);
    assert!(!update(&mut m, ctrl('s')).is_empty(), "saved: it fits");
    // On X it is over the limit, in red, and cannot be saved.
    let mut m = empty_model(80);
    m.accounts = vec![account(1, "me", true)];
    update(&mut m, key(KeyCode::Char('n')));
    update(&mut m, Msg::Paste("字".repeat(300)));
    let t = draw(&m, 80, 24);
    assert_eq!(fg_of(&t, "600/280"), Color::Red);
    assert!(update(&mut m, ctrl('s')).is_empty());
}

#[test]
fn a_screens_load_that_crashed_stops_waiting_and_says_why() {
    let mut m = populated(80);
    update(&mut m, key(KeyCode::Char('S')));
    let id = m.screen::<StatsView>().and_then(|v| v.loading).unwrap();
    update(
        &mut m,
        Msg::Answer(
            id,
            Answer::Crashed(Failure::new(Kind::Bug, "the stats query panicked")),
        ),
    );
    let v = m.screen::<StatsView>().unwrap();
    assert_eq!(v.loading, None, "no longer loading");
    assert!(
        v.error
            .as_deref()
            .is_some_and(|e| e.starts_with("chirp bug: the stats query panicked")),
        "{:?}",
        v.error
    );
    // A change loads it again (it was not left waiting for an answer that will never come).
    let again = update(&mut m, Msg::Changed);
    assert!(again.iter().any(|c| matches!(c, Cmd::LoadStats(_))));
}

#[test]
fn a_split_into_a_huge_thread_asks_first_naming_the_count_and_the_price() {
    let long =
        "Every sentence of this long announcement is here for a reason, surely. ".repeat(120);
    let mut m = composing(&long);
    update(&mut m, alt(KeyCode::Char('a')));
    assert_eq!(m.screen::<Composer>().unwrap().parts().len(), 1, "not yet");
    let text = draw(&m, 120, 24).backend().to_string();
    assert!(
        text.contains(" parts costing $") && text.contains("(more than 25 parts)? y/n"),
        "{text}"
    );
    // No: nothing changes.
    update(&mut m, key(KeyCode::Char('n')));
    let c = m.screen::<Composer>().unwrap();
    assert_eq!(c.parts().len(), 1);
    assert_eq!(c.note.as_deref(), Some("not split"));
    // Yes: split as asked.
    update(&mut m, alt(KeyCode::Char('a')));
    update(&mut m, key(KeyCode::Char('y')));
    let n = m.screen::<Composer>().unwrap().parts().len();
    assert!(n > 25);
    // Into the queue: asked again, and y saves it there.
    m.accounts[0].next_slot = Some(Utc.with_ymd_and_hms(2026, 11, 27, 17, 0, 0).unwrap());
    assert!(update(&mut m, alt(KeyCode::Char('q'))).is_empty());
    let text = draw(&m, 120, 24).backend().to_string();
    assert!(
        text.contains(&format!("Queue {n} parts costing $")),
        "{text}"
    );
    let saved = update(&mut m, key(KeyCode::Char('y')));
    assert!(
        matches!(saved.as_slice(), [Cmd::SaveQueued { parts, .. }] if parts.len() == n),
        "{saved:?}"
    );
}

#[test]
fn publishing_or_scheduling_a_huge_thread_says_its_count_and_price_first() {
    let mut m = populated(120);
    let p = m.selected().unwrap().clone();
    let parts: Vec<chirp_core::PostPart> = (1..=30)
        .map(|i| chirp_core::PostPart {
            position: i,
            content: format!("part {i} of a long thread"),
            remote_id: None,
            posted_at: None,
            remote_deleted_at: None,
        })
        .collect();
    let focus = m.focus;
    m.list_mut(focus).threads.insert(p.id, parts);
    m.list_mut(focus).posts.iter_mut().for_each(|q| {
        if q.id == p.id {
            q.parts = 30;
        }
    });
    update(&mut m, key(KeyCode::Char('p')));
    let words = "30 parts costing $0.45 at X's prices (more than 25 parts)";
    assert_eq!(
        m.screen::<Confirm>(),
        Some(&Confirm::PublishNow(p.id, Some(words.to_string())))
    );
    let text = draw(&m, 120, 30).backend().to_string();
    assert!(text.contains("now? It is 30 parts costing $0.45"), "{text}");
    assert!(
        update(&mut m, key(KeyCode::Char('n'))).is_empty(),
        "n: nothing sent"
    );
    update(&mut m, key(KeyCode::Char('s')));
    let text = draw(&m, 120, 30).backend().to_string();
    assert!(text.contains(&format!("this is {words}:")), "{text}");
    // Into the queue: asked too, and only y sends the request.
    update(&mut m, key(KeyCode::Esc));
    assert!(update(&mut m, key(KeyCode::Char('a'))).is_empty());
    assert_eq!(
        m.screen::<Confirm>(),
        Some(&Confirm::Enqueue(p.id, words.to_string()))
    );
    assert_eq!(
        update(&mut m, key(KeyCode::Char('y'))),
        vec![Cmd::Enqueue(p.id)]
    );
}
