//! A small world for the scenarios: a lab directory with a generation, a relay, registered
//! users and their traffic, driven through the real libraries (`escrow`, `messenger`,
//! `auditor`) exactly as the three tools drive them, on a timeline the scenario chooses.
//!
//! Every operation takes its time explicitly (Unix seconds), so the demo can replay three past
//! days in a second and the attack catalogue is reproducible from a seed. Client states are
//! saved to `clients/<account>.json` (0600) by [`World::save_clients`], so the lab can be
//! continued by hand with `messenger --lab DIR …`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use escrow::authority::Approved;
use escrow::lab::{Lab, create_dir_all_private};
use escrow::procedure::setup::{SetUp, SetupOptions};
use escrow::transparency::proof::ProofBundle;
use escrow::warrant::{Warrant, WarrantDraft};
use escrow::{AuthorityShare, PublicParams, SetupRequest};
use messenger::procedure::{ClientFiles, ClientStore, Quiet, When};
use messenger::relay::Capture;
use messenger::{Client, Envelope, EscrowContext, Outcome, Relay};
use rand_chacha::ChaCha20Rng;
use time::OffsetDateTime;

/// Seconds in a day (the default epoch length).
pub const DAY: i64 = 86_400;

/// One message the world sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// Relay time, Unix seconds.
    pub time: i64,
    /// The text.
    pub text: String,
    /// The relay's row id.
    pub relay_id: i64,
    /// Whether it started a chain (and so carries an escrow block).
    pub starts_chain: bool,
    /// Bytes of its escrow block (0 inside a chain).
    pub escrow_bytes: usize,
}

/// The lab, its relay and its users.
pub struct World {
    /// The lab directory.
    pub lab: Lab,
    /// The generation's public parameters.
    pub params: PublicParams,
    /// The authorities' shares (the world plays every authority).
    pub shares: Vec<AuthorityShare>,
    /// The relay.
    pub relay: Relay,
    /// The users' clients, by account.
    pub clients: BTreeMap<String, Client>,
    /// The escrow context the clients share (a cache of prepared scopes).
    pub escrow: EscrowContext,
    /// Every message sent, in order.
    pub sent: Vec<Sent>,
    /// The world's randomness (seeded: the same seed gives the same keys and traffic).
    pub rng: ChaCha20Rng,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "World({}, {} users, {} sent, ***)",
            self.lab.root().display(),
            self.clients.len(),
            self.sent.len()
        )
    }
}

/// UTC midnight starting the day that contains `unix`.
pub fn midnight(unix: i64) -> i64 {
    unix - unix.rem_euclid(DAY)
}

/// `unix` as a UTC date-time.
pub fn at(unix: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix).context("time out of range")
}

impl World {
    /// Sets up a generation of `authorities` with threshold `k` in `dir` (which must be new
    /// or empty), created at `created` (Unix seconds), with a relay at `dir/relay.sqlite`.
    pub fn create(
        dir: &Path,
        authorities: &[&str],
        k: usize,
        created: i64,
        rng: ChaCha20Rng,
    ) -> Result<Self> {
        create_dir_all_private(dir)?;
        let relay = Relay::open(&Lab::new(dir).relay_path())?;
        Self::create_with_relay(dir, authorities, k, created, rng, relay)
    }

    /// Like [`World::create`], with the given relay (e.g. [`Relay::in_memory`] for large
    /// simulations, where a durable relay would measure the disk).
    pub fn create_with_relay(
        dir: &Path,
        authorities: &[&str],
        k: usize,
        created: i64,
        mut rng: ChaCha20Rng,
        relay: Relay,
    ) -> Result<Self> {
        let lab = Lab::new(dir);
        let names: Vec<String> = authorities.iter().map(|s| (*s).to_owned()).collect();
        // `escrow setup`'s procedure: a trusted dealer, the log, the lab's files.
        let options = SetupOptions::new(SetupRequest::new(names, k, at(created)?));
        let SetUp { params, shares, .. } =
            escrow::procedure::setup::setup(&lab, &options, &mut rng)?;
        Ok(Self {
            lab,
            escrow: EscrowContext::new(params.clone()),
            params,
            shares,
            relay,
            clients: BTreeMap::new(),
            sent: Vec::new(),
            rng,
        })
    }

    /// Registers `account` at the relay at time `t` (`messenger register`'s procedure).
    pub fn register(&mut self, account: &str, t: i64) -> Result<()> {
        messenger::procedure::register::register(
            &mut self.relay,
            &mut self.clients,
            account,
            t,
            &mut self.rng,
        )?;
        Ok(())
    }

    /// `from` sends `text` to `to` at time `t`, as `messenger send` does.
    pub fn send(&mut self, from: &str, to: &str, text: &str, t: i64) -> Result<Sent> {
        self.send_envelope(from, to, text, t).map(|(sent, _)| sent)
    }

    /// Records a message sent by other means (a non-compliant client, say).
    pub fn record(
        &mut self,
        from: &str,
        to: &str,
        text: &str,
        t: i64,
        env: &Envelope,
        relay_id: i64,
    ) -> Result<Sent> {
        let sent = Sent {
            from: from.to_owned(),
            to: to.to_owned(),
            time: t,
            text: text.to_owned(),
            relay_id,
            starts_chain: env.start.is_some(),
            escrow_bytes: env.escrow_bytes(),
        };
        self.sent.push(sent.clone());
        Ok(sent)
    }

    /// `account` reads its queue at time `t`, as `messenger read` does.
    pub fn read(&mut self, account: &str, t: i64) -> Result<Vec<(i64, Outcome)>> {
        let mut rng = self.rng.clone();
        let out = self.read_with(account, t, &mut rng);
        self.rng = rng;
        out
    }

    /// Like [`World::read`], with the reader's randomness (a modified client's, say).
    pub fn read_with<R: rand_core::RngCore + rand_core::CryptoRng>(
        &mut self,
        account: &str,
        t: i64,
        rng: &mut R,
    ) -> Result<Vec<(i64, Outcome)>> {
        // `messenger read`'s procedure, the states kept in memory.
        let inbox = messenger::procedure::read::read(
            &mut self.relay,
            &mut self.clients,
            &mut self.escrow,
            account,
            When::At(at(t)?),
            rng,
            &mut Quiet,
            |_| Ok::<(), anyhow::Error>(()),
        )?;
        Ok(inbox.outcomes)
    }

    /// Hands the relay an envelope made by other means (a modified client, an outsider: the
    /// relay does not authenticate who hands it an envelope) at time `t`; returns its id.
    pub fn push(&mut self, env: &Envelope, t: i64) -> Result<i64> {
        let tx = self.relay.transaction()?;
        let id = tx.enqueue(env, t)?;
        tx.commit()?;
        Ok(id)
    }

    /// The relay time of envelope `relay_id`.
    pub fn relay_time(&self, relay_id: i64) -> Result<i64> {
        Relay::time_of(&self.relay, relay_id)?
            .with_context(|| format!("no envelope #{relay_id} at the relay"))
    }

    /// Writes every client state to `clients/<account>.json` (mode 0600, plain), as
    /// `messenger` keeps them ([`ClientFiles`]).
    pub fn save_clients(&self) -> Result<()> {
        create_dir_all_private(&self.lab.clients_dir())?;
        let mut files = ClientFiles::new(Lab::new(self.lab.root()), None);
        for c in self.clients.values() {
            files.save(c)?;
        }
        Ok(())
    }

    /// A warrant of this generation for `targets` over `[start, end)`, expiring at
    /// `expires`, drawn from the world's randomness.
    pub fn warrant(
        &mut self,
        reference: &str,
        targets: &[&str],
        start: i64,
        end: i64,
        expires: i64,
    ) -> Result<Warrant> {
        let mut rng = self.rng.clone();
        let w = self.warrant_with(reference, targets, start, end, expires, &mut rng);
        self.rng = rng;
        w
    }

    /// Like [`World::warrant`], with the caller's randomness (for its nonce).
    pub fn warrant_with(
        &self,
        reference: &str,
        targets: &[&str],
        start: i64,
        end: i64,
        expires: i64,
        rng: &mut ChaCha20Rng,
    ) -> Result<Warrant> {
        Ok(Warrant::new(
            WarrantDraft {
                reference: reference.to_owned(),
                legal_type: "interception".to_owned(),
                issuing_authority: "lab court".to_owned(),
                jurisdiction: "escrow-lab".to_owned(),
                targets: targets.iter().map(|s| (*s).to_owned()).collect(),
                start: at(start)?,
                end: at(end)?,
                expires: at(expires)?,
                justification: "scenario".to_owned(),
                generation: self.params.generation(),
            },
            rng,
        )?)
    }

    /// Logs a warrant at time `t` (`auditor warrant submit`); returns the receipt.
    pub fn submit(&self, warrant: &Warrant, t: i64) -> Result<ProofBundle> {
        // `auditor warrant submit`'s procedure: the drafting checks, the targets registered
        // with this world's relay, then the log.
        Ok(auditor::procedure::submit(&self.lab, Some(&self.relay), warrant, at(t)?)?.receipt)
    }

    /// What a rogue auditor holding the log's key can do that the tools refuse: log a warrant
    /// without the drafting checks (`warrant-logged` appended directly) and return its receipt.
    /// The authorities' own checks are what must stop it then.
    pub fn submit_unchecked(&self, warrant: &Warrant, t: i64) -> Result<ProofBundle> {
        let params = self
            .lab
            .load_generations()?
            .get(warrant.generation)?
            .clone();
        let record = auditor::logged_record(warrant, &params, at(t)?)?;
        let config = self.lab.load_log_config()?;
        let mut store = self.lab.open_log(&config)?;
        let (index, _) = store.append(&record, &escrow::hazmat::log_operator_signer(&self.lab)?)?;
        Ok(ProofBundle::build(&store, index)?)
    }

    /// `authority` approves at time `t` (`escrow approve`).
    pub fn approve(
        &self,
        authority: &str,
        warrant: &Warrant,
        receipt: &ProofBundle,
        t: i64,
    ) -> Result<Approved> {
        Ok(escrow::authority::approve(
            &self.lab,
            authority,
            warrant,
            receipt,
            at(t)?,
        )?)
    }

    /// The provider's capture of `account` over `[from, to)` (`messenger intercept`).
    pub fn capture(&self, account: &str, from: i64, to: i64, t: i64) -> Result<Capture> {
        // `messenger intercept`'s procedure.
        let generations = self.lab.load_generations()?;
        Ok(messenger::procedure::intercept::intercept(
            &self.relay,
            &generations,
            account,
            (from, to),
            t,
        )?)
    }

    /// `authority` approves at time `t` and writes its approval to `out` (`escrow approve`:
    /// the lab's output rule, the file reserved before the release is logged).
    pub fn approve_to(
        &self,
        authority: &str,
        warrant: &Warrant,
        receipt: &ProofBundle,
        out: &Path,
        t: i64,
    ) -> Result<Approved> {
        Ok(escrow::procedure::approve::approve_to(
            &self.lab,
            None,
            authority,
            warrant,
            receipt,
            out,
            at(t)?,
        )?
        .approved)
    }

    /// Runs the auditor (`auditor execute`) with the given approvals.
    pub fn execute(
        &self,
        warrant: &Warrant,
        approvals: &[&Approved],
        capture: &Capture,
        t: i64,
    ) -> Result<auditor::execute::Report> {
        let files: Vec<(String, Vec<u8>)> = approvals
            .iter()
            .map(|a| (a.approval.authority.clone(), a.bytes.to_vec()))
            .collect();
        Ok(auditor::execute::execute(
            &self.lab,
            warrant,
            &files,
            capture,
            at(t)?,
        )?)
    }

    /// Like [`World::execute`], writing the report to `out` (`auditor execute --out`: the
    /// file reserved before the execution is logged).
    pub fn execute_to(
        &self,
        warrant: &Warrant,
        approvals: &[&Approved],
        capture: &Capture,
        t: i64,
        out: &Path,
    ) -> Result<auditor::execute::Report> {
        let files: Vec<(String, Vec<u8>)> = approvals
            .iter()
            .map(|a| (a.approval.authority.clone(), a.bytes.to_vec()))
            .collect();
        let reserved = auditor::procedure::reserve_report(Some(out))?;
        let (report, _) = auditor::procedure::execute_into(
            &self.lab,
            None,
            warrant,
            &files,
            capture,
            at(t)?,
            reserved,
        )?;
        Ok(report)
    }

    /// The share of `authority`.
    pub fn share(&self, authority: &str) -> Result<&AuthorityShare> {
        match self.shares.iter().find(|s| s.authority() == authority) {
            Some(s) => Ok(s),
            None => bail!("no authority '{authority}'"),
        }
    }

    /// The stored envelope of a message this world sent, as the relay holds it.
    pub fn envelope_at(&self, relay_id: i64) -> Result<Envelope> {
        let s = self
            .sent
            .iter()
            .find(|s| s.relay_id == relay_id)
            .with_context(|| format!("no message #{relay_id} in this world"))?;
        let cap = self.capture(&s.from, s.time, s.time + 1, s.time)?;
        let e = cap
            .envelopes
            .iter()
            .find(|e| e.relay_id == relay_id)
            .with_context(|| format!("message #{relay_id} is not at the relay"))?;
        Ok(Envelope::from_value(&e.envelope)?)
    }

    /// `authority` cosigns the log's newest checkpoint at time `t` (`escrow log cosign`).
    pub fn cosign(&self, authority: &str, t: i64) -> Result<escrow::authority::Cosigned> {
        Ok(escrow::authority::cosign(&self.lab, authority, at(t)?)?)
    }

    /// Like [`World::send`], and also returns the envelope (to measure it on the wire, say).
    pub fn send_envelope(
        &mut self,
        from: &str,
        to: &str,
        text: &str,
        t: i64,
    ) -> Result<(Sent, Envelope)> {
        // `messenger send`'s procedure, the states kept in memory.
        let d = messenger::procedure::send::send(
            &mut self.relay,
            &mut self.clients,
            &mut self.escrow,
            (from, to),
            text.as_bytes(),
            When::At(at(t)?),
            &mut self.rng,
            &mut Quiet,
        )?;
        let env = d.sent.envelope;
        let sent = self.record(from, to, text, t, &env, d.relay_id)?;
        Ok((sent, env))
    }
}
