//! C2SP tlog-tiles resource paths (<https://c2sp.org/tlog-tiles>, "Merkle Tree" and
//! "Log Entries"): `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`.
//!
//! "`<N>` is the index of the tile within the level. It MUST be a non-negative integer encoded
//! into zero-padded 3-digit path elements. All but the last path element MUST begin with an
//! `x`." A full tile is 256 wide and has no `.p/<W>` suffix; a partial one has `<W>` in
//! 1..=255, without leading zeroes.

/// The tile width: 256 hashes or entries (tile height 8).
pub const WIDTH: u32 = 256;

/// `<N>` as zero-padded 3-digit path elements, all but the last prefixed with `x`.
pub fn index_path(n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        parts.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

fn suffix(width: u32) -> String {
    if width == WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// `tile/<L>/<N>[.p/<W>]`.
pub fn hash_tile(level: u8, n: u64, width: u32) -> String {
    format!("tile/{level}/{}{}", index_path(n), suffix(width))
}

/// `tile/entries/<N>[.p/<W>]`.
pub fn entries_tile(n: u64, width: u32) -> String {
    format!("tile/entries/{}{}", index_path(n), suffix(width))
}

/// A parsed tile path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TilePath {
    /// A hash tile: level, index, width.
    Hash(u8, u64, u32),
    /// An entry bundle: index, width.
    Entries(u64, u32),
}

/// Parses the part of a tile URL after `tile/`; `None` for anything not in the canonical form
/// (so every tile has exactly one path).
pub fn parse(rest: &str) -> Option<TilePath> {
    let (kind, rest) = rest.split_once('/')?;
    let (index, width) = match rest.split_once(".p/") {
        Some((i, w)) => {
            if w.is_empty() || w.starts_with('0') || !w.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let w: u32 = w.parse().ok()?;
            if w == 0 || w >= WIDTH {
                return None;
            }
            (i, w)
        }
        None => (rest, WIDTH),
    };
    let parts: Vec<&str> = index.split('/').collect();
    if parts.len() > 7 {
        return None;
    }
    let mut n: u64 = 0;
    for (i, p) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            p.strip_prefix('x')?
        } else {
            p
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    // Canonical: no leading all-zero elements (x000/…).
    if index_path(n) != index {
        return None;
    }
    match kind {
        "entries" => Some(TilePath::Entries(n, width)),
        l => {
            if l.is_empty() || (l.len() > 1 && l.starts_with('0')) {
                return None;
            }
            let level: u8 = l.parse().ok()?;
            if level > 63 / 8 {
                return None;
            }
            Some(TilePath::Hash(level, n, width))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_and_round_trips() {
        // tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
        assert_eq!(index_path(1_234_067), "x001/x234/067");
        assert_eq!(index_path(0), "000");
        assert_eq!(hash_tile(0, 1_234_067, 256), "tile/0/x001/x234/067");
        assert_eq!(entries_tile(5, 17), "tile/entries/005.p/17");
        for p in [
            TilePath::Hash(0, 0, 256),
            TilePath::Hash(2, 1_234_067, 3),
            TilePath::Entries(999, 255),
            TilePath::Entries(1000, 1),
        ] {
            let s = match p {
                TilePath::Hash(l, n, w) => hash_tile(l, n, w),
                TilePath::Entries(n, w) => entries_tile(n, w),
            };
            assert_eq!(parse(s.strip_prefix("tile/").unwrap()), Some(p), "{s}");
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for bad in [
            "0/1",
            "0/0001",
            "0/x000/001",
            "0/001/002",
            "0/001.p/0",
            "0/001.p/256",
            "0/001.p/07",
            "00/001",
            "9/001",
            "entries/x1/001",
            "entries/001.p/",
            "0/",
            "",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
