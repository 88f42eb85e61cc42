//! Users and X accounts.

use deadpool_postgres::GenericClient;

use super::DbError;

/// Serialises creation of the local placeholder across processes.
const DEFAULT_ACCOUNT_LOCK: i64 = 0x6368_6972_7002;

/// The account posts are written for: the first active one, else the first one, else a new
/// local placeholder (user "local", inactive until connected) so that drafts and scheduling
/// work before any X login.
pub async fn default_account(client: &mut deadpool_postgres::Object) -> Result<i32, DbError> {
    if let Some(id) = find_default(&*client).await? {
        return Ok(id);
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&DEFAULT_ACCOUNT_LOCK])
        .await?;
    if let Some(id) = find_default(&tx).await? {
        return Ok(id);
    }
    let user: i32 = tx
        .query_one(
            "INSERT INTO users (name) VALUES ('local') RETURNING id",
            &[],
        )
        .await?
        .get(0);
    let account: i32 = tx
        .query_one(
            "INSERT INTO x_accounts (user_id, access_token, x_user_id, x_username, is_active)
             VALUES ($1, '', '', '', false) RETURNING id",
            &[&user],
        )
        .await?
        .get(0);
    tx.commit().await?;
    Ok(account)
}

async fn find_default(client: &impl GenericClient) -> Result<Option<i32>, DbError> {
    Ok(client
        .query_opt(
            "SELECT id FROM x_accounts ORDER BY is_active DESC, id LIMIT 1",
            &[],
        )
        .await?
        .map(|r| r.get(0)))
}
