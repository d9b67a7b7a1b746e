//! The packed digits file that the digits examples train on decodes to scikit-learn's
//! `load_digits`: image count, split sizes, labels and pixels checked against values
//! read from scikit-learn.

#[path = "../examples/shared/digits.rs"]
mod digits;

use digits::{Digits, Distortion, IMAGES, Split};
use stackprop::{Dataset, Error};

fn sample(data: &Digits, index: usize) -> ([f32; 64], usize) {
    let (mut x, mut t) = ([0.0; 64], [0.0; 10]);
    data.load(index, &mut x, &mut t).expect("in range");
    let hot: Vec<usize> = (0..10).filter(|&c| t[c] == 1.0).collect();
    assert_eq!(hot.len(), 1, "one-hot target");
    assert_eq!(t.iter().sum::<f32>(), 1.0);
    (x, hot[0])
}

fn pixels(x: &[f32]) -> Vec<u8> {
    x.iter().map(|&p| (p * 16.0).round() as u8).collect()
}

#[test]
fn the_file_holds_the_1797_images_split_1438_to_359() {
    assert_eq!(IMAGES, 1797);
    assert_eq!(Digits::new(Split::Train).len(), 1438);
    assert_eq!(Digits::new(Split::HeldOut).len(), 359);
}

#[test]
fn pixels_and_labels_match_scikit_learn() {
    let train = Digits::new(Split::Train);
    let held_out = Digits::new(Split::HeldOut);
    // Image 0, a zero: its first two rows in scikit-learn.
    let (x, label) = sample(&train, 0);
    assert_eq!(label, 0);
    assert_eq!(
        pixels(&x[..16]),
        [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0]
    );
    // Images 0..10 are the digits 0..9; the training split skips image 4.
    let labels: Vec<usize> = (0..8).map(|i| sample(&train, i).1).collect();
    assert_eq!(labels, [0, 1, 2, 3, 5, 6, 7, 8]);
    assert_eq!(sample(&held_out, 0).1, 4);
    assert_eq!(sample(&held_out, 1).1, 9);
    // The last image, 1796, an eight: its last row.
    let (x, label) = sample(&train, 1437);
    assert_eq!(label, 8);
    assert_eq!(pixels(&x[56..]), [0, 1, 8, 12, 14, 12, 1, 0]);
}

#[test]
fn class_counts_match_scikit_learn() {
    let mut counts = [0; 10];
    let held_out = Digits::new(Split::HeldOut);
    for i in 0..held_out.len() {
        counts[sample(&held_out, i).1] += 1;
    }
    assert_eq!(counts, [27, 21, 34, 52, 34, 28, 31, 43, 47, 42]);
    let train = Digits::new(Split::Train);
    for i in 0..train.len() {
        counts[sample(&train, i).1] += 1;
    }
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
}

#[test]
fn every_pixel_is_in_range_and_past_the_end_is_an_error() {
    for split in [Split::Train, Split::HeldOut] {
        let data = Digits::new(split);
        for i in 0..data.len() {
            let (x, _) = sample(&data, i);
            assert!(x.iter().all(|p| (0.0..=1.0).contains(p)));
        }
        let (mut x, mut t) = ([0.0; 64], [0.0; 10]);
        assert_eq!(
            data.load(data.len(), &mut x, &mut t),
            Err(Error::IndexOutOfRange {
                index: data.len(),
                len: data.len()
            })
        );
    }
}

#[test]
fn a_distortion_shifts_and_rescales() {
    let plain = Digits::new(Split::Train);
    let moved = Digits::distorted(
        Split::Train,
        Distortion {
            shift_right: 1,
            gain: 0.5,
            offset: 0.25,
        },
    );
    let (x, _) = sample(&plain, 0);
    let (y, _) = sample(&moved, 0);
    for row in 0..8 {
        assert_eq!(y[row * 8], 0.0, "the column shifted in is blank");
        for col in 1..8 {
            assert_eq!(y[row * 8 + col], 0.5 * x[row * 8 + col - 1] + 0.25);
        }
    }
}
