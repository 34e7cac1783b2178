//! The public rounds shared by the DKG and the resharing: every signed message of a session,
//! parsed and indexed by sender, and the qualification rules both apply (Gennaro, Jarecki,
//! Krawczyk, Rabin 1999's complaint round, with the rounds bound as in docs/protocol.md §2.1).
//!
//! The result does not depend on the order or repetition of the message lists; unsigned or
//! wrongly signed messages count as absent; a second, different message from one sender
//! disqualifies it as a dealer (two deals, two justifications) and voids its complaints (two
//! responses, which also exclude it as a dealer).

use std::collections::{BTreeMap, BTreeSet};

use super::refusal::{Exclusion, Piece};
use super::{Deal, Justification, Response, Signed, SigningKeys, answered_responses};

/// What a protocol tells the rounds: who deals, who responds, and how its deals and revealed
/// values are checked.
pub(crate) trait Protocol: SigningKeys {
    /// A deal checked for form.
    type Parsed;
    /// The session id, hex.
    fn session_hex(&self) -> String;
    /// Whether `name` may deal.
    fn is_dealer(&self, name: &str) -> bool;
    /// Every party that must respond, in order.
    fn responders(&self) -> Vec<String>;
    /// The complaint bound t (more complaints exclude a dealer).
    fn degree(&self) -> usize;
    /// How the bound is written in reasons ("t" or "t'").
    fn bound_name(&self) -> &'static str;
    /// Checks a deal's form.
    fn parse_deal(&self, d: &Deal) -> Result<Self::Parsed, Exclusion>;
    /// The SHA-256 of the deal file, hex.
    fn digest<'p>(&self, p: &'p Self::Parsed) -> &'p str;
    /// Whether `bytes`, revealed for `party`, match the dealer's commitment.
    fn revealed_ok(&self, p: &Self::Parsed, party: &str, bytes: &[u8]) -> bool;
}

type Revealed = Result<BTreeMap<String, Vec<u8>>, Exclusion>;

/// The board of one session.
pub(crate) struct Board<P> {
    pub(crate) deals: BTreeMap<String, Result<P, Exclusion>>,
    /// Parties that signed two different responses: complaints void, excluded as dealers.
    equivocated: BTreeSet<String>,
    /// Per counted responder: the dealers it complains about, explicitly or by not having
    /// checked their deal.
    complaints: BTreeMap<String, BTreeSet<String>>,
    /// Per dealer: its one justification's revealed values, or why it has none that counts.
    pub(crate) revealed: BTreeMap<String, Revealed>,
}

impl<P> Board<P> {
    /// The board as the justification round closed it: the responses are those the
    /// justifications carry (a justification that does not carry every responder's signed
    /// response is void), not the response files.
    pub(crate) fn closed<C: Protocol<Parsed = P>>(
        c: &C,
        deals: &[Deal],
        justifications: &[Justification],
    ) -> Self {
        let responses = answered_responses(justifications);
        let mut board = Self::new(c, deals, &responses, justifications);
        let session = c.session_hex();
        let counted = |r: &Response| r.session == session && r.verify(c);
        for j in justifications
            .iter()
            .filter(|j| j.session == session && j.verify(c))
        {
            let complete = c
                .responders()
                .iter()
                .all(|p| j.answered.iter().any(|r| &r.party == p && counted(r)))
                && j.answered.iter().all(counted);
            if !complete {
                board
                    .revealed
                    .insert(j.dealer.clone(), Err(Exclusion::IncompleteJustification));
            }
        }
        board
    }

    /// The board from these messages (responses as given).
    pub(crate) fn new<C: Protocol<Parsed = P>>(
        c: &C,
        deals: &[Deal],
        responses: &[Response],
        justifications: &[Justification],
    ) -> Self {
        let session = c.session_hex();
        let responders = c.responders();
        let mut parsed: BTreeMap<String, Result<P, Exclusion>> = BTreeMap::new();
        for d in deals.iter().filter(|d| {
            d.session == session
                && d.kind == "escrow-lab/dkg-deal"
                && c.is_dealer(&d.dealer)
                && d.verify(c)
        }) {
            let p = c.parse_deal(d);
            match parsed.get(&d.dealer) {
                None => {
                    parsed.insert(d.dealer.clone(), p);
                }
                Some(Ok(first)) if p.as_ref().is_ok_and(|p| c.digest(p) == c.digest(first)) => {}
                Some(Err(e)) if p.as_ref().err() == Some(e) && *e != Exclusion::TwoDeals => {}
                Some(_) => {
                    parsed.insert(d.dealer.clone(), Err(Exclusion::TwoDeals));
                }
            }
        }
        // One response per party; two different ones void the party's complaints.
        let mut by_party: BTreeMap<&str, Result<&Response, ()>> = BTreeMap::new();
        for r in responses
            .iter()
            .filter(|r| r.session == session && responders.contains(&r.party) && r.verify(c))
        {
            match by_party.get(r.party.as_str()) {
                None => {
                    by_party.insert(&r.party, Ok(r));
                }
                Some(Ok(first)) if *first == r => {}
                Some(_) => {
                    by_party.insert(&r.party, Err(()));
                }
            }
        }
        let mut complaints: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut equivocated = BTreeSet::new();
        for (party, r) in by_party {
            let Ok(r) = r else {
                equivocated.insert(party.to_owned());
                continue;
            };
            let mut set: BTreeSet<String> = r
                .complaints
                .iter()
                .filter(|d| c.is_dealer(d))
                .cloned()
                .collect();
            for (dealer, d) in &parsed {
                let Ok(d) = d else { continue };
                let seen = r
                    .checked
                    .iter()
                    .any(|x| &x.dealer == dealer && x.digest == c.digest(d));
                if !seen {
                    set.insert(dealer.clone());
                }
            }
            complaints.insert(party.to_owned(), set);
        }
        // One justification per dealer.
        let mut revealed: BTreeMap<String, Revealed> = BTreeMap::new();
        let mut first_of: BTreeMap<&str, &Justification> = BTreeMap::new();
        for j in justifications
            .iter()
            .filter(|j| j.session == session && c.is_dealer(&j.dealer) && j.verify(c))
        {
            match first_of.get(j.dealer.as_str()) {
                None => {
                    first_of.insert(&j.dealer, j);
                    let rows = j
                        .rows
                        .iter()
                        .map(|r| hex::decode(&r.row).map(|b| (r.party.clone(), b)))
                        .collect::<Result<BTreeMap<_, _>, _>>()
                        .map_err(|_| Exclusion::MalformedJustification);
                    revealed.insert(j.dealer.clone(), rows);
                }
                Some(first) if *first == j => {}
                Some(_) => {
                    revealed.insert(j.dealer.clone(), Err(Exclusion::TwoJustifications));
                }
            }
        }
        Self {
            deals: parsed,
            equivocated,
            complaints,
            revealed,
        }
    }

    /// The parties complaining about `dealer`.
    pub(crate) fn complaints_against(&self, dealer: &str) -> Vec<String> {
        self.complaints
            .iter()
            .filter(|(_, against)| against.contains(dealer))
            .map(|(party, _)| party.clone())
            .collect()
    }

    /// Why `dealer` is excluded, or its deal if it qualifies.
    pub(crate) fn verdict<C: Protocol<Parsed = P>>(
        &self,
        c: &C,
        dealer: &str,
    ) -> Result<&P, Exclusion> {
        let d = match self.deals.get(dealer) {
            None => return Err(Exclusion::NoDeal),
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(d)) => d,
        };
        if self.equivocated.contains(dealer) {
            return Err(Exclusion::TwoResponses);
        }
        // Two different (or incomplete) justifications exclude a dealer whatever they say.
        if let Some(Err(e)) = self.revealed.get(dealer) {
            return Err(e.clone());
        }
        let against = self.complaints_against(dealer);
        if against.is_empty() {
            return Ok(d);
        }
        if against.len() > c.degree() {
            return Err(Exclusion::TooManyComplaints {
                count: against.len(),
                bound: c.bound_name(),
                degree: c.degree(),
            });
        }
        let rows = match self.revealed.get(dealer) {
            None => {
                return Err(Exclusion::Unanswered {
                    party: against[0].clone(),
                });
            }
            Some(Err(e)) => return Err(e.clone()),
            Some(Ok(rows)) => rows,
        };
        for party in &against {
            let Some(bytes) = rows.get(party) else {
                return Err(Exclusion::Unanswered {
                    party: party.clone(),
                });
            };
            if !c.revealed_ok(d, party, bytes) {
                return Err(Exclusion::BadReveal {
                    piece: if c.bound_name() == "t" {
                        Piece::Row
                    } else {
                        Piece::Value
                    },
                    party: party.clone(),
                });
            }
        }
        Ok(d)
    }
}
