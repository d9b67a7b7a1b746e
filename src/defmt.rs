//! `defmt::Format` for the public error, report and configuration types (the `defmt`
//! feature), so firmware logging with `defmt` can print them: `defmt::info!("{}", report)`.
//!
//! Errors print their `Display` message (through `defmt::Display2Format`), the same
//! text as on the host; reports and configurations print their fields.

use ::defmt::{Display2Format, Format, Formatter, write};

use crate::optim::{AdamConfig, Decay, Schedule, SgdConfig};
use crate::persist::{CheckpointError, Loaded, Progress, RecordError, RecordKind};
use crate::{
    EarlyStopping, EpochReport, Error, Evaluation, Footprint, Init, Remainder, ScalarKind,
    SplitMix64, StepOutcome, WatchdogConfig, WatchdogStats,
};

impl Format for Error {
    fn format(&self, f: Formatter<'_>) {
        write!(f, "{}", Display2Format(self));
    }
}

impl Format for RecordError {
    fn format(&self, f: Formatter<'_>) {
        write!(f, "{}", Display2Format(self));
    }
}

impl<E: core::fmt::Debug> Format for CheckpointError<E> {
    fn format(&self, f: Formatter<'_>) {
        write!(f, "{}", Display2Format(self));
    }
}

impl<S: Format> Format for EpochReport<S> {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "EpochReport {{ batches: {}, mean_loss: {}, trained: {}, skipped: {}, repeated: {} }}",
            self.batches, self.mean_loss, self.trained, self.skipped, self.repeated
        );
    }
}

impl<S: Format> Format for Evaluation<S> {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "Evaluation {{ loss: {}, correct: {}, non_finite: {}, total: {} }}",
            self.loss, self.correct, self.non_finite, self.total
        );
    }
}

impl<S: Format> Format for SgdConfig<S> {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "SgdConfig {{ lr: {}, momentum: {}, weight_decay: {}, clip_norm: {}, clip_value: {} }}",
            self.lr, self.momentum, self.weight_decay, self.clip_norm, self.clip_value
        );
    }
}

impl<S: Format> Format for AdamConfig<S> {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "AdamConfig {{ lr: {}, beta1: {}, beta2: {}, eps: {}, weight_decay: {}, clip_norm: {}, clip_value: {} }}",
            self.lr,
            self.beta1,
            self.beta2,
            self.eps,
            self.weight_decay,
            self.clip_norm,
            self.clip_value
        );
    }
}

impl<S: Format> Format for Decay<S> {
    fn format(&self, f: Formatter<'_>) {
        match self {
            Self::Constant => write!(f, "Constant"),
            Self::Step { every, gamma } => {
                write!(f, "Step {{ every: {}, gamma: {} }}", every, gamma);
            }
            Self::Cosine { steps, min_lr } => {
                write!(f, "Cosine {{ steps: {}, min_lr: {} }}", steps, min_lr);
            }
        }
    }
}

impl<S: Format> Format for Schedule<S> {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "Schedule {{ lr: {}, warmup: {}, decay: {} }}",
            self.lr, self.warmup, self.decay
        );
    }
}

impl<S: crate::Scalar + Format> Format for EarlyStopping<S> {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "EarlyStopping {{ patience: {}, reference: {} }}",
            self.patience(),
            self.reference()
        );
    }
}

impl<S: Format> Format for WatchdogConfig<S> {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "WatchdogConfig {{ blowup: {}, loss_floor: {}, warmup: {}, snapshot_every: {}, patience: {}, lr_factor: {}, min_lr: {}, max_rollbacks: {} }}",
            self.blowup,
            self.loss_floor,
            self.warmup,
            self.snapshot_every,
            self.patience,
            self.lr_factor,
            self.min_lr,
            self.max_rollbacks
        );
    }
}

impl Format for WatchdogStats {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "WatchdogStats {{ trained: {}, bad_data: {}, blowups: {}, non_finite: {}, rollbacks: {}, snapshots: {} }}",
            self.trained,
            self.bad_data,
            self.blowups,
            self.non_finite,
            self.rollbacks,
            self.snapshots
        );
    }
}

impl<S: Format> Format for StepOutcome<S> {
    fn format(&self, f: Formatter<'_>) {
        match self {
            Self::Trained(loss) => write!(f, "Trained({})", loss),
            Self::Refused(e) => write!(f, "Refused({})", e),
            Self::RolledBack { cause, lr } => {
                write!(f, "RolledBack {{ cause: {}, lr: {} }}", cause, lr);
            }
        }
    }
}

impl Format for Footprint {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "Footprint {{ params: {}, grads: {}, optimizer: {}, cache: {}, delta: {}, other: {}, total: {} }}",
            self.params,
            self.grads,
            self.optimizer,
            self.cache,
            self.delta,
            self.other,
            self.total()
        );
    }
}

impl Format for Loaded {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "Loaded {{ sequence: {}, len: {} }}",
            self.sequence, self.len
        );
    }
}

impl Format for Progress {
    fn format(&self, f: Formatter<'_>) {
        write!(f, "Progress {{ steps: {}, rng: {} }}", self.steps, self.rng);
    }
}

impl Format for SplitMix64 {
    fn format(&self, f: Formatter<'_>) {
        write!(f, "SplitMix64 {{ state: {=u64:#x} }}", self.state());
    }
}

impl Format for Init {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "{}",
            match self {
                Self::GlorotUniform => "GlorotUniform",
                Self::HeUniform => "HeUniform",
                Self::HeNormal => "HeNormal",
            }
        );
    }
}

impl Format for Remainder {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "{}",
            match self {
                Self::Wrap => "Wrap",
                Self::Skip => "Skip",
                Self::Reject => "Reject",
            }
        );
    }
}

impl Format for ScalarKind {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "{}",
            match self {
                Self::F32 => "F32",
                Self::F64 => "F64",
            }
        );
    }
}

impl Format for RecordKind {
    fn format(&self, f: Formatter<'_>) {
        write!(
            f,
            "{}",
            match self {
                Self::Params => "Params",
                Self::State => "State",
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_format<T: Format>() {}

    #[test]
    fn every_public_error_report_and_configuration_is_format() {
        is_format::<Error>();
        is_format::<RecordError>();
        is_format::<CheckpointError<u8>>();
        is_format::<EpochReport<f32>>();
        is_format::<Evaluation<f64>>();
        is_format::<SgdConfig<f32>>();
        is_format::<AdamConfig<f64>>();
        is_format::<Schedule<f32>>();
        is_format::<Decay<f64>>();
        is_format::<EarlyStopping<f32>>();
        is_format::<WatchdogConfig<f32>>();
        is_format::<WatchdogStats>();
        is_format::<StepOutcome<f32>>();
        is_format::<Footprint>();
        is_format::<Loaded>();
        is_format::<Progress>();
        is_format::<Init>();
        is_format::<Remainder>();
        is_format::<ScalarKind>();
        is_format::<RecordKind>();
    }
}
