//! Read-only listings of the registrar's state for the web admin: every current binding
//! with the extension it belongs to ([`Registrar::bindings`]).
//!
//! Reads the in-memory directory and location service only (no SQL), under their read
//! locks, one after the other (never both at once, never across an await).

use std::time::SystemTime;

use std::sync::PoisonError;

use super::{Binding, Registrar};

/// One registered contact of an extension.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The extension (user name of our realm).
    pub extension: String,
    /// The binding (AOR, contact, expiry, transport, source, user agent...).
    pub binding: Binding,
}

impl Registrar {
    /// The unexpired bindings at `now` of every user of the directory, by extension then
    /// by contact.
    pub fn bindings(&self, now: SystemTime) -> Vec<Registration> {
        let mut users: Vec<String> = self
            .users
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        users.sort_unstable();
        let aors: Vec<(String, String)> = users
            .into_iter()
            .map(|u| {
                let aor = self.aor_for(&u);
                (u, aor)
            })
            .collect();
        let location = self.location.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for (extension, aor) in aors {
            let mut list: Vec<&Binding> = location
                .get(&aor)
                .iter()
                .filter(|b| b.expires_at > now)
                .collect();
            list.sort_by_key(|b| b.key());
            out.extend(list.into_iter().map(|b| Registration {
                extension: extension.clone(),
                binding: b.clone(),
            }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::super::{seed_users, ConfiguredUser, RegistrarSettings};
    use super::*;
    use crate::db::Db;
    use crate::runtime::Lifecycle;
    use crate::sip::message::{Transport, Uri};

    const DOMAIN: &str = "switchboard.test";

    async fn registrar(dir: &tempfile::TempDir) -> anyhow::Result<Registrar> {
        let db = Db::open(&dir.path().join("registrar.sqlite")).await?;
        let users = ["1001", "1002"].map(|u| ConfiguredUser {
            username: u,
            password: "pw-secret",
            display_name: None,
            loopback_only: false,
        });
        seed_users(&db, DOMAIN, &users).await?;
        let settings = RegistrarSettings::new(DOMAIN);
        Ok(Registrar::new(db, settings, &Lifecycle::new()).await?)
    }

    fn binding(aor: &str, contact: &str, expires_at: SystemTime) -> Binding {
        Binding {
            aor: aor.to_owned(),
            contact: Uri::parse(contact).expect("contact"),
            expires_at,
            q: None,
            call_id: "c1".into(),
            cseq: 1,
            transport: Transport::Tcp,
            source: SocketAddr::from(([192, 0, 2, 7], 5062)),
            local: SocketAddr::from(([127, 0, 0, 1], 15060)),
            flow: None,
            instance: None,
            reg_id: None,
            user_agent: Some("phone/1.0".into()),
            path: Vec::new(),
        }
    }

    #[tokio::test]
    async fn bindings_lists_current_contacts_of_known_users() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let r = &registrar(&dir).await?;
        let now = SystemTime::now();
        let later = now + Duration::from_secs(600);
        let aor = r.aor_for("1001");
        r.install(
            &aor,
            vec![
                binding(&aor, "sip:1001@192.0.2.7:5062;transport=tcp", later),
                binding(
                    &aor,
                    "sip:1001@192.0.2.9:5060",
                    now - Duration::from_secs(1),
                ),
                binding(&aor, "sip:1001@192.0.2.8:5060", later),
            ],
        );
        let aor2 = r.aor_for("1002");
        r.install(&aor2, vec![binding(&aor2, "sip:1002@192.0.2.5", later)]);
        // An AOR of no user of the directory is not listed.
        r.install(
            "sip:9999@elsewhere",
            vec![binding("sip:9999@elsewhere", "sip:x@192.0.2.1", later)],
        );
        let listed = r.bindings(now);
        let got: Vec<(&str, String)> = listed
            .iter()
            .map(|x| (x.extension.as_str(), x.binding.contact.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1001", "sip:1001@192.0.2.7:5062;transport=tcp".to_owned()),
                ("1001", "sip:1001@192.0.2.8:5060".to_owned()),
                ("1002", "sip:1002@192.0.2.5".to_owned()),
            ]
        );
        assert_eq!(listed[0].binding.user_agent.as_deref(), Some("phone/1.0"));
        assert_eq!(listed[0].binding.transport, Transport::Tcp);
        Ok(())
    }
}
