//! Fine-tuning, the typical on-device learning job: the 64-32-10 digits classifier
//! trained on the host (`examples/data/digits_base.rs`, compiled into flash) meets a new
//! sensor whose images are washed out, and only its last layer learns the new
//! distribution. The hidden layer stays in flash as a [`FrozenRef`]: it takes no RAM,
//! no gradient and no optimizer state. Shared by the host example `finetune` and the
//! firmware example `fw_finetune`.

#![allow(dead_code)] // each example uses a different part

use stackprop::*;

use crate::digits::{Digits, Distortion, Split};
use crate::digits_base::{HIDDEN_B, HIDDEN_W, OUTPUT_B, OUTPUT_W};

/// The pre-trained hidden layer, in flash.
pub static HIDDEN: Dense<64, 32, Relu> = Dense::new(HIDDEN_W, HIDDEN_B);
/// The pre-trained output layer, the starting point of fine-tuning.
pub const OUTPUT: Dense<32, 10, Identity> = Dense::new(OUTPUT_W, OUTPUT_B);

/// The network on the device: frozen features from flash, a trainable last layer.
pub type Tuned = (FrozenRef<Dense<64, 32, Relu>>, Dense<32, 10, Identity>);
/// Mini-batches of 16.
pub const N: usize = 16;
/// Adam on softmax cross-entropy, for the last layer only.
pub type Tuner = Trainer<Tuned, Adam<Tuned>, SoftmaxCrossEntropy, N>;
/// The pre-trained network, ready to fine-tune: a `const`, so it can initialise a `static`.
pub const TUNER: Tuner = Tuner::new(
    (FrozenRef(&HIDDEN), OUTPUT),
    <Adam<Tuned> as Zero>::ZERO,
    SoftmaxCrossEntropy,
);

/// The new sensor: half the contrast, and black raised to 30 % grey.
pub const SENSOR: Distortion = Distortion {
    shift_right: 0,
    gain: 0.5,
    offset: 0.3,
};
/// The seed of the shuffles.
pub const SEED: u64 = 2;
/// Passes over the new sensor's training images.
pub const EPOCHS: usize = 10;
/// Adam's learning rate.
pub const LEARNING_RATE: f32 = 0.01;
/// The run fails unless the held-out accuracy on the new sensor reaches this.
pub const REQUIRED_ACCURACY: f64 = 0.93;

/// What a fine-tuning run reached.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Held-out accuracy on the new sensor before fine-tuning.
    pub before: Evaluation<f32>,
    /// Held-out accuracy on the new sensor after fine-tuning.
    pub after: Evaluation<f32>,
}

/// Fine-tunes `trainer` (start it from [`TUNER`]) on the new sensor's training split,
/// calling `report` with the held-out evaluation after every epoch.
pub fn finetune(
    trainer: &mut Tuner,
    mut report: impl FnMut(usize, &Evaluation<f32>),
) -> Result<Outcome, Error> {
    let train = Digits::distorted(Split::Train, SENSOR);
    let held_out = Digits::distorted(Split::HeldOut, SENSOR);
    trainer
        .optimizer
        .set_config(AdamConfig::new(LEARNING_RATE))?;
    let before = trainer.evaluate(&held_out)?;
    report(0, &before);
    let mut rng = SplitMix64::new(SEED);
    let mut after = before;
    for epoch in 1..=EPOCHS {
        trainer.train_epoch(&train, Some(&mut rng), Remainder::Wrap)?;
        after = trainer.evaluate(&held_out)?;
        report(epoch, &after);
    }
    Ok(Outcome { before, after })
}

/// One line per epoch, the same on the host and on the device.
pub struct Line<'a>(pub usize, pub &'a Evaluation<f32>);

impl core::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Line(epoch, e) = self;
        write!(
            f,
            "epoch {epoch}  new-sensor held-out loss {}  accuracy {}/{}",
            e.loss, e.correct, e.total
        )
    }
}
