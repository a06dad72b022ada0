//! The change bundle: the changes one store has that another lacks, as bytes that
//! travel by any means (a function call, a file, a QR code, the sync server's
//! push and pull). An item is an Automerge change or a whole saved document
//! (bootstrap snapshots); Automerge's own chunk header tells which. Layout, all integers big-endian:
//!
//! ```text
//! "GOCUA-CHANGES/1\n"                         16-byte magic
//! repeated: u16 id length, id (UTF-8),
//!           u32 change count, repeated: u32 length, Automerge change bytes
//! ```

/// A bundle that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid change bundle: {0}")]
pub struct BundleError(pub String);

type Result<T, E = BundleError> = std::result::Result<T, E>;

pub const MAGIC: &[u8; 16] = b"GOCUA-CHANGES/1\n";
const MAX_ID: usize = 64;
/// One change larger than this is refused: a form edit is well under a kilobyte.
const MAX_CHANGE: usize = 16 * 1024 * 1024;

/// The changes of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocChanges {
    pub doc_id: String,
    pub changes: Vec<Vec<u8>>,
}

pub fn encode(docs: &[DocChanges]) -> Vec<u8> {
    let size: usize = docs
        .iter()
        .map(|d| 6 + d.doc_id.len() + d.changes.iter().map(|c| 4 + c.len()).sum::<usize>())
        .sum();
    let mut out = Vec::with_capacity(MAGIC.len() + size);
    out.extend_from_slice(MAGIC);
    for d in docs {
        encode_doc(&mut out, &d.doc_id, &d.changes);
    }
    out
}

/// Appends one document's changes to a bundle being written piece by piece
/// (after [`MAGIC`]): a bundle too large to hold whole, such as a bootstrap,
/// is sent as it is made. `doc_id` is at most 64 bytes (the caller's ids are).
pub fn encode_doc(out: &mut Vec<u8>, doc_id: &str, changes: &[Vec<u8>]) {
    out.extend_from_slice(&(doc_id.len() as u16).to_be_bytes());
    out.extend_from_slice(doc_id.as_bytes());
    out.extend_from_slice(&(changes.len() as u32).to_be_bytes());
    for c in changes {
        out.extend_from_slice(&(c.len() as u32).to_be_bytes());
        out.extend_from_slice(c);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(BundleError(format!(
                "truncated at byte {} while reading {what}",
                self.pos
            ))),
        }
    }

    fn u16(&mut self, what: &str) -> Result<usize> {
        let b = self.take(2, what)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self, what: &str) -> Result<usize> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
}

pub fn decode(buf: &[u8]) -> Result<Vec<DocChanges>> {
    if buf.len() < MAGIC.len() || &buf[..MAGIC.len()] != MAGIC {
        return Err(BundleError(
            "not a gocua change bundle (wrong header)".into(),
        ));
    }
    let mut r = Reader {
        buf,
        pos: MAGIC.len(),
    };
    let mut docs = Vec::new();
    while r.pos < buf.len() {
        let id_len = r.u16("a document id length")?;
        if id_len == 0 || id_len > MAX_ID {
            return Err(BundleError(format!(
                "document id length {id_len} at byte {}",
                r.pos
            )));
        }
        let id = std::str::from_utf8(r.take(id_len, "a document id")?)
            .map_err(|_| BundleError("a document id is not UTF-8".into()))?
            .to_string();
        let count = r.u32("a change count")?;
        let mut changes = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let len = r.u32("a change length")?;
            if len > MAX_CHANGE {
                return Err(BundleError(format!(
                    "a change of {len} bytes is larger than allowed"
                )));
            }
            changes.push(r.take(len, "a change")?.to_vec());
        }
        docs.push(DocChanges {
            doc_id: id,
            changes,
        });
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let docs = vec![
            DocChanges {
                doc_id: "a".into(),
                changes: vec![vec![1, 2, 3], vec![]],
            },
            DocChanges {
                doc_id: "b".into(),
                changes: vec![],
            },
        ];
        assert_eq!(decode(&encode(&docs)).unwrap(), docs);
    }

    #[test]
    fn truncated_and_foreign_input_is_refused() {
        let bytes = encode(&[DocChanges {
            doc_id: "abc".into(),
            changes: vec![vec![9; 40]],
        }]);
        for cut in 0..bytes.len() {
            if cut == MAGIC.len() {
                continue; // an empty bundle is valid
            }
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(b"hello").is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut input = MAGIC.to_vec();
            input.extend(bytes);
            let _ = decode(&input);
        }
    }
}
