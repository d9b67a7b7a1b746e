//! The drift scenario of the examples `drift` and `fw_drift`: the replay variant meets
//! its goals, naive fine-tuning forgets, and a reset after any day resumes from the
//! checkpoint in flash to the same final numbers as an uninterrupted run.

#[path = "../examples/shared/digits.rs"]
mod digits;
#[rustfmt::skip]
#[path = "../examples/data/digits_base.rs"]
mod digits_base;
#[path = "../examples/shared/drift.rs"]
mod drift;

use drift::{CHECKPOINT_LEN, DAYS, Day, Drift, SimFlash};

fn scenario(reset_after: Option<usize>) -> Vec<Day> {
    let mut state = Box::new(Drift::START);
    let mut flash = Box::new(SimFlash::ERASED);
    let mut scratch = Box::new([0u8; CHECKPOINT_LEN]);
    let mut days = Vec::new();
    drift::run(&mut state, &mut flash, &mut scratch, reset_after, |d| {
        days.push(*d)
    })
    .unwrap();
    days
}

#[test]
fn replay_keeps_the_old_sensor_and_learns_the_new_one_where_naive_forgets() {
    let days = scenario(None);
    assert_eq!(days.len(), DAYS + 1);
    let (start, last) = (days[0], days[DAYS]);
    assert!(Drift::goals_met(&start, &last));
    // The figures the README quotes (held-out images correct out of 359), measured
    // with the default libm backend.
    #[cfg(not(feature = "micromath"))]
    {
        assert_eq!(start.replay.old.correct, 348);
        assert_eq!(
            (
                last.frozen.new.correct,
                last.naive.old.correct,
                last.naive.new.correct
            ),
            (122, 312, 213)
        );
        assert_eq!(
            (last.replay.old.correct, last.replay.new.correct),
            (344, 326)
        );
    }
    // Naive fine-tuning forgets the old sensor by more than the goal allows.
    assert!(start.naive.old.accuracy() - last.naive.old.accuracy() > 0.05);
}

#[test]
fn a_reset_after_any_day_resumes_to_the_same_numbers() {
    let straight = scenario(None);
    for k in [1, 12, DAYS - 1] {
        assert_eq!(scenario(Some(k)), straight, "reset after day {k}");
    }
}
