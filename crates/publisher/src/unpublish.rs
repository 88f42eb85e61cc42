//! Unpublishing: every part of a post deleted on the network, last part first (so a thread
//! never shows a reply without what it replies to), each deletion stored as it happens. Safe
//! to repeat after a crash: a part already gone counts as deleted.

use std::time::{Duration, Instant};

use chirp_core::{Post, PostId, SendError};
use chirp_credentials::{AuthError, Credentials};
use chirp_net::{Networks, Unavailable};
use chirp_store::posts::{self, Actor};
use chirp_store::{Db, DbError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum UnpublishError {
    #[error(transparent)]
    Db(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("post {0} is not on its network: nothing to unpublish")]
    NotOnX(PostId),
    #[error(
        "part {part}/{of} of post {id} was not deleted on {network} ({why}); the parts after it are deleted: run it again to finish"
    )]
    Part {
        id: PostId,
        network: chirp_core::Network,
        part: i32,
        of: usize,
        why: String,
    },
}

impl chirp_core::HasKind for UnpublishError {
    fn kind(&self) -> chirp_core::Kind {
        match self {
            UnpublishError::Db(e) => e.kind(),
            UnpublishError::Auth(e) => e.kind(),
            UnpublishError::Unavailable(e) => e.kind(),
            UnpublishError::NotOnX(_) => chirp_core::Kind::Conflict,
            UnpublishError::Part { .. } => chirp_core::Kind::Network,
        }
    }
}

/// Deletes every part of post `id` on the network, each request bounded by `timeout`.
pub async fn unpublish(
    db: &Db,
    networks: &Networks,
    credentials: &Credentials,
    id: PostId,
    actor: Actor<'_>,
    timeout: Duration,
) -> Result<Post, UnpublishError> {
    let mut c = db.client().await?;
    let post = posts::get(&c, id).await?;
    let targets = posts::unpublish_targets(&c, &post).await?;
    if targets.is_empty() && post.unpublished_at.is_none() && post.parts_sent == 0 {
        return Err(UnpublishError::NotOnX(id));
    }
    let kind = chirp_store::accounts::network_of(&c, post.x_account_id)
        .await?
        .ok_or_else(|| {
            StoreError::from(DbError::Unexpected(format!("post {id} has no account")))
        })?;
    let network = networks.get(kind)?;
    let of = usize::try_from(post.parts).unwrap_or(1);
    let mut token = credentials.token(db, post.x_account_id).await?;
    for (part, x_id) in targets {
        let mut gone = network
            .delete(&token, &x_id, Instant::now() + timeout)
            .await;
        if matches!(gone, Err(SendError::Unauthorized(_))) {
            token = credentials
                .token_after_401(db, post.x_account_id, &token)
                .await?;
            gone = network
                .delete(&token, &x_id, Instant::now() + timeout)
                .await;
        }
        if let Err(e) = gone {
            return Err(UnpublishError::Part {
                id,
                network: kind,
                part,
                of,
                why: e.to_string(),
            });
        }
        posts::mark_part_deleted(&mut c, actor, id, part, of).await?;
    }
    Ok(posts::finish_unpublish(&mut c, actor, id).await?)
}
