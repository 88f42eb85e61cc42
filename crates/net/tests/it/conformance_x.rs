//! X's adapter and the fake X pass the conformance suite every network must pass.
// Tests stop at the first surprise: unwrap and expect are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use chirp_conformance::{Fault, Held, HeldMedia, Subject};
use chirp_fake_x::{FakeConfig, FakeMetrics, FakeX, MediaState};
use chirp_net::x::XNetwork;
use chirp_net::{Network, Secret};

struct X {
    fake: FakeX,
    net: XNetwork,
    token: Secret,
    user: String,
}

async fn x() -> X {
    let cfg = FakeConfig {
        // Processing is checked at once (the suite has no time to wait out X's advice).
        media_check_after_secs: 0,
        ..FakeConfig::default()
    };
    let user = cfg.user_id.clone();
    let fake = FakeX::start(cfg, 0).await.unwrap();
    let (access, _) = fake.issue_tokens();
    X {
        net: XNetwork::new(&fake.base_url(), Duration::from_secs(5)),
        fake,
        token: Secret::new(access),
        user,
    }
}

impl Subject for X {
    fn network(&self) -> &dyn Network {
        &self.net
    }

    fn token(&self) -> &Secret {
        &self.token
    }

    fn account(&self) -> &str {
        &self.user
    }

    fn held(&self) -> Vec<Held> {
        self.fake
            .posts()
            .into_iter()
            .map(|p| Held {
                id: p.id,
                text: p.text,
                reply_to: p.reply_to,
                media_ids: p.media_ids,
                deleted: p.deleted,
            })
            .collect()
    }

    fn held_media(&self, id: &str) -> Option<HeldMedia> {
        self.fake
            .media()
            .into_iter()
            .find(|m| m.id == id)
            .map(|m| HeldMedia {
                alt_text: m.alt_text,
                ready: m.state == MediaState::Succeeded,
            })
    }

    fn arrange(&self, fault: Fault) -> bool {
        use chirp_fake_x::Fault as F;
        self.fake.inject([match fault {
            Fault::Unauthorized => F::Unauthorized,
            Fault::RateLimited { reset_in } => F::RateLimited { reset_in },
            Fault::ServerError => F::Status(503),
            Fault::LandedThenServerError => F::StatusAfterRecord(503),
            Fault::LandedThenNoAnswer => F::HangAfterRecord,
            Fault::OutOfCredits => F::OutOfCredits,
        }]);
        true
    }

    fn post_elsewhere(&self, text: &str) -> String {
        self.fake.seed_post(&self.user, text)
    }

    fn delete_elsewhere(&self, id: &str) {
        self.fake.delete_on_x(id);
    }

    fn set_likes(&self, id: &str, likes: u64) {
        self.fake.set_metrics(
            id,
            FakeMetrics {
                likes,
                ..FakeMetrics::default()
            },
        );
    }

    fn process_video_after(&self, checks: u32) {
        self.fake.configure(|c| c.media_processing_checks = checks);
    }

    fn refuses_duplicates(&self) -> bool {
        true
    }
}

chirp_conformance::suite!(x());
