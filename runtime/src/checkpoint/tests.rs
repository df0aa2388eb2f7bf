use super::*;

#[test]
fn object_names_round_trip() {
    let n = object_name("jobs/fraud", "tx-p3", 42);
    assert_eq!(n, "jobs/fraud/tx-p3/00000000000000000042.ckpt");
    assert_eq!(parse_object_name("jobs/fraud", &n), Some(("tx-p3", 42)));
    assert_eq!(parse_object_name("jobs", &n), None);
    assert_eq!(parse_object_name("jobs/fraud", "jobs/fraud/tx-p3/42.ckpt"), None);
    assert_eq!(parse_object_name("jobs/fraud", "jobs/fraud/tx-p3/.tmp-1-x"), None);
}

fn file(index: u32, count: u32, kg: KeyGroups) -> TaskFile {
    TaskFile {
        meta: Meta {
            checkpoint_id: 1,
            task: TaskLayout::new(format!("t{index}"), index, count, kg),
            sources: SourceState::default(),
            operators: Vec::new(),
            created_at_ms: 0,
        },
        ops: BTreeMap::new(),
    }
}

#[test]
fn completeness_needs_every_key_group() {
    let kg = KeyGroups::new(16);
    assert!(check_complete(&[file(0, 3, kg), file(1, 3, kg), file(2, 3, kg)]).is_ok());
    assert!(check_complete(&[file(0, 3, kg), file(2, 3, kg)]).is_err());
    assert!(check_complete(&[file(0, 3, kg), file(1, 3, kg)]).is_err());
    assert!(check_complete(&[file(0, 2, kg), file(1, 3, kg), file(2, 3, kg)]).is_err());
    assert!(check_complete(&[file(0, 1, kg)]).is_ok());
    assert!(check_complete(&[file(0, 1, kg), file(0, 1, kg)]).is_err());
}

#[test]
fn union_state_has_one_owner_per_blob() {
    let kg = KeyGroups::new(8);
    let mut files: Vec<TaskFile> = (0..3).map(|i| file(i, 3, kg)).collect();
    for f in &mut files {
        f.ops.insert(
            "r".into(),
            (
                vec![vec![f.meta.task.index as u8]],
                (0..8)
                    .map(|g| KeyedEntry {
                        group: g,
                        key: vec![g as u8],
                        value: vec![],
                    })
                    .filter(|e| f.meta.task.range.contains(e.group))
                    .collect(),
            ),
        );
    }
    for new_count in 1..=4u32 {
        let mut owners = vec![0; 3];
        let mut keys = 0;
        for j in 0..new_count {
            let st = assemble(&files, kg, &Assignment::new(j, new_count, []), 1);
            let op = st.operator("r").unwrap();
            assert_eq!(op.shared.len(), 3, "every task sees every blob");
            for s in &op.shared {
                if s.owner {
                    owners[s.task as usize] += 1;
                }
            }
            assert!(op.keyed.iter().all(|e| st.range.contains(e.group)));
            keys += op.keyed.len();
        }
        assert_eq!(owners, vec![1, 1, 1], "{new_count} tasks");
        assert_eq!(keys, 8);
    }
}
