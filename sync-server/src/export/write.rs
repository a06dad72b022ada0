//! Writing an extract: the rows go from the storage's read to the file one by
//! one (a province never sits in memory), into a `.partial` file renamed
//! into place only once complete, so a failed or interrupted export leaves
//! nothing half-written under the asked name.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rust_xlsxwriter::{Chart, ChartType, Format as XlsxFormat, Workbook};
use serde_json::{Map, Value, json};

use super::csvzip::CsvZip;
use super::{
    Column, ExportError, Format, Kind, Lang, Pii, PseudonymKey, Request, columns, table_name,
};
use crate::storage::{AreaScope, Cell, ExtractSink, ExtractTable, Storage, StorageError};

/// What an extract held.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportOutcome {
    pub path: PathBuf,
    pub format: &'static str,
    pub pii: &'static str,
    /// Rows written per table (English table names).
    pub rows: BTreeMap<&'static str, u64>,
    /// Persons left out because no consent of theirs is on record, or it was
    /// withdrawn: counted, never written.
    pub persons_without_consent: u64,
    /// Ask from this next time for what changed since (`--since`).
    pub cursor: u64,
}

/// A value as written.
pub(super) enum Out {
    Null,
    Text(String),
    /// Text a spreadsheet must not read as a number.
    Code(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl Out {
    /// Writes the cell at (`row`, `col`): codes as text cells (with `text`,
    /// the "@" format, when given), numbers as numbers, flags as booleans.
    pub(super) fn write_xlsx(
        self,
        sheet: &mut rust_xlsxwriter::Worksheet,
        row: u32,
        col: u16,
        text: Option<&XlsxFormat>,
    ) -> Result<(), StorageError> {
        match (self, text) {
            (Out::Null, _) => {}
            (Out::Text(t), _) | (Out::Code(t), None) => {
                sheet.write_string(row, col, t).map_err(io)?;
            }
            (Out::Code(t), Some(text)) => {
                sheet
                    .write_string_with_format(row, col, t, text)
                    .map_err(io)?;
            }
            (Out::Int(n), _) => {
                sheet.write_number(row, col, n as f64).map_err(io)?;
            }
            (Out::Float(x), _) => {
                sheet.write_number(row, col, x).map_err(io)?;
            }
            (Out::Bool(b), _) => {
                sheet.write_boolean(row, col, b).map_err(io)?;
            }
        }
        Ok(())
    }

    pub(super) fn json(self) -> Value {
        match self {
            Out::Null => Value::Null,
            Out::Text(t) | Out::Code(t) => Value::String(t),
            Out::Int(n) => json!(n),
            Out::Float(x) => json!(x),
            Out::Bool(b) => json!(b),
        }
    }
}

pub(super) fn time_text(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Applies the request's rules to a row; `None` leaves the row out.
struct Rules {
    request: Request,
    key: PseudonymKey,
    persons_without_consent: u64,
}

impl Rules {
    fn row(&mut self, table: ExtractTable, cells: Vec<Cell>) -> Option<Vec<Out>> {
        let cols = columns(table);
        if table == ExtractTable::Persons {
            let consent = cols
                .iter()
                .position(|c| c.kind == Kind::Hidden)
                .and_then(|i| cells.get(i));
            if consent != Some(&Cell::Int(1)) {
                self.persons_without_consent += 1;
                return None;
            }
        }
        let mut out = Vec::with_capacity(cols.len());
        for (c, cell) in cols.iter().zip(cells) {
            if c.kind == Kind::Hidden {
                continue;
            }
            out.push(self.cell(c, cell));
        }
        Some(out)
    }

    fn cell(&self, c: &Column, cell: Cell) -> Out {
        let text = match cell {
            Cell::Null => return Out::Null,
            Cell::Int(n) => match c.kind {
                Kind::Flag => return Out::Bool(n != 0),
                Kind::Time => return Out::Code(time_text(n)),
                _ => return Out::Int(n),
            },
            Cell::Bool(b) => return Out::Bool(b),
            Cell::Text(t) => t,
        };
        match c.kind {
            Kind::Plain | Kind::Flag | Kind::Time | Kind::Hidden => Out::Text(text),
            Kind::Code => Out::Code(text),
            Kind::Identifying => match self.request.pii {
                Pii::Full => Out::Code(text),
                _ => Out::Code(self.key.pseudonym(c.name, &text)),
            },
            Kind::FullOnly => match self.request.pii {
                Pii::Full => Out::Text(text),
                _ => Out::Null,
            },
            Kind::Groups => {
                let kept: Vec<&str> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .filter(|g| {
                        !super::SENSITIVE_GROUPS.contains(g)
                            || self.request.sensitive.iter().any(|s| s == g)
                    })
                    .collect();
                Out::Text(kept.join(","))
            }
            Kind::PersonCount => {
                Out::Int(text.split(',').filter(|p| !p.trim().is_empty()).count() as i64)
            }
        }
    }
}

fn headers(table: ExtractTable, lang: Lang) -> Vec<&'static str> {
    columns(table)
        .iter()
        .filter(|c| c.kind != Kind::Hidden)
        .map(|c| match lang {
            Lang::Vi => c.vi,
            Lang::En => c.en,
        })
        .collect()
}

pub(super) fn io(e: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(format!("writing the extract: {e}"))
}

/// Households registered and reached in one unit.
#[derive(Default, Clone)]
struct Tally {
    /// The unit's parent and name, as shown.
    parent: String,
    name: String,
    households: u64,
    visited: u64,
}

/// Totals per commune and per village for the summary sheets (one entry per
/// unit: bounded by the province's villages, not its households).
#[derive(Default)]
struct Summary {
    communes: BTreeMap<String, Tally>,
    villages: BTreeMap<String, Tally>,
}

impl Summary {
    fn household(&mut self, cells: &[Cell]) {
        let text = |i: usize| match cells.get(i) {
            Some(Cell::Text(t)) => t.clone(),
            _ => String::new(),
        };
        let visited = u64::from(matches!(cells.get(18), Some(Cell::Int(n)) if *n > 0));
        let c = self.communes.entry(text(3)).or_insert_with(|| Tally {
            parent: text(2),
            name: text(4),
            ..Tally::default()
        });
        c.households += 1;
        c.visited += visited;
        let v = self.villages.entry(text(6)).or_insert_with(|| Tally {
            parent: text(4),
            name: text(7),
            ..Tally::default()
        });
        v.households += 1;
        v.visited += visited;
    }
}

/// Rows read and not yet formatted, handed to the formatting thread at a
/// time.
const BATCH_ROWS: usize = 1024;
/// Batches waiting for the formatting thread, at most (with `BATCH_ROWS`,
/// a few MB).
const BATCH_QUEUE: usize = 4;

enum ToCsv {
    Table(ExtractTable),
    Rows(Vec<Vec<Cell>>),
}

/// What the formatting thread wrote: the zip to complete, and its counts.
struct CsvDone {
    zip: CsvZip,
    rows: BTreeMap<&'static str, u64>,
    persons_without_consent: u64,
}

/// A CSV extract's rows, formatted on a thread of their own: this thread
/// reads SQLite (the larger part of an extract's time), the other applies
/// the rules and formats the rows, and the zip's own thread deflates them.
/// Bounded queues between them keep memory bounded.
struct CsvRows {
    tx: Option<SyncSender<ToCsv>>,
    batch: Vec<Vec<Cell>>,
    worker: Option<JoinHandle<Result<CsvDone, StorageError>>>,
}

fn format_rows(
    mut zip: CsvZip,
    mut rules: Rules,
    rx: Receiver<ToCsv>,
) -> Result<CsvDone, StorageError> {
    let lang = rules.request.lang;
    let mut rows = BTreeMap::new();
    let mut table = None;
    for m in rx {
        match m {
            ToCsv::Table(t) => {
                zip.start_table(table_name(t, lang), &headers(t, lang))?;
                rows.insert(table_name(t, Lang::En), 0);
                table = Some(t);
            }
            ToCsv::Rows(batch) => {
                let Some(t) = table else {
                    return Err(StorageError::Backend("a row before its table".into()));
                };
                let n = rows.entry(table_name(t, Lang::En)).or_default();
                for cells in batch {
                    if let Some(out) = rules.row(t, cells) {
                        *n += 1;
                        zip.record(out)?;
                    }
                }
            }
        }
    }
    Ok(CsvDone {
        zip,
        rows,
        persons_without_consent: rules.persons_without_consent,
    })
}

impl CsvRows {
    fn start(zip: CsvZip, rules: Rules) -> Result<CsvRows, StorageError> {
        let (tx, rx) = sync_channel(BATCH_QUEUE);
        let worker = std::thread::Builder::new()
            .name("extract-csv".into())
            .spawn(move || format_rows(zip, rules, rx))
            .map_err(io)?;
        Ok(CsvRows {
            tx: Some(tx),
            batch: Vec::with_capacity(BATCH_ROWS),
            worker: Some(worker),
        })
    }

    /// The formatting thread's result, once the queue is closed.
    fn join(&mut self) -> Result<CsvDone, StorageError> {
        self.tx = None;
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(done)) => done,
            Some(Err(_)) => Err(io("the CSV writer panicked")),
            None => Err(io("the CSV writer stopped")),
        }
    }

    fn send(&mut self, m: ToCsv) -> Result<(), StorageError> {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(m).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped: its own error says why.
        Err(match self.join() {
            Err(e) => e,
            Ok(_) => io("the CSV writer stopped"),
        })
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        self.send(ToCsv::Rows(batch))
    }

    fn table(&mut self, table: ExtractTable) -> Result<(), StorageError> {
        self.flush()?;
        self.send(ToCsv::Table(table))
    }

    fn row(&mut self, cells: Vec<Cell>) -> Result<(), StorageError> {
        self.batch.push(cells);
        if self.batch.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<CsvDone, StorageError> {
        self.flush()?;
        self.join()
    }
}

impl Drop for CsvRows {
    fn drop(&mut self) {
        // A failed extract: the thread ends when its queue closes.
        self.tx = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

enum Target {
    Csv {
        rows: Box<CsvRows>,
    },
    Xlsx {
        book: Box<Workbook>,
        /// The sheet being written (the summaries are sheets 0 to 2).
        sheet: Option<usize>,
        row: u32,
    },
    Jsonl {
        out: BufWriter<File>,
    },
}

/// The last row a worksheet holds (0-based).
const LAST_XLSX_ROW: u32 = 1_048_575;

/// A constant-memory sheet named `name` with `table`'s headers.
fn new_sheet(
    book: &mut Workbook,
    name: &str,
    table: ExtractTable,
    lang: Lang,
) -> Result<(), StorageError> {
    let s = book.add_worksheet_with_constant_memory().map_err(io)?;
    s.set_name(name).map_err(io)?;
    for (i, h) in headers(table, lang).iter().enumerate() {
        s.write_string(0, i as u16, *h).map_err(io)?;
    }
    // Codes are string cells (Excel keeps their leading zeros); their
    // columns are formatted as text once, so a code typed in later stays
    // text too, rather than each cell carrying the format (looked up by
    // hashing it, a tenth of the time of a province's workbook).
    let text = XlsxFormat::new().set_num_format("@");
    let written = columns(table).iter().filter(|c| c.kind != Kind::Hidden);
    for (i, c) in written.enumerate() {
        if matches!(c.kind, Kind::Code | Kind::Time | Kind::Identifying) {
            s.set_column_format(i as u16, &text).map_err(io)?;
        }
    }
    Ok(())
}

struct Sink {
    rules: Rules,
    /// Sheets of the current table so far (XLSX).
    part: u32,
    target: Target,
    table: Option<ExtractTable>,
    rows: BTreeMap<&'static str, u64>,
    summary: Summary,
}

impl Sink {
    /// Ends the current table's file or sheet.
    fn close_table(&mut self) -> Result<(), StorageError> {
        match &mut self.target {
            Target::Csv { .. } => {}
            Target::Xlsx { sheet, .. } => {
                *sheet = None;
            }
            Target::Jsonl { .. } => {}
        }
        Ok(())
    }
}

impl ExtractSink for Sink {
    fn table(&mut self, table: ExtractTable) -> Result<(), StorageError> {
        self.close_table()?;
        self.table = Some(table);
        self.rows.insert(table_name(table, Lang::En), 0);
        let lang = self.rules.request.lang;
        let name = table_name(table, lang);
        match &mut self.target {
            Target::Csv { rows } => {
                rows.table(table)?;
            }
            Target::Xlsx { book, sheet, row } => {
                new_sheet(book, name, table, lang)?;
                *sheet = Some(book.worksheets().len() - 1);
                *row = 1;
                self.part = 1;
            }
            Target::Jsonl { .. } => {}
        }
        Ok(())
    }

    fn row(&mut self, cells: Vec<Cell>) -> Result<(), StorageError> {
        let Some(table) = self.table else {
            return Err(StorageError::Backend("a row before its table".into()));
        };
        if let Target::Csv { rows } = &mut self.target {
            return rows.row(cells);
        }
        // Only the XLSX has summary sheets.
        if table == ExtractTable::Households && matches!(self.target, Target::Xlsx { .. }) {
            self.summary.household(&cells);
        }
        let Some(out) = self.rules.row(table, cells) else {
            return Ok(());
        };
        *self.rows.entry(table_name(table, Lang::En)).or_default() += 1;
        match &mut self.target {
            // Handed to the formatting thread above.
            Target::Csv { .. } => {}
            Target::Xlsx { book, sheet, row } => {
                let last = self
                    .rules
                    .request
                    .sheet_rows
                    .map_or(LAST_XLSX_ROW, |n| n.clamp(1, LAST_XLSX_ROW));
                if *row > last {
                    // A sheet holds 1,048,576 rows: a province's visits go
                    // on in a second sheet, and so on.
                    self.part += 1;
                    let lang = self.rules.request.lang;
                    let name = format!("{}_{}", table_name(table, lang), self.part);
                    new_sheet(book, &name, table, lang)?;
                    *sheet = Some(book.worksheets().len() - 1);
                    *row = 1;
                }
                let Some(index) = *sheet else {
                    return Err(StorageError::Backend("no sheet open".into()));
                };
                let s = book.worksheet_from_index(index).map_err(io)?;
                for (i, o) in out.into_iter().enumerate() {
                    // Codes without a format of their own: their columns are
                    // formatted as text (new_sheet).
                    o.write_xlsx(s, *row, i as u16, None)?;
                }
                *row += 1;
            }
            Target::Jsonl { out: w } => {
                let mut obj = Map::new();
                obj.insert("table".into(), json!(table_name(table, Lang::En)));
                let cols = columns(table).iter().filter(|c| c.kind != Kind::Hidden);
                for (c, o) in cols.zip(out) {
                    obj.insert(c.name.into(), o.json());
                }
                serde_json::to_writer(&mut *w, &Value::Object(obj)).map_err(io)?;
                w.write_all(b"\n").map_err(io)?;
            }
        }
        Ok(())
    }
}

/// The summary sheets' names, in the order they come first in the workbook.
fn summary_names(lang: Lang) -> [&'static str; 3] {
    match lang {
        Lang::Vi => ["tong_hop", "theo_thon", "theo_to"],
        Lang::En => ["summary", "by_village", "by_team"],
    }
}

/// The headers of a totals sheet whose units are communes, villages or teams.
fn tally_heads(lang: Lang, sheet: usize) -> [&'static str; 6] {
    let unit = match (lang, sheet) {
        (Lang::Vi, 0) => ["Tỉnh/Thành phố", "Mã xã", "Xã/Phường"],
        (Lang::Vi, 1) => ["Xã/Phường", "Mã thôn", "Thôn/Tổ dân phố"],
        (Lang::Vi, _) => ["Số thôn", "Mã tổ", "Tổ công nghệ số"],
        (Lang::En, 0) => ["Province", "Commune code", "Commune"],
        (Lang::En, 1) => ["Commune", "Village id", "Village"],
        (Lang::En, _) => ["Villages", "Team id", "Team"],
    };
    let totals = match lang {
        Lang::Vi => ["Hộ đã đăng ký", "Hộ đã được hỗ trợ", "Tỷ lệ (%)"],
        Lang::En => ["Households registered", "Households visited", "Reached (%)"],
    };
    [unit[0], unit[1], unit[2], totals[0], totals[1], totals[2]]
}

/// Fills totals sheet `index` with one row per unit; the commune sheet gets
/// a bar chart of coverage.
fn tally_sheet(
    book: &mut Workbook,
    index: usize,
    units: &BTreeMap<String, Tally>,
    lang: Lang,
) -> Result<(), String> {
    let name = summary_names(lang)[index];
    let text = XlsxFormat::new().set_num_format("@");
    let sheet = book
        .worksheet_from_index(index)
        .map_err(|e| e.to_string())?;
    for (i, h) in tally_heads(lang, index).iter().enumerate() {
        sheet
            .write_string(0, i as u16, *h)
            .map_err(|e| e.to_string())?;
    }
    let mut row = 1u32;
    for (code, t) in units {
        let pct = if t.households == 0 {
            0.0
        } else {
            (t.visited as f64) * 100.0 / (t.households as f64)
        };
        sheet
            .write_string(row, 0, &t.parent)
            .map_err(|e| e.to_string())?;
        sheet
            .write_string_with_format(row, 1, code, &text)
            .map_err(|e| e.to_string())?;
        sheet
            .write_string(row, 2, &t.name)
            .map_err(|e| e.to_string())?;
        sheet
            .write_number(row, 3, t.households as f64)
            .map_err(|e| e.to_string())?;
        sheet
            .write_number(row, 4, t.visited as f64)
            .map_err(|e| e.to_string())?;
        sheet
            .write_number(row, 5, (pct * 10.0).round() / 10.0)
            .map_err(|e| e.to_string())?;
        row += 1;
    }
    if index == 0 && row > 1 {
        let title = match lang {
            Lang::Vi => "Tỷ lệ hộ được hỗ trợ theo xã (%)",
            Lang::En => "Households reached by commune (%)",
        };
        let last = row - 1;
        let mut chart = Chart::new(ChartType::Bar);
        chart
            .add_series()
            .set_categories((name, 1, 2, last, 2))
            .set_values((name, 1, 5, last, 5))
            .set_name(title);
        chart.title().set_name(title);
        sheet
            .insert_chart(1, 7, &chart)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The villages' totals summed by the team serving each.
fn team_tallies(
    storage: &dyn Storage,
    scope: &AreaScope,
    villages: &BTreeMap<String, Tally>,
    lang: Lang,
) -> Result<BTreeMap<String, Tally>, StorageError> {
    let roster = storage.report_roster(scope)?;
    let mut teams: BTreeMap<String, Tally> = BTreeMap::new();
    // The first column of a team's row is the number of villages it serves.
    let mut served: BTreeMap<String, u64> = BTreeMap::new();
    for v in &roster.villages {
        let Some(t) = &v.team_id else { continue };
        if !teams.contains_key(t) {
            let name = storage.team(t)?.map(|t| t.name).unwrap_or_default();
            teams.insert(
                t.clone(),
                Tally {
                    name,
                    ..Tally::default()
                },
            );
        }
        *served.entry(t.clone()).or_default() += 1;
        if let (Some(entry), Some(vt)) = (teams.get_mut(t), villages.get(&v.id)) {
            entry.households += vt.households;
            entry.visited += vt.visited;
        }
    }
    for (t, n) in &served {
        if let Some(entry) = teams.get_mut(t) {
            entry.parent = n.to_string();
        }
    }
    let unserved: Vec<&Tally> = villages
        .iter()
        .filter(|(id, _)| {
            !roster
                .villages
                .iter()
                .any(|v| &v.id == *id && v.team_id.is_some())
        })
        .map(|(_, t)| t)
        .collect();
    if !unserved.is_empty() {
        let mut none = Tally {
            parent: unserved.len().to_string(),
            name: match lang {
                Lang::Vi => "(chưa có tổ)".into(),
                Lang::En => "(no team)".into(),
            },
            ..Tally::default()
        };
        for t in unserved {
            none.households += t.households;
            none.visited += t.visited;
        }
        if none.households > 0 {
            teams.insert(String::new(), none);
        }
    }
    Ok(teams)
}

/// Writes the extract of `scope` (households whose rows changed after
/// `since`) to `out` under `request`'s rules.
pub fn write_extract(
    storage: &dyn Storage,
    scope: &AreaScope,
    since: u64,
    request: &Request,
    key: &PseudonymKey,
    out: &Path,
) -> Result<ExportOutcome, ExportError> {
    request.check()?;
    let partial = partial_path(out);
    let result = write_to(storage, scope, since, request, key, &partial, out);
    into_place(&partial, out, result)
}

/// Renames the complete `partial` to `out`, or removes it when writing it
/// failed.
pub(super) fn into_place<T>(
    partial: &Path,
    out: &Path,
    result: Result<T, ExportError>,
) -> Result<T, ExportError> {
    match result {
        Ok(outcome) => {
            std::fs::rename(partial, out).map_err(|e| {
                let _ = std::fs::remove_file(partial);
                ExportError::Write(format!("{}: {e}", out.display()))
            })?;
            Ok(outcome)
        }
        Err(e) => {
            let _ = std::fs::remove_file(partial);
            Err(e)
        }
    }
}

pub(super) fn partial_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    out.with_file_name(name)
}

fn write_to(
    storage: &dyn Storage,
    scope: &AreaScope,
    since: u64,
    request: &Request,
    key: &PseudonymKey,
    partial: &Path,
    out: &Path,
) -> Result<ExportOutcome, ExportError> {
    let create = || {
        File::create(partial)
            .map(BufWriter::new)
            .map_err(|e| ExportError::Write(format!("{}: {e}", partial.display())))
    };
    let target = match request.format {
        Format::Csv => {
            let zip = CsvZip::create(create()?, request.csv_excel_text)?;
            let rules = Rules {
                request: request.clone(),
                key: key.clone(),
                persons_without_consent: 0,
            };
            Target::Csv {
                rows: Box::new(CsvRows::start(zip, rules)?),
            }
        }
        Format::Xlsx => {
            let mut book = Workbook::new();
            // The fastest deflate, as for CSV: a province's workbook is
            // mostly compression time at the default level, for a file
            // about a tenth larger.
            book.set_zip_compression_level(1);
            // The summaries first, filled at the end: the analyst opens the
            // file on them.
            for name in summary_names(request.lang) {
                book.add_worksheet()
                    .set_name(name)
                    .map_err(|e| ExportError::Write(e.to_string()))?;
            }
            // Constant-memory sheets spill to temporary files next to the
            // extract rather than in a system folder that may be small.
            if let Some(dir) = partial.parent().filter(|d| !d.as_os_str().is_empty()) {
                book.set_tempdir(dir)
                    .map_err(|e| ExportError::Write(e.to_string()))?;
            }
            Target::Xlsx {
                book: Box::new(book),
                sheet: None,
                row: 0,
            }
        }
        Format::Jsonl => Target::Jsonl { out: create()? },
    };
    let mut sink = Sink {
        part: 0,
        rules: Rules {
            request: request.clone(),
            key: key.clone(),
            persons_without_consent: 0,
        },
        target,
        table: None,
        rows: BTreeMap::new(),
        summary: Summary::default(),
    };
    let cursor = storage.extract(scope, since, &mut sink)?;
    sink.close_table()?;
    // A CSV's rows were counted where they were formatted.
    let csv = match &mut sink.target {
        Target::Csv { rows } => {
            let done = rows.finish()?;
            sink.rows = done.rows.clone();
            sink.rules.persons_without_consent = done.persons_without_consent;
            Some(done.zip)
        }
        _ => None,
    };
    let outcome = ExportOutcome {
        path: out.to_path_buf(),
        format: match request.format {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Jsonl => "jsonl",
        },
        pii: request.pii.as_str(),
        rows: sink.rows.clone(),
        persons_without_consent: sink.rules.persons_without_consent,
        cursor,
    };
    let manifest = json!({
        "format": outcome.format,
        "pii": outcome.pii,
        "since": since,
        "cursor": cursor,
        "rows": outcome.rows,
        "persons_without_consent": outcome.persons_without_consent,
        "generated_at": time_text(crate::now()),
    });
    let w = |e: String| ExportError::Write(e);
    match sink.target {
        Target::Csv { .. } => {
            let Some(zip) = csv else {
                return Err(w("the CSV writer stopped".into()));
            };
            zip.finish(manifest.to_string().as_bytes())?;
        }
        Target::Xlsx { mut book, .. } => {
            let lang = request.lang;
            let teams = team_tallies(storage, scope, &sink.summary.villages, lang)?;
            tally_sheet(&mut book, 0, &sink.summary.communes, lang).map_err(w)?;
            tally_sheet(&mut book, 1, &sink.summary.villages, lang).map_err(w)?;
            tally_sheet(&mut book, 2, &teams, lang).map_err(w)?;
            book.save(partial).map_err(|e| w(e.to_string()))?;
        }
        Target::Jsonl { mut out } => {
            let mut m = manifest;
            if let Value::Object(o) = &mut m {
                o.insert("table".into(), json!("_manifest"));
            }
            serde_json::to_writer(&mut out, &m).map_err(|e| w(e.to_string()))?;
            out.write_all(b"\n").map_err(|e| w(e.to_string()))?;
            out.flush().map_err(|e| w(e.to_string()))?;
        }
    }
    Ok(outcome)
}
