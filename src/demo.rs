//! `escrow-lab demo`: the whole story in one command, with real operations.
//!
//! Five authorities hold a 3-of-5 generation; alice, bob and carol exchange messages over the
//! three days before today through the real messenger (X3DH, double ratchet, an escrow block
//! on every chain, checked by every recipient); a warrant for alice and the middle day is
//! logged; two authorities approve and the auditor can open nothing; a third approves and
//! exactly the warrant's messages open, every other one stays sealed; a public monitor
//! verifies the log and prints its statistics. Every file the tools would write is written
//! into the lab, so each step can be repeated by hand with `escrow`, `messenger` and `auditor`
//! (the commands are printed at the end).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use escrow::encoding::printable;
use escrow::lab::write_atomic;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::narrate::Narrator;
use crate::world::{DAY, World, at, midnight};

/// The five authorities of the demo, in index order.
pub const AUTHORITIES: [&str; 5] = ["court", "ministry", "oversight", "provider", "ombudsman"];
const USERS: [&str; 3] = ["alice", "bob", "carol"];

/// How to run the demo.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// One message per pair of users and day instead of three.
    pub fast: bool,
    /// ANSI colour in the output.
    pub colour: bool,
}

/// What the demo established (tests assert on it; `demo --json` prints it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DemoOutcome {
    /// The lab directory used.
    pub lab: PathBuf,
    /// Messages sent, and how many of them every recipient accepted.
    pub sent: usize,
    /// Messages the recipients accepted (escrow blocks checked).
    pub delivered: usize,
    /// With two approvals the auditor was refused and opened nothing.
    pub two_approvals_refused: bool,
    /// With three, exactly the warrant's messages (alice, the middle day) were decrypted.
    pub exactly_scope_opened: bool,
    /// Messages decrypted.
    pub decrypted: usize,
    /// Messages of alice outside the warrant, reported sealed.
    pub sealed: usize,
    /// The public monitor verified the whole log.
    pub log_verified: bool,
    /// Entries in the log at the end.
    pub log_size: u64,
}

impl DemoOutcome {
    /// Whether every claim held.
    pub fn all_held(&self) -> bool {
        self.delivered == self.sent
            && self.two_approvals_refused
            && self.exactly_scope_opened
            && self.log_verified
    }
}

/// Chooses the lab directory: `requested` if it does not exist or is empty, else a fresh
/// `lab-demo-<UTC time>[-N]` in the current folder. Never reuses a non-empty folder.
pub fn prepare_lab(requested: Option<&Path>, now: OffsetDateTime) -> Result<PathBuf> {
    crate::labdir::fresh_dir(requested, "lab-demo", now)
}

/// The conversations of one day: (from, to, text), three per pair of users: a message, a
/// second one in the same chain, and the reply (which starts a new chain). With `--fast`,
/// only the first message of each pair.
fn script(day: usize, fast: bool) -> Vec<(&'static str, &'static str, &'static str)> {
    const DAYS: [[[&str; 3]; 3]; 3] = [
        [
            ["Lunch on Friday?", "Or Saturday?", "Friday, 12:30."],
            [
                "Did the report go out?",
                "The client asked.",
                "Sent it this morning.",
            ],
            [
                "Happy birthday, alice!",
                "Cake tonight?",
                "Thank you, carol! Yes!",
            ],
        ],
        [
            [
                "The meeting moved to 3 pm.",
                "Room 4B.",
                "Noted, see you at 3.",
            ],
            [
                "Can you review my draft?",
                "It is short.",
                "Tonight, promised.",
            ],
            [
                "Are we still on for tonight?",
                "I can bring wine.",
                "Yes, 8 pm at mine.",
            ],
        ],
        [
            [
                "I left my umbrella at yours.",
                "The blue one.",
                "I'll bring it Friday.",
            ],
            [
                "Draft looks good.",
                "Two comments inline.",
                "Fixed both, thanks.",
            ],
            [
                "Thanks for a lovely evening.",
                "Same again soon?",
                "Come again soon!",
            ],
        ],
    ];
    let pairs = [("alice", "bob"), ("bob", "carol"), ("carol", "alice")];
    let mut out = Vec::new();
    for (p, (x, y)) in pairs.into_iter().enumerate() {
        let t = DAYS[day % 3][p];
        out.push((x, y, t[0]));
        if !fast {
            out.push((x, y, t[1]));
            out.push((y, x, t[2]));
        }
    }
    out
}

fn hm(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute())
}

/// Runs the demo in `lab_dir` at time `now`, narrating to `out`.
pub fn run(
    lab_dir: &Path,
    now: OffsetDateTime,
    options: &Options,
    out: &mut dyn Write,
) -> Result<DemoOutcome> {
    let mut n = Narrator::new(out, options.colour);
    let now = now.unix_timestamp();
    let today = midnight(now);
    let day0 = today - 3 * DAY;
    n.line(&format!(
        "escrow-lab demo — lab directory: {}",
        printable(&lab_dir.display().to_string())
    ))?;
    n.line("Three users message each other on the three days before today; then a")?;
    n.line("warrant is served for one of them and one day. Every step below is real.")?;

    // 1. The generation.
    n.step("Five independent authorities share one escrow key, any 3 of 5")?;
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let mut w = World::create(lab_dir, &AUTHORITIES, 3, day0, ChaCha20Rng::from_seed(seed))?;
    n.say(&format!("Authorities: {}.", AUTHORITIES.join(", ")))?;
    n.say("Each holds one share of a BLS12-381 master key, in its own file (mode")?;
    n.say("0600). Any 3 shares can rebuild a key for one account and one day;")?;
    n.say("2 shares reveal nothing at all. The master public key is public.")?;
    let config = w.lab.load_log_config()?;
    let genesis = w.lab.open_log_read_only(&config)?.entry(0)?;
    n.result(
        genesis.entry.kind() == "generation-created",
        &format!("Log entry 0 (public): {}.", genesis.entry.kind()),
    )?;

    // 2. Traffic.
    n.step("alice, bob and carol chat for three days, end-to-end encrypted")?;
    for u in USERS {
        w.register(u, day0 + 8 * 3600)?;
    }
    let mut delivered = 0usize;
    for d in 0..3 {
        for (i, (from, to, text)) in script(d, options.fast).into_iter().enumerate() {
            let t = day0 + d as i64 * DAY + 9 * 3600 + i as i64 * 1200;
            w.send(from, to, text, t)?;
            delivered += w
                .read(to, t + 60)?
                .iter()
                .filter(|(_, o)| matches!(o, messenger::Outcome::Delivered { .. }))
                .count();
        }
    }
    w.save_clients()?;
    let chains = w.sent.iter().filter(|s| s.starts_chain).count();
    let block = w.sent.iter().map(|s| s.escrow_bytes).max().unwrap_or(0);
    n.say(&format!(
        "{} messages in {} chains; each chain's first message carries a",
        w.sent.len(),
        chains
    ))?;
    n.say(&format!(
        "{block}-byte escrow block: the chain key wrapped to the sender's and the"
    ))?;
    n.say("recipient's (account, day), signed with the sender's identity key.")?;
    n.say("Later messages carry no escrow; each commits to its message key.")?;
    n.result(
        delivered == w.sent.len(),
        &format!(
            "Recipients checked all {chains} signatures and blocks; {delivered}/{} accepted.",
            w.sent.len()
        ),
    )?;
    n.say("The provider stores only ciphertext; it cannot read any of it.")?;

    // 3. The warrant.
    let (w_start, w_end) = (day0 + DAY, day0 + 2 * DAY);
    n.step(&format!(
        "A court issues warrant W-1 for alice, {} only",
        hm(w_start).split(' ').next().unwrap_or_default()
    ))?;
    let warrant = w.warrant("W-1", &["alice"], w_start, w_end, now + 7 * DAY)?;
    let warrant_path = lab_dir.join("warrant.json");
    write_atomic(&warrant_path, &warrant.to_json()?, 0o644)?;
    let receipt = w.submit(&warrant, now - 600)?;
    let receipt_path = lab_dir.join("warrant.receipt.json");
    write_atomic(&receipt_path, &receipt.to_json()?, 0o644)?;
    n.say("The agency logs it first: the public log gets its digest, reference")?;
    n.say("and counts (one account, one day) — never its text.")?;
    // The receipt is checked as an authority checks it: signature, inclusion, entry.
    let (logged, _) = receipt.verify(&config)?;
    n.result(
        logged.entry.kind() == "warrant-logged",
        &format!(
            "Log entry {}: {}; the receipt holds its inclusion proof.",
            receipt.index,
            logged.entry.kind()
        ),
    )?;
    let capture = w.capture("alice", day0, now - 600, now - 600)?;
    let capture_path = lab_dir.join("capture-alice.json");
    write_atomic(&capture_path, &serde_json::to_vec_pretty(&capture)?, 0o600)?;
    n.say(&format!(
        "The provider hands over alice's traffic of all three days: {} envelopes,",
        capture.envelopes.len()
    ))?;
    n.say("ciphertext and metadata only (who, to whom, when).")?;

    // 4. Two approvals.
    n.step("court and ministry approve: 2 of the 3 approvals needed")?;
    let mut approvals = Vec::new();
    for a in &AUTHORITIES[..2] {
        let out = escrow::procedure::approve::default_path(&warrant_path, a);
        approvals.push(w.approve_to(a, &warrant, &receipt, &out, now - 540)?);
    }
    n.say("Each checked the warrant (not expired, within policy, in the log) and")?;
    n.say("released its share of alice's key for that one day; each release is")?;
    n.say("logged as key-released.")?;
    let refs: Vec<&escrow::authority::Approved> = approvals.iter().collect();
    let refused = w.execute(&warrant, &refs, &capture, now - 480);
    let two_approvals_refused = refused.is_err();
    n.result(
        two_approvals_refused,
        &format!(
            "The auditor tries: {}.",
            refused
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "it opened something".into())
        ),
    )?;
    n.say("Two shares are mathematically useless: not one message opens.")?;

    // 5. The third approval.
    n.step("oversight approves too: 3 of 5")?;
    let out = escrow::procedure::approve::default_path(&warrant_path, AUTHORITIES[2]);
    approvals.push(w.approve_to(AUTHORITIES[2], &warrant, &receipt, &out, now - 420)?);
    let refs: Vec<&escrow::authority::Approved> = approvals.iter().collect();
    let report = w.execute_to(
        &warrant,
        &refs,
        &capture,
        now - 360,
        &lab_dir.join("report.json"),
    )?;
    n.say("The auditor checks every share, combines three into alice's key for")?;
    n.say("that day (verified by a pairing), and opens what it covers:")?;
    let mut lines: Vec<(String, String)> = report
        .decrypted
        .iter()
        .map(|m| {
            (
                m.sent_at.clone(),
                format!("{} → {}: {}", m.from, m.to, m.text),
            )
        })
        .chain(report.sealed.iter().map(|m| {
            (
                m.sent_at.clone(),
                format!("{} → {}: [sealed]", m.from, m.to),
            )
        }))
        .collect();
    lines.sort();
    for (t, l) in &lines {
        let t = OffsetDateTime::parse(t, &Rfc3339)
            .map(|t| hm(t.unix_timestamp()))
            .unwrap_or_else(|_| t.clone());
        n.say(&format!("  {t}  {l}"))?;
    }
    let want: BTreeSet<String> = w
        .sent
        .iter()
        .filter(|s| (s.from == "alice" || s.to == "alice") && s.time >= w_start && s.time < w_end)
        .map(|s| s.text.clone())
        .collect();
    let got: BTreeSet<String> = report.decrypted.iter().map(|m| m.text.clone()).collect();
    let alice_total = w
        .sent
        .iter()
        .filter(|s| s.from == "alice" || s.to == "alice")
        .count();
    let attributed = report
        .decrypted
        .iter()
        .all(|m| m.attribution.basis == "signed-chain-start" && m.attribution.signed_by == m.from);
    let exactly_scope_opened = got == want
        && attributed
        && report.sealed.len() == alice_total - want.len()
        && report.non_compliant == 0
        && report.equivocations.is_empty();
    n.result(
        exactly_scope_opened,
        &format!(
            "{} messages opened: exactly alice's of that day; {} others sealed.",
            got.len(),
            report.sealed.len()
        ),
    )?;
    n.say("Each text is attributed by its chain's start, signed by the sender's")?;
    n.say("identity key; the recipient, who knows the chain key, could forge")?;
    n.say("further messages of it with the provider's help (docs/threat-model.md).")?;
    n.say("bob and carol's own conversation is not even in the capture, and its")?;
    n.say("keys were never released: the key is scoped by cryptography to one")?;
    n.say("account and one day (see `escrow-lab attacks`, rows 4 and 5).")?;

    // 6. The public log.
    n.step("Anyone can audit the log: a public monitor recomputes it")?;
    // Each authority released only once its `key-released` entry was in a checkpoint it
    // cosigned and remembers; now, as witnesses, they cosign the newest one, which covers
    // the execution.
    let names: Vec<String> = w
        .params
        .authorities()
        .iter()
        .map(|a| a.name.clone())
        .collect();
    for a in &names {
        w.cosign(a, now - 300)?;
    }
    let verified = auditor::verify_log(&w.lab);
    let log_verified = verified.is_ok();
    let (log_size, stats) = match &verified {
        Ok(r) => (r.size, Some(r.stats.clone())),
        Err(_) => (0, None),
    };
    n.result(
        log_verified,
        &match &verified {
            Ok(r) => format!(
                "{} entries, {} checkpoints, all verified; {} of {} witnessed.",
                r.size, r.checkpoints, r.witnessed_size, r.size
            ),
            Err(e) => format!("the log did not verify: {e}"),
        },
    )?;
    n.say("Every release is in a checkpoint its authority cosigned and keeps, and")?;
    n.say("the report proves the execution: a log that later loses any of them is")?;
    n.say("caught by every monitor (`escrow-lab attacks`, \"erase the releases\").")?;
    if let Some(s) = stats {
        let entries: Vec<String> = s.entries.iter().map(|(k, v)| format!("{k} {v}")).collect();
        n.say(&format!(
            "Entries: {},",
            entries[..entries.len() / 2].join(", ")
        ))?;
        n.say(&format!("  {}.", entries[entries.len() / 2..].join(", ")))?;
        let by: Vec<String> = s
            .releases_by_authority
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        n.say(&format!("Key releases by authority: {}.", by.join(", ")))?;
        n.say(&format!(
            "Identities released (target × day): {}, as {} identity-key shares",
            s.identities_released, s.identity_key_shares_released,
        ))?;
        n.say(&format!(
            "(one per approving authority); warrants executed: {}; messages decrypted: {}.",
            s.warrants_executed, s.messages_decrypted
        ))?;
    }

    // 7. The limits.
    n.step("What this shows, and what it does not")?;
    n.say("Fewer than 3 authorities learn nothing; 3 open one account's traffic")?;
    n.say("of one day, and the release is public. Trust assumption: fewer than 3")?;
    n.say("authorities are dishonest. Three colluding authorities could release")?;
    n.say("any key without a warrant, and the log would show nothing. Users who")?;
    n.say("encrypt again inside the messenger stay unreadable. Both limits are")?;
    n.say("carried out for real by `escrow-lab attacks`.")?;

    by_hand(&mut n, lab_dir, w_start, w_end)?;
    n.line(&format!(
        "\nLab directory: {}",
        printable(&lab_dir.display().to_string())
    ))?;
    n.line(&format!(
        "Generated at {}",
        at(now)?.format(&Rfc3339).context("formatting time")?
    ))?;
    Ok(DemoOutcome {
        lab: lab_dir.to_owned(),
        sent: w.sent.len(),
        delivered,
        two_approvals_refused,
        exactly_scope_opened,
        decrypted: got.len(),
        sealed: report.sealed.len(),
        log_verified,
        log_size,
    })
}

/// `s` quoted for bash where needed. A name with a control or invisible character is written
/// as an ANSI-C string (`$'…\n…'`), so that the printed command stays one visible line and
/// still names the same file when pasted.
fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "._/-+:@".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_owned()
    } else if !s.chars().any(escrow::encoding::is_hidden) {
        format!("'{}'", s.replace('\'', "'\\''"))
    } else {
        let mut out = String::from("$'");
        for c in s.chars() {
            match c {
                '\'' => out.push_str("\\'"),
                '\\' => out.push_str("\\\\"),
                c if escrow::encoding::is_hidden(c) && c.is_ascii() => {
                    out.push_str(&format!("\\x{:02x}", u32::from(c)));
                }
                c if escrow::encoding::is_hidden(c) => {
                    out.push_str(&format!("\\U{:08x}", u32::from(c)));
                }
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    }
}

fn by_hand(n: &mut Narrator<'_>, lab: &Path, start: i64, end: i64) -> Result<()> {
    let lab = shell_quote(&lab.display().to_string());
    let t = |u: i64| -> Result<String> { Ok(at(u)?.format(&Rfc3339)?) };
    n.line("\nRepeat it by hand, in bash (each paste: a new lab folder by-hand.*, new W-2):")?;
    n.line(&format!("  L={lab}"))?;
    for tool in ["escrow", "messenger", "auditor"] {
        let f = tool[..1].to_uppercase();
        n.line(&format!(
            "  {f}() {{ cargo run -q --release -p {tool}-cli -- --lab \"$L\" \"$@\"; }}"
        ))?;
    }
    let approvals = |who: &[&str]| -> String {
        who.iter()
            .map(|a| format!(" \\\n      --approval \"$W.{a}.approval.json\""))
            .collect()
    };
    let lines = [
        "D=$(mktemp -d \"$L/by-hand.XXXXXX\") && R=\"W-2 ${D##*.}\" && W=\"$D/w.json\""
            .to_owned(),
        "E info".to_owned(),
        "M send --as alice --recipient bob 'Hello again'; M read --as bob".to_owned(),
        format!(
            "A warrant new --reference \"$R\" --target alice \\\n      --from {} --to {} \\\n      --issuer court --justification demo --out \"$W\"",
            t(start)?,
            t(end)?
        ),
        "A warrant submit \"$W\"".to_owned(),
        "for a in court ministry; do\n      E approve --as $a --warrant \"$W\" --receipt \"$W.receipt.json\"; done"
            .to_owned(),
        format!(
            "M intercept --target alice --from {} \\\n      --to \"$(date -u +%FT%TZ)\" --out \"$D/capture.json\"",
            t(start - DAY)?
        ),
        format!(
            "A execute --warrant \"$W\" --capture \"$D/capture.json\"{} \\\n      || echo 'refused: 2 approvals of the 3 needed'",
            approvals(&["court", "ministry"])
        ),
        "E approve --as oversight --warrant \"$W\" --receipt \"$W.receipt.json\"".to_owned(),
        format!(
            "A execute --warrant \"$W\" --capture \"$D/capture.json\"{} \\\n      --out \"$D/report.json\"",
            approvals(&["court", "ministry", "oversight"])
        ),
        "for a in court ministry oversight; do E log cosign --as $a; done".to_owned(),
        "A log verify --proof \"$D/report.json\"; A log stats; E log show".to_owned(),
    ];
    for l in lines {
        n.line(&format!("  {l}"))?;
    }
    Ok(())
}
