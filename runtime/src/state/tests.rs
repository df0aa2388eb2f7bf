//! The same tests against every backend.

use super::*;

fn backends(dir: &Path) -> Vec<Box<dyn StateBackend>> {
    vec![
        Box::new(MemoryBackend::new()),
        Box::new(RocksDbBackend::open(dir.join("rocks")).expect("opens")),
    ]
}

fn each(test: impl Fn(&mut dyn StateBackend, &Path)) {
    let dir = tempfile::tempdir().expect("temp dir");
    for mut b in backends(dir.path()) {
        let sub = dir.path().join(b.kind());
        std::fs::create_dir_all(&sub).unwrap();
        test(b.as_mut(), &sub);
    }
}

fn keys(b: &dyn StateBackend, prefix: &[u8]) -> Vec<Vec<u8>> {
    b.scan_prefix_vec(prefix).unwrap().into_iter().map(|(k, _)| k).collect()
}

#[test]
fn get_put_delete() {
    each(|b, _| {
        assert_eq!(b.get(b"a").unwrap(), None);
        b.put(b"a", b"1").unwrap();
        b.put(b"b", b"").unwrap();
        assert_eq!(b.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(b.get(b"b").unwrap().as_deref(), Some(&b""[..]), "{}", b.kind());
        b.put(b"a", b"2").unwrap();
        assert_eq!(b.get(b"a").unwrap().as_deref(), Some(&b"2"[..]));
        b.delete(b"a").unwrap();
        b.delete(b"never").unwrap();
        assert_eq!(b.get(b"a").unwrap(), None);
    });
}

#[test]
fn prefix_scans_are_ordered_and_bounded() {
    each(|b, _| {
        for k in [&b"p/2"[..], b"p/10", b"p/1", b"p", b"q/1", b"o/9", b"p/\xff\xff", b"p0"] {
            b.put(k, k).unwrap();
        }
        assert_eq!(
            keys(b, b"p/"),
            vec![b"p/1".to_vec(), b"p/10".to_vec(), b"p/2".to_vec(), b"p/\xff\xff".to_vec()],
            "{}",
            b.kind()
        );
        assert_eq!(keys(b, b"").len(), 8);
        assert!(keys(b, b"z").is_empty());
        for (k, v) in b.scan_prefix_vec(b"q").unwrap() {
            assert_eq!(k, v);
        }
    });
}

#[test]
fn batches_apply_in_order() {
    each(|b, _| {
        b.put(b"c/old/1", b"x").unwrap();
        b.put(b"c/old/2", b"x").unwrap();
        b.put(b"d", b"keep").unwrap();
        let mut batch = WriteBatch::new();
        batch.delete_prefix(b"c/").put(b"c/new", b"1").put(b"e", b"1").delete(b"e").put(b"f", b"2");
        assert_eq!(batch.len(), 5);
        b.commit(batch).unwrap();
        assert_eq!(keys(b, b"c/"), vec![b"c/new".to_vec()], "{}", b.kind());
        assert_eq!(b.get(b"d").unwrap().as_deref(), Some(&b"keep"[..]));
        assert_eq!(b.get(b"e").unwrap(), None);
        assert_eq!(b.get(b"f").unwrap().as_deref(), Some(&b"2"[..]));
    });
}

#[test]
fn snapshot_and_restore() {
    each(|b, dir| {
        for i in 0..500u32 {
            b.put(format!("k/{i:04}").as_bytes(), &i.to_le_bytes()).unwrap();
        }
        let snap = dir.join("snap-1");
        b.snapshot_to(&snap).unwrap();
        assert!(b.snapshot_to(&snap).is_err(), "{}: target exists", b.kind());
        // Changes after the snapshot are undone by the restore.
        let mut batch = WriteBatch::new();
        batch.delete_prefix(b"k/").put(b"later", b"1");
        b.commit(batch).unwrap();
        assert!(keys(b, b"k/").is_empty());
        b.restore_from(&snap).unwrap();
        assert_eq!(keys(b, b"k/").len(), 500, "{}", b.kind());
        assert_eq!(b.get(b"later").unwrap(), None);
        assert_eq!(b.get(b"k/0042").unwrap().as_deref(), Some(&42u32.to_le_bytes()[..]));
        // The store keeps working after a restore.
        b.put(b"after", b"1").unwrap();
        assert_eq!(b.get(b"after").unwrap().as_deref(), Some(&b"1"[..]));
        // A folder that is not a snapshot is refused and the state is kept.
        let junk = dir.join("junk");
        std::fs::create_dir_all(&junk).unwrap();
        assert!(b.restore_from(&junk).is_err());
        assert_eq!(keys(b, b"k/").len(), 500, "{}", b.kind());
    });
}

#[test]
fn rocksdb_batches_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut b = RocksDbBackend::open(dir.path()).unwrap();
        let mut batch = WriteBatch::new();
        for i in 0..100u32 {
            batch.put(format!("s/{i}"), vec![1u8; 100]);
        }
        b.commit(batch).unwrap();
    }
    let b = RocksDbBackend::open(dir.path()).unwrap();
    assert_eq!(keys(&b, b"s/").len(), 100);
}

#[test]
fn memory_snapshot_detects_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = MemoryBackend::new();
    b.put(b"a", b"1").unwrap();
    let snap = dir.path().join("s");
    b.snapshot_to(&snap).unwrap();
    let file = snap.join("memory-state.bin");
    let mut data = std::fs::read(&file).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0x40;
    std::fs::write(&file, &data).unwrap();
    let mut c = MemoryBackend::new();
    c.put(b"mine", b"1").unwrap();
    assert!(c.restore_from(&snap).is_err());
    assert_eq!(c.get(b"mine").unwrap().as_deref(), Some(&b"1"[..]));
}

#[test]
fn prefix_end_skips_ff() {
    assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
    assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
    assert_eq!(prefix_end(b"\xff\xff"), None);
}
