//! What gocua reads of Automerge's chunk header (magic 4 bytes, checksum 4
//! bytes, chunk type 1 byte): an item of a change bundle is a change or a
//! whole saved document (a bootstrap snapshot), and a change whose checksum
//! does not match its bytes was damaged on the way.

/// The chunk type of a saved document.
pub const DOCUMENT: u8 = 0;
/// The chunk type of a change.
pub const CHANGE: u8 = 1;
/// The chunk type of a deflated change.
pub const COMPRESSED_CHANGE: u8 = 2;

/// Where the chunk type is.
const TYPE_AT: usize = 8;

/// Whether a bundle item is a whole saved document rather than a change.
pub fn is_document(item: &[u8]) -> bool {
    item.get(TYPE_AT) == Some(&DOCUMENT)
}

/// Whether a change's checksum (bytes 4..8, the first bytes of its hash)
/// matches its hash. Automerge's `Change::from_bytes` does not check it: a
/// flipped bit would otherwise read as a different, valid-looking change.
pub fn checksum_matches(raw: &[u8], hash: &[u8; 32]) -> bool {
    raw.get(4..TYPE_AT) == Some(&hash[..4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_read_where_automerge_writes_it() {
        let mut item = vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, DOCUMENT, 0];
        assert!(is_document(&item));
        item[8] = CHANGE;
        assert!(!is_document(&item));
        assert!(!is_document(&item[..8]));
        let mut hash = [0u8; 32];
        hash[..4].copy_from_slice(&[1, 2, 3, 4]);
        assert!(checksum_matches(&item, &hash));
        hash[0] = 9;
        assert!(!checksum_matches(&item, &hash));
        assert!(!checksum_matches(&item[..6], &hash));
    }
}
