//! `messenger`: users' and the provider's tool. Thin: parse, open files, call the library,
//! print.

#![forbid(unsafe_code)]

mod cli;

use std::cell::RefCell;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use escrow::lab::{Lab, create_dir_all_private, read_limited, write_atomic};
use escrow::sealed::{KdfParams, Passphrase, SealKey};
use messenger::account::check_account;
use messenger::envelope::MAX_TEXT_LEN;
use messenger::{Client, EscrowContext, Outcome, Relay};
use rand_core::OsRng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use cli::{Cli, Command};

/// Fault injection for the crash tests: a process whose `ESCROW_LAB_FAULT` names this point
/// aborts there, as a SIGKILL would (the points sit in the windows between writing the
/// client state and committing the relay, which random kills rarely hit).
fn fault(point: &str) {
    if std::env::var_os("ESCROW_LAB_FAULT").is_some_and(|v| v == point) {
        std::process::abort();
    }
}

/// Largest client state file read.
const MAX_STATE_LEN: u64 = 200 << 20;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.chain().any(escrow::encoding::is_broken_pipe) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "messenger: {}",
                escrow::encoding::printable(&format!("{e:#}").replace('\n', " "))
            );
            ExitCode::FAILURE
        }
    }
}

fn parse_time(what: &'static str, s: Option<&str>) -> Result<OffsetDateTime> {
    Ok(escrow::identity::time_or_now(what, s)?)
}

fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// What a sealed client state holds (`content` of `escrow::sealed`).
const STATE_CONTENT: &str = "client-state";

struct Paths {
    lab: Lab,
    /// The passphrase given by the options (sealed states are opened and written with it).
    passphrase: Option<Passphrase>,
    /// The key of the sealed state loaded (each save reuses it with a fresh nonce).
    key: RefCell<Option<SealKey>>,
    /// The bytes of the state file this process last wrote.
    last_saved: RefCell<Option<zeroize::Zeroizing<Vec<u8>>>>,
}

impl Paths {
    fn client(&self, account: &str) -> PathBuf {
        self.lab
            .root()
            .join("clients")
            .join(format!("{account}.json"))
    }

    fn relay(&self) -> PathBuf {
        self.lab.root().join("relay.sqlite")
    }

    fn open_relay(&self) -> Result<Relay> {
        let path = self.relay();
        if !path.exists() {
            bail!(
                "{}: no relay yet; register an account first",
                path.display()
            );
        }
        Relay::open(&path).with_context(|| path.display().to_string())
    }

    fn load_client(&self, account: &str, role: &str) -> Result<Client> {
        check_account(account)?;
        let path = self.client(account);
        if !path.exists() {
            bail!(
                "{role} '{account}' is not registered here ({} missing)",
                path.display()
            );
        }
        let mut bytes = zeroize::Zeroizing::new(read_limited(&path, MAX_STATE_LEN)?);
        if escrow::sealed::is_sealed(&bytes) {
            // The key of a state this process opened before opens the next version of it.
            let cached = self
                .key
                .borrow()
                .as_ref()
                .and_then(|k| k.open(STATE_CONTENT, &bytes).ok());
            bytes = match cached {
                Some(plain) => plain,
                None => {
                    let Some(passphrase) = &self.passphrase else {
                        return Err(escrow::Error::PassphraseRequired { path }.into());
                    };
                    let (plain, key) = escrow::sealed::open(passphrase, STATE_CONTENT, &bytes)
                        .with_context(|| path.display().to_string())?;
                    *self.key.borrow_mut() = Some(key);
                    plain
                }
            };
        }
        let client = Client::from_json(&bytes).with_context(|| path.display().to_string())?;
        if client.account() != account {
            bail!(
                "{}: holds the state of '{}', not '{account}'",
                path.display(),
                client.account()
            );
        }
        Ok(client)
    }

    /// Writes a client state: sealed under the key of the state loaded, or under a new key
    /// from the options' passphrase, or plain when there is neither.
    fn save_client(&self, client: &Client) -> Result<()> {
        let path = self.client(client.account());
        let plain = client.to_json()?;
        let mut key = self.key.borrow_mut();
        if key.is_none() {
            if let Some(p) = &self.passphrase {
                *key = Some(SealKey::new(p, KdfParams::DEFAULT, &mut OsRng)?);
            }
        }
        let bytes = match key.as_ref() {
            Some(k) => zeroize::Zeroizing::new(k.seal(STATE_CONTENT, &plain)?),
            None => plain,
        };
        write_atomic(&path, &bytes, 0o600)?;
        *self.last_saved.borrow_mut() = Some(bytes);
        Ok(())
    }

    fn escrow(&self) -> Result<EscrowContext> {
        Ok(EscrowContext::with_generations(
            self.lab.load_generations()?,
        ))
    }
}

fn run(cli: Cli) -> Result<()> {
    // The account whose state the command reads: asked for before any relay lock is taken,
    // so that a prompt never holds up other users.
    let account = match &cli.command {
        Command::Register { account, .. } | Command::Read { account, .. } => Some(account),
        Command::Send { from, .. } => Some(from),
        Command::Intercept { .. } => None,
    };
    let state = account.map(|a| cli.lab.join("clients").join(format!("{a}.json")));
    let sealed = state
        .as_ref()
        .and_then(|p| read_limited(p, MAX_STATE_LEN).ok())
        .is_some_and(|b| escrow::sealed::is_sealed(&b));
    let prompt = cli.passphrase_prompt || (sealed && std::io::stdin().is_terminal());
    let passphrase = match (&cli.passphrase_env, prompt) {
        (Some(var), _) => Some(escrow::sealed::passphrase_from_env(var)?),
        (None, true) if account.is_some() => {
            if !std::io::stdin().is_terminal() {
                bail!("--passphrase-prompt needs a terminal; use --passphrase-env VAR");
            }
            let first =
                zeroize::Zeroizing::new(rpassword::prompt_password("Client-state passphrase: ")?);
            // A passphrase that will seal a state for the first time is typed twice.
            if !sealed {
                let again = zeroize::Zeroizing::new(rpassword::prompt_password("Again: ")?);
                if *first != *again {
                    bail!("the two passphrases differ");
                }
            }
            Some(Passphrase::new(first.to_string())?)
        }
        _ => None,
    };
    let paths = Paths {
        lab: Lab::new(&cli.lab),
        passphrase,
        key: RefCell::new(None),
        last_saved: RefCell::new(None),
    };
    match cli.command {
        Command::Register { account, at } => register(&paths, &account, at.as_deref()),
        Command::Send { from, to, at, text } => send(&paths, &from, &to, at.as_deref(), &text),
        Command::Read { account, at, json } => read(&paths, &account, at.as_deref(), json),
        Command::Intercept {
            account,
            from,
            to,
            out,
            at,
        } => intercept(&paths, &account, &from, &to, out.as_deref(), at.as_deref()),
    }
}

fn register(paths: &Paths, account: &str, at: Option<&str>) -> Result<()> {
    check_account(account)?;
    let now = parse_time("--at", at)?;
    let state = paths.client(account);
    if state.exists() {
        bail!(
            "account '{account}' already has a client state at {}",
            state.display()
        );
    }
    if !paths.lab.root().is_dir() {
        bail!(
            "{}: no lab directory; run 'escrow setup' first",
            paths.lab.root().display()
        );
    }
    let mut relay =
        Relay::open(&paths.relay()).with_context(|| paths.relay().display().to_string())?;
    if relay.is_registered(account)? {
        bail!("account '{account}' is already registered at the relay");
    }
    let (client, reg) = Client::register(account, &mut OsRng)?;
    let tx = relay.transaction()?;
    Relay::register(&tx, &reg, now.unix_timestamp())?;
    create_dir_all_private(&paths.lab.root().join("clients"))?;
    paths.save_client(&client)?;
    if let Err(e) = tx.commit() {
        // Not at the relay, so no state either: the command can simply be run again.
        let _ = std::fs::remove_file(&state);
        return Err(e.into());
    }
    println!(
        "Registered '{account}': identity key {}…, {} one-time prekeys published.",
        &messenger::keys::public_hex(&reg.bundle.identity.sign)[..16],
        reg.one_time_prekeys.len()
    );
    println!(
        "Private state: {} (mode 0600)",
        escrow::encoding::printable(&state.display().to_string())
    );
    Ok(())
}

fn read_text(text: &str) -> Result<Vec<u8>> {
    if text != "-" {
        return Ok(text.as_bytes().to_vec());
    }
    let mut buf = Vec::new();
    std::io::stdin()
        .take(MAX_TEXT_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .context("reading the text from standard input")?;
    if buf.len() > MAX_TEXT_LEN {
        bail!("message text too large (at most {MAX_TEXT_LEN} bytes)");
    }
    String::from_utf8(buf)
        .context("the text is not UTF-8")
        .map(String::into_bytes)
}

fn send(paths: &Paths, from: &str, to: &str, at: Option<&str>, text: &str) -> Result<()> {
    check_account(from)?;
    check_account(to)?;
    let now = parse_time("--at", at)?;
    let text = read_text(text)?;
    let mut escrow = paths.escrow()?;
    // Everything that could refuse the message is checked before a prekey is taken.
    if from == to {
        bail!("cannot send to yourself");
    }
    if text.len() > MAX_TEXT_LEN {
        bail!("message text too large (at most {MAX_TEXT_LEN} bytes)");
    }
    escrow
        .generations()
        .require_for_epoch(escrow.epoch_at(now.unix_timestamp())?)?;
    let mut relay = paths.open_relay()?;
    // A first message takes one of the recipient's one-time prekeys: that is committed on its
    // own first, so that no later rollback can hand the same prekey to another sender (a crash
    // after this only wastes the prekey). So does a message whose position the relay already
    // holds (a state restored from a backup): it goes on a new session.
    let bundle = {
        let tx = relay.transaction()?;
        let client = paths.load_client(from, "sender")?;
        if !Relay::registered_in(&tx, from)? {
            bail!("sender '{from}' is not registered at the relay");
        }
        let new_session = Relay::registered_in(&tx, to)?
            && match client.next_position(to, now.unix_timestamp(), &escrow)? {
                Some((chain, n)) => Relay::position_taken(&tx, from, to, &chain, n)?,
                None => !client.has_session(to),
            };
        if new_session {
            let b = Relay::take_bundle(&tx, to)?;
            // A bundle that fails its signatures is refused before the prekey is spent.
            b.verify()?;
            tx.commit()?;
            Some(b)
        } else {
            None
        }
    };
    // The relay's write lock is held from before the client state is read until after it is
    // written: concurrent commands of one client are serialized (no message key reused).
    let tx = relay.transaction()?;
    let mut client = paths.load_client(from, "sender")?;
    resend_pending(&tx, &mut client)?;
    if !Relay::registered_in(&tx, from)? {
        bail!("sender '{from}' is not registered at the relay");
    }
    if !Relay::registered_in(&tx, to)? {
        bail!("unknown recipient '{to}'");
    }
    // Before encrypting, the relay is asked whether it holds the position the state fixes the
    // key and nonce of; if so the message goes on a new session (`Client::send_checked`).
    let sent = client.send_checked(
        to,
        &text,
        now.unix_timestamp(),
        &mut escrow,
        // Never a prekey taken inside this transaction (a crash could roll its use back).
        &mut |acct| {
            bundle.clone().ok_or_else(|| {
                messenger::Error::Misaddressed(if acct == to {
                    "the recipient registered, or this client's state changed, while this send ran; send again"
                } else {
                    "no prekey bundle for this recipient"
                })
            })
        },
        &mut |chain, n| Relay::position_taken(&tx, from, to, chain, n),
        &mut OsRng,
    )?;
    let env = sent.envelope;
    // The state (its position spent, the envelope in the outbox) is saved before the envelope
    // is handed to the relay: whatever the relay does with it — store it, refuse it, fail —
    // the next message never gets this one's key and nonce, and a crash or a refusal loses
    // nothing (the next command sends these same bytes again: `resend_pending`).
    client.push_outbox(&env, now.unix_timestamp())?;
    paths.save_client(&client)?;
    fault("send-saved");
    let id = Relay::enqueue(&tx, &env, now.unix_timestamp()).map_err(|e| {
        anyhow::anyhow!(
            "the relay refused the message ({e}); it stays in {from}'s outbox and is sent again \
             by the next command"
        )
    })?;
    tx.commit()?;
    let chain = if env.start.is_some() {
        format!(
            "new chain with escrow block ({} bytes: wraps to {from} and {to}, epoch {})",
            env.escrow_bytes(),
            env.start
                .as_ref()
                .and_then(|s| s.escrow.as_ref())
                .map_or(0, |b| b.epoch)
        )
    } else {
        format!("message {} of its chain", env.n)
    };
    if let Some((old, n)) = sent.position_taken {
        eprintln!(
            "messenger: state rolled back: message {n} of chain {}… to {to} was already sent \
             (the relay holds it: a client state restored from a backup, or an envelope posted \
             under your name); abandoned that chain and started a new session",
            &messenger::keys::public_hex(&old)[..16]
        );
    }
    if sent.no_one_time_prekey {
        eprintln!(
            "messenger: warning: the relay gave no one-time prekey for {to}: this session has no \
             DH4 (weaker against a later key compromise)"
        );
    }
    println!(
        "Sent #{id} {from} → {to} at {}: {chain}.",
        rfc3339(now.unix_timestamp())
    );
    Ok(())
}

/// Makes sure the relay holds every envelope of the client's outbox: a `send` killed after
/// saving its state and before the relay committed lost them, and these same bytes are sent
/// now (with their original relay time).
fn resend_pending(tx: &rusqlite::Transaction<'_>, client: &mut Client) -> Result<()> {
    for (env, time) in client.take_outbox()? {
        if !Relay::holds_exactly(tx, &env)? {
            match Relay::enqueue(tx, &env, time) {
                Ok(_) => {}
                // Another envelope holds its position: these bytes can never be delivered
                // (the recipient takes one message per position). Dropped, and said.
                Err(messenger::Error::PositionTaken { to, chain, n, .. }) => {
                    eprintln!(
                        "messenger: the relay holds another envelope at message {n} of chain \
                         {}… to {to}: an unsent message of the outbox was dropped",
                        &messenger::keys::public_hex(&chain)[..16]
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            // Kept until a later command sees this transaction committed.
            client.push_outbox(&env, time)?;
        }
    }
    Ok(())
}

fn read(paths: &Paths, account: &str, at: Option<&str>, json: bool) -> Result<()> {
    check_account(account)?;
    let now = parse_time("--at", at)?;
    let mut escrow = paths.escrow()?;
    let mut relay = paths.open_relay()?;
    let tx = relay.transaction()?;
    let mut client = paths.load_client(account, "account")?;
    resend_pending(&tx, &mut client)?;
    let batch = Relay::queued(&tx, account)?;
    let times: std::collections::BTreeMap<i64, i64> =
        batch.iter().map(|i| (i.relay_id, i.server_time)).collect();
    // Envelopes a failed or killed `read` decrypted (keys consumed, state saved) but the relay
    // never marked: answered from the inbox saved with the state, not decrypted again — only
    // for the very envelope (same id, same stored bytes) still queued or held for this account.
    let mut outcomes: Vec<(i64, Outcome)> = Vec::new();
    let mut answered_bodies: Vec<(i64, String)> = Vec::new();
    for r in client.take_inbox() {
        let Some((status, recipient, body)) = Relay::status(&tx, r.relay_id)? else {
            continue;
        };
        if (status == "queued" || status == "held")
            && recipient == account
            && messenger::client::Received::digest_of(&body) == r.digest
        {
            let text = r.text()?;
            // Kept in the inbox again (with its bytes) until a read commits.
            answered_bodies.push((r.relay_id, body));
            outcomes.push((r.relay_id, Outcome::Delivered { from: r.from, text }));
        }
    }
    let answered: std::collections::BTreeSet<i64> = outcomes.iter().map(|(id, _)| *id).collect();
    client.forget_held(&answered);
    let bodies: std::collections::BTreeMap<i64, String> = batch
        .iter()
        .map(|i| (i.relay_id, i.body.clone()))
        .chain(client.held_bodies())
        .chain(answered_bodies)
        .collect();
    let batch: Vec<_> = batch
        .into_iter()
        .filter(|i| !answered.contains(&i.relay_id))
        .collect();
    outcomes.extend(client.receive(
        batch,
        now.unix_timestamp(),
        &mut escrow,
        &mut |acct| Relay::identity(&tx, acct),
        &mut OsRng,
    ));
    for (id, o) in &outcomes {
        Relay::mark(&tx, *id, o)?;
        if let (Outcome::Delivered { from, text }, Some(body)) = (o, bodies.get(id)) {
            client.push_inbox(*id, body, from, text);
        }
    }
    paths.save_client(&client)?;
    // Shown before the relay commits: a `read` killed in between shows these again (from the
    // inbox, same relay ids), one killed before showing them loses nothing — at-least-once.
    let mut out: Vec<u8> = Vec::new();
    let time_of = |id: &i64| {
        times
            .get(id)
            .map_or_else(|| "earlier".to_owned(), |t| rfc3339(*t))
    };
    if json {
        let mut messages = Vec::new();
        let mut held = Vec::new();
        let mut rejected = Vec::new();
        for (id, o) in &outcomes {
            match o {
                Outcome::Delivered { from, text } => messages.push(serde_json::json!({
                    "relay_id": id, "from": from, "to": account, "sent_at": time_of(id), "text": text,
                })),
                Outcome::Held => held.push(serde_json::json!({"relay_id": id})),
                Outcome::Rejected { from, reason } => rejected.push(serde_json::json!({
                    "relay_id": id, "from": from, "reason": reason,
                })),
            }
        }
        let doc = serde_json::json!({
            "version": 1, "account": account,
            "messages": messages, "held": held, "rejected": rejected,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else if outcomes.is_empty() {
        writeln!(out, "No new messages for {account}.")?;
    }
    for (id, o) in outcomes.iter().filter(|_| !json) {
        match o {
            Outcome::Delivered { from, text } => writeln!(
                out,
                "{}  {from} → {account}: {}",
                time_of(id),
                escrow::encoding::printable(text)
            )?,
            Outcome::Held => writeln!(
                out,
                "held #{id}: waiting for the first message of its chain (kept for later)"
            )?,
            Outcome::Rejected { from, reason } => writeln!(
                out,
                "REJECTED #{id} from {}: {} (kept for inspection)",
                from.as_deref().unwrap_or("?"),
                escrow::encoding::printable(reason)
            )?,
        }
    }
    fault("read-saved");
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    fault("read-shown");
    tx.commit()?;
    // The inbox kept the plaintexts for a crash before the commit; now the state is saved
    // once more without them — under the relay's lock again, and only if no other command of
    // this client has written the state since.
    let saved = paths.last_saved.borrow().clone();
    let tx = relay.transaction()?;
    let now_on_disk = read_limited(&paths.client(account), MAX_STATE_LEN).ok();
    if saved.is_some() && now_on_disk.as_deref() == saved.as_deref().map(|v| v.as_slice()) {
        client.take_inbox();
        // The messages are shown and committed: a failure here only leaves the inbox on disk
        // until the next read (which drops it), so it is a warning, not a failure.
        if let Err(e) = paths.save_client(&client) {
            eprintln!(
                "messenger: warning: the inbox stays in the client state until the next read: {e:#}"
            );
        }
    }
    tx.commit()?;
    Ok(())
}

fn intercept(
    paths: &Paths,
    account: &str,
    from: &str,
    to: &str,
    out: Option<&Path>,
    at: Option<&str>,
) -> Result<()> {
    check_account(account)?;
    let from = parse_time("--from", Some(from))?;
    let to = parse_time("--to", Some(to))?;
    let now = parse_time("--at", at)?;
    if to < from {
        bail!("--to is before --from");
    }
    if let Some(out) = out.filter(|o| o.exists()) {
        bail!("{}: already exists; choose a new file", out.display());
    }
    let generations = paths.lab.load_generations()?;
    let relay = paths.open_relay()?;
    if !relay.is_registered(account)? {
        bail!("unknown account '{account}'");
    }
    let capture = relay.capture(&messenger::relay::CaptureRequest::new(
        &generations,
        account,
        from.unix_timestamp(),
        to.unix_timestamp(),
        now.unix_timestamp(),
    ))?;
    let mut json = serde_json::to_vec_pretty(&capture)?;
    json.push(b'\n');
    match out {
        Some(path) if path != Path::new("-") => {
            write_atomic(path, &json, 0o600)?;
            eprintln!(
                "Captured {} envelopes and {} earlier chain starts of '{account}' into {}.",
                capture.envelopes.len(),
                capture.chain_starts.len(),
                escrow::encoding::printable(&path.display().to_string())
            );
        }
        _ => std::io::stdout().lock().write_all(&json)?,
    }
    Ok(())
}
