//! Collections, their accounts and shares.

use async_trait::async_trait;
use castellan_core::activity::NewEvent;
use castellan_core::collection::{Collection, CollectionId, Grantee, ItemTarget, Reach, Share};
use castellan_core::ids::{AccountId, PersonId};
use castellan_core::model::ItemRole;
use castellan_core::ports::CollectionStore;
use castellan_core::{CoreError, CoreResult};

use super::tables::{ms, Tables};
use super::MemoryStore;

impl Tables {
    fn collection_unique(&self, c: &Collection) -> CoreResult<()> {
        let taken = self
            .collections
            .values()
            .any(|o| o.id != c.id && o.name.to_lowercase() == c.name.to_lowercase());
        if taken {
            return Err(CoreError::Conflict(format!(
                "a collection named `{}` already exists",
                c.name
            )));
        }
        Ok(())
    }

    fn set_collection_accounts(
        &mut self,
        c: CollectionId,
        accounts: &[AccountId],
    ) -> CoreResult<()> {
        if accounts.iter().any(|a| !self.accounts.contains_key(a)) {
            return Err(CoreError::NotFound { kind: "account" });
        }
        self.collection_accounts.retain(|(x, _)| *x != c);
        self.collection_accounts
            .extend(accounts.iter().map(|a| (c, *a)));
        Ok(())
    }

    /// `NotFound` with the kind of a missing grantee or target, as the foreign keys do.
    fn share_ends_exist(&self, g: Grantee, t: ItemTarget) -> CoreResult<()> {
        let grantee = match g {
            Grantee::Person(p) => self.people.contains_key(&p),
            Grantee::Team(t) => self.teams.contains_key(&t),
        };
        let target = match t {
            ItemTarget::Vault(v) => self.vaults.contains_key(&v),
            ItemTarget::Collection(c) => self.collections.contains_key(&c),
            ItemTarget::Account(a) => self.accounts.contains_key(&a),
        };
        if grantee && target {
            Ok(())
        } else {
            Err(CoreError::NotFound { kind: "share" })
        }
    }
}

fn stored(c: &Collection) -> Collection {
    let mut c = c.clone();
    c.created_at = ms(c.created_at);
    c.updated_at = ms(c.updated_at);
    c
}

/// Grantee and target kinds in the SQL store's order (`person` < `team`; `account` <
/// `collection` < `vault`), then ids.
fn kind_rank(g: &Grantee) -> (u8, String) {
    match g {
        Grantee::Person(p) => (0, p.to_string()),
        Grantee::Team(t) => (1, t.to_string()),
    }
}

fn target_rank(t: &ItemTarget) -> (&'static str, String) {
    (t.kind(), t.id_string())
}

impl MemoryStore {
    /// The shares `keep` keeps, in no order.
    fn shares_where(&self, keep: impl Fn(&Grantee, &ItemTarget) -> bool) -> CoreResult<Vec<Share>> {
        self.read(|t| {
            Ok(t.shares
                .iter()
                .filter(|((g, x), _)| keep(g, x))
                .map(|((g, x), (r, at))| Share {
                    grantee: *g,
                    target: *x,
                    role: *r,
                    updated_at: *at,
                })
                .collect())
        })
    }
}

#[async_trait]
impl CollectionStore for MemoryStore {
    async fn insert_collection(
        &self,
        c: &Collection,
        accounts: &[AccountId],
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            tx.t.collection_unique(c)?;
            tx.t.collections.insert(c.id, stored(c));
            tx.t.set_collection_accounts(c.id, accounts)?;
            tx.append(event);
            Ok(())
        })
    }

    async fn collection(&self, id: CollectionId) -> CoreResult<Option<Collection>> {
        self.read(|t| Ok(t.collections.get(&id).cloned()))
    }

    async fn collections(&self) -> CoreResult<Vec<Collection>> {
        self.read(|t| {
            let mut all: Vec<Collection> = t.collections.values().cloned().collect();
            all.sort_by_key(|a| (a.name.to_lowercase(), a.id));
            Ok(all)
        })
    }

    async fn collection_accounts(&self, id: CollectionId) -> CoreResult<Vec<AccountId>> {
        self.read(|t| {
            Ok(t.collection_accounts
                .iter()
                .filter(|(c, _)| *c == id)
                .map(|(_, a)| *a)
                .collect())
        })
    }

    async fn update_collection(
        &self,
        c: &Collection,
        accounts: Option<&[AccountId]>,
        event: &NewEvent,
    ) -> CoreResult<Collection> {
        self.write(|tx| {
            let current =
                tx.t.collections
                    .get(&c.id)
                    .cloned()
                    .ok_or(CoreError::NotFound { kind: "collection" })?;
            if current.version != c.version {
                return Err(CoreError::Stale { kind: "collection" });
            }
            tx.t.collection_unique(c)?;
            if let Some(a) = accounts {
                tx.t.set_collection_accounts(c.id, a)?;
            }
            let mut written = stored(c);
            written.created_at = current.created_at;
            written.version += 1;
            tx.t.collections.insert(c.id, written.clone());
            tx.append(event);
            Ok(written)
        })
    }

    async fn delete_collection(
        &self,
        id: CollectionId,
        version: Option<i64>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            let current =
                tx.t.collections
                    .get(&id)
                    .ok_or(CoreError::NotFound { kind: "collection" })?;
            if version.is_some_and(|v| v != current.version) {
                return Err(CoreError::Stale { kind: "collection" });
            }
            tx.t.collections.remove(&id);
            tx.t.collection_accounts.retain(|(c, _)| *c != id);
            tx.t.shares
                .retain(|(_, t), _| *t != ItemTarget::Collection(id));
            tx.append(event);
            Ok(())
        })
    }

    async fn set_share(
        &self,
        grantee: Grantee,
        target: ItemTarget,
        role: Option<ItemRole>,
        team_version: Option<i64>,
        event: &NewEvent,
    ) -> CoreResult<()> {
        self.write(|tx| {
            if let (Grantee::Team(team), Some(v)) = (grantee, team_version) {
                let t =
                    tx.t.teams
                        .get_mut(&team)
                        .ok_or(CoreError::NotFound { kind: "team" })?;
                if t.version != v {
                    return Err(CoreError::Stale { kind: "team" });
                }
                t.version += 1;
            }
            match role {
                None => {
                    tx.t.shares.remove(&(grantee, target));
                }
                Some(r) => {
                    tx.t.share_ends_exist(grantee, target)?;
                    tx.t.shares.insert((grantee, target), (r, ms(event.at)));
                }
            }
            tx.append(event);
            Ok(())
        })
    }

    async fn shares_of(&self, grantee: Grantee) -> CoreResult<Vec<Share>> {
        let mut out = self.shares_where(|g, _| *g == grantee)?;
        out.sort_by_key(|s| target_rank(&s.target));
        Ok(out)
    }

    async fn shares_on(&self, target: ItemTarget) -> CoreResult<Vec<Share>> {
        let mut out = self.shares_where(|_, x| *x == target)?;
        out.sort_by_key(|s| kind_rank(&s.grantee));
        Ok(out)
    }

    async fn reach(&self, person: PersonId) -> CoreResult<Reach> {
        self.read(|t| {
            let reaches = |g: &Grantee| match g {
                Grantee::Person(p) => *p == person,
                Grantee::Team(team) => t.team_members.contains(&(*team, person)),
            };
            let shares: Vec<(ItemTarget, ItemRole)> = t
                .shares
                .iter()
                .filter(|((g, _), _)| reaches(g))
                .map(|((_, x), (r, _))| (*x, *r))
                .collect();
            let mut collection_accounts: Vec<(CollectionId, AccountId)> = t
                .collection_accounts
                .iter()
                .filter(|(c, _)| shares.iter().any(|(x, _)| *x == ItemTarget::Collection(*c)))
                .copied()
                .collect();
            collection_accounts.sort();
            collection_accounts.dedup();
            Ok(Reach {
                shares,
                collection_accounts,
            })
        })
    }
}
