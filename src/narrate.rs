//! The narrator of the demo: numbered steps, short explanations and checked claims, in at
//! most 80 columns, with colour only when asked (stdout is a terminal).

use std::io::Write;

use anyhow::Result;

/// Writes the story.
pub struct Narrator<'a> {
    out: &'a mut dyn Write,
    colour: bool,
    step: u32,
}

impl std::fmt::Debug for Narrator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Narrator(step {})", self.step)
    }
}

impl<'a> Narrator<'a> {
    /// A narrator writing to `out`.
    pub fn new(out: &'a mut dyn Write, colour: bool) -> Self {
        Self {
            out,
            colour,
            step: 0,
        }
    }

    /// A plain line.
    pub fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    /// A new numbered step.
    pub fn step(&mut self, title: &str) -> Result<()> {
        self.step += 1;
        if self.colour {
            writeln!(self.out, "\n\x1b[1m{}. {title}\x1b[0m", self.step)?;
        } else {
            writeln!(self.out, "\n{}. {title}", self.step)?;
        }
        Ok(())
    }

    /// An indented explanation.
    pub fn say(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "   {text}")?;
        Ok(())
    }

    /// A checked claim: `[ok]` if it held, `[no]` if not.
    pub fn result(&mut self, ok: bool, text: &str) -> Result<()> {
        let mark = match (ok, self.colour) {
            (true, true) => "\x1b[32m✔\x1b[0m",
            (false, true) => "\x1b[31m✘\x1b[0m",
            (true, false) => "[ok]",
            (false, false) => "[no]",
        };
        writeln!(self.out, "   {mark} {text}")?;
        Ok(())
    }
}
