//! A hostile server's bytes against the client, as proptests over the same checks the
//! fuzz targets run (`tests/support/hostile.rs`; see docs/reliability.md#fuzzing): the
//! streaming log decoder, the typed answer of every function, and plan and schedule on
//! observed data with hostile values.

use crate::support::hostile;
use proptest::prelude::{any, prop, proptest};

/// Bodies that look like answers: JSON-ish pieces, escapes and quotes, and raw bytes.
fn body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::Strategy;
    let piece = proptest::prop_oneof![
        proptest::prelude::Just(b"{\"metadata\":{\"result\":1},\"data\":{\"log\":\"".to_vec()),
        proptest::prelude::Just(b"\",\"log\":\"".to_vec()),
        proptest::prelude::Just(b"\\u00".to_vec()),
        proptest::prelude::Just(b"\\ud83d\\ude00".to_vec()),
        proptest::prelude::Just(b"\\ud800".to_vec()),
        proptest::prelude::Just(b"\\n".to_vec()),
        proptest::prelude::Just(b"\\".to_vec()),
        proptest::prelude::Just(b"\"}}".to_vec()),
        proptest::prelude::Just(b"[[[[{".to_vec()),
        proptest::prelude::Just(b"\"data\":".to_vec()),
        proptest::prelude::Just(b"\"acct\":[{\"user\":\"a\",\"diskused\":\"1e19M\"}]".to_vec()),
        proptest::prelude::Just(b"\"result\":\"0\",\"reason\":\"\x1b[2J\"".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn the_log_decoder_gives_the_same_answer_however_a_body_is_cut(data in body()) {
        hostile::log_decoder_on_any_body(&data);
    }

    #[test]
    fn a_log_fetched_again_resumes_at_the_mark_to_the_same_text(data in prop::collection::vec(any::<u8>(), 0..200)) {
        hostile::log_resume_on_any_text(&data);
    }

    #[test]
    fn every_typed_answer_decodes_or_names_its_function(data in body()) {
        hostile::typed_answers_on_any_body(&data);
    }

    #[test]
    fn plan_and_schedule_survive_hostile_observed_values(data in prop::collection::vec(any::<u8>(), 0..400)) {
        hostile::plan_on_hostile_observed_data(&data, false);
    }

    #[test]
    fn plan_and_schedule_survive_hostile_sizes_and_counts(data in prop::collection::vec(any::<u8>(), 0..60)) {
        hostile::plan_on_hostile_observed_data(&data, true);
    }
}

/// Every number of the demo's observed state, throughput and pools replaced at once,
/// with each hostile value: 0 and u64::MAX are taken and planned with (before the
/// schedule saturated, u64::MAX sizes overflowed its work sums); the rest decode or
/// are refused, never a panic.
#[test]
fn plan_and_schedule_survive_every_number_hostile_at_once() {
    let mut taken = Vec::new();
    for pick in 0x80..=0x8f_u8 {
        if hostile::plan_on_hostile_observed_data(&[pick; 4096], true) {
            taken.push(pick - 0x80);
        }
    }
    for sizes in [0, 1] {
        assert!(
            taken.contains(&sizes),
            "hostile value {sizes} not taken: {taken:?}"
        );
    }
}
