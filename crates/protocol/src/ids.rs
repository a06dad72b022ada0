//! Ids both sides derive the same way: households' ids bound to their
//! document's first change, and villages' ids derived from their name.
//!
//! A household's id is derived from the hash of its first change (its
//! genesis), which sets the kind, the village and the containers. Nobody can
//! claim an id without holding that exact change, so a device cannot file
//! changes of its own under another village's household id before the
//! household's owner has pushed it. Both the devices and the server check the
//! binding (docs/protocol.md, "Integrity rules").
//!
//! Households created before this rule have random UUID v7 ids; for those the
//! first change must set the root `id` field to the document id.

use uuid::Uuid;

/// Villages have no national code: a device that registers a village offline
/// (`gocua init`) and the server (`gocua-server admin village add`) derive
/// its id from the commune and the folded name, so they agree on it (and so
/// on the households filed under it) before any enrollment.
pub fn village_id(commune_code: &str, name: &str) -> String {
    const NAMESPACE: Uuid = Uuid::from_u128(0x6f63_7561_2d76_696c_6c61_6765_0000_0001);
    let key = format!("{}/{}", commune_code.trim(), gocua_text::fold(name));
    Uuid::new_v5(&NAMESPACE, key.as_bytes()).to_string()
}

/// The id of the household whose first change has this hash: a UUID of
/// version 8 made of the hash's first 16 bytes.
pub fn derived_doc_id(genesis_hash: &[u8; 32]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&genesis_hash[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid().to_string()
}

/// Whether `id` is of the derived form (else a legacy id).
pub fn is_derived(id: &str) -> bool {
    Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 8)
}

/// Whether `id` is the id derived from `genesis_hash`.
pub fn matches_genesis(id: &str, genesis_hash: &[u8; 32]) -> bool {
    Uuid::parse_str(id).is_ok_and(|u| u.to_string() == derived_doc_id(genesis_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_version_8_and_bound_to_the_hash() {
        let h = [7u8; 32];
        let id = derived_doc_id(&h);
        assert!(is_derived(&id));
        assert!(matches_genesis(&id, &h));
        assert!(matches_genesis(&id.to_uppercase(), &h));
        let mut other = h;
        other[3] ^= 1;
        assert!(!matches_genesis(&id, &other));
        // Pinned: devices and servers of every version must agree.
        assert_eq!(id, "07070707-0707-8707-8707-070707070707");
        assert!(!is_derived("01a2087c-9607-7350-a11f-65652077ec67"));
        assert!(!is_derived("not a uuid"));
    }

    #[test]
    fn village_ids_are_pinned_and_folded() {
        // Pinned: devices and servers of every version must agree.
        assert_eq!(
            village_id("00097", "Thôn Đông"),
            "c3da56a8-952a-5d6e-b3eb-97b31b1c3703"
        );
        assert_eq!(
            village_id(" 00097", " thon  dong "),
            village_id("00097", "Thôn Đông")
        );
        assert_ne!(
            village_id("00097", "Thôn Đông"),
            village_id("00097", "Thôn Tây")
        );
    }
}
