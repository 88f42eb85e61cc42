//! Media, uploaded just before the part that carries them (networks forget uploads after a
//! while). An upload remembered and still valid when its part goes out is reused; uploading
//! publishes nothing, so an upload whose answer was lost is simply done again.

use std::time::Instant;

use chirp_core::SendError;
use chirp_net::{Secret, Upload};
use chirp_store::media::Attachment;
use chrono::Utc;

use crate::Event;
use crate::attempt::{Attempt, UPLOAD_PROCESSING, reconnect_for_media};
use crate::io::Io;
use crate::outcome::Outcome;

impl<I: Io> Attempt<'_, I> {
    /// The network's ids for the files of part `position`, uploading what it does not hold.
    pub(crate) async fn media_ids(
        &self,
        files: &[Attachment],
        position: i32,
        token: &mut Secret,
        label: &str,
    ) -> Result<Vec<String>, Outcome> {
        let p = self.p;
        let mut ids = Vec::new();
        for a in files.iter().filter(|a| a.position == position) {
            let fresh_enough = Utc::now() + chrono::Duration::minutes(10);
            if let (Some(id), Some(until)) = (&a.remote_media_id, a.remote_media_expires_at)
                && until > fresh_enough
            {
                ids.push(id.clone());
                continue;
            }
            let upload = Upload {
                media_type: &a.media_type,
                kind: a.kind,
                total_bytes: u64::try_from(a.size_bytes).unwrap_or(0),
                alt_text: a.alt_text.as_deref(),
            };
            let mut done = self.upload(token, upload, a).await?;
            if matches!(done, Err(SendError::Unauthorized(_))) {
                *token = self.refreshed(token).await?;
                done = self.upload(token, upload, a).await?;
            }
            // A token kept from before the account was connected again (granting media):
            // the stored one may have what this one lacks.
            if matches!(&done, Err(SendError::Refused(m)) if m.contains("media.write")) {
                self.io.forget_token(p.account);
                match self.io.token(p.account).await {
                    Ok(t) if t.expose() != token.expose() => {
                        *token = t;
                        done = self.upload(token, upload, a).await?;
                    }
                    Ok(_) => {}
                    Err(e) => return Err(self.auth_problem(e)),
                }
            }
            match done {
                Ok(u) => {
                    // Not remembered: the next attempt uploads again, which is harmless.
                    self.io
                        .remember_upload(p.id, a.position, a.ord, &u.id, u.expires_at)
                        .await;
                    self.io.emit(Event::MediaUploaded {
                        post: p.id,
                        part: usize::try_from(position).unwrap_or(0),
                        media: u.id.clone(),
                    });
                    ids.push(u.id);
                }
                // An upload that may or may not have reached the network made no post.
                Err(SendError::Unknown(m)) => {
                    return Err(self.after_error(&SendError::NotSent(m), label));
                }
                // X says the token cannot upload media (granted before chirp asked).
                Err(SendError::Refused(m)) if m.contains("media.write") => {
                    return Err(reconnect_for_media());
                }
                Err(e) => {
                    let e = match e {
                        SendError::Refused(m) => {
                            SendError::Refused(format!("uploading its media: {m}"))
                        }
                        other => other,
                    };
                    return Err(self.after_error(&e, label));
                }
            }
        }
        Ok(ids)
    }

    async fn upload(
        &self,
        token: &Secret,
        upload: Upload<'_>,
        a: &Attachment,
    ) -> Result<Result<chirp_net::Uploaded, SendError>, Outcome> {
        // Only while the post is ours; then as long as the upload's requests take. An upload
        // publishes nothing, so it may outlast the lease: the send after it may not
        // (`send_until`), and a publisher that lost the post never sends it. A large video on
        // a slow link would never finish within one lease.
        self.call_until()?;
        let requests = upload
            .total_bytes
            .div_ceil(chirp_store::media::CHUNK as u64)
            + 4;
        let deadline = Instant::now()
            + self.request_timeout * u32::try_from(requests).unwrap_or(u32::MAX)
            + UPLOAD_PROCESSING;
        let mut chunks = self.io.chunks(a.media_id);
        Ok(self
            .net
            .upload_media(token, upload, chunks.as_mut(), deadline)
            .await)
    }
}
