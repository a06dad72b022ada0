//! The zipped CSV files of an extract, written on two threads: rows are
//! formatted where they are read (the SQLite read and the rules take one
//! core) and deflated on a second thread (the other core), connected by a
//! bounded queue of chunks so that memory stays bounded however large the
//! extract. One `csv::Writer` serves every file: nothing is allocated per
//! row or per cell once the first rows are written.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::write::{Out, io};
use crate::storage::StorageError;

/// Bytes handed to the zip thread at a time: the queue costs nothing per
/// row, and `QUEUE` chunks are a few MB.
const CHUNK: usize = 256 * 1024;
/// Chunks waiting for the zip thread, at most.
const QUEUE: usize = 8;

enum ToZip {
    File(String, zip::write::SimpleFileOptions),
    Bytes(Vec<u8>),
    /// Complete the zip and stop.
    End,
}

/// Cuts what the CSV writer writes into chunks for the zip thread.
struct Chunks {
    tx: SyncSender<ToZip>,
    buf: Vec<u8>,
}

fn stopped() -> std::io::Error {
    std::io::Error::other("the zip writer stopped")
}

impl Chunks {
    fn send(&mut self, m: ToZip) -> std::io::Result<()> {
        self.tx.send(m).map_err(|_| stopped())
    }

    fn send_buf(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.send(ToZip::Bytes(full))
    }
}

impl Write for Chunks {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send_buf()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send_buf()
    }
}

fn zip_thread(file: BufWriter<File>, rx: Receiver<ToZip>) -> Result<(), String> {
    let mut zip = zip::ZipWriter::new(file);
    for m in rx {
        match m {
            ToZip::End => break,
            ToZip::File(name, options) => {
                zip.start_file(name, options).map_err(|e| e.to_string())?
            }
            ToZip::Bytes(b) => zip.write_all(&b).map_err(|e| e.to_string())?,
        }
    }
    let mut file = zip.finish().map_err(|e| e.to_string())?;
    file.flush().map_err(|e| e.to_string())
}

/// The CSV files of one extract, zipped into one file.
pub(super) struct CsvZip {
    csv: csv::Writer<Chunks>,
    /// The queue's other end, for what is not CSV (a new file, the BOM, the
    /// manifest), sent after the CSV writer's flush so the order holds.
    tx: SyncSender<ToZip>,
    zip: Option<JoinHandle<Result<(), String>>>,
    /// Codes as Excel text formulas (`="0912…"`).
    excel_text: bool,
    /// A cell being formatted (a number, a code as a formula).
    cell: String,
}

impl CsvZip {
    pub(super) fn create(file: BufWriter<File>, excel_text: bool) -> Result<CsvZip, StorageError> {
        let (tx, rx) = sync_channel(QUEUE);
        let zip = std::thread::Builder::new()
            .name("extract-zip".into())
            .spawn(move || zip_thread(file, rx))
            .map_err(io)?;
        Ok(CsvZip {
            // Flexible: one writer serves tables of different widths.
            csv: csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Chunks {
                    tx: tx.clone(),
                    buf: Vec::with_capacity(CHUNK),
                }),
            tx,
            zip: Some(zip),
            excel_text,
            cell: String::new(),
        })
    }

    /// Why writing failed: the zip thread's own error when it stopped.
    fn failed(&mut self, e: impl std::fmt::Display) -> StorageError {
        // Stops the zip thread if it still runs, so that it can be joined.
        let _ = self.tx.send(ToZip::End);
        if let Some(z) = self.zip.take() {
            match z.join() {
                Ok(Err(why)) => return io(why),
                Err(_) => return io("the zip writer panicked"),
                Ok(Ok(())) => {}
            }
        }
        io(e)
    }

    /// Hands over what is written so far and starts the file `name`.
    fn start(
        &mut self,
        name: String,
        options: zip::write::SimpleFileOptions,
    ) -> Result<(), StorageError> {
        let r = self.csv.flush().and_then(|()| {
            self.tx
                .send(ToZip::File(name, options))
                .map_err(|_| stopped())
        });
        r.map_err(|e| self.failed(e))
    }

    /// Starts the CSV file `name`.csv with its header.
    pub(super) fn start_table(&mut self, name: &str, headers: &[&str]) -> Result<(), StorageError> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // The fastest level: a province's CSV is hundreds of MB, and
            // deflating it at the default level took about half the
            // extract's time for a few percent of size.
            .compression_level(Some(1));
        self.start(format!("{name}.csv"), options)?;
        // Excel reads a CSV as UTF-8 only after a byte-order mark.
        let r = self
            .tx
            .send(ToZip::Bytes("\u{feff}".as_bytes().to_vec()))
            .map_err(|_| csv::Error::from(stopped()))
            .and_then(|()| self.csv.write_record(headers));
        r.map_err(|e| self.failed(e))
    }

    /// One row.
    pub(super) fn record(
        &mut self,
        cells: impl IntoIterator<Item = Out>,
    ) -> Result<(), StorageError> {
        let r = self.write_record(cells);
        r.map_err(|e| self.failed(e))
    }

    fn write_record(&mut self, cells: impl IntoIterator<Item = Out>) -> csv::Result<()> {
        for o in cells {
            let c = &mut self.cell;
            match o {
                Out::Null => self.csv.write_field(b"")?,
                Out::Text(t) => self.csv.write_field(t)?,
                // ="0912…" keeps Excel from dropping leading zeros or
                // turning a 12-digit number into 1.2E+11.
                Out::Code(t) if self.excel_text && !t.is_empty() => {
                    c.clear();
                    c.push_str("=\"");
                    for part in t.split_inclusive('"') {
                        c.push_str(part);
                        if part.ends_with('"') {
                            c.push('"');
                        }
                    }
                    c.push('"');
                    self.csv.write_field(&*c)?;
                }
                Out::Code(t) => self.csv.write_field(t)?,
                Out::Int(n) => {
                    c.clear();
                    let _ = write!(c, "{n}");
                    self.csv.write_field(&*c)?;
                }
                Out::Float(x) => {
                    c.clear();
                    let _ = write!(c, "{x}");
                    self.csv.write_field(&*c)?;
                }
                Out::Bool(b) => self.csv.write_field(if b { "1" } else { "0" })?,
            }
        }
        self.csv.write_record(None::<&[u8]>)
    }

    /// Adds `manifest.json` and completes the zip.
    pub(super) fn finish(mut self, manifest: &[u8]) -> Result<(), StorageError> {
        self.start(
            "manifest.json".into(),
            zip::write::SimpleFileOptions::default(),
        )?;
        let r = self
            .tx
            .send(ToZip::Bytes(manifest.to_vec()))
            .and_then(|()| self.tx.send(ToZip::End));
        r.map_err(|e| self.failed(e))?;
        match self.zip.take().map(JoinHandle::join) {
            Some(Ok(Ok(()))) | None => Ok(()),
            Some(Ok(Err(why))) => Err(io(why)),
            Some(Err(_)) => Err(io("the zip writer panicked")),
        }
    }
}

impl Drop for CsvZip {
    fn drop(&mut self) {
        // A failed extract: stop the zip thread before the file is removed.
        if let Some(z) = self.zip.take() {
            let _ = self.tx.send(ToZip::End);
            let _ = z.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Read;

    use super::*;

    /// Tables of different widths through one writer, codes as formulas
    /// with their quotes doubled, more than a chunk of rows: read back as
    /// they were written, in order.
    #[test]
    fn tables_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.zip");
        let file = BufWriter::new(File::create(&path).unwrap());
        let mut z = CsvZip::create(file, true).unwrap();
        z.start_table("a", &["code", "n", "text"]).unwrap();
        let rows = 20_000;
        for i in 0..rows {
            z.record([
                Out::Code(format!("0{i}\"x")),
                Out::Int(i),
                Out::Text("phố, \"cũ\"".into()),
            ])
            .unwrap();
        }
        z.start_table("b", &["flag"]).unwrap();
        z.record([Out::Bool(true)]).unwrap();
        z.finish(b"{}").unwrap();
        let mut archive = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a.csv", "b.csv", "manifest.json"]);
        let mut a = Vec::new();
        archive
            .by_name("a.csv")
            .unwrap()
            .read_to_end(&mut a)
            .unwrap();
        assert!(a.len() > CHUNK, "more than one chunk");
        assert!(a.starts_with("\u{feff}".as_bytes()));
        let mut r = csv::Reader::from_reader(&a[3..]);
        assert_eq!(r.headers().unwrap(), vec!["code", "n", "text"]);
        let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), rows as usize);
        assert_eq!(records[7], vec!["=\"07\"\"x\"", "7", "phố, \"cũ\""]);
        let mut b = String::new();
        archive
            .by_name("b.csv")
            .unwrap()
            .read_to_string(&mut b)
            .unwrap();
        assert_eq!(b, "\u{feff}flag\n1\n");
    }
}
