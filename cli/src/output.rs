//! Writing results: text for people, JSON for scripts, simple padded tables.

use std::io::Write;

use serde::Serialize;

use crate::error::CliError;
use crate::i18n::Lang;

/// How a command prints.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub lang: Lang,
    pub json: bool,
}

impl Out {
    /// One line of text on stdout, flushed.
    pub fn line(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}")
            .and_then(|_| stdout.flush())
            .map_err(CliError::Output)
    }

    /// Several lines at once.
    pub fn lines(&self, lines: &[String]) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        for l in lines {
            writeln!(stdout, "{l}").map_err(CliError::Output)?;
        }
        stdout.flush().map_err(CliError::Output)
    }

    /// One JSON value on one line, flushed.
    pub fn json_value<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let text =
            serde_json::to_string(value).map_err(|e| CliError::Output(std::io::Error::other(e)))?;
        self.line(&text)
    }

    /// JSON when `--json`, else the text lines `text()` makes.
    pub fn emit<T: Serialize>(
        &self,
        value: &T,
        text: impl FnOnce() -> Vec<String>,
    ) -> Result<(), CliError> {
        if self.json {
            self.json_value(value)
        } else {
            self.lines(&text())
        }
    }
}

pub use field_core::messages::{local_time, short};

/// Width in columns of a text (NFC Vietnamese: one column per character).
fn width(s: &str) -> usize {
    s.chars().count()
}

/// A table with a header row, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(width(cell));
            }
        }
    }
    let render = |cells: Vec<&str>| -> String {
        let mut line = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            line.push_str(cell);
            if i < last {
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(width(cell));
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        line.trim_end().to_string()
    };
    let mut out = Vec::with_capacity(rows.len() + 2);
    out.push(render(header.to_vec()));
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    for row in rows {
        out.push(render(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_by_characters() {
        let rows = vec![
            vec!["Nguyễn Văn Hạnh".to_string(), "1".to_string()],
            vec!["An".to_string(), "22".to_string()],
        ];
        let t = table(&["Chủ hộ", "N"], &rows);
        assert_eq!(t[2], "Nguyễn Văn Hạnh  1");
        assert_eq!(t[3], "An               22");
    }

    #[test]
    fn short_ids_and_times() {
        assert_eq!(short("0190a1b2-c3d4-7e5f-8a9b-0123456789ab"), "456789ab");
        assert_eq!(short("abc"), "abc");
        assert_eq!(local_time("2025-03-01T02:30:00Z"), "2025-03-01 09:30");
    }
}
